/* xfer.h — private to pool.c, transfer.c, download.c and dlcheck.c: the worker pool that runs a transfer's parts. */
#ifndef AWSBOX_XFER_H
#define AWSBOX_XFER_H
#include "s3.h"

/* The ramp of a download's connections (xpool_ramp): a level of parallel jobs that doubles
 * while the aggregate rate grows with it. */
struct ramp {
	int on;                 /* still deciding */
	int max;                /* the most jobs at a time (concurrency) */
	int prev;               /* the level before this one; 0 at the first */
	int from;               /* jobs from this one run at the current level */
	int need;               /* of them, the ones yet to see a first byte before the window opens */
	int ndone;              /* jobs done since the window opened */
	double start, t0;       /* the first request's start; the window's */
	uint64_t b0;            /* bytes done when it opened */
	double c0;              /* the process's CPU seconds when it opened */
	double prev_rate;       /* bytes/s at the previous level */
	double prev_cpb;        /* and CPU seconds per byte */
};

/* Jobs 0..total-1 run on up to n threads; a job may start once it is below avail (a producer
 * or an output window raises it) and fewer than limit run (a ramp sets it; 0: no limit). The
 * first error stops everything. */
struct pool {
	struct xfer *x;
	int (*run)(struct pool *p, int job, struct err *e);
	void *ctx;
	pthread_mutex_t m;
	pthread_cond_t cv;
	const char *op;         /* the jobs' request, for messages ("UploadPart 3") */
	int numbered;
	int next, avail, total; /* total -1 while unknown */
	int alive, failed;
	int limit, running;
	int threads, nmax;      /* workers started; the most that may be */
	struct ramp ramp;
	/* Called on the caller's thread (p->m held) as it waits, and once after the workers:
	 * work that stays on it (a stream's ordered writes); -1 with e stops the pool. */
	int (*idle)(struct pool *p, struct err *e);
	double grace;           /* after an interrupt, seconds to wait for the workers (0: 2) */
	struct err err;
};

/* Creates a pool (on the heap: after an interrupt a stuck worker may outlive the transfer) of
 * total jobs (-1: announced later by raising avail and setting total); op names them in errors. */
struct pool *xpool_new(struct xfer *x, int (*run)(struct pool *, int, struct err *), void *ctx, int total,
		       const char *op, int numbered);
/* n detached worker threads, signals blocked; -1 with e (E_IO) when not even one can start. */
int xpool_start(struct pool *p, int n, struct err *e);
void xpool_step(struct pool *p);                         /* p->m held: wait <= 200 ms, progress, interrupts */
int xpool_wait(struct pool *p, int *all, struct err *e); /* the first error; *all: every worker exited */
void xpool_free(struct pool *p, int all);                /* frees only when all */
void xpool_fail(struct pool *p, const struct err *e);    /* p->m held: stop everything */
int xpool_workers(struct xfer *x, int jobs);             /* threads for jobs: min(concurrency, jobs) */
/* Before xpool_start: jobs start one at a time, and more run in parallel (up to max) only where
 * that pays: see pool.c. Each job calls xpool_first_byte when its answer begins. */
void xpool_ramp(struct pool *p, int max);
void xpool_first_byte(struct pool *p, int job);
int xfer_stopped(struct xfer *x);                        /* failed or interrupted: callbacks give up */
void xfer_progress_add(struct xfer *x, int64_t n);
/* A request body's progress: pos bytes of it so far, *told of them already in x->done. Counted
 * in steps of 256 KiB, not per TLS record (each count is an atomic add to a line that the display
 * and the other workers read: 1.1-1.2% of an HTTPS transfer's user time), and at once when last. */
void xfer_progress_at(struct xfer *x, int64_t pos, int64_t *told, int last);
void xfer_set_op(struct xfer *x, const char *op);        /* the failed request's name, once */
void xfer_tick(struct xfer *x);                          /* calls x->progress */

#endif
