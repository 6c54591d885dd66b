/* test_http.c — the HTTP/1.1 client against scripted servers on 127.0.0.1 (RFC 9112 framing). */
#include "hserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- tests ---- */

static void
srv_cl(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0}, b = {0};

	s_accept(lfd, &s);
	s_head(&s, &h);
	s_body(&s, h.p, &b);
	rep(r, h.p);
	s_sends(&s, "HTTP/1.1 200 OK\r\nX-Thing:   spaced value \r\ncontent-length: 5\r\nX-Empty:\r\n\r\nhello");
	s_head(&s, &h); /* waits for the client to go away */
}

TEST(http_content_length)
{
	struct hs t;
	char got[4096], v[32];
	size_t n;

	hs_start(&t, srv_cl);
	CHECK_INT(hs_req(&t, "GET", "/a/b?x=1", NULL), 0);
	CHECK_INT(t.r.status, 200);
	CHECK_INT(t.r.content_length, 5);
	CHECK_STR(t.out.p, "hello");
	CHECK_INT(t.e.sent, 1);
	const char *x = http_header(&t.r, "x-thing", &n);
	CHECK(x && n == 12 && !memcmp(x, "spaced value", 12));
	CHECK_INT(http_header_copy(&t.r, "X-THING", v, sizeof v), 0);
	CHECK_STR(v, "spaced value");
	CHECK_INT(http_header_copy(&t.r, "X-Thing", v, 5), -1); /* does not fit */
	CHECK(http_header(&t.r, "x-empty", &n) && n == 0);
	CHECK(!http_header(&t.r, "x-missing", &n));
	CHECK_INT(http_header_copy(&t.r, "x-missing", v, sizeof v), -1);
	http_resp_free(&t.r);
	hs_stop(&t);
	srv_report(&t.s, got, sizeof got);
	CHECK(!strncmp(got, "GET /a/b?x=1 HTTP/1.1\r\n", 23));
	CHECK(strstr(got, "\r\nHost: 127.0.0.1:"));
	CHECK(!strstr(got, "Content-Length")); /* a GET without a body has no framing */
}

static void
srv_chunked(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0};
	/* Extensions, upper-case hex, a trailer; and bytes dribbled one at a time. */
	static const char resp[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "5;name=value\r\nhello\r\n"
				   "1 ; ext\r\n \r\n"
				   "A\r\n0123456789\r\n"
				   "0\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n";

	s_accept(lfd, &s);
	for (int i = 0; i < 2; i++) {
		s_head(&s, &h);
		for (size_t k = 0; k < sizeof resp - 1; k++) {
			s_send(&s, resp + k, 1);
			if (k % 7 == 0)
				usleep(1000);
		}
	}
	s_head(&s, &h);
}

TEST(http_chunked)
{
	struct hs t;

	hs_start(&t, srv_chunked);
	for (int i = 0; i < 2; i++) {
		buf_reset(&t.out);
		CHECK_INT(hs_req(&t, "GET", "/", NULL), 0);
		CHECK_INT(t.r.status, 200);
		CHECK_INT(t.r.content_length, -1);
		CHECK_STR(t.out.p, "hello 0123456789");
		http_resp_free(&t.r);
	}
	/* The trailer was consumed: the second response came on the same connection. */
	CHECK_INT(t.p.connects, 1);
	hs_stop(&t);
}

struct sinkst {
	size_t total, calls, maxn;
	int bad, status, abort_at;
};

static int
sink(void *ctx, const struct http_resp *r, const void *p, size_t n, struct err *e)
{
	struct sinkst *k = ctx;
	const unsigned char *b = p;

	k->status = r->status;
	for (size_t i = 0; i < n; i++)
		if (b[i] != pat(k->total + i))
			k->bad = 1;
	k->total += n;
	k->calls++;
	if (n > k->maxn)
		k->maxn = n;
	if (k->abort_at && k->total >= (size_t)k->abort_at)
		return err_set(e, E_IO, "sink says stop");
	return 0;
}

