/* s3.h — the s3 layer of core: S3 objects: URLs, checksums, listings, writes, parallel transfers (ARCHITECTURE.md). */
#ifndef AWSBOX_S3_H
#define AWSBOX_S3_H
#include "api/api.h"

#include <regex.h>

/* ---- s3.c, s3put.c: S3 objects for s3cp and s3watch ---------------------------------- */
/* s3://BUCKET/KEY. Caller-owned; s3url_free frees key. */
struct s3url {
	char bucket[256];
	char *key; /* raw (not encoded); "" for s3://BUCKET and s3://BUCKET/ */
};
int s3_is_url(const char *s); /* starts with s3:// */
/* Parses s: the bucket as botocore accepts it ([A-Za-z0-9._-], legacy names included; the service
 * enforces the rest), the key valid UTF-8 of at most 1024 bytes (E_USAGE otherwise). */
int s3_parse_url(const char *s, struct s3url *u, struct err *e);
/* Content-Type from a name's extension (the common ones; NULL: let S3 default it). */
const char *s3_content_type(const char *name);
/* Whether a key's part below a prefix is a safe relative path to write to (no "..", not empty,
 * not a "directory" ending in '/'): s3cp -r downloads. */
int s3_rel_path_safe(const char *rel);
int s3_valid_key(const char *k, size_t n, struct err *e);
/* --metadata's KEY=VALUE as a header: out->name "x-amz-meta-key" (lower case, xmalloc'd; the key
 * letters, digits, '-', '_', '.'), out->value borrowed from kv (printable ASCII); E_USAGE if not. */
int s3_meta_parse(const char *kv, struct kv *out, struct err *e);
void s3url_free(struct s3url *u);

/* Checksums S3 knows (and MD5, for single-part ETags). */
enum { S3_CK_NONE, S3_CK_CRC32C, S3_CK_CRC32, S3_CK_CRC64NVME, S3_CK_SHA256, S3_CK_SHA1, S3_CK_MD5 };
const char *s3_ck_name(int ck);  /* "crc32c": as in x-amz-checksum-crc32c */
const char *s3_ck_upper(int ck); /* "CRC32C": as in x-amz-checksum-algorithm and ChecksumCRC32C */
int s3_ck_parse(const char *name); /* case-insensitive; -1 if unknown */
int s3_ck_is_crc(int ck);
/* A running checksum of any kind. Caller-owned, nothing to free. */
struct s3_sum {
	int ck;
	uint64_t crc;
	uint64_t ctx[32]; /* BearSSL hash context */
};
void s3_sum_init(struct s3_sum *s, int ck);
void s3_sum_update(struct s3_sum *s, const void *p, size_t n);
size_t s3_sum_raw(const struct s3_sum *s, unsigned char raw[64]); /* digest bytes (CRCs big-endian) */
void s3_sum_b64(const struct s3_sum *s, char out[96]);             /* as x-amz-checksum-* carry it */
void s3_crc_b64(int ck, uint64_t crc, char out[96]);
/* CRC of A||B from crc(A), crc(B) and len(B); ck a CRC. Parallel pieces combine into the whole. */
uint64_t s3_crc_combine(int ck, uint64_t crc_a, uint64_t crc_b, uint64_t len_b);

/* What HeadObject (or a GET's headers) says about an object. Caller-owned; s3obj_free. */
struct s3obj {
	int status;
	int64_t size;          /* Content-Length (of the part, for ?partNumber) */
	time_t mtime;
	char etag[100];        /* as sent, quotes included */
	int mp_parts;          /* N of a multipart ETag "...-N", else 0 */
	int parts_count;       /* x-amz-mp-parts-count (HEAD ?partNumber), else 0 */
	int ck;                /* S3_CK_* of the checksum S3 reported; S3_CK_NONE if none */
	char ckval[100];       /* its base64 value without a "-N" */
	int ck_composite;      /* a checksum of the parts' checksums, not of the data */
	int ck_parts;          /* its N, when known */
	int kms;               /* SSE-KMS or SSE-C: the ETag is not the MD5 of the data */
	int listed;            /* only size known, from a listing: xfer_download's GET answer tells the rest */
	struct buf head;       /* the response's header lines ("name: value\n"), for copying metadata */
};
/* HeadObject with x-amz-checksum-mode: ENABLED (part > 0: ?partNumber=part). A 404 (no such key
 * or bucket: a HEAD answer has no body to tell) is E_AWS status 404 without a code. */
int s3_head(struct aws *a, const char *bucket, const char *key, int part, struct s3obj *o, struct err *e);
/* After a HEAD of bucket/key failed (its answer has no body to explain it): a 404 is rewritten,
 * after a HeadBucket, to say whether the bucket or the key is missing (NoSuchBucket/NoSuchKey) and
 * that a '*' in the key is not expanded; a 403 takes S3's code and message from a one-byte GET.
 * Anything else is left as it is. */
