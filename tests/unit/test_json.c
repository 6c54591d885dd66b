/* test_json.c — the JSON reader and writer against RFC 8259 facts and, differentially,
 * against python3's json module on generated and mutated documents. */
#include "unit.h"

static int
parse_copy(const char *s, size_t n, struct json *v)
{
	char *p = xmalloc(n ? n : 1); /* exact size, so an overread shows up under a sanitizer */
	int r;

	memcpy(p, s, n);
	r = json_parse(p, n, v);
	free(p);
	return r;
}

static int
valid(const char *s)
{
	struct json v;

	return parse_copy(s, strlen(s), &v) == 0;
}

static char *
str_of(struct json v)
{
	struct buf b = {0};

	if (json_str(v, &b))
		return NULL;
	return buf_take(&b);
}

TEST(json_syntax)
{
	static const char *const good[] = {
		"0", "-0", "1", "-12", "0.5", "1e5", "1E+2", "-0.0e-7", "123456789012345678901234567890",
		"1e999999999999", "null", "true", "false", "\"\"", "\"\\u00e9\"", "\"\\ud83d\\ude00\"",
		"\"\\ud800\"", "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"", "\"\x7f\"", "\"\xff\xfe\"", "[]", "{}",
		" [ 1 , 2 ] ", "\r\n\t{\"a\" : [ ] }\n", "[[[]]]", "{\"a\":{\"b\":[null,{}]}}",
		"{\"a\":1,\"a\":2}", "\"\\uABCD\\uabcd\""};
	static const char *const bad[] = {
		"", " ", "[", "]", "{", "[1,]", "[,1]", "[1 2]", "{\"a\" 1}", "{\"a\":1,}", "{1:2}", "{\"a\"}",
		"{'a':1}", "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "1.5e", "NaN", "Infinity",
		"-Infinity", "nul", "tru", "nulll", "True", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"",
		"\"\\", "\"\\\"", "\"a\tb\"", "\"a\nb\"", "\"\x01\"", "[1]x", "1 2", "[1]]", "{}}",
		"\xef\xbb\xbf{}", "[1,\x00]", "[\"a\"\"b\"]", "{\"a\":1 \"b\":2}", "/* c */ 1", "[1,]]",
		"{]", "[}", "{\"a\":1]", "[1}", "[{]}", "{\"a\":[}]", "\"\\v\"", "\"\\'\"", "\"\\U0041\"", "\"\\0\""};

	for (size_t i = 0; i < COUNT(good); i++)
		if (!valid(good[i]))
			utest_fail(__FILE__, __LINE__, "rejected valid %s", good[i]);
	for (size_t i = 0; i < COUNT(bad); i++)
		if (valid(bad[i]))
			utest_fail(__FILE__, __LINE__, "accepted invalid %s", bad[i]);
	struct json v;
	CHECK_INT(parse_copy("1\0", 2, &v), -1); /* an embedded NUL is trailing garbage */
	CHECK_INT(parse_copy("\"a\0b\"", 5, &v), -1); /* a raw control character */

	CHECK_INT(json_parse("  [1, 2]  \n", 11, &v), 0);
	CHECK_INT(v.type, JSON_ARRAY);
	CHECK_INT(v.n, 6); /* the value, without surrounding white space */
	CHECK(!memcmp(v.p, "[1, 2]", 6));
	CHECK_INT(json_parse(" -1.5e3 ", 8, &v), 0);
	CHECK_INT(v.type, JSON_NUMBER);
	CHECK_INT(v.n, 6);
}

