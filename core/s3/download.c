/* download.c — parallel S3 downloads for s3cp: ranges (or S3's parts, for composite checksums)
 * fetched in parallel, written with pwrite to a file (in batches) or in order to a stream (the
 * next piece by its own worker as it arrives, the ones after it held in a bounded window of
 * reused buffers). A range cut short resumes where it stopped. What is checked against what S3
 * stored, and the checks, are dlcheck.c's. */
#include "dl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* File output: a piece's bytes gather in a buffer this large before each pwrite, rather than one
 * pwrite per TLS record: fewer system calls and fewer turns at the file's lock (1 MiB saved no
 * more CPU than 256 KiB, and cost 6 MiB more of peak memory at 8 workers). */
#define BATCH ((size_t)1 << 18)

struct getctx {
	struct pool *p;
	struct dl *d;
	struct piece *pc;
	int job, started;
	int64_t from;           /* bytes of the piece in hand from an attempt cut short: this one resumes */
	int64_t wat;            /* file output: the offset of the batch in pc->mem */
	size_t wlen;            /* and its length */
	int64_t told;           /* of pc->got, what x->done counts (xfer_progress_at) */
};

/* Gives b back for reuse (the caller holds the pool's lock). */
static void
spare_put_locked(struct dl *d, char *b, size_t cap)
{
	if (!b)
		return;
	if (d->nspare < d->maxspare)
		d->spare[d->nspare++] = (struct spare){b, cap};
	else
		free(b);
}

/* A buffer of at least n bytes (n > 0): a reused one when there is one large enough. */
static char *
spare_get(struct pool *p, struct dl *d, size_t n, size_t *cap)
{
	struct spare s = {NULL, 0};

	pthread_mutex_lock(&p->m);
	if (d->nspare)
		s = d->spare[--d->nspare];
	pthread_mutex_unlock(&p->m);
	if (s.p && s.cap >= n) {
		*cap = s.cap;
		return s.p;
	}
	free(s.p);
	*cap = n;
	return xmalloc(n);
}

static void
piece_release(struct pool *p, struct dl *d, struct piece *pc)
{
	pthread_mutex_lock(&p->m);
	spare_put_locked(d, pc->mem, pc->memcap);
	pthread_mutex_unlock(&p->m);
	pc->mem = NULL;
}

static int
pwrite_all(struct dl *d, const char *s, size_t n, int64_t at, struct err *e)
{
	int rc = 0;

	pthread_mutex_lock(&d->wlock);
	while (n && !rc) {
		ssize_t k = pwrite(d->fd, s, n, at);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			rc = err_set(e, E_IO, "write: %s", k < 0 ? strerror(errno) : "no progress");
		else
			s += k, n -= (size_t)k, at += k;
	}
	pthread_mutex_unlock(&d->wlock);
	return rc;
}

static int
write_all(int fd, const char *p, int64_t n, struct err *e)
{
	while (n > 0) {
		ssize_t k = write(fd, p, (size_t)(n > (1 << 30) ? 1 << 30 : n));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return err_set(e, E_IO, "write to the output: %s", k < 0 ? strerror(errno) : "no progress");
		p += k, n -= k;
	}
	return 0;
}

/* Stream output, by the one thread writing (d->writing): the next bytes in order. */
static int
stream_out(struct dl *d, const char *s, int64_t n, struct err *e)
{
	if (d->verify == V_SEQ && d->n > 1)
		s3_sum_update(&d->seq, s, (size_t)n);
	return write_all(d->fd, s, n, e);
}

/* The piece's next n bytes to the output: at the batch's offset in a file, or next in a stream. */
static int
piece_out(struct getctx *g, const char *s, size_t n, struct err *e)
{
	if (g->d->seekable ? pwrite_all(g->d, s, n, g->wat, e) : stream_out(g->d, s, (int64_t)n, e))
		return -1;
	g->wat += (int64_t)n;
	return 0;
}

/* The batch out; emptied either way (after a failed write the download fails: nothing of it is
 * written again). */
static int
batch_flush(struct getctx *g, struct err *e)
{
	size_t n = g->wlen;

	g->wlen = 0;
	return n ? piece_out(g, g->pc->mem, n, e) : 0;
}

/* File output, or a stream's piece its worker writes: n more bytes of the piece, through the
 * batch (or straight on when it is empty and they would fill it anyway). */
