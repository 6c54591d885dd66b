/* test_http.c — the HTTP/1.1 client against scripted servers on 127.0.0.1 (RFC 9112 framing). */
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the scripted server, in a forked child ---- */

typedef void (*srv_fn)(int lfd, int rep);

struct srv {
	pid_t pid;
	int port;
	int rep; /* read end of the child's report pipe */
};

/* Starts fn in a child listening on 127.0.0.1 (or ::1 when v6); -1 if v6 is unavailable. */
static int
srv_start_af(struct srv *s, srv_fn fn, int v6)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	void *sa = v6 ? (void *)&a6 : (void *)&a;
	socklen_t al = v6 ? sizeof a6 : sizeof a;
	int lfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0), one = 1, pfd[2];

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (v6 && (lfd < 0 || bind(lfd, sa, al))) {
		close(lfd);
		return -1;
	}
	if (lfd < 0 || (!v6 && bind(lfd, sa, al)) || listen(lfd, 16) || getsockname(lfd, sa, &al) || pipe(pfd))
		utest_fail(__FILE__, __LINE__, "server setup: %s", strerror(errno));
	s->port = ntohs(v6 ? a6.sin6_port : a.sin_port);
	fflush(NULL);
	if ((s->pid = fork()) == 0) {
		/* Never outlive the test, even when a CHECK exits it early. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(20);
		signal(SIGPIPE, SIG_IGN);
		close(pfd[0]);
		fn(lfd, pfd[1]);
		_exit(0);
	}
	close(lfd);
	close(pfd[1]);
	s->rep = pfd[0];
	return 0;
}

static void
srv_start(struct srv *s, srv_fn fn)
{
	srv_start_af(s, fn, 0);
}

static void
srv_stop(struct srv *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0); /* the report pipe stays readable; the test process closes it */
}

/* What the server reported (up to n-1 bytes), after it exited or closed the pipe. */
static void
srv_report(struct srv *s, char *out, size_t n)
{
	size_t k = 0;
	ssize_t r;

	while (k + 1 < n && (r = read(s->rep, out + k, n - 1 - k)) > 0)
		k += (size_t)r;
	out[k] = 0;
}

struct sconn {
	int fd;
	struct buf in; /* received, not yet consumed */
};

static void
s_accept(int lfd, struct sconn *s)
{
	s->fd = accept(lfd, NULL, NULL);
	if (s->fd < 0)
		_exit(3);
	buf_reset(&s->in);
}

static int
s_fill(struct sconn *s)
{
	char tmp[65536];
	ssize_t n = read(s->fd, tmp, sizeof tmp);

	if (n > 0)
		buf_add(&s->in, tmp, (size_t)n);
	return n > 0;
}

static void
s_consume(struct sconn *s, size_t n)
{
	memmove(s->in.p, s->in.p + n, s->in.len - n);
	s->in.len -= n;
	s->in.p[s->in.len] = 0;
}

/* Reads a request head (through the blank line) into head; 0, or -1 at EOF. */
static int
s_head(struct sconn *s, struct buf *head)
{
	char *end;

	buf_reset(head);
	while (!s->in.p || !(end = memmem(s->in.p, s->in.len, "\r\n\r\n", 4)))
		if (!s_fill(s))
			return -1;
	buf_add(head, s->in.p, (size_t)(end - s->in.p) + 4);
	s_consume(s, head->len);
	return 0;
}

/* The value of a header in a request head, case-insensitive; NULL if absent. */
static const char *
s_hdr(const char *head, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (!strncasecmp(p + 2, name, n) && p[2 + n] == ':')
			return p + 3 + n + strspn(p + 3 + n, " ");
	return NULL;
}

static int
s_need(struct sconn *s, size_t n)
{
	while (s->in.len < n)
		if (!s_fill(s))
			return -1;
	return 0;
}

/* Reads the request body the head announces; raw gets its bytes as sent (chunk framing kept). */
static int
s_body(struct sconn *s, const char *head, struct buf *raw)
{
	const char *cl = s_hdr(head, "content-length"), *te = s_hdr(head, "transfer-encoding");
	size_t pos = 0;

	buf_reset(raw);
	if (te && !strncasecmp(te, "chunked", 7)) {
		for (;;) {
			char *nl;
			while (!s->in.p || !(nl = memmem(s->in.p + pos, s->in.len - pos, "\r\n", 2)))
				if (!s_fill(s))
					return -1;
			size_t size = strtoul(s->in.p + pos, NULL, 16);
			pos = (size_t)(nl - s->in.p) + 2;
			if (s_need(s, pos + size + 2))
				return -1;
			pos += size + 2; /* data and CRLF (or the final empty line) */
			if (!size)
				break;
		}
	} else if (cl) {
		pos = strtoul(cl, NULL, 10);
		if (s_need(s, pos))
			return -1;
	}
	buf_add(raw, s->in.p ? s->in.p : "", pos);
	if (pos)
		s_consume(s, pos);
	return 0;
}

