/* json.c — zero-copy JSON reader (validate once, then walk slices) and a string writer:
 * RFC 8259, https://www.rfc-editor.org/rfc/rfc8259 */
#include "fmt.h"

#include <string.h>

#define JSON_MAX_DEPTH 128

static const char *
ws(const char *s, const char *e)
{
	while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++;
	return s;
}

static int
hex4(const char *s, const char *e, uint32_t *v)
{
	*v = 0;
	if (e - s < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)s[i], l = c | 32;
		if (c >= '0' && c <= '9')
			*v = *v << 4 | (uint32_t)(c - '0');
		else if (l >= 'a' && l <= 'f')
			*v = *v << 4 | (uint32_t)(l - 'a' + 10);
		else
			return -1;
	}
	return 0;
}

/* UTF-8 (RFC 3629): a lead byte, then 6 bits per continuation byte. */
static int
utf8_put(uint32_t u, char *o)
{
	int len = u < 0x80 ? 1 : u < 0x800 ? 2 : u < 0x10000 ? 3 : 4;

	if (len == 1) {
		*o = (char)u;
		return 1;
	}
	for (int i = len - 1; i > 0; i--, u >>= 6)
		o[i] = (char)(0x80 | (u & 63));
	o[0] = (char)((0xf00u >> len & 0xf0) | u);
	return len;
}

/* *sp is at the opening quote; on success it is left after the closing one. */
static int
scan_string(const char **sp, const char *e)
{
	const char *s = *sp + 1;
	uint32_t u;

	for (;;) {
		if (s >= e)
			return -1;
		unsigned char c = (unsigned char)*s++;
		if (c == '"')
			break;
		if (c < 0x20)
			return -1;
		if (c != '\\')
			continue;
		if (s >= e)
			return -1;
		c = (unsigned char)*s++;
		if (c == 'u') {
			/* Lone surrogates are syntactically valid (RFC 8259 section 8.2); json_str
			 * turns them into U+FFFD. */
			if (hex4(s, e, &u))
				return -1;
			s += 4;
		} else if (!c || !strchr("\"\\/bfnrt", c)) {
			return -1;
		}
	}
	*sp = s;
	return 0;
}