static int
batch_add(struct getctx *g, const char *s, size_t n, struct err *e)
{
	size_t cap = g->pc->memcap < BATCH ? g->pc->memcap : BATCH;

	while (n) {
		if (!g->wlen && n >= cap)
			return piece_out(g, s, n, e);
		size_t k = cap - g->wlen < n ? cap - g->wlen : n;
		memcpy(g->pc->mem + g->wlen, s, k);
		g->wlen += k, s += k, n -= k;
		if (g->wlen == cap && batch_flush(g, e))
			return -1;
	}
	return 0;
}

/* Decimal digits up to the character stop (below 2^62, no sign): the value, or -1. */
static int64_t
num_until(const char **s, char stop)
{
	const char *p = *s;
	int64_t v = 0;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (v >> 58)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (p == *s || *p != stop)
		return -1;
	*s = p + (stop != 0);
	return v;
}

/* "bytes FIRST-LAST/TOTAL" (RFC 9110 14.4) */
static int
content_range(const struct http_resp *r, int64_t *first, int64_t *last, int64_t *total)
{
	char v[100];
	const char *s = v + 6;
	int64_t a, b, t;

	if (http_header_copy(r, "content-range", v, sizeof v) || strncmp(v, "bytes ", 6) || (a = num_until(&s, '-')) < 0 ||
	    (b = num_until(&s, '/')) < 0 || (t = num_until(&s, 0)) < 0 || b < a || t <= b)
		return -1;
	*first = a, *last = b, *total = t;
	return 0;
}

/* o->listed: the GET's answer stands in for HeadObject (the same checks: an ETag and a size, or
 * it is not S3's), and decides what can be checked before the first byte is stored. A composite
 * checksum is checked part by part: that object goes the way of any other (d->redo). */
static int
listed_head(struct getctx *g, const struct http_resp *r, struct err *e)
{
	struct dl *d = g->d;

	if (r->status != 200)
		return err_set(e, E_PROTO, "GetObject: a %d answer without a range asked for", r->status);
	s3obj_from_resp(r, &d->got);
	d->got.status = r->status;
	if (!d->got.etag[0])
		return err_set(e, E_PROTO, "GetObject: the answer has no ETag: not from S3");
	if (d->got.size < 0)
		return err_set(e, E_PROTO, "GetObject: the answer has no Content-Length: not from S3");
	if (d->ck_wanted != S3_CK_NONE && d->got.ck && d->got.ck_composite) {
		d->redo = 1;
		return err_set(e, E_PROTO, "GetObject: a composite checksum, checked part by part");
	}
	d->o = &d->got;
	g->pc->len = d->got.size;
	g->p->x->total = (uint64_t)d->got.size;
	dl_plan(g->p->x, d, d->ck_wanted);
	return 0;
}

/* The response head of a piece, checked before its first byte is stored. */
static int
piece_head(struct getctx *g, const struct http_resp *r, struct err *e)
{
	struct dl *d = g->d;
	struct piece *pc = g->pc;
	int64_t a, b, t;
	int ranged = d->parts || d->n > 1 || g->from;

	if (d->listed && listed_head(g, r, e))
		return -1;
	if (ranged) {
		if (r->status != 206 || content_range(r, &a, &b, &t) || t != d->o->size)
			return err_set(e, E_PROTO, "piece %d: expected a 206 answer with Content-Range for %lld bytes",
				       g->job + 1, (long long)d->o->size);
		if (d->parts) {
			pc->off = a;
			pc->len = b - a + 1;
		} else if (a != pc->off + g->from || b != pc->off + pc->len - 1) {
			return err_set(e, E_PROTO, "piece %d: asked for bytes %lld-%lld, got %lld-%lld", g->job + 1,
				       (long long)(pc->off + g->from), (long long)(pc->off + pc->len - 1), (long long)a,
				       (long long)b);
		}
	} else if (r->status != 200 || (r->content_length >= 0 && r->content_length != pc->len)) {
		return err_set(e, E_PROTO, "GetObject: %lld bytes announced, HeadObject said %lld",
			       (long long)r->content_length, (long long)pc->len);
	}
	if (d->parts) { /* the part's own checksum; without it the composite cannot be checked */
		char name[48];
		snprintf(name, sizeof name, "x-amz-checksum-%s", s3_ck_name(d->ck));
		if (http_header_copy(r, name, pc->ck, sizeof pc->ck) || strchr(pc->ck, '-'))
			pc->ck[0] = 0;
	}
	if (!d->seekable && pc->len > d->cap)
		return err_set(e, E_PROTO, "part %d is %lld bytes: too large to hold for ordered output", g->job + 1,
			       (long long)pc->len);
	/* Stream output holds the whole piece; file output a batch of it. */
	size_t want = d->seekable && pc->len > (int64_t)BATCH ? BATCH : (size_t)pc->len;
	if (pc->mem && pc->memcap < want)
		piece_release(g->p, d, pc);
	if (!pc->mem && (want || !d->seekable))
		pc->mem = spare_get(g->p, d, want ? want : 1, &pc->memcap);
	if (!g->from)
		s3_sum_init(&pc->sum, d->verify == V_NONE || (d->verify == V_SEQ && d->n > 1) ? S3_CK_NONE : d->ck);
	g->wat = pc->off + g->from;
	g->wlen = 0;
	g->started = 1;
	return 0;
}