static void
s_send(struct sconn *s, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t k = write(s->fd, c, n);
		if (k <= 0)
			return;
		c += k;
		n -= (size_t)k;
	}
}

static void
s_sends(struct sconn *s, const char *z)
{
	s_send(s, z, strlen(z));
}

/* "HTTP/1.1 STATUS" with Content-Length, extra header lines (each ending in CRLF) and body. */
static void
s_resp(struct sconn *s, const char *status, const char *extra, const void *body, size_t n)
{
	char h[512];

	snprintf(h, sizeof h, "HTTP/1.1 %s\r\nContent-Length: %zu\r\n%s\r\n", status, n, extra ? extra : "");
	s_sends(s, h);
	s_send(s, body, n);
}

static void
s_close(struct sconn *s)
{
	close(s->fd);
	s->fd = -1;
}

/* Closes with a TCP reset rather than a FIN. */
static void
s_reset(struct sconn *s)
{
	struct linger l = {1, 0};

	setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	s_close(s);
}

static void
rep(int fd, const char *z)
{
	if (write(fd, z, strlen(z)) < 0)
		_exit(4);
}

/* ---- the client side ---- */

static struct url U;

static void
setup(struct srv *s, srv_fn fn, struct http_pool *p)
{
	srv_start(s, fn);
	memset(&U, 0, sizeof U);
	snprintf(U.host, sizeof U.host, "127.0.0.1");
	U.port = s->port;
	http_pool_init(p, NULL);
}

static int
req(struct http_pool *p, const char *method, const char *target, const struct http_body *b, struct buf *out,
    struct http_resp *r, struct err *e)
{
	struct http_req q = {.method = method, .url = &U, .target = target, .body = b, .out = out,
			     .read_timeout_ms = 5000};
	return http_do(p, &q, r, e);
}

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
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};
	char got[4096], v[32];
	size_t n;

	setup(&s, srv_cl, &p);
	CHECK_INT(req(&p, "GET", "/a/b?x=1", NULL, &out, &r, &e), 0);
	CHECK_INT(r.status, 200);
	CHECK_INT(r.content_length, 5);
	CHECK_STR(out.p, "hello");
	CHECK_INT(e.sent, 1);
	const char *x = http_header(&r, "x-thing", &n);
	CHECK(x && n == 12 && !memcmp(x, "spaced value", 12));
	CHECK_INT(http_header_copy(&r, "X-THING", v, sizeof v), 0);
	CHECK_STR(v, "spaced value");
	CHECK_INT(http_header_copy(&r, "X-Thing", v, 5), -1); /* does not fit */
	CHECK(http_header(&r, "x-empty", &n) && n == 0);
	CHECK(!http_header(&r, "x-missing", &n));
	CHECK_INT(http_header_copy(&r, "x-missing", v, sizeof v), -1);
	http_resp_free(&r);
	http_pool_free(&p);
	srv_stop(&s);
	srv_report(&s, got, sizeof got);
	CHECK(!strncmp(got, "GET /a/b?x=1 HTTP/1.1\r\n", 23));
	CHECK(strstr(got, "\r\nHost: 127.0.0.1:"));
	CHECK(!strstr(got, "Content-Length")); /* a GET without a body has no framing */
	buf_free(&out);
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
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};

	setup(&s, srv_chunked, &p);
	for (int i = 0; i < 2; i++) {
		buf_reset(&out);
		CHECK_INT(req(&p, "GET", "/", NULL, &out, &r, &e), 0);
		CHECK_INT(r.status, 200);
		CHECK_INT(r.content_length, -1);
		CHECK_STR(out.p, "hello 0123456789");
		http_resp_free(&r);
	}
	/* The trailer was consumed: the second response came on the same connection. */
	CHECK_INT(p.connects, 1);
	http_pool_free(&p);
	srv_stop(&s);
	buf_free(&out);
}

static unsigned char
pat(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 9));
}

#define BIG (1 << 20)

