/* s3sink.c — a fast local S3 stand-in for make bench: PutObject, multipart uploads, GetObject and
 * HeadObject (Range, partNumber, If-Match, checksum mode), ListObjectsV2, DeleteObject, over HTTP
 * and HTTPS (OpenSSL), aws-chunked and chunked bodies decoded; object data in unnamed tmpfs files.
 * Signatures are not checked (it measures clients, it does not test them); checksums are stored
 * as the client sent them and composite/full-object checksums computed as S3 does.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/ ; aws-chunked:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html ; checksums:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 *
 * Usage: s3sink --dir DIR [--http PORT] [--https PORT --cert PEM --key PEM] [--ctl PORT]
 *               [--ports FILE] [--null-bucket NAME] [--prealloc MIB] [--pool MIB]
 * Ports 0 are chosen by the kernel; --ports FILE receives "HTTP HTTPS CTL" once listening.
 * The control port (plain HTTP, not counted) answers GET /stats (JSON counters), POST /reset
 * (zeroes the counters) and POST /drop (drops every object and upload). PUTs to --null-bucket
 * are decoded and dropped (their size and checksum kept; GET answers 501): the sink's own
 * ceiling, for reference.
 * Freed object data is kept for reuse (--pool MIB, default 4096); --prealloc MIB fills that pool
 * at start so that the first upload measured does not pay for fresh memory either. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IOBUF (1 << 20)
#define MAXHDR 128
#define MAXPARTS 10000

static const char *g_dir = "/dev/shm";
static const char *g_null_bucket;
static SSL_CTX *g_ssl;
static pthread_mutex_t g_m = PTHREAD_MUTEX_INITIALIZER;

/* ---- counters ---------------------------------------------------------------------------- */

enum { L_HTTP, L_HTTPS, L_CTL };
static struct {
	unsigned long conns[2], handshakes, requests[2];
	unsigned long long bytes_in, bytes_out;
	struct { char name[80]; unsigned long n; } ciphers[16];
	int nciphers;
	unsigned long ops[32];
} st;
static const char *const opnames[] = {"PutObject", "UploadPart", "CreateMultipartUpload", "CompleteMultipartUpload",
				      "AbortMultipartUpload", "GetObject", "HeadObject", "ListObjectsV2",
				      "DeleteObject", "CreateBucket", "HeadBucket", "other"};
enum { OP_PUT, OP_PART, OP_CREATE, OP_COMPLETE, OP_ABORT, OP_GET, OP_HEAD, OP_LIST, OP_DELETE, OP_MKBUCKET,
       OP_HEADBUCKET, OP_OTHER };

static void
count_op(int op)
{
	__atomic_add_fetch(&st.ops[op], 1, __ATOMIC_RELAXED);
}

/* ---- connections: plain or TLS, with a read buffer ----------------------------------------- */

struct io {
	int fd;
	SSL *ssl;
	int https;
	char *rb;
	size_t rpos, rlen;
	int dead;
};

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
static ssize_t
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
static int
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
		char ch = c->rb[c->rpos++];
		if (ch == '\n')
			break;
		if (n + 1 >= max)
			return -1;
		line[n++] = ch;
	}
	if (n && line[n - 1] == '\r')
		n--;
	line[n] = 0;
	return (int)n;
}

static int
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
static int
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

/* ---- checksums: CRCs in software, digests by OpenSSL, base64 -------------------------------- */

static uint32_t crc_tab[2][256]; /* 0: CRC-32C, 1: CRC-32 (both reflected) */
static const uint32_t crc_poly[2] = {0x82F63B78u, 0xEDB88320u};

static void
crc_init(void)
{
	for (int t = 0; t < 2; t++)
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? c >> 1 ^ crc_poly[t] : c >> 1;
			crc_tab[t][i] = c;
		}
}

static uint32_t
crc_update(int t, uint32_t crc, const unsigned char *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc >> 8 ^ crc_tab[t][(crc ^ *p++) & 255];
	return ~crc;
}

/* a * b modulo the polynomial, reflected bit order (bit 31 is x^0). */
static uint32_t
gf_mul(uint32_t a, uint32_t b, uint32_t poly)
{
	uint32_t r = 0;

	for (int i = 0; i < 32; i++) {
		if (a & (0x80000000u >> i))
			r ^= b;
		b = b & 1 ? b >> 1 ^ poly : b >> 1;
	}
	return r;
}

/* crc(A||B) = crc(A) * x^(8 len(B)) + crc(B). */
static uint32_t
crc_combine(int t, uint32_t a, uint32_t b, uint64_t len_b)
{
	uint32_t r = 0x80000000u, sq = 0x00800000u; /* x^0 and x^8 */

	for (; len_b; len_b >>= 1) {
		if (len_b & 1)
			r = gf_mul(r, sq, crc_poly[t]);
		sq = gf_mul(sq, sq, crc_poly[t]);
	}
	return gf_mul(r, a, crc_poly[t]) ^ b;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
b64_enc(const unsigned char *p, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = 0;
}

/* Decodes s (stopping at '=' or '-'); returns the byte count, -1 if invalid or over max. */
static int
b64_dec(const char *s, unsigned char *out, size_t max)
{
	uint32_t v = 0;
	int bits = 0;
	size_t n = 0;

	for (; *s && *s != '=' && *s != '-'; s++) {
		const char *q = strchr(b64, *s);
		if (!q)
			return -1;
		v = v << 6 | (uint32_t)(q - b64);
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (n >= max)
				return -1;
			out[n++] = (unsigned char)(v >> bits);
		}
	}
	return (int)n;
}

static int
crc_kind(const char *alg)
{
	return !strcmp(alg, "crc32c") ? 0 : !strcmp(alg, "crc32") ? 1 : -1;
}

static const EVP_MD *
digest_of(const char *alg)
{
	return !strcmp(alg, "sha256") ? EVP_sha256() : !strcmp(alg, "sha1") ? EVP_sha1() : NULL;
}

/* ---- the store ------------------------------------------------------------------------------- */

/* Bytes in an unnamed tmpfs file, shared by an upload and the objects made of it. */
struct blob {
	int fd;
	int64_t size;
	char ck[100];   /* base64 checksum the client sent ("" if none) */
	char etag[48];
	int refs;
};

