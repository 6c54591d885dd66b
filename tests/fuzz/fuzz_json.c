/* fuzz_json.c — libFuzzer target for json.c: json_parse, then every value of a valid document
 * walked with json_next, json_str, json_key_eq, json_get and json_index, checking the reader's
 * contracts (RFC 8259, https://www.rfc-editor.org/rfc/rfc8259). */
#include "fuzz.h"

/* A value of a validated document is itself a valid document: same bytes, same type. */
static void
check_sub(struct json v)
{
	struct json r;

	FUZZ_CHECK(v.type != JSON_NONE && v.n > 0);
	FUZZ_CHECK(!json_parse(v.p, v.n, &r));
	FUZZ_CHECK(r.p == v.p && r.n == v.n && r.type == v.type);
}

/* Unescaping, escaping again and unescaping gives the same bytes back. */
static void
check_string(struct json v, struct buf *s)
{
	struct buf q = {0}, back = {0};
	struct json r;

	buf_reset(s);
	FUZZ_CHECK(!json_str(v, s));
	json_put_str(&q, s->p ? s->p : "", s->len);
	FUZZ_CHECK(!json_parse(q.p, q.len, &r) && r.type == JSON_STRING);
	FUZZ_CHECK(!json_str(r, &back));
	FUZZ_CHECK(fuzz_buf_is(&back, s->p, s->len));
	buf_free(&q);
	buf_free(&back);
}

static void
walk(struct json v, int depth)
{
	struct json key, val, got;
	struct buf s = {0};
	size_t pos = 0, prev = 0, i = 0;

	FUZZ_CHECK(depth <= 128);
	check_sub(v);
	if (v.type == JSON_STRING) {
		check_string(v, &s);
	} else {
		FUZZ_CHECK(json_str(v, &s) == -1);
	}
	if (v.type != JSON_OBJECT && v.type != JSON_ARRAY) {
		FUZZ_CHECK(json_next(v, &pos, &key, &val) == -1);
		buf_free(&s);
		return;
	}
	while (!json_next(v, &pos, &key, &val)) {
		/* each step moves forward and stays inside the container */
		FUZZ_CHECK(pos > prev && pos <= v.n);
		FUZZ_CHECK(val.p > v.p && val.p + val.n < v.p + v.n);
		prev = pos;
		if (v.type == JSON_OBJECT) {
			FUZZ_CHECK(key.type == JSON_STRING);
			check_sub(key);
			check_string(key, &s);
			/* json_get by the unescaped key finds this member or a later duplicate (the last wins) */
			if (!memchr(s.p, 0, s.len)) {
				FUZZ_CHECK(json_key_eq(key, s.p));
				FUZZ_CHECK(!json_get(v, s.p, &got) && got.p >= val.p);
			}
			FUZZ_CHECK(json_index(v, 0, &got) == -1);
		} else {
			FUZZ_CHECK(key.type == JSON_NONE);
			/* quadratic: only the first elements */
			if (i < 32)
				FUZZ_CHECK(!json_index(v, i, &got) && got.p == val.p && got.n == val.n && got.type == val.type);
			FUZZ_CHECK(json_get(v, "", &got) == -1);
		}
		walk(val, depth + 1);
		i++;
	}
	FUZZ_CHECK(pos == v.n);
	FUZZ_CHECK(json_next(v, &pos, &key, &val) == -1);
	if (v.type == JSON_ARRAY && i < 32)
		FUZZ_CHECK(json_index(v, i, &got) == -1);
	buf_free(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json root;
	const char *p = (const char *)data;

	if (json_parse(p, size, &root))
		return 0;
	FUZZ_CHECK(root.p >= p && root.p + root.n <= p + size);
	walk(root, 0);
	/* the strdup helper agrees with json_str */
	char *v = json_get_strdup(root, "Code");
	free(v);
	return 0;
}
