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

static void *
worker(void *arg)
{
	struct pool *p = arg;

	proc_block_signals();
	pthread_mutex_lock(&p->m);
	for (;;) {
		while (!p->failed && p->next >= p->avail && (p->total < 0 || p->next < p->total))
			pthread_cond_wait(&p->cv, &p->m);
		if (p->failed || (p->total >= 0 && p->next >= p->total))
			break;
		int job = p->next++;
		pthread_mutex_unlock(&p->m);
		struct err e = {0};
		int rc = p->run(p, job, &e);
		pthread_mutex_lock(&p->m);
		if (rc && !p->failed) {
			char op[48];
			snprintf(op, sizeof op, p->numbered ? "%s %d" : "%s", p->op, job + 1);
			xfer_set_op(p->x, op);
		}
		if (rc)
			xpool_fail(p, &e);
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

int
xpool_start(struct pool *p, int n, struct err *e)
{
	pthread_attr_t at;
	int rc = 0;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	for (int i = 0; i < n; i++) {
		pthread_t t;
		pthread_mutex_lock(&p->m);
		p->alive++;
		pthread_mutex_unlock(&p->m);
		int err = pthread_create(&t, &at, worker, p);
		if (err) {
			pthread_mutex_lock(&p->m);
			p->alive--;
			pthread_mutex_unlock(&p->m);
			if (!i) /* fewer workers than asked for only make it slower */
				rc = err_set(e, E_IO, "cannot start a thread: %s", strerror(err));
			break;
		}
	}
	pthread_attr_destroy(&at);
	return rc;
}

void
xfer_tick(struct xfer *x)
{
	if (x->progress)
		x->progress(x->progress_ctx, __atomic_load_n(&x->done, __ATOMIC_RELAXED), x->total);
}

/* Waits (called with p->m held) up to 200 ms; an interrupt stops the pool. */
void
xpool_step(struct pool *p)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 200 * 1000000L;
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_sec++, ts.tv_nsec -= 1000000000L;
	pthread_cond_timedwait(&p->cv, &p->m, &ts);
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
	double give_up = 0;

	pthread_mutex_lock(&p->m);
	while (p->alive) {
		if (cancelled(p->x) && !give_up)
			give_up = mono_now() + (p->grace ? p->grace : 0.2);
		if (give_up && mono_now() > give_up)
			break;
		xpool_step(p);
	}
	*all = !p->alive;
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