struct obj {
	char *bucket, *key;
	struct blob **parts;
	int nparts, mp; /* mp: made by CompleteMultipartUpload (nparts parts) */
	int64_t size;
	char etag[64];
	char ckalg[16];  /* "crc32c", ... ("" if none) */
	char ckval[100]; /* base64, composite ones without "-N" */
	int composite;
	time_t mtime;
	int refs, dead;
	struct obj *next;
};

struct upload {
	char id[32], *bucket, *key;
	char ckalg[16];
	int full_object;
	struct blob *parts[MAXPARTS + 1];
	struct upload *next;
};

#define NHASH 4096
static struct obj *g_objs[NHASH];
static struct upload *g_uploads;
static unsigned long g_ids;

static unsigned
hash(const char *b, const char *k)
{
	unsigned h = 2166136261u;

	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h % NHASH;
}

/* Freed blobs keep their tmpfs pages for the next upload: on this kind of VM, writing fresh
 * tmpfs pages costs 2-5x more than rewriting allocated ones, and would make the sink the
 * bottleneck. At most g_pool_max bytes are kept. A blob's refs change only under g_m, or while
 * no one else can see it. */
static struct pooled {
	int fd;
	int64_t cap;
	struct pooled *next;
} *g_pool;
static int64_t g_pool_bytes, g_pool_max = (int64_t)4 << 30;
static pthread_mutex_t g_pm = PTHREAD_MUTEX_INITIALIZER; /* the pool's own lock: blob_put runs with or without g_m */

static void
blob_put(struct blob *b)
{
	if (!b || --b->refs)
		return;
	pthread_mutex_lock(&g_pm);
	if (b->fd >= 0 && g_pool_bytes + b->size <= g_pool_max && b->size > 0) {
		struct pooled *p = malloc(sizeof *p);
		p->fd = b->fd;
		p->cap = b->size;
		p->next = g_pool;
		g_pool = p;
		g_pool_bytes += b->size;
		b->fd = -1;
	}
	pthread_mutex_unlock(&g_pm);
	if (b->fd >= 0)
		close(b->fd);
	free(b);
}