static const char *
digits(const char *s, const char *e)
{
	while (s < e && *s >= '0' && *s <= '9')
		s++;
	return s;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? ; any magnitude is syntactically fine. */
static int
scan_number(const char **sp, const char *e)
{
	const char *s = *sp, *d;

	if (s < e && *s == '-')
		s++;
	if (s < e && *s == '0')
		s++;
	else if (s < e && *s >= '1' && *s <= '9')
		s = digits(s, e);
	else
		return -1;
	if (s < e && *s == '.') {
		if ((d = digits(s + 1, e)) == s + 1)
			return -1;
		s = d;
	}
	if (s < e && (*s == 'e' || *s == 'E')) {
		s++;
		if (s < e && (*s == '+' || *s == '-'))
			s++;
		if ((d = digits(s, e)) == s)
			return -1;
		s = d;
	}
	*sp = s;
	return 0;
}

static int
scan_scalar(const char **sp, const char *e)
{
	static const char *const lits[] = {"null", "false", "true"};
	const char *s = *sp;

	if (*s == '"')
		return scan_string(sp, e);
	for (size_t i = 0; i < COUNT(lits); i++) {
		size_t l = strlen(lits[i]);
		if (*s == lits[i][0]) {
			if ((size_t)(e - s) < l || memcmp(s, lits[i], l))
				return -1;
			*sp = s + l;
			return 0;
		}
	}
	return scan_number(sp, e);
}

/* An object member's key and colon; *sp is left at the value. */
static int
scan_key(const char **sp, const char *e)
{
	const char *s = *sp;

	if (s >= e || *s != '"' || scan_string(&s, e))
		return -1;
	s = ws(s, e);
	if (s >= e || *s != ':')
		return -1;
	*sp = ws(s + 1, e);
	return 0;
}

static int
type_of(const char *s)
{
	switch (*s) {
	case 'n': return JSON_NULL;
	case 'f': return JSON_FALSE;
	case 't': return JSON_TRUE;
	case '"': return JSON_STRING;
	case '[': return JSON_ARRAY;
	case '{': return JSON_OBJECT;
	default: return JSON_NUMBER;
	}
}

int
json_parse(const char *p, size_t n, struct json *root)
{
	const char *s, *e, *v, *end;
	char stack[JSON_MAX_DEPTH]; /* closers of the open containers: no recursion */
	int depth = 0;

	if (!p)
		return -1;
	e = p + n; /* not before the check: NULL + 0 is undefined in C */
	v = s = ws(p, e);
	for (;;) {
		/* here a value must start */
		if (s >= e)
			return -1;
		if (*s == '[' || *s == '{') {
			if (depth == JSON_MAX_DEPTH)
				return -1;
			stack[depth++] = *s == '[' ? ']' : '}';
			s = ws(s + 1, e);
			if (s < e && *s == stack[depth - 1]) {
				s++;
				depth--;
			} else {
				if (stack[depth - 1] == '}' && scan_key(&s, e))
					return -1;
				continue;
			}
		} else if (scan_scalar(&s, e)) {
			return -1;
		}
		/* after a value: close containers, or go on to the next member */
		for (;;) {
			if (!depth)
				goto done;
			s = ws(s, e);
			if (s < e && *s == stack[depth - 1]) {
				s++;
				depth--;
				continue;
			}
			if (s >= e || *s != ',')
				return -1;
			s = ws(s + 1, e);
			if (stack[depth - 1] == '}' && scan_key(&s, e))
				return -1;
			break;
		}
	}
done:
	end = s;
	if (ws(s, e) != e)
		return -1;
	root->p = v;
	root->n = (size_t)(end - v);
	root->type = type_of(v);
	return 0;
}

/* The end of the (validated) value at s; never beyond e. */
static const char *
skip(const char *s, const char *e)
{
	int depth = 0;

	do {
		if (s >= e)
			return e;
		char c = *s++;
		if (c == '"') {
			while (s < e && *s != '"')
				s += *s == '\\' && s + 1 < e ? 2 : 1;
			if (s < e)
				s++;
		} else if (c == '[' || c == '{') {
			depth++;
		} else if (c == ']' || c == '}') {
			depth--;
		} else if (!depth) {
			while (s < e && !strchr(" \t\r\n,]}:", *s))
				s++;
		}
	} while (depth > 0);
	return s;
}

int
json_next(struct json c, size_t *pos, struct json *key, struct json *val)
{
	const char *e = c.p + c.n, *s, *v;
	int obj = c.type == JSON_OBJECT;

	if ((!obj && c.type != JSON_ARRAY) || c.n < 2 || *c.p != (obj ? '{' : '[') || *pos >= c.n)
		return -1;
	s = ws(c.p + (*pos ? *pos : 1), e);
	if (s < e && *s == ',')
		s = ws(s + 1, e);
	if (s >= e || *s == ']' || *s == '}') {
		*pos = c.n;
		return -1;
	}
	if (obj) {
		v = s;
		s = skip(s, e);
		if (key)
			*key = (struct json){v, (size_t)(s - v), JSON_STRING};
		s = ws(s, e);
		if (s < e && *s == ':')
			s = ws(s + 1, e);
	} else if (key) {
		*key = (struct json){NULL, 0, JSON_NONE};
	}
	if (s >= e) {
		*pos = c.n;
		return -1;
	}
	v = s;
	s = skip(s, e);
	*val = (struct json){v, (size_t)(s - v), type_of(v)};
	*pos = (size_t)(s - c.p);
	return 0;
}

int
json_index(struct json arr, size_t i, struct json *out)
{
	size_t pos = 0;

	if (arr.type != JSON_ARRAY)
		return -1;
	while (!json_next(arr, &pos, NULL, out))
		if (!i--)
			return 0;
	return -1;
}

int
json_get(struct json obj, const char *key, struct json *out)
{
	size_t pos = 0;
	struct json k, v;
	int rc = -1;

	if (obj.type != JSON_OBJECT)
		return -1;
	while (!json_next(obj, &pos, &k, &v))
		if (json_key_eq(k, key)) {
			*out = v; /* the last of duplicated keys, as jq, Python and JavaScript take */
			rc = 0;
		}
	return rc;
}

/* The next character of a validated string at *sp (inside the quotes), as UTF-8 in o;
 * returns its length, 0 at the closing quote (or the end). */
static int
unesc(const char **sp, const char *e, char *o)
{
	const char *s = *sp;
	uint32_t u, lo;

	if (s >= e || *s == '"')
		return 0;
	if (*s != '\\') {
		*o = *s;
		*sp = s + 1;
		return 1;
	}
	if (e - s < 2)
		return 0;
	*sp = s + 2;
	switch (s[1]) {
	case 'b': *o = '\b'; return 1;
	case 'f': *o = '\f'; return 1;
	case 'n': *o = '\n'; return 1;
	case 'r': *o = '\r'; return 1;
	case 't': *o = '\t'; return 1;
	case 'u': break;
	default: *o = s[1]; return 1; /* " \ / */
	}
	if (hex4(s + 2, e, &u))
		return 0;
	s += 6;
	if (u >= 0xd800 && u <= 0xdbff && e - s >= 6 && s[0] == '\\' && s[1] == 'u' && !hex4(s + 2, e, &lo) &&
	    lo >= 0xdc00 && lo <= 0xdfff) {
		u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
		s += 6;
	} else if (u >= 0xd800 && u <= 0xdfff) {
		u = 0xfffd; /* a lone surrogate has no UTF-8 form */
	}
	*sp = s;
	return utf8_put(u, o);
}

static int
is_str(struct json v)
{
	return v.type == JSON_STRING && v.n >= 2 && v.p[0] == '"';
}

int
json_str(struct json v, struct buf *out)
{
	const char *s, *e, *r;
	char o[4];
	int k;

	if (!is_str(v))
		return -1;
	s = v.p + 1;
	e = v.p + v.n;
	buf_reserve(out, v.n);
	for (;;) {
		for (r = s; s < e && *s != '"' && *s != '\\'; s++)
			;
		buf_add(out, r, (size_t)(s - r));
		if (!(k = unesc(&s, e, o)))
			return 0;
		buf_add(out, o, (size_t)k);
	}
}

int
json_key_eq(struct json key, const char *z)
{
	const char *s, *e;
	char o[4];
	int k;

	if (!is_str(key))
		return 0;
	s = key.p + 1;
	e = key.p + key.n;
	while ((k = unesc(&s, e, o))) {
		if (strncmp(z, o, (size_t)k) || memchr(o, 0, (size_t)k))
			return 0;
		z += k;
	}
	return !*z;
}

char *
json_get_strdup(struct json obj, const char *key)
{
	struct json v;
	struct buf b = {0};

	if (json_get(obj, key, &v) || json_str(v, &b))
		return NULL;
	return buf_take(&b);
}

void
json_put_str(struct buf *b, const char *s, size_t n)
{
	size_t run = 0;

	buf_reserve(b, n + 2);
	buf_addc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + run, i - run);
		run = i + 1;
		esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f"
		    : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
		if (esc)
			buf_adds(b, esc);
		else
			buf_printf(b, "\\u%04x", c);
	}
	buf_add(b, s + run, n - run);
	buf_addc(b, '"');
}
