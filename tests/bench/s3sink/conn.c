/* The sink's connections: plain TCP or TLS (OpenSSL), with a read buffer; the counters
 * GET /stats reports. */
#include "sink.h"
#include <sys/sendfile.h>
#include <sys/socket.h>

struct stats st;
const char *const opnames[] = {"PutObject", "UploadPart", "CreateMultipartUpload", "CompleteMultipartUpload",
			       "AbortMultipartUpload", "GetObject", "HeadObject", "ListObjectsV2",
			       "DeleteObject", "CreateBucket", "HeadBucket", "other"};


void
count_op(int op)
{
	__atomic_add_fetch(&st.ops[op], 1, __ATOMIC_RELAXED);
}

static ssize_t
io_raw_read(struct io *c, void *p, size_t n)
{
	if (c->ssl) {
		size_t got = 0;
		if (SSL_read_ex(c->ssl, p, n, &got) <= 0)
			return -1;
		return (ssize_t)got;
	}
	for (;;) {
		ssize_t k = recv(c->fd, p, n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		return k <= 0 ? -1 : k;
	}
}

/* Up to n bytes: buffered ones first; large reads go straight to the caller's memory. */
ssize_t
io_read(struct io *c, void *p, size_t n)
{
	ssize_t k;

	if (c->rpos < c->rlen) {
		size_t m = c->rlen - c->rpos < n ? c->rlen - c->rpos : n;
		memcpy(p, c->rb + c->rpos, m);
		c->rpos += m;
		k = (ssize_t)m;
	} else if (n >= 16384) {
		k = io_raw_read(c, p, n);
	} else {
		c->rpos = c->rlen = 0;
		if ((k = io_raw_read(c, c->rb, IOBUF)) <= 0)
			return -1;
		c->rlen = (size_t)k;
		return io_read(c, p, n);
	}
	if (k > 0)
		__atomic_add_fetch(&st.bytes_in, (unsigned long long)k, __ATOMIC_RELAXED);
	return k;
}

/* One line without its CRLF (or LF) into line (at most max-1 bytes); -1 on EOF or overlong. */
int
io_line(struct io *c, char *line, size_t max)
{
	size_t n = 0;

	for (;;) {
		if (c->rpos == c->rlen) {
			ssize_t k;
			c->rpos = c->rlen = 0;
			if ((k = io_raw_read(c, c->rb, IOBUF)) <= 0)
				return -1;
			c->rlen = (size_t)k;
			__atomic_add_fetch(&st.bytes_in, (unsigned long long)k, __ATOMIC_RELAXED);
		}
		int r = line_scan(c->rb, &c->rpos, c->rlen, line, &n, max);
		if (r)
			return r < 0 ? -1 : (int)n;
	}
}

/* Moves buf[*pos..len) into line (holding *n bytes, at most max-1) up to a LF: 1 once the line
 * ends (its CRLF or LF dropped, *n its length), 0 if it goes on, -1 if it is too long. */
int
line_scan(const char *buf, size_t *pos, size_t len, char *line, size_t *n, size_t max)
{
	while (*pos < len) {
		char ch = buf[(*pos)++];
		if (ch == '\n') {
			if (*n && line[*n - 1] == '\r')
				(*n)--;
			line[*n] = 0;
			return 1;
		}
		if (*n + 1 >= max)
			return -1;
		line[(*n)++] = ch;
	}
	return 0;
}

int
io_write(struct io *c, const void *p, size_t n)
{
	const char *s = p;

	__atomic_add_fetch(&st.bytes_out, (unsigned long long)n, __ATOMIC_RELAXED);
	while (n) {
		if (c->ssl) {
			size_t w = 0;
			if (SSL_write_ex(c->ssl, s, n, &w) <= 0)
				return -1;
			s += w, n -= w;
		} else {
			ssize_t k = send(c->fd, s, n, MSG_NOSIGNAL);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return -1;
			s += k, n -= (size_t)k;
		}
	}
	return 0;
}

/* n bytes of file fd from off: sendfile over plain TCP, pread + SSL_write over TLS. */
int
io_sendfile(struct io *c, int fd, off_t off, int64_t n, char *buf)
{
	__atomic_add_fetch(&st.bytes_out, (unsigned long long)n, __ATOMIC_RELAXED);
	while (n > 0) {
		if (!c->ssl) {
			ssize_t k = sendfile(c->fd, fd, &off, n > (1 << 30) ? 1 << 30 : (size_t)n);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return -1;
			n -= k;
			continue;
		}
		ssize_t k = pread(fd, buf, n > IOBUF ? IOBUF : (size_t)n, off);
		if (k <= 0)
			return -1;
		size_t w = 0;
		for (size_t done = 0; done < (size_t)k; done += w)
			if (SSL_write_ex(c->ssl, buf + done, (size_t)k - done, &w) <= 0)
				return -1;
		off += k, n -= k;
	}
	return 0;
}
