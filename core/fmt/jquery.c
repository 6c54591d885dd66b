/* jquery.c — JSON path queries for secretget --query (foo.bar[1], foo.bar.[1], ["k.with.dots"])
 * over the validated documents of json.c; values per RFC 8259, https://www.rfc-editor.org/rfc/rfc8259 */
#include "fmt.h"

#include <stdio.h>
#include <string.h>

enum { SEG_KEY, SEG_INDEX };

/* One parsed segment. A key is decoded into key (always NUL-terminated). */
struct seg {
	int kind;
	int bare;          /* a key written without brackets: may index an array when all digits */
	long long index;
	struct buf key;
	size_t start;      /* offset of the segment in the path, for messages */
};

static int
bad(struct err *e, const char *path, size_t at, const char *why)
{
	return err_set(e, E_USAGE, "bad query path '%s' at offset %zu: %s", path, at, why);
}

/* A bracketed segment at path[*i] == '['; leaves *i after the ']'. */
static int
bracket(const char *path, size_t *i, struct seg *s, struct err *e)
{
	size_t j = *i + 1;
	char q = path[j];

	if (q == '"') {
		/* JSON string syntax: find the closing quote, then let json.c validate and decode. */
		size_t k = j + 1;
		while (path[k] && path[k] != '"')
			k += path[k] == '\\' && path[k + 1] ? 2 : 1;
		struct json v;
		if (path[k] != '"' || json_parse(path + j, k + 1 - j, &v) || v.type != JSON_STRING ||
		    json_str(v, &s->key))
			return bad(e, path, j, "unterminated or invalid \"...\" key");
		if (memchr(s->key.p, 0, s->key.len))
			return bad(e, path, j, "a key holding \\u0000 cannot be matched");
		j = k + 1;
		s->kind = SEG_KEY;
	} else if (q == '\'') {
		size_t k = j + 1;
		for (;; k++) {
			if (!path[k])
				return bad(e, path, j, "unterminated '...' key");
			if (path[k] == '\'')
				break;
			if (path[k] == '\\' && (path[k + 1] == '\'' || path[k + 1] == '\\'))
				k++;
			buf_addc(&s->key, path[k]);
		}
		if (!s->key.p)
			buf_adds(&s->key, "");
		j = k + 1;
		s->kind = SEG_KEY;
	} else {
		int neg = q == '-', nd = 0;
		long long v = 0;
		if (neg)
			j++;
		for (; path[j] >= '0' && path[j] <= '9'; j++, nd++) {
			if (nd >= 18)
				return bad(e, path, *i, "index too large");
			v = v * 10 + (path[j] - '0');
		}
		if (!nd)
			return bad(e, path, *i + 1, "expected a number or a quoted key after '['");
		s->kind = SEG_INDEX;
		s->index = neg ? -v : v;
	}
	if (path[j] != ']')
		return bad(e, path, j, "expected ']'");
	*i = j + 1;
	return 0;
}

/* The next segment from path[*i]: 1 with s filled, 0 at the end, -1 on a syntax error. */
static int
next_seg(const char *path, size_t *i, struct seg *s, struct err *e)
{
	size_t j = *i;

	buf_reset(&s->key);
	s->bare = 0;
	if (!path[j])
		return 0;
	if (j > 0) {
		/* after a segment: ".name", ".[..]" or "[..]" */
		if (path[j] == '.') {
			j++;
			if (!path[j] || path[j] == '.')
				return bad(e, path, j, "empty segment");
		} else if (path[j] != '[') {
			return bad(e, path, j, "expected '.' or '[' after ']'");
		}
	}
	s->start = j;
	if (path[j] == '[') {
		if (bracket(path, &j, s, e))
			return -1;
	} else {
		size_t k = j;
		while (path[k] && path[k] != '.' && path[k] != '[')
			k++;
		if (k == j)
			return bad(e, path, j, "empty segment");
		buf_add(&s->key, path + j, k - j);
		s->kind = SEG_KEY;
		s->bare = 1;
		j = k;
	}
	*i = j;
	return 1;
}