static void
srv_big(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0};
	unsigned char *b = malloc(BIG);

	for (size_t i = 0; i < BIG; i++)
		b[i] = pat(i);
	s_accept(lfd, &s);
	s_head(&s, &h);
	s_resp(&s, "200 OK", NULL, b, BIG);
	s_head(&s, &h);
	/* The same bytes, chunked in uneven pieces. */
	s_sends(&s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (size_t off = 0, k = 1; off < BIG; k = k * 3 + 1) {
		size_t n = k % 40000 + 1;
		char line[32];
		if (n > BIG - off)
			n = BIG - off;
		snprintf(line, sizeof line, "%zx\r\n", n);
		s_sends(&s, line);
		s_send(&s, b + off, n);
		s_sends(&s, "\r\n");
		off += n;
	}
	s_sends(&s, "0\r\n\r\n");
	s_head(&s, &h);
	s_resp(&s, "200 OK", NULL, b, BIG);
	s_head(&s, &h);
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
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};

	setup(&s, srv_big, &p);
	for (int i = 0; i < 3; i++) {
		struct sinkst k = {0};
		struct http_req q = {.method = "GET", .url = &U, .target = "/", .sink = sink, .sink_ctx = &k};
		if (i == 2)
			k.abort_at = 100000;
		int rc = http_do(&p, &q, &r, &e);
		if (i == 2) {
			/* The sink's own error comes back as is. */
			CHECK_INT(rc, -1);
			CHECK_INT(e.kind, E_IO);
			CHECK_STR(e.msg, "sink says stop");
			CHECK(k.total < BIG);
			break;
		}
		CHECK_INT(rc, 0);
		CHECK_INT(k.status, 200);
		CHECK_INT(k.total, BIG);
		CHECK(!k.bad);
		/* Delivered as it arrives, through a bounded buffer (the connection's read buffer). */
		CHECK(k.calls > 1 && k.maxn <= 65536);
		http_resp_free(&r);
	}
	http_pool_free(&p);
	srv_stop(&s);
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
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};
	char want[64];
	static const char *const m[] = {"GET", "PUT", "POST", "DELETE", "GET"};

	setup(&s, srv_keepalive, &p);
	for (int i = 0; i < 5; i++) {
		struct http_body b = {"payload", 7, NULL, NULL, NULL};
		buf_reset(&out);
		CHECK_INT(req(&p, m[i], "/", i == 1 ? &b : NULL, &out, &r, &e), 0);
		snprintf(want, sizeof want, "#%d %s %d", i, m[i], i == 1 ? 7 : 0);
		CHECK_STR(out.p, want);
		http_resp_free(&r);
	}
	CHECK_INT(p.connects, 1);
	CHECK_INT(p.nidle, 1);
	http_pool_free(&p);
	srv_stop(&s);
	buf_free(&out);
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
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};

	setup(&s, srv_idle_close, &p);
	CHECK_INT(req(&p, "GET", "/", NULL, &out, &r, &e), 0);
	CHECK_STR(out.p, "one");
	http_resp_free(&r);
	usleep(100000);
	buf_reset(&out);
	/* A body that cannot be sent twice: the closed connection must be noticed before sending. */
	struct strbody sb = {"x", 0, 0, 0};
	struct http_body b = {NULL, 1, str_read, NULL, &sb};
	CHECK_INT(req(&p, "PUT", "/", &b, &out, &r, &e), 0);
	CHECK_STR(out.p, "two");
	CHECK_INT(sb.reads, 1);
	CHECK_INT(p.connects, 2);
	http_resp_free(&r);
	http_pool_free(&p);
	srv_stop(&s);
	buf_free(&out);
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
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};
	struct strbody sb = {"streamed body", 0, 0, 0};
	struct http_body b = {NULL, 13, str_read, str_rewind, &sb};

	setup(&s, srv_dead_reuse, &p);
	CHECK_INT(req(&p, "POST", "/", NULL, &out, &r, &e), 0);
	CHECK_STR(out.p, "first");
	http_resp_free(&r);
	buf_reset(&out);
	/* Sent on the reused connection, which dies: sent again on a new one, body rewound. */
	CHECK_INT(req(&p, "PUT", "/", &b, &out, &r, &e), 0);
	CHECK_STR(out.p, "streamed body");
	CHECK_INT(sb.rewinds, 1);
	CHECK_INT(p.connects, 2);
	http_resp_free(&r);
	/* Dies again, and so does the retry: one retry only, then the error. */
	CHECK_INT(req(&p, "GET", "/", NULL, &out, &r, &e), -1);
	CHECK_INT(e.kind, E_NET);
	CHECK_INT(e.sent, 1);
	CHECK_INT(p.connects, 3);
	/* A streamed body that cannot rewind is not sent twice. */
	buf_reset(&out);
	CHECK_INT(req(&p, "GET", "/", NULL, &out, &r, &e), 0);
	CHECK_STR(out.p, "fourth");
	http_resp_free(&r);
	struct http_body nb = {NULL, 13, str_read, NULL, &sb};
	sb.off = 0;
	CHECK_INT(req(&p, "PUT", "/", &nb, &out, &r, &e), -1);
	CHECK_INT(e.kind, E_NET);
	CHECK_INT(p.connects, 4);
	http_pool_free(&p);
	srv_stop(&s);
	buf_free(&out);
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
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};
	static const char *const want[] = {"bye", "until the end", "old", "tok", "last"};

	setup(&s, srv_close, &p);
	for (int i = 0; i < 5; i++) {
		buf_reset(&out);
		CHECK_INT(req(&p, "GET", "/", NULL, &out, &r, &e), 0);
		CHECK_STR(out.p, want[i]);
		CHECK_INT(p.connects, i + 1); /* each answer said the connection ends */
		CHECK_INT(p.nidle, i == 4);
		http_resp_free(&r);
	}
	CHECK_INT(r.content_length, 4);
	http_pool_free(&p);
	srv_stop(&s);
	buf_free(&out);
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
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};
	struct strbody sb = {"a body that waits", 0, 0, 0};
	struct http_body b = {NULL, 17, str_read, str_rewind, &sb};
	struct http_req q = {.method = "PUT", .url = &U, .target = "/", .body = &b, .out = &out,
			     .expect_continue = 1};
	char got[256];

	setup(&s, srv_expect, &p);
	double t0 = mono_now();
	CHECK_INT(http_do(&p, &q, &r, &e), 0);
	CHECK_INT(r.status, 200);
	CHECK_STR(out.p, "a body that waits");
	CHECK(mono_now() - t0 < 0.8); /* the 100 came at once: no waiting out the second */
	http_resp_free(&r);

	/* A final status first: the body stays unsent, the answer is returned. */
	sb.off = 0;
	sb.reads = 0;
	buf_reset(&out);
	CHECK_INT(http_do(&p, &q, &r, &e), 0);
	CHECK_INT(r.status, 403);
	CHECK_STR(out.p, "denied");
	CHECK_INT(sb.reads, 0);
	http_resp_free(&r);
	srv_report(&s, got, 20);
	CHECK_STR(got, "after 403: 0 bytes;");

	/* A server that ignores Expect: after about a second the body goes anyway. */
	sb.off = 0;
	buf_reset(&out);
	t0 = mono_now();
	CHECK_INT(http_do(&p, &q, &r, &e), 0);
	double dt = mono_now() - t0;
	CHECK(dt > 0.9 && dt < 3);
	CHECK_STR(out.p, "a body that waits");
	CHECK_INT(p.connects, 2);
	http_resp_free(&r);
	http_pool_free(&p);
	srv_stop(&s);
	buf_free(&out);
}

