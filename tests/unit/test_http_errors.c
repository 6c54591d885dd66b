/* test_http_errors.c — http.c against broken and hostile servers, timeouts, limits, proxies, threads
 * and IPv6 (the scripted server of hserver.c). */
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
	struct hs t;

	hs_start(&t, srv_broken);
	for (size_t i = 0; i < COUNT(broken); i++) {
		t.e = (struct err){0};
		if (hs_req(&t, "GET", "/", NULL) != -1) {
			utest_fail(__FILE__, __LINE__, "case %zu succeeded", i);
			return;
		}
		if (t.e.kind != broken_want[i].kind || !strstr(t.e.msg, broken_want[i].msg)) {
			utest_fail(__FILE__, __LINE__, "case %zu: kind %d: %s", i, t.e.kind, t.e.msg);
			return;
		}
		CHECK_INT(t.e.sent, 1);
		http_resp_free(&t.r);
	}
	CHECK_INT(t.p.connects, COUNT(broken)); /* nothing failed was kept */
	CHECK_INT(t.p.nidle, 0);
	hs_stop(&t);
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
	struct hs t;
	struct http_req q = {.method = "GET", .url = &U, .target = "/", .out = &t.out, .read_timeout_ms = 1000};
	char want[128];

	hs_start(&t, srv_stall);
	for (int i = 0; i < 2; i++) {
		double t0 = mono_now();
		CHECK_INT(http_do(&t.p, &q, &t.r, &t.e), -1);
		double dt = mono_now() - t0;
		CHECK_INT(t.e.kind, E_TIMEOUT);
		snprintf(want, sizeof want, "timed out after 1.0 s reading from 127.0.0.1:%d", t.s.port);
		CHECK_STR(t.e.msg, want);
		CHECK(dt > 0.95 && dt < 1.8);
		CHECK_INT(err_exit_code(&t.e), EX_NET);
	}
	CHECK_INT(t.p.connects, 2);
	hs_stop(&t);
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
	struct hs t;
	static const char *const m[] = {"HEAD", "DELETE", "GET", "GET"};
	static const int st[] = {200, 204, 304, 200};

	hs_start(&t, srv_nobody);
	for (int i = 0; i < 4; i++) {
		buf_reset(&t.out);
		CHECK_INT(hs_req(&t, m[i], "/", NULL), 0);
		CHECK_INT(t.r.status, st[i]);
		CHECK_INT(t.out.len, i == 3 ? 2 : 0);
		if (i == 0)
			CHECK_INT(t.r.content_length, 1000);
		if (i == 3)
			CHECK(!http_header(&t.r, "link", NULL));
		http_resp_free(&t.r);
	}
	CHECK_INT(t.p.connects, 1);
	hs_stop(&t);
}

TEST(http_body_max)
{
	struct hs t;
	struct http_req q = {.method = "GET", .url = &U, .target = "/", .out = &t.out, .max = 1000};

	hs_start(&t, srv_big);
	/* A declared length above max is refused before any of the body is read. */
	CHECK_INT(http_do(&t.p, &q, &t.r, &t.e), -1);
	CHECK_INT(t.e.kind, E_PROTO);
	CHECK(strstr(t.e.msg, "more than the 1000 this call reads into memory"));
	CHECK_INT(t.out.len, 0);
	hs_stop(&t);
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
	struct hs t;
	struct http_body b = {NULL, (int64_t)64 << 20, zero_read, NULL, NULL};

	signal(SIGPIPE, SIG_DFL); /* a write to a reset socket must not kill us */
	hs_start(&t, srv_reset_upload);
	CHECK_INT(req(&t.p, "PUT", "/", &b, NULL, &t.r, &t.e), -1);
	CHECK_INT(t.e.kind, E_NET);
	CHECK_INT(t.e.sent, 1);
	CHECK(strstr(t.e.msg, "127.0.0.1"));
	hs_stop(&t);
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
	struct hs t;
	char *err;
	int quiet = 0;

	hs_start(&t, srv_debug);
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
	hs_stop(&t);
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
	struct hs t;
	char got[4096], px[128];

	hs_start(&t, srv_proxy);
	unsetenv("http_proxy");
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	snprintf(px, sizeof px, "http://us%%65r:p%%40ss:w@127.0.0.1:%d/", t.s.port);
	setenv("HTTP_PROXY", px, 1);
	snprintf(U.host, sizeof U.host, "origin.example");
	U.port = 8080;
	CHECK_INT(hs_req(&t, "GET", "/path?q=1", NULL), 0);
	CHECK_STR(t.out.p, "via proxy");
	http_resp_free(&t.r);
	/* The proxy got the absolute form and Basic credentials (base64 of "user:p@ss:w"). */
	hs_stop(&t);
	srv_report(&t.s, got, sizeof got);
	CHECK(!strncmp(got, "GET http://origin.example:8080/path?q=1 HTTP/1.1\r\n", 50));
	CHECK(strstr(got, "\r\nHost: origin.example:8080\r\n"));
	CHECK(strstr(got, "\r\nProxy-Authorization: Basic dXNlcjpwQHNzOnc=\r\n"));
}

