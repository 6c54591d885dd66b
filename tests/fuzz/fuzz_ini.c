/* fuzz_ini.c — libFuzzer target for ini.c: the AWS config and credentials files, parsed and
 * then asked for the sections and keys they name and the ones awsbox reads
 * (https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html). */
#include "fuzz.h"

static const char *const sections[] = {"default", "profile default", "profile dev", "sso-session s", "services x"};
static const char *const keys[] = {"region", "aws_access_key_id", "role_arn", "s3", "credential_process", ""};

static void
query(const struct ini *f, const char *section, const char *key)
{
	const char *v = ini_get(f, section, key);

	if (v) {
		FUZZ_CHECK(ini_has(f, section));
		(void)strlen(v);
	}
	v = ini_sub(f, section, key, "addressing_style");
	if (v)
		(void)strlen(v);
}

/* The first "[name]" and the first "key =" of the text, as the parser would trim them. */
static void
names_in(const char *p, size_t n, char *sec, char *key, size_t cap)
{
	const char *end = p + n;

	sec[0] = key[0] = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		struct slice l = slice_trim((struct slice){p, (size_t)(le - p)});
		if (l.n && l.p[l.n - 1] == '\r')
			l = slice_trim((struct slice){l.p, l.n - 1});
		const char *close = l.n && l.p[0] == '[' ? memchr(l.p, ']', l.n) : NULL;
		const char *eq = l.n ? memchr(l.p, '=', l.n) : NULL;
		if (!sec[0] && close) {
			struct slice s = slice_trim((struct slice){l.p + 1, (size_t)(close - l.p - 1)});
			snprintf(sec, cap, "%.*s", (int)s.n, s.p);
		} else if (!key[0] && eq && sec[0]) {
			struct slice k = slice_trim((struct slice){l.p, (size_t)(eq - l.p)});
			snprintf(key, cap, "%.*s", (int)k.n, k.p);
		}
		p = le + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sec[128], key[128];
	struct ini *f = ini_parse((const char *)data, size);

	FUZZ_CHECK(f != NULL);
	for (size_t i = 0; i < COUNT(sections); i++)
		for (size_t j = 0; j < COUNT(keys); j++)
			query(f, sections[i], keys[j]);
	names_in((const char *)data, size, sec, key, sizeof sec);
	for (char *c = key; *c; c++) /* option names are looked up in lower case */
		if (*c >= 'A' && *c <= 'Z')
			*c += 32;
	query(f, sec, key);
	ini_free(f);
	return 0;
}