static void
srv_echo_raw(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0}, b = {0};

	s_accept(lfd, &s);
	while (!s_head(&s, &h)) {
		s_body(&s, h.p, &b);
		buf_add(&h, b.p, b.len);
		s_resp(&s, "200 OK", NULL, h.p, h.len); /* the whole request, as received */
	}
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
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0}, dec = {0}, want = {0};
	static const size_t sizes[] = {1, 70000, 3, 65536};
	struct piecebody pb = {sizes, 0, (int)COUNT(sizes), 0};
	struct http_body b = {NULL, -1, piece_read, NULL, &pb};

	setup(&s, srv_echo_raw, &p);
	CHECK_INT(req(&p, "PUT", "/up", &b, &out, &r, &e), 0);
	char *body = strstr(out.p, "\r\n\r\n");
	CHECK(body);
	*body = 0;
	body += 4;
	CHECK(strstr(out.p, "\r\nTransfer-Encoding: chunked"));
	CHECK(!strstr(out.p, "Content-Length"));
	CHECK_INT(unchunk(body, out.len - (size_t)(body - out.p), &dec), 0);
	for (size_t i = 0; i < COUNT(sizes); i++)
		for (size_t j = 0; j < sizes[i]; j++)
			buf_addc(&want, pat(j + i * 1000));
	CHECK_INT(dec.len, want.len);
	CHECK(!memcmp(dec.p, want.p, want.len));
	http_resp_free(&r);

	/* An in-memory body, and POST without a body: both with Content-Length. */
	struct http_body mb = {"0123456789", 10, NULL, NULL, NULL};
	buf_reset(&out);
	CHECK_INT(req(&p, "POST", "/m", &mb, &out, &r, &e), 0);
	CHECK(strstr(out.p, "\r\nContent-Length: 10\r\n"));
	CHECK(!strcmp(out.p + out.len - 14, "\r\n\r\n0123456789"));
	http_resp_free(&r);
	buf_reset(&out);
	CHECK_INT(req(&p, "POST", "/n", NULL, &out, &r, &e), 0);
	CHECK(strstr(out.p, "\r\nContent-Length: 0\r\n"));
	http_resp_free(&r);

	/* The caller's framing headers are dropped, its Host kept; line breaks are refused. */
	struct kv h[] = {{"Content-Length", "99"}, {"Host", "example.com"}, {"x-a", "b"}};
	struct http_req q = {.method = "GET", .url = &U, .target = "/h", .hdrs = h, .nhdrs = 3, .out = &out};
	buf_reset(&out);
	CHECK_INT(http_do(&p, &q, &r, &e), 0);
	CHECK(strstr(out.p, "\r\nHost: example.com\r\nx-a: b\r\n\r\n"));
	CHECK(!strstr(out.p, "Content-Length") && !strstr(out.p, "Host: 127"));
	http_resp_free(&r);
	struct kv bad[] = {{"x-a", "b\r\nx-injected: 1"}};
	q.hdrs = bad;
	q.nhdrs = 1;
	CHECK_INT(http_do(&p, &q, &r, &e), -1);
	CHECK_INT(e.kind, E_USAGE);
	CHECK_INT(e.sent, 0);
	CHECK_INT(p.connects, 1);
	http_pool_free(&p);
	srv_stop(&s);
	buf_free(&out);
	buf_free(&dec);
	buf_free(&want);
}

