/* fuzz_http.c — libFuzzer target for http.c and httpread.c: the bytes a server sends (status line, headers,
 * 100 Continue, chunked framing, Content-Length, bodies, keep-alive) fed to http_do as if they
 * came from a socket (RFC 9112, https://www.rfc-editor.org/rfc/rfc9112).
 *
 * The seam is at link time: this file defines the net.c and tls.c calls of conn.h, so http.c
 * runs unchanged over a fake connection whose reads return the fuzz input in pieces.
 *
 * Input: 4 control bytes, then the server's byte stream.
 *   [0] bits 0-1 request: GET, HEAD, PUT with an in-memory body, PUT with a streamed body
 *       bit 2 body to a sink (else collected)   bit 3 a small body limit (100 bytes)
 *       bit 4 a second request on the same pool  bit 5 https
 *       bit 6 Expect: 100-continue with a streamed body
 *       bit 7 the sink refuses the body (returns -1)
 *   [1] read sizes: 0 = everything at once, else reads of ([1] & 63) + 1 bytes, varied by bit 6/7
 *   [2] bit 0: an idle kept-alive connection looks alive, even when the server has closed it
 *       (else it looks closed)
 *       bit 1: the streamed body has an unknown length (sent chunked)
 *       bit 2: the streamed body cannot be rewound   bit 3: the streamed body's read fails
 *       bits 4-7 (both slow, so each is one value of 16): 1 = 64 KiB+ of filler byte [3] is
 *       inserted after the first 8 stream bytes (the size limits); 2 = --debug tracing;
 *       3 = through an HTTP proxy (https: the stream starts with the proxy's CONNECT answer)
 *   [3] the filler byte, and its length in units of 256 over 64 KiB */
#include "fuzz.h"
#include "core.h"
#include "wire/conn.h"

#include <stdlib.h>

static struct {
	const uint8_t *p;
	size_t n, pos;          /* the stream, and how much of it has been read */
	size_t fill_at, fill_n; /* a run of filler inserted at fill_at */
	uint8_t fill;
	unsigned step, vary;    /* read sizes */
	unsigned reads;
	int idle_alive;
	unsigned char rec[16384]; /* tls_peek: a "record" read ahead, rec[rec_at..rec_n) unread */
	size_t rec_at, rec_n;
} S;

static size_t
stream_len(void)
{
	return S.n + S.fill_n;
}

static long
stream_read(struct conn *c, void *buf, size_t n)
{
	unsigned char *o = buf;
	size_t left = stream_len() - S.pos, k = n < left ? n : left, done = 0;

	if (S.step) {
		size_t want = S.step + (S.vary ? (S.reads * 7u) % S.vary : 0);
		if (k > want)
			k = want;
	}
	S.reads++;
	if (!k) {
		c->eof = 1;
		return 0;
	}
	while (done < k) {
		size_t at = S.pos + done;
		if (at >= S.fill_at && at < S.fill_at + S.fill_n) {
			size_t run = S.fill_at + S.fill_n - at;
			run = run < k - done ? run : k - done;
			memset(o + done, S.fill, run);
			done += run;
		} else {
			size_t src = at < S.fill_at ? at : at - S.fill_n;
			size_t run = at < S.fill_at ? S.fill_at - at : S.n - src;
			run = run < k - done ? run : k - done;
			memcpy(o + done, S.p + src, run);
			done += run;
		}
	}
	S.pos += k;
	return (long)k;
}

/* ---- conn.h, net.c half ---- */

int
net_connect(struct conn *c, const char *host, int port, int timeout_ms, struct err *e)
{
	c->fd = 1000; /* never used as a descriptor */
	c->eof = 0;
	return 0;
}

long
net_read(struct conn *c, void *p, size_t n, struct err *e)
{
	return stream_read(c, p, n);
}

int
net_write(struct conn *c, const void *p, size_t n, struct err *e)
{
	FUZZ_CHECK(!n || p);
	return 0;
}

int
net_wait(struct conn *c, int ms, struct err *e)
{
	return 1; /* data or EOF: a socket is readable either way */
}

int
net_idle_dead(struct conn *c)
{
	return !S.idle_alive; /* alive even at EOF: the race a retry on a new connection covers */
}

void
net_close(struct conn *c)
{
	c->fd = -1;
}

/* ---- conn.h, tls.c half: TLS is transparent here ---- */

static struct tls *const fake_tls = (struct tls *)&S;

int
tls_connect(struct http_pool *p, struct conn *c, const char *host, struct err *e)
{
	c->tls = fake_tls;
	return 0;
}

long
tls_peek(struct conn *c, const unsigned char **p, struct err *e)
{
	FUZZ_CHECK(c->tls == fake_tls);
	if (S.rec_at == S.rec_n) {
		long n = stream_read(c, S.rec, sizeof S.rec);
		if (n <= 0)
			return n;
		S.rec_at = 0, S.rec_n = (size_t)n;
	}
	*p = S.rec + S.rec_at;
	return (long)(S.rec_n - S.rec_at);
}

void
tls_ack(struct conn *c, size_t n)
{
	FUZZ_CHECK(n <= S.rec_n - S.rec_at);
	S.rec_at += n;
}

long
tls_read(struct conn *c, void *p, size_t n, struct err *e)
{
	const unsigned char *b;
	long k = tls_peek(c, &b, e);

	if (k <= 0)
		return k;
	if ((size_t)k > n)
		k = (long)n;
	memcpy(p, b, (size_t)k);
	tls_ack(c, (size_t)k);
	return k;
}

int
tls_write(struct conn *c, const void *p, size_t n, struct err *e)
{
	FUZZ_CHECK(c->tls == fake_tls);
	return 0;
}

