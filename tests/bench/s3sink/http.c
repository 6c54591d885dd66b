/* HTTP/1.1 requests (line, headers, query), bodies (Content-Length, chunked, aws-chunked)
 * and responses (S3's XML errors). */
#include "sink.h"
#include <stdarg.h>

const char *
hget(const struct req *q, const char *k)
{
	for (int i = 0; i < q->nh; i++)
		if (!strcasecmp(q->h[i].k, k))
			return q->h[i].v;
	return NULL;
}

static int
hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* %XX-decodes s[0..n) into out (size max); -1 if bad or too long. */
static int
pct_decode(const char *s, size_t n, char *out, size_t max)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
			if (a < 0 || b < 0)
				return -1;
			c = a * 16 + b;
			i += 2;
		}
		if (o + 1 >= max)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return (int)o;
}

/* Query parameter name's decoded value into out; 1 found, 0 absent. "name" alone gives "". */
int
qget(const struct req *q, const char *name, char *out, size_t max)
{
	const char *s = q->query;
	size_t nl = strlen(name);

	while (*s) {
		size_t n = strcspn(s, "&");
		const char *eq = memchr(s, '=', n);
		size_t kn = eq ? (size_t)(eq - s) : n;
		if (kn == nl && !memcmp(s, name, nl)) {
			if (!eq) {
				out[0] = 0;
				return 1;
			}
			return pct_decode(eq + 1, n - kn - 1, out, max) >= 0;
		}
		s += n + (s[n] == '&');
	}
	return 0;
}

