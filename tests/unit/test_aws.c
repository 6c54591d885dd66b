/* test_aws.c — one AWS call against a scripted server: protocol framing, the error shapes of
 * each protocol (as the AWS API references document them), retries, clock-skew correction and
 * the no-resend rule for calls that are not idempotent. */
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OK_JSON "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n", "{}"

TEST(aws_json_request_shape)
{
	static const struct canned c[] = {{OK_JSON}};
	struct ut t;

	ut_start(&t, c, 1, server_aws);
	CHECK_INT(aws_json(&t.a, &SVC_SSM, "GetParameter", "{\"Name\":\"/x\"}", &t.out, &t.e), 0);
	CHECK_STR(t.out.p, "{}");
	char *seen = ut_stop(&t);
	CHECK(!strncmp(seen, "POST / HTTP/1.1\r\n", 17));
	CHECK(strcasestr(seen, "\r\nx-amz-target: AmazonSSM.GetParameter\r\n") != NULL);
	CHECK(strcasestr(seen, "\r\ncontent-type: application/x-amz-json-1.1\r\n") != NULL);
	CHECK(strstr(seen, "Credential=AKIDTEST/") != NULL);
	CHECK(strstr(seen, "/eu-west-1/ssm/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
			   "Signature=") != NULL);
	CHECK(strcasestr(seen, "\r\nhost: 127.0.0.1:") != NULL);
	free(seen);
}

struct errcase {
	const struct svc *svc;
	const char *head, *body;
	int status;
	const char *code, *msg;
	int exit;
};

static int
call(struct aws *a, const struct svc *svc, struct buf *out, struct err *e)
{
	if (svc->proto == PROTO_JSON)
		return aws_json(a, svc, "Op", "{}", out, e);
	if (svc->proto == PROTO_QUERY)
		return aws_query(a, svc, "GetCallerIdentity", NULL, 0, NULL, out, e);
	struct aws_req q = {.svc = svc, .method = "GET", .bucket = svc == &SVC_S3 ? "bucket" : NULL,
			    .path = "/k", .out = out, .op = "Get"};
	struct http_resp r;
	int rc = aws_call(a, &q, &r, e);
	http_resp_free(&r);
	return rc;
}

TEST(aws_error_shapes_of_each_protocol)
{
	static const struct errcase cases[] = {
		{&SVC_SSM, "HTTP/1.1 400 Bad Request\r\n",
		 "{\"__type\":\"com.amazonaws.ssm#ParameterNotFound\",\"message\":\"Parameter /x not found.\"}", 400,
		 "ParameterNotFound", "Parameter /x not found.", EX_NOTFOUND},
		{&SVC_SECRETS, "HTTP/1.1 400 Bad Request\r\nx-amzn-ErrorType: ResourceNotFoundException:http://internal/\r\n",
		 "{\"Message\":\"Secrets Manager can't find it.\"}", 400, "ResourceNotFoundException",
		 "Secrets Manager can't find it.", EX_NOTFOUND},
		{&SVC_STS, "HTTP/1.1 403 Forbidden\r\n",
		 "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
		 "<Code>InvalidClientTokenId</Code><Message>bad &amp; wrong</Message></Error></ErrorResponse>",
		 403, "InvalidClientTokenId", "bad & wrong", EX_ACCESS},
		{&SVC_STS, "HTTP/1.1 400 Bad Request\r\n",
		 "<ErrorResponse><Errors><Error><Code>ValidationError</Code><Message>nope</Message></Error></Errors>"
		 "</ErrorResponse>",
		 400, "ValidationError", "nope", EX_FAIL},
		{&SVC_S3, "HTTP/1.1 404 Not Found\r\n",
		 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The key is not "
		 "there.</Message></Error>",
		 404, "NoSuchKey", "The key is not there.", EX_NOTFOUND},
		{&SVC_LAMBDA, "HTTP/1.1 404 Not Found\r\nX-Amzn-ErrorType: ResourceNotFoundException\r\n",
		 "{\"Type\":\"User\",\"Message\":\"Function not found\"}", 404, "ResourceNotFoundException",
		 "Function not found", EX_NOTFOUND},
		{&SVC_SSM, "HTTP/1.1 409 Conflict\r\n", "<html>nope</html>", 409, "", "Conflict", EX_FAIL},
		/* S3's HEAD has no body: 404 is NotFound; a bare 404 elsewhere is a wrong endpoint */
		{&SVC_S3, "HTTP/1.1 404 Not Found\r\n", "", 404, "NotFound", "", EX_NOTFOUND},
		{&SVC_SSM, "HTTP/1.1 404 Not Found\r\n", "", 404, "", "Not Found", EX_FAIL},
		{&SVC_SSM, "HTTP/1.1 404 Not Found\r\n", "<html>no such page</html>", 404, "", "Not Found", EX_FAIL},
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct canned c[] = {{cases[i].head, cases[i].body}};
		struct ut t;

		ut_start(&t, c, 1, server_aws);
		CHECK_INT(call(&t.a, cases[i].svc, &t.out, &t.e), -1);
		CHECK_INT(t.e.kind, E_AWS);
		CHECK_INT(t.e.status, cases[i].status);
		CHECK_STR(t.e.code, cases[i].code);
		CHECK_STR(t.e.msg, cases[i].msg);
		CHECK_INT(err_exit_code(&t.e), cases[i].exit);
		free(ut_stop(&t));
	}
}

