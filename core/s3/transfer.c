/* transfer.c — parallel S3 transfers: multipart uploads from files (pread, nothing held in
 * memory) and from streams (bounded part buffers), and multipart copies, on the worker pool of
 * pool.c (downloads are in download.c). https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html */
#include "xfer.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_PARTS 10000
#define MIB ((int64_t)1 << 20)

int64_t
xfer_part_size(int64_t size, int64_t part)
{
	if (size > part * MAX_PARTS) {
		part = (size + MAX_PARTS - 1) / MAX_PARTS;
		part = (part + MIB - 1) / MIB * MIB;
	}
	return part;
}

/* ---- uploads ---------------------------------------------------------------------------- */

/* A byte range of a file, read with pread (parallel parts share the descriptor), or of a
 * stream's part in memory (mem): read in steps, so that an interrupt stops a part on its way. */
struct fsrc {
	struct xfer *x;
	int fd;
	int64_t off, len, pos;
	const char *mem;
	int64_t told;          /* of pos, what x->done counts (xfer_progress_at) */
};

static long
fsrc_read(void *ctx, void *buf, size_t n, struct err *e)
{
	struct fsrc *s = ctx;
	ssize_t k;

	if (xfer_stopped(s->x))
		return err_set(e, E_IO, "interrupted");
	if ((int64_t)n > s->len - s->pos)
		n = (size_t)(s->len - s->pos);
	if (!n)
		return 0;
	if (s->mem)
		memcpy(buf, s->mem + s->off + s->pos, k = (ssize_t)n);
	else
		while ((k = pread(s->fd, buf, n, s->off + s->pos)) < 0 && errno == EINTR)
			;
	if (k < 0)
		return err_set(e, E_IO, "read: %s", strerror(errno));
	if (k == 0)
		return err_set(e, E_IO, "the file shrank while it was being uploaded");
	s->pos += k;
	xfer_progress_at(s->x, s->pos, &s->told, s->pos == s->len);
	return (long)k;
}

static int
fsrc_rewind(void *ctx)
{
	struct fsrc *s = ctx;

	xfer_progress_add(s->x, -s->told);
	s->pos = s->told = 0;
	return 0;
}

struct up {
	const char *bucket, *key, *upload_id;
	const struct s3_put *put;
	struct s3_part *parts;
	int64_t part_size;
	int fd;                /* a file; -1 for a stream */
	char **bufs;           /* a stream: the parts' data, by job */
	int64_t *lens;
	char **free_bufs;      /* buffers ready for the producer */
	int nfree;
	struct s3_put part_put; /* put with the transfer's stop flag: a failed part stops the others' retries */
};

static int
up_part(struct pool *p, int job, struct err *e)
{
	struct up *u = p->ctx;
	struct xfer *x = p->x;
	int rc;

	if (u->fd >= 0) {
		struct fsrc s = {.x = x, .fd = u->fd, .off = (int64_t)job * u->part_size};
		s.len = (int64_t)x->total - s.off < u->part_size ? (int64_t)x->total - s.off : u->part_size;
		struct s3_src src = {fsrc_read, fsrc_rewind, &s, s.len};
		rc = s3_put_body(x->a, u->bucket, u->key, &u->part_put, u->upload_id, job + 1, NULL, &src, s.len, &u->parts[job],
				 e);
	} else {
		struct fsrc s = {.x = x, .fd = -1, .len = u->lens[job], .mem = u->bufs[job]};
		struct s3_src src = {fsrc_read, fsrc_rewind, &s, s.len};
		rc = s3_put_body(x->a, u->bucket, u->key, &u->part_put, u->upload_id, job + 1, NULL, &src, s.len,
				 &u->parts[job], e);
		pthread_mutex_lock(&p->m);
		u->free_bufs[u->nfree++] = u->bufs[job];
		u->bufs[job] = NULL;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->m);
	}
	return rc;
}

/* Aborts the upload after a failure, so that no parts are left to pay for. */
static void
abort_upload(struct xfer *x, const char *bucket, const char *key, const char *upload_id, struct err *e)
{
	struct err ae = {0};

	if (!upload_id)
		return;
	if (s3_mpu_abort(x->a, bucket, key, upload_id, &ae)) {
		char m[sizeof e->msg];
		snprintf(m, sizeof m, "%s (AbortMultipartUpload %s also failed: %s)", e->msg, upload_id, ae.msg);
		memcpy(e->msg, m, sizeof m);
	} else {
		dbg("aborted multipart upload %s", upload_id);
	}
}

/* Nothing completes after an interrupt: what was read by then (a stream cut short by the same
 * signal ends in EOF) must not replace the object. */