/* Each connection gets one scripted answer, raw. */
static const char *const broken[] = {
	"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",                    /* short */
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc",       /* EOF mid-chunk */
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n", /* EOF before 0 */
	"RESET",                                                                 /* reset, no answer */
	"",                                                                      /* closed, no answer */
	"HELLO WORLD\r\n\r\n",                                                   /* garbage */
	"HTTP/1.1 2000 OK\r\n\r\n",
	"HTTP/1.1 200OK\r\n\r\n",
	"HTTP/2 200\r\n\r\n",
	"HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n",
	"BIGHEAD",
	"RESETBODY",
};
static const struct {
	int kind;
	const char *msg;
} broken_want[] = {
	{E_NET, "connection closed after 3 of 10 bytes from 127.0.0.1:"},
	{E_NET, "connection closed after 3 bytes, in the middle of a chunked body"},
	{E_NET, "connection closed after 5 bytes, in the middle of a chunked body from 127.0.0.1:"},
	{E_NET, "Connection reset by peer"},
	{E_NET, "closed before a response"},
	{E_PROTO, "malformed status line from 127.0.0.1:"},
	{E_PROTO, "malformed status line"},
	{E_PROTO, "malformed status line"},
	{E_PROTO, "malformed status line"},
	{E_PROTO, "malformed header line"},
	{E_PROTO, "bad Content-Length"},
	{E_PROTO, "bad Content-Length"},
	{E_PROTO, "malformed chunk size"},
	{E_PROTO, "chunk from"},
	{E_PROTO, "malformed chunk size"},
	{E_PROTO, "response header (limit 64 KiB) from 127.0.0.1:"},
	{E_NET, "Connection reset by peer"},
};

static void
srv_broken(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0};

	for (size_t i = 0; i < COUNT(broken); i++) {
		s_accept(lfd, &s);
		s_head(&s, &h);
		if (!strcmp(broken[i], "RESET")) {
			s_reset(&s);
			continue;
		}
		if (!strcmp(broken[i], "BIGHEAD")) {
			s_sends(&s, "HTTP/1.1 200 OK\r\n");
			for (int k = 0; k < 700; k++)
				s_sends(&s, "X-Filler: 0123456789012345678901234567890123456789012345678901234567890123456789"
					    "01234567890123456789\r\n");
			s_sends(&s, "\r\n");
		} else if (!strcmp(broken[i], "RESETBODY")) {
			s_sends(&s, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nsome");
			usleep(50000);
			s_reset(&s);
			continue;
		} else {
			s_sends(&s, broken[i]);
		}
		usleep(20000);
		s_close(&s);
	}
	pause();
}

TEST(http_broken_responses)
{
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};

	setup(&s, srv_broken, &p);
	for (size_t i = 0; i < COUNT(broken); i++) {
		e = (struct err){0};
		if (req(&p, "GET", "/", NULL, &out, &r, &e) != -1) {
			utest_fail(__FILE__, __LINE__, "case %zu succeeded", i);
			return;
		}
		if (e.kind != broken_want[i].kind || !strstr(e.msg, broken_want[i].msg)) {
			utest_fail(__FILE__, __LINE__, "case %zu: kind %d: %s", i, e.kind, e.msg);
			return;
		}
		CHECK_INT(e.sent, 1);
		http_resp_free(&r);
	}
	CHECK_INT(p.connects, COUNT(broken)); /* nothing failed was kept */
	CHECK_INT(p.nidle, 0);
	http_pool_free(&p);
	srv_stop(&s);
	buf_free(&out);
}

static void
srv_stall(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0};

	s_accept(lfd, &s);
	s_head(&s, &h);
	s_sends(&s, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"); /* then nothing */
	s_accept(lfd, &s);
	s_head(&s, &h);
	pause();
}

TEST(http_read_timeout)
{
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};
	struct http_req q = {.method = "GET", .url = &U, .target = "/", .out = &out, .read_timeout_ms = 1000};
	char want[128];

	setup(&s, srv_stall, &p);
	for (int i = 0; i < 2; i++) {
		double t0 = mono_now();
		CHECK_INT(http_do(&p, &q, &r, &e), -1);
		double dt = mono_now() - t0;
		CHECK_INT(e.kind, E_TIMEOUT);
		snprintf(want, sizeof want, "timed out after 1.0 s reading from 127.0.0.1:%d", s.port);
		CHECK_STR(e.msg, want);
		CHECK(dt > 0.95 && dt < 1.8);
		CHECK_INT(err_exit_code(&e), EX_NET);
	}
	CHECK_INT(p.connects, 2);
	http_pool_free(&p);
	srv_stop(&s);
	buf_free(&out);
}

