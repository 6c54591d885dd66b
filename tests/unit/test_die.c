/* test_die.c — error formatting and the one mapping from errors to exit codes. */
#include "unit.h"

TEST(die_exit_codes)
{
	struct err e = {0};

	CHECK_INT(err_exit_code(&e), EX_OK);
	err_set(&e, E_USAGE, "x");
	CHECK_INT(err_exit_code(&e), EX_USAGE);
	err_set(&e, E_NOCREDS, "x");
	CHECK_INT(err_exit_code(&e), EX_ACCESS);
	err_set(&e, E_TLS, "x");
	CHECK_INT(err_exit_code(&e), EX_NET);
	err_set(&e, E_TIMEOUT, "x");
	CHECK_INT(err_exit_code(&e), EX_NET);
	err_set(&e, E_NOTFOUND, "x");
	CHECK_INT(err_exit_code(&e), EX_NOTFOUND);
	err_set(&e, E_REMOTE, "x");
	CHECK_INT(err_exit_code(&e), EX_REMOTE);
	err_set(&e, E_PROTO, "x");
	CHECK_INT(err_exit_code(&e), EX_FAIL);

	static const struct {
		int status;
		const char *code;
		int want;
	} cases[] = {
		{404, "NoSuchKey", EX_NOTFOUND}, {400, "ParameterNotFound", EX_NOTFOUND},
		{400, "ResourceNotFoundException", EX_NOTFOUND}, {400, "AWS.SimpleQueueService.NonExistentQueue", EX_NOTFOUND},
		{400, "QueueDoesNotExist", EX_NOTFOUND}, {403, "AccessDenied", EX_ACCESS},
		{400, "UnrecognizedClientException", EX_ACCESS}, {403, "SignatureDoesNotMatch", EX_ACCESS},
		{403, "InvalidClientTokenId", EX_ACCESS}, {400, "ExpiredTokenException", EX_ACCESS},
		{404, "", EX_FAIL}, {403, "", EX_ACCESS}, {500, "InternalError", EX_FAIL},
		{400, "ValidationException", EX_FAIL}, {409, "BucketAlreadyExists", EX_FAIL},
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		e = utest_aws_err(cases[i].status, cases[i].code, "m");
		CHECK_INT(err_exit_code(&e), cases[i].want);
	}
}

TEST(die_err_format)
{
	struct err e = utest_aws_err(403, "AccessDenied", "Access Denied");
	char line[256];

	err_format(&e, "GetObject s3://b/k", line, sizeof line);
	CHECK_STR(line, "GetObject s3://b/k: 403 AccessDenied: Access Denied");
	e = utest_aws_err(404, "", "");
	err_format(&e, "HeadObject s3://b/k", line, sizeof line);
	CHECK_STR(line, "HeadObject s3://b/k: 404 ");
	err_set(&e, E_NET, "connect 127.0.0.1:1: Connection refused");
	err_format(&e, "GetCallerIdentity", line, sizeof line);
	CHECK_STR(line, "GetCallerIdentity: connect 127.0.0.1:1: Connection refused");
	e = utest_aws_err(400, "X", "two\nlines");
	err_format(&e, NULL, line, sizeof line);
	CHECK_STR(line, "400 X: two lines");
}

TEST(die_text_clean)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"plain text", "plain text"},
		{"a\r\nb\tc", "a  b c"},
		{"\x1b[31mred\x1b[0m \x07" "bell \x7f", "?[31mred?[0m ?bell ?"},
		{"utf-8 stays: h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 \xc2\xa0nbsp", "utf-8 stays: h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 \xc2\xa0nbsp"},
		{"C1 as UTF-8: \xc2\x9b" "31m \xc2\x85 \xc2\x80", "C1 as UTF-8: ?31m ? ?"},
		{"raw C1: \x9b" "31m \x85", "raw C1: ?31m ?"},
		{"not UTF-8: \xc3 \xe2\x9c \xff \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80", "not UTF-8: ? ?? ? ?? ??? ????"},
		{"", ""},
	};
	char b[128];

	for (size_t i = 0; i < COUNT(cases); i++) {
		snprintf(b, sizeof b, "%s", cases[i].in);
		text_clean(b);
		CHECK_STR(b, cases[i].want);
	}
	struct err e = utest_aws_err(400, "X\x1b", "esc \x1b]0;title\x07 \xc2\x9b");
	err_format(&e, NULL, b, sizeof b);
	CHECK_STR(b, "400 X?: esc ?]0;title? ?");
}

static void
run_die_err(void *p)
{
	struct err e = utest_aws_err(400, "ParameterNotFound", "no such parameter");

	applet_name = "ssmget";
	die_err(&e, "GetParameter %s", (const char *)p);
}

TEST(die_err_prints_one_line_and_maps_code)
{
	char *err;

	CHECK_INT(utest_exit_of(run_die_err, "/app/x", NULL, &err), EX_NOTFOUND);
	CHECK_STR(err, "ssmget: GetParameter /app/x: 400 ParameterNotFound: no such parameter\n");
}
