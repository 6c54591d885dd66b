/* pool.c — the worker pool of parallel transfers: numbered jobs (a transfer's parts) on up to
 * concurrency threads, with progress, interrupts and the first failure stopping the rest; and
 * its open-ended mode, a queue of independent jobs (s3cp -r's objects). */
#include "xfer.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The interrupt flag, set by a signal handler on the main thread while workers read it. */
static int
cancelled(struct xfer *x)
{
	return x->cancel && __atomic_load_n(x->cancel, __ATOMIC_RELAXED);
}

int
xfer_stopped(struct xfer *x)
{
	return __atomic_load_n(&x->stop, __ATOMIC_RELAXED) || cancelled(x);
}

void
xfer_progress_add(struct xfer *x, int64_t n)
{
	__atomic_add_fetch(&x->done, (uint64_t)n, __ATOMIC_RELAXED);
}

void
xfer_progress_at(struct xfer *x, int64_t pos, int64_t *told, int last)
{
	if (last || pos - *told >= (int64_t)1 << 18) {
		xfer_progress_add(x, pos - *told);
		*told = pos;
	}
}

void
xfer_set_op(struct xfer *x, const char *op)
{
	if (!x->op[0])
		snprintf(x->op, sizeof x->op, "%s", op);
}

void
xpool_fail(struct pool *p, const struct err *e)
{
	if (!p->failed) {
		p->failed = 1;
		p->err = *e;
	}
	__atomic_store_n(&p->x->stop, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&p->cv);
}

/* ---- the ramp ----
 * Parallel ranges pay where each connection is held back on its own (latency, a per-connection
 * rate: S3 serves about 100 MB/s on each), and cost CPU for nothing where the connections share
 * one limit (a near server that is the bottleneck, or our own CPU: each connection adds its
 * socket buffers, wake-ups and cache misses). So a download starts with one request. If its
 * answer has not begun within RAMP_FAR the server is far, and every request starts at once
 * (what parallel ranges are for; nothing is lost but that wait). Otherwise the level doubles
 * while the rate over a window at the new level grows by at least 30% (a doubling that pays
 * brings near 100%; one that does not, about 0), and goes back to the level before when it
 * does not. Where awsbox itself is the limit (the window kept half a CPU or more busy: a near
 * server on loopback, not S3 across a network), the new level must also not cost more than 10%
 * more CPU per byte: on one host a second connection can buy a faster share of a busy server
 * for 20-80% more of our CPU, and a download by default costs no more than --concurrency 1. */
#define RAMP_FAR 0.010    /* s: no first byte by then and the server is far */
#define RAMP_WINDOW 0.050 /* s: the least a rate is measured over, and two jobs per worker */
#define RAMP_BUSY 0.5     /* CPUs: a window this busy or more is CPU-bound */
#define RAMP_CPU 1.10     /* at most this much more CPU per byte at a CPU-bound level */