TEST(json_hostile)
{
	size_t n = 100000;
	char *p = xmalloc(2 * n);
	struct json v;

	memset(p, '[', n);
	CHECK_INT(json_parse(p, n, &v), -1);
	memset(p + n, ']', n);
	CHECK_INT(json_parse(p, 2 * n, &v), -1); /* balanced but too deep */
	CHECK_INT(json_parse(p + n - 128, 256, &v), 0); /* 128 deep is the limit */
	CHECK_INT(json_parse(p + n - 129, 258, &v), -1);
	for (size_t i = 0; i < n; i++)
		p[i] = i & 1 ? '[' : '{';
	CHECK_INT(json_parse(p, n, &v), -1);
	memset(p, '1', 2 * n);
	CHECK_INT(json_parse(p, 2 * n, &v), 0); /* a huge number is still a number */
	p[0] = '-', p[1] = '0';
	CHECK_INT(json_parse(p, 2 * n, &v), -1);
	p[1] = '1', p[2] = 'e';
	CHECK_INT(json_parse(p, 2 * n, &v), 0);
	memset(p, '"', 2 * n);
	CHECK_INT(json_parse(p, 2 * n - 1, &v), -1);
	memset(p, '\\', 2 * n);
	p[0] = '"';
	CHECK_INT(json_parse(p, 2 * n, &v), -1);
	CHECK_INT(json_parse(NULL, 0, &v), -1);
	free(p);

	/* every strict prefix of a document whose root is a container is invalid */
	const char doc[] = "{\"a\":[1,2.5e3,\"x\\u00e9\\ud83d\\ude00\",[]],\"b\":{\"c\":null,\"d\":true,\"e\":false}}";
	CHECK_INT(parse_copy(doc, sizeof doc - 1, &v), 0);
	for (size_t i = 0; i < sizeof doc - 1; i++)
		if (parse_copy(doc, i, &v) != -1)
			utest_fail(__FILE__, __LINE__, "prefix %zu accepted", i);
}

TEST(json_read)
{
	const char doc[] = "{\"foo\":{\"bar\":[\"a\",\"b\"]},\"a\\u0062\":1,\"ab\":2,\"n\":3,\"n\":4,"
			   "\"s\":\"x\\ty\\u0000z\",\"nul\\u0000\":5,\"big\":[[[{\"k\":[1,{\"ab\":9}]}]]],\"e\":\"\"}";
	struct json root, v, w, k;
	char *s;

	CHECK_INT(json_parse(doc, sizeof doc - 1, &root), 0);
	CHECK_INT(root.type, JSON_OBJECT);
	CHECK_INT(json_get(root, "foo", &v), 0);
	CHECK_INT(json_get(v, "bar", &w), 0);
	CHECK_INT(w.type, JSON_ARRAY);
	CHECK_INT(json_index(w, 1, &v), 0);
	CHECK_STR(s = str_of(v), "b");
	free(s);
	CHECK_INT(json_index(w, 2, &v), -1);
	CHECK_INT(json_index(root, 0, &v), -1); /* not an array */
	CHECK_INT(json_get(w, "a", &v), -1);    /* not an object */
	CHECK_INT(json_get(root, "ab", &v), 0); /* "a\u0062" is "ab": of the two the last wins */
	CHECK(v.n == 1 && v.p[0] == '2');
	CHECK_INT(json_get(root, "n", &v), 0);
	CHECK(v.n == 1 && v.p[0] == '4');
	CHECK_INT(json_get(root, "nul", &v), -1); /* "nul\u0000" is not "nul" */
	CHECK_INT(json_get(root, "missing", &v), -1);
	CHECK_INT(json_get(root, "big", &v), 0);
	CHECK_INT(v.type, JSON_ARRAY);
	CHECK_INT(v.n, strlen("[[[{\"k\":[1,{\"ab\":9}]}]]]"));
	CHECK_INT(json_get(root, "e", &v), 0);
	CHECK_STR(s = str_of(v), "");
	free(s);
	CHECK_INT(json_get(root, "s", &v), 0);
	struct buf b = {0};
	CHECK_INT(json_str(v, &b), 0);
	CHECK_INT(b.len, 5);
	CHECK(!memcmp(b.p, "x\ty\0z", 5));
	buf_free(&b);
	CHECK(!json_get_strdup(root, "foo")); /* an object, not a string */
	CHECK_STR(s = json_get_strdup(root, "e"), "");
	free(s);
	CHECK_INT(json_parse("{\"Name\":\"\\/app\\u002Fdb\\n\"}", 26, &v), 0);
	CHECK_STR(s = json_get_strdup(v, "Name"), "/app/db\n");
	free(s);
	CHECK(!json_get_strdup(root, "n"));
	CHECK(!json_get_strdup(root, "zz"));
	CHECK(!json_get_strdup(w, "x"));
	CHECK_INT(json_str(root, &b), -1);

	/* iteration: keys for objects, JSON_NONE keys for arrays */
	size_t pos = 0, count = 0;
	while (!json_next(root, &pos, &k, &v))
		count++;
	CHECK_INT(count, 9);
	CHECK_INT(json_next(root, &pos, &k, &v), -1);
	pos = 0;
	CHECK_INT(json_next(w, &pos, &k, &v), 0);
	CHECK_INT(k.type, JSON_NONE);
	CHECK_STR(s = str_of(v), "a");
	free(s);
	CHECK_INT(json_parse("[]", 2, &v), 0);
	pos = 0;
	CHECK_INT(json_next(v, &pos, &k, &w), -1);
	CHECK_INT(json_parse("{ }", 3, &v), 0);
	pos = 0;
	CHECK_INT(json_next(v, &pos, &k, &w), -1);
	CHECK_INT(json_parse("7", 1, &v), 0);
	pos = 0;
	CHECK_INT(json_next(v, &pos, &k, &w), -1);
	CHECK_INT(json_get(v, "a", &w), -1);
	CHECK_INT(json_index(v, 0, &w), -1);

	CHECK_INT(json_parse("{\"k\\\"\\u00e9\":1}", 15, &v), 0);
	pos = 0;
	CHECK_INT(json_next(v, &pos, &k, &w), 0);
	CHECK(json_key_eq(k, "k\"\xc3\xa9"));
	CHECK(!json_key_eq(k, "k\""));
	CHECK(!json_key_eq(k, "k\"\xc3\xa9x"));
	CHECK(!json_key_eq(w, "1")); /* not a string */
}

