/* fuzz_time.c — libFuzzer target for enc.c's time parsers: ISO 8601 timestamps (credential
 * Expiration, AWSBOX_NOW; RFC 3339 profile) and the IMF-fixdate of the HTTP Date header
 * (RFC 9110 section 5.6.7), checked against the formatters. */
#include "fuzz.h"

/* Years the formatters print as four digits. */
static int
four_digit_year(time_t t)
{
	struct tm tm;

	return gmtime_r(&t, &tm) && tm.tm_year + 1900 >= 1000 && tm.tm_year + 1900 <= 9999;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char out[21], amz[17];
	time_t t, t2;

	if (!time_parse_iso8601(s, size, &t) && four_digit_year(t)) {
		/* what parses, formatted and parsed again, is the same instant (in both forms) */
		time_iso8601(t, out);
		FUZZ_CHECK(strlen(out) == 20);
		FUZZ_CHECK(!time_parse_iso8601(out, strlen(out), &t2) && t2 == t);
		time_amz(t, amz);
		FUZZ_CHECK(!time_parse_iso8601(amz, strlen(amz), &t2) && t2 == t);
	}
	if (!time_parse_http(s, size, &t) && four_digit_year(t)) {
		struct tm tm;
		char http[40];
		gmtime_r(&t, &tm);
		strftime(http, sizeof http, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		FUZZ_CHECK(!time_parse_http(http, strlen(http), &t2) && t2 == t);
	}
	return 0;
}
