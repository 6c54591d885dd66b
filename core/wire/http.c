/* http.c — HTTP/1.1 client with a keep-alive pool and proxies (RFC 9112 messages, RFC 9110 semantics):
 * the pool, connecting (through a proxy's tunnel), writing the request and one exchange; httpread.c
 * reads the response. */
#include "conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEND_CHUNK (64 * 1024)    /* streamed request body buffer */
#define BODY_MAX_DEFAULT ((size_t)64 << 20)

/* ---- connections ---- */

static int
conn_write(struct conn *c, const void *p, size_t n, struct err *e)
{
	return c->tls ? tls_write(c, p, n, e) : net_write(c, p, n, e);
}

static int
conn_flush(struct conn *c, struct err *e)
{
	return c->tls ? tls_flush(c, e) : 0;
}

static void
conn_free(struct conn *c)
{
	if (!c)
		return;
	tls_free(c);
	net_close(c);
	free(c);
}

/* ---- the pool ---- */

void
http_pool_init(struct http_pool *p, const char *ca_bundle)
{
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
	p->ca_bundle = ca_bundle && *ca_bundle ? ca_bundle : NULL;
}

void
http_pool_free(struct http_pool *p)
{
	for (int i = 0; i < p->nidle; i++)
		conn_free(p->idle[i]);
	p->nidle = 0;
	tls_anchors_free(p);
	tls_sessions_free(p);
	pthread_mutex_destroy(&p->lock);
}

/* An idle connection for key that still looks alive, or NULL. */
static struct conn *
pool_take(struct http_pool *p, const char *key)
{
	for (;;) {
		struct conn *c = NULL;
		pthread_mutex_lock(&p->lock);
		for (int i = p->nidle - 1; i >= 0; i--) {
			if (!strcmp(p->idle[i]->key, key)) {
				c = p->idle[i];
				memmove(&p->idle[i], &p->idle[i + 1], (size_t)(p->nidle - i - 1) * sizeof c);
				p->nidle--;
				break;
			}
		}
		pthread_mutex_unlock(&p->lock);
		/* Bytes on an idle connection, read or not: EOF, an alert, or junk. */
		if (!c || !(net_idle_dead(c) || (c->tls && tls_pending(c))))
			return c;
		dbg("dropping a kept-alive connection to %s the server closed", c->peer);
		conn_free(c);
	}
}

static void
pool_put(struct http_pool *p, struct conn *c)
{
	struct conn *old = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->nidle == (int)COUNT(p->idle)) {
		old = p->idle[0];
		memmove(&p->idle[0], &p->idle[1], (size_t)(p->nidle - 1) * sizeof old);
		p->nidle--;
	}
	p->idle[p->nidle++] = c;
	pthread_mutex_unlock(&p->lock);
	conn_free(old);
}

/* "host" or "host:port" (port only when not the scheme's default; always when forced). */
static void
host_port(const struct url *u, int force_port, char *out, size_t n)
{
	int v6 = strchr(u->host, ':') != NULL;

	if (!force_port && u->port == (u->tls ? 443 : 80))
		snprintf(out, n, v6 ? "[%s]" : "%s", u->host);
	else
		snprintf(out, n, v6 ? "[%s]:%d" : "%s:%d", u->host, u->port);
}

static int
has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

static int
is_method(const char *m, const char *z)
{
	return !strcmp(m, z);
}

