/* test_ini.c — config file reading, checked against the file format botocore accepts. */
#include "unit.h"

#include <sys/stat.h>

TEST(ini_sections_keys_nesting)
{
	static const char text[] =
		"# comment\n"
		"; another\n"
		"[default]\n"
		"region = us-west-2\n"
		"Output=json\r\n"
		"s3 =\n"
		"  addressing_style = path\n"
		"  max_concurrent_requests: 20\n"
		"[profile dev]  \n"
		"  \n"
		"role_arn = arn:aws:iam::123456789012:role/dev\n"
		"source_profile=default\n"
		"region = eu-west-1\n"
		"region = eu-central-1\n"
		"key with spaces = a = b\n"
		"[services local]\n"
		"sqs =\n"
		"  endpoint_url = http://127.0.0.1:4566\n"
		"orphan\n"
		"[profile empty]\n"
		"# nothing here: the profile still exists (configparser keeps the section)\n";
	struct ini *f = ini_parse(text, sizeof text - 1);

	CHECK_STR(ini_get(f, "default", "region"), "us-west-2");
	CHECK_STR(ini_get(f, "default", "output"), "json"); /* names are lower-cased, CR dropped */
	CHECK_STR(ini_sub(f, "default", "s3", "addressing_style"), "path");
	CHECK_STR(ini_sub(f, "default", "s3", "max_concurrent_requests"), "20");
	CHECK(ini_sub(f, "default", "s3", "nope") == NULL);
	CHECK(ini_has(f, "profile dev"));
	CHECK_STR(ini_get(f, "profile dev", "region"), "eu-central-1"); /* last wins */
	CHECK_STR(ini_get(f, "profile dev", "source_profile"), "default");
	CHECK_STR(ini_get(f, "profile dev", "key with spaces"), "a = b");
	CHECK_STR(ini_sub(f, "services local", "sqs", "endpoint_url"), "http://127.0.0.1:4566");
	CHECK(ini_get(f, "profile dev", "orphan") == NULL);
	CHECK(ini_get(f, "nosuch", "region") == NULL);
	CHECK(!ini_has(f, "dev"));
	CHECK(ini_has(f, "profile empty"));
	ini_free(f);
}

TEST(ini_missing_and_unreadable)
{
	struct err e = {0};
	char path[512];

	CHECK(ini_load("/nonexistent/awsbox/config", &e) == NULL);
	CHECK_INT(e.kind, E_NONE);
	snprintf(path, sizeof path, "%s/dir", utest_tmpdir());
	CHECK(mkdir(path, 0700) == 0);
	CHECK(ini_load(path, &e) == NULL); /* a directory: reading fails */
	CHECK(e.kind == E_IO || e.kind == E_NONE);
	CHECK(ini_parse("", 0) != NULL);
}

TEST(ini_profiles_as_botocore_names_them)
{
	static const char text[] = "[profile \"q r\"]\na = 1\n[profile   sp  ]\na = 2\n[profile x y]\na = 3\n"
				   "[default]\na = 4\nb = 5\n[profile default]\na = 6\n[sso-session 'corp']\nu = 7\n"
				   "[profile \"unclosed]\na = 8\n[other]\na = 9\n";
	struct ini *f = ini_parse(text, sizeof text - 1);

	ini_profiles(f);
	CHECK_STR(ini_get(f, "profile q r", "a"), "1");
	CHECK_STR(ini_get(f, "profile sp", "a"), "2");
	CHECK(!ini_has(f, "profile x y") && !ini_has(f, "profile x"));
	/* [profile default] comes later: it replaces [default] wholly (b is gone) */
	CHECK_STR(ini_get(f, "default", "a"), "6");
	CHECK(ini_get(f, "default", "b") == NULL);
	CHECK(!ini_has(f, "profile default"));
	CHECK_STR(ini_get(f, "sso-session corp", "u"), "7");
	CHECK(!ini_has(f, "profile \"unclosed"));
	CHECK_STR(ini_get(f, "other", "a"), "9");
	ini_free(f);
}