static int
interrupted(struct xfer *x, struct err *e)
{
	return xfer_stopped(x) ? err_set(e, E_IO, "interrupted") : 0;
}

static int
complete(struct xfer *x, const char *bucket, const char *key, const struct s3_put *put, const char *id,
	 const struct s3_part *parts, int n, struct err *e)
{
	if (interrupted(x, e) || s3_mpu_complete(x->a, bucket, key, put, id, parts, n, e)) {
		xfer_set_op(x, "CompleteMultipartUpload");
		return -1;
	}
	return 0;
}

int
xfer_upload_file(struct xfer *x, int fd, int64_t size, const char *bucket, const char *key, const struct s3_put *put,
		 struct err *e)
{
	int64_t ps = xfer_part_size(size, x->part_size);
	char *id = NULL;
	int rc = -1, all = 1;

	x->total = (uint64_t)size;
	x->done = 0;
	x->stop = 0;
	x->op[0] = 0;
	if (size <= x->part_size) {
		struct fsrc s = {.x = x, .fd = fd, .len = size};
		struct s3_src src = {fsrc_read, fsrc_rewind, &s, size};
		if (s3_put_body(x->a, bucket, key, put, NULL, 0, NULL, &src, size, NULL, e)) {
			xfer_set_op(x, "PutObject");
			return -1;
		}
		return 0;
	}
	int n = (int)((size + ps - 1) / ps);
	if (s3_mpu_create(x->a, bucket, key, put, &id, e)) {
		xfer_set_op(x, "CreateMultipartUpload");
		return -1;
	}
	dbg("multipart upload %s: %d parts of %lld bytes", id, n, (long long)ps);
	struct up *u = xcalloc(1, sizeof *u);
	*u = (struct up){bucket, key, id, put, xcalloc((size_t)n, sizeof(struct s3_part)), ps, fd, NULL, NULL, NULL, 0, *put};
	u->part_put.stop = &x->stop;
	struct pool *p = xpool_new(x, up_part, u, n, "UploadPart", 1);
	if (xpool_start(p, xpool_workers(x, n), e) || xpool_wait(p, &all, e) ||
	    complete(x, bucket, key, put, id, u->parts, n, e)) {
		abort_upload(x, bucket, key, id, e);
		goto done;
	}
	rc = 0;
done:
	xpool_free(p, all);
	if (all) {
		free(u->parts);
		free(u);
		free(id);
	}
	return rc;
}