/* A file for a new blob: a pooled one (rewritten from offset 0), else a new unnamed file. */
static int
blob_file(void)
{
	pthread_mutex_lock(&g_pm);
	struct pooled *p = g_pool;
	if (p) {
		g_pool = p->next;
		g_pool_bytes -= p->cap;
	}
	pthread_mutex_unlock(&g_pm);
	if (!p)
		return open(g_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	int fd = p->fd;
	free(p);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Fills the pool with n bytes of files of 8 MiB (the part size of both clients measured). */
static void
pool_prealloc(int64_t n)
{
	char *z = calloc(1, 8 << 20);

	for (; n > 0; n -= 8 << 20) {
		struct blob *b = calloc(1, sizeof *b);
		b->fd = open(g_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		b->refs = 1;
		b->size = 8 << 20;
		if (b->fd < 0 || write(b->fd, z, 8 << 20) != 8 << 20) {
			perror("s3sink: prealloc");
			exit(1);
		}
		blob_put(b);
	}
	free(z);
}

static void
obj_free(struct obj *o)
{
	for (int i = 0; i < o->nparts; i++)
		blob_put(o->parts[i]);
	free(o->parts);
	free(o->bucket);
	free(o->key);
	free(o);
}

/* With g_m held. */
static void
obj_release(struct obj *o)
{
	if (--o->refs == 0 && o->dead)
		obj_free(o);
}

/* Unlinks bucket/key from the table (with g_m held); 1 if there was one. */
static int
obj_unlink(const char *bucket, const char *key)
{
	struct obj **pp = &g_objs[hash(bucket, key)];

	for (; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->bucket, bucket) && !strcmp((*pp)->key, key)) {
			struct obj *o = *pp;
			*pp = o->next;
			o->dead = 1;
			o->refs++;
			obj_release(o);
			return 1;
		}
	return 0;
}

static struct obj *
obj_find(const char *bucket, const char *key)
{
	for (struct obj *o = g_objs[hash(bucket, key)]; o; o = o->next)
		if (!strcmp(o->bucket, bucket) && !strcmp(o->key, key))
			return o;
	return NULL;
}

/* Takes o (refs 0) into the table, replacing any object of its name. With g_m held. */
static void
obj_insert(struct obj *o)
{
	obj_unlink(o->bucket, o->key);
	unsigned h = hash(o->bucket, o->key);
	o->next = g_objs[h];
	g_objs[h] = o;
}

static void
store_reset(void)
{
	pthread_mutex_lock(&g_m);
	for (int i = 0; i < NHASH; i++)
		while (g_objs[i])
			obj_unlink(g_objs[i]->bucket, g_objs[i]->key);
	while (g_uploads) {
		struct upload *u = g_uploads;
		g_uploads = u->next;
		for (int i = 1; i <= MAXPARTS; i++)
			blob_put(u->parts[i]);
		free(u->bucket);
		free(u->key);
		free(u);
	}
	pthread_mutex_unlock(&g_m);
}

/* ---- requests ---------------------------------------------------------------------------------- */

struct req {
	char line[16384];
	char method[16];
	char path[4096];   /* decoded */
	char *query;       /* raw, after '?' ("" if none) */
	char hb[65536];    /* header lines */
	size_t hbn;
	struct { char *k, *v; } h[MAXHDR];
	int nh;
	int64_t clen;      /* -1: none */
	int chunked;       /* Transfer-Encoding: chunked */
	int aws_chunked;   /* Content-Encoding: aws-chunked */
	int close;         /* the client asked, or the body was not read */
	int body_done;
};

static const char *
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
static int
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
static int
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

/* The body, decoded. Two layers: the transfer framing (Content-Length, or HTTP chunked) and
 * the content coding aws-chunked (Content-Encoding), which botocore sends inside HTTP chunked
 * when the length is unknown. Both use the chunk syntax of RFC 9112 7.1; aws-chunked trailers
 * carry x-amz-checksum-*. */
struct framing {
	int64_t chunk; /* bytes left in this chunk */
	int started, eof;
};

struct body {
	struct io *c;
	struct req *q;
	int64_t left;          /* Content-Length framing: bytes left */
	struct framing tf, cf; /* HTTP chunked, aws-chunked */
	char *lb;              /* the aws-chunked layer's look-ahead over the transfer layer */
	size_t lpos, llen;
	int eof;
	int64_t decoded;
	char ckname[48], ckval[100]; /* from a trailer */
};

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
		char ch = b->lb[b->lpos++];
		if (ch == '\n')
			break;
		if (n + 1 >= max)
			return -1;
		line[n++] = ch;
	}
	if (n && line[n - 1] == '\r')
		n--;
	line[n] = 0;
	return (int)n;
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

static int
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
static ssize_t
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
static int
body_drain(struct body *b, char *buf)
{
	ssize_t k;

	while ((k = body_read(b, buf, IOBUF)) > 0)
		;
	return (int)k;
}

/* ---- responses ------------------------------------------------------------------------------------ */

static void
http_date(time_t t, char *out, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static int
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

static int
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

static void
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

/* ---- operations ----------------------------------------------------------------------------------- */

/* The checksum a request carries in a header: x-amz-checksum-ALG (not -algorithm, -mode, -type). */
static void
header_checksum(const struct req *q, char *alg, size_t an, char *val, size_t vn)
{
	alg[0] = val[0] = 0;
	for (int i = 0; i < q->nh; i++) {
		const char *k = q->h[i].k;
		if (strncasecmp(k, "x-amz-checksum-", 15) || !strcasecmp(k + 15, "algorithm") ||
		    !strcasecmp(k + 15, "mode") || !strcasecmp(k + 15, "type") || strlen(k + 15) >= an)
			continue;
		snprintf(alg, an, "%s", k + 15);
		for (char *s = alg; *s; s++)
			*s = (char)tolower((unsigned char)*s);
		snprintf(val, vn, "%s", q->h[i].v);
		return;
	}
}

/* PutObject (upload NULL) or UploadPart: the body into a new blob. */
static int
op_put(struct io *c, struct req *q, char *buf, const char *bucket, const char *key, const char *upload_id,
       int partno)
{
	struct body b;
	struct blob *bl = NULL;
	int null = g_null_bucket && !strcmp(bucket, g_null_bucket);
	EVP_MD_CTX *md5 = NULL;
	unsigned char dig[16];
	char alg[32], val[100], hdrs[512];
	const char *v;

	if (!upload_id && (v = hget(q, "if-none-match")) && !strcmp(v, "*")) {
		pthread_mutex_lock(&g_m);
		int exists = obj_find(bucket, key) != NULL;
		pthread_mutex_unlock(&g_m);
		if (exists)
			return s3_error(c, q, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
	}
	body_init(&b, c, q);
	if ((v = hget(q, "expect")) && !strcasecmp(v, "100-continue") && io_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25))
		return -1;
	bl = calloc(1, sizeof *bl);
	bl->refs = 1;
	bl->fd = null ? -1 : blob_file();
	if (!null && bl->fd < 0) {
		free(bl);
		body_drain(&b, buf);
		q->body_done = 1;
		return s3_error(c, q, 500, "InternalError", "tmpfile in %s: %s", g_dir, strerror(errno));
	}
	if (!upload_id) {
		md5 = EVP_MD_CTX_new();
		EVP_DigestInit_ex(md5, EVP_md5(), NULL);
	}
	for (;;) {
		ssize_t k = body_fill(&b, buf, IOBUF);
		if (k < 0) {
			blob_put(bl);
			EVP_MD_CTX_free(md5);
			return -1; /* the connection broke or the framing is bad: drop it */
		}
		if (k == 0)
			break;
		if (md5)
			EVP_DigestUpdate(md5, buf, (size_t)k);
		for (ssize_t done = 0; !null && done < k;) {
			ssize_t w = write(bl->fd, buf + done, (size_t)(k - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				fprintf(stderr, "s3sink: write: %s\n", strerror(errno));
				blob_put(bl);
				EVP_MD_CTX_free(md5);
				return -1;
			}
			done += w;
		}
	}
	q->body_done = 1;
	bl->size = b.decoded;
	if (!null && ftruncate(bl->fd, bl->size)) { /* a pooled file may have been longer */
		blob_put(bl);
		EVP_MD_CTX_free(md5);
		return s3_error(c, q, 500, "InternalError", "ftruncate: %s", strerror(errno));
	}
	if ((v = hget(q, "x-amz-decoded-content-length")) && strtoll(v, NULL, 10) != b.decoded) {
		blob_put(bl);
		EVP_MD_CTX_free(md5);
		return s3_error(c, q, 400, "IncompleteBody", "decoded %lld bytes, x-amz-decoded-content-length %s",
				(long long)b.decoded, v);
	}
	header_checksum(q, alg, sizeof alg, val, sizeof val);
	if (!alg[0] && b.ckname[0]) {
		snprintf(alg, sizeof alg, "%s", b.ckname);
		snprintf(val, sizeof val, "%s", b.ckval);
	}
	snprintf(bl->ck, sizeof bl->ck, "%s", val);
	if (md5) {
		EVP_DigestFinal_ex(md5, dig, NULL);
		EVP_MD_CTX_free(md5);
		char *e = bl->etag;
		*e++ = '"';
		for (int i = 0; i < 16; i++)
			e += sprintf(e, "%02x", dig[i]);
		strcpy(e, "\"");
	} else {
		snprintf(bl->etag, sizeof bl->etag, "\"%08lx%024lx\"", (unsigned long)partno,
			 __atomic_add_fetch(&g_ids, 1, __ATOMIC_RELAXED));
	}
	int n = snprintf(hdrs, sizeof hdrs, "ETag: %s\r\n", bl->etag);
	if (alg[0])
		snprintf(hdrs + n, sizeof hdrs - (size_t)n, "x-amz-checksum-%s: %s\r\n", alg, val);
	pthread_mutex_lock(&g_m);
	if (upload_id) {
		struct upload *u;
		for (u = g_uploads; u && strcmp(u->id, upload_id); u = u->next)
			;
		if (!u) {
			pthread_mutex_unlock(&g_m);
			blob_put(bl);
			return s3_error(c, q, 404, "NoSuchUpload", "The specified upload does not exist");
		}
		blob_put(u->parts[partno]);
		u->parts[partno] = bl;
	} else {
		struct obj *o = calloc(1, sizeof *o);
		o->bucket = strdup(bucket);
		o->key = strdup(key);
		o->parts = malloc(sizeof *o->parts);
		o->parts[0] = bl;
		o->nparts = 1;
		o->size = bl->size;
		snprintf(o->etag, sizeof o->etag, "%s", bl->etag);
		snprintf(o->ckalg, sizeof o->ckalg, "%s", alg);
		snprintf(o->ckval, sizeof o->ckval, "%s", val);
		o->mtime = time(NULL);
		obj_insert(o);
	}
	pthread_mutex_unlock(&g_m);
	return respond(c, q, 200, "OK", hdrs, NULL, 0, 0);
}

static int
op_create(struct io *c, struct req *q, const char *bucket, const char *key)
{
	struct upload *u = calloc(1, sizeof *u);
	const char *v;
	char body[4096], eb[1024], ek[2048];

	snprintf(u->id, sizeof u->id, "up%lx", __atomic_add_fetch(&g_ids, 1, __ATOMIC_RELAXED));
	u->bucket = strdup(bucket);
	u->key = strdup(key);
	if ((v = hget(q, "x-amz-checksum-algorithm"))) {
		snprintf(u->ckalg, sizeof u->ckalg, "%s", v);
		for (char *s = u->ckalg; *s; s++)
			*s = (char)tolower((unsigned char)*s);
	}
	u->full_object = (v = hget(q, "x-amz-checksum-type")) && !strcasecmp(v, "FULL_OBJECT");
	pthread_mutex_lock(&g_m);
	u->next = g_uploads;
	g_uploads = u;
	pthread_mutex_unlock(&g_m);
	xml_escape(bucket, eb, sizeof eb);
	xml_escape(key, ek, sizeof ek);
	int n = snprintf(body, sizeof body,
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult "
			 "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>%s</Bucket><Key>%s</Key>"
			 "<UploadId>%s</UploadId></InitiateMultipartUploadResult>",
			 eb, ek, u->id);
	char hdrs[256] = "Content-Type: application/xml\r\n";
	if (u->ckalg[0])
		snprintf(hdrs + strlen(hdrs), sizeof hdrs - strlen(hdrs), "x-amz-checksum-algorithm: %s\r\nx-amz-checksum-type: %s\r\n",
			 u->ckalg, u->full_object ? "FULL_OBJECT" : "COMPOSITE");
	return respond(c, q, 200, "OK", hdrs, body, n, 0);
}

static struct upload *
upload_take(const char *id)
{
	for (struct upload **pp = &g_uploads; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->id, id)) {
			struct upload *u = *pp;
			*pp = u->next;
			return u;
		}
	return NULL;
}

static void
upload_free(struct upload *u)
{
	for (int i = 1; i <= MAXPARTS; i++)
		blob_put(u->parts[i]);
	free(u->bucket);
	free(u->key);
	free(u);
}

/* The object's checksum from its parts' (S3: composite = checksum of the concatenated part
 * checksums, "-N"; full object = the CRCs combined). */
static void
mp_checksum(struct upload *u, struct obj *o, const char *full_alg, const char *full_val)
{
	unsigned char raw[64], *cat = NULL;
	size_t cn = 0;

	if (full_alg[0]) {
		snprintf(o->ckalg, sizeof o->ckalg, "%s", full_alg);
		snprintf(o->ckval, sizeof o->ckval, "%s", full_val);
		return;
	}
	if (!u->ckalg[0])
		return;
	for (int i = 0; i < o->nparts; i++)
		if (!o->parts[i]->ck[0])
			return; /* a part without a checksum: S3 would have refused it */
	int t = crc_kind(u->ckalg);
	if (u->full_object && t >= 0) {
		uint32_t crc = 0;
		for (int i = 0; i < o->nparts; i++) {
			if (b64_dec(o->parts[i]->ck, raw, sizeof raw) != 4)
				return;
			uint32_t pc = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
			crc = i ? crc_combine(t, crc, pc, (uint64_t)o->parts[i]->size) : pc;
		}
		raw[0] = (unsigned char)(crc >> 24), raw[1] = (unsigned char)(crc >> 16);
		raw[2] = (unsigned char)(crc >> 8), raw[3] = (unsigned char)crc;
		b64_enc(raw, 4, o->ckval);
		snprintf(o->ckalg, sizeof o->ckalg, "%s", u->ckalg);
		return;
	}
	cat = malloc((size_t)o->nparts * 64);
	for (int i = 0; i < o->nparts; i++) {
		int k = b64_dec(o->parts[i]->ck, cat + cn, 64);
		if (k <= 0) {
			free(cat);
			return;
		}
		cn += (size_t)k;
	}
	if (t >= 0) {
		uint32_t crc = crc_update(t, 0, cat, cn);
		raw[0] = (unsigned char)(crc >> 24), raw[1] = (unsigned char)(crc >> 16);
		raw[2] = (unsigned char)(crc >> 8), raw[3] = (unsigned char)crc;
		b64_enc(raw, 4, o->ckval);
	} else if (digest_of(u->ckalg)) {
		unsigned int dn = 0;
		EVP_Digest(cat, cn, raw, &dn, digest_of(u->ckalg), NULL);
		b64_enc(raw, dn, o->ckval);
	} else {
		free(cat);
		return;
	}
	free(cat);
	snprintf(o->ckalg, sizeof o->ckalg, "%s", u->ckalg);
	o->composite = 1;
}

static int
op_complete(struct io *c, struct req *q, char *buf, const char *bucket, const char *key, const char *id)
{
	struct body b;
	ssize_t n;
	int nums[MAXPARTS], np = 0;
	char alg[32], val[100], body[4096], eb[1024], ek[2048], hdrs[512];

	if (body_init(&b, c, q) || (n = body_fill(&b, buf, IOBUF - 1)) < 0)
		return -1;
	q->body_done = body_drain(&b, buf + n) == 0;
	if (!q->body_done)
		return -1;
	buf[n] = 0;
	for (char *s = buf; (s = strstr(s, "<PartNumber>")) && np < MAXPARTS;) {
		s += 12;
		nums[np++] = atoi(s);
	}
	header_checksum(q, alg, sizeof alg, val, sizeof val);
	pthread_mutex_lock(&g_m);
	struct upload *u = upload_take(id);
	if (!u) {
		pthread_mutex_unlock(&g_m);
		return s3_error(c, q, 404, "NoSuchUpload", "The specified upload does not exist");
	}
	if (!np) {
		u->next = g_uploads, g_uploads = u;
		pthread_mutex_unlock(&g_m);
		return s3_error(c, q, 400, "MalformedXML", "no parts");
	}
	struct obj *o = calloc(1, sizeof *o);
	o->parts = calloc((size_t)np, sizeof *o->parts);
	for (int i = 0; i < np; i++) {
		if (nums[i] < 1 || nums[i] > MAXPARTS || !u->parts[nums[i]] || (i && nums[i] <= nums[i - 1])) {
			for (int j = 0; j < o->nparts; j++)
				blob_put(o->parts[j]);
			free(o->parts);
			free(o);
			u->next = g_uploads, g_uploads = u;
			pthread_mutex_unlock(&g_m);
			return s3_error(c, q, 400, "InvalidPart", "part %d was not uploaded", nums[i]);
		}
		o->parts[o->nparts] = u->parts[nums[i]];
		o->parts[o->nparts++]->refs++;
		o->size += u->parts[nums[i]]->size;
	}
	o->bucket = strdup(bucket);
	o->key = strdup(key);
	o->mp = 1;
	o->mtime = time(NULL);
	snprintf(o->etag, sizeof o->etag, "\"%032lx-%d\"", __atomic_add_fetch(&g_ids, 1, __ATOMIC_RELAXED), np);
	mp_checksum(u, o, alg, val);
	obj_insert(o);
	upload_free(u);
	xml_escape(bucket, eb, sizeof eb);
	xml_escape(key, ek, sizeof ek);
	char ckx[200] = "";
	int hn = 0;
	hdrs[0] = 0;
	if (o->ckalg[0]) {
		char up[16];
		snprintf(up, sizeof up, "%s", o->ckalg);
		for (char *s = up; *s; s++)
			*s = (char)toupper((unsigned char)*s);
		if (o->composite) /* S3 writes "-N" after a composite value */
			snprintf(ckx, sizeof ckx, "<Checksum%s>%s-%d</Checksum%s><ChecksumType>COMPOSITE</ChecksumType>", up,
				 o->ckval, o->nparts, up);
		else
			snprintf(ckx, sizeof ckx, "<Checksum%s>%s</Checksum%s><ChecksumType>FULL_OBJECT</ChecksumType>", up,
				 o->ckval, up);
	}
	hn = snprintf(body, sizeof body,
		      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult "
		      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Location>/%s/%s</Location><Bucket>%s</Bucket>"
		      "<Key>%s</Key><ETag>&quot;%.*s&quot;</ETag>%s</CompleteMultipartUploadResult>",
		      eb, ek, eb, ek, (int)strlen(o->etag) - 2, o->etag + 1, ckx);
	pthread_mutex_unlock(&g_m);
	snprintf(hdrs, sizeof hdrs, "Content-Type: application/xml\r\n");
	return respond(c, q, 200, "OK", hdrs, body, hn, 0);
}

static int
op_abort(struct io *c, struct req *q, const char *id)
{
	pthread_mutex_lock(&g_m);
	struct upload *u = upload_take(id);
	if (u)
		upload_free(u);
	pthread_mutex_unlock(&g_m);
	if (!u)
		return s3_error(c, q, 404, "NoSuchUpload", "The specified upload does not exist");
	return respond(c, q, 204, "No Content", NULL, NULL, 0, 0);
}

/* "bytes=A-B", "bytes=A-", "bytes=-N" against size; 0 ok, -1 unsatisfiable or malformed. */
static int
parse_range(const char *v, int64_t size, int64_t *a, int64_t *b)
{
	long long x, y;

	if (strncmp(v, "bytes=", 6) || strchr(v, ','))
		return -1;
	v += 6;
	if (*v == '-') {
		if (sscanf(v + 1, "%lld", &y) != 1 || y <= 0)
			return -1;
		*a = y >= size ? 0 : size - y;
		*b = size - 1;
	} else if (sscanf(v, "%lld-%lld", &x, &y) == 2) {
		*a = x, *b = y >= size ? size - 1 : y;
	} else if (sscanf(v, "%lld-", &x) == 1) {
		*a = x, *b = size - 1;
	} else {
		return -1;
	}
	return *a <= *b && *a < size ? 0 : -1;
}

static int
op_get(struct io *c, struct req *q, char *buf, const char *bucket, const char *key, int head)
{
	char hdrs[2048], date[64], pn[16];
	const char *v;
	int64_t a = 0, b, partno = 0;
	int status = 200, n = 0;

	pthread_mutex_lock(&g_m);
	struct obj *o = obj_find(bucket, key);
	if (o)
		o->refs++;
	pthread_mutex_unlock(&g_m);
	if (!o)
		return s3_error(c, q, 404, "NoSuchKey", "The specified key does not exist.");
	int rc;
	b = o->size - 1;
	if ((v = hget(q, "if-match")) && strcmp(v, o->etag) && strcmp(v, "*")) {
		rc = s3_error(c, q, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
		goto done;
	}
	if (qget(q, "partNumber", pn, sizeof pn)) {
		partno = atoi(pn);
		int np = o->mp ? o->nparts : 1;
		if (partno < 1 || partno > np) {
			rc = s3_error(c, q, 416, "InvalidPartNumber", "The requested partnumber is not satisfiable");
			goto done;
		}
		if (o->mp) {
			a = 0;
			for (int i = 0; i < partno - 1; i++)
				a += o->parts[i]->size;
			b = a + o->parts[partno - 1]->size - 1;
			status = 206;
		}
	} else if ((v = hget(q, "range"))) {
		if (parse_range(v, o->size, &a, &b)) {
			rc = s3_error(c, q, 416, "InvalidRange", "The requested range is not satisfiable");
			goto done;
		}
		status = 206;
	}
	if (!o->size)
		a = 0, b = -1;
	http_date(o->mtime, date, sizeof date);
	n = snprintf(hdrs, sizeof hdrs,
		     "ETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\nContent-Type: binary/octet-stream\r\n",
		     o->etag, date);
	if (status == 206)
		n += snprintf(hdrs + n, sizeof hdrs - (size_t)n, "Content-Range: bytes %lld-%lld/%lld\r\n", (long long)a,
			      (long long)b, (long long)o->size);
	if (partno && o->mp)
		n += snprintf(hdrs + n, sizeof hdrs - (size_t)n, "x-amz-mp-parts-count: %d\r\n", o->nparts);
	/* Checksums only when asked for (x-amz-checksum-mode: ENABLED), for the whole object or one part. */
	if ((v = hget(q, "x-amz-checksum-mode")) && !strcasecmp(v, "ENABLED") && o->ckalg[0] &&
	    (partno || !hget(q, "range"))) {
		if (partno && o->mp) {
			if (o->composite && o->parts[partno - 1]->ck[0])
				n += snprintf(hdrs + n, sizeof hdrs - (size_t)n, "x-amz-checksum-%s: %s\r\n", o->ckalg,
					      o->parts[partno - 1]->ck);
		} else if (o->composite) {
			n += snprintf(hdrs + n, sizeof hdrs - (size_t)n,
				      "x-amz-checksum-%s: %s-%d\r\nx-amz-checksum-type: COMPOSITE\r\n", o->ckalg, o->ckval,
				      o->nparts);
		} else {
			n += snprintf(hdrs + n, sizeof hdrs - (size_t)n, "x-amz-checksum-%s: %s\r\nx-amz-checksum-type: FULL_OBJECT\r\n",
				      o->ckalg, o->ckval);
		}
	}
	int64_t len = b - a + 1;
	if (head) {
		rc = respond(c, q, status, status == 206 ? "Partial Content" : "OK", hdrs, NULL, len, 1);
		goto done;
	}
	if (o->parts[0]->fd < 0) {
		rc = s3_error(c, q, 501, "NotImplemented", "objects in the null bucket hold no data");
		goto done;
	}
	if ((rc = respond(c, q, status, status == 206 ? "Partial Content" : "OK", hdrs, NULL, len, 1)))
		goto done;
	/* The bytes a..b across the parts' files. */
	int64_t off = 0;
	for (int i = 0; i < o->nparts && len > 0 && !rc; i++) {
		struct blob *bl = o->parts[i];
		if (a < off + bl->size) {
			int64_t from = a - off, k = bl->size - from < len ? bl->size - from : len;
			rc = io_sendfile(c, bl->fd, from, k, buf);
			a += k, len -= k;
		}
		off += bl->size;
	}
done:
	pthread_mutex_lock(&g_m);
	obj_release(o);
	pthread_mutex_unlock(&g_m);
	return rc;
}

static int
op_delete(struct io *c, struct req *q, const char *bucket, const char *key)
{
	pthread_mutex_lock(&g_m);
	obj_unlink(bucket, key);
	pthread_mutex_unlock(&g_m);
	return respond(c, q, 204, "No Content", NULL, NULL, 0, 0);
}

static int
keycmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Appends s percent-encoded (unreserved and '/' kept), as encoding-type=url has it. */
static size_t
url_enc(const char *s, char *out, size_t max)
{
	size_t o = 0;

	for (; *s && o + 4 < max; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '/')
			out[o++] = (char)ch;
		else
			o += (size_t)sprintf(out + o, "%%%02X", ch);
	}
	out[o] = 0;
	return o;
}

static int
op_list(struct io *c, struct req *q, const char *bucket)
{
	char prefix[2048] = "", token[2048] = "", after[2048] = "", mk[16], enc[8] = "", tmp[4096];
	int max = 1000, urlenc;

	if (qget(q, "delimiter", tmp, sizeof tmp) && tmp[0])
		return s3_error(c, q, 501, "NotImplemented", "delimiter is not implemented by the sink");
	qget(q, "prefix", prefix, sizeof prefix);
	qget(q, "continuation-token", token, sizeof token);
	qget(q, "start-after", after, sizeof after);
	if (qget(q, "max-keys", mk, sizeof mk))
		max = atoi(mk);
	if (max < 0 || max > 1000)
		max = 1000;
	urlenc = qget(q, "encoding-type", enc, sizeof enc) && !strcmp(enc, "url");
	const char *from = token[0] ? token : after;
	size_t pl = strlen(prefix), n = 0, cap = 64;
	char **keys = malloc(cap * sizeof *keys);
	struct { int64_t size; time_t mtime; char etag[64]; } *meta = NULL;

	pthread_mutex_lock(&g_m);
	for (int i = 0; i < NHASH; i++)
		for (struct obj *o = g_objs[i]; o; o = o->next) {
			if (strcmp(o->bucket, bucket) || strncmp(o->key, prefix, pl) || (from[0] && strcmp(o->key, from) <= 0))
				continue;
			if (n == cap)
				keys = realloc(keys, (cap *= 2) * sizeof *keys);
			keys[n++] = strdup(o->key);
		}
	qsort(keys, n, sizeof *keys, keycmp);
	size_t shown = n < (size_t)max ? n : (size_t)max;
	meta = calloc(shown + 1, sizeof *meta);
	for (size_t i = 0; i < shown; i++) {
		struct obj *o = obj_find(bucket, keys[i]);
		if (o) {
			meta[i].size = o->size;
			meta[i].mtime = o->mtime;
			snprintf(meta[i].etag, sizeof meta[i].etag, "%s", o->etag);
		}
	}
	pthread_mutex_unlock(&g_m);
	size_t bcap = 4096 + shown * 3000, bn = 0;
	char *body = malloc(bcap);
	bn += (size_t)snprintf(body + bn, bcap - bn,
			       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
			       "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>%s</Name>",
			       bucket);
	if (urlenc) {
		url_enc(prefix, tmp, sizeof tmp);
		bn += (size_t)snprintf(body + bn, bcap - bn, "<Prefix>%s</Prefix><EncodingType>url</EncodingType>", tmp);
	} else {
		xml_escape(prefix, tmp, sizeof tmp);
		bn += (size_t)snprintf(body + bn, bcap - bn, "<Prefix>%s</Prefix>", tmp);
	}
	bn += (size_t)snprintf(body + bn, bcap - bn, "<KeyCount>%zu</KeyCount><MaxKeys>%d</MaxKeys><IsTruncated>%s</IsTruncated>",
			       shown, max, shown < n ? "true" : "false");
	if (token[0]) {
		xml_escape(token, tmp, sizeof tmp);
		bn += (size_t)snprintf(body + bn, bcap - bn, "<ContinuationToken>%s</ContinuationToken>", tmp);
	}
	if (shown < n) {
		xml_escape(keys[shown - 1], tmp, sizeof tmp);
		bn += (size_t)snprintf(body + bn, bcap - bn, "<NextContinuationToken>%s</NextContinuationToken>", tmp);
	}
	for (size_t i = 0; i < shown; i++) {
		char k[4096], date[32], e2[128];
		struct tm tm;
		if (urlenc)
			url_enc(keys[i], k, sizeof k);
		else
			xml_escape(keys[i], k, sizeof k);
		gmtime_r(&meta[i].mtime, &tm);
		strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
		xml_escape(meta[i].etag, e2, sizeof e2);
		bn += (size_t)snprintf(body + bn, bcap - bn,
				       "<Contents><Key>%s</Key><LastModified>%s</LastModified><ETag>%s</ETag><Size>%lld</Size>"
				       "<StorageClass>STANDARD</StorageClass></Contents>",
				       k, date, e2, (long long)meta[i].size);
	}
	bn += (size_t)snprintf(body + bn, bcap - bn, "</ListBucketResult>");
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(meta);
	int rc = respond(c, q, 200, "OK", "Content-Type: application/xml\r\n", body, (int64_t)bn, 0);
	free(body);
	return rc;
}

/* One request on an S3 listener: route by method, path ("/bucket/key") and query. */
static int
s3_request(struct io *c, struct req *q, char *buf)
{
	char bucket[256], id[64], pn[16];
	const char *p = q->path, *key;
	int head = !strcmp(q->method, "HEAD");

	__atomic_add_fetch(&st.requests[c->https], 1, __ATOMIC_RELAXED);
	if (*p != '/')
		return s3_error(c, q, 400, "InvalidURI", "bad path");
	p++;
	size_t bn = strcspn(p, "/");
	if (!bn || bn >= sizeof bucket)
		return s3_error(c, q, 501, "NotImplemented", "service-level operations are not implemented");
	memcpy(bucket, p, bn);
	bucket[bn] = 0;
	key = p[bn] == '/' ? p + bn + 1 : "";
	int has_body = q->chunked || q->clen > 0;
	if (!*key) {
		if (!has_body)
			q->body_done = 1;
		if (!strcmp(q->method, "GET") && strstr(q->query, "list-type=2")) {
			count_op(OP_LIST);
			return op_list(c, q, bucket);
		}
		if (!strcmp(q->method, "PUT") && !q->query[0]) {
			struct body b;
			count_op(OP_MKBUCKET);
			if (body_init(&b, c, q) || body_drain(&b, buf))
				return -1;
			q->body_done = 1;
			return respond(c, q, 200, "OK", NULL, NULL, 0, 0);
		}
		if (head) {
			count_op(OP_HEADBUCKET);
			return respond(c, q, 200, "OK", "x-amz-bucket-region: us-east-1\r\n", NULL, 0, 1);
		}
		count_op(OP_OTHER);
		return s3_error(c, q, 501, "NotImplemented", "bucket operation %s ?%s", q->method, q->query);
	}
	if (hget(q, "x-amz-copy-source")) {
		count_op(OP_OTHER);
		return s3_error(c, q, 501, "NotImplemented", "copies are not implemented by the sink");
	}
	int has_id = qget(q, "uploadId", id, sizeof id);
	if (!strcmp(q->method, "PUT")) {
		if (has_id) {
			int n = qget(q, "partNumber", pn, sizeof pn) ? atoi(pn) : 0;
			if (n < 1 || n > MAXPARTS)
				return s3_error(c, q, 400, "InvalidArgument", "partNumber");
			count_op(OP_PART);
			return op_put(c, q, buf, bucket, key, id, n);
		}
		count_op(OP_PUT);
		return op_put(c, q, buf, bucket, key, NULL, 0);
	}
	if (!strcmp(q->method, "POST") && qget(q, "uploads", pn, sizeof pn)) {
		struct body b;
		count_op(OP_CREATE);
		if (body_init(&b, c, q) || body_drain(&b, buf))
			return -1;
		q->body_done = 1;
		return op_create(c, q, bucket, key);
	}
	if (!strcmp(q->method, "POST") && has_id) {
		count_op(OP_COMPLETE);
		return op_complete(c, q, buf, bucket, key, id);
	}
	if (!has_body)
		q->body_done = 1;
	if (!strcmp(q->method, "DELETE") && has_id) {
		count_op(OP_ABORT);
		return op_abort(c, q, id);
	}
	if (!strcmp(q->method, "GET") || head) {
		count_op(head ? OP_HEAD : OP_GET);
		return op_get(c, q, buf, bucket, key, head);
	}
	if (!strcmp(q->method, "DELETE")) {
		count_op(OP_DELETE);
		return op_delete(c, q, bucket, key);
	}
	count_op(OP_OTHER);
	return s3_error(c, q, 501, "NotImplemented", "%s ?%s", q->method, q->query);
}

/* The control listener: GET /stats, POST /reset (the counters), POST /drop (every object and upload). */
static int
ctl_request(struct io *c, struct req *q)
{
	char body[8192];
	int n = 0;

	q->body_done = q->clen <= 0;
	if (!strcmp(q->method, "POST") && !strcmp(q->path, "/reset")) {
		pthread_mutex_lock(&g_m);
		memset(&st, 0, sizeof st);
		pthread_mutex_unlock(&g_m);
		return respond(c, q, 200, "OK", NULL, "ok\n", 3, 0);
	}
	if (!strcmp(q->method, "POST") && !strcmp(q->path, "/drop")) {
		store_reset();
		return respond(c, q, 200, "OK", NULL, "ok\n", 3, 0);
	}
	if (strcmp(q->method, "GET") || strcmp(q->path, "/stats"))
		return respond(c, q, 404, "Not Found", NULL, "no\n", 3, 0);
	pthread_mutex_lock(&g_m);
	n += snprintf(body + n, sizeof body - (size_t)n,
		      "{\"http_conns\":%lu,\"https_conns\":%lu,\"tls_handshakes\":%lu,\"http_requests\":%lu,"
		      "\"https_requests\":%lu,\"bytes_in\":%llu,\"bytes_out\":%llu,\"ciphers\":{",
		      st.conns[0], st.conns[1], st.handshakes, st.requests[0], st.requests[1], st.bytes_in, st.bytes_out);
	for (int i = 0; i < st.nciphers; i++)
		n += snprintf(body + n, sizeof body - (size_t)n, "%s\"%s\":%lu", i ? "," : "", st.ciphers[i].name,
			      st.ciphers[i].n);
	n += snprintf(body + n, sizeof body - (size_t)n, "},\"ops\":{");
	for (int i = 0, first = 1; i <= OP_OTHER; i++)
		if (st.ops[i]) {
			n += snprintf(body + n, sizeof body - (size_t)n, "%s\"%s\":%lu", first ? "" : ",", opnames[i], st.ops[i]);
			first = 0;
		}
	n += snprintf(body + n, sizeof body - (size_t)n, "}}\n");
	pthread_mutex_unlock(&g_m);
	return respond(c, q, 200, "OK", "Content-Type: application/json\r\n", body, n, 0);
}

/* ---- listeners and connection threads ------------------------------------------------------------- */

struct conn_arg {
	int fd, kind;
};

static void
tally_cipher(SSL *ssl)
{
	char name[80];

	snprintf(name, sizeof name, "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	pthread_mutex_lock(&g_m);
	st.handshakes++;
	int i;
	for (i = 0; i < st.nciphers && strcmp(st.ciphers[i].name, name); i++)
		;
	if (i == st.nciphers && i < (int)(sizeof st.ciphers / sizeof st.ciphers[0])) {
		snprintf(st.ciphers[i].name, sizeof st.ciphers[i].name, "%s", name);
		st.nciphers++;
	}
	if (i < st.nciphers)
		st.ciphers[i].n++;
	pthread_mutex_unlock(&g_m);
}

static void *
conn_main(void *arg)
{
	struct conn_arg ca = *(struct conn_arg *)arg;
	struct io c = {.fd = ca.fd, .https = ca.kind == L_HTTPS};
	struct req *q = malloc(sizeof *q);
	char *buf = malloc(IOBUF);
	struct timeval tv = {300, 0};
	int one = 1;

	free(arg);
	c.rb = malloc(IOBUF);
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (ca.kind != L_CTL) {
		pthread_mutex_lock(&g_m);
		st.conns[ca.kind]++;
		pthread_mutex_unlock(&g_m);
	}
	if (ca.kind == L_HTTPS) {
		c.ssl = SSL_new(g_ssl);
		SSL_set_fd(c.ssl, c.fd);
		if (SSL_accept(c.ssl) <= 0)
			goto out;
		tally_cipher(c.ssl);
	}
	while (!req_read(&c, q)) {
		int rc = ca.kind == L_CTL ? ctl_request(&c, q) : s3_request(&c, q, buf);
		if (rc || q->close || !q->body_done)
			break;
	}
out:
	if (c.ssl) {
		SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	close(c.fd);
	free(c.rb);
	free(buf);
	free(q);
	return NULL;
}

struct listener {
	int fd, kind;
};

static void *
accept_main(void *arg)
{
	struct listener *l = arg;
	pthread_attr_t at;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 512 * 1024);
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			perror("s3sink: accept");
			exit(1);
		}
		struct conn_arg *ca = malloc(sizeof *ca);
		pthread_t t;
		ca->fd = fd;
		ca->kind = l->kind;
		if (pthread_create(&t, &at, conn_main, ca)) {
			close(fd);
			free(ca);
		}
	}
	return NULL;
}

static int
listen_on(int port, int *actual)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 256) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		perror("s3sink: listen");
		exit(1);
	}
	*actual = ntohs(sa.sin_port);
	return fd;
}