TEST(aws_retries_throttling_and_5xx)
{
	static const struct canned c[] = {
		{"HTTP/1.1 503 Service Unavailable\r\n", ""},
		{"HTTP/1.1 400 Bad Request\r\n", "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}"},
		{OK_JSON},
	};
	struct ut t;

	ut_start(&t, c, 3, server_aws);
	CHECK_INT(aws_json(&t.a, &SVC_SSM, "GetParameter", "{}", &t.out, &t.e), 0);
	char *seen = ut_stop(&t);
	CHECK_INT(strcount(seen, "POST / HTTP/1.1"), 3);
	free(seen);

	/* With AWS_MAX_ATTEMPTS=2, the same script fails on the throttle, which is reported. */
	setenv("AWS_MAX_ATTEMPTS", "2", 1);
	ut_start(&t, c, 3, server_aws);
	CHECK_INT(aws_json(&t.a, &SVC_SSM, "GetParameter", "{}", &t.out, &t.e), -1);
	CHECK_STR(t.e.code, "ThrottlingException");
	seen = ut_stop(&t);
	CHECK_INT(strcount(seen, "POST / HTTP/1.1"), 2);
	free(seen);
	unsetenv("AWS_MAX_ATTEMPTS");

	/* A client error is not retried. */
	static const struct canned bad[] = {
		{"HTTP/1.1 400 Bad Request\r\n", "{\"__type\":\"ValidationException\",\"message\":\"x\"}"}, {OK_JSON}};
	ut_start(&t, bad, 2, server_aws);
	CHECK_INT(aws_json(&t.a, &SVC_SSM, "GetParameter", "{}", &t.out, &t.e), -1);
	seen = ut_stop(&t);
	CHECK_INT(strcount(seen, "POST / HTTP/1.1"), 1);
	free(seen);
}

/* The x-amz-date of the n-th request (0-based) in what the server saw. */
static time_t
amzdate_of(const char *seen, int n)
{
	const char *p = seen;
	time_t t = 0;

	for (int i = 0; i <= n && p; i++)
		if ((p = strcasestr(p, "\r\nx-amz-date: ")))
			p += 14;
	if (p)
		time_parse_iso8601(p, 16, &t);
	return t;
}

TEST(aws_no_replay_on_reused_connection)
{
	/* A kept-alive connection that closes once the whole request is in may have run it: an
	 * idempotent call goes again on a new connection, one that is not is never sent twice. */
	static const struct canned c[] = {{OK_JSON}, {NULL, NULL}, {OK_JSON}};
	struct buf out = {0};
	struct http_body b = {"{}", 2, NULL, NULL, NULL};
	struct aws_req q = {.svc = &SVC_LAMBDA, .method = "POST", .path = "/2015-03-31/functions/f/invocations",
			    .body = &b, .out = &out, .op = "Invoke"};

	for (int idem = 0; idem < 2; idem++) {
		struct ut t;
		struct http_resp r;
		ut_start(&t, c, 3, server_aws);
		q.not_idempotent = 0;
		CHECK_INT(aws_call(&t.a, &q, &r, &t.e), 0); /* leaves the connection in the pool */
		http_resp_free(&r);
		q.not_idempotent = !idem;
		CHECK_INT(aws_call(&t.a, &q, &r, &t.e), idem ? 0 : -1);
		http_resp_free(&r);
		if (!idem)
			CHECK_INT(err_exit_code(&t.e), EX_NET);
		char *seen = ut_stop(&t);
		CHECK_INT(strcount(seen, "POST /2015-03-31/functions/f/invocations HTTP/1.1"), idem ? 3 : 2);
		free(seen);
	}
	buf_free(&out);
}