TEST(json_unescape)
{
	/* UTF-8 of the code points (RFC 3629), U+FFFD for lone surrogates */
	static const struct { const char *in, *out; } t[] = {
		{"\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac"},
		{"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80"},
		{"\"\\uD834\\uDD1E\"", "\xf0\x9d\x84\x9e"},
		{"\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf"},
		{"\"\\ud800\"", "\xef\xbf\xbd"},
		{"\"\\udc00\\ud800\"", "\xef\xbf\xbd\xef\xbf\xbd"},
		{"\"\\ud800\\u0041\"", "\xef\xbf\xbd" "A"},
		{"\"\\ud800\\ud800\\udc00\"", "\xef\xbf\xbd\xf0\x90\x80\x80"},
		{"\"a\\/b\\\\c\\\"d\\b\\f\\n\\r\\t\"", "a/b\\c\"d\b\f\n\r\t"},
		{"\"\xe2\x82\xac raw\"", "\xe2\x82\xac raw"},
	};
	struct json v;
	char *s;

	for (size_t i = 0; i < COUNT(t); i++) {
		CHECK_INT(json_parse(t[i].in, strlen(t[i].in), &v), 0);
		CHECK_STR(s = str_of(v), t[i].out);
		CHECK(json_key_eq(v, t[i].out));
		free(s);
	}
}

TEST(json_put_str)
{
	struct buf b = {0};
	const char in[] = "a\"\\\b\f\n\r\t\x01\x1f\x7f\xc3\xa9/\0z";
	struct json v;
	char *s;

	json_put_str(&b, in, sizeof in - 1);
	CHECK_STR(b.p, "\"a\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xc3\xa9/\\u0000z\"");
	CHECK_INT(json_parse(b.p, b.len, &v), 0);
	struct buf r = {0};
	CHECK_INT(json_str(v, &r), 0);
	CHECK_INT(r.len, sizeof in - 1);
	CHECK(!memcmp(r.p, in, r.len));
	buf_reset(&b);
	json_put_str(&b, "", 0);
	CHECK_STR(b.p, "\"\"");
	CHECK_INT(json_parse(b.p, b.len, &v), 0);
	CHECK_STR(s = str_of(v), "");
	free(s);
	buf_free(&b);
	buf_free(&r);
}

/* ---- differential: python3's json module is the reference ------------------------------- */

/* The canonical form the python side prints: no white space, strings re-escaped. */
static void
canon(struct json v, struct buf *o)
{
	struct json k, x;
	struct buf t = {0};
	size_t pos = 0;
	int first = 1;

	switch (v.type) {
	case JSON_STRING:
		if (json_str(v, &t))
			buf_adds(o, "<json_str failed>");
		json_put_str(o, t.p ? t.p : "", t.len);
		buf_free(&t);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		buf_addc(o, v.type == JSON_ARRAY ? '[' : '{');
		while (!json_next(v, &pos, &k, &x)) {
			if (!first)
				buf_addc(o, ',');
			first = 0;
			if (v.type == JSON_OBJECT) {
				canon(k, o);
				buf_addc(o, ':');
			}
			canon(x, o);
		}
		buf_addc(o, v.type == JSON_ARRAY ? ']' : '}');
		break;
	default:
		buf_add(o, v.p, v.n);
	}
}

