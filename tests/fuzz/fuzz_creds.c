/* fuzz_creds.c — libFuzzer target for creds.c's parsers: the credentials JSON that instance
 * metadata, container endpoints and credential_process answer with, and the credential_process
 * command line from the config file (split as shlex does).
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html
 *
 * from_json is static in creds.c; the file is compiled into this one so that nothing in it has to
 * change for the fuzzer (the Makefile leaves creds.o out of this target). shell_split is ini.c's.
 *
 * Input: [0] bit 0: shell_split the rest; else from_json with bit 1 = credential_process (wants
 * "Version": 1); the rest is the document. */
#include "../../core/auth/creds.c"
#include "fuzz.h"

static void
check_split(const char *s)
{
	char **argv = NULL;
	int n = shell_split(s, &argv);

	if (n < 0) {
		FUZZ_CHECK(argv == NULL);
		return;
	}
	FUZZ_CHECK(n == 0 || argv);
	for (int i = 0; i < n; i++) {
		FUZZ_CHECK(argv[i] != NULL);
		free(argv[i]);
	}
	if (n)
		FUZZ_CHECK(argv[n] == NULL);
	free(argv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct creds c = {0};
	struct err e = {0};
	char *body;

	if (size < 1)
		return 0;
	body = fuzz_strndup(data + 1, size - 1);
	if (data[0] & 1) {
		check_split(body);
	} else if (!from_json("container credentials", "container", body, size - 1, data[0] & 2, &c, &e)) {
		FUZZ_CHECK(c.akid && *c.akid && c.secret && *c.secret && c.source);
		FUZZ_CHECK(!c.token || *c.token);
	} else {
		/* nothing half-filled is left behind, and the message is one bounded string */
		FUZZ_CHECK(!c.akid && !c.secret && !c.token && !c.account);
		FUZZ_CHECK(e.kind != E_NONE && memchr(e.msg, 0, sizeof e.msg));
	}
	creds_free(&c);
	free(body);
	return 0;
}