TEST(aws_corrects_clock_skew_once)
{
	/* A server 20 minutes ahead refuses the first signature, then takes the corrected one. */
	char skewed[512], date[64];
	time_t ahead = time(NULL) + 1200;
	struct tm tm;

	gmtime_r(&ahead, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(skewed, sizeof skewed, "HTTP/1.1 400 Bad Request\r\nDate: %s\r\n", date);
	const struct canned c[] = {
		{skewed, "{\"__type\":\"InvalidSignatureException\",\"message\":\"Signature expired: is now earlier\"}"},
		{OK_JSON}};
	struct ut t;

	ut_start(&t, c, 2, server_aws);
	CHECK_INT(aws_json(&t.a, &SVC_SSM, "GetParameter", "{}", &t.out, &t.e), 0);
	CHECK(t.a.clock_offset > 1190 && t.a.clock_offset < 1210);
	char *seen = ut_stop(&t);
	CHECK_INT(strcount(seen, "POST / HTTP/1.1"), 2);
	long moved = (long)(amzdate_of(seen, 1) - amzdate_of(seen, 0));
	CHECK(moved > 1190 && moved < 1210);
	free(seen);
}

TEST(aws_creds_expiry_on_corrected_clock)
{
	/* Credentials that expire 20 minutes from now by our clock, but only 10 by the server's
	 * (learnt from a skew error): within the 15-minute window, so they are fetched again. */
	struct aws a;
	struct creds c = {0};
	struct err e = {0};

	server_aws(&a, 1);
	a.creds = (struct creds){.akid = xstrdup("AKIDOLD"), .secret = xstrdup("old"), .token = xstrdup("tok"),
				 .expires = clock_now() + 20 * 60, .source = "test"};
	a.have_creds = 1;
	CHECK_INT(aws_creds(&a, &c, &e), 0);
	CHECK_STR(c.akid, "AKIDOLD"); /* 20 minutes left: kept */
	creds_free(&c);
	a.clock_offset = 10 * 60;
	CHECK_INT(aws_creds(&a, &c, &e), 0);
	CHECK_STR(c.akid, "AKIDTEST"); /* 10 minutes left by the server's clock: refreshed */
	creds_free(&c);
	aws_free(&a);
}

TEST(aws_no_resend_when_not_idempotent)
{
	/* The server reads the request and drops the connection: it may have run. */
	static const struct canned c[] = {{NULL, NULL}, {OK_JSON}};
	struct server s;
	struct aws a;
	struct buf out = {0};
	struct err e = {0};
	struct http_body b = {"{}", 2, NULL, NULL, NULL};
	struct aws_req q = {.svc = &SVC_LAMBDA, .method = "POST", .path = "/2015-03-31/functions/f/invocations",
			    .body = &b, .not_idempotent = 1, .out = &out, .op = "Invoke"};
	struct http_resp r;

	server_start(&s, c, 2);
	server_aws(&a, s.port);
	CHECK_INT(aws_call(&a, &q, &r, &e), -1);
	http_resp_free(&r);
	CHECK_INT(err_exit_code(&e), EX_NET);
	char *seen = server_stop(&s);
	CHECK_INT(strcount(seen, "POST /2015-03-31/functions/f/invocations HTTP/1.1"), 1);
	free(seen);

	/* The same failure on an idempotent call is retried and succeeds. */
	q.not_idempotent = 0;
	server_start(&s, c, 2);
	aws_free(&a);
	server_aws(&a, s.port);
	CHECK_INT(aws_call(&a, &q, &r, &e), 0);
	http_resp_free(&r);
	seen = server_stop(&s);
	CHECK_INT(strcount(seen, "POST /2015-03-31/functions/f/invocations HTTP/1.1"), 2);
	free(seen);
	aws_free(&a);
	buf_free(&out);
}

TEST(aws_deadline_cuts_off_the_call)
{
	/* A server that accepts connections (the kernel does, from the backlog) and never answers. */
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof sa;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct aws a;
	struct buf out = {0};
	struct err e = {0};

	CHECK(lfd >= 0 && !bind(lfd, (void *)&sa, al) && !listen(lfd, 8) && !getsockname(lfd, (void *)&sa, &al));
	server_aws(&a, ntohs(sa.sin_port));
	struct aws_req t = {.deadline = mono_now() + 0.4};
	double t0 = mono_now();
	CHECK_INT(aws_json_req(&a, &SVC_SSM, "GetParameter", "{}", &t, &out, &e), -1);
	double took = mono_now() - t0;
	CHECK_INT(e.kind, E_TIMEOUT);
	CHECK(mono_now() >= t.deadline); /* never before the deadline: callers tell it by the clock */
	CHECK(took < 1.0);
	CHECK(strstr(e.msg, "cut off at the deadline in attempt 1: timed out after 0.4 s reading from 127.0.0.1:"));

	/* A deadline already past: nothing is sent. */
	unsigned long before = a.pool.connects;
	t.deadline = mono_now() - 1;
	CHECK_INT(aws_json_req(&a, &SVC_SSM, "GetParameter", "{}", &t, &out, &e), -1);
	CHECK_INT(e.kind, E_TIMEOUT);
	CHECK_STR(e.msg, "the deadline had passed before the call");
	CHECK(a.pool.connects == before);
	aws_free(&a);
	close(lfd);

	/* Connection refused, retried many times: no backoff sleep runs past the deadline; the
	 * real failure is returned at once when the next try would start after it. */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = 0;
	al = sizeof sa;
	CHECK(lfd >= 0 && !bind(lfd, (void *)&sa, al) && !getsockname(lfd, (void *)&sa, &al)); /* bound, not listening */
	setenv("AWS_MAX_ATTEMPTS", "50", 1);
	server_aws(&a, ntohs(sa.sin_port));
	t.deadline = mono_now() + 0.5;
	t0 = mono_now();
	CHECK_INT(aws_json_req(&a, &SVC_SSM, "GetParameter", "{}", &t, &out, &e), -1);
	took = mono_now() - t0;
	CHECK_INT(e.kind, E_NET);
	CHECK(took <= 0.55);
	unsetenv("AWS_MAX_ATTEMPTS");
	aws_free(&a);
	close(lfd);
	buf_free(&out);
}

struct asker {
	struct aws *a;
	int rc;
	char akid[32];
};

static void *
ask_creds(void *arg)
{
	struct asker *k = arg;
	struct creds c = {0};
	struct err e = {0};

	k->rc = aws_creds(k->a, &c, &e);
	snprintf(k->akid, sizeof k->akid, "%s", c.akid ? c.akid : "");
	creds_free(&c);
	return NULL;
}

TEST(aws_creds_one_refresh_without_the_lock)
{
	/* A slow provider (a credential_process that takes 0.6 s) and six threads asking at once:
	 * it runs once, every thread gets its keys, and the context's lock stays free meanwhile (a
	 * retry's quota, a clock fix, another thread's call are not held up by the refresh). */
	char script[512], cfg[512], runs[512], text[1024];
	struct common co = {0};
	struct aws a;
	struct err e = {0};
	struct asker k[6];
	pthread_t t[6];

	snprintf(runs, sizeof runs, "%s/runs", utest_tmpdir());
	snprintf(script, sizeof script, "%s/slow-creds", utest_tmpdir());
	snprintf(text, sizeof text, "#!/bin/sh\necho run >> '%s'\nsleep 0.6\n"
		 "echo '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"s\"}'\n", runs);
	utest_write(script, text);
	chmod(script, 0755);
	snprintf(cfg, sizeof cfg, "%s/config", utest_tmpdir());
	snprintf(text, sizeof text, "[default]\ncredential_process = %s\n", script);
	utest_write(cfg, text);
	setenv("AWS_CONFIG_FILE", cfg, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_PROFILE");
	CHECK_INT(aws_init(&a, &co, &e), 0);
	for (int i = 0; i < 6; i++) {
		k[i] = (struct asker){.a = &a, .rc = -9};
		CHECK_INT(pthread_create(&t[i], NULL, ask_creds, &k[i]), 0);
	}
	sleep_sec(0.25);
	double t0 = mono_now();
	pthread_mutex_lock(&a.lock);
	pthread_mutex_unlock(&a.lock);
	double held = mono_now() - t0;
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	CHECK(held < 0.15);
	for (int i = 0; i < 6; i++) {
		CHECK_INT(k[i].rc, 0);
		CHECK_STR(k[i].akid, "AKIDPROC");
	}
	FILE *f = fopen(runs, "r");
	int n = 0;
	CHECK(f != NULL);
	while (fgets(text, sizeof text, f))
		n++;
	fclose(f);
	CHECK_INT(n, 1);
	aws_free(&a);
}