static const char py_json[] =
	"import json, random, re\n"
	"random.seed(8259)\n"
	"SUR = re.compile('[\\ud800-\\udfff]')\n"
	"def fix(s): return SUR.sub('\\ufffd', s)\n"
	"class Num(str): pass\n"
	"def no_const(c): raise ValueError(c)\n"
	"def load(d): return json.loads(d, parse_int=Num, parse_float=Num, parse_constant=no_const,\n"
	"                               object_pairs_hook=lambda p: ('O', p))\n"
	"def canon(v):\n"
	"    if isinstance(v, Num): return str(v)\n"
	"    if isinstance(v, str): return json.dumps(fix(v), ensure_ascii=False)\n"
	"    if v is None: return 'null'\n"
	"    if v is True: return 'true'\n"
	"    if v is False: return 'false'\n"
	"    if isinstance(v, list): return '[' + ','.join(canon(x) for x in v) + ']'\n"
	"    return '{' + ','.join(canon(k) + ':' + canon(x) for k, x in v[1]) + '}'\n"
	"CH = ['a', 'Z', '0', ' ', '\"', '\\\\', '/', '\\b', '\\f', '\\n', '\\r', '\\t', '\\x00', '\\x01',\n"
	"      '\\x1f', '\\x7f', '\\u00e9', '\\u20ac', '\\U0001f600', '\\u2028', '\\ud7ff', '\\ue000', '\\uffff']\n"
	"SHORT = {'\"': '\\\\\"', '\\\\': '\\\\\\\\', '\\b': '\\\\b', '\\f': '\\\\f', '\\n': '\\\\n', '\\r': '\\\\r',\n"
	"         '\\t': '\\\\t', '/': '\\\\/'}\n"
	"def u(c):\n"
	"    f = random.choice(['\\\\u%04x', '\\\\u%04X'])\n"
	"    o = ord(c)\n"
	"    if o < 0x10000: return f % o\n"
	"    o -= 0x10000\n"
	"    return f % (0xd800 + (o >> 10)) + f % (0xdc00 + (o & 1023))\n"
	"def jstr(s):\n"
	"    out = '\"'\n"
	"    for c in s:\n"
	"        must = c in '\"\\\\' or ord(c) < 0x20\n"
	"        r = random.random()\n"
	"        if not must and r < 0.6: out += c\n"
	"        elif c in SHORT and r < 0.8: out += SHORT[c]\n"
	"        else: out += u(c)\n"
	"    if random.random() < 0.1: out += random.choice(['\\\\ud800', '\\\\udfff', '\\\\ud83dx', '\\\\udc00\\\\ud800'])\n"
	"    return out + '\"'\n"
	"KEYS = ['a', 'b', 'ab', '', 'k\\u00e9', 'x\"y', 'a\\x01']\n"
	"NUMS = ['0', '-0', '1', '-12', '3.25', '1e5', '1E+2', '-0.0e-7', '123456789012345678901234567890',\n"
	"        '1e400', '5e-400', '10', '0.1']\n"
	"def sp(): return random.choice(['', '', '', ' ', '\\n\\t ', '\\r\\n'])\n"
	"def gen(d):\n"
	"    r = random.randrange(10 if d < 7 else 6)\n"
	"    if r == 0: return random.choice(['null', 'true', 'false'])\n"
	"    if r < 3: return random.choice(NUMS)\n"
	"    if r < 6: return jstr(''.join(random.choice(CH) for _ in range(random.randrange(7))))\n"
	"    n = random.randrange(5)\n"
	"    if r < 8: return '[' + sp() + ','.join(sp() + gen(d + 1) + sp() for _ in range(n)) + ']'\n"
	"    return '{' + sp() + ','.join(sp() + jstr(random.choice(KEYS)) + sp() + ':' + sp() + gen(d + 1) + sp()\n"
	"                                for _ in range(n)) + '}'\n"
	"MUT = '[]{}\",:0123456789-+.eE\\\\u tfnrl \\x01a'\n"
	"def mutate(d):\n"
	"    for _ in range(random.randrange(1, 4)):\n"
	"        i = random.randrange(len(d) + 1)\n"
	"        r = random.randrange(5)\n"
	"        b = [j for j, c in enumerate(d) if c in '[]{}']\n"
	"        if r == 4 and b: j = random.choice(b); d = d[:j] + random.choice('[]{}') + d[j + 1:]\n"
	"        elif r == 0: d = d[:i] + d[i + 1:]\n"
	"        elif r == 1: d = d[:i] + random.choice(MUT) + d[i:]\n"
	"        elif r == 2: d = d[:i] + random.choice(MUT) + d[i + 1:]\n"
	"        else: d = d[:i]\n"
	"    return d\n"
	"def hx(s): return s.encode('utf-8').hex() or '-'\n"
	"count = 0\n"
	"for i in range(3000):\n"
	"    d = sp() + gen(0) + sp()\n"
	"    if i % 2: d = mutate(d)\n"
	"    try: v = load(d)\n"
	"    except (ValueError, RecursionError): print('I', hx(d)); count += 1; continue\n"
	"    print('V', hx(d), hx(canon(v))); count += 1\n"
	"    if isinstance(v, tuple):\n"
	"        for k, x in dict(v[1]).items():  # of repeated keys the last, as json.loads takes\n"
	"            if '\\x00' not in k and not SUR.search(k):\n"
	"                print('G', hx(d), hx(k), hx(canon(x))); count += 1\n"
	"    if isinstance(v, list):\n"
	"        for j, x in enumerate(v): print('X', hx(d), j, hx(canon(x))); count += 1\n"
	"print('END', count)\n";

