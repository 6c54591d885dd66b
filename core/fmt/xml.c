/* xml.c — zero-copy reader for the XML that AWS services answer with, and a text escaper:
 * XML 1.0, https://www.w3.org/TR/xml/ (no DTDs, so no entities beyond the five predefined). */
#include "fmt.h"

#include <string.h>

#define XML_MAX_DEPTH 128

/* What a '<' starts. */
enum { M_ERR = -1, M_SKIP, M_CDATA, M_OPEN, M_EMPTY, M_CLOSE };

static int reference(const char **sp, const char *e, struct buf *out);

static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *
skip_ws(const char *s, const char *e)
{
	while (s < e && is_ws(*s))
		s++;
	return s;
}

static const char *
name_end(const char *s, const char *e)
{
	while (s < e && !is_ws(*s) && !strchr("/>=<\"'!?&", *s))
		s++;
	return s;
}

/* A start tag at s ('<'): its qualified name, its end, whether it is empty (<x/>).
 * Attribute values may hold '>', so they are stepped over by their quotes. */
static int
start_tag(const char *s, const char *e, struct slice *qn, const char **end)
{
	const char *n = s + 1, *a, *q;

	s = name_end(n, e);
	if (s == n)
		return M_ERR;
	*qn = (struct slice){n, (size_t)(s - n)};
	for (;;) {
		a = s;
		if ((s = skip_ws(s, e)) >= e)
			return M_ERR;
		if (*s == '>') {
			*end = s + 1;
			return M_OPEN;
		}
		if (*s == '/') {
			if (s + 1 >= e || s[1] != '>')
				return M_ERR;
			*end = s + 2;
			return M_EMPTY;
		}
		n = s;
		if (s == a || (s = name_end(s, e)) == n) /* attributes follow white space */
			return M_ERR;
		s = skip_ws(s, e);
		if (s >= e || *s != '=')
			return M_ERR;
		s = skip_ws(s + 1, e);
		if (s >= e || (*s != '"' && *s != '\''))
			return M_ERR;
		q = memchr(s + 1, *s, (size_t)(e - s - 1));
		if (!q || memchr(s + 1, '<', (size_t)(q - s - 1)))
			return M_ERR;
		s = q + 1;
	}
}

/* Classifies the markup at s ('<') and sets *next past it; tags give their qualified name. */
static int
markup(const char *s, const char *e, const char **next, struct slice *qn)
{
	static const struct { const char *open, *close; int kind; } skips[] = {
		{"<!--", "-->", M_SKIP}, {"<![CDATA[", "]]>", M_CDATA}, {"<?", "?>", M_SKIP}};
	size_t left = (size_t)(e - s);

	for (size_t i = 0; i < COUNT(skips); i++) {
		size_t ol = strlen(skips[i].open), cl = strlen(skips[i].close);
		if (left >= ol && !memcmp(s, skips[i].open, ol)) {
			const char *c = memmem(s + ol, left - ol, skips[i].close, cl);
			if (!c)
				return M_ERR;
			*next = c + cl;
			return skips[i].kind;
		}
	}
	if (left >= 2 && s[1] == '/') {
		const char *n = s + 2, *t = name_end(n, e);
		*qn = (struct slice){n, (size_t)(t - n)};
		t = skip_ws(t, e);
		if (t == n || t >= e || *t != '>')
			return M_ERR;
		*next = t + 1;
		return M_CLOSE;
	}
	return start_tag(s, e, qn, next); /* "<!DOCTYPE" fails here: no DTDs */
}

/* The local name of a qualified name (prefix stripped); -1 if either part is empty. */
static int
local_name(struct slice qn, struct slice *name)
{
	const char *c = memrchr(qn.p, ':', qn.n);

	*name = c ? (struct slice){c + 1, (size_t)(qn.p + qn.n - c - 1)} : qn;
	return !name->n || *qn.p == ':' ? -1 : 0;
}

/* The element whose start tag is at s, in a document xml_root validated; *end is set past
 * its end tag. Nested elements are only counted: no recursion, no stack. */