void s3_explain_head(struct aws *a, const char *bucket, const char *key, struct err *e);
void s3obj_from_resp(const struct http_resp *r, struct s3obj *o);
/* HeadObject: 1 if bucket/key is there, 0 if S3 answers 404 (or 403, when forbidden_absent: a
 * bucket that does not let us list answers a missing key so), else -1 with e. */
int s3_exists(struct aws *a, const char *bucket, const char *key, int forbidden_absent, struct err *e);
void s3obj_free(struct s3obj *o);

/* ListObjectsV2, one page (up to 1,000 keys) in memory at a time. Zero-initialise, set bucket and
 * prefix (borrowed), call s3_list_next until it returns 0, then s3_list_free. */
struct s3_entry {
	const char *key;  /* decoded; valid until the next call */
	size_t key_len;
	int64_t size;
	time_t mtime;
	char etag[100];
};
struct s3_list {
	const char *bucket, *prefix;
	int max_keys;      /* 0: the service's (1,000) */
	double deadline;   /* for each page's call: aws_req.deadline */
	time_t server_now; /* Date of the last page; 0 if none */
	/* private */
	struct buf page, token, key;
	struct xml root;
	size_t pos;
	int have_page, truncated, done, encoded;
};
int s3_list_next(struct aws *a, struct s3_list *l, struct s3_entry *ent, struct err *e); /* 1, 0 end, -1 */
void s3_list_free(struct s3_list *l);

/* An upload body read from somewhere (a file with pread, a buffer): len bytes; read fills up
 * to n (returns the count, -1 with e on error); rewind goes back to the start for a retry. */
struct s3_src {
	long (*read)(void *ctx, void *buf, size_t n, struct err *e);
	int (*rewind)(void *ctx);
	void *ctx;
	int64_t len;
};
/* aws-chunked with a trailing checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER): s3_chunked_init sets
 * body to send src in 64 KiB chunks and "x-amz-checksum-NAME:VALUE" after them; c owns a small
 * buffer for the framing (s3_chunked_free). Rewinds with src. c->sum holds the checksum once body
 * is sent. */
#define CHUNKED_FRAME 192
struct s3_chunked {
	struct s3_src src;
	int ck;
	struct s3_sum sum;
	char trailer[40]; /* x-amz-checksum-NAME, for x-amz-trailer */
	char *buf;
	size_t pos, len; /* the framing not yet read */
	size_t chunk;    /* the current chunk's data not yet read */
	int64_t left;    /* the source's bytes not yet read */
	int state;
};
void s3_chunked_init(struct s3_chunked *c, const struct s3_src *src, int ck, struct http_body *body);
void s3_chunked_free(struct s3_chunked *c);

/* What an upload sends besides its data. Strings borrowed; meta are full header names
 * ("x-amz-meta-k") and values; at most 20. */
#define S3_META_MAX 20      /* --metadata pairs a command line may give */
#define S3_COPY_META_MAX 40 /* a source's content headers and user metadata a copy carries over */
#define S3_PUT_HDRS (16 + S3_COPY_META_MAX + S3_META_MAX) /* room for put_headers */
struct s3_put {
	const char *acl, *sse, *kms_key, *storage_class, *content_type, *cache_control;
	const struct kv *meta;
	int nmeta;
	int no_overwrite; /* If-None-Match: * (PutObject, CompleteMultipartUpload) */
	int ck;           /* S3_CK_NONE, CRC32C, CRC32 or SHA256 */
	const int *stop;  /* a parallel transfer's stop flag for its parts (aws_req.stop); NULL: none */
};
struct s3_part {
	char etag[100];
	char ck[96]; /* base64 checksum of the part ("" if none) */
	int64_t size;
};
/* 1 if S3 for bucket is reached over TLS, 0 plain HTTP, -1 on error. */
int s3_tls(struct aws *a, const char *bucket, struct err *e);
/* PutObject (part 0) or UploadPart (part >= 1 of upload_id) of len bytes from mem, or streamed from
 * src when mem is NULL. Over TLS the payload is not hashed: the checksum goes in a header (mem) or
 * an aws-chunked trailer (src); over plain HTTP the payload's SHA-256 is signed, as botocore does,
 * and src is read twice. out (may be NULL) receives the ETag and checksum. */
int s3_put_body(struct aws *a, const char *bucket, const char *key, const struct s3_put *p, const char *upload_id,
		int part, const void *mem, const struct s3_src *src, int64_t len, struct s3_part *out, struct err *e);
