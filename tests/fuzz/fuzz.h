/* fuzz.h — what the libFuzzer targets in tests/fuzz share: the entry point and a contract check.
 * https://llvm.org/docs/LibFuzzer.html */
#ifndef AWSBOX_FUZZ_H
#define AWSBOX_FUZZ_H
#include "core.h"

#include <sanitizer/common_interface_defs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken contract is a crash: libFuzzer keeps the input that caused it. The message goes
 * where sanitizer reports go (the targets run with stdout and stderr closed). */
#define FUZZ_CHECK(c)                                                                                  \
	do {                                                                                           \
		if (!(c)) {                                                                            \
			__sanitizer_report_error_summary("contract broken: " __FILE__ ":" FUZZ_STR(__LINE__) ": " #c); \
			abort();                                                                       \
		}                                                                                      \
	} while (0)
#define FUZZ_STR(x) FUZZ_STR_(x)
#define FUZZ_STR_(x) #x

/* A NUL-terminated heap copy of n bytes (for APIs that take C strings); the caller frees. */
static inline char *
fuzz_strndup(const uint8_t *p, size_t n)
{
	char *s = xmalloc(n + 1);

	if (n)
		memcpy(s, p, n);
	s[n] = 0;
	return s;
}

/* Whether b holds the n bytes at p. */
static inline int
fuzz_buf_is(const struct buf *b, const void *p, size_t n)
{
	return b->len == n && (!n || !memcmp(b->p, p, n));
}
#endif