/* Stream output: the worker of the next piece to go out writes it itself, from the receive buffer
 * through the batch, once every piece before it is out and no other thread is writing: no copy
 * of the piece and no hand-over to the waiting thread, so one range (--concurrency 1, or a ramp
 * at level 1) costs what a single GET to a pipe does. Composite parts stay whole until checked. */
static int
stream_take(struct getctx *g, struct err *e)
{
	struct dl *d = g->d;
	struct piece *pc = g->pc;
	int mine;

	if (__atomic_load_n(&d->written, __ATOMIC_ACQUIRE) != g->job)
		return 0;
	pthread_mutex_lock(&g->p->m);
	if ((mine = d->written == g->job && !d->writing))
		d->writing = pc->direct = 1;
	pthread_mutex_unlock(&g->p->m);
	return mine && pc->got ? stream_out(d, pc->mem, pc->got, e) : 0;
}

static int
piece_sink(void *ctx, const struct http_resp *r, const void *p, size_t n, struct err *e)
{
	struct getctx *g = ctx;
	struct piece *pc = g->pc;
	struct xfer *x = g->p->x;

	if (xfer_stopped(x))
		return err_set(e, E_IO, "interrupted");
	if (!g->started) {
		if (piece_head(g, r, e))
			return -1;
		xpool_first_byte(g->p, g->job);
	}
	if ((int64_t)n > pc->len - pc->got)
		return err_set(e, E_PROTO, "piece %d: more data than announced", g->job + 1);
	if (!g->d->seekable && !pc->direct && !g->d->parts && stream_take(g, e))
		return -1;
	if (g->d->seekable || pc->direct) {
		if (batch_add(g, p, n, e))
			return -1;
	} else {
		memcpy(pc->mem + pc->got, p, n);
	}
	/* Summed once stored: got and the sum always cover the same bytes (what a resume keeps). */
	s3_sum_update(&pc->sum, p, n);
	pc->got += (int64_t)n;
	xfer_progress_at(x, pc->got, &g->told, 0);
	return 0;
}

/* Stream output, p->m held: pc, the next piece, is out. */
static void
piece_written(struct dl *d, struct piece *pc)
{
	spare_put_locked(d, pc->mem, pc->memcap); /* before the window moves: the next piece finds it */
	pc->mem = NULL;
	__atomic_store_n(&d->written, d->written + 1, __ATOMIC_RELEASE);
}

/* Stream output, p->m held: piece i may start once piece i - window is out. At a ramp's level L,
 * L pieces: no more than the ranges in flight. A piece more (one being written while L come in)
 * buys rate for more CPU than it saves: to a pipe from a near server, composite parts (held
 * whole), one range, 5 runs each: 0.53 s of CPU per GiB at 1,470 MB/s with 2 pieces, 0.45 at
 * 1,310 with 1, --concurrency 1 0.43 at 1,290; and a download by default costs no more than
 * --concurrency 1. Where the next piece streams from its worker (stream_take) it is out as it
 * arrives, and the next may start at once. */
static void
stream_window(struct pool *p, struct dl *d)
{
	int w = p->limit && p->limit < d->window ? p->limit : d->window;
	int avail = d->written + w < d->n ? d->written + w : d->n;

	if (avail != p->avail) {
		p->avail = avail;
		pthread_cond_broadcast(&p->cv);
	}
}