static double
cpu_now(void)
{
	struct timespec t;

	return clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) ? 0 : (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int start_one(struct pool *p);

void
xpool_ramp(struct pool *p, int max)
{
	if (max < 2)
		return;
	p->limit = 1;
	p->ramp = (struct ramp){.on = 1, .max = max, .need = 1};
}

static void
ramp_set(struct pool *p, int lvl, const char *why)
{
	dbg("%s: %d at a time (%s)", p->op, lvl, why);
	p->limit = lvl;
	while (p->threads < lvl && p->threads < p->nmax && !start_one(p))
		;
	pthread_cond_broadcast(&p->cv);
}

void
xpool_first_byte(struct pool *p, int job)
{
	struct ramp *r = &p->ramp;

	pthread_mutex_lock(&p->m);
	if (r->on && job >= r->from && r->need > 0 && --r->need == 0) {
		r->t0 = mono_now(); /* every job of the new level under way: the window opens */
		r->b0 = __atomic_load_n(&p->x->done, __ATOMIC_RELAXED);
		r->c0 = cpu_now();
		r->ndone = 0;
	}
	pthread_mutex_unlock(&p->m);
}

/* A job is done (p->m held): at the window's end, the next level or the last. */
static void
ramp_done(struct pool *p)
{
	struct ramp *r = &p->ramp;
	char why[80];

	double wall;

	if (!r->on || r->need || ++r->ndone < 2 * p->limit || (wall = mono_now() - r->t0) < RAMP_WINDOW)
		return;
	int64_t got = (int64_t)(__atomic_load_n(&p->x->done, __ATOMIC_RELAXED) - r->b0);
	double cpu = cpu_now() - r->c0;
	double rate = (got > 0 ? (double)got : 0) / wall, cpb = got > 0 ? cpu / (double)got : 0;
	int lvl = p->limit;
	snprintf(why, sizeof why, "%.0f MB/s at %d, %.2f s of CPU per GiB", rate / 1e6, lvl, cpb * 1073741824.0);
	if (r->prev && (rate < r->prev_rate * (1 + 0.3 * (lvl - r->prev) / r->prev) ||
			(cpu / wall >= RAMP_BUSY && cpb > r->prev_cpb * RAMP_CPU))) {
		r->on = 0;
		ramp_set(p, r->prev, why);
		return;
	}
	if (lvl >= r->max) {
		r->on = 0;
		dbg("%s: %d at a time (%s)", p->op, lvl, why);
		return;
	}
	r->prev = lvl;
	r->prev_rate = rate;
	r->prev_cpb = cpb;
	r->from = p->next;
	r->need = (2 * lvl < r->max ? 2 * lvl : r->max) - lvl;
	ramp_set(p, lvl + r->need, why);
}

/* The first request's answer has not begun within RAMP_FAR (p->m held): all at once. */
static void
ramp_tick(struct pool *p)
{
	struct ramp *r = &p->ramp;

	if (r->on && !r->prev && r->need && r->start > 0 && mono_now() - r->start >= RAMP_FAR) {
		r->on = 0;
		ramp_set(p, r->max, "a far server");
	}
}

/* A job may start: one is available, and the level allows one more. */
static int
may_start(struct pool *p)
{
	return p->next < p->avail && (!p->limit || p->running < p->limit);
}

static void *
worker(void *arg)
{
	struct pool *p = arg;

	proc_block_signals();
	pthread_mutex_lock(&p->m);
	for (;;) {
		while (!p->failed && (p->total < 0 || p->next < p->total) && !may_start(p))
			pthread_cond_wait(&p->cv, &p->m);
		if (p->failed || (p->total >= 0 && p->next >= p->total))
			break;
		int job = p->next++;
		p->running++;
		if (p->ramp.on && !p->ramp.start) {
			p->ramp.start = mono_now();
			pthread_cond_broadcast(&p->cv); /* the caller times the first answer */
		}
		pthread_mutex_unlock(&p->m);
		struct err e = {0};
		int rc = p->run(p, job, &e);
		pthread_mutex_lock(&p->m);
		p->running--;
		if (rc && !p->failed) {
			char op[48];
			snprintf(op, sizeof op, p->numbered ? "%s %d" : "%s", p->op, job + 1);
			xfer_set_op(p->x, op);
		}
		if (rc)
			xpool_fail(p, &e);
		else
			ramp_done(p);
		pthread_cond_broadcast(&p->cv);
	}
	p->alive--;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->m);
	return NULL;
}

/* A pool on the heap: if an interrupt leaves a worker stuck in a request, the caller returns
 * without it and the memory it uses stays valid until the process exits. */
struct pool *
xpool_new(struct xfer *x, int (*run)(struct pool *, int, struct err *), void *ctx, int total, const char *op,
	 int numbered)
{
	struct pool *p = xcalloc(1, sizeof *p);

	p->x = x;
	p->op = op;
	p->numbered = numbered;
	p->run = run;
	p->ctx = ctx;
	p->total = total;
	p->avail = total < 0 ? 0 : total;
	pthread_mutex_init(&p->m, NULL);
	pthread_cond_init(&p->cv, NULL);
	return p;
}

/* One more worker thread (p->m held): 0 or pthread_create's error. */
static int
start_one(struct pool *p)
{
	pthread_attr_t at;
	pthread_t t;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	int err = pthread_create(&t, &at, worker, p);
	pthread_attr_destroy(&at);
	if (!err)
		p->alive++, p->threads++;
	return err;
}

/* n workers; a ramped pool starts as many as its level and more as the level rises. Fewer
 * than asked for only make it slower: an error only when not even one starts. */
int
xpool_start(struct pool *p, int n, struct err *e)
{
	int err = 0;

	pthread_mutex_lock(&p->m);
	p->nmax = n;
	for (int i = 0; i < (p->limit && p->limit < n ? p->limit : n) && !err; i++)
		err = start_one(p);
	int none = !p->threads;
	pthread_mutex_unlock(&p->m);
	return none ? err_set(e, E_IO, "cannot start a thread: %s", strerror(err)) : 0;
}

void
xfer_tick(struct xfer *x)
{
	if (x->progress)
		x->progress(x->progress_ctx, __atomic_load_n(&x->done, __ATOMIC_RELAXED), x->total);
}

/* Waits (called with p->m held) up to 200 ms, or until the ramp's first answer is late; an
 * interrupt stops the pool. */