TEST(http_sink)
{
	struct hs t;

	hs_start(&t, srv_big);
	for (int i = 0; i < 3; i++) {
		struct sinkst k = {0};
		struct http_req q = {.method = "GET", .url = &U, .target = "/", .sink = sink, .sink_ctx = &k};
		if (i == 2)
			k.abort_at = 100000;
		int rc = http_do(&t.p, &q, &t.r, &t.e);
		if (i == 2) {
			/* The sink's own error comes back as is. */
			CHECK_INT(rc, -1);
			CHECK_INT(t.e.kind, E_IO);
			CHECK_STR(t.e.msg, "sink says stop");
			CHECK(k.total < BIG);
			break;
		}
		CHECK_INT(rc, 0);
		CHECK_INT(k.status, 200);
		CHECK_INT(k.total, BIG);
		CHECK(!k.bad);
		/* Delivered as it arrives, through a bounded buffer (the connection's read buffer). */
		CHECK(k.calls > 1 && k.maxn <= 65536);
		http_resp_free(&t.r);
	}
	hs_stop(&t);
}

static void
srv_keepalive(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0}, b = {0};
	char body[64];

	/* One connection only: a second accept would never come. */
	s_accept(lfd, &s);
	for (int i = 0; s_head(&s, &h) == 0; i++) {
		s_body(&s, h.p, &b);
		snprintf(body, sizeof body, "#%d %s %zu", i, strtok(h.p, " "), b.len);
		s_resp(&s, "200 OK", NULL, body, strlen(body));
	}
}

TEST(http_keepalive)
{
	struct hs t;
	char want[64];
	static const char *const m[] = {"GET", "PUT", "POST", "DELETE", "GET"};

	hs_start(&t, srv_keepalive);
	for (int i = 0; i < 5; i++) {
		struct http_body b = {"payload", 7, NULL, NULL, NULL};
		buf_reset(&t.out);
		CHECK_INT(hs_req(&t, m[i], "/", i == 1 ? &b : NULL), 0);
		snprintf(want, sizeof want, "#%d %s %d", i, m[i], i == 1 ? 7 : 0);
		CHECK_STR(t.out.p, want);
		http_resp_free(&t.r);
	}
	CHECK_INT(t.p.connects, 1);
	CHECK_INT(t.p.nidle, 1);
	hs_stop(&t);
}

struct strbody {
	const char *s;
	size_t off;
	int reads, rewinds;
};

static long
str_read(void *ctx, void *buf, size_t n, struct err *e)
{
	struct strbody *b = ctx;
	size_t left = strlen(b->s) - b->off;

	b->reads++;
	if (n > left)
		n = left;
	if (n > 3)
		n = 3; /* in small pieces */
	memcpy(buf, b->s + b->off, n);
	b->off += n;
	return (long)n;
}

static int
str_rewind(void *ctx)
{
	struct strbody *b = ctx;

	b->off = 0;
	b->rewinds++;
	return 0;
}

static void
srv_idle_close(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0};

	for (int i = 0; i < 2; i++) {
		s_accept(lfd, &s);
		s_head(&s, &h);
		s_resp(&s, "200 OK", NULL, i ? "two" : "one", 3);
		s_close(&s); /* an idle timeout on the server */
	}
	pause();
}

TEST(http_idle_closed)
{
	struct hs t;

	hs_start(&t, srv_idle_close);
	CHECK_INT(hs_req(&t, "GET", "/", NULL), 0);
	CHECK_STR(t.out.p, "one");
	http_resp_free(&t.r);
	usleep(100000);
	buf_reset(&t.out);
	/* A body that cannot be sent twice: the closed connection must be noticed before sending. */
	struct strbody sb = {"x", 0, 0, 0};
	struct http_body b = {NULL, 1, str_read, NULL, &sb};
	CHECK_INT(hs_req(&t, "PUT", "/", &b), 0);
	CHECK_STR(t.out.p, "two");
	CHECK_INT(sb.reads, 1);
	CHECK_INT(t.p.connects, 2);
	http_resp_free(&t.r);
	hs_stop(&t);
}

