/* fuzz_awserr.c — libFuzzer target for aws.c's error parsing: the error bodies of the four AWS
 * protocols (JSON, query, REST-XML, REST-JSON) with an x-amzn-ErrorType header, and the Date header
 * used for clock-skew correction (https://smithy.io/2.0/aws/protocols/).
 *
 * parse_error and server_clock are static in aws.c; the file is compiled into this one so that
 * nothing in it has to change for the fuzzer (the Makefile leaves aws.o out of this target).
 *
 * Input: [0] bits 0-1 protocol, bits 2-5 HTTP status (of a table), bit 6 the first line that
 * follows is an x-amzn-ErrorType value, bit 7 the next line is a Date header; the rest is the body. */
#include "../../core/req/aws.c"
#include "fuzz.h"

static const struct svc *const svcs[] = {&SVC_SSM, &SVC_STS, &SVC_S3, &SVC_LAMBDA}; /* one per protocol */
static const int statuses[] = {400, 401, 403, 404, 405, 409, 412, 413, 429, 500, 502, 503, 504, 301, 418, 200};

/* Takes a line (up to LF) off the front of *p. */
static struct slice
take_line(const uint8_t **p, size_t *n)
{
	const uint8_t *nl = memchr(*p, '\n', *n);
	struct slice s = {(const char *)*p, nl ? (size_t)(nl - *p) : *n};

	*p += s.n + (nl != NULL);
	*n -= s.n + (nl != NULL);
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct svc *svc;
	struct http_resp r = {0};
	struct err e = {0};
	struct slice type = {0}, date = {0};
	char line[700];

	if (size < 1)
		return 0;
	svc = svcs[data[0] & 3];
	FUZZ_CHECK(svc->proto == (data[0] & 3));
	r.status = statuses[data[0] >> 2 & 15];
	r.content_length = -1;
	data++, size--;
	if (data[-1] & 0x40)
		type = take_line(&data, &size);
	if (data[-1] & 0x80)
		date = take_line(&data, &size);
	if (type.p) {
		buf_adds(&r.head, "x-amzn-ErrorType: ");
		buf_add(&r.head, type.p, type.n);
		buf_addc(&r.head, '\n');
	}
	if (date.p) {
		buf_adds(&r.head, "Date: ");
		buf_add(&r.head, date.p, date.n);
		buf_addc(&r.head, '\n');
	}
	/* the body as aws_call hands it over: a NUL-terminated buffer */
	char *body = fuzz_strndup(data, size);
	parse_error(svc, &r, body, size, &e);
	FUZZ_CHECK(e.kind == E_AWS && e.status == r.status);
	FUZZ_CHECK(memchr(e.code, 0, sizeof e.code) && memchr(e.msg, 0, sizeof e.msg));
	FUZZ_CHECK(!strpbrk(e.msg, "\r\n\t")); /* one line */
	err_exit_code(&e);
	err_is_throttle(&e);
	err_is_transient(&e);
	if (err_is_clock_skew(&e) || date.p) {
		struct aws a;
		int corrected = 0;
		memset(&a, 0, sizeof a);
		pthread_mutex_init(&a.lock, NULL);
		server_clock(&a, &r, &corrected);
		FUZZ_CHECK(corrected == (a.clock_offset != 0));
		pthread_mutex_destroy(&a.lock);
	}
	err_format(&e, "GetObject s3://b/k", line, sizeof line);
	FUZZ_CHECK(strlen(line) < sizeof line);
	free(body);
	http_resp_free(&r);
	return 0;
}
