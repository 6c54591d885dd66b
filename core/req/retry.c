/* retry.c — which failures to retry and how long to wait: the SDKs' "standard" mode
 * (exponential backoff with full jitter, capped at 20 s, and a retry quota), and "adaptive"
 * mode's client-side rate limiter.
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html */
#include "req.h"

#include <math.h>
#include <string.h>

static const char *const throttle_codes[] = {
	"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
	"TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
	"RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
	"PriorRequestNotComplete", "EC2ThrottledException", "ThrottledByUser",
};
static const char *const transient_codes[] = {
	"RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure", "ServiceUnavailable",
	"ServiceException", "IDPCommunicationError",
};
static const char *const skew_codes[] = {
	"RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture", "InvalidSignatureException",
	"SignatureDoesNotMatch", "AuthFailure", "InvalidClientTokenId",
};

static int
in(const char *code, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(code, set[i]))
			return 1;
	return 0;
}

int
err_is_throttle(const struct err *e)
{
	return e->kind == E_AWS && (e->status == 429 || in(e->code, throttle_codes, COUNT(throttle_codes)));
}

int
err_is_transient(const struct err *e)
{
	if (e->kind == E_NET || e->kind == E_TIMEOUT)
		return 1;
	return e->kind == E_AWS &&
	       (e->status == 500 || e->status == 502 || e->status == 503 || e->status == 504 ||
		in(e->code, transient_codes, COUNT(transient_codes)));
}

/* Only a candidate: the caller also checks that the server's Date is really far off. */
int
err_is_clock_skew(const struct err *e)
{
	if (e->kind != E_AWS || !in(e->code, skew_codes, COUNT(skew_codes)))
		return 0;
	if (!strcmp(e->code, "RequestTimeTooSkewed") || !strcmp(e->code, "RequestExpired") ||
	    !strcmp(e->code, "RequestInTheFuture"))
		return 1;
	return strstr(e->msg, "expired") || strstr(e->msg, "not yet current") || strstr(e->msg, "too skewed") ||
	       strstr(e->msg, "Signature date");
}

int
retry_decide(struct aws *a, const struct err *e, int attempt, int idempotent, double *delay)
{
	int throttle = err_is_throttle(e), transient = err_is_transient(e);
	int cost = e->kind == E_TIMEOUT ? 10 : 5, ok;

	if (a->retry_mode == 2) {
		pthread_mutex_lock(&a->lock);
		ratelimit_record(&a->rate, mono_now(), throttle);
		pthread_mutex_unlock(&a->lock);
	}
	if (attempt >= a->max_attempts || (!throttle && !transient))
		return 0;
	/* A call that may already have run (Lambda Invoke) is resent only when the service
	 * refused it outright: throttled, or the connection failed before it was sent. */
	if (!idempotent && !throttle && (e->sent || e->kind == E_AWS))
		return 0;
	pthread_mutex_lock(&a->lock);
	ok = a->retry_mode == 1 || a->retry_tokens >= cost;
	if (ok && a->retry_mode != 1)
		a->retry_tokens -= cost;
	pthread_mutex_unlock(&a->lock);
	if (!ok) {
		dbg("retry quota exhausted");
		return 0;
	}
	*delay = retry_backoff(attempt);
	return 1;
}

double
retry_backoff(int attempt)
{
	double cap = (double)(1u << (attempt - 1 < 5 ? attempt - 1 : 5));

	if (cap > 20)
		cap = 20;
	return cap * (rand32() / 4294967296.0);
}

void
retry_success(struct aws *a)
{
	pthread_mutex_lock(&a->lock);
	if (a->retry_tokens < 500)
		a->retry_tokens++;
	if (a->retry_mode == 2)
		ratelimit_record(&a->rate, mono_now(), 0);
	pthread_mutex_unlock(&a->lock);
}

/* ---- adaptive mode: the rate limiter (botocore's retries/adaptive.py, throttling.py and
 * bucket.py: CUBIC with scale 0.4 and beta 0.7, a bucket no slower than 0.5/s, the send rate
 * measured in half-second buckets smoothed by 0.8, at most twice the measured rate). ---- */

#define RL_SCALE 0.4
#define RL_BETA 0.7

static void
rl_refill(struct ratelimit *r, double now)
{
	if (r->last_refill < 0) {
		r->last_refill = now;
		return;
	}
	r->capacity = fmin(r->max_capacity, r->capacity + (now - r->last_refill) * r->fill_rate);
	r->last_refill = now;
}

static void
rl_set_rate(struct ratelimit *r, double now, double rate)
{
	rl_refill(r, now);
	r->fill_rate = fmax(rate, 0.5);
	r->max_capacity = rate >= 1 ? rate : 1;
	r->capacity = fmin(r->capacity, r->max_capacity);
}

void
ratelimit_init(struct ratelimit *r, double now)
{
	memset(r, 0, sizeof *r);
	r->last_refill = -1;
	r->last_fail = now;
	r->last_bucket = floor(now);
	rl_set_rate(r, now, 1); /* k is 0: the CUBIC curve starts from a zero w_max */
}

double
ratelimit_acquire(struct ratelimit *r, double now)
{
	if (!r->enabled)
		return 0;
	rl_refill(r, now);
	if (r->capacity >= 1) {
		r->capacity -= 1;
		return 0;
	}
	return (1 - r->capacity) / r->fill_rate;
}

void
ratelimit_record(struct ratelimit *r, double now, int throttled)
{
	double bucket = floor(now * 2) / 2, rate;

	r->count += 1;
	if (bucket > r->last_bucket) {
		r->measured = r->count / (bucket - r->last_bucket) * 0.8 + r->measured * 0.2;
		r->count = 0;
		r->last_bucket = bucket;
	}
	if (!throttled) {
		double dt = now - r->last_fail - r->k;
		rate = RL_SCALE * dt * dt * dt + r->w_max;
	} else {
		double cur = r->enabled ? fmin(r->measured, r->fill_rate) : r->measured;
		r->w_max = cur;
		r->k = cbrt(cur * (1 - RL_BETA) / RL_SCALE);
		r->last_fail = now;
		rate = cur * RL_BETA;
		r->enabled = 1;
	}
	rl_set_rate(r, now, fmin(rate, 2 * r->measured));
}

void
retry_rate_wait(struct aws *a)
{
	double wait;

	if (a->retry_mode != 2)
		return;
	for (;;) {
		pthread_mutex_lock(&a->lock);
		wait = ratelimit_acquire(&a->rate, mono_now());
		pthread_mutex_unlock(&a->lock);
		if (wait <= 0)
			return;
		dbg("adaptive retry mode: waiting %.2f s for the send rate", wait);
		sleep_sec(wait);
	}
}