/* Takes the second request on a kept-alive connection, then closes without answering (the
 * race between a server's idle timeout and a new request). */
static void
srv_dead_reuse(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0}, b = {0};

	s_accept(lfd, &s); /* 1 */
	s_head(&s, &h);
	s_body(&s, h.p, &b);
	s_resp(&s, "200 OK", NULL, "first", 5);
	s_head(&s, &h);
	s_body(&s, h.p, &b);
	s_close(&s);
	s_accept(lfd, &s); /* 2: the retry */
	s_head(&s, &h);
	s_body(&s, h.p, &b);
	s_resp(&s, "200 OK", NULL, b.p, b.len);
	s_head(&s, &h);
	s_reset(&s); /* dies again, with a reset this time */
	s_accept(lfd, &s); /* 3: the retry fails too */
	s_head(&s, &h);
	s_reset(&s);
	s_accept(lfd, &s); /* 4 */
	s_head(&s, &h);
	s_resp(&s, "200 OK", NULL, "fourth", 6);
	s_head(&s, &h);
	s_body(&s, h.p, &b);
	s_close(&s);
	pause();
}

TEST(http_retry_dead_connection)
{
	struct hs t;
	struct strbody sb = {"streamed body", 0, 0, 0};
	struct http_body b = {NULL, 13, str_read, str_rewind, &sb};

	hs_start(&t, srv_dead_reuse);
	CHECK_INT(hs_req(&t, "POST", "/", NULL), 0);
	CHECK_STR(t.out.p, "first");
	http_resp_free(&t.r);
	buf_reset(&t.out);
	/* Sent on the reused connection, which dies: sent again on a new one, body rewound. */
	CHECK_INT(hs_req(&t, "PUT", "/", &b), 0);
	CHECK_STR(t.out.p, "streamed body");
	CHECK_INT(sb.rewinds, 1);
	CHECK_INT(t.p.connects, 2);
	http_resp_free(&t.r);
	/* Dies again, and so does the retry: one retry only, then the error. */
	CHECK_INT(hs_req(&t, "GET", "/", NULL), -1);
	CHECK_INT(t.e.kind, E_NET);
	CHECK_INT(t.e.sent, 1);
	CHECK_INT(t.p.connects, 3);
	/* A streamed body that cannot rewind is not sent twice. */
	buf_reset(&t.out);
	CHECK_INT(hs_req(&t, "GET", "/", NULL), 0);
	CHECK_STR(t.out.p, "fourth");
	http_resp_free(&t.r);
	struct http_body nb = {NULL, 13, str_read, NULL, &sb};
	sb.off = 0;
	CHECK_INT(hs_req(&t, "PUT", "/", &nb), -1);
	CHECK_INT(t.e.kind, E_NET);
	CHECK_INT(t.p.connects, 4);
	hs_stop(&t);
}

static void
srv_close(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0};

	s_accept(lfd, &s);
	s_head(&s, &h);
	s_resp(&s, "200 OK", "Connection: close\r\n", "bye", 3);
	s_accept(lfd, &s);
	s_head(&s, &h);
	/* No length: the body runs to the end of the connection. */
	s_sends(&s, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
	s_close(&s);
	s_accept(lfd, &s);
	s_head(&s, &h);
	/* HTTP/1.0 closes by default. */
	s_sends(&s, "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold");
	s_accept(lfd, &s);
	s_head(&s, &h);
	s_resp(&s, "200 OK", "Connection: keep-alive, Close\r\n", "tok", 3);
	s_accept(lfd, &s);
	s_head(&s, &h);
	s_resp(&s, "200 OK", NULL, "last", 4);
	s_head(&s, &h);
}