/* Stream output: the finished pieces in order, written by the caller's thread as it waits
 * (the pool's idle step, p->m held), so that the workers go on fetching meanwhile: one worker
 * that wrote each piece itself would leave its connection idle for the write. */
static int
flush_ordered(struct pool *p, struct err *e)
{
	struct dl *d = p->ctx;
	int rc = 0;

	while (!rc && !d->writing && d->written < d->n && d->pc[d->written].done) {
		struct piece *pc = &d->pc[d->written];
		d->writing = 1;
		pthread_mutex_unlock(&p->m);
		rc = stream_out(d, pc->mem, pc->got, e);
		pthread_mutex_lock(&p->m);
		d->writing = 0;
		piece_written(d, pc);
	}
	stream_window(p, d);
	return rc;
}

static int
dl_piece(struct pool *p, int job, struct err *e)
{
	struct dl *d = p->ctx;
	struct piece *pc = &d->pc[job];
	struct xfer *x = p->x;
	char range[64], pn[16], *path = xasprintf("/%s", d->key);
	struct kv h[3], q[] = {{"partNumber", pn}};
	int rc = -1;

	snprintf(pn, sizeof pn, "%d", job + 1);
	for (int attempt = 1;; attempt++) {
		/* A piece cut short resumes where it stopped, with what it has kept (a stream's piece may
		 * be out already); a part starts again: S3 takes no Range with partNumber. */
		int64_t from = d->parts || d->listed ? 0 : pc->got;
		if (from && from == pc->len) { /* every byte came; the answer's end did not */
			rc = 0;
			break;
		}
		struct getctx g = {.p = p, .d = d, .pc = pc, .job = job, .from = from, .told = from};
		struct http_resp r;
		struct err we;
		int n = 0;
		snprintf(range, sizeof range, "bytes=%lld-%lld", (long long)(pc->off + from),
			 (long long)(pc->off + pc->len - 1));
		if (!d->parts && (d->n > 1 || from))
			h[n++] = (struct kv){"range", range};
		if (d->o->etag[0])
			h[n++] = (struct kv){"if-match", d->o->etag}; /* the object must not change under us */
		if (!x->a->validation_when_required)
			h[n++] = (struct kv){"x-amz-checksum-mode", "ENABLED"};
		struct aws_req rq = {.svc = &SVC_S3, .method = "GET", .bucket = d->bucket, .path = path, .query = q,
				     .nquery = d->parts, .hdrs = h, .nhdrs = n, .sink = piece_sink, .sink_ctx = &g,
				     .op = "GetObject", .stop = &x->stop};
		if (!from) {
			xfer_progress_add(x, -pc->got);
			pc->got = 0;
		}
		rc = aws_call(x->a, &rq, &r, e);
		xfer_progress_at(x, pc->got, &g.told, 1);
		if (!rc && !g.started)
			rc = piece_head(&g, &r, e); /* an empty piece: no byte came to the sink */
		if (!rc && pc->got != pc->len)
			rc = err_set(e, E_NET, "piece %d: %lld of %lld bytes", job + 1, (long long)pc->got, (long long)pc->len);
		if (g.started && (d->seekable || pc->direct) && batch_flush(&g, &we)) /* what came is kept */
			rc = -1, *e = we;
		http_resp_free(&r);
		/* aws_call does not restart a body it began to deliver; a piece can. Any other
		 * failure aws_call has already retried as AWS_MAX_ATTEMPTS allows. An attempt that
		 * brought a batch or more that the next one keeps does not count: a stream's reader
		 * that stops for minutes holds the connection that long, which may time out. */
		if (!rc || xfer_stopped(x) || !g.started || !err_is_transient(e))
			break;
		if (!d->parts && !d->listed && pc->got - from >= (int64_t)BATCH)
			attempt = 0;
		else if (attempt >= x->a->max_attempts)
			break;
		dbg("piece %d failed (%s); again", job + 1, e->msg);
		sleep_sec(0.2 * (attempt ? attempt : 1));
	}
	free(path);
	if (d->seekable)
		piece_release(p, d, pc);
	if (rc) {
		if (e->kind == E_AWS && e->status == 412)
			snprintf(e->msg, sizeof e->msg, "the object changed during the download");
		return -1;
	}
	if (dl_part_check(d, job, e))
		return -1;
	pthread_mutex_lock(&p->m);
	pc->done = 1;
	if (pc->direct) {
		d->writing = 0;
		piece_written(d, pc);
		stream_window(p, d);
	}
	pthread_mutex_unlock(&p->m);
	return 0;
}

