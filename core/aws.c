/* aws.c — one AWS call: settings and profiles, protocol framing (JSON, query, REST-XML,
 * REST-JSON), signing, sending, retries, clock-skew correction and error parsing.
 * https://smithy.io/2.0/aws/protocols/ */
#include "core.h"

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
	pthread_mutexattr_t ma;
	const char *v, *mode;
	struct err fe = {0};

	memset(a, 0, sizeof *a);
	/* Recursive: the credential chain makes calls (STS, metadata) while holding it. */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&a->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	a->endpoint_url = c->endpoint_url;
	a->ua = "awsbox/" AWSBOX_VERSION;
	a->connect_timeout_ms = 10000;
	a->read_timeout_ms = 60000;
	a->retry_tokens = 500;
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
}

const char *
aws_config(struct aws *a, const char *key)
{
	const char *v = ini_get(a->config, a->profile_section, key);

	if (!v && !strcmp(a->profile_section, "default"))
		v = ini_get(a->config, "profile default", key);
	return v;
}

const char *
aws_region(struct aws *a, struct err *e)
{
	const char *v;
	struct buf out = {0};

	pthread_mutex_lock(&a->lock);
	if (a->region)
		goto done;
	if (((v = getenv("AWS_REGION")) && *v) || ((v = getenv("AWS_DEFAULT_REGION")) && *v) ||
	    (v = aws_config(a, "region"))) {
		a->region = xstrdup(v);
		goto done;
	}
	if (!imds_get(a, "/latest/meta-data/placement/region", &out, e) && out.len && out.len < 64) {
		a->region = xstrdup(out.p);
		dbg("region %s from instance metadata", a->region);
	}
done:
	pthread_mutex_unlock(&a->lock);
	buf_free(&out);
	if (!a->region)
		err_set(e, E_USAGE, "no region: use --region, AWS_REGION or a profile's region");
	return a->region;
}

