/* http.c — HTTP/1.1 client with a keep-alive pool and proxies (RFC 9112 messages, RFC 9110 semantics). */
#include "conn.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HEAD_MAX (64 * 1024)      /* status line + headers, and trailers */
#define LINE_MAX_CHUNK 8192       /* a chunk-size line with its extensions */
#define SEND_CHUNK (64 * 1024)    /* streamed request body buffer */
#define BODY_MAX_DEFAULT ((size_t)64 << 20)
#define DEBUG_BODY_MAX 2048
/* The head must be complete within the read timeout, however it trickles in (1xx answers
 * included). A body must be within the read timeout plus 1 s for each HTTP_MIN_RATE bytes that
 * came (conn.paced), except one of unknown length where the caller allows a slow one (S3's
 * CompleteMultipartUpload and CopyObject send spaces while they work): that has the per-wait bound. */

/* ---- connections ---- */

static long
conn_fill(struct conn *c, struct err *e)
{
	long n;

	if (c->rpos < c->rlen)
		return (long)(c->rlen - c->rpos);
	c->rpos = c->rlen = 0;
	n = c->tls ? tls_read(c, c->rbuf, sizeof c->rbuf, e) : net_read(c, c->rbuf, sizeof c->rbuf, e);
	if (n > 0)
		c->rlen = (size_t)n;
	return n;
}

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

/* Reads on c must be done within secs from now; 0: no deadline (each wait is still bounded).
 * The exchange's own end, when it has one, comes first. */
static void
conn_deadline(struct conn *c, double secs)
{
	if (c->end > 0) {
		double left = c->end - mono_now();
		left = left > 0.001 ? left : 0.001;
		secs = secs > 0 && secs < left ? secs : left;
	}
	c->deadline = secs > 0 ? mono_now() + secs : 0;
	c->deadline_s = secs;
	c->deadline_got = 0;
	c->paced = 0;
}