static void
srv_nobody(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0};

	s_accept(lfd, &s);
	s_head(&s, &h);
	/* HEAD: the length of what a GET would return, and no body. */
	s_sends(&s, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nETag: \"x\"\r\n\r\n");
	s_head(&s, &h);
	s_sends(&s, "HTTP/1.1 204 No Content\r\n\r\n");
	s_head(&s, &h);
	s_sends(&s, "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n");
	s_head(&s, &h);
	/* Informational answers before the final one are skipped. */
	s_sends(&s, "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	s_head(&s, &h);
}

TEST(http_no_body)
{
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};
	static const char *const m[] = {"HEAD", "DELETE", "GET", "GET"};
	static const int st[] = {200, 204, 304, 200};

	setup(&s, srv_nobody, &p);
	for (int i = 0; i < 4; i++) {
		buf_reset(&out);
		CHECK_INT(req(&p, m[i], "/", NULL, &out, &r, &e), 0);
		CHECK_INT(r.status, st[i]);
		CHECK_INT(out.len, i == 3 ? 2 : 0);
		if (i == 0)
			CHECK_INT(r.content_length, 1000);
		if (i == 3)
			CHECK(!http_header(&r, "link", NULL));
		http_resp_free(&r);
	}
	CHECK_INT(p.connects, 1);
	http_pool_free(&p);
	srv_stop(&s);
	buf_free(&out);
}

TEST(http_body_max)
{
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};
	struct http_req q = {.method = "GET", .url = &U, .target = "/", .out = &out, .max = 1000};

	setup(&s, srv_big, &p);
	/* A declared length above max is refused before any of the body is read. */
	CHECK_INT(http_do(&p, &q, &r, &e), -1);
	CHECK_INT(e.kind, E_PROTO);
	CHECK(strstr(e.msg, "more than the 1000 this call reads into memory"));
	CHECK_INT(out.len, 0);
	http_pool_free(&p);
	srv_stop(&s);
	buf_free(&out);
}

TEST(http_connect_refused)
{
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char want[128];

	/* A port that was just free: bound, never listening. */
	CHECK(!bind(fd, (void *)&a, sizeof a) && !getsockname(fd, (void *)&a, &al));
	memset(&U, 0, sizeof U);
	snprintf(U.host, sizeof U.host, "127.0.0.1");
	U.port = ntohs(a.sin_port);
	http_pool_init(&p, NULL);
	CHECK_INT(req(&p, "GET", "/", NULL, NULL, &r, &e), -1);
	CHECK_INT(e.kind, E_NET);
	CHECK_INT(e.sent, 0);
	snprintf(want, sizeof want, "connect 127.0.0.1:%d: Connection refused", U.port);
	CHECK_STR(e.msg, want);
	CHECK_INT(p.connects, 0);
	close(fd);
	http_pool_free(&p);
}

/* A server that reads the head, then resets while the client is still sending. */
static void
srv_reset_upload(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0};

	s_accept(lfd, &s);
	s_head(&s, &h);
	s_reset(&s);
	pause();
}

static long
zero_read(void *ctx, void *buf, size_t n, struct err *e)
{
	memset(buf, 0, n);
	return (long)n;
}

TEST(http_upload_reset_no_sigpipe)
{
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct http_body b = {NULL, (int64_t)64 << 20, zero_read, NULL, NULL};

	signal(SIGPIPE, SIG_DFL); /* a write to a reset socket must not kill us */
	setup(&s, srv_reset_upload, &p);
	CHECK_INT(req(&p, "PUT", "/", &b, NULL, &r, &e), -1);
	CHECK_INT(e.kind, E_NET);
	CHECK_INT(e.sent, 1);
	CHECK(strstr(e.msg, "127.0.0.1"));
	http_pool_free(&p);
	srv_stop(&s);
}

static void
srv_debug(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0}, b = {0};

	for (;; s_close(&s)) {
		s_accept(lfd, &s);
		while (!s_head(&s, &h)) {
			s_body(&s, h.p, &b);
			if (strstr(h.p, "/fail"))
				s_resp(&s, "403 Forbidden", "x-aws-ec2-metadata-token: tok-SECRET-3\r\n",
				       "<Error><Code>AccessDenied</Code></Error>", 40);
			else
				s_resp(&s, "200 OK", NULL, "ok-body-not-shown", 17);
		}
	}
}