/* The request head: request line, Host, the caller's headers, framing, Expect. */
static int
build_head(const struct http_req *q, const struct proxy *px, struct buf *h, struct err *e)
{
	char hp[300];
	int has_host = 0;
	const struct http_body *b = q->body;

	if (has_crlf(q->method) || strchr(q->method, ' ') || has_crlf(q->target) || strchr(q->target, ' '))
		return err_set(e, E_USAGE, "invalid request line");
	if (b && !b->read && (b->len < 0 || (b->len && !b->p)))
		return err_set(e, E_USAGE, "request body without length or data");
	host_port(q->url, 0, hp, sizeof hp);
	buf_printf(h, "%s ", q->method);
	if (px->on && !q->url->tls) /* absolute-form through an HTTP proxy (RFC 9112 3.2.2) */
		buf_printf(h, "http://%s", hp);
	buf_printf(h, "%s HTTP/1.1\r\n", q->target);
	dbg_request_line(q->method, q->target);
	for (int i = 0; i < q->nhdrs; i++)
		if (!strcasecmp(q->hdrs[i].k, "host"))
			has_host = 1;
	if (!has_host) {
		buf_printf(h, "Host: %s\r\n", hp);
		dbg("> Host: %s", hp);
	}
	for (int i = 0; i < q->nhdrs; i++) {
		const char *k = q->hdrs[i].k, *v = q->hdrs[i].v ? q->hdrs[i].v : "";
		/* Framing is ours to set from the body. */
		if (!strcasecmp(k, "content-length") || !strcasecmp(k, "transfer-encoding") || !strcasecmp(k, "expect") ||
		    !strcasecmp(k, "connection"))
			continue;
		if (has_crlf(k) || has_crlf(v) || !*k || strchr(k, ':') || strchr(k, ' '))
			return err_set(e, E_USAGE, "invalid request header \"%.64s\"", k);
		buf_printf(h, "%s: %s\r\n", k, v);
		dbg_header('>', SLICE(k), SLICE(v));
	}
	if (b && b->len >= 0) {
		buf_printf(h, "Content-Length: %lld\r\n", (long long)b->len);
		dbg("> Content-Length: %lld", (long long)b->len);
	} else if (b) {
		buf_adds(h, "Transfer-Encoding: chunked\r\n");
		dbg("> Transfer-Encoding: chunked");
	} else if (is_method(q->method, "POST") || is_method(q->method, "PUT") || is_method(q->method, "PATCH")) {
		buf_adds(h, "Content-Length: 0\r\n"); /* else some servers answer 411 */
		dbg("> Content-Length: 0");
	}
	if (b && q->expect_continue) {
		buf_adds(h, "Expect: 100-continue\r\n");
		dbg("> Expect: 100-continue");
	}
	if (px->on && !q->url->tls && px->auth[0]) {
		buf_printf(h, "Proxy-Authorization: %s\r\n", px->auth);
		dbg("> Proxy-Authorization: <redacted>");
	}
	buf_adds(h, "\r\n");
	return 0;
}

/* Streams the body; *started set once the body's read callback has been used. A body of known
 * length over TLS is read straight into the record being filled (tls_room): no copy of it here. */
static int
send_body(struct conn *c, const struct http_body *b, int *started, struct err *e)
{
	char *p = NULL;
	int64_t sent = 0;
	int rc = -1, direct = c->tls && b->len >= 0;

	if (!b->read) /* checked by build_head */
		return b->len ? conn_write(c, b->p, (size_t)b->len, e) : 0;
	*started = 1;
	/* Room for a chunk header before the data and CR LF after it: one write per chunk. */
	if (!direct)
		p = xmalloc(SEND_CHUNK + 32);
	for (;;) {
		size_t want = SEND_CHUNK;
		char *dst = direct ? NULL : p + 20; /* p is NULL then: no arithmetic on it */
		if (direct) {
			unsigned char *room;
			long k = tls_room(c, &room, e);
			if (k < 0)
				goto fail;
			want = (size_t)k;
			dst = (char *)room;
		}
		if (b->len >= 0 && (int64_t)want > b->len - sent)
			want = (size_t)(b->len - sent);
		if (b->len >= 0 && !want)
			break;
		long n = b->read(b->ctx, dst, want, e);
		if (n < 0 || (size_t)n > want) {
			if (n >= 0)
				err_set(e, E_IO, "request body: read callback returned too much");
			goto fail;
		}
		if (n == 0) {
			if (b->len >= 0) {
				err_set(e, E_IO, "request body ended after %lld of %lld bytes", (long long)sent,
					(long long)b->len);
				goto fail;
			}
			if (conn_write(c, "0\r\n\r\n", 5, e))
				goto fail;
			break;
		}
		sent += n;
		if (direct) {
			tls_commit(c, (size_t)n);
			continue;
		}
		if (b->len >= 0) {
			if (conn_write(c, p + 20, (size_t)n, e))
				goto fail;
			continue;
		}
		char hdr[20];
		int hl = snprintf(hdr, sizeof hdr, "%lx\r\n", (unsigned long)n);
		memcpy(p + 20 - hl, hdr, (size_t)hl);
		memcpy(p + 20 + n, "\r\n", 2);
		if (conn_write(c, p + 20 - hl, (size_t)hl + (size_t)n + 2, e))
			goto fail;
	}
	dbg("> %lld-byte body sent", (long long)sent);
	rc = 0;
fail:
	free(p);
	return rc;
}

/* ---- connecting ---- */