void
xpool_step(struct pool *p)
{
	struct timespec ts;
	long ns = 200 * 1000000L;

	if (p->ramp.on && !p->ramp.prev && p->ramp.need && p->ramp.start > 0) {
		double left = p->ramp.start + RAMP_FAR - mono_now();
		ns = left <= 0 ? 0 : left < 0.2 ? (long)(left * 1e9) + 1 : ns;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ns;
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_sec++, ts.tv_nsec -= 1000000000L;
	if (ns)
		pthread_cond_timedwait(&p->cv, &p->m, &ts);
	ramp_tick(p);
	if (cancelled(p->x) && !p->failed) {
		struct err e;
		err_set(&e, E_IO, "interrupted");
		xpool_fail(p, &e);
	}
	pthread_mutex_unlock(&p->m);
	xfer_tick(p->x);
	pthread_mutex_lock(&p->m);
}

/* Waits for the workers to finish. After a failure every one is waited for (the request each is
 * in is bounded by the timeouts, makes no more retries, and gives up at its next read or write
 * of the body): one left running would write into whatever file takes its descriptor next
 * (s3cp -r goes on to the next object). Only after an interrupt, when the process is on its way
 * out, 200 ms at most: a worker still waiting for an answer is left behind, and the upload is
 * aborted all the same. Returns 0 or -1 with the first error; *all set when every worker has
 * exited (p may be freed). */
int
xpool_wait(struct pool *p, int *all, struct err *e)
{
	struct err ie = {0};
	double give_up = 0;

	pthread_mutex_lock(&p->m);
	while (p->alive) {
		if (cancelled(p->x) && !give_up)
			give_up = mono_now() + (p->grace ? p->grace : 0.2);
		if (give_up && mono_now() > give_up)
			break;
		xpool_step(p);
		if (p->idle && !p->failed && p->idle(p, &ie))
			xpool_fail(p, &ie);
	}
	*all = !p->alive;
	if (*all && p->idle && !p->failed && p->idle(p, &ie))
		xpool_fail(p, &ie);
	int rc = p->failed ? -1 : 0;
	if (rc)
		*e = p->err;
	pthread_mutex_unlock(&p->m);
	return rc;
}

void
xpool_free(struct pool *p, int all)
{
	if (!all)
		return; /* a worker may still touch it */
	pthread_mutex_destroy(&p->m);
	pthread_cond_destroy(&p->cv);
	free(p);
}

int
xpool_workers(struct xfer *x, int jobs)
{
	int n = x->concurrency > 0 ? x->concurrency : 8;

	return jobs < n ? (jobs > 0 ? jobs : 1) : n;
}

/* ---- a queue of independent jobs ---------------------------------------------------------- */

/* The pool in its open-ended mode: jobs are numbered as they are added; job n waits in
 * slot[n % cap] until a worker takes it. One job's failure is the caller's to report: the
 * others go on. */
struct xqueue {
	struct pool *p;
	void **slot;           /* NULL once taken */
	int cap;
	int (*run)(void *ctx, void *job);
	void (*drop)(void *job);
	void *ctx;
};

static int
queue_job(struct pool *p, int n, struct err *e)
{
	struct xqueue *q = p->ctx;

	pthread_mutex_lock(&p->m);
	void *job = q->slot[n % q->cap];
	q->slot[n % q->cap] = NULL;
	pthread_cond_broadcast(&p->cv); /* room for the producer */
	pthread_mutex_unlock(&p->m);
	q->run(q->ctx, job);
	xfer_progress_add(p->x, 1);
	return 0;
}

struct xqueue *
xqueue_start(struct xfer *x, int (*run)(void *ctx, void *job), void (*drop)(void *job), void *ctx, struct err *e)
{
	struct xqueue *q = xcalloc(1, sizeof *q);

	q->cap = 256;
	q->slot = xcalloc((size_t)q->cap, sizeof *q->slot);
	q->run = run;
	q->drop = drop;
	q->ctx = ctx;
	x->total = x->done = 0;
	x->stop = 0;
	q->p = xpool_new(x, queue_job, q, -1, "job", 0);
	q->p->grace = 3; /* an interrupted job removes its temporary file or aborts its upload */
	if (xpool_start(q->p, xpool_workers(x, 1 << 30), e)) {
		xpool_free(q->p, 1);
		free(q->slot);
		free(q);
		return NULL;
	}
	return q;
}

int
xqueue_add(struct xqueue *q, void *job)
{
	struct pool *p = q->p;
	int rc = -1;

	pthread_mutex_lock(&p->m);
	while (!p->failed && q->slot[p->avail % q->cap]) /* its slot's last job not yet taken */
		xpool_step(p);
	if (!p->failed) {
		q->slot[p->avail % q->cap] = job;
		p->avail++;
		pthread_cond_broadcast(&p->cv);
		rc = 0;
	}
	pthread_mutex_unlock(&p->m);
	return rc;
}

void
xqueue_park(struct xqueue *q)
{
	struct pool *p = q->p;

	pthread_mutex_lock(&p->m);
	p->alive--; /* not waited for: it never returns to q, which may be freed */
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->m);
	for (;;)
		pause();
}

int
xqueue_finish(struct xqueue *q, struct err *e)
{
	struct pool *p = q->p;
	int all = 1, rc;

	pthread_mutex_lock(&p->m);
	p->total = p->avail;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->m);
	rc = xpool_wait(p, &all, e);
	if (!all)
		return rc; /* a stuck worker may still use q (the process is on its way out) */
	for (int i = 0; i < q->cap; i++)
		if (q->slot[i] && q->drop)
			q->drop(q->slot[i]);
	xpool_free(p, all);
	free(q->slot);
	free(q);
	return rc;
}