/* Reads the request line and headers; 0 ok, -1 on EOF or garbage. */
int
req_read(struct io *c, struct req *q)
{
	int n;

	memset(q->method, 0, sizeof q->method);
	q->path[0] = 0;
	q->hbn = 0;
	q->nh = 0;
	q->clen = -1;
	q->chunked = q->aws_chunked = q->close = q->body_done = 0;
	do {
		if ((n = io_line(c, q->line, sizeof q->line)) < 0)
			return -1;
	} while (n == 0); /* tolerate stray CRLFs between requests */
	char *sp1 = strchr(q->line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || (size_t)(sp1 - q->line) >= sizeof q->method)
		return -1;
	memcpy(q->method, q->line, (size_t)(sp1 - q->line));
	*sp2 = 0;
	char *target = sp1 + 1, *qm = strchr(target, '?');
	q->query = qm ? qm + 1 : sp2; /* sp2 now points at "" */
	if (pct_decode(target, qm ? (size_t)(qm - target) : strlen(target), q->path, sizeof q->path) < 0)
		return -1;
	if (strncmp(sp2 + 1, "HTTP/1.1", 8))
		q->close = 1;
	for (;;) {
		char *l = q->hb + q->hbn;
		size_t room = sizeof q->hb - q->hbn;
		if (room < 2 || (n = io_line(c, l, room)) < 0)
			return -1;
		if (n == 0)
			break;
		q->hbn += (size_t)n + 1;
		char *colon = strchr(l, ':');
		if (!colon || q->nh == MAXHDR)
			return -1;
		*colon = 0;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		for (char *e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = 0;
		q->h[q->nh].k = l;
		q->h[q->nh++].v = v;
	}
	const char *v;
	if ((v = hget(q, "content-length")))
		q->clen = strtoll(v, NULL, 10);
	if ((v = hget(q, "transfer-encoding")) && strcasestr(v, "chunked"))
		q->chunked = 1;
	if ((v = hget(q, "content-encoding")) && strcasestr(v, "aws-chunked"))
		q->aws_chunked = 1;
	if ((v = hget(q, "connection")) && strcasestr(v, "close"))
		q->close = 1;
	if (!q->chunked && q->clen < 0)
		q->clen = 0;
	return 0;
}

static ssize_t t_read(struct body *b, void *p, size_t n);

/* Layer 1 (aws-chunked) reads lines and bytes from layer 0 through lb. */
static ssize_t
l1_read(struct body *b, void *p, size_t n)
{
	if (b->lpos < b->llen) {
		size_t m = b->llen - b->lpos < n ? b->llen - b->lpos : n;
		memcpy(p, b->lb + b->lpos, m);
		b->lpos += m;
		return (ssize_t)m;
	}
	return t_read(b, p, n);
}

static int
l1_line(struct body *b, char *line, size_t max)
{
	size_t n = 0;

	for (;;) {
		if (b->lpos == b->llen) {
			ssize_t k = t_read(b, b->lb, 65536);
			if (k <= 0)
				return -1;
			b->lpos = 0;
			b->llen = (size_t)k;
		}
		int r = line_scan(b->lb, &b->lpos, b->llen, line, &n, max);
		if (r)
			return r < 0 ? -1 : (int)n;
	}
}

/* Chunk framing over layer 0 (the connection) or 1 (the transfer-decoded body). */
static ssize_t
framed_read(struct body *b, struct framing *f, int layer, void *p, size_t n)
{
	char line[4096];
	ssize_t k;

#define LINE() (layer ? l1_line(b, line, sizeof line) : io_line(b->c, line, sizeof line))
	if (f->eof)
		return 0;
	if (f->chunk == 0) {
		if (f->started && LINE() != 0)
			return -1; /* the CRLF after a chunk's data */
		f->started = 1;
		if (LINE() <= 0)
			return -1;
		char *end;
		long long sz = strtoll(line, &end, 16);
		if (end == line || sz < 0 || (*end && *end != ';'))
			return -1;
		if (sz == 0) {
			for (;;) { /* trailers, then an empty line */
				int ln = LINE();
				if (ln < 0)
					return -1;
				if (ln == 0)
					break;
				char *colon = strchr(line, ':');
				if (colon && !strncasecmp(line, "x-amz-checksum-", 15) && colon - line < (long)sizeof b->ckname) {
					*colon = 0;
					snprintf(b->ckname, sizeof b->ckname, "%s", line + 15);
					for (char *s = b->ckname; *s; s++)
						*s = (char)tolower((unsigned char)*s);
					char *v = colon + 1;
					while (*v == ' ')
						v++;
					snprintf(b->ckval, sizeof b->ckval, "%s", v);
				}
			}
			f->eof = 1;
			return 0;
		}
		f->chunk = sz;
	}
#undef LINE
	size_t want = (int64_t)n < f->chunk ? n : (size_t)f->chunk;
	k = layer ? l1_read(b, p, want) : io_read(b->c, p, want);
	if (k <= 0)
		return -1;
	f->chunk -= k;
	return k;
}

/* Layer 0: the transfer framing. */
static ssize_t
t_read(struct body *b, void *p, size_t n)
{
	ssize_t k;

	if (b->q->chunked)
		return framed_read(b, &b->tf, 0, p, n);
	if (b->left <= 0)
		return 0;
	if ((k = io_read(b->c, p, (int64_t)n < b->left ? n : (size_t)b->left)) <= 0)
		return -1;
	b->left -= k;
	return k;
}

int
body_init(struct body *b, struct io *c, struct req *q)
{
	static __thread char lb[65536];

	memset(b, 0, sizeof *b);
	b->c = c;
	b->q = q;
	b->left = q->clen;
	b->lb = lb;
	return 0;
}

static ssize_t
body_read(struct body *b, void *p, size_t n)
{
	ssize_t k;

	if (b->eof)
		return 0;
	k = b->q->aws_chunked ? framed_read(b, &b->cf, 1, p, n) : t_read(b, p, n);
	if (k == 0) {
		/* the transfer layer must end with the content layer */
		char x;
		if (b->q->aws_chunked && (b->lpos < b->llen || t_read(b, &x, 1) != 0))
			return -1;
		b->eof = 1;
	}
	if (k > 0)
		b->decoded += k;
	return k;
}

/* Fills p with up to n bytes (less only at the end); -1 on error. */
ssize_t
body_fill(struct body *b, char *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = body_read(b, p + got, n - got);
		if (k < 0)
			return -1;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}
/* Reads and drops what is left of the body (so the connection stays usable). */
int
body_drain(struct body *b, char *buf)
{
	ssize_t k;

	while ((k = body_read(b, buf, IOBUF)) > 0)
		;
	return (int)k;
}


/* ---- responses ------------------------------------------------------------------------------------ */

void
http_date(time_t t, char *out, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

int
respond(struct io *c, struct req *q, int status, const char *reason, const char *hdrs, const char *body,
	int64_t blen, int head_only)
{
	char h[8192], date[64];
	int n;

	http_date(time(NULL), date, sizeof date);
	n = snprintf(h, sizeof h,
		     "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: s3sink\r\nx-amz-request-id: %lx\r\n%s"
		     "Content-Length: %lld\r\n%s\r\n",
		     status, reason, date, __atomic_add_fetch(&g_ids, 1, __ATOMIC_RELAXED), hdrs ? hdrs : "",
		     (long long)blen, q->close ? "Connection: close\r\n" : "");
	if (n < 0 || n >= (int)sizeof h)
		return -1;
	if (!head_only && body && blen > 0 && blen < (int64_t)(sizeof h - (size_t)n)) {
		memcpy(h + n, body, (size_t)blen); /* one write: no Nagle stall on small answers */
		return io_write(c, h, (size_t)n + (size_t)blen);
	}
	if (io_write(c, h, (size_t)n))
		return -1;
	return head_only || !body || blen <= 0 ? 0 : io_write(c, body, (size_t)blen);
}

int
s3_error(struct io *c, struct req *q, int status, const char *code, const char *fmt, ...)
{
	char msg[512], body[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (status >= 500 || status == 400)
		fprintf(stderr, "s3sink: %s %s?%s: %d %s %s\n", q->method, q->path, q->query, status, code, msg);
	int n = snprintf(body, sizeof body,
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message>"
			 "<RequestId>sink</RequestId></Error>",
			 code, msg);
	if (!q->body_done)
		q->close = 1;
	return respond(c, q, status, code, "Content-Type: application/xml\r\n", body, n,
		       !strcmp(q->method, "HEAD"));
}

void
xml_escape(const char *s, char *out, size_t max)
{
	size_t o = 0;

	for (; *s && o + 7 < max; s++) {
		const char *r = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&quot;" : NULL;
		if (r) {
			memcpy(out + o, r, strlen(r));
			o += strlen(r);
		} else {
			out[o++] = *s;
		}
	}
	out[o] = 0;
}