/* xfer_download of o; 1 (with e) when a listed object needs HeadObject first. */
static int
dl_run(struct xfer *x, const char *bucket, const char *key, const struct s3obj *o, int ck, int fd, int seekable,
       struct err *e)
{
	struct dl *d = xcalloc(1, sizeof *d);
	int64_t ps = xfer_part_size(o->size, x->part_size);
	int rc = -1, all = 1;

	x->total = (uint64_t)o->size;
	x->done = 0;
	x->stop = 0;
	x->op[0] = 0;
	x->verified[0] = 0;
	x->unverified[0] = 0;
	*d = (struct dl){.bucket = bucket, .key = key, .o = o, .fd = fd, .seekable = seekable, .listed = o->listed,
			 .ck_wanted = ck};
	pthread_mutex_init(&d->wlock, NULL);
	d->window = xpool_workers(x, 1 << 30);
	d->cap = ps * d->window;
	if (!d->listed)
		dl_plan(x, d, ck);
	if (d->parts && d->p1 > ps) /* larger parts than ours: fewer of them ahead, same memory */
		d->window = (int)(d->cap / d->p1) > 0 ? (int)(d->cap / d->p1) : 1;
	if (!d->parts)
		d->n = o->size ? (int)((o->size + ps - 1) / ps) : 1;
	d->pc = xcalloc((size_t)d->n, sizeof *d->pc);
	d->maxspare = xpool_workers(x, 1 << 30);
	d->spare = xcalloc((size_t)d->maxspare, sizeof *d->spare);
	for (int i = 0; i < d->n && !d->parts; i++) {
		d->pc[i].off = (int64_t)i * ps;
		d->pc[i].len = o->size - d->pc[i].off < ps ? o->size - d->pc[i].off : ps;
	}
	s3_sum_init(&d->seq, d->ck);
	struct pool *p = xpool_new(x, dl_piece, d, d->n, "GetObject", 0);
	xpool_ramp(p, xpool_workers(x, d->n));
	if (!seekable) {
		stream_window(p, d);
		p->idle = flush_ordered;
	}
	/* One request to a file on a worker's thread (s3cp -r): on it, rather than on a thread of
	 * its own (a stream's ordered writes are the waiting thread's: the pool's way). */
	if (x->on_worker && d->n == 1 && seekable) {
		if (dl_piece(p, 0, e)) {
			xfer_set_op(x, "GetObject");
			goto done;
		}
	} else if (xpool_start(p, xpool_workers(x, d->n), e) || xpool_wait(p, &all, e)) {
		goto done;
	}
	if (dl_verify(x, d, e)) {
		xfer_set_op(x, "GetObject");
		goto done;
	}
	rc = 0;
done:
	if (rc && d->redo)
		rc = 1;
	xpool_free(p, all);
	if (all) {
		s3obj_free(&d->got);
		for (int i = 0; i < d->n; i++)
			free(d->pc[i].mem);
		for (int i = 0; i < d->nspare; i++)
			free(d->spare[i].p);
		free(d->spare);
		free(d->pc);
		pthread_mutex_destroy(&d->wlock);
		free(d);
	}
	return rc;
}


int
xfer_download(struct xfer *x, const char *bucket, const char *key, const struct s3obj *o, int ck, int fd,
	      int seekable, struct err *e)
{
	struct s3obj h = {0};
	int rc = o->listed && (!seekable || o->size > x->part_size) ? 1 : dl_run(x, bucket, key, o, ck, fd, seekable, e);

	if (rc == 1) {
		dbg("%s: HeadObject first (%s)", key, o->listed && seekable && o->size <= x->part_size ? e->msg :
		    "not one GET to a file");
		rc = -1;
		x->op[0] = 0;
		if (s3_head(x->a, bucket, key, 0, &h, e)) {
			s3_explain_head(x->a, bucket, key, e);
			xfer_set_op(x, "HeadObject");
		} else {
			rc = dl_run(x, bucket, key, &h, ck, fd, seekable, e);
		}
	}
	s3obj_free(&h);
	return rc;
}