int
json_query_check(const char *path, struct err *e)
{
	struct seg s = {0};
	size_t i = 0;
	int r;

	if (!path || !*path)
		return err_set(e, E_USAGE, "empty query path");
	if (path[0] == '.')
		path++; /* a leading '.' as jq writes it; "." alone is the root */
	while ((r = next_seg(path, &i, &s, e)) == 1)
		;
	buf_free(&s.key);
	return r;
}

static const char *
type_name(int t)
{
	switch (t) {
	case JSON_NULL: return "null";
	case JSON_FALSE:
	case JSON_TRUE: return "a boolean";
	case JSON_NUMBER: return "a number";
	case JSON_STRING: return "a string";
	case JSON_ARRAY: return "an array";
	case JSON_OBJECT: return "an object";
	default: return "nothing";
	}
}

static size_t
count(struct json arr)
{
	size_t pos = 0, n = 0;
	struct json v;

	while (!json_next(arr, &pos, NULL, &v))
		n++;
	return n;
}

static int
all_digits(const struct buf *k)
{
	if (!k->len || k->len > 18)
		return 0;
	for (size_t i = 0; i < k->len; i++)
		if (k->p[i] < '0' || k->p[i] > '9')
			return 0;
	return 1;
}

int
json_query(struct json root, const char *path, struct json *out, struct err *e)
{
	struct seg s = {0};
	struct json cur = root, next;
	const char *p = path;
	size_t i;
	int r, rc = -1;

	if (json_query_check(path, e))
		return -1;
	if (path[0] == '.')
		p++; /* json_query_check accepted it: a leading dot, or "." alone */
	i = 0;
	while ((r = next_seg(p, &i, &s, e)) == 1) {
		/* where we are, for messages: the path up to this segment */
		int wn = (int)(s.start + (size_t)(p - path));
		if (wn && path[wn - 1] == '.')
			wn--;
		const char *where = wn ? path : "the document";
		if (!wn)
			wn = (int)strlen(where);
		if (s.kind == SEG_KEY && cur.type == JSON_OBJECT) {
			if (json_get(cur, s.key.p, &next)) {
				err_set(e, E_NOTFOUND, "%s: not found: no key \"%s\" in %.*s", path, s.key.p, wn, where);
				goto fail;
			}
		} else if ((s.kind == SEG_INDEX || (s.bare && all_digits(&s.key))) && cur.type == JSON_ARRAY) {
			long long idx = s.kind == SEG_INDEX ? s.index : 0;
			if (s.kind == SEG_KEY)
				for (size_t k = 0; k < s.key.len; k++)
					idx = idx * 10 + (s.key.p[k] - '0');
			size_t n = count(cur);
			if (idx < 0)
				idx += (long long)n;
			if (idx < 0 || (unsigned long long)idx >= n || json_index(cur, (size_t)idx, &next)) {
				err_set(e, E_NOTFOUND, "%s: not found: %.*s has %zu element%s", path, wn, where, n,
					n == 1 ? "" : "s");
				goto fail;
			}
		} else {
			err_set(e, E_NOTFOUND, "%s: not found: %.*s is %s, not %s", path, wn, where, type_name(cur.type),
				s.kind == SEG_INDEX ? "an array" : "an object");
			goto fail;
		}
		cur = next;
	}
	if (r < 0)
		goto fail;
	*out = cur;
	rc = 0;
fail:
	buf_free(&s.key);
	return rc;
}

void
json_compact(struct json v, struct buf *out)
{
	const char *s = v.p, *e = v.p + v.n, *run = s;

	buf_reserve(out, v.n);
	while (s < e) {
		char c = *s;
		if (c == '"') {
			s++;
			while (s < e && *s != '"')
				s += *s == '\\' && s + 1 < e ? 2 : 1;
			if (s < e)
				s++;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			buf_add(out, run, (size_t)(s - run));
			while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
				s++;
			run = s;
		} else {
			s++;
		}
	}
	buf_add(out, run, (size_t)(s - run));
}

void
json_text(struct json v, struct buf *out)
{
	if (v.type == JSON_STRING && !json_str(v, out))
		return;
	json_compact(v, out);
}
