/* s3sink — a fast local S3 stand-in for make bench: PutObject, multipart uploads, GetObject and
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
 * (zeroes the counters) and POST /drop (drops every object and upload; ?bucket=B&prefix=P: the
 * objects of B whose keys start with P). Objects up to 256 KiB are held in memory, larger ones
 * in unnamed tmpfs files (one open descriptor each). PUTs to --null-bucket
 * are decoded and dropped (their size and checksum kept; GET answers 501): the sink's own
 * ceiling, for reference.
 * Freed object data is kept for reuse (--pool MIB, default 4096); --prealloc MIB fills that pool
 * at start so that the first upload measured does not pay for fresh memory either.
 *
 * The parts: conn.c (plain or TLS connections, the counters), http.c (requests, bodies,
 * responses), sum.c (checksums), store.c (objects, uploads, the pool of tmpfs files), put.c and
 * get.c (the S3 operations that write and read), list.c (ListObjectsV2), main.c (routing, the
 * control port, listeners, options). */
#ifndef S3SINK_H
#define S3SINK_H
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define IOBUF (1 << 20)
#define MAXHDR 128
#define MAXPARTS 10000

extern const char *g_dir;
extern const char *g_null_bucket;
extern pthread_mutex_t g_m;     /* the store and the counters */
extern unsigned long g_ids;     /* upload ids, ETags, request ids */
extern int64_t g_pool_max;

/* ---- counters (conn.c) ---------------------------------------------------------------------- */

enum { L_HTTP, L_HTTPS, L_CTL };
struct stats {
	unsigned long conns[2], handshakes, requests[2];
	unsigned long long bytes_in, bytes_out;
	struct { char name[80]; unsigned long n; } ciphers[16];
	int nciphers;
	unsigned long ops[32];
};
extern struct stats st;
extern const char *const opnames[];
enum { OP_PUT, OP_PART, OP_CREATE, OP_COMPLETE, OP_ABORT, OP_GET, OP_HEAD, OP_LIST, OP_DELETE, OP_MKBUCKET,
       OP_HEADBUCKET, OP_OTHER };
void count_op(int op);

/* ---- connections: plain or TLS, with a read buffer (conn.c) --------------------------------- */

struct io {
	int fd;
	SSL *ssl;
	int https;
	char *rb;
	size_t rpos, rlen;
	int dead;
};

ssize_t io_read(struct io *c, void *p, size_t n);
int io_line(struct io *c, char *line, size_t max);
int line_scan(const char *buf, size_t *pos, size_t len, char *line, size_t *n, size_t max);
int io_write(struct io *c, const void *p, size_t n);
int io_sendfile(struct io *c, int fd, off_t off, int64_t n, char *buf);

/* ---- checksums (sum.c) ---------------------------------------------------------------------- */

void crc_init(void);
uint32_t crc_update(int t, uint32_t crc, const unsigned char *p, size_t n);
uint32_t crc_combine(int t, uint32_t a, uint32_t b, uint64_t len_b);
void b64_enc(const unsigned char *p, size_t n, char *out);
int b64_dec(const char *s, unsigned char *out, size_t max);
int crc_kind(const char *alg);
const EVP_MD *digest_of(const char *alg);

/* ---- requests, bodies, responses (http.c) --------------------------------------------------- */

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

const char *hget(const struct req *q, const char *k);
int qget(const struct req *q, const char *name, char *out, size_t max);
int req_read(struct io *c, struct req *q);
int body_init(struct body *b, struct io *c, struct req *q);
ssize_t body_fill(struct body *b, char *p, size_t n);
int body_drain(struct body *b, char *buf);
void http_date(time_t t, char *out, size_t n);
int respond(struct io *c, struct req *q, int status, const char *reason, const char *hdrs, const char *body,
	    int64_t blen, int head_only);
int s3_error(struct io *c, struct req *q, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void xml_escape(const char *s, char *out, size_t max);

/* ---- the store (store.c) -------------------------------------------------------------------- */

/* An object's or a part's bytes, shared by an upload and the objects made of it: in memory up
 * to SMALL_BLOB bytes, else in an unnamed tmpfs file. A file per small object would run a tree
 * of 10,000 objects per tool into the process's limit of open files; neither holds data for the
 * null bucket (fd < 0, mem NULL). */
#define SMALL_BLOB (256 << 10)
struct blob {
	int fd;
	char *mem;
	int64_t cap;    /* mem's size */
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
extern struct obj *g_objs[NHASH];
extern struct upload *g_uploads;

void blob_put(struct blob *b);
int blob_file(void);
void pool_prealloc(int64_t n);
void obj_release(struct obj *o);
int obj_unlink(const char *bucket, const char *key);
struct obj *obj_find(const char *bucket, const char *key);
void obj_insert(struct obj *o);
void store_reset(void);
void store_drop(const char *bucket, const char *prefix);
struct upload *upload_take(const char *id);
void upload_free(struct upload *u);

/* ---- operations (put.c, get.c, list.c) ------------------------------------------------------ */

int op_put(struct io *c, struct req *q, char *buf, const char *bucket, const char *key, const char *upload_id,
	   int partno);
int op_create(struct io *c, struct req *q, const char *bucket, const char *key);
int op_complete(struct io *c, struct req *q, char *buf, const char *bucket, const char *key, const char *id);
int op_abort(struct io *c, struct req *q, const char *id);
int op_get(struct io *c, struct req *q, char *buf, const char *bucket, const char *key, int head);
int op_delete(struct io *c, struct req *q, const char *bucket, const char *key);
int op_list(struct io *c, struct req *q, const char *bucket);

#endif