static void
debug_client(void *arg)
{
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};
	int quiet = *(int *)arg;
	struct kv h[] = {
		{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
				  "SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"},
		{"X-Amz-Security-Token", "tok-SECRET-1"},
		{"x-aws-ec2-metadata-token", "tok-SECRET-2"},
		{"x-amz-date", "20150830T123600Z"},
	};
	struct http_body b = {"body-SECRET-4", 13, NULL, NULL, NULL};
	struct http_req q = {.method = "POST", .url = &U, .target = "/fail?X-Amz-Signature=sig-SECRET-5&a=b",
			     .hdrs = h, .nhdrs = 4, .body = &b, .out = &out, .quiet_body = quiet};

	g_debug = 1;
	http_pool_init(&p, NULL);
	if (http_do(&p, &q, &r, &e))
		exit(1);
	http_resp_free(&r);
	q.target = "/ok";
	h[0].v = "Bearer tok-SECRET-6";
	if (http_do(&p, &q, &r, &e))
		exit(1);
	http_resp_free(&r);
	http_pool_free(&p);
}

TEST(http_debug_redacts)
{
	struct srv s;
	struct http_pool p;
	char *err;
	int quiet = 0;

	setup(&s, srv_debug, &p);
	CHECK_INT(utest_exit_of(debug_client, &quiet, NULL, &err), 0);
	CHECK(strstr(err, "> POST /fail?X-Amz-Signature=<redacted>&a=b HTTP/1.1\n"));
	CHECK(strstr(err, "Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
			  "SignedHeaders=host;x-amz-date, Signature=<redacted>\n"));
	CHECK(strstr(err, "> x-amz-date: 20150830T123600Z\n"));
	CHECK(strstr(err, "< HTTP/1.1 403 Forbidden\n"));
	CHECK(strstr(err, "<Error><Code>AccessDenied</Code></Error>")); /* a non-2xx body is shown */
	CHECK(!strstr(err, "SECRET"));
	CHECK(!strstr(err, "5d672d79"));
	CHECK(!strstr(err, "ok-body-not-shown"));
	free(err);
	quiet = 1;
	CHECK_INT(utest_exit_of(debug_client, &quiet, NULL, &err), 0);
	CHECK(strstr(err, "< HTTP/1.1 403 Forbidden\n"));
	CHECK(!strstr(err, "AccessDenied"));
	CHECK(!strstr(err, "SECRET"));
	free(err);
	http_pool_free(&p);
	srv_stop(&s);
}

/* A plain-HTTP proxy: reports the request head it got and answers. */
static void
srv_proxy(int lfd, int r)
{
	struct sconn s = {0};
	struct buf h = {0};

	for (;;) {
		s_accept(lfd, &s);
		if (s_head(&s, &h))
			continue;
		rep(r, h.p);
		if (!strncmp(h.p, "CONNECT ", 8))
			s_sends(&s, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
		else
			s_resp(&s, "200 OK", NULL, "via proxy", 9);
		s_close(&s);
	}
}

TEST(http_proxy_env)
{
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};
	char got[4096], px[128];

	setup(&s, srv_proxy, &p);
	unsetenv("http_proxy");
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	snprintf(px, sizeof px, "http://us%%65r:p%%40ss:w@127.0.0.1:%d/", s.port);
	setenv("HTTP_PROXY", px, 1);
	snprintf(U.host, sizeof U.host, "origin.example");
	U.port = 8080;
	CHECK_INT(req(&p, "GET", "/path?q=1", NULL, &out, &r, &e), 0);
	CHECK_STR(out.p, "via proxy");
	http_resp_free(&r);
	/* The proxy got the absolute form and Basic credentials (base64 of "user:p@ss:w"). */
	http_pool_free(&p);
	srv_stop(&s);
	srv_report(&s, got, sizeof got);
	CHECK(!strncmp(got, "GET http://origin.example:8080/path?q=1 HTTP/1.1\r\n", 50));
	CHECK(strstr(got, "\r\nHost: origin.example:8080\r\n"));
	CHECK(strstr(got, "\r\nProxy-Authorization: Basic dXNlcjpwQHNzOnc=\r\n"));
	buf_free(&out);
}

TEST(http_proxy_connect_refused)
{
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	char got[4096], px[128], want[256];

	setup(&s, srv_proxy, &p);
	unsetenv("https_proxy");
	snprintf(px, sizeof px, "127.0.0.1:%d", s.port); /* no scheme: http:// */
	setenv("HTTPS_PROXY", px, 1);
	snprintf(U.host, sizeof U.host, "secure.example");
	U.port = 443;
	U.tls = 1;
	CHECK_INT(req(&p, "GET", "/", NULL, NULL, &r, &e), -1);
	CHECK_INT(e.kind, E_NET);
	snprintf(want, sizeof want, "proxy 127.0.0.1:%d refused CONNECT to secure.example:443: HTTP 407", s.port);
	CHECK_STR(e.msg, want);
	http_pool_free(&p);
	srv_stop(&s);
	srv_report(&s, got, sizeof got);
	CHECK_STR(got, "CONNECT secure.example:443 HTTP/1.1\r\nHost: secure.example:443\r\n\r\n");
}

