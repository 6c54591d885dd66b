/* creds.c — the credential provider chain, in botocore's order: environment, profile role
 * assumption, web identity, shared credentials file, credential_process, config file, container
 * (ECS / EKS Pod Identity), EC2 instance metadata (IMDSv2, v1 fallback).
 * https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html */
#include "auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { NOT_HERE = 1 }; /* a provider with nothing configured: the chain moves on */

void
creds_copy(struct creds *dst, const struct creds *src)
{
	dst->akid = src->akid ? xstrdup(src->akid) : NULL;
	dst->secret = src->secret ? xstrdup(src->secret) : NULL;
	dst->token = src->token ? xstrdup(src->token) : NULL;
	dst->account = src->account ? xstrdup(src->account) : NULL;
	dst->expires = src->expires;
	dst->source = src->source;
}

static void
creds_set(struct creds *c, const char *source, const char *akid, const char *secret, const char *token)
{
	creds_free(c);
	c->source = source;
	c->akid = xstrdup(akid);
	c->secret = xstrdup(secret);
	c->token = token && *token ? xstrdup(token) : NULL;
}

/* A profile key, credentials file first (config.c: aws_profile_key). */
static const char *
prof(struct aws *a, const char *profile, const char *key)
{
	return aws_profile_key(a, profile, key);
}

static int
profile_exists(struct aws *a, const char *profile)
{
	char sec[300];

	snprintf(sec, sizeof sec, "profile %s", profile);
	return ini_has(a->credentials, profile) || ini_has(a->config, sec) ||
	       (!strcmp(profile, "default") && ini_has(a->config, "default"));
}

/* ---- environment ---- */

static int
from_env(struct creds *c, struct err *e)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tok = getenv("AWS_SESSION_TOKEN");

	if (!tok || !*tok)
		tok = getenv("AWS_SECURITY_TOKEN");
	if ((!id || !*id) && (!sk || !*sk))
		return NOT_HERE;
	if (!id || !*id || !sk || !*sk)
		return err_set(e, E_NOCREDS, "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set");
	creds_set(c, "environment", id, sk, tok);
	const char *exp = getenv("AWS_CREDENTIAL_EXPIRATION");
	if (exp && *exp)
		time_parse_iso8601(exp, strlen(exp), &c->expires);
	const char *acct = getenv("AWS_ACCOUNT_ID");
	if (acct && *acct)
		c->account = xstrdup(acct);
	return 0;
}

/* ---- static keys in a file section ---- */

static int
from_section(struct ini *f, const char *section, const char *source, struct creds *c, struct err *e)
{
	const char *id = ini_get(f, section, "aws_access_key_id");
	const char *sk = ini_get(f, section, "aws_secret_access_key");
	const char *tok = ini_get(f, section, "aws_session_token");

	if (!tok)
		tok = ini_get(f, section, "aws_security_token");
	if (!id && !sk)
		return NOT_HERE;
	if (!id || !*id || !sk || !*sk)
		return err_set(e, E_NOCREDS, "%s [%s]: aws_access_key_id and aws_secret_access_key must both be set",
			       source, section);
	creds_set(c, source, id, sk, tok);
	const char *acct = ini_get(f, section, "aws_account_id");
	if (acct && *acct)
		c->account = xstrdup(acct);
	return 0;
}

static int
from_config_keys(struct aws *a, const char *profile, struct creds *c, struct err *e)
{
	char sec[300];

	if (!strcmp(profile, "default")) {
		int rc = from_section(a->config, "default", "config file", c, e);
		return rc == NOT_HERE ? from_section(a->config, "profile default", "config file", c, e) : rc;
	}
	snprintf(sec, sizeof sec, "profile %s", profile);
	return from_section(a->config, sec, "config file", c, e);
}

/* ---- JSON credentials (credential_process, container, instance metadata) ---- */