int
aws_creds(struct aws *a, struct creds *c, struct err *e)
{
	struct creds fresh = {0};
	int rc = 0;

	pthread_mutex_lock(&a->lock);
	/* Expiry times are the issuer's clock: compare them with ours corrected as for signing. */
	time_t now = clock_now() + a->clock_offset;
	/* Refresh 15 minutes before expiry, as the SDKs do; keep the old ones if a refresh
	 * fails while they still have a few minutes left. */
	if (!a->have_creds || (a->creds.expires && a->creds.expires - now < 15 * 60)) {
		if (creds_resolve(a, &fresh, e)) {
			if (!a->have_creds || a->creds.expires - now < 5 * 60) {
				rc = -1;
				goto done;
			}
			dbg("credential refresh failed (%s); the current ones are valid until %lld", e->msg,
			    (long long)a->creds.expires);
		} else {
			creds_free(&a->creds);
			a->creds = fresh;
			a->have_creds = 1;
			dbg("credentials from %s", a->creds.source);
		}
	}
	if (a->creds.expires && a->creds.expires <= now) { /* as botocore: "still expired" is an error */
		char when[21];
		time_iso8601(a->creds.expires, when);
		rc = err_set(e, E_NOCREDS, "the credentials from %s expired at %s", a->creds.source, when);
		goto done;
	}
	creds_copy(c, &a->creds);
done:
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* ---- error bodies ---- */

static void
set_code(struct err *e, const char *s, size_t n)
{
	/* "com.amazonaws.ssm#ParameterNotFound" or "ParameterNotFound:http://..." -> the name */
	const char *h = memchr(s, '#', n);
	if (h) {
		n -= (size_t)(h + 1 - s);
		s = h + 1;
	}
	const char *colon = memchr(s, ':', n);
	if (colon)
		n = (size_t)(colon - s);
	snprintf(e->code, sizeof e->code, "%.*s", (int)n, s);
}

/* A redirect is an error here: a request is signed for one host and region, so following it
 * would fail or send the request where it was not meant to go. Says where it pointed. */
static void
redirect_msg(const struct svc *svc, const struct http_resp *r, const char *body, size_t n, struct err *e)
{
	char region[64], where[256] = "";
	struct xml root;

	if (svc != &SVC_S3 || http_header_copy(r, "x-amz-bucket-region", region, sizeof region))
		region[0] = 0;
	if (http_header_copy(r, "location", where, sizeof where) && !xml_root(body, n, &root)) {
		char *ep = xml_path_strdup(root, "Endpoint");
		snprintf(where, sizeof where, "%s", ep ? ep : "");
		free(ep);
	}
	if (*region && r->status != 307) /* 301 PermanentRedirect: the wrong region */
		snprintf(e->msg, sizeof e->msg, "the bucket is in %s (x-amz-bucket-region); awsbox does not follow "
			 "redirects, a request is signed for one region: use --region %s", region, region);
	else if (*region) /* 307: a new bucket's name has not reached every DNS server yet */
		snprintf(e->msg, sizeof e->msg, "redirected for now to %s (the bucket is in %s); awsbox does not follow "
			 "redirects, a request is signed for one endpoint: check --region, or try again later",
			 *where ? where : "another endpoint", region);
	else
		snprintf(e->msg, sizeof e->msg, "redirected to %s; awsbox does not follow redirects, a request is "
			 "signed for one endpoint", *where ? where : "another endpoint (no Location given)");
}

static void
parse_error(const struct svc *svc, const struct http_resp *r, const char *body, size_t n, struct err *e)
{
	const char *h;
	size_t hn;
	struct buf t = {0};

	e->kind = E_AWS;
	e->status = r->status;
	e->code[0] = e->msg[0] = 0;
	if ((h = http_header(r, "x-amzn-errortype", &hn)) && hn)
		set_code(e, h, hn);
	if (svc->proto == PROTO_JSON || svc->proto == PROTO_RESTJSON) {
		struct json root, v;
		if (!json_parse(body, n, &root) && root.type == JSON_OBJECT) {
			if (!e->code[0] && ((!json_get(root, "__type", &v) || !json_get(root, "code", &v) ||
					     !json_get(root, "Code", &v)) && !json_str(v, &t))) {
				set_code(e, t.p, t.len);
			}
			buf_reset(&t);
			if ((!json_get(root, "message", &v) || !json_get(root, "Message", &v) ||
			     !json_get(root, "errorMessage", &v)) && !json_str(v, &t))
				snprintf(e->msg, sizeof e->msg, "%s", t.p);
		}
	} else {
		struct xml root, el;
		if (!xml_root(body, n, &root)) {
			/* S3: <Error>; query: <ErrorResponse><Error>, or <Errors><Error> as some send */
			if (!slice_eq(root.name, "Error") &&
			    (!xml_child(root, "Error", &el) || !xml_path(root, "Errors/Error", &el)))
				root = el;
			char *code = xml_path_strdup(root, "Code"), *msg = xml_path_strdup(root, "Message");
			if (code)
				snprintf(e->code, sizeof e->code, "%s", code);
			if (msg)
				snprintf(e->msg, sizeof e->msg, "%s", msg);
			free(code);
			free(msg);
		}
	}
	buf_free(&t);
	/* S3 answers a HEAD with no body: a 404 there is its NotFound (botocore names it "404").
	 * A 404 without a code from anything else is a wrong endpoint, not a missing thing. */
	if (svc->proto == PROTO_RESTXML && !e->code[0] && !n && r->status == 404)
		snprintf(e->code, sizeof e->code, "NotFound");
	if (!e->msg[0] && !e->code[0]) {
		static const struct {
			int status;
			const char *text;
		} reasons[] = {{400, "Bad Request"}, {401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"},
			       {405, "Method Not Allowed"}, {409, "Conflict"}, {412, "Precondition Failed"},
			       {413, "Payload Too Large"}, {429, "Too Many Requests"}, {500, "Internal Server Error"},
			       {502, "Bad Gateway"}, {503, "Service Unavailable"}, {504, "Gateway Timeout"}};
		for (size_t i = 0; i < COUNT(reasons); i++)
			if (reasons[i].status == r->status)
				snprintf(e->msg, sizeof e->msg, "%s", reasons[i].text);
	}
	if (r->status >= 300 && r->status < 400)
		redirect_msg(svc, r, body, n, e);
	for (char *p = e->msg; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
}

/* ---- the call ---- */

struct sinkwrap {
	const struct aws_req *q;
	struct buf *errbody;
	uint64_t delivered;
};

static int
wrap_sink(void *ctx, const struct http_resp *r, const void *p, size_t n, struct err *e)
{
	struct sinkwrap *w = ctx;

	if (r->status >= 200 && r->status < 300) {
		w->delivered += n;
		return w->q->sink(w->q->sink_ctx, r, p, n, e);
	}
	if (w->errbody->len + n > 256 * 1024) /* an error body bigger than this is not one we parse */
		return 0;
	buf_add(w->errbody, p, n);
	return 0;
}

static void
server_clock(struct aws *a, const struct http_resp *r, int *corrected)
{
	size_t n;
	const char *d = http_header(r, "date", &n);
	time_t server, local = clock_now();

	if (!d || time_parse_http(d, n, &server))
		return;
	long off = (long)(server - local);
	if (off > 60 || off < -60) {
		pthread_mutex_lock(&a->lock);
		a->clock_offset = off;
		pthread_mutex_unlock(&a->lock);
		dbg("clock skew: the server's clock is %+ld s from ours; correcting", off);
		*corrected = 1;
	}
}

/* The caller's deadline ended the call: E_TIMEOUT naming what was cut off (e's last error). */
static int
deadline_err(int attempt, int cut, struct err *e)
{
	char last[sizeof e->msg];

	snprintf(last, sizeof last, "%s", e->msg);
	if (cut)
		return err_set(e, E_TIMEOUT, "cut off at the deadline in attempt %d: %s", attempt, last);
	if (attempt == 1) /* e is whatever the caller had in it */
		return err_set(e, E_TIMEOUT, "the deadline had passed before the call");
	return err_set(e, E_TIMEOUT, "the deadline had passed before attempt %d; attempt %d: %s", attempt, attempt - 1,
		       last);
}

__thread const int *aws_thread_stop;

int
aws_call(struct aws *a, const struct aws_req *q, struct http_resp *r, struct err *e)
{
	const struct svc *svc = q->svc;
	struct endpoint ep;
	struct buf path = {0}, qs = {0}, target = {0}, authz = {0}, errbody = {0};
	struct creds c = {0};
	char host[300], amzdate[17], hash[65], ctype[64], xtarget[128];
	struct kv h[S3_PUT_HDRS + 10]; /* the caller's, and ours: host, date, token, hash, type... */
	int rc = -1, skew_fixed = 0, sends = 0;

	memset(r, 0, sizeof *r);
	if (q->nhdrs > S3_PUT_HDRS)
		return err_set(e, E_IO, "%s: too many headers (%d)", q->op ? q->op : q->method, q->nhdrs);
	if (endpoint_resolve_in(a, svc, q->region, q->bucket, !q->internal, &ep, e))
		return -1;
	url_hostport(&ep.url, host, sizeof host);

	buf_adds(&path, ep.url.path);
	if (q->bucket && ep.path_style) {
		buf_addc(&path, '/');
		uri_encode(&path, q->bucket, strlen(q->bucket), 0);
	}
	const char *p = q->path && *q->path ? q->path : "/";
	if (*p != '/')
		buf_addc(&path, '/');
	uri_encode(&path, p, strlen(p), 1);
	sigv4_query(q->query, q->nquery, &qs);
	buf_add(&target, path.p, path.len);
	if (qs.len) {
		buf_addc(&target, '?');
		buf_add(&target, qs.p, qs.len);
	}

	/* The payload hash: S3 over TLS does not hash (BearSSL's SHA-256 would be the
	 * bottleneck; TLS protects the bytes and a checksum covers them); else SHA-256. */
	const char *payload = q->payload_hash;
	if (!payload) {
		if (svc == &SVC_S3 && ep.url.tls)
			payload = "UNSIGNED-PAYLOAD";
		else if (q->body && !q->body->p && q->body->len != 0)
			return err_set(e, E_USAGE, "%s: a streamed body needs a payload hash", q->op ? q->op : "call");
		else {
			sha256_hex(q->body && q->body->p ? q->body->p : "", q->body ? (size_t)q->body->len : 0, hash);
			payload = hash;
		}
	}
	ctype[0] = xtarget[0] = 0;
	if (svc->proto == PROTO_JSON) {
		snprintf(ctype, sizeof ctype, "application/x-amz-json-%s", svc->json_ver);
		snprintf(xtarget, sizeof xtarget, "%s.%s", svc->target, q->target ? q->target : "");
	} else if (svc->proto == PROTO_QUERY) {
		snprintf(ctype, sizeof ctype, "application/x-www-form-urlencoded; charset=utf-8");
	}
	for (int i = 0; i < q->nhdrs; i++)
		if (!strcasecmp(q->hdrs[i].k, "content-type"))
			ctype[0] = 0;

	struct sinkwrap w = {q, &errbody, 0};
	for (int attempt = 1;; attempt++) {
		int n = 0, nsig, cto = a->connect_timeout_ms;
		int rto = q->read_timeout_ms ? q->read_timeout_ms : a->read_timeout_ms;
		double delay = 0;

		if (q->deadline) { /* this attempt gets the time left, and no more */
			double left = q->deadline - mono_now();
			if (left <= 0) {
				deadline_err(attempt, 0, e);
				goto fail;
			}
			int ms = left < 86400 ? (int)(left * 1000) + 1 : 86400000;
			cto = cto < ms ? cto : ms;
			rto = rto < ms ? rto : ms;
		}
		memset(e, 0, sizeof *e);
		creds_free(&c);
		if (!q->anonymous) {
			if (q->creds)
				creds_copy(&c, q->creds);
			else if (aws_creds(a, &c, e))
				goto fail;
		}
		time_amz(clock_now() + a->clock_offset, amzdate);
		h[n++] = (struct kv){"host", host};
		h[n++] = (struct kv){"x-amz-date", amzdate};
		if (c.token)
			h[n++] = (struct kv){"x-amz-security-token", c.token};
		if (svc == &SVC_S3)
			h[n++] = (struct kv){"x-amz-content-sha256", payload};
		if (ctype[0])
			h[n++] = (struct kv){"content-type", ctype};
		if (xtarget[0])
			h[n++] = (struct kv){"x-amz-target", xtarget};
		for (int i = 0; i < q->nhdrs; i++)
			h[n++] = q->hdrs[i];
		nsig = n;
		buf_reset(&authz);
		if (!q->anonymous) {
			struct sigv4_req sr = {q->method, path.p, q->query, q->nquery, h, nsig, payload, svc == &SVC_S3};
			sigv4_authorization(&c, &sr, amzdate, ep.region, svc->signing, &authz);
			h[n++] = (struct kv){"authorization", authz.p};
		}
		h[n++] = (struct kv){"user-agent", a->ua};

		/* Every send after the first, a clock-fix resend included, starts the body again. */
		if (q->body && q->body->read && sends++ && (!q->body->rewind || q->body->rewind(q->body->ctx))) {
			err_set(e, E_IO, "%s: cannot rewind the request body to retry", q->op ? q->op : "call");
			goto fail;
		}
		struct http_req hq = {
			.method = q->method, .url = &ep.url, .target = target.p, .hdrs = h + 1, .nhdrs = n - 1,
			.body = q->body, .connect_timeout_ms = cto, .read_timeout_ms = rto, .total_ms = q->total_ms,
			/* S3 keeps a long CompleteMultipartUpload or CopyObject alive with spaces */
			.slow_body = svc == &SVC_S3,
			/* no out and no sink: keep the body anyway, an error's code is in it */
			.quiet_body = q->quiet_body, .no_replay = q->not_idempotent, .out = q->sink ? NULL : q->out ? q->out : &errbody, .max = q->max,
			.sink = q->sink ? wrap_sink : NULL, .sink_ctx = &w,
			.expect_continue = q->body && q->body->len > (1 << 20),
		};
		buf_reset(&errbody);
		if (q->out && !q->sink)
			buf_reset(q->out);
		http_resp_free(r);
		memset(r, 0, sizeof *r);
		dbg("%s %s (attempt %d)", q->op ? q->op : q->method, host, attempt);
		if (http_do(&a->pool, &hq, r, e) == 0) {
			if (r->status >= 200 && r->status < 300) {
				retry_success(a);
				rc = 0;
				goto done;
			}
			const struct buf *eb = q->sink || !q->out ? &errbody : q->out;
			parse_error(svc, r, eb->p ? eb->p : "", eb->len, e);
			e->sent = 1;
			if (q->out && !q->sink)
				buf_reset(q->out);
			/* A HEAD answer has no body to name the error: a 403 may be a skewed clock too
			 * (server_clock checks that the server's Date is really far off). */
			if (!skew_fixed && (err_is_clock_skew(e) || (e->status == 403 && !e->code[0] &&
								      !strcmp(q->method, "HEAD")))) {
				skew_fixed = 1;
				int corrected = 0;
				server_clock(a, r, &corrected);
				if (corrected) {
					attempt--; /* a clock fix is not a failed attempt */
					continue;
				}
			}
		}
		if (q->deadline && e->kind == E_TIMEOUT && q->deadline - mono_now() < 0.05) {
			/* A timeout cut to the deadline: say so, and return no earlier than it. */
			double rest = q->deadline - mono_now();
			if (rest > 0)
				sleep_sec(rest);
			deadline_err(attempt, 1, e);
			goto fail;
		}
		if (w.delivered) /* part of the body already went to the caller: no silent restart */
			goto fail;
		if (!retry_decide(a, e, attempt, !q->not_idempotent, &delay))
			goto fail;
		if (q->deadline && mono_now() + delay >= q->deadline) {
			dbg("not retrying %s: the deadline comes first", q->op ? q->op : q->method);
			goto fail;
		}
		if (aws_thread_stop && __atomic_load_n(aws_thread_stop, __ATOMIC_RELAXED)) {
			dbg("not retrying %s: the transfer it belongs to has stopped", q->op ? q->op : q->method);
			goto fail;
		}
		dbg("retrying %s in %.2f s after: %s %s", q->op ? q->op : q->method, delay, e->code, e->msg);
		sleep_sec(delay);
	}
fail:
	rc = -1;
done:
	creds_free(&c);
	buf_free(&path);
	buf_free(&qs);
	buf_free(&target);
	buf_free(&authz);
	buf_free(&errbody);
	return rc;
}

/* A POST of body to "/" for the JSON and query protocols; tmpl supplies the caller's flags. */
static int
post(struct aws *a, const struct svc *svc, const char *op, const char *target, const char *body, size_t n,
     const struct aws_req *tmpl, struct buf *out, struct err *e)
{
	struct http_body b = {body, (int64_t)n, NULL, NULL, NULL};
	struct aws_req q = {0};
	struct http_resp r;
	int rc;

	if (tmpl)
		q = *tmpl;
	q.svc = svc;
	q.method = "POST";
	q.path = "/";
	q.body = &b;
	q.target = target;
	q.out = out;
	q.op = op;
	rc = aws_call(a, &q, &r, e);
	http_resp_free(&r);
	return rc;
}

int
aws_json_req(struct aws *a, const struct svc *svc, const char *op, const char *body, const struct aws_req *tmpl,
	     struct buf *out, struct err *e)
{
	return post(a, svc, op, op, body, strlen(body), tmpl, out, e);
}

int
aws_json(struct aws *a, const struct svc *svc, const char *op, const char *body, struct buf *out, struct err *e)
{
	return aws_json_req(a, svc, op, body, NULL, out, e);
}

int
aws_query(struct aws *a, const struct svc *svc, const char *action, const struct kv *params, int n,
	  const struct aws_req *tmpl, struct buf *out, struct err *e)
{
	struct buf form = {0};
	int rc;

	buf_printf(&form, "Action=%s&Version=%s", action, svc->target);
	for (int i = 0; i < n; i++) {
		buf_addc(&form, '&');
		uri_encode(&form, params[i].k, strlen(params[i].k), 0);
		buf_addc(&form, '=');
		uri_encode(&form, params[i].v ? params[i].v : "", params[i].v ? strlen(params[i].v) : 0, 0);
	}
	rc = post(a, svc, action, tmpl ? tmpl->target : NULL, form.p, form.len, tmpl, out, e);
	buf_free(&form); /* may hold a web identity token */
	return rc;
}