int
main(int argc, char **argv)
{
	int http = -1, https = -1, ctl = -1, ports[3] = {0, 0, 0};
	const char *cert = NULL, *key = NULL, *portfile = NULL;
	int64_t prealloc = 0;
	struct listener ls[3];
	pthread_t t;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "s3sink: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--http"))
			http = atoi(v);
		else if (!strcmp(a, "--https"))
			https = atoi(v);
		else if (!strcmp(a, "--ctl"))
			ctl = atoi(v);
		else if (!strcmp(a, "--cert"))
			cert = v;
		else if (!strcmp(a, "--key"))
			key = v;
		else if (!strcmp(a, "--dir"))
			g_dir = v;
		else if (!strcmp(a, "--ports"))
			portfile = v;
		else if (!strcmp(a, "--null-bucket"))
			g_null_bucket = v;
		else if (!strcmp(a, "--prealloc"))
			prealloc = strtoll(v, NULL, 10) << 20;
		else if (!strcmp(a, "--pool"))
			g_pool_max = strtoll(v, NULL, 10) << 20;
		else {
			fprintf(stderr, "s3sink: unknown option %s\n", a);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	crc_init();
	int probe = open(g_dir, O_TMPFILE | O_RDWR, 0600);
	if (probe < 0) {
		fprintf(stderr, "s3sink: cannot make unnamed files in %s: %s\n", g_dir, strerror(errno));
		return 1;
	}
	close(probe);
	pool_prealloc(prealloc < g_pool_max ? prealloc : g_pool_max);
	if (https >= 0) {
		if (!cert || !key) {
			fprintf(stderr, "s3sink: --https needs --cert and --key\n");
			return 2;
		}
		g_ssl = SSL_CTX_new(TLS_server_method());
		SSL_CTX_set_min_proto_version(g_ssl, TLS1_2_VERSION);
		SSL_CTX_set_mode(g_ssl, SSL_MODE_AUTO_RETRY);
		if (SSL_CTX_use_certificate_chain_file(g_ssl, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(g_ssl, key, SSL_FILETYPE_PEM) != 1) {
			ERR_print_errors_fp(stderr);
			return 1;
		}
	}
	int n = 0;
	if (http >= 0)
		ls[n].fd = listen_on(http, &ports[0]), ls[n++].kind = L_HTTP;
	if (https >= 0)
		ls[n].fd = listen_on(https, &ports[1]), ls[n++].kind = L_HTTPS;
	if (ctl >= 0)
		ls[n].fd = listen_on(ctl, &ports[2]), ls[n++].kind = L_CTL;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t, NULL, accept_main, &ls[i])) {
			perror("s3sink: thread");
			return 1;
		}
	if (portfile) {
		char tmp[4096];
		snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%d %d %d\n", ports[0], ports[1], ports[2]) < 0 || fclose(f) || rename(tmp, portfile)) {
			perror("s3sink: ports file");
			return 1;
		}
	}
	fprintf(stderr, "s3sink: http %d https %d ctl %d, data in %s\n", ports[0], ports[1], ports[2], g_dir);
	for (;;)
		pause();
}