TEST(http_no_proxy)
{
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};
	/* Matches for host 127.0.0.1 or localhost, as Python's urllib (botocore) decides; the proxy
	 * itself is a dead port. A "*." prefix is no wildcard there, and "*" counts only alone. */
	static const char *const bypass[] = {"*", "127.0.0.1", "other.example, 127.0.0.1", ".localhost", "localhost",
					     "LOCALHOST:%d"};
	static const char *const use[] = {"example.com", "calhost", "localhost:1", "127.0.0.2", "", "*.localhost",
					  "x,*"};
	char np[64];

	setup(&s, srv_nobody, &p);
	unsetenv("http_proxy");
	unsetenv("no_proxy");
	setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
	snprintf(U.host, sizeof U.host, "localhost");
	for (size_t i = 0; i < COUNT(bypass); i++) {
		snprintf(np, sizeof np, bypass[i], s.port);
		setenv("NO_PROXY", np, 1);
		snprintf(U.host, sizeof U.host, i < 3 ? "127.0.0.1" : "localhost");
		if (req(&p, "HEAD", "/", NULL, &out, &r, &e)) {
			utest_fail(__FILE__, __LINE__, "NO_PROXY=%s: %s", np, e.msg);
			return;
		}
		http_resp_free(&r);
		http_pool_free(&p);
		http_pool_init(&p, NULL);
		srv_stop(&s);
		srv_start(&s, srv_nobody);
		U.port = s.port;
	}
	for (size_t i = 0; i < COUNT(use); i++) {
		setenv("NO_PROXY", use[i], 1);
		CHECK_INT(req(&p, "HEAD", "/", NULL, &out, &r, &e), -1);
		CHECK(strstr(e.msg, "connect 127.0.0.1:1: Connection refused (proxy for localhost:"));
	}
	/* q->no_proxy wins over the environment. */
	struct http_req q = {.method = "HEAD", .url = &U, .target = "/", .no_proxy = 1};
	CHECK_INT(http_do(&p, &q, &r, &e), 0);
	http_resp_free(&r);
	/* Only http:// proxies. */
	setenv("HTTP_PROXY", "socks5://127.0.0.1:1080", 1);
	q.no_proxy = 0;
	CHECK_INT(http_do(&p, &q, &r, &e), -1);
	CHECK_INT(e.kind, E_USAGE);
	http_pool_free(&p);
	srv_stop(&s);
	buf_free(&out);
}

/* Serves any number of keep-alive connections, each in its own process. */
static void
srv_many(int lfd, int r)
{
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		struct sconn s = {0};
		struct buf h = {0}, b = {0};
		s_accept(lfd, &s);
		if (fork() == 0) {
			while (!s_head(&s, &h)) {
				s_body(&s, h.p, &b);
				s_resp(&s, "200 OK", NULL, b.p, b.len); /* echo */
			}
			_exit(0);
		}
		close(s.fd);
	}
}

struct thr {
	struct http_pool *p;
	int id, fails;
};

static void *
thr_main(void *arg)
{
	struct thr *t = arg;
	char body[64];

	for (int i = 0; i < 25; i++) {
		struct buf out = {0};
		struct http_resp r;
		struct err e = {0};
		snprintf(body, sizeof body, "thread %d request %d", t->id, i);
		struct http_body b = {body, (int64_t)strlen(body), NULL, NULL, NULL};
		if (req(t->p, "PUT", "/", &b, &out, &r, &e) || strcmp(out.p, body))
			t->fails++;
		http_resp_free(&r);
		buf_free(&out);
	}
	return NULL;
}

TEST(http_threads)
{
	struct srv s;
	struct http_pool p;
	struct thr t[6];
	pthread_t th[6];

	setup(&s, srv_many, &p);
	for (int i = 0; i < 6; i++) {
		t[i] = (struct thr){&p, i, 0};
		pthread_create(&th[i], NULL, thr_main, &t[i]);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(t[i].fails, 0);
	}
	/* Connections were shared through the pool, never more than one per thread at a time. */
	CHECK(p.connects >= 1 && p.connects <= 6);
	CHECK(p.nidle >= 1 && p.nidle <= 6);
	http_pool_free(&p);
	srv_stop(&s);
}

TEST(http_ipv6_literal)
{
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e = {0};
	struct buf out = {0};
	char want[64];

	if (srv_start_af(&s, srv_echo_raw, 1))
		return; /* no IPv6 loopback here */
	memset(&U, 0, sizeof U);
	snprintf(U.host, sizeof U.host, "::1");
	U.port = s.port;
	http_pool_init(&p, NULL);
	CHECK_INT(req(&p, "GET", "/v6", NULL, &out, &r, &e), 0);
	snprintf(want, sizeof want, "\r\nHost: [::1]:%d\r\n", s.port);
	CHECK(strstr(out.p, want));
	http_resp_free(&r);
	http_pool_free(&p);
	srv_stop(&s);
	buf_free(&out);
}
