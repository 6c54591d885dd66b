/* hserver.c — the scripted HTTP server of the http tests (hserver.h). */
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

/* ---- the scripted server, in a forked child ---- */

/* Starts fn in a child listening on 127.0.0.1 (or ::1 when v6); -1 if v6 is unavailable. */
int
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

void
srv_start(struct srv *s, srv_fn fn)
{
	srv_start_af(s, fn, 0);
}

void
srv_stop(struct srv *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0); /* the report pipe stays readable; the test process closes it */
}

/* What the server reported (up to n-1 bytes), after it exited or closed the pipe. */
void
srv_report(struct srv *s, char *out, size_t n)
{
	size_t k = 0;
	ssize_t r;

	while (k + 1 < n && (r = read(s->rep, out + k, n - 1 - k)) > 0)
		k += (size_t)r;
	out[k] = 0;
}

void
s_accept(int lfd, struct sconn *s)
{
	s->fd = accept(lfd, NULL, NULL);
	if (s->fd < 0)
		_exit(3);
	buf_reset(&s->in);
}

int
s_fill(struct sconn *s)
{
	char tmp[65536];
	ssize_t n = read(s->fd, tmp, sizeof tmp);

	if (n > 0)
		buf_add(&s->in, tmp, (size_t)n);
	return n > 0;
}

void
s_consume(struct sconn *s, size_t n)
{
	memmove(s->in.p, s->in.p + n, s->in.len - n);
	s->in.len -= n;
	s->in.p[s->in.len] = 0;
}

/* Reads a request head (through the blank line) into head; 0, or -1 at EOF. */
int
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
const char *
s_hdr(const char *head, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (!strncasecmp(p + 2, name, n) && p[2 + n] == ':')
			return p + 3 + n + strspn(p + 3 + n, " ");
	return NULL;
}

int
s_need(struct sconn *s, size_t n)
{
	while (s->in.len < n)
		if (!s_fill(s))
			return -1;
	return 0;
}

/* Reads the request body the head announces; raw gets its bytes as sent (chunk framing kept). */
int
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

void
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

void
s_sends(struct sconn *s, const char *z)
{
	s_send(s, z, strlen(z));
}

/* "HTTP/1.1 STATUS" with Content-Length, extra header lines (each ending in CRLF) and body. */
void
s_resp(struct sconn *s, const char *status, const char *extra, const void *body, size_t n)
{
	char h[512];

	snprintf(h, sizeof h, "HTTP/1.1 %s\r\nContent-Length: %zu\r\n%s\r\n", status, n, extra ? extra : "");
	s_sends(s, h);
	s_send(s, body, n);
}

void
s_close(struct sconn *s)
{
	close(s->fd);
	s->fd = -1;
}

/* Closes with a TCP reset rather than a FIN. */
void
s_reset(struct sconn *s)
{
	struct linger l = {1, 0};

	setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	s_close(s);
}

void
rep(int fd, const char *z)
{
	if (write(fd, z, strlen(z)) < 0)
		_exit(4);
}

/* ---- the client side ---- */

struct url U;

void
setup(struct srv *s, srv_fn fn, struct http_pool *p)
{
	srv_start(s, fn);
	memset(&U, 0, sizeof U);
	snprintf(U.host, sizeof U.host, "127.0.0.1");
	U.port = s->port;
	http_pool_init(p, NULL);
}

int
req(struct http_pool *p, const char *method, const char *target, const struct http_body *b, struct buf *out,
    struct http_resp *r, struct err *e)
{
	struct http_req q = {.method = method, .url = &U, .target = target, .body = b, .out = out,
			     .read_timeout_ms = 5000};
	return http_do(p, &q, r, e);
}

void
hs_start(struct hs *t, srv_fn fn)
{
	memset(t, 0, sizeof *t);
	setup(&t->s, fn, &t->p);
}

int
hs_req(struct hs *t, const char *method, const char *target, const struct http_body *b)
{
	return req(&t->p, method, target, b, &t->out, &t->r, &t->e);
}

void
hs_stop(struct hs *t)
{
	http_pool_free(&t->p);
	srv_stop(&t->s);
	buf_free(&t->out);
}

void
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

void
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

unsigned char
pat(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 9));
}
