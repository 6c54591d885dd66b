/* test_creds.c — the local providers of the credential chain and their order (botocore's).
 * STS-backed providers and the metadata/container endpoints are tested against moto and
 * the stand-ins in tests/integration. */
#include "unit.h"

#include <sys/stat.h>

static const char *
files(const char *config, const char *credentials)
{
	static char cf[512], kf[512];

	snprintf(cf, sizeof cf, "%s/config", utest_tmpdir());
	snprintf(kf, sizeof kf, "%s/credentials", utest_tmpdir());
	utest_write(cf, config);
	utest_write(kf, credentials);
	setenv("AWS_CONFIG_FILE", cf, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", kf, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	return cf;
}

static int
resolve(const char *profile, struct creds *c, struct err *e)
{
	struct common co = {0};
	struct aws a;
	int rc;

	co.profile = profile;
	if (aws_init(&a, &co, e))
		return -2;
	rc = creds_resolve(&a, c, e);
	aws_free(&a);
	return rc;
}

static const char keys[] =
	"[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = secretfile\n"
	"[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = secretdev\naws_session_token = tokdev\n";

TEST(creds_env_then_files)
{
	struct creds c = {0};
	struct err e = {0};

	files("[profile cfg]\naws_access_key_id = AKIDCFG\naws_secret_access_key = secretcfg\n", keys);
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	setenv("AWS_SESSION_TOKEN", "tokenv", 1);
	CHECK_INT(resolve(NULL, &c, &e), 0);
	CHECK_STR(c.akid, "AKIDENV");
	CHECK_STR(c.token, "tokenv");
	CHECK_STR(c.source, "environment");
	creds_free(&c);
	/* AWS_PROFILE does not outrank the environment's keys ... */
	setenv("AWS_PROFILE", "dev", 1);
	CHECK_INT(resolve(NULL, &c, &e), 0);
	CHECK_STR(c.akid, "AKIDENV");
	creds_free(&c);
	/* ... but --profile does (botocore drops the environment provider). */
	CHECK_INT(resolve("dev", &c, &e), 0);
	CHECK_STR(c.akid, "AKIDDEV");
	CHECK_STR(c.secret, "secretdev");
	CHECK_STR(c.token, "tokdev");
	CHECK_STR(c.source, "shared credentials file");
	creds_free(&c);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	CHECK_INT(resolve(NULL, &c, &e), 0);
	CHECK_STR(c.akid, "AKIDDEV");
	creds_free(&c);
	unsetenv("AWS_PROFILE");
	CHECK_INT(resolve(NULL, &c, &e), 0);
	CHECK_STR(c.akid, "AKIDFILE");
	CHECK(c.token == NULL && c.expires == 0);
	creds_free(&c);
	CHECK_INT(resolve("cfg", &c, &e), 0);
	CHECK_STR(c.akid, "AKIDCFG");
	CHECK_STR(c.source, "config file");
	creds_free(&c);
}

TEST(creds_half_set_env_is_an_error)
{
	struct creds c = {0};
	struct err e = {0};

	files("", "");
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	CHECK_INT(resolve(NULL, &c, &e), -1);
	CHECK_INT(e.kind, E_NOCREDS);
	CHECK(strstr(e.msg, "AWS_SECRET_ACCESS_KEY") != NULL);
}

TEST(creds_none_names_providers)
{
	struct creds c = {0};
	struct err e = {0};

	files("", "");
	CHECK_INT(resolve(NULL, &c, &e), -1);
	CHECK_INT(e.kind, E_NOCREDS);
	CHECK_INT(err_exit_code(&e), EX_ACCESS);
	CHECK(strstr(e.msg, "environment") && strstr(e.msg, "container") && strstr(e.msg, "instance metadata (disabled)"));
}

TEST(creds_missing_profile_is_usage)
{
	struct creds c = {0};
	struct err e = {0};

	files("", keys);
	CHECK_INT(resolve("nosuch", &c, &e), -2);
	CHECK_INT(e.kind, E_USAGE);
	CHECK(strstr(e.msg, "nosuch") != NULL);
}

TEST(creds_process)
{
	struct creds c = {0};
	struct err e = {0};
	char script[600], cfg[1500];

	snprintf(script, sizeof script, "%s/helper 1.sh", utest_tmpdir());
	utest_write(script, "#!/bin/sh\n"
			    "[ \"$1\" = 'arg one' ] || { echo bad args >&2; exit 9; }\n"
			    "echo '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"s\\\\/p\",'\n"
			    "echo ' \"SessionToken\": \"tp\", \"Expiration\": \"2030-01-02T03:04:05Z\"}'\n");
	chmod(script, 0700);
	snprintf(cfg, sizeof cfg,
		 "[profile p]\ncredential_process = \"%s\" 'arg one'\n"
		 "[profile fail]\ncredential_process = /bin/sh -c 'exit 3'\n"
		 "[profile nover]\ncredential_process = /bin/echo '{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"B\"}'\n"
		 "[profile garbage]\ncredential_process = /bin/echo not json\n",
		 script);
	files(cfg, "");
	CHECK_INT(resolve("p", &c, &e), 0);
	CHECK_STR(c.akid, "AKIDPROC");
	CHECK_STR(c.secret, "s/p");
	CHECK_STR(c.token, "tp");
	CHECK_INT(c.expires, 1893553445);
	CHECK_STR(c.source, "credential_process");
	creds_free(&c);
	CHECK_INT(resolve("fail", &c, &e), -1);
	CHECK(strstr(e.msg, "exit 3") != NULL);
	CHECK_INT(resolve("nover", &c, &e), -1);
	CHECK(strstr(e.msg, "Version") != NULL);
	CHECK_INT(resolve("garbage", &c, &e), -1);
}

TEST(creds_role_config_errors)
{
	struct creds c = {0};
	struct err e = {0};

	files("[profile loop1]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = loop2\n"
	      "[profile loop2]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = loop1\n"
	      "[profile mfa]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = default\nmfa_serial = x\n"
	      "[profile nosrc]\nrole_arn = arn:aws:iam::1:role/a\n"
	      "[profile badsrc]\nrole_arn = arn:aws:iam::1:role/a\ncredential_source = Moon\n"
	      "[profile gone]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = nowhere\n",
	      keys);
	const char *names[] = {"loop1", "mfa", "nosrc", "badsrc", "gone"};
	for (size_t i = 0; i < COUNT(names); i++) {
		CHECK_INT(resolve(names[i], &c, &e), -1);
		CHECK_INT(e.kind, E_USAGE);
		CHECK(strstr(e.msg, names[i]) != NULL);
	}
}
