/* sso.c — IAM Identity Center (SSO) profiles, as botocore reads them: the token `aws sso login`
 * cached under ~/.aws/sso/cache, refreshed through SSO-OIDC CreateToken when an sso-session's
 * token is near expiry (and written back), then GetRoleCredentials on the SSO portal.
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-sso-credentials.html */
#include "auth.h"

#include <bearssl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


enum { REFRESH_WINDOW = 15 * 60, MANDATORY_WINDOW = 10 * 60 }; /* botocore's, in seconds */

struct sso_cfg {
	const char *session, *start_url, *region, *account, *role;
};

/* The profile's keys, merged with its [sso-session NAME] section; botocore's checks and words. */
static int
sso_config(struct aws *a, const char *profile, struct sso_cfg *s, struct err *e)
{
	static const char *const keys[] = {"sso_start_url", "sso_region"};
	const char *pv[2];

	memset(s, 0, sizeof *s);
	s->account = aws_profile_key(a, profile, "sso_account_id");
	s->role = aws_profile_key(a, profile, "sso_role_name");
	if (!s->account && !s->role)
		return 1; /* not an SSO profile */
	for (int i = 0; i < 2; i++)
		pv[i] = aws_profile_key(a, profile, keys[i]);
	s->start_url = pv[0];
	s->region = pv[1];
	if ((s->session = aws_profile_key(a, profile, "sso_session"))) {
		char sec[300];
		snprintf(sec, sizeof sec, "sso-session %s", s->session);
		if (!ini_has(a->config, sec))
			return err_set(e, E_USAGE, "profile %s: the sso-session \"%s\" does not exist", profile, s->session);
		for (int i = 0; i < 2; i++) {
			const char *v = ini_get(a->config, sec, keys[i]);
			if (v && pv[i] && strcmp(v, pv[i]))
				return err_set(e, E_USAGE, "profile %s: %s differs between the profile (%s) and sso-session "
							   "%s (%s)", profile, keys[i], pv[i], s->session, v);
			if (v)
				*(i ? &s->region : &s->start_url) = v;
		}
	}
	char missing[160] = "";
	const char *have[] = {s->role, s->account, s->start_url, s->region};
	const char *names[] = {"sso_role_name", "sso_account_id", "sso_start_url", "sso_region"};
	for (int i = 0; i < 4; i++)
		if (!have[i] || !*have[i])
			snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", *missing ? ", " : "",
				 names[i]);
	if (*missing)
		return err_set(e, E_USAGE, "profile %s is configured for SSO but lacks %s", profile, missing);
	return 0;
}

/* ~/.aws/sso/cache/SHA1(session name, or start URL for a legacy profile).json */
static char *
cache_path(const struct sso_cfg *s)
{
	const char *home = getenv("HOME"), *k = s->session ? s->session : s->start_url;
	unsigned char d[20];
	char hex[41];
	br_sha1_context c;

	br_sha1_init(&c);
	br_sha1_update(&c, k, strlen(k));
	br_sha1_out(&c, d);
	hex_encode(d, sizeof d, hex);
	return xasprintf("%s/.aws/sso/cache/%s.json", home ? home : "", hex);
}

/* An expiresAt as the CLI and botocore write it: ISO-8601, "Z" or (older files) "UTC". */
static int
parse_time(const char *v, time_t *t)
{
	size_t n = v ? strlen(v) : 0;
	char tmp[64];

	if (n > 3 && n < sizeof tmp && !strcmp(v + n - 3, "UTC")) {
		snprintf(tmp, sizeof tmp, "%.*sZ", (int)(n - 3), v);
		return time_parse_iso8601(tmp, strlen(tmp), t);
	}
	return v ? time_parse_iso8601(v, n, t) : -1;
}

static int
login_err(struct err *e, const char *profile, const char *why)
{
	return err_set(e, E_NOCREDS, "profile %s: %s: run aws sso login --profile %s", profile, why, profile);
}

/* The client registration and refresh token of a cached token (xmalloc'd; the secrets are wiped
 * when it is freed). */
struct client {
	char *id, *secret, *rtok, *reg;
};

static void
client_free(struct client *cl)
{
	if (cl->secret)
		memzero(cl->secret, strlen(cl->secret));
	if (cl->rtok)
		memzero(cl->rtok, strlen(cl->rtok));
	free(cl->id), free(cl->secret), free(cl->rtok), free(cl->reg);
}

/* Appends pre (the field's name, with its comma) and the JSON string v. */
static void
put_field(struct buf *b, const char *pre, const char *v)
{
	buf_adds(b, pre);
	json_put_str(b, v, strlen(v));
}

