/* aws.c — one signed request to an AWS service, to a resolved endpoint with the credentials
 * given: protocol framing (JSON, query, REST-XML, REST-JSON), SigV4, sending, retries, clock-skew
 * correction and error parsing. call.c adds the endpoint and the context's credentials.
 * https://smithy.io/2.0/aws/protocols/ */
#include "req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	/* The body's own shape decides, not the protocol's: a JSON service's front end can answer
	 * an XML ErrorResponse (an access denial, as moto's does), and its message is the point. */
	size_t sp = 0;
	while (sp < n && (body[sp] == ' ' || body[sp] == '\n' || body[sp] == '\r' || body[sp] == '\t'))
		sp++;
	int as_json = sp < n ? body[sp] == '{' : svc->proto == PROTO_JSON || svc->proto == PROTO_RESTJSON;
	if (as_json) {
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

static int
wrap_sink(void *ctx, const struct http_resp *r, const void *p, size_t n, struct err *e)
{
	struct aws_send *k = ctx;

	if (r->status >= 200 && r->status < 300) {
		k->delivered += n;
		return k->q->sink(k->q->sink_ctx, r, p, n, e);
	}
	if (k->errbody.len + n > 256 * 1024) /* an error body bigger than this is not one we parse */
		return 0;
	buf_add(&k->errbody, p, n);
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

/* The request target (path below the endpoint's, bucket in the path style, query), the payload
 * hash and the protocol's headers. */
static int
send_prepare(struct aws_send *k, struct err *e)
{
	const struct aws_req *q = k->q;
	const struct svc *svc = q->svc;
	struct buf qs = {0};

	url_hostport(&k->ep->url, k->host, sizeof k->host);
	buf_adds(&k->path, k->ep->url.path);
	if (q->bucket && k->ep->path_style) {
		buf_addc(&k->path, '/');
		uri_encode(&k->path, q->bucket, strlen(q->bucket), 0);
	}
	const char *p = q->path && *q->path ? q->path : "/";
	if (*p != '/')
		buf_addc(&k->path, '/');
	uri_encode(&k->path, p, strlen(p), 1);
	sigv4_query(q->query, q->nquery, &qs);
	buf_add(&k->target, k->path.p, k->path.len);
	if (qs.len) {
		buf_addc(&k->target, '?');
		buf_add(&k->target, qs.p, qs.len);
	}
	buf_free(&qs);

	/* The payload hash: S3 over TLS does not hash (BearSSL's SHA-256 would be the
	 * bottleneck; TLS protects the bytes and a checksum covers them); else SHA-256. */
	k->payload = q->payload_hash;
	if (!k->payload) {
		if (svc == &SVC_S3 && k->ep->url.tls)
			k->payload = "UNSIGNED-PAYLOAD";
		else if (q->body && !q->body->p && q->body->len != 0)
			return err_set(e, E_USAGE, "%s: a streamed body needs a payload hash", q->op ? q->op : "call");
		else {
			sha256_hex(q->body && q->body->p ? q->body->p : "", q->body ? (size_t)q->body->len : 0, k->hash);
			k->payload = k->hash;
		}
	}
	if (svc->proto == PROTO_JSON) {
		snprintf(k->ctype, sizeof k->ctype, "application/x-amz-json-%s", svc->json_ver);
		snprintf(k->xtarget, sizeof k->xtarget, "%s.%s", svc->target, q->target ? q->target : "");
	} else if (svc->proto == PROTO_QUERY) {
		snprintf(k->ctype, sizeof k->ctype, "application/x-www-form-urlencoded; charset=utf-8");
	}
	for (int i = 0; i < q->nhdrs; i++)
		if (!strcasecmp(q->hdrs[i].k, "content-type"))
			k->ctype[0] = 0;
	k->h = xcalloc((size_t)q->nhdrs + 10, sizeof *k->h); /* ours: host, date, token, hash, type, ... */
	return 0;
}

/* The headers of one attempt, signed with c (NULL: unsigned) at the (corrected) time of sending. */
static void
send_sign(struct aws_send *k, const struct creds *c)
{
	const struct aws_req *q = k->q;
	const struct svc *svc = q->svc;
	struct kv *h = k->h;
	int n = 0;

	time_amz(clock_now() + k->a->clock_offset, k->amzdate);
	h[n++] = (struct kv){"host", k->host};
	h[n++] = (struct kv){"x-amz-date", k->amzdate};
	if (c && c->token)
		h[n++] = (struct kv){"x-amz-security-token", c->token};
	if (svc == &SVC_S3)
		h[n++] = (struct kv){"x-amz-content-sha256", k->payload};
	if (k->ctype[0])
		h[n++] = (struct kv){"content-type", k->ctype};
	if (k->xtarget[0])
		h[n++] = (struct kv){"x-amz-target", k->xtarget};
	for (int i = 0; i < q->nhdrs; i++)
		h[n++] = q->hdrs[i];
	buf_reset(&k->authz);
	if (c) {
		struct sigv4_req sr = {q->method, k->path.p, q->query, q->nquery, h, n, k->payload, svc == &SVC_S3};
		sigv4_authorization(c, &sr, k->amzdate, k->ep->region, svc->signing, &k->authz);
		h[n++] = (struct kv){"authorization", k->authz.p};
	}
	h[n++] = (struct kv){"user-agent", k->a->ua};
	k->nh = n;
}

/* Sends one attempt: 0 on a 2xx answer, 1 when the clock was corrected (send again at once, not
 * a failed attempt), -1 with e. */
static int
send_once(struct aws_send *k, struct err *e)
{
	const struct aws_req *q = k->q;
	struct http_resp *r = k->r;

	/* Every send after the first, a clock-fix resend included, starts the body again. */
	if (q->body && q->body->read && k->sends++ && (!q->body->rewind || q->body->rewind(q->body->ctx)))
		return err_set(e, E_IO, "%s: cannot rewind the request body to retry", q->op ? q->op : "call");
	struct http_req hq = {
		.method = q->method, .url = &k->ep->url, .target = k->target.p, .hdrs = k->h + 1, .nhdrs = k->nh - 1,
		.body = q->body, .connect_timeout_ms = k->cto, .read_timeout_ms = k->rto, .total_ms = q->total_ms,
		/* S3 keeps a long CompleteMultipartUpload or CopyObject alive with spaces */
		.slow_body = q->svc == &SVC_S3,
		/* no out and no sink: keep the body anyway, an error's code is in it */
		.quiet_body = q->quiet_body, .no_replay = q->not_idempotent,
		.out = q->sink ? NULL : q->out ? q->out : &k->errbody, .max = q->max,
		.sink = q->sink ? wrap_sink : NULL, .sink_ctx = k,
		.expect_continue = q->body && q->body->len > (1 << 20),
	};
	buf_reset(&k->errbody);
	if (q->out && !q->sink)
		buf_reset(q->out);
	http_resp_free(r);
	memset(r, 0, sizeof *r);
	dbg("%s %s (attempt %d)", q->op ? q->op : q->method, k->host, k->attempt);
	if (http_do(&k->a->pool, &hq, r, e))
		return -1;
	if (r->status >= 200 && r->status < 300) {
		retry_success(k->a);
		return 0;
	}
	const struct buf *eb = q->sink || !q->out ? &k->errbody : q->out;
	parse_error(q->svc, r, eb->p ? eb->p : "", eb->len, e);
	e->sent = 1;
	if (q->out && !q->sink)
		buf_reset(q->out);
	/* A HEAD answer has no body to name the error: a 403 may be a skewed clock too
	 * (server_clock checks that the server's Date is really far off). */
	if (!k->skew_fixed && (err_is_clock_skew(e) || (e->status == 403 && !e->code[0] && !strcmp(q->method, "HEAD")))) {
		int corrected = 0;
		k->skew_fixed = 1;
		server_clock(k->a, r, &corrected);
		if (corrected)
			return 1;
	}
	return -1;
}

/* After an attempt failed with e: whether to send again, and after how long. */
static int
send_again(struct aws_send *k, double *delay, struct err *e)
{
	const struct aws_req *q = k->q;
	const char *op = q->op ? q->op : q->method;

	if (q->deadline && e->kind == E_TIMEOUT && q->deadline - mono_now() < 0.05) {
		/* A timeout cut to the deadline: say so, and return no earlier than it. */
		double rest = q->deadline - mono_now();
		if (rest > 0)
			sleep_sec(rest);
		deadline_err(k->attempt, 1, e);
		return 0;
	}
	if (k->delivered) /* part of the body already went to the caller: no silent restart */
		return 0;
	/* A name that does not resolve for a region AWS does not have is a typo, not the network:
	 * say so, and do not retry it. */
	if (e->kind == E_NET && !k->ep->custom && !strncmp(e->msg, "resolve ", 8) && !region_known(k->ep->region)) {
		const char *near = region_nearest(k->ep->region);
		char was[64];
		snprintf(was, sizeof was, "%s", k->ep->region);
		err_set(e, E_USAGE, "region '%s' does not exist%s%s%s (from --region, AWS_REGION, AWS_DEFAULT_REGION or "
			"the profile)", was, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
		return 0;
	}
	if (!retry_decide(k->a, e, k->attempt, !q->not_idempotent, delay))
		return 0;
	if (q->deadline && mono_now() + *delay >= q->deadline) {
		dbg("not retrying %s: the deadline comes first", op);
		return 0;
	}
	if (q->stop && __atomic_load_n(q->stop, __ATOMIC_RELAXED)) {
		dbg("not retrying %s: the transfer it belongs to has stopped", op);
		return 0;
	}
	dbg("retrying %s in %.2f s after: %s %s", op, *delay, e->code, e->msg);
	return 1;
}

int
aws_send_begin(struct aws_send *k, struct aws *a, const struct aws_req *q, const struct endpoint *ep,
	       struct http_resp *r, struct err *e)
{
	memset(k, 0, sizeof *k);
	memset(r, 0, sizeof *r);
	k->a = a;
	k->q = q;
	k->ep = ep;
	k->r = r;
	k->attempt = 1;
	return send_prepare(k, e);
}

int
aws_send_ready(struct aws_send *k, struct err *e)
{
	const struct aws_req *q = k->q;

	k->cto = k->a->connect_timeout_ms;
	k->rto = q->read_timeout_ms ? q->read_timeout_ms : k->a->read_timeout_ms;
	if (q->deadline) { /* this attempt gets the time left, and no more */
		double left = q->deadline - mono_now();
		if (left <= 0)
			return deadline_err(k->attempt, 0, e);
		int ms = left < 86400 ? (int)(left * 1000) + 1 : 86400000;
		k->cto = k->cto < ms ? k->cto : ms;
		k->rto = k->rto < ms ? k->rto : ms;
	}
	memset(e, 0, sizeof *e);
	return 0;
}

int
aws_send_try(struct aws_send *k, const struct creds *c, struct err *e)
{
	double delay = 0;
	int rc;

	retry_rate_wait(k->a); /* adaptive mode paces the sends; signed after the wait */
	send_sign(k, c);
	if ((rc = send_once(k, e)) == 1)
		return 1; /* a clock fix is not a failed attempt */
	if (rc == 0 || !send_again(k, &delay, e))
		return rc;
	sleep_sec(delay);
	k->attempt++;
	return 1;
}

void
aws_send_end(struct aws_send *k)
{
	buf_free(&k->path);
	buf_free(&k->target);
	buf_free(&k->authz);
	buf_free(&k->errbody);
	free(k->h);
}

int
aws_send(struct aws *a, const struct aws_req *q, const struct endpoint *ep, const struct creds *c, struct http_resp *r,
	 struct err *e)
{
	struct aws_send k;
	int rc = aws_send_begin(&k, a, q, ep, r, e);

	for (int again = !rc; again;) {
		if (aws_send_ready(&k, e))
			rc = -1, again = 0;
		else
			rc = aws_send_try(&k, c, e), again = rc == 1;
	}
	aws_send_end(&k);
	return rc;
}

int
aws_send_to(struct aws *a, const struct aws_req *q, const char *region, const struct creds *c, struct http_resp *r,
	    struct err *e)
{
	struct endpoint ep;

	memset(r, 0, sizeof *r);
	if (endpoint_resolve(a, q->svc, region, q->bucket, 0, &ep, e))
		return -1;
	return aws_send(a, q, &ep, c, r, e);
}

void
aws_query_form(const struct svc *svc, const char *action, const struct kv *params, int n, struct buf *form)
{
	buf_printf(form, "Action=%s&Version=%s", action, svc->target);
	for (int i = 0; i < n; i++) {
		buf_addc(form, '&');
		uri_encode(form, params[i].k, strlen(params[i].k), 0);
		buf_addc(form, '=');
		uri_encode(form, params[i].v ? params[i].v : "", params[i].v ? strlen(params[i].v) : 0, 0);
	}
}