/* CreateMultipartUpload; *upload_id is xmalloc'd. */
int s3_mpu_create(struct aws *a, const char *bucket, const char *key, const struct s3_put *p, char **upload_id,
		  struct err *e);
/* CompleteMultipartUpload of parts 1..n (an <Error> in a 200 answer is an error, retried if
 * InternalError). */
int s3_mpu_complete(struct aws *a, const char *bucket, const char *key, const struct s3_put *p, const char *upload_id,
		    const struct s3_part *parts, int n, struct err *e);
int s3_mpu_abort(struct aws *a, const char *bucket, const char *key, const char *upload_id, struct err *e); /* NoSuchUpload is success */
int s3_delete(struct aws *a, const char *bucket, const char *key, struct err *e);
/* CopyObject (x-amz-metadata-directive COPY, or REPLACE with p's content type, cache control
 * and metadata). */
int s3_copy_object(struct aws *a, const char *sbucket, const char *skey, const char *bucket, const char *key,
		   const struct s3_put *p, int replace_meta, struct err *e);
/* UploadPartCopy of source bytes first..last (inclusive); p: the upload's checksum algorithm
 * (ck) and stop flag. */
int s3_part_copy(struct aws *a, const char *sbucket, const char *skey, const char *bucket, const char *key,
		 const char *upload_id, int part, int64_t first, int64_t last, const char *if_match,
		 const struct s3_put *p, struct s3_part *out, struct err *e);

/* ---- transfer.c, download.c: parallel S3 transfers (s3cp) ---------------------------- */
/* Settings and progress of transfers. Caller-owned; one transfer at a time per struct. Workers
 * are threads sharing a (region and credentials must be resolved before). An interrupt (*cancel
 * set, e.g. by a signal handler) stops them; a transfer then returns -1 "interrupted" within
 * about 2 s even if a worker is stuck in a request (that worker's memory is then left alone). */
struct xfer {
	struct aws *a;
	int concurrency;                 /* parallel requests; 0: 8 */
	int64_t part_size;               /* raised to stay within 10,000 parts */
	volatile int *cancel;            /* may be NULL; set from a signal handler */
	/* called from the calling thread about 5 times a second while workers run */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	char verified[64];               /* after a download: the checksum checked ("crc32c",
					  * "composite crc32", "md5"), "" if none could be */
	char unverified[160];            /* and why not, when S3 stored none that could be checked
					  * (the caller says so: "not verified: ..."); "" otherwise */
	char op[48];                     /* after a failure: the request that failed ("UploadPart 3",
					  * "CompleteMultipartUpload") or "read" (the source) */
	int on_worker;                   /* the caller is a worker thread (s3cp -r's queue; signals
					  * blocked, interrupts and progress another thread's): a
					  * transfer of one request runs on it, starting no thread */
	/* private */
	int stop;
	uint64_t done, total;
};
/* The part size for size bytes: part, raised (to a whole MiB) to stay within 10,000 parts. */
int64_t xfer_part_size(int64_t size, int64_t part);
/* Uploads size bytes of the file fd (read with pread): PutObject up to the part size, else a
 * multipart upload in parallel; a failed or interrupted multipart upload is aborted. */
int xfer_upload_file(struct xfer *x, int fd, int64_t size, const char *bucket, const char *key, const struct s3_put *p,
		     struct err *e);
/* Uploads a stream (stdin) until EOF: memory is at most concurrency x part size. expected > 0:
 * its approximate size, to choose the part size. */
int xfer_upload_stream(struct xfer *x, int fd, const char *bucket, const char *key, const struct s3_put *p,
		       int64_t expected, struct err *e);
/* Downloads the object o (from s3_head) to fd: with pwrite at offsets when seekable, else in
 * order through a window of concurrency pieces. Verifies what S3 stored (full-object checksum,
 * composite checksum part by part, or a single-part ETag's MD5) unless ck is S3_CK_NONE; a
 * mismatch is E_IO "checksum mismatch". The object may not change meanwhile (If-Match).
 * o->listed (a listing's object of at most the part size, to a seekable fd): one GET and no
 * HeadObject, its answer's headers standing in for the HEAD's; when they show an object whose
 * check needs its parts (a composite checksum), HeadObject and the download above follow. */
int xfer_download(struct xfer *x, const char *bucket, const char *key, const struct s3obj *o, int ck, int fd,
		  int seekable, struct err *e);
/* Independent jobs on the same worker pool (s3cp -r: one per object that takes one request), as
 * they come: up to x->concurrency at once, each job run(ctx, job) on a worker thread (signals
 * blocked there). A job's failure is run's to report; the others go on. xqueue_add blocks while
 * 256 jobs wait, calling x->progress (done counts the jobs finished) about 5 times a second; it
 * returns -1 after an interrupt (*x->cancel), leaving the job to the caller. xqueue_finish
 * waits for every job (after an interrupt, 3 s at most) and frees q; drop (may be NULL)
 * receives the jobs never started. xqueue_start returns NULL with e when no thread starts. */