/* SSO-OIDC CreateToken with the refresh token; the answer's body into out. */
static int
create_token(struct aws *a, const char *region, const struct client *cl, struct buf *out, struct err *e)
{
	struct buf body = {0};
	struct http_resp r = {0};
	int rc;

	put_field(&body, "{\"grantType\":\"refresh_token\",\"clientId\":", cl->id);
	put_field(&body, ",\"clientSecret\":", cl->secret);
	put_field(&body, ",\"refreshToken\":", cl->rtok);
	buf_addc(&body, '}');
	struct http_body b = {.p = body.p, .len = (int64_t)body.len};
	struct kv h[] = {{"content-type", "application/json"}};
	struct aws_req q = {.svc = &SVC_SSO_OIDC, .method = "POST", .path = "/token", .hdrs = h, .nhdrs = 1, .body = &b,
			    .out = out, .op = "CreateToken", .quiet_body = 1, .not_idempotent = 1,
			    .total_ms = a->read_timeout_ms};
	rc = aws_send_to(a, &q, region, NULL, &r, e); /* unsigned, as the chain's own calls are */
	http_resp_free(&r);
	buf_free(&body); /* zeroed on free: it held secrets */
	return rc;
}

/* CreateToken's answer: the access token (xmalloc'd), the new refresh token when there is one
 * (else NULL) and when the access token expires. */
static int
token_answer(const struct buf *out, char **at, char **nrt, time_t *exp, struct err *e)
{
	struct json root = {0}, v;
	double expires_in = 0;

	if (!json_parse(out->p ? out->p : "", out->len, &root) && !json_get(root, "expiresIn", &v) &&
	    v.type == JSON_NUMBER)
		expires_in = dec_parse(v.p, NULL);
	*at = json_get_strdup(root, "accessToken");
	*nrt = json_get_strdup(root, "refreshToken");
	if (!*at || !**at || expires_in <= 0) {
		free(*at), free(*nrt);
		*at = *nrt = NULL;
		return err_set(e, E_PROTO, "CreateToken: no accessToken or expiresIn in the response");
	}
	*exp = clock_now() + (time_t)expires_in;
	return 0;
}

/* Replaces the cache file (0600, temporary file and rename) with what botocore writes: the new
 * token and the client registration. */
static void
cache_write(const struct sso_cfg *s, const char *path, const struct client *cl, const char *at, const char *nrt,
	    time_t exp)
{
	struct buf file = {0};
	struct outfile f;
	struct err fe = {0};
	char when[21];

	time_iso8601(exp, when);
	put_field(&file, "{\"startUrl\":", s->start_url);
	put_field(&file, ",\"region\":", s->region);
	put_field(&file, ",\"accessToken\":", at);
	buf_printf(&file, ",\"expiresAt\":\"%s\"", when);
	put_field(&file, ",\"clientId\":", cl->id);
	put_field(&file, ",\"clientSecret\":", cl->secret);
	put_field(&file, ",\"registrationExpiresAt\":", cl->reg);
	if (nrt)
		put_field(&file, ",\"refreshToken\":", nrt);
	buf_adds(&file, "}");
	if (file_open(&f, path, 0600, &fe) || file_write(&f, file.p, file.len, &fe) || file_commit(&f, &fe)) {
		/* The new token still works for this run; the next one refreshes again. Core does not
		 * print: --debug says so. */
		file_abort(&f);
		dbg("SSO token cache not updated: %s", fe.msg);
	}
	buf_free(&file); /* zeroed on free: it held secrets */
}

/* CreateToken with the cached refresh token, then the cache file rewritten (cache_write). */
static int
refresh(struct aws *a, const struct sso_cfg *s, const char *path, struct json tok, char **access, time_t *exp,
	struct err *e)
{
	struct client cl = {json_get_strdup(tok, "clientId"), json_get_strdup(tok, "clientSecret"),
			    json_get_strdup(tok, "refreshToken"), json_get_strdup(tok, "registrationExpiresAt")};
	struct buf out = {0};
	char *at = NULL, *nrt = NULL;
	time_t regexp;
	int rc = -1;

	if (!cl.id || !cl.secret || !cl.rtok || !cl.reg) {
		err_set(e, E_NOCREDS, "the cached token has no refresh token or client registration");
		goto done;
	}
	if (parse_time(cl.reg, &regexp) || regexp <= clock_now()) {
		err_set(e, E_NOCREDS, "the client registration of the cached token has expired");
		goto done;
	}
	if (create_token(a, s->region, &cl, &out, e) || token_answer(&out, &at, &nrt, exp, e))
		goto done;
	*access = at;
	cache_write(s, path, &cl, at, nrt, *exp);
	free(nrt);
	rc = 0;
done:
	buf_free(&out); /* buffers are zeroed on free: they held secrets */
	client_free(&cl);
	return rc;
}