static struct conn *
conn_open(struct http_pool *p, const struct http_req *q, const struct proxy *px, const char *key, struct err *e)
{
	struct conn *c = xcalloc(1, sizeof *c);
	int cto = q->connect_timeout_ms > 0 ? q->connect_timeout_ms : 3100;
	char origin[300];

	c->fd = -1;
	snprintf(c->key, sizeof c->key, "%s", key);
	host_port(q->url, 1, c->peer, sizeof c->peer);
	c->timeout_ms = q->read_timeout_ms > 0 ? q->read_timeout_ms : 60000;
	if (net_connect(c, px->on ? px->host : q->url->host, px->on ? px->port : q->url->port, cto, e)) {
		if (px->on) {
			char m[sizeof e->msg];
			snprintf(m, sizeof m, "%s (proxy for %s)", e->msg, c->peer);
			memcpy(e->msg, m, sizeof m);
		}
		goto fail;
	}
	pthread_mutex_lock(&p->lock);
	p->connects++;
	pthread_mutex_unlock(&p->lock);
	dbg("connected to %s%s%s", c->peer, px->on ? " via proxy " : "", px->on ? px->host : "");
	/* A proxy's answer to CONNECT that trickles in, or never ends its 1xx answers, is bounded. */
	conn_deadline(c, c->timeout_ms / 1000.0);
	if (px->on && q->url->tls) {
		/* A tunnel through the proxy (RFC 9110 9.3.6); TLS runs end to end inside it. */
		struct buf h = {0};
		struct http_resp r = {0};
		size_t got = 0;
		int minor, rc;
		snprintf(origin, sizeof origin, "%s", c->peer);
		buf_printf(&h, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", origin, origin);
		if (px->auth[0])
			buf_printf(&h, "Proxy-Authorization: %s\r\n", px->auth);
		buf_adds(&h, "\r\n");
		dbg("> CONNECT %s HTTP/1.1 (proxy %s:%d)", origin, px->host, px->port);
		rc = net_write(c, h.p, h.len, e);
		buf_free(&h);
		if (!rc) {
			do
				rc = http_read_head(c, &r, &minor, &got, e);
			while (!rc && r.status < 200);
		}
		if (!rc && (r.status < 200 || r.status > 299))
			rc = err_set(e, E_NET, "proxy %s:%d refused CONNECT to %s: HTTP %d", px->host, px->port, origin,
				     r.status);
		http_resp_free(&r);
		if (rc)
			goto fail;
		if (c->rpos != c->rlen) {
			err_set(e, E_PROTO, "proxy %s:%d sent data after its CONNECT answer", px->host, px->port);
			goto fail;
		}
	}
	conn_deadline(c, c->timeout_ms / 1000.0); /* a handshake that trickles in is bounded too */
	if (q->url->tls && tls_connect(p, c, q->url->host, e))
		goto fail;
	conn_deadline(c, 0);
	return c;
fail:
	conn_free(c);
	return NULL;
}

/* ---- one exchange on one connection ---- */

/* Sends q on c and reads the response. *retry set when a reused connection proved dead
 * before any response byte (the request can go again on a new one); *reuse cleared when
 * c must not go back to the pool. */
/* RFC 9110 10.1.1: after "Expect: 100-continue", wait briefly for 100; a final status means the
 * body is unwanted (*early). Interim answers that keep coming are held to the head's deadline.
 * -1 with e (and *retry) when the connection fails. */
static int
wait_continue(struct conn *c, struct http_resp *r, int *minor, size_t *got, int *early, int *reuse, int *retry,
	      struct err *e)
{
	double end = mono_now() + 1.0;

	conn_deadline(c, c->timeout_ms / 1000.0);
	for (;;) {
		int left = (int)((end - mono_now()) * 1000);
		int ready = c->rpos < c->rlen || (c->tls && tls_pending(c));
		if (!ready && left > 0 && (ready = net_wait(c, left, e)) < 0)
			return -1;
		if (!ready) {
			dbg("no 100 Continue within 1 s; sending the body");
			return 0;
		}
		if (http_read_head(c, r, minor, got, e)) {
			*retry = e->kind == E_NET && !*got;
			return -1;
		}
		dbg_head('<', &r->head);
		if (r->status == 100)
			return 0;
		if (r->status >= 200) {
			dbg("final status before the body: not sending it");
			*early = 1;
			*reuse = 0;
			return 0;
		}
	}
}

static int
exchange(struct conn *c, const struct http_req *q, const struct proxy *px, struct http_resp *r, int *retry,
	 int *reuse, int *body_started, struct err *e)
{
	struct buf h = {0};
	struct rx x = {q, r, c, q->max ? q->max : BODY_MAX_DEFAULT, 0, {0}, 0};
	const struct http_body *b = q->body;
	int minor = 1, early = 0, rc = -1, head_only = is_method(q->method, "HEAD");
	size_t got = 0;

	*retry = 0;
	*reuse = 1;
	c->timeout_ms = q->read_timeout_ms > 0 ? q->read_timeout_ms : 60000;
	c->end = q->total_ms > 0 ? mono_now() + q->total_ms / 1000.0 : 0;
	conn_deadline(c, 0);
	if (build_head(q, px, &h, e))
		goto fail;
	/* A small in-memory body goes in the same write as the head. */
	int inline_body = b && !b->read && b->p && b->len >= 0 && b->len <= 16384 && !q->expect_continue;
	if (inline_body)
		buf_add(&h, b->p, (size_t)b->len);
	e->sent = 1;
	if (conn_write(c, h.p, h.len, e) || (!inline_body && b && q->expect_continue && conn_flush(c, e))) {
		*retry = e->kind == E_NET;
		goto fail;
	}
	if (inline_body && b->len)
		dbg("> %lld-byte body sent", (long long)b->len);
	if (b && !inline_body && q->expect_continue && wait_continue(c, r, &minor, &got, &early, reuse, retry, e))
		goto fail;
	if (b && !inline_body && !early) {
		if (send_body(c, b, body_started, e)) {
			/* A write error before any response byte on a reused connection may be retried. */
			*retry = e->kind == E_NET && !got;
			goto fail;
		}
	}
	if (conn_flush(c, e)) {
		*retry = e->kind == E_NET && !got;
		goto fail;
	}
	conn_deadline(c, c->timeout_ms / 1000.0); /* the whole head, however it trickles in */
	while (!early) {
		if (http_read_head(c, r, &minor, &got, e)) {
			/* All of it went out: a server that closes without a word may have run it. */
			*retry = e->kind == E_NET && !got && !q->no_replay;
			goto fail;
		}
		dbg_head('<', &r->head);
		if (r->status == 101) {
			err_set(e, E_PROTO, "unexpected 101 Switching Protocols from %s", c->peer);
			goto fail;
		}
		if (r->status >= 200)
			break;
	}
	if (minor < 1)
		*reuse = 0; /* HTTP/1.0: no persistent connection by default */
	x.show = g_debug && !q->quiet_body && (r->status < 200 || r->status > 299);
	if (http_read_body(&x, head_only, reuse, e))
		goto fail;
	if (c->rpos != c->rlen || c->eof)
		*reuse = 0; /* bytes after the message: the framing is not what we think */
	if (g_debug) {
		dbg("< %llu-byte body", (unsigned long long)x.total);
		if (x.show && x.peek.len) {
			for (size_t i = 0; i < x.peek.len; i++)
				if ((unsigned char)x.peek.p[i] < 0x20 && x.peek.p[i] != '\n')
					x.peek.p[i] = '.';
			dbg("< %s%s", x.peek.p, x.total > x.peek.len ? " ... (truncated)" : "");
		}
	}
	rc = 0;
fail:
	c->end = 0;
	conn_deadline(c, 0);
	buf_free(&h);
	buf_free(&x.peek);
	return rc;
}

int
http_do(struct http_pool *p, const struct http_req *q, struct http_resp *r, struct err *e)
{
	struct proxy px;
	char key[600];
	size_t out0 = q->out ? q->out->len : 0;

	memset(r, 0, sizeof *r);
	r->content_length = -1;
	e->sent = 0;
	if (proxy_for(q, &px, e))
		return -1;
	snprintf(key, sizeof key, "%s://%s:%d%s%s:%d", q->url->tls ? "https" : "http", q->url->host, q->url->port,
		 px.on ? " via " : "", px.on ? px.host : "", px.on ? px.port : 0);
	for (int attempt = 0;; attempt++) {
		struct conn *c = attempt ? NULL : pool_take(p, key);
		int reused = c != NULL, retry = 0, reuse = 0, started = 0, rc;

		if (reused)
			dbg("reusing a connection to %s", c->peer);
		if (!c && !(c = conn_open(p, q, &px, key, e)))
			return -1;
		rc = exchange(c, q, &px, r, &retry, &reuse, &started, e);
		if (!rc) {
			if (reuse)
				pool_put(p, c);
			else
				conn_free(c);
			return 0;
		}
		conn_free(c);
		http_resp_free(r);
		r->status = 0;
		if (!reused || !retry || attempt)
			return -1;
		if (started && (!q->body->rewind || q->body->rewind(q->body->ctx)))
			return -1;
		dbg("kept-alive connection was closed (%s); retrying on a new one", e->msg);
		if (q->out && q->out->p)
			q->out->p[q->out->len = out0] = 0;
		/* e->sent stays 1: the first attempt may have reached the server. */
	}
}

int
http_small(struct http_pool *p, const char *method, const struct url *u, const char *target, const struct kv *h,
	   int nh, int timeout_ms, struct buf *out, struct http_resp *r, struct err *e)
{
	struct http_req q = {.method = method, .url = u, .target = target, .hdrs = h, .nhdrs = nh,
			     .connect_timeout_ms = timeout_ms, .read_timeout_ms = timeout_ms, .total_ms = timeout_ms,
			     .no_proxy = 1, .quiet_body = 1, .out = out, .max = 1 << 20};

	buf_reset(out);
	return http_do(p, &q, r, e);
}