struct xqueue;
struct xqueue *xqueue_start(struct xfer *x, int (*run)(void *ctx, void *job), void (*drop)(void *job), void *ctx,
			    struct err *e);
int xqueue_add(struct xqueue *q, void *job);
/* Called by a job after an interrupt: its worker stops here for good, leaving the job's state
 * untouched for transfer threads that may still be in a request; not waited for, never returns. */
NORETURN void xqueue_park(struct xqueue *q);
int xqueue_finish(struct xqueue *q, struct err *e);
/* Server-side copy of so (from s3_head of the source): CopyObject up to threshold bytes, else a
 * multipart copy (UploadPartCopy in parallel) carrying the source's metadata unless replace_meta. */
int xfer_copy(struct xfer *x, const char *sbucket, const char *skey, const struct s3obj *so, const char *bucket,
	      const char *key, const struct s3_put *p, int replace_meta, int64_t threshold, struct err *e);

/* ---- tree.c: recursive copies (s3cp -r) ------------------------------------------------- */
/* One object of a tree copy: an upload (path to bucket/key), a download (sbucket/skey to path) or
 * a server-side copy (sbucket/skey to bucket/key). Borrowed strings. */
enum { S3_TREE_UP, S3_TREE_DOWN, S3_TREE_COPY };
struct s3_item {
	int kind;
	const char *path, *sbucket, *skey, *bucket, *key;
	int64_t size;     /* as listed or found in the directory */
	const char *etag; /* as listed (S3_TREE_DOWN, S3_TREE_COPY); NULL otherwise */
};
/* A tree copy: the regular files under a directory (symbolic links followed, a link back to a
 * directory being walked skipped) or the objects under a prefix, in order, each whose path below
 * the source is selected to its place below the destination. An object that takes one request
 * (up to x->part_size; a copy up to copy_threshold) is a job on the worker pool (xqueue,
 * x->concurrency at once); a larger one is copied on the calling thread meanwhile, with x's part
 * pool. Caller-owned: zero-initialise, set the fields above "private", then s3_tree_dir or
 * s3_tree_list, then s3_tree_wait. The callbacks report (core does not print): */
struct s3_tree {
	struct xfer *x;
	int64_t copy_threshold;
	regex_t inc[16], exc[16]; /* selected: matches an inc (or there are none) and no exc */
	int ninc, nexc;
	void *ctx;
	/* copies one object and reports its failure; on a pool thread (worker 1; x its own, one part
	 * at a time) or on the calling thread (x the tree's) */
	void (*copy)(void *ctx, struct xfer *x, const struct s3_item *it, int worker);
	/* an entry not copied: e the failure, op the request ("" if none), what the path or key;
	 * or e NULL: what left out (a special file, a link back up the tree), op says why */
	void (*report)(void *ctx, const struct err *e, const char *op, const char *what);
	void (*progress)(void *ctx, uint64_t done, uint64_t total); /* jobs done, while the queue is full */
	int count;  /* the objects selected so far */
	int halted; /* set by the caller (atomically) after a failure every object would meet: the
		     * selected objects are counted here from then on, not copied */
	/* private */
	struct xqueue *q;
	struct xfer qx;
};
/* dir's files to bucket under prefix (which ends with '/' or is ""); -1 with e only when the
 * pool cannot start (each entry's failure goes to report). Both stop early at an interrupt
 * (*x->cancel). */
int s3_tree_dir(struct s3_tree *t, const char *dir, const char *bucket, const char *prefix, struct err *e);
/* The objects under bucket/prefix to the directory dst, or to dbucket under the prefix dst. */
int s3_tree_list(struct s3_tree *t, const char *bucket, const char *prefix, const char *dst, const char *dbucket,
		 struct err *e);
int s3_tree_selected(const struct s3_tree *t, const char *rel);
/* The key a copy of name gets when the destination is key: key itself if it names an object,
 * else name below it (key is "" or ends with '/'). xmalloc'd. */
char *s3_key_for(const char *key, const char *name);
/* key as a prefix to put objects under: with a '/' added unless it is "" or ends with one. */
char *s3_prefix(const char *key);
/* An error that is not about one object (no such bucket, credentials refused): every other
 * object of the bucket would fail the same way. */
int s3_err_runwide(const struct err *e);
/* Waits for the queued objects (after an interrupt, 3 s at most): 1 if there were any, else 0. */
int s3_tree_wait(struct s3_tree *t);
/* xqueue_park for a job's thread after an interrupt. */
NORETURN void s3_tree_park(struct s3_tree *t);

#endif