TEST(http_connection_close)
{
	struct hs t;
	static const char *const want[] = {"bye", "until the end", "old", "tok", "last"};

	hs_start(&t, srv_close);
	for (int i = 0; i < 5; i++) {
		buf_reset(&t.out);
		CHECK_INT(hs_req(&t, "GET", "/", NULL), 0);
		CHECK_STR(t.out.p, want[i]);
		CHECK_INT(t.p.connects, i + 1); /* each answer said the connection ends */
		CHECK_INT(t.p.nidle, i == 4);
		http_resp_free(&t.r);
	}
	CHECK_INT(t.r.content_length, 4);
	hs_stop(&t);
}

/* 100-continue: answers 100 and echoes the body; then refuses one before its body; then
 * ignores Expect altogether. Reports how many body bytes came with the refused request. */
static void
srv_expect(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0}, b = {0};
	char msg[64];

	s_accept(lfd, &s);
	s_head(&s, &h);
	if (!s_hdr(h.p, "expect") || strncasecmp(s_hdr(h.p, "expect"), "100-continue\r\n", 14) || s.in.len)
		_exit(5); /* the body must wait for the 100 */
	s_sends(&s, "HTTP/1.1 100 Continue\r\n\r\n");
	s_body(&s, h.p, &b);
	s_resp(&s, "200 OK", NULL, b.p, b.len);

	s_head(&s, &h);
	s_resp(&s, "403 Forbidden", NULL, "denied", 6);
	/* The client must neither send the body nor reuse this connection. */
	struct timeval tv = {1, 500000};
	setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	while (s_fill(&s))
		;
	snprintf(msg, sizeof msg, "after 403: %zu bytes;", s.in.len);
	rep(r, msg);
	s_close(&s);

	s_accept(lfd, &s);
	s_head(&s, &h);
	s_body(&s, h.p, &b);
	s_resp(&s, "200 OK", NULL, b.p, b.len);
	s_head(&s, &h);
}

TEST(http_expect_continue)
{
	struct hs t;
	struct strbody sb = {"a body that waits", 0, 0, 0};
	struct http_body b = {NULL, 17, str_read, str_rewind, &sb};
	struct http_req q = {.method = "PUT", .url = &U, .target = "/", .body = &b, .out = &t.out,
			     .expect_continue = 1};
	char got[256];

	hs_start(&t, srv_expect);
	double t0 = mono_now();
	CHECK_INT(http_do(&t.p, &q, &t.r, &t.e), 0);
	CHECK_INT(t.r.status, 200);
	CHECK_STR(t.out.p, "a body that waits");
	CHECK(mono_now() - t0 < 0.8); /* the 100 came at once: no waiting out the second */
	http_resp_free(&t.r);

	/* A final status first: the body stays unsent, the answer is returned. */
	sb.off = 0;
	sb.reads = 0;
	buf_reset(&t.out);
	CHECK_INT(http_do(&t.p, &q, &t.r, &t.e), 0);
	CHECK_INT(t.r.status, 403);
	CHECK_STR(t.out.p, "denied");
	CHECK_INT(sb.reads, 0);
	http_resp_free(&t.r);
	srv_report(&t.s, got, 20);
	CHECK_STR(got, "after 403: 0 bytes;");

	/* A server that ignores Expect: after about a second the body goes anyway. */
	sb.off = 0;
	buf_reset(&t.out);
	t0 = mono_now();
	CHECK_INT(http_do(&t.p, &q, &t.r, &t.e), 0);
	double dt = mono_now() - t0;
	CHECK(dt > 0.9 && dt < 3);
	CHECK_STR(t.out.p, "a body that waits");
	CHECK_INT(t.p.connects, 2);
	http_resp_free(&t.r);
	hs_stop(&t);
}

struct piecebody {
	const size_t *sizes;
	int i, n;
	size_t off;
};

static long
piece_read(void *ctx, void *buf, size_t n, struct err *e)
{
	struct piecebody *b = ctx;
	size_t k;

	if (b->i == b->n)
		return 0;
	k = b->sizes[b->i] - b->off;
	if (k > n)
		k = n;
	for (size_t j = 0; j < k; j++)
		((unsigned char *)buf)[j] = pat(b->off + j + (size_t)b->i * 1000);
	b->off += k;
	if (b->off == b->sizes[b->i])
		b->i++, b->off = 0;
	return (long)k;
}