/* A body's deadline: the read timeout, moved on as bytes come (net_read). */
static void
conn_pace(struct conn *c)
{
	conn_deadline(c, c->timeout_ms / 1000.0);
	c->paced = 1;
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
		if (!c || !net_idle_dead(c))
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

/* ---- reading a response head ---- */

/* Reads one line (without CR LF) into line; at most *budget bytes, which it consumes.
 * *got counts bytes read from the connection. */
static int
read_line(struct conn *c, struct buf *line, size_t *budget, size_t *got, const char *what, struct err *e)
{
	buf_reset(line);
	for (;;) {
		long n = conn_fill(c, e);
		if (n < 0)
			return -1;
		if (n == 0)
			return err_set(e, E_NET, "connection to %s closed %s", c->peer,
				       *got ? "in the middle of the response header" : "before a response");
		unsigned char *p = c->rbuf + c->rpos, *nl = memchr(p, '\n', (size_t)n);
		size_t take = nl ? (size_t)(nl - p) + 1 : (size_t)n;
		if (take > *budget)
			return err_set(e, E_PROTO, "%s from %s is too long", what, c->peer);
		*budget -= take;
		*got += take;
		buf_add(line, p, take);
		c->rpos += take;
		if (nl) {
			line->len--;
			if (line->len && line->p[line->len - 1] == '\r')
				line->len--;
			line->p[line->len] = 0;
			return 0;
		}
	}
}

/* Up to 60 printable bytes of s, for messages about garbage. */
static void
printable(const char *s, size_t n, char *out, size_t on)
{
	size_t i;

	for (i = 0; i < n && i < 60 && i + 1 < on; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = 0;
}

/* Reads a status line and header block into r. *got counts bytes read. */
static int
read_head(struct conn *c, struct http_resp *r, int *minor, size_t *got, struct err *e)
{
	struct buf line = {0};
	size_t budget = HEAD_MAX;
	char shown[64];
	int rc = -1;
	const char *s;

	buf_reset(&r->head);
	if (read_line(c, &line, &budget, got, "response header (limit 64 KiB)", e))
		goto fail;
	s = line.p;
	if (line.len < 12 || memcmp(s, "HTTP/1.", 7) || !isdigit((unsigned char)s[7]) || s[8] != ' ' ||
	    !isdigit((unsigned char)s[9]) || !isdigit((unsigned char)s[10]) || !isdigit((unsigned char)s[11]) ||
	    (line.len > 12 && s[12] != ' ') || s[9] == '0') {
		printable(line.p, line.len, shown, sizeof shown);
		err_set(e, E_PROTO, "malformed status line from %s: \"%s\"", c->peer, shown);
		goto fail;
	}
	*minor = s[7] - '0';
	r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	dbg("< %s", line.p);
	for (;;) {
		if (read_line(c, &line, &budget, got, "response header (limit 64 KiB)", e))
			goto fail;
		if (!line.len)
			break;
		if ((line.p[0] == ' ' || line.p[0] == '\t') && r->head.len) {
			/* obs-fold (RFC 9112 5.2): joined to the previous line with a space. */
			r->head.len--;
			buf_addc(&r->head, ' ');
			struct slice t = slice_trim((struct slice){line.p, line.len});
			buf_add(&r->head, t.p, t.n);
			buf_addc(&r->head, '\n');
			continue;
		}
		const char *colon = memchr(line.p, ':', line.len);
		if (!colon || colon == line.p || memchr(line.p, ' ', (size_t)(colon - line.p)) ||
		    memchr(line.p, '\t', (size_t)(colon - line.p)) || memchr(line.p, 0, line.len)) {
			printable(line.p, line.len, shown, sizeof shown);
			err_set(e, E_PROTO, "malformed header line from %s: \"%s\"", c->peer, shown);
			goto fail;
		}
		buf_add(&r->head, line.p, line.len);
		buf_addc(&r->head, '\n');
	}
	rc = 0;
fail:
	buf_free(&line);
	return rc;
}

/* ---- the response body ---- */

enum { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_CLOSE };

struct rx {
	const struct http_req *q;
	struct http_resp *r;
	struct conn *c;
	size_t max;
	uint64_t total;
	struct buf peek; /* the start of a non-2xx body, for --debug */
	int show;
};

static int
deliver(struct rx *x, const void *p, size_t n, struct err *e)
{
	if (!n)
		return 0;
	x->total += n;
	if (x->show && x->peek.len < DEBUG_BODY_MAX)
		buf_add(&x->peek, p, n < DEBUG_BODY_MAX - x->peek.len ? n : DEBUG_BODY_MAX - x->peek.len);
	if (x->q->sink)
		return x->q->sink(x->q->sink_ctx, x->r, p, n, e);
	if (!x->q->out)
		return 0;
	if (x->q->out->len + n > x->max || x->q->out->len + n < n)
		return err_set(e, E_PROTO, "response body from %s is larger than %zu bytes", x->c->peer, x->max);
	buf_add(x->q->out, p, n);
	return 0;
}

/* Passes up to want bytes (all until EOF when want < 0) to deliver; *eof set at EOF. */
static int
pass_bytes(struct rx *x, int64_t want, int64_t *done, int *eof, struct err *e)
{
	struct conn *c = x->c;

	*done = 0;
	*eof = 0;
	while (want < 0 || *done < want) {
		if (c->tls && c->rpos == c->rlen) {
			/* A body over TLS goes to its sink straight from BearSSL's record buffer. */
			const unsigned char *b;
			long n = tls_peek(c, &b, e);
			if (n <= 0) {
				*eof = n == 0;
				return n < 0 ? -1 : 0;
			}
			size_t k = (size_t)n;
			if (want >= 0 && (int64_t)k > want - *done)
				k = (size_t)(want - *done);
			*done += (int64_t)k;
			int rc = deliver(x, b, k, e);
			tls_ack(c, k);
			if (rc)
				return -1;
			continue;
		}
		long n = conn_fill(c, e);
		if (n < 0)
			return -1;
		if (n == 0) {
			*eof = 1;
			return 0;
		}
		size_t k = (size_t)n;
		if (want >= 0 && (int64_t)k > want - *done)
			k = (size_t)(want - *done);
		c->rpos += k;
		*done += (int64_t)k;
		if (deliver(x, c->rbuf + c->rpos - k, k, e))
			return -1;
	}
	return 0;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* chunked (RFC 9112 7.1): sizes in hex, extensions ignored, trailers read and dropped. */
static int
read_chunked(struct rx *x, struct err *e)
{
	struct conn *c = x->c;
	struct buf line = {0};
	size_t got = 0, budget;
	int rc = -1, eof;

	for (;;) {
		uint64_t size = 0;
		size_t i;
		int64_t done;
		budget = LINE_MAX_CHUNK;
		if (read_line(c, &line, &budget, &got, "chunk-size line", e))
			goto fail;
		for (i = 0; i < line.len && hexval(line.p[i]) >= 0; i++) {
			if (size >> 59)
				break;
			size = size << 4 | (uint64_t)hexval(line.p[i]);
		}
		if (!i || (i < line.len && line.p[i] != ';' && line.p[i] != ' ' && line.p[i] != '\t')) {
			char shown[64];
			printable(line.p, line.len, shown, sizeof shown);
			err_set(e, E_PROTO, "malformed chunk size from %s: \"%s\"", c->peer, shown);
			goto fail;
		}
		if (!size)
			break;
		if (pass_bytes(x, (int64_t)size, &done, &eof, e))
			goto fail;
		if (eof) {
			err_set(e, E_NET, "EOF"); /* the message is set below */
			goto fail;
		}
		budget = 2;
		if (read_line(c, &line, &budget, &got, "chunk end", e)) {
			if (e->kind == E_PROTO)
				err_set(e, E_PROTO, "chunk from %s is longer than its size", c->peer);
			goto fail;
		}
		if (line.len) {
			err_set(e, E_PROTO, "chunk from %s is longer than its size", c->peer);
			goto fail;
		}
	}
	/* Trailer fields, until the empty line. */
	budget = HEAD_MAX;
	do {
		if (read_line(c, &line, &budget, &got, "chunked trailer (limit 64 KiB)", e))
			goto fail;
	} while (line.len);
	rc = 0;
fail:
	if (rc && e->kind == E_NET && c->eof)
		err_set(e, E_NET, "connection closed after %llu bytes, in the middle of a chunked body from %s",
			(unsigned long long)x->total, c->peer);
	buf_free(&line);
	return rc;
}

/* Reads the body framed as the response says; *reuse cleared when the connection must close. */
static int
read_body(struct rx *x, int head_only, int *reuse, struct err *e)
{
	struct http_resp *r = x->r;
	struct slice k, v;
	size_t pos = 0;
	int64_t cl = -1, done;
	int te = 0, chunked = 0, mode, eof;

	while (http_next_header(&r->head, &pos, &k, &v)) {
		if (slice_ieq(k, "transfer-encoding")) {
			te = 1;
			/* chunked must be the last coding; anything else is read until close. */
			const char *last = v.p + v.n;
			while (last > v.p && last[-1] != ',')
				last--;
			chunked = slice_ieq(slice_trim((struct slice){last, (size_t)(v.p + v.n - last)}), "chunked");
		} else if (slice_ieq(k, "content-length")) {
			/* "5, 5" is one length; differing lengths are an attack or a bug. */
			while (v.n) {
				const char *comma = memchr(v.p, ',', v.n);
				struct slice t = slice_trim((struct slice){v.p, comma ? (size_t)(comma - v.p) : v.n});
				int64_t n = 0;
				if (!t.n || t.n > 18)
					goto badlen;
				for (size_t i = 0; i < t.n; i++) {
					if (!isdigit((unsigned char)t.p[i]))
						goto badlen;
					n = n * 10 + (t.p[i] - '0');
				}
				if (cl >= 0 && cl != n)
					goto badlen;
				cl = n;
				v.n -= (size_t)(comma ? comma - v.p + 1 : (long)v.n);
				v.p = comma ? comma + 1 : v.p;
			}
		} else if (slice_ieq(k, "connection") && has_token(v, "close")) {
			*reuse = 0;
		}
	}
	r->content_length = te ? -1 : cl;
	if (head_only || r->status == 204 || r->status == 304 || r->status < 200)
		mode = BODY_NONE;
	else if (te)
		mode = chunked ? BODY_CHUNKED : BODY_CLOSE;
	else if (cl >= 0)
		mode = BODY_LENGTH;
	else
		mode = BODY_CLOSE;
	if (te && cl >= 0)
		*reuse = 0; /* RFC 9112 6.3: both framings sent; do not trust this connection again */
	switch (mode) {
	case BODY_NONE:
		return 0;
	case BODY_LENGTH:
		if (!x->q->sink && x->q->out && (uint64_t)cl + x->q->out->len > x->max) {
			*reuse = 0;
			return err_set(e, E_PROTO, "response body from %s declares %lld bytes, more than the %zu this "
				       "call reads into memory", x->c->peer, (long long)cl, x->max);
		}
		conn_pace(x->c);
		if (pass_bytes(x, cl, &done, &eof, e))
			return -1;
		if (done < cl)
			return err_set(e, E_NET, "connection closed after %lld of %lld bytes from %s", (long long)done,
				       (long long)cl, x->c->peer);
		return 0;
	case BODY_CHUNKED:
		if (x->q->slow_body)
			conn_deadline(x->c, 0);
		else
			conn_pace(x->c);
		return read_chunked(x, e);
	default:
		if (x->q->slow_body)
			conn_deadline(x->c, 0);
		else
			conn_pace(x->c);
		*reuse = 0;
		return pass_bytes(x, -1, &done, &eof, e);
	}
badlen:
	return err_set(e, E_PROTO, "bad Content-Length from %s", x->c->peer);
}

/* ---- sending ---- */

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

/* Streams the body; *started set once the body's read callback has been used. */
static int
send_body(struct conn *c, const struct http_body *b, int *started, struct err *e)
{
	char *p = NULL;
	int64_t sent = 0;
	int rc = -1;

	if (!b->read) /* checked by build_head */
		return b->len ? conn_write(c, b->p, (size_t)b->len, e) : 0;
	*started = 1;
	/* Room for a chunk header before the data and CR LF after it: one write per chunk. */
	p = xmalloc(SEND_CHUNK + 32);
	for (;;) {
		size_t want = SEND_CHUNK;
		if (b->len >= 0 && (int64_t)want > b->len - sent)
			want = (size_t)(b->len - sent);
		if (b->len >= 0 && !want)
			break;
		long n = b->read(b->ctx, p + 20, want, e);
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
				rc = read_head(c, &r, &minor, &got, e);
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
		if (read_head(c, r, minor, got, e)) {
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
		if (read_head(c, r, &minor, &got, e)) {
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
	if (read_body(&x, head_only, reuse, e))
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