/* A request body's bytes go into the record being filled, and are dropped as tls_write's are. */
long
tls_room(struct conn *c, unsigned char **p, struct err *e)
{
	static unsigned char rec[16384];

	FUZZ_CHECK(c->tls == fake_tls);
	*p = rec;
	return (long)sizeof rec;
}

void
tls_commit(struct conn *c, size_t n)
{
	FUZZ_CHECK(n <= 16384);
}

int
tls_flush(struct conn *c, struct err *e)
{
	return 0;
}

int
tls_pending(struct conn *c)
{
	return 0;
}

void
tls_free(struct conn *c)
{
	c->tls = NULL;
}

void
tls_anchors_free(struct http_pool *p)
{
}

void
tls_sessions_free(struct http_pool *p)
{
}

/* ---- the request side ---- */

struct body {
	size_t left, total;
	int fail;
};

static long
body_read(void *ctx, void *buf, size_t n, struct err *e)
{
	struct body *b = ctx;

	if (b->fail)
		return err_set(e, E_IO, "read failed");
	if (n > b->left)
		n = b->left;
	memset(buf, 'x', n);
	b->left -= n;
	return (long)n;
}

static int
body_rewind(void *ctx)
{
	struct body *b = ctx;

	b->left = b->total;
	return 0;
}

struct sink {
	int refuse;
	uint64_t got;
};

static int
sink(void *ctx, const struct http_resp *r, const void *p, size_t n, struct err *e)
{
	struct sink *s = ctx;

	/* called only once status and headers are known, never with nothing */
	FUZZ_CHECK(r->status >= 100 && r->status <= 999 && n > 0 && p);
	s->got += n;
	if (s->refuse)
		return err_set(e, E_IO, "sink refused");
	return 0;
}

static void
one_request(struct http_pool *pool, uint8_t f, uint8_t g)
{
	struct url u = {.tls = !!(f & 0x20), .host = "example.com", .port = f & 0x20 ? 443 : 80};
	static const char *const methods[] = {"GET", "HEAD", "PUT", "PUT"};
	struct body bctx = {300, 300, !!(g & 8)};
	struct http_body mem = {"hello", 5, NULL, NULL, NULL};
	struct http_body streamed = {NULL, g & 2 ? -1 : 300, body_read, g & 4 ? NULL : body_rewind, &bctx};
	struct sink sk = {!!(f & 0x80), 0};
	struct buf out = {0};
	struct http_resp r;
	struct err e = {0};
	struct kv h[] = {{"x-amz-date", "20150830T123600Z"}, {"authorization", "AWS4-HMAC-SHA256 Credential=a/b, Signature=c"}};
	int m = f & 3;
	struct http_req q = {
		.method = methods[m], .url = &u, .target = "/bucket/key?X-Amz-Signature=abc&x=1", .hdrs = h,
		.nhdrs = (int)COUNT(h), .body = m == 2 ? &mem : m == 3 ? &streamed : NULL, .expect_continue = m == 3 && f & 0x40,
		.sink = f & 4 ? sink : NULL, .sink_ctx = &sk, .out = &out, .max = f & 8 ? 100 : 1 << 20,
	};

	if (!http_do(pool, &q, &r, &e)) {
		FUZZ_CHECK(r.status >= 200 && r.status <= 999);
		FUZZ_CHECK(r.content_length >= -1);
		if (!q.sink)
			FUZZ_CHECK(out.len <= q.max);
		else
			FUZZ_CHECK(out.len == 0);
		if (m == 1)
			FUZZ_CHECK(out.len == 0 && sk.got == 0);
		/* every header line is "name: value" */
		size_t len;
		const char *v = http_header(&r, "content-length", &len);
		FUZZ_CHECK(!v || (v >= r.head.p && v + len <= r.head.p + r.head.len));
		char small[16], date[64];
		http_header_copy(&r, "x-amzn-errortype", small, sizeof small);
		FUZZ_CHECK(strlen(small) < sizeof small);
		if (!http_header_copy(&r, "date", date, sizeof date)) {
			time_t t;
			time_parse_http(date, strlen(date), &t);
		}
		http_header(&r, "", NULL);
	} else {
		FUZZ_CHECK(e.kind != E_NONE && e.msg[0]);
		FUZZ_CHECK(memchr(e.msg, 0, sizeof e.msg));
	}
	http_resp_free(&r);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_pool pool;

	if (size < 4)
		return 0;
	memset(&S, 0, sizeof S);
	S.p = data + 4;
	S.n = size - 4;
	S.step = data[1] ? (data[1] & 63) + 1 : 0;
	S.vary = data[1] & 0x80 ? 13 : data[1] & 0x40 ? 3 : 0;
	S.idle_alive = data[2] & 1;
	if (data[2] >> 4 == 1) {
		S.fill_at = S.n < 8 ? S.n : 8;
		S.fill_n = 65536 + (size_t)data[3] * 256;
		S.fill = data[3];
	}
	g_debug = data[2] >> 4 == 2;
	if (data[2] >> 4 == 3) {
		setenv("http_proxy", "http://u%40ser:pa%3Ass@proxy.example:3128", 1);
		setenv("https_proxy", "http://u%40ser:pa%3Ass@proxy.example:3128", 1);
	}
	http_pool_init(&pool, NULL);
	one_request(&pool, data[0], data[2]);
	if (data[0] & 0x10)
		one_request(&pool, data[0] ^ 0x3, data[2]); /* another method on what is left */
	http_pool_free(&pool);
	g_debug = 0;
	unsetenv("http_proxy");
	unsetenv("https_proxy");
	return 0;
}