/* The access token for s: from the cache, refreshed when an sso-session's is near expiry. */
static int
sso_token(struct aws *a, const char *profile, const struct sso_cfg *s, char **access, struct err *e)
{
	char *path = cache_path(s), *exps = NULL;
	struct buf text = {0};
	struct json tok;
	time_t exp;
	int rc = -1;
	FILE *fp = fopen(path, "r");

	*access = NULL;
	if (!fp) {
		if (errno == ENOENT)
			login_err(e, profile, "no cached SSO token");
		else
			err_set(e, E_IO, "%s: %s", path, strerror(errno));
		goto done;
	}
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0 && text.len < 1 << 20)
		buf_add(&text, tmp, n);
	fclose(fp);
	if (json_parse(text.p ? text.p : "", text.len, &tok) || tok.type != JSON_OBJECT ||
	    !(*access = json_get_strdup(tok, "accessToken")) || !(exps = json_get_strdup(tok, "expiresAt")) ||
	    parse_time(exps, &exp)) {
		login_err(e, profile, "the cached SSO token is invalid");
		goto done;
	}
	time_t left = exp - clock_now();
	if (s->session && left < REFRESH_WINDOW) {
		char *fresh = NULL;
		time_t fexp = 0;
		struct err re = {0};
		if (!refresh(a, s, path, tok, &fresh, &fexp, &re)) {
			memzero(*access, strlen(*access));
			free(*access);
			*access = fresh;
			left = fexp - clock_now();
		} else {
			dbg("SSO token refresh failed: %s", re.msg);
			/* As botocore: a failure to reach the service inside the last 10 minutes is the error. */
			if (left < MANDATORY_WINDOW && re.kind != E_NOCREDS && re.kind != E_AWS) {
				*e = re;
				goto done;
			}
		}
	}
	if (left <= 0) {
		login_err(e, profile, "the SSO session has expired");
		goto done;
	}
	rc = 0;
done:
	if (rc && *access) {
		memzero(*access, strlen(*access));
		free(*access);
		*access = NULL;
	}
	free(exps);
	free(path);
	buf_free(&text);
	return rc;
}

int
sso_creds(struct aws *a, const char *profile, struct creds *c, struct err *e)
{
	struct sso_cfg s;
	char *token = NULL;
	struct buf out = {0};
	struct http_resp r = {0};
	struct json root, cr, v;
	int rc;

	if ((rc = sso_config(a, profile, &s, e)))
		return rc;
	if (sso_token(a, profile, &s, &token, e))
		return -1;
	struct kv qs[] = {{"account_id", s.account}, {"role_name", s.role}};
	struct kv h[] = {{"x-amz-sso_bearer_token", token}};
	struct aws_req q = {.svc = &SVC_SSO, .method = "GET", .path = "/federation/credentials", .query = qs, .nquery = 2,
			    .hdrs = h, .nhdrs = 1, .out = &out, .op = "GetRoleCredentials", .quiet_body = 1,
			    .total_ms = a->read_timeout_ms};
	rc = aws_send_to(a, &q, s.region, NULL, &r, e);
	memzero(token, strlen(token));
	free(token);
	if (rc) {
		if (e->kind == E_AWS && (e->status == 401 || !strcmp(e->code, "UnauthorizedException")))
			login_err(e, profile, "the SSO session is no longer valid (GetRoleCredentials: 401)");
		else
			err_prefix(e, e->kind == E_AWS ? E_NOCREDS : 0, "SSO GetRoleCredentials");
		goto done;
	}
	rc = -1;
	char *id = NULL, *sk = NULL, *tok = NULL;
	if (json_parse(out.p ? out.p : "", out.len, &root) || json_get(root, "roleCredentials", &cr) ||
	    !(id = json_get_strdup(cr, "accessKeyId")) || !(sk = json_get_strdup(cr, "secretAccessKey")) ||
	    !(tok = json_get_strdup(cr, "sessionToken")) || json_get(cr, "expiration", &v) ||
	    v.type != JSON_NUMBER) {
		err_set(e, E_PROTO, "SSO GetRoleCredentials: no roleCredentials in the response");
	} else {
		creds_free(c);
		c->source = "sso";
		c->akid = id;
		c->secret = sk;
		c->token = tok;
		c->expires = (time_t)(dec_parse(v.p, NULL) / 1000); /* milliseconds */
		c->account = xstrdup(s.account);
		id = sk = tok = NULL;
		rc = 0;
	}
	if (sk)
		memzero(sk, strlen(sk));
	if (tok)
		memzero(tok, strlen(tok));
	free(id), free(sk), free(tok);
done:
	http_resp_free(&r);
	buf_free(&out);
	return rc;
}
