/* retry.c — which failures to retry and how long to wait: the SDKs' "standard" mode
 * (exponential backoff with full jitter, capped at 20 s, and a retry quota).
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html */
#include "core.h"

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
	double cap;

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
	cap = (double)(1u << (attempt - 1 < 5 ? attempt - 1 : 5));
	if (cap > 20)
		cap = 20;
	*delay = cap * (rand32() / 4294967296.0);
	return 1;
}

void
retry_success(struct aws *a)
{
	pthread_mutex_lock(&a->lock);
	if (a->retry_tokens < 500)
		a->retry_tokens++;
	pthread_mutex_unlock(&a->lock);
}