TEST(http_proxy_connect_refused)
{
	struct hs t;
	char got[4096], px[128], want[256];

	hs_start(&t, srv_proxy);
	unsetenv("https_proxy");
	snprintf(px, sizeof px, "127.0.0.1:%d", t.s.port); /* no scheme: http:// */
	setenv("HTTPS_PROXY", px, 1);
	snprintf(U.host, sizeof U.host, "secure.example");
	U.port = 443;
	U.tls = 1;
	CHECK_INT(req(&t.p, "GET", "/", NULL, NULL, &t.r, &t.e), -1);
	CHECK_INT(t.e.kind, E_NET);
	snprintf(want, sizeof want, "proxy 127.0.0.1:%d refused CONNECT to secure.example:443: HTTP 407", t.s.port);
	CHECK_STR(t.e.msg, want);
	hs_stop(&t);
	srv_report(&t.s, got, sizeof got);
	CHECK_STR(got, "CONNECT secure.example:443 HTTP/1.1\r\nHost: secure.example:443\r\n\r\n");
}

TEST(http_no_proxy)
{
	struct hs t;
	/* Matches for host 127.0.0.1 or localhost, as Python's urllib (botocore) decides; the proxy
	 * itself is a dead port. A "*." prefix is no wildcard there, and "*" counts only alone. */
	static const char *const bypass[] = {"*", "127.0.0.1", "other.example, 127.0.0.1", ".localhost", "localhost",
					     "LOCALHOST:%d"};
	static const char *const use[] = {"example.com", "calhost", "localhost:1", "127.0.0.2", "", "*.localhost",
					  "x,*"};
	char np[64];

	hs_start(&t, srv_nobody);
	unsetenv("http_proxy");
	unsetenv("no_proxy");
	setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
	snprintf(U.host, sizeof U.host, "localhost");
	for (size_t i = 0; i < COUNT(bypass); i++) {
		snprintf(np, sizeof np, bypass[i], t.s.port);
		setenv("NO_PROXY", np, 1);
		snprintf(U.host, sizeof U.host, i < 3 ? "127.0.0.1" : "localhost");
		if (hs_req(&t, "HEAD", "/", NULL)) {
			utest_fail(__FILE__, __LINE__, "NO_PROXY=%s: %s", np, t.e.msg);
			return;
		}
		http_resp_free(&t.r);
		http_pool_free(&t.p);
		http_pool_init(&t.p, NULL);
		srv_stop(&t.s);
		srv_start(&t.s, srv_nobody);
		U.port = t.s.port;
	}
	for (size_t i = 0; i < COUNT(use); i++) {
		setenv("NO_PROXY", use[i], 1);
		CHECK_INT(hs_req(&t, "HEAD", "/", NULL), -1);
		CHECK(strstr(t.e.msg, "connect 127.0.0.1:1: Connection refused (proxy for localhost:"));
	}
	/* q->no_proxy wins over the environment. */
	struct http_req q = {.method = "HEAD", .url = &U, .target = "/", .no_proxy = 1};
	CHECK_INT(http_do(&t.p, &q, &t.r, &t.e), 0);
	http_resp_free(&t.r);
	/* Only http:// proxies. */
	setenv("HTTP_PROXY", "socks5://127.0.0.1:1080", 1);
	q.no_proxy = 0;
	CHECK_INT(http_do(&t.p, &q, &t.r, &t.e), -1);
	CHECK_INT(t.e.kind, E_USAGE);
	hs_stop(&t);
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