/* Decodes a chunked body per RFC 9112 7.1; -1 if malformed. */
static int
unchunk(const char *p, size_t n, struct buf *out)
{
	size_t pos = 0;

	for (;;) {
		char *end;
		const char *nl = memmem(p + pos, n - pos, "\r\n", 2);
		if (!nl)
			return -1;
		unsigned long size = strtoul(p + pos, &end, 16);
		if (end != nl)
			return -1;
		pos = (size_t)(nl - p) + 2;
		if (!size)
			return pos + 2 == n && !memcmp(p + pos, "\r\n", 2) ? 0 : -1;
		if (pos + size + 2 > n || memcmp(p + pos + size, "\r\n", 2))
			return -1;
		buf_add(out, p + pos, size);
		pos += size + 2;
	}
}

TEST(http_chunked_request)
{
	struct hs t;
	struct buf dec = {0}, want = {0};
	static const size_t sizes[] = {1, 70000, 3, 65536};
	struct piecebody pb = {sizes, 0, (int)COUNT(sizes), 0};
	struct http_body b = {NULL, -1, piece_read, NULL, &pb};

	hs_start(&t, srv_echo_raw);
	CHECK_INT(hs_req(&t, "PUT", "/up", &b), 0);
	char *body = strstr(t.out.p, "\r\n\r\n");
	CHECK(body);
	*body = 0;
	body += 4;
	CHECK(strstr(t.out.p, "\r\nTransfer-Encoding: chunked"));
	CHECK(!strstr(t.out.p, "Content-Length"));
	CHECK_INT(unchunk(body, t.out.len - (size_t)(body - t.out.p), &dec), 0);
	for (size_t i = 0; i < COUNT(sizes); i++)
		for (size_t j = 0; j < sizes[i]; j++)
			buf_addc(&want, pat(j + i * 1000));
	CHECK_INT(dec.len, want.len);
	CHECK(!memcmp(dec.p, want.p, want.len));
	http_resp_free(&t.r);

	/* An in-memory body, and POST without a body: both with Content-Length. */
	struct http_body mb = {"0123456789", 10, NULL, NULL, NULL};
	buf_reset(&t.out);
	CHECK_INT(hs_req(&t, "POST", "/m", &mb), 0);
	CHECK(strstr(t.out.p, "\r\nContent-Length: 10\r\n"));
	CHECK(!strcmp(t.out.p + t.out.len - 14, "\r\n\r\n0123456789"));
	http_resp_free(&t.r);
	buf_reset(&t.out);
	CHECK_INT(hs_req(&t, "POST", "/n", NULL), 0);
	CHECK(strstr(t.out.p, "\r\nContent-Length: 0\r\n"));
	http_resp_free(&t.r);

	/* The caller's framing headers are dropped, its Host kept; line breaks are refused. */
	struct kv h[] = {{"Content-Length", "99"}, {"Host", "example.com"}, {"x-a", "b"}};
	struct http_req q = {.method = "GET", .url = &U, .target = "/h", .hdrs = h, .nhdrs = 3, .out = &t.out};
	buf_reset(&t.out);
	CHECK_INT(http_do(&t.p, &q, &t.r, &t.e), 0);
	CHECK(strstr(t.out.p, "\r\nHost: example.com\r\nx-a: b\r\n\r\n"));
	CHECK(!strstr(t.out.p, "Content-Length") && !strstr(t.out.p, "Host: 127"));
	http_resp_free(&t.r);
	struct kv bad[] = {{"x-a", "b\r\nx-injected: 1"}};
	q.hdrs = bad;
	q.nhdrs = 1;
	CHECK_INT(http_do(&t.p, &q, &t.r, &t.e), -1);
	CHECK_INT(t.e.kind, E_USAGE);
	CHECK_INT(t.e.sent, 0);
	CHECK_INT(t.p.connects, 1);
	hs_stop(&t);
	buf_free(&dec);
	buf_free(&want);
}
