/* test_retry.c — the standard retry mode as the SDK reference describes it: which errors are
 * retried, full-jitter delays capped at 20 s, the attempt limit and the retry quota. */
#include "unit.h"

static void
ctx(struct aws *a, int attempts)
{
	memset(a, 0, sizeof *a);
	pthread_mutex_init(&a->lock, NULL);
	a->max_attempts = attempts;
	a->retry_tokens = 500;
}

TEST(retry_classification)
{
	struct err e = utest_aws_err(400, "ThrottlingException", "Rate exceeded");

	CHECK(err_is_throttle(&e) && !err_is_transient(&e));
	e = utest_aws_err(503, "SlowDown", "");
	CHECK(err_is_throttle(&e) && err_is_transient(&e));
	e = utest_aws_err(429, "", "");
	CHECK(err_is_throttle(&e));
	e = utest_aws_err(500, "InternalError", "");
	CHECK(err_is_transient(&e) && !err_is_throttle(&e));
	e = utest_aws_err(400, "ValidationException", "");
	CHECK(!err_is_transient(&e) && !err_is_throttle(&e));
	e = utest_aws_err(403, "AccessDenied", "");
	CHECK(!err_is_transient(&e) && !err_is_clock_skew(&e));
	err_set(&e, E_NET, "connection reset");
	CHECK(err_is_transient(&e));
	err_set(&e, E_TIMEOUT, "timed out");
	CHECK(err_is_transient(&e));
	err_set(&e, E_TLS, "certificate is not trusted");
	CHECK(!err_is_transient(&e)); /* a bad certificate does not get better by asking again */
	e = utest_aws_err(403, "RequestTimeTooSkewed", "The difference ... is too large.");
	CHECK(err_is_clock_skew(&e));
	e = utest_aws_err(400, "InvalidSignatureException", "Signature expired: 20261122T000000Z is now earlier than ...");
	CHECK(err_is_clock_skew(&e));
	e = utest_aws_err(403, "SignatureDoesNotMatch", "The request signature we calculated does not match");
	CHECK(!err_is_clock_skew(&e));
}

TEST(retry_delays_attempts_and_quota)
{
	struct aws a;
	struct err e = utest_aws_err(503, "ServiceUnavailable", "");
	double d, worst[4] = {0};

	ctx(&a, 5);
	for (int k = 0; k < 200; k++)
		for (int attempt = 1; attempt <= 4; attempt++) {
			a.retry_tokens = 500;
			CHECK(retry_decide(&a, &e, attempt, 1, &d));
			CHECK(d >= 0 && d <= (attempt == 1 ? 1 : attempt == 2 ? 2 : attempt == 3 ? 4 : 8));
			if (d > worst[attempt - 1])
				worst[attempt - 1] = d;
		}
	/* full jitter: over 200 draws the delays spread across their range */
	CHECK(worst[0] > 0.5 && worst[3] > 4);
	CHECK(!retry_decide(&a, &e, 5, 1, &d)); /* the last attempt is the last */

	/* the quota: 5 tokens a retry (10 after a timeout), refunded one per success */
	ctx(&a, 3);
	a.retry_tokens = 12;
	CHECK(retry_decide(&a, &e, 1, 1, &d));
	CHECK(retry_decide(&a, &e, 1, 1, &d));
	CHECK_INT(a.retry_tokens, 2);
	CHECK(!retry_decide(&a, &e, 1, 1, &d));
	retry_success(&a);
	retry_success(&a);
	retry_success(&a);
	CHECK(retry_decide(&a, &e, 1, 1, &d));
	a.retry_tokens = 9;
	err_set(&e, E_TIMEOUT, "timed out");
	CHECK(!retry_decide(&a, &e, 1, 1, &d));
	a.retry_tokens = 10;
	CHECK(retry_decide(&a, &e, 1, 1, &d));
	/* legacy mode has no quota */
	a.retry_mode = 1;
	a.retry_tokens = 0;
	CHECK(retry_decide(&a, &e, 1, 1, &d));
}

TEST(retry_not_idempotent)
{
	struct aws a;
	struct err e;
	double d;

	ctx(&a, 3);
	err_set(&e, E_TIMEOUT, "timed out");
	e.sent = 1;
	CHECK(!retry_decide(&a, &e, 1, 0, &d)); /* it may have run */
	e.sent = 0;
	CHECK(retry_decide(&a, &e, 1, 0, &d)); /* never left: safe */
	e = utest_aws_err(500, "ServiceException", "");
	e.sent = 1;
	CHECK(!retry_decide(&a, &e, 1, 0, &d));
	e = utest_aws_err(429, "TooManyRequestsException", "Rate exceeded");
	e.sent = 1;
	CHECK(retry_decide(&a, &e, 1, 0, &d)); /* refused outright: it did not run */
}

/* Full jitter under min(2^(attempt-1), 20) s: sqs_handles and sqssend's rounds wait the same. */
TEST(retry_backoff_caps)
{
	static const double cap[] = {1, 2, 4, 8, 16, 20, 20, 20};
	double top[8] = {0};

	for (int k = 0; k < 2000; k++)
		for (int i = 0; i < 8; i++) {
			double d = retry_backoff(i + 1);
			CHECK(d >= 0 && d < cap[i]);
			if (d > top[i])
				top[i] = d;
		}
	for (int i = 0; i < 8; i++)
		CHECK(top[i] > cap[i] * 0.9); /* it spreads over the whole range */
}
