/* fuzz_jquery.c — libFuzzer target for jquery.c: the user's --query path (foo.bar[1], foo.bar.[1],
 * ["k.with.dots"], ['k'], [-1]) over a secret's JSON from the network, and the compact and text
 * renderings of what it finds (RFC 8259, https://www.rfc-editor.org/rfc/rfc8259).
 *
 * Input: the path up to the first LF, then the JSON document. */
#include "fuzz.h"

/* v rendered compact is valid JSON of the same type, and compacting it again changes nothing. */
static void
check_compact(struct json v)
{
	struct buf c = {0}, c2 = {0}, t = {0};
	struct json r;

	json_compact(v, &c);
	FUZZ_CHECK(c.len > 0 && c.len <= v.n);
	FUZZ_CHECK(!json_parse(c.p, c.len, &r) && r.type == v.type);
	json_compact(r, &c2);
	FUZZ_CHECK(fuzz_buf_is(&c2, c.p, c.len));
	json_text(v, &t);
	if (v.type != JSON_STRING)
		FUZZ_CHECK(fuzz_buf_is(&t, c.p, c.len));
	buf_free(&c);
	buf_free(&c2);
	buf_free(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t pl = nl ? (size_t)(nl - data) : size;
	char *path = fuzz_strndup(data, pl);
	const char *doc = nl ? (const char *)nl + 1 : "";
	size_t dn = nl ? size - pl - 1 : 0;
	struct err e = {0}, e2 = {0};
	struct json root, out;

	int bad = json_query_check(path, &e);
	FUZZ_CHECK(bad == 0 || (bad == -1 && e.kind == E_USAGE && memchr(e.msg, 0, sizeof e.msg)));
	if (!json_parse(doc, dn, &root)) {
		check_compact(root);
		if (!json_query(root, path, &out, &e2)) {
			FUZZ_CHECK(!bad);
			FUZZ_CHECK(out.p >= root.p && out.p + out.n <= root.p + root.n);
			check_compact(out);
		} else {
			/* a bad path is E_USAGE whatever the document; a good one can only be not there */
			FUZZ_CHECK(e2.kind == (bad ? E_USAGE : E_NOTFOUND));
			FUZZ_CHECK(memchr(e2.msg, 0, sizeof e2.msg));
		}
	}
	free(path);
	return 0;
}