static int
from_json(const char *what, const char *source, const char *body, size_t n, int need_version, struct creds *c,
	  struct err *e)
{
	struct json root, v;
	char *id = NULL, *sk = NULL, *tok = NULL, *exp = NULL, *acct = NULL;
	int rc = -1;

	/* Malformed credentials are no credentials (exit 4), as an empty {} is. */
	if (json_parse(body, n, &root) || root.type != JSON_OBJECT)
		return err_set(e, E_NOCREDS, "%s: credentials are not a JSON object", what);
	if (need_version && (json_get(root, "Version", &v) || v.n != 1 || v.p[0] != '1')) {
		err_set(e, E_NOCREDS, "%s: unsupported or missing \"Version\" (want 1)", what);
		goto done;
	}
	id = json_get_strdup(root, "AccessKeyId");
	sk = json_get_strdup(root, "SecretAccessKey");
	tok = json_get_strdup(root, "Token");
	if (!tok)
		tok = json_get_strdup(root, "SessionToken");
	exp = json_get_strdup(root, "Expiration");
	acct = json_get_strdup(root, "AccountId");
	if (!id || !*id || !sk || !*sk) {
		char *code = json_get_strdup(root, "Code"), *msg = json_get_strdup(root, "Message");
		err_set(e, E_NOCREDS, "%s: no AccessKeyId/SecretAccessKey in the response%s%s%s%s", what,
			code ? " (Code " : "", code ? code : "", msg ? ": " : "", msg ? msg : "");
		size_t ml = strlen(e->msg);
		if (code && ml + 1 < sizeof e->msg) /* a long Message fills msg: no room, no ")" */
			memcpy(e->msg + ml, ")", 2);
		free(code);
		free(msg);
		goto done;
	}
	/* Keys and tokens are printable without spaces; a line break would go into a header. */
	for (const char *f[] = {id, sk, tok}, **p = f; p < f + 3; p++) {
		for (const unsigned char *ch = (const unsigned char *)*p; ch && *ch; ch++) {
			if (*ch <= ' ' || *ch >= 0x7f) {
				err_set(e, E_NOCREDS, "%s: the credentials hold a control character or a space", what);
				goto done;
			}
		}
	}
	creds_set(c, source, id, sk, tok);
	if (exp && time_parse_iso8601(exp, strlen(exp), &c->expires)) {
		err_set(e, E_NOCREDS, "%s: bad Expiration '%.64s'", what, exp);
		creds_free(c);
		goto done;
	}
	if (acct && *acct)
		c->account = xstrdup(acct);
	rc = 0;
done:
	if (sk)
		memzero(sk, strlen(sk));
	if (tok)
		memzero(tok, strlen(tok));
	free(id), free(sk), free(tok), free(exp), free(acct);
	return rc;
}

/* ---- credential_process ---- */

/* Runs argv with its standard output read into out (1 MiB at most; more kills it). Returns 0 with
 * its wait status in *st, or -1 with e. *exec_err: the errno of an exec that failed, which the
 * child tells through a close-on-exec pipe (core prints nothing, not even from a child). */
static int
run_capture(char **argv, struct buf *out, int *st, int *exec_err, struct err *e)
{
	int pfd[2] = {-1, -1}, xfd[2] = {-1, -1}, rc = -1;
	pid_t pid;

	*exec_err = 0;
	if (pipe2(pfd, O_CLOEXEC) || pipe2(xfd, O_CLOEXEC)) {
		err_set(e, E_IO, "credential_process: pipe: %s", strerror(errno));
		goto done;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		err_set(e, E_IO, "credential_process: fork: %s", strerror(errno));
		goto done;
	}
	if (pid == 0) {
		dup2(pfd[1], 1);
		execvp(argv[0], argv);
		int err = errno;
		ssize_t k = write(xfd[1], &err, sizeof err);
		(void)k;
		_exit(127);
	}
	close(pfd[1]);
	close(xfd[1]);
	pfd[1] = xfd[1] = -1;
	for (;;) {
		char tmp[4096];
		ssize_t r = read(pfd[0], tmp, sizeof tmp);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (out->len + (size_t)r > 1 << 20) {
			kill(pid, SIGKILL);
			break;
		}
		buf_add(out, tmp, (size_t)r);
	}
	while (waitpid(pid, st, 0) < 0 && errno == EINTR)
		;
	if (read(xfd[0], exec_err, sizeof *exec_err) != (ssize_t)sizeof *exec_err)
		*exec_err = 0;
	rc = 0;
done:
	for (int i = 0; i < 2; i++) {
		if (pfd[i] >= 0)
			close(pfd[i]);
		if (xfd[i] >= 0)
			close(xfd[i]);
	}
	return rc;
}

