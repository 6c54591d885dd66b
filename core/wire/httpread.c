/* httpread.c — reading an HTTP/1.1 response (RFC 9112): the status line and header block, then the
 * body as the head frames it (Content-Length, chunked, or until close) into the caller's buffer or
 * sink, within the read deadlines. http.c writes the request and runs the exchange. */
#include "conn.h"

#include <ctype.h>
#include <string.h>

#define HEAD_MAX (64 * 1024)      /* status line + headers, and trailers */
#define LINE_MAX_CHUNK 8192       /* a chunk-size line with its extensions */
#define DEBUG_BODY_MAX 2048

/* The head must be complete within the read timeout, however it trickles in (1xx answers
 * included). A body must be within the read timeout plus 1 s for each HTTP_MIN_RATE bytes that
 * came (conn.paced), except one of unknown length where the caller allows a slow one (S3's
 * CompleteMultipartUpload and CopyObject send spaces while they work): that has the per-wait bound. */

/* ---- the connection's read buffer and deadlines ---- */

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

/* Reads on c must be done within secs from now; 0: no deadline (each wait is still bounded).
 * The exchange's own end, when it has one, comes first. */
void
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
int
http_read_head(struct conn *c, struct http_resp *r, int *minor, size_t *got, struct err *e)
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

/* A Content-Length value into *cl (-1 before the first): "5, 5" is one length; differing
 * lengths are an attack or a bug. -1 when malformed. */
static int
content_length(struct slice v, int64_t *cl)
{
	while (v.n) {
		const char *comma = memchr(v.p, ',', v.n);
		struct slice t = slice_trim((struct slice){v.p, comma ? (size_t)(comma - v.p) : v.n});
		int64_t n = 0;
		if (!t.n || t.n > 18)
			return -1;
		for (size_t i = 0; i < t.n; i++) {
			if (!isdigit((unsigned char)t.p[i]))
				return -1;
			n = n * 10 + (t.p[i] - '0');
		}
		if (*cl >= 0 && *cl != n)
			return -1;
		*cl = n;
		v.n -= (size_t)(comma ? comma - v.p + 1 : (long)v.n);
		v.p = comma ? comma + 1 : v.p;
	}
	return 0;
}

/* The framing r's head declares: *cl the Content-Length (-1: none), *te whether there is a
 * Transfer-Encoding and *chunked whether chunked is its last coding; *reuse cleared for
 * "Connection: close". */
static int
body_framing(struct rx *x, int64_t *cl, int *te, int *chunked, int *reuse, struct err *e)
{
	struct slice k, v;
	size_t pos = 0;

	while (http_next_header(&x->r->head, &pos, &k, &v)) {
		if (slice_ieq(k, "transfer-encoding")) {
			*te = 1;
			/* chunked must be the last coding; anything else is read until close. */
			const char *last = v.p + v.n;
			while (last > v.p && last[-1] != ',')
				last--;
			*chunked = slice_ieq(slice_trim((struct slice){last, (size_t)(v.p + v.n - last)}), "chunked");
		} else if (slice_ieq(k, "content-length")) {
			if (content_length(v, cl))
				return err_set(e, E_PROTO, "bad Content-Length from %s", x->c->peer);
		} else if (slice_ieq(k, "connection") && has_token(v, "close")) {
			*reuse = 0;
		}
	}
	return 0;
}

/* Reads the body framed as the response says; *reuse cleared when the connection must close. */
int
http_read_body(struct rx *x, int head_only, int *reuse, struct err *e)
{
	struct http_resp *r = x->r;
	int64_t cl = -1, done;
	int te = 0, chunked = 0, mode, eof;

	if (body_framing(x, &cl, &te, &chunked, reuse, e))
		return -1;
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
}

/* ---- sending ---- */