TEST(json_python_differential)
{
	char *out = utest_python(py_json), *line, *save = NULL;
	size_t lines = 0, nvalid = 0, ninvalid = 0, ngets = 0, end = 0;

	if (!out) {
		fprintf(stderr, "    skipped: no python3\n");
		return;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char kind, h1[65536], h2[65536], h3[65536];
		struct json root, v;
		struct buf got = {0};
		size_t idx;

		if (sscanf(line, "END %zu", &end) == 1)
			break;
		lines++;
		h2[0] = h3[0] = 0;
		if (sscanf(line, "%c %65535s %65535s %65535s", &kind, h1, h2, h3) < 2)
			utest_fail(__FILE__, __LINE__, "bad reference line %s", line);
		char *doc = xmalloc(strlen(h1) / 2 + 1), *a = xmalloc(strlen(h2) / 2 + 1), *c = xmalloc(strlen(h3) / 2 + 1);
		size_t dn = h1[0] == '-' ? 0 : utest_unhex(h1, strlen(h1), doc);
		size_t an = h2[0] == '-' ? 0 : utest_unhex(h2, strlen(h2), a);
		size_t cn = h3[0] == '-' ? 0 : utest_unhex(h3, strlen(h3), c);
		int r = json_parse(doc, dn, &root);
		if (kind == 'I') {
			ninvalid++;
			if (r == 0)
				utest_fail(__FILE__, __LINE__, "accepted what python rejects: %.*s", (int)dn, doc);
		} else if (r) {
			utest_fail(__FILE__, __LINE__, "rejected what python accepts: %.*s", (int)dn, doc);
		} else if (kind == 'V') {
			nvalid++;
			canon(root, &got);
			if (got.len != an || memcmp(got.p, a, an))
				utest_fail(__FILE__, __LINE__, "doc %.*s\n      got  %s\n      want %.*s", (int)dn, doc,
					   got.p, (int)an, a);
		} else if (kind == 'G') {
			ngets++;
			a[an] = 0;
			if (json_get(root, a, &v))
				utest_fail(__FILE__, __LINE__, "json_get %s failed in %.*s", a, (int)dn, doc);
			canon(v, &got);
			if (got.len != cn || memcmp(got.p, c, cn))
				utest_fail(__FILE__, __LINE__, "json_get %s in %.*s: got %s", a, (int)dn, doc, got.p);
		} else if (kind == 'X') {
			idx = strtoul(h2, NULL, 10);
			if (json_index(root, idx, &v))
				utest_fail(__FILE__, __LINE__, "json_index %zu failed in %.*s", idx, (int)dn, doc);
			canon(v, &got);
			if (got.len != cn || memcmp(got.p, c, cn))
				utest_fail(__FILE__, __LINE__, "json_index %zu in %.*s: got %s", idx, (int)dn, doc, got.p);
		}
		buf_free(&got);
		free(doc);
		free(a);
		free(c);
	}
	CHECK_INT(end, lines); /* the whole reference output was read */
	CHECK(nvalid > 1000 && ninvalid > 300 && ngets > 300);
	free(out);
}