/* Reads up to n bytes (less only at EOF); -1 on error or interrupt. */
static int64_t
read_full(struct xfer *x, int fd, char *b, int64_t n, struct err *e)
{
	int64_t got = 0;

	while (got < n) {
		struct pollfd pf = {fd, POLLIN, 0};
		if (xfer_stopped(x))
			return err_set(e, E_IO, "interrupted");
		/* Wait in steps: a failed part or an interrupt must not wait for a silent pipe. A
		 * signal ends the poll (EINTR): back to the check, never on to a read that blocks. */
		int ready = poll(&pf, 1, 200);
		if (ready < 0 && errno != EINTR)
			return err_set(e, E_IO, "read from standard input: %s", strerror(errno));
		if (ready <= 0)
			continue;
		ssize_t k = read(fd, b + got, (size_t)(n - got > (1 << 30) ? 1 << 30 : n - got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return err_set(e, E_IO, "read from standard input: %s", strerror(errno));
		if (!k)
			break;
		got += k;
	}
	return got;
}

/* A stream's parts: b (len bytes) first, then more read into free buffers (one per worker at
 * most, the first continuing from the look-ahead byte extra), each handed to the workers as it
 * fills, until EOF, a failure or MAX_PARTS. Returns the number of parts handed over. */
static int
feed_parts(struct xfer *x, struct pool *p, struct up *u, int fd, char *b, int64_t len, char extra, int nbufs,
	   struct err *e)
{
	int64_t ps = u->part_size;
	int part = 0, nalloc = 1, eof = 0;

	for (;;) {
		/* Hand the filled buffer to the workers. */
		pthread_mutex_lock(&p->m);
		u->bufs[part] = b;
		u->lens[part] = len;
		p->avail = ++part;
		pthread_cond_broadcast(&p->cv);
		if (eof || p->failed) {
			pthread_mutex_unlock(&p->m);
			break;
		}
		if (part == MAX_PARTS) {
			pthread_mutex_unlock(&p->m);
			int64_t k = read_full(x, fd, &extra, 1, e);
			if (k > 0)
				err_set(e, E_USAGE, "standard input is longer than %d parts of %lld bytes: use a larger "
						    "--part-size or give --expected-size", MAX_PARTS, (long long)ps);
			if (k) {
				xfer_set_op(x, k > 0 ? "UploadPart" : "read");
				pthread_mutex_lock(&p->m);
				xpool_fail(p, e);
				pthread_mutex_unlock(&p->m);
			}
			break;
		}
		/* A free buffer: a new one while fewer than the workers exist, else a returned one. */
		b = NULL;
		while (!p->failed && !u->nfree && nalloc >= nbufs)
			xpool_step(p);
		if (p->failed) {
			pthread_mutex_unlock(&p->m);
			break;
		}
		b = u->nfree ? u->free_bufs[--u->nfree] : (nalloc++, xmalloc((size_t)ps));
		pthread_mutex_unlock(&p->m);
		/* Continue from the look-ahead byte. */
		int64_t off = 0;
		if (part == 1) {
			b[0] = extra;
			off = 1;
		}
		int64_t k = read_full(x, fd, b + off, ps - off, e);
		if (k < 0) {
			free(b); /* not handed over */
			xfer_set_op(x, "read");
			pthread_mutex_lock(&p->m);
			xpool_fail(p, e);
			pthread_mutex_unlock(&p->m);
			break;
		}
		len = off + k;
		eof = len < ps;
		if (!len) { /* the stream ended on a part boundary */
			pthread_mutex_lock(&p->m);
			u->free_bufs[u->nfree++] = b;
			pthread_mutex_unlock(&p->m);
			break;
		}
	}
	return part;
}

int
xfer_upload_stream(struct xfer *x, int fd, const char *bucket, const char *key, const struct s3_put *put,
		   int64_t expected, struct err *e)
{
	int64_t ps = expected > 0 ? xfer_part_size(expected, x->part_size) : x->part_size;
	int nbufs = xpool_workers(x, 1 << 30), part = 0, all = 1, rc = -1;
	struct up *u = xcalloc(1, sizeof *u);
	struct pool *p = NULL;
	char *id = NULL, *b = xmalloc((size_t)ps);
	int64_t len;
	char extra;

	x->total = expected > 0 ? (uint64_t)expected : 0;
	x->done = 0;
	x->stop = 0;
	x->op[0] = 0;
	/* The first part: a stream that fits in it goes as one PutObject (one byte of look-ahead
	 * tells a stream of exactly one part size from a longer one). */
	if ((len = read_full(x, fd, b, ps, e)) < 0) {
		xfer_set_op(x, "read");
		goto fail;
	}
	int64_t more = len == ps ? read_full(x, fd, &extra, 1, e) : 0;
	if (more < 0) {
		xfer_set_op(x, "read");
		goto fail;
	}
	if (!more) {
		x->total = (uint64_t)len;
		if (interrupted(x, e) || s3_put_body(x->a, bucket, key, put, NULL, 0, b, NULL, len, NULL, e)) {
			xfer_set_op(x, "PutObject");
			goto fail;
		}
		xfer_progress_add(x, len);
		rc = 0;
		goto fail;
	}
	if (interrupted(x, e) || s3_mpu_create(x->a, bucket, key, put, &id, e)) {
		xfer_set_op(x, "CreateMultipartUpload");
		goto fail;
	}
	*u = (struct up){bucket, key, id, put, xcalloc(MAX_PARTS, sizeof(struct s3_part)), ps, -1,
			 xcalloc(MAX_PARTS, sizeof(char *)), xcalloc(MAX_PARTS, sizeof(int64_t)),
			 xcalloc((size_t)nbufs, sizeof(char *)), 0, *put};
	u->part_put.stop = &x->stop;
	p = xpool_new(x, up_part, u, -1, "UploadPart", 1);
	if (xpool_start(p, nbufs, e)) {
		abort_upload(x, bucket, key, id, e);
		goto fail;
	}
	part = feed_parts(x, p, u, fd, b, len, extra, nbufs, e);
	pthread_mutex_lock(&p->m);
	p->total = p->avail;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->m);
	b = NULL;
	if (xpool_wait(p, &all, e) || complete(x, bucket, key, put, id, u->parts, part, e)) {
		abort_upload(x, bucket, key, id, e);
		goto fail;
	}
	rc = 0;
fail:
	free(b);
	if (p) {
		xpool_free(p, all);
		if (!all)
			return rc; /* workers may still use what u holds */
		for (int i = 0; i < part; i++)
			free(u->bufs[i]);
		for (int i = 0; i < u->nfree; i++)
			free(u->free_bufs[i]);
		free(u->parts), free(u->bufs), free(u->lens), free(u->free_bufs);
	}
	free(u);
	free(id);
	return rc;
}

/* ---- copies ----------------------------------------------------------------------------- */

struct cp {
	const char *sbucket, *skey, *bucket, *key, *upload_id, *etag;
	const struct s3_put *put;
	struct s3_part *parts;
	int64_t size, part_size;
	struct s3_put part_put; /* as in struct up */
};

static int
cp_part(struct pool *p, int job, struct err *e)
{
	struct cp *c = p->ctx;
	int64_t first = (int64_t)job * c->part_size;
	int64_t last = (first + c->part_size < c->size ? first + c->part_size : c->size) - 1;

	if (xfer_stopped(p->x))
		return err_set(e, E_IO, "interrupted");
	if (s3_part_copy(p->x->a, c->sbucket, c->skey, c->bucket, c->key, c->upload_id, job + 1, first, last, c->etag,
			 &c->part_put, &c->parts[job], e))
		return -1;
	xfer_progress_add(p->x, last - first + 1);
	return 0;
}

/* The headers a copy writes when it cannot let S3 carry them (a multipart copy), or when some
 * change (REPLACE): the source's content headers and user metadata, with what was asked for
 * in their place (--metadata replaces the whole user metadata). -1 if they do not fit. */
static int
copy_headers(const struct s3obj *so, const struct s3_put *put, struct s3_put *pp, struct kv *meta, char **owned,
	     struct err *e)
{
	static const char *const keep[] = {"content-type", "cache-control", "content-disposition",
					   "content-encoding", "content-language", "expires"};
	const struct buf *h = &so->head;
	struct slice k, v;
	size_t pos = 0;
	int n = 0;

	*pp = *put;
	pp->meta = meta;
	while (http_next_header(h, &pos, &k, &v)) {
		int want = k.n > 11 && !strncasecmp(k.p, "x-amz-meta-", 11) && !put->nmeta;
		for (size_t i = 0; i < COUNT(keep); i++)
			want |= slice_ieq(k, keep[i]);
		if ((put->content_type && slice_ieq(k, "content-type")) || (put->cache_control && slice_ieq(k, "cache-control")))
			want = 0;
		if (!want)
			continue;
		if (n == S3_COPY_META_MAX)
			return err_set(e, E_IO, "the source has more than %d metadata headers to carry over", S3_COPY_META_MAX);
		owned[2 * n] = slice_dup(k);
		owned[2 * n + 1] = slice_dup(v);
		meta[n] = (struct kv){owned[2 * n], owned[2 * n + 1]};
		n++;
	}
	for (int i = 0; i < put->nmeta; i++)
		meta[n++] = put->meta[i];
	pp->nmeta = n;
	return 0;
}

int
xfer_copy(struct xfer *x, const char *sbucket, const char *skey, const struct s3obj *so, const char *bucket,
	  const char *key, const struct s3_put *put, int replace_meta, int64_t threshold, struct err *e)
{
	int64_t ps = xfer_part_size(so->size, x->part_size);
	char *id = NULL, *owned[2 * S3_COPY_META_MAX] = {0};
	int rc = -1, all = 1, n;
	struct s3_put pp;
	struct kv meta[S3_COPY_META_MAX + S3_META_MAX];

	x->total = (uint64_t)so->size;
	x->done = 0;
	x->stop = 0;
	x->op[0] = 0;
	if ((so->size > threshold || replace_meta) && copy_headers(so, put, &pp, meta, owned, e)) {
		xfer_set_op(x, "CopyObject");
		goto done;
	}
	if (so->size <= threshold) {
		if (s3_copy_object(x->a, sbucket, skey, bucket, key, replace_meta ? &pp : put, replace_meta, e)) {
			xfer_set_op(x, "CopyObject");
			goto done;
		}
		xfer_progress_add(x, so->size);
		rc = 0;
		goto done;
	}
	n = (int)((so->size + ps - 1) / ps);
	if (s3_mpu_create(x->a, bucket, key, &pp, &id, e)) {
		xfer_set_op(x, "CreateMultipartUpload");
		goto done;
	}
	struct cp *c = xcalloc(1, sizeof *c);
	*c = (struct cp){sbucket, skey, bucket, key, id, so->etag, put, xcalloc((size_t)n, sizeof(struct s3_part)),
			 so->size, ps, *put};
	c->part_put.stop = &x->stop;
	struct pool *p = xpool_new(x, cp_part, c, n, "UploadPartCopy", 1);
	if (xpool_start(p, xpool_workers(x, n), e) || xpool_wait(p, &all, e) ||
	    complete(x, bucket, key, put, id, c->parts, n, e))
		abort_upload(x, bucket, key, id, e);
	else
		rc = 0;
	xpool_free(p, all);
	if (all) {
		free(c->parts);
		free(c);
		free(id);
	}
done:
	for (size_t i = 0; i < COUNT(owned); i++)
		free(owned[i]);
	return rc;
}
