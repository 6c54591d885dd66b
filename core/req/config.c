/* config.c — the context's settings, read once by aws_init: the profile, the config and
 * credentials files, retry mode and attempts, timeouts, the CA bundle; aws_config reads a
 * profile's key. https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html */
#include "req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef AWSBOX_VERSION
#define AWSBOX_VERSION "dev"
#endif

static char *
expand_home(const char *path)
{
	const char *home = getenv("HOME");

	if (path[0] == '~' && (path[1] == '/' || !path[1]))
		return xasprintf("%s%s", home ? home : "", path + 1);
	return xstrdup(path);
}

static struct ini *
load_file(const char *env, const char *dflt, struct err *e)
{
	const char *v = getenv(env), *home = getenv("HOME");
	char *path;
	struct ini *f;

	if (v && *v)
		path = expand_home(v);
	else if (home && *home)
		path = xasprintf("%s/%s", home, dflt);
	else
		return NULL; /* no HOME (a FROM-scratch image): no files */
	f = ini_load(path, e);
	free(path);
	return f;
}

/* AWSBOX_CONNECT_TIMEOUT, AWSBOX_READ_TIMEOUT: a duration (30s, 500ms, 2m; bare seconds), 1 ms to
 * 24 h; unset or empty leaves *ms as it is. */
static int
env_timeout(const char *name, int *ms, struct err *e)
{
	const char *v = getenv(name);
	double s;

	if (!v || !*v)
		return 0;
	if (parse_duration(v, &s) || s < 0.001 || s > 86400)
		return err_set(e, E_USAGE, "invalid %s '%s' (a duration from 1ms to 24h, such as 5s)", name, v);
	*ms = (int)(s * 1000 + 0.5);
	return 0;
}

/* A checksum setting, as botocore reads it: the environment, then the profile; when_supported
 * (the default) or when_required, in any case. */
static int
when_required(struct aws *a, const char *key, const char *env, int *out, struct err *e)
{
	const char *v = getenv(env);

	if (!v || !*v)
		v = aws_config(a, key);
	*out = v && !strcasecmp(v, "when_required");
	if (v && *v && !*out && strcasecmp(v, "when_supported"))
		return err_set(e, E_USAGE, "invalid %s '%s' (when_supported or when_required)", key, v);
	return 0;
}

int
aws_init(struct aws *a, const struct common *c, struct err *e)
{
	const char *v, *mode;
	struct err fe = {0};

	memset(a, 0, sizeof *a);
	/* Plain locks: none is held while a request is on the network (aws_creds: one thread
	 * refreshes, the others wait on creds_cv), except the metadata session's own. */
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->creds_cv, NULL);
	pthread_mutex_init(&a->imds_lock, NULL);
	a->endpoint_url = c->endpoint_url;
	a->ua = "awsbox/" AWSBOX_VERSION;
	a->connect_timeout_ms = 10000;
	a->read_timeout_ms = 60000;
	a->retry_tokens = 500;
	ratelimit_init(&a->rate, mono_now());
	if (c->region && *c->region)
		a->region = xstrdup(c->region);

	a->config = load_file("AWS_CONFIG_FILE", ".aws/config", &fe);
	if (fe.kind)
		return *e = fe, -1;
	ini_profiles(a->config);
	a->credentials = load_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", &fe);
	if (fe.kind)
		return *e = fe, -1;

	if (c->profile && *c->profile) {
		a->profile = xstrdup(c->profile);
		a->profile_explicit = 1;
	} else if (((v = getenv("AWS_DEFAULT_PROFILE")) && *v) || ((v = getenv("AWS_PROFILE")) && *v)) {
		/* botocore reads AWS_DEFAULT_PROFILE first (CLI v2 and the other SDKs: AWS_PROFILE) */
		a->profile = xstrdup(v);
	} else {
		a->profile = xstrdup("default");
	}
	a->profile_section = !strcmp(a->profile, "default") ? xstrdup("default") : xasprintf("profile %s", a->profile);
	if (strcmp(a->profile, "default") && !ini_has(a->config, a->profile_section) && !ini_has(a->credentials, a->profile))
		return err_set(e, E_USAGE, "profile '%s' not found in the config or credentials file", a->profile);

	mode = getenv("AWS_RETRY_MODE");
	if (!mode || !*mode)
		mode = aws_config(a, "retry_mode");
	a->retry_mode = mode && !strcmp(mode, "legacy") ? 1 : mode && !strcmp(mode, "adaptive") ? 2 : 0;
	if (mode && *mode && strcmp(mode, "legacy") && strcmp(mode, "standard") && strcmp(mode, "adaptive"))
		return err_set(e, E_USAGE, "invalid retry mode '%s' (standard, legacy or adaptive)", mode);
	a->max_attempts = a->retry_mode == 1 ? 5 : 3;
	v = getenv("AWS_MAX_ATTEMPTS");
	if (!v || !*v)
		v = aws_config(a, "max_attempts");
	if (v && *v) {
		char *end;
		long n = strtol(v, &end, 10);
		if (*end || n < 1 || n > 100)
			return err_set(e, E_USAGE, "invalid max attempts '%s' (1 to 100)", v);
		a->max_attempts = (int)n;
	}

	if (when_required(a, "request_checksum_calculation", "AWS_REQUEST_CHECKSUM_CALCULATION",
			  &a->checksum_when_required, e) ||
	    when_required(a, "response_checksum_validation", "AWS_RESPONSE_CHECKSUM_VALIDATION",
			  &a->validation_when_required, e))
		return -1;
	if (env_timeout("AWSBOX_CONNECT_TIMEOUT", &a->connect_timeout_ms, e) ||
	    env_timeout("AWSBOX_READ_TIMEOUT", &a->read_timeout_ms, e))
		return -1;

	const char *ca = c->ca_bundle;
	if (!ca || !*ca)
		ca = getenv("AWS_CA_BUNDLE");
	if (!ca || !*ca)
		ca = aws_config(a, "ca_bundle");
	http_pool_init(&a->pool, ca && *ca ? ca : NULL);
	return 0;
}

void
xaws_init(struct aws *a, const struct common *c)
{
	struct err e = {0};

	if (aws_init(a, c, &e))
		die_code(err_exit_code(&e), "%s", e.msg);
}

void
aws_free(struct aws *a)
{
	http_pool_free(&a->pool);
	creds_free(&a->creds);
	ini_free(a->config);
	ini_free(a->credentials);
	free(a->profile);
	free(a->profile_section);
	free(a->region);
	if (a->imds_token)
		memzero(a->imds_token, strlen(a->imds_token));
	free(a->imds_token);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->creds_cv);
	pthread_mutex_destroy(&a->imds_lock);
}

const char *
aws_config(struct aws *a, const char *key)
{
	const char *v = ini_get(a->config, a->profile_section, key);

	if (!v && !strcmp(a->profile_section, "default"))
		v = ini_get(a->config, "profile default", key);
	return v;
}

/* A profile key, credentials file first (botocore merges it over the config file). */
const char *
aws_profile_key(struct aws *a, const char *profile, const char *key)
{
	const char *v = ini_get(a->credentials, profile, key);
	char sec[300];

	if (v)
		return v;
	if (strcmp(profile, "default")) {
		snprintf(sec, sizeof sec, "profile %s", profile);
		return ini_get(a->config, sec, key);
	}
	return (v = ini_get(a->config, "default", key)) ? v : ini_get(a->config, "profile default", key);
}