static int
from_process(struct aws *a, const char *profile, struct creds *c, struct err *e)
{
	const char *cmd = prof(a, profile, "credential_process");
	char **argv = NULL;
	int st, xerr, rc = -1;
	struct buf out = {0};

	if (!cmd)
		return NOT_HERE;
	if (shell_split(cmd, &argv) <= 0) {
		err_set(e, E_USAGE, "profile %s: credential_process: cannot parse the command line", profile);
		goto done;
	}
	if (run_capture(argv, &out, &st, &xerr, e))
		goto done;
	if (xerr) {
		err_set(e, E_NOCREDS, "profile %s: credential_process %s: %s", profile, argv[0], strerror(xerr));
		goto done;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		err_set(e, E_NOCREDS, "profile %s: credential_process %s failed (%s %d)", profile, argv[0],
			WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		goto done;
	}
	/* Output that holds no usable credentials is a credentials failure too (exit 4). */
	if ((rc = from_json("credential_process", "credential_process", out.p ? out.p : "", out.len, 1, c, e)))
		e->kind = E_NOCREDS;
done:
	for (int i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
	buf_free(&out);
	return rc;
}

/* ---- STS: AssumeRole and AssumeRoleWithWebIdentity ---- */

/* A query call to STS in the context's region (its global endpoint without one), signed with
 * signer (NULL: unsigned), where --endpoint-url does not apply (as in botocore). */
static int
sts_post(struct aws *a, const char *action, const struct kv *params, int n, const struct creds *signer,
	 struct buf *form, struct buf *out, struct err *e)
{
	struct err re = {0};
	struct http_resp r;
	int rc;

	aws_query_form(&SVC_STS, action, params, n, form);
	struct http_body b = {form->p, (int64_t)form->len, NULL, NULL, NULL};
	struct aws_req q = {.svc = &SVC_STS, .method = "POST", .path = "/", .body = &b, .quiet_body = 1, .out = out,
			    .op = action, .total_ms = a->read_timeout_ms};
	rc = aws_send_to(a, &q, aws_region(a, &re), signer, &r, e);
	http_resp_free(&r);
	return rc;
}

static int
sts_creds(struct aws *a, const char *action, const struct kv *params, int n, const struct creds *signer,
	  const char *source, struct creds *c, struct err *e)
{
	struct buf out = {0}, form = {0};
	struct xml root, cr;
	char path[128];
	int rc = -1;

	if (sts_post(a, action, params, n, signer, &form, &out, e))
		goto done;
	snprintf(path, sizeof path, "%sResult/Credentials", action);
	if (xml_root(out.p, out.len, &root) || xml_path(root, path, &cr)) {
		err_set(e, E_PROTO, "%s: no credentials in the response", action);
		goto done;
	}
	char *id = xml_path_strdup(cr, "AccessKeyId"), *sk = xml_path_strdup(cr, "SecretAccessKey");
	char *tok = xml_path_strdup(cr, "SessionToken"), *exp = xml_path_strdup(cr, "Expiration");
	snprintf(path, sizeof path, "%sResult/AssumedRoleUser/Arn", action);
	char *arn = xml_path_strdup(root, path);
	if (id && sk && tok && exp) {
		creds_set(c, source, id, sk, tok);
		if (time_parse_iso8601(exp, strlen(exp), &c->expires)) {
			creds_free(c);
			err_set(e, E_PROTO, "%s: bad Expiration '%s'", action, exp);
		} else {
			rc = 0;
		}
		/* arn:aws:sts::ACCOUNT:assumed-role/... */
		const char *p = arn;
		for (int k = 0; p && k < 4; k++)
			p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
		if (!rc && p && strchr(p, ':'))
			c->account = xstrndup(p, (size_t)(strchr(p, ':') - p));
	} else {
		err_set(e, E_PROTO, "%s: incomplete credentials in the response", action);
	}
	if (sk)
		memzero(sk, strlen(sk));
	if (tok)
		memzero(tok, strlen(tok));
	free(id), free(sk), free(tok), free(exp), free(arn);
done:
	buf_free(&form); /* may hold a web identity token */
	buf_free(&out);
	return rc;
}

static const char *
session_name(struct aws *a, const char *configured, char *buf, size_t n)
{
	if (configured && *configured)
		return configured;
	snprintf(buf, n, "awsbox-session-%lld", (long long)clock_now());
	return buf;
}

static int
web_identity(struct aws *a, const char *token_file, const char *role, const char *sname, const char *source,
	     struct creds *c, struct err *e)
{
	struct buf tok = {0};
	char sbuf[64], tmp[4096];
	int fd = open(token_file, O_RDONLY | O_CLOEXEC), rc = -1;
	ssize_t r;

	if (fd < 0)
		return err_set(e, E_NOCREDS, "web identity: cannot read token file %s: %s", token_file, strerror(errno));
	while ((r = read(fd, tmp, sizeof tmp)) > 0 && tok.len < 1 << 20)
		buf_add(&tok, tmp, (size_t)r);
	close(fd);
	struct slice t = slice_trim((struct slice){tok.p ? tok.p : "", tok.len});
	while (t.n && (t.p[t.n - 1] == '\n' || t.p[t.n - 1] == '\r'))
		t.n--;
	char *token = slice_dup(t);
	struct kv p[] = {{"RoleArn", role}, {"RoleSessionName", session_name(a, sname, sbuf, sizeof sbuf)},
			 {"WebIdentityToken", token}};
	if (!*token)
		err_set(e, E_NOCREDS, "web identity: token file %s is empty", token_file);
	else
		rc = sts_creds(a, "AssumeRoleWithWebIdentity", p, 3, NULL, source, c, e);
	memzero(token, strlen(token));
	free(token);
	buf_free(&tok);
	return rc;
}

/* ---- container credentials (ECS task roles, EKS Pod Identity) ---- */

static int
allowed_container_host(const struct url *u)
{
	static const char *const ok[] = {"localhost", "169.254.170.2", "169.254.170.23", "fd00:ec2::23", "::1"};
	struct in_addr a4;

	if (u->tls)
		return 1;
	/* A loopback address, not a name that merely starts with "127." (127.0.0.1.nip.io). */
	if (inet_pton(AF_INET, u->host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127)
		return 1;
	for (size_t i = 0; i < COUNT(ok); i++)
		if (!strcasecmp(u->host, ok[i]))
			return 1;
	return 0;
}

/* The endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI on the ECS agent's address, else the full
 * URI, which must name an allowed host; target (xmalloc'd) is the URL's path and query. */
static int
container_url(const char *rel, const char *full, struct url *u, char **target, struct err *e)
{
	struct buf link = {0};
	int rc = -1;

	if (rel && *rel)
		buf_printf(&link, "http://169.254.170.2%s%s", *rel == '/' ? "" : "/", rel);
	else
		buf_adds(&link, full);
	/* The URL's path and query are the request target; the rest names the server. */
	char *hp = strstr(link.p, "://"), *path = hp ? hp + 3 + strcspn(hp + 3, "/?") : link.p;
	*target = *path == '/' ? xstrdup(path) : xasprintf("/%s", path);
	*path = 0;
	if (url_parse(link.p, u, e)) {
		e->kind = E_NOCREDS;
		goto done;
	}
	if (!(rel && *rel) && !allowed_container_host(u)) {
		err_set(e, E_NOCREDS, "container credentials: %s is not an allowed host (loopback, 169.254.170.2, "
				      "169.254.170.23 or https)", u->host);
		goto done;
	}
	rc = 0;
done:
	buf_free(&link);
	return rc;
}

/* The Authorization value into auth (left empty when there is none): the contents of
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, else AWS_CONTAINER_AUTHORIZATION_TOKEN. */
static int
container_token(struct buf *auth, struct err *e)
{
	const char *tokfile = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *tokenv = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");

	if (tokfile && *tokfile) {
		int fd = open(tokfile, O_RDONLY | O_CLOEXEC);
		char tmp[4096];
		ssize_t n;
		if (fd < 0)
			return err_set(e, E_NOCREDS, "container credentials: cannot read %s: %s", tokfile, strerror(errno));
		while ((n = read(fd, tmp, sizeof tmp)) > 0 && auth->len < 65536)
			buf_add(auth, tmp, (size_t)n);
		close(fd);
		while (auth->len && (auth->p[auth->len - 1] == '\n' || auth->p[auth->len - 1] == '\r'))
			auth->p[--auth->len] = 0;
	} else if (tokenv && *tokenv) {
		buf_adds(auth, tokenv);
	}
	if (auth->len && strpbrk(auth->p, "\r\n"))
		return err_set(e, E_NOCREDS, "container credentials: the authorization token holds a line break");
	return 0;
}

static int
from_container(struct aws *a, struct creds *c, struct err *e)
{
	const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	struct buf out = {0}, auth = {0};
	struct http_resp r = {0};
	struct url u;
	struct kv h[1];
	int nh = 0, rc = -1;
	char *target = NULL;

	if ((!rel || !*rel) && (!full || !*full))
		return NOT_HERE;
	if (container_url(rel, full, &u, &target, e) || container_token(&auth, e))
		goto done;
	if (auth.len)
		h[nh++] = (struct kv){"Authorization", auth.p};
	/* Two attempts with the 2 s timeout botocore uses for this endpoint; a server error or
	 * throttling (the agent is busy) is worth the second one too, a second later. */
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = http_small(&a->pool, "GET", &u, target, h, nh, 2000, &out, &r, e);
		if (!rc && (attempt || (r.status < 500 && r.status != 429)))
			break;
		if (!rc)
			sleep_sec(1);
		http_resp_free(&r);
		memset(&r, 0, sizeof r);
	}
	if (rc) {
		err_prefix(e, E_NOCREDS, "container credentials");
		goto done;
	}
	rc = -1;
	if (r.status != 200) {
		err_set(e, E_NOCREDS, "container credentials: %s answered HTTP %d", u.host, r.status);
		goto done;
	}
	rc = from_json("container credentials", "container", out.p ? out.p : "", out.len, 0, c, e);
done:
	free(target);
	http_resp_free(&r);
	buf_free(&out);
	buf_free(&auth);
	return rc;
}

/* ---- EC2 instance metadata (the client is imds.c) ---- */

static int
from_imds(struct aws *a, struct creds *c, struct err *e)
{
	struct buf out = {0}, path = {0};
	int rc = -1;

	if (imds_disabled(a))
		return NOT_HERE;
	if (imds_get(a, "/latest/meta-data/iam/security-credentials/", &out, e)) {
		/* No service, or one turned off, or no role: nothing here; anything else stops the chain. */
		rc = a->imds_state < 0 || a->imds_state == 2 || e->kind == E_NOTFOUND ? NOT_HERE : -1;
		e->kind = E_NOCREDS;
		goto done;
	}
	struct slice role = slice_trim((struct slice){out.p ? out.p : "", strcspn(out.p ? out.p : "", "\r\n")});
	if (!role.n || memchr(role.p, '/', role.n)) {
		err_set(e, E_NOCREDS, "instance metadata: no IAM role attached to this instance");
		rc = NOT_HERE;
		goto done;
	}
	buf_printf(&path, "/latest/meta-data/iam/security-credentials/%.*s", (int)role.n, role.p);
	if (imds_get(a, path.p, &out, e)) {
		e->kind = E_NOCREDS; /* a role listed but its credentials not served */
		goto done;
	}
	rc = from_json("instance metadata", "instance metadata", out.p, out.len, 0, c, e);
done:
	buf_free(&out);
	buf_free(&path);
	return rc;
}

/* ---- profiles and role assumption ---- */

static int profile_creds(struct aws *a, const char *profile, int depth, const char **visited, struct creds *c,
			 struct err *e, int main_chain);

static int
has_static(struct aws *a, const char *profile)
{
	return prof(a, profile, "aws_access_key_id") || prof(a, profile, "aws_secret_access_key");
}

/* A role to assume from source_profile or credential_source; with web_identity_token_file the
 * profile is web identity's instead, as botocore divides them. */
static int
has_role(struct aws *a, const char *profile)
{
	return prof(a, profile, "role_arn") && !prof(a, profile, "web_identity_token_file");
}

static int
assume_role(struct aws *a, const char *profile, int depth, const char **visited, struct creds *c, struct err *e)
{
	const char *role = prof(a, profile, "role_arn"), *src = prof(a, profile, "source_profile");
	const char *csrc = prof(a, profile, "credential_source");
	struct creds base = {0};
	char sbuf[64];
	int rc;

	if (prof(a, profile, "mfa_serial"))
		return err_set(e, E_USAGE, "profile %s: mfa_serial needs an interactive MFA code, which awsbox does "
					   "not prompt for", profile);
	if (src && csrc)
		return err_set(e, E_USAGE, "profile %s: both source_profile and credential_source are set", profile);
	if (src) {
		for (int i = 0; i < depth; i++)
			if (!strcmp(visited[i], src) && !(i == depth - 1 && !strcmp(src, profile) && has_static(a, src)))
				return err_set(e, E_USAGE, "profile %s: source_profile loop through %s", profile, src);
		if (!profile_exists(a, src))
			return err_set(e, E_USAGE, "profile %s: source_profile %s does not exist", profile, src);
		if (depth >= 16)
			return err_set(e, E_USAGE, "profile %s: role chain too deep", profile);
		if (!strcmp(src, profile) || has_static(a, src) || !has_role(a, src)) {
			/* A source with keys of its own (or no role) is resolved by its providers. */
			rc = profile_creds(a, src, depth, visited, &base, e, 0);
			if (rc == NOT_HERE)
				rc = err_set(e, E_NOCREDS, "profile %s: source_profile %s has no credentials", profile, src);
		} else {
			visited[depth] = src;
			rc = assume_role(a, src, depth + 1, visited, &base, e);
		}
	} else if (csrc) {
		if (!strcmp(csrc, "Environment"))
			rc = from_env(&base, e);
		else if (!strcmp(csrc, "Ec2InstanceMetadata"))
			rc = from_imds(a, &base, e);
		else if (!strcmp(csrc, "EcsContainer"))
			rc = from_container(a, &base, e);
		else
			return err_set(e, E_USAGE, "profile %s: unknown credential_source '%s'", profile, csrc);
		if (rc == NOT_HERE)
			rc = err_set(e, E_NOCREDS, "profile %s: credential_source %s has no credentials", profile, csrc);
	} else {
		return err_set(e, E_USAGE, "profile %s: role_arn needs source_profile or credential_source", profile);
	}
	if (rc)
		goto done;
	struct kv p[5];
	int n = 0;
	char dur[16];
	const char *v;
	p[n++] = (struct kv){"RoleArn", role};
	p[n++] = (struct kv){"RoleSessionName", session_name(a, prof(a, profile, "role_session_name"), sbuf, sizeof sbuf)};
	if ((v = prof(a, profile, "external_id")))
		p[n++] = (struct kv){"ExternalId", v};
	if ((v = prof(a, profile, "duration_seconds"))) {
		snprintf(dur, sizeof dur, "%ld", strtol(v, NULL, 10));
		p[n++] = (struct kv){"DurationSeconds", dur};
	}
	rc = sts_creds(a, "AssumeRole", p, n, &base, "assume role", c, e);
	if (rc)
		dbg("AssumeRole %s with %s credentials failed", role, base.source);
done:
	creds_free(&base);
	return rc;
}

/* One profile's providers, as botocore runs them for it (without the environment, which
 * only the main chain consults). main_chain adds web identity from the environment. */
static int
profile_creds(struct aws *a, const char *profile, int depth, const char **visited, struct creds *c,
	      struct err *e, int main_chain)
{
	int rc, env = main_chain && !a->profile_explicit;

	if (has_role(a, profile) && (main_chain || !has_static(a, profile))) {
		visited[depth] = profile;
		return assume_role(a, profile, depth + 1, visited, c, e);
	}
	/* Web identity: each setting from the environment when set there (even empty, as botocore
	 * tests for it), else from the profile; the environment is not read under --profile or for a
	 * source profile. */
	const char *wit = env ? getenv("AWS_WEB_IDENTITY_TOKEN_FILE") : NULL;
	if (!wit)
		wit = prof(a, profile, "web_identity_token_file");
	if (wit && *wit) {
		const char *wrole = env ? getenv("AWS_ROLE_ARN") : NULL, *sn = env ? getenv("AWS_ROLE_SESSION_NAME") : NULL;
		if (!wrole)
			wrole = prof(a, profile, "role_arn");
		if (!sn)
			sn = prof(a, profile, "role_session_name");
		if (!wrole || !*wrole)
			return err_set(e, E_USAGE, "web identity token file %s but no role: set the profile's role_arn or "
						   "AWS_ROLE_ARN", wit);
		return web_identity(a, wit, wrole, sn, "web identity", c, e);
	}
	if ((rc = sso_creds(a, profile, c, e)) != NOT_HERE)
		return rc;
	if ((rc = from_section(a->credentials, profile, "shared credentials file", c, e)) != NOT_HERE)
		return rc;
	if ((rc = from_process(a, profile, c, e)) != NOT_HERE)
		return rc;
	return from_config_keys(a, profile, c, e);
}

int
creds_resolve(struct aws *a, struct creds *c, struct err *e)
{
	const char *visited[20];
	struct url mu;
	int rc;

	/* botocore checks the metadata endpoint settings whenever it builds its chain, whichever
	 * provider then answers: a bad mode or URL is an error even with keys in the environment. */
	if (imds_endpoint(a, &mu, e))
		return -1;
	if (!a->profile_explicit && (rc = from_env(c, e)) != NOT_HERE)
		return rc;
	if ((rc = profile_creds(a, a->profile, 0, visited, c, e, 1)) != NOT_HERE)
		return rc;
	if ((rc = from_container(a, c, e)) != NOT_HERE)
		return rc;
	if ((rc = from_imds(a, c, e)) != NOT_HERE)
		return rc;
	const char *imds = imds_disabled(a) ? "disabled" :
			   a->imds_state < 0 ? "not reachable" : a->imds_state == 2 ? "turned off: HTTP 403" : "no role";
	return err_set(e, E_NOCREDS,
		       "no credentials found (tried: %sprofile '%s' in the credentials and config files, container "
		       "endpoint (not set), instance metadata (%s)); to fix: export AWS_ACCESS_KEY_ID=... "
		       "AWS_SECRET_ACCESS_KEY=... (or AWS_PROFILE=NAME, or run on an instance with a role)",
		       a->profile_explicit ? "" : "environment, ", a->profile, imds);
}