static int
element(const char *s, const char *e, struct xml *el, const char **end)
{
	struct slice qn, q2;
	const char *b, *lt;
	size_t depth = 0;
	int k = start_tag(s, e, &qn, &b);

	if ((k != M_OPEN && k != M_EMPTY) || local_name(qn, &el->name))
		return -1;
	el->body = (struct slice){b, 0};
	*end = b;
	if (k == M_EMPTY)
		return 0;
	for (s = b;;) {
		if (!(lt = memchr(s, '<', (size_t)(e - s))) || (k = markup(lt, e, &s, &q2)) == M_ERR)
			return -1;
		if (k == M_OPEN)
			depth++;
		else if (k == M_CLOSE && depth)
			depth--;
		else if (k == M_CLOSE) {
			if (q2.n != qn.n || memcmp(q2.p, qn.p, qn.n))
				return -1;
			el->body.n = (size_t)(lt - b);
			*end = s;
			return 0;
		}
	}
}

/* Checks the whole document once (tags matched through a stack of open names, references
 * decodable), so that navigating it later cannot meet malformed markup. */
int
xml_root(const char *doc, size_t n, struct xml *root)
{
	const char *s = doc, *e, *next, *body = NULL;
	struct slice qn, name, open[XML_MAX_DEPTH];
	int depth = 0, k;

	if (!doc)
		return -1;
	e = doc + n; /* not before the check: NULL + 0 is undefined in C */
	if (n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
		s += 3; /* a UTF-8 byte order mark */
	for (;; s = next) {
		if (!depth)
			s = skip_ws(s, e);
		while (depth && s < e && *s != '<')
			if (*s != '&')
				s++;
			else if (reference(&s, e, NULL))
				return -1;
		if (s >= e)
			return body && !depth ? 0 : -1;
		/* outside the root only white space, comments and processing instructions */
		if (*s != '<' || (k = markup(s, e, &next, &qn)) == M_ERR || (!depth && (k == M_CDATA || k == M_CLOSE)))
			return -1;
		if (k == M_OPEN || k == M_EMPTY) {
			if (local_name(qn, &name) || (!depth && body) || depth == XML_MAX_DEPTH)
				return -1;
			if (!depth)
				*root = (struct xml){name, {body = next, 0}};
			if (k == M_OPEN)
				open[depth++] = qn;
		} else if (k == M_CLOSE) {
			depth--;
			if (qn.n != open[depth].n || memcmp(qn.p, open[depth].p, qn.n))
				return -1;
			if (!depth)
				root->body.n = (size_t)(s - body);
		}
	}
}

int
xml_next(struct xml el, size_t *pos, struct xml *child)
{
	const char *b = el.body.p, *e, *s, *lt, *next;
	struct slice qn;
	int k;

	if (!b || *pos >= el.body.n)
		return -1;
	e = b + el.body.n; /* not before the check: NULL + 0 is undefined in C */
	for (s = b + *pos;; s = next) {
		if (!(lt = memchr(s, '<', (size_t)(e - s))) || (k = markup(lt, e, &next, &qn)) == M_ERR ||
		    k == M_CLOSE) {
			*pos = el.body.n;
			return -1;
		}
		if (k == M_OPEN || k == M_EMPTY) {
			if (element(lt, e, child, &next)) {
				*pos = el.body.n;
				return -1;
			}
			*pos = (size_t)(next - b);
			return 0;
		}
	}
}

static int
child_n(struct xml el, const char *name, size_t n, struct xml *out)
{
	size_t pos = 0;

	while (!xml_next(el, &pos, out))
		if (out->name.n == n && !memcmp(out->name.p, name, n))
			return 0;
	return -1;
}

int
xml_child(struct xml el, const char *name, struct xml *out)
{
	return child_n(el, name, strlen(name), out);
}

int
xml_path(struct xml el, const char *path, struct xml *out)
{
	while (*path) {
		size_t n = strcspn(path, "/");
		if (n && child_n(el, path, n, &el))
			return -1;
		path += n + (path[n] == '/');
	}
	*out = el;
	return 0;
}

/* Appends s with line ends normalised to "\n" (XML 1.0 section 2.11). */
static void
add_text(struct buf *out, const char *s, const char *e)
{
	const char *cr;

	while ((cr = memchr(s, '\r', (size_t)(e - s)))) {
		buf_add(out, s, (size_t)(cr - s));
		buf_addc(out, '\n');
		s = cr + 1 < e && cr[1] == '\n' ? cr + 2 : cr + 1;
	}
	buf_add(out, s, (size_t)(e - s));
}

/* A reference at *sp ('&'): one of the five predefined entities, &#NN; or &#xHH;. Its
 * UTF-8 goes to out (when not NULL: xml_root only checks). */
static int
reference(const char **sp, const char *e, struct buf *out)
{
	static const char *const ents[] = {"lt<", "gt>", "amp&", "quot\"", "apos'"};
	const char *s = *sp + 1, *semi = memchr(s, ';', (size_t)(e - s)), *d;
	size_t n, len = 1;
	uint32_t v = 0;
	char o[4];

	if (!semi || !(n = (size_t)(semi - s)))
		return -1;
	*sp = semi + 1;
	if (*s != '#') {
		for (size_t i = 0; i < COUNT(ents); i++)
			if (strlen(ents[i]) == n + 1 && !memcmp(ents[i], s, n)) {
				if (out)
					buf_addc(out, ents[i][n]);
				return 0;
			}
		return -1;
	}
	int hex = n > 1 && s[1] == 'x';
	if ((d = s + 1 + hex) == semi)
		return -1;
	for (; d < semi; d++) {
		int c = (unsigned char)*d, l = c | 32;
		if (c >= '0' && c <= '9')
			v = v * (hex ? 16 : 10) + (uint32_t)(c - '0');
		else if (hex && l >= 'a' && l <= 'f')
			v = v * 16 + (uint32_t)(l - 'a' + 10);
		else
			return -1;
		if (v > 0x10ffff)
			return -1;
	}
	/* only XML's Char production: no NUL, other C0 controls, surrogates, U+FFFE/U+FFFF */
	if ((v < 0x20 && v != 9 && v != 10 && v != 13) || (v >= 0xd800 && v <= 0xdfff) || v == 0xfffe ||
	    v == 0xffff)
		return -1;
	if (v < 0x80) {
		o[0] = (char)v;
	} else {
		/* UTF-8 (RFC 3629): a lead byte, then 6 bits per continuation byte */
		len = v < 0x800 ? 2 : v < 0x10000 ? 3 : 4;
		for (size_t i = len - 1; i > 0; i--, v >>= 6)
			o[i] = (char)(0x80 | (v & 63));
		o[0] = (char)((0xf00u >> len & 0xf0) | v);
	}
	if (out)
		buf_add(out, o, len);
	return 0;
}

int
xml_text(struct xml el, struct buf *out)
{
	const char *s = el.body.p, *e = s ? s + el.body.n : NULL, *r, *next; /* NULL + 0 is undefined */
	size_t start = out->len;
	struct slice qn;
	int k;

	buf_reserve(out, el.body.n);
	out->p[out->len] = 0; /* buf_reserve alone leaves a new buffer unterminated */
	while (s && s < e) {
		if (*s == '<') {
			/* text of child elements counts too, as in ElementTree's itertext() */
			if ((k = markup(s, e, &next, &qn)) == M_ERR)
				goto fail;
			if (k == M_CDATA)
				add_text(out, s + 9, next - 3);
			s = next;
		} else if (*s == '&') {
			if (reference(&s, e, out))
				goto fail;
		} else {
			for (r = s; s < e && *s != '<' && *s != '&'; s++)
				;
			add_text(out, r, s);
		}
	}
	return 0;
fail:
	out->len = start;
	out->p[start] = 0;
	return -1;
}

char *
xml_path_strdup(struct xml el, const char *path)
{
	struct xml x;
	struct buf b = {0};

	if (xml_path(el, path, &x) || xml_text(x, &b)) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

void
xml_put_text(struct buf *b, const char *s, size_t n)
{
	size_t run = 0;

	buf_reserve(b, n);
	for (size_t i = 0; i < n; i++) {
		const char *ent;
		switch (s[i]) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&apos;"; break;
		default: continue;
		}
		buf_add(b, s + run, i - run);
		buf_adds(b, ent);
		run = i + 1;
	}
	buf_add(b, s + run, n - run);
}
