/* fuzz_units.c — libFuzzer target for enc.c's parse_duration ("30s", "5m", "1.5h", "2d",
 * "250ms", bare seconds) and parse_size ("10", "8M", "1.5G", "4KiB": powers of 1024), the
 * parsers behind every --timeout- and --size-style option. */
#include "fuzz.h"

#include <math.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	double secs = -1;
	uint64_t n;

	if (!parse_duration(s, &secs))
		FUZZ_CHECK(isfinite(secs) && secs >= 0);
	if (!parse_size(s, &n)) {
		/* a plain decimal count of bytes means exactly that (sizes go through a double:
		 * exact up to 2^53, so up to 15 digits) */
		size_t digits = strspn(s, "0123456789");
		if (digits == strlen(s) && digits <= 15)
			FUZZ_CHECK(n == strtoull(s, NULL, 10));
	}
	free(s);
	return 0;
}
