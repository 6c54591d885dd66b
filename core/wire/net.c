/* net.c — TCP sockets with connect, read and write timeouts (POSIX sockets, getaddrinfo: RFC 3493). */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* "host:port", with an IPv6 literal in brackets. */
static void
hostport(char *out, size_t n, const char *host, int port)
{
	snprintf(out, n, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

/* Waits until fd is ready for ev, up to ms (< 0: for ever). 1 ready, 0 timed out, -1 error. */
static int
wait_fd(int fd, short ev, int ms)
{
	double end = mono_now() + ms / 1000.0;
	struct pollfd pfd = {.fd = fd, .events = ev};

	for (;;) {
		int left = ms < 0 ? -1 : (int)((end - mono_now()) * 1000.0 + 0.999);
		if (ms >= 0 && left < 0)
			left = 0;
		int r = poll(&pfd, 1, left);
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Tries one address: 0 connected, -1 with errno set (ETIMEDOUT for our own timeout). */
static int
connect_one(const struct addrinfo *ai, int timeout_ms, int *fdp)
{
	int fd, one = 1, soerr = 0, r;
	socklen_t len = sizeof soerr;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	/* Requests are written whole; do not let Nagle hold back the last segment. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto done;
	if (errno != EINPROGRESS)
		goto fail;
	r = wait_fd(fd, POLLOUT, timeout_ms);
	if (r <= 0) {
		if (r == 0)
			errno = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		goto fail;
	if (soerr) {
		/* A kernel ETIMEDOUT is a real network error, not our timeout. */
		errno = soerr == ETIMEDOUT ? EHOSTUNREACH : soerr;
		goto fail;
	}
done:
	*fdp = fd;
	return 0;
fail:
	r = errno;
	close(fd);
	errno = r;
	return -1;
}

int
net_connect(struct conn *c, const char *host, int port, int timeout_ms, struct err *e)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	char svc[16], hp[300];
	int r, last = ECONNREFUSED, timedout = 0;

	c->fd = -1;
	c->eof = 0;
	c->rpos = c->rlen = 0;
	hostport(hp, sizeof hp, host, port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* No AI_ADDRCONFIG: it can hide loopback in a container with no other address; an
	 * unreachable family fails fast and the next address is tried. */
	snprintf(svc, sizeof svc, "%d", port);
	r = getaddrinfo(host, svc, &hints, &res);
	if (r)
		return err_set(e, E_NET, "resolve %s: %s", host, r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	/* Each address gets the whole timeout: a black-holed IPv6 route must not starve IPv4. */
	for (ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (connect_one(ai, timeout_ms, &c->fd) == 0)
			break;
		last = errno;
		if (last == ETIMEDOUT)
			timedout = 1;
	}
	freeaddrinfo(res);
	if (c->fd >= 0)
		return 0;
	if (timedout)
		return err_set(e, E_TIMEOUT, "timed out after %.1f s connecting to %s", timeout_ms / 1000.0, hp);
	return err_set(e, E_NET, "connect %s: %s", hp, strerror(last));
}

/* c's deadline (conn_deadline, httpread.c, sets it) has passed. */
static int
deadline_err(struct conn *c, struct err *e)
{
	if (!c->deadline_got)
		return err_set(e, E_TIMEOUT, "timed out after %.1f s reading from %s", c->deadline_s, c->peer);
	if (c->paced)
		return err_set(e, E_TIMEOUT, "timed out reading from %s: the response came slower than %.0f bytes/s "
			       "after the first %.1f s", c->peer, HTTP_MIN_RATE, c->deadline_s);
	return err_set(e, E_TIMEOUT, "timed out reading from %s: the response was not complete within %.1f s",
		       c->peer, c->deadline_s);
}

long
net_read(struct conn *c, void *p, size_t n, struct err *e)
{
	for (;;) {
		/* Checked before reading too: bytes that never stop coming (1xx answers, a body
		 * without end) must not keep a call past its deadline. */
		if (c->deadline > 0 && mono_now() >= c->deadline)
			return deadline_err(c, e);
		ssize_t k = recv(c->fd, p, n, 0);
		if (k >= 0) {
			if (k == 0)
				c->eof = 1;
			c->deadline_got += (size_t)k;
			if (c->paced && c->deadline > 0) {
				c->deadline += (double)k / HTTP_MIN_RATE;
				if (c->end > 0 && c->deadline > c->end)
					c->deadline = c->end;
			}
			return (long)k;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return err_set(e, E_NET, "read from %s: %s", c->peer, strerror(errno));
		int ms = c->timeout_ms, late = 0;
		if (c->deadline > 0) {
			double left = c->deadline - mono_now();
			if (left * 1000 < ms) {
				ms = left > 0 ? (int)(left * 1000) + 1 : 0;
				late = 1;
			}
		}
		int r = ms ? wait_fd(c->fd, POLLIN, ms) : 0;
		if (r == 0 && late)
			return deadline_err(c, e);
		if (r == 0)
			return err_set(e, E_TIMEOUT, "timed out after %.1f s reading from %s", c->timeout_ms / 1000.0,
				       c->peer);
		if (r < 0)
			return err_set(e, E_NET, "read from %s: %s", c->peer, strerror(errno));
	}
}

int
net_write(struct conn *c, const void *p, size_t n, struct err *e)
{
	const char *s = p;

	while (n) {
		/* MSG_NOSIGNAL: a peer that went away is an error to report, not SIGPIPE. */
		ssize_t k = send(c->fd, s, n, MSG_NOSIGNAL);
		if (k > 0) {
			s += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return err_set(e, E_NET, "write to %s: %s", c->peer, strerror(errno));
		int r = wait_fd(c->fd, POLLOUT, c->timeout_ms);
		if (r == 0)
			return err_set(e, E_TIMEOUT, "timed out after %.1f s writing to %s", c->timeout_ms / 1000.0,
				       c->peer);
		if (r < 0)
			return err_set(e, E_NET, "write to %s: %s", c->peer, strerror(errno));
	}
	return 0;
}

int
net_wait(struct conn *c, int ms, struct err *e)
{
	int r = wait_fd(c->fd, POLLIN, ms);

	if (r < 0)
		return err_set(e, E_NET, "read from %s: %s", c->peer, strerror(errno));
	return r;
}

int
net_idle_dead(struct conn *c)
{
	/* Nothing may arrive on an idle HTTP/1.1 connection: readable means EOF, reset or junk. */
	return c->fd < 0 || wait_fd(c->fd, POLLIN, 0) != 0;
}

void
net_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
