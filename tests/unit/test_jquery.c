/* test_jquery.c — JSON path queries: the forms README.md names (foo.bar[1], foo.bar.[1],
 * ["key.with.dots"]) on hand-checked documents, errors, and compaction against RFC 8259 rules. */
#include "unit.h"

static const char doc[] =
	"{ \"foo\" : { \"bar\" : [ \"a\" , \"b\" ] },\n"
	"  \"key.with.dots\": { \"x\": [1, {\"y\": \"deep\"}] },\n"
	"  \"n\": -3.25e0, \"t\": true, \"f\": false, \"z\": null,\n"
	"  \"s\": \"tab\\there \\\"q\\\" \\u00e9 \\ud83d\\ude00\",\n"
	"  \"arr\": [ [ 0, 1 ], { \"k\": \"v\" , \"e\" : [ ] } ],\n"
	"  \"0\": \"zero-key\", \"a[b\": \"bracket\", \"it's\": \"apostrophe\", \"\": \"empty key\",\n"
	"  \"dup\": 1, \"dup\": 2, \"sp ace\": \"spaced\" }";

/* The query's result as json_text prints it, or "ERR<kind>" */
static char *
q(const char *path)
{
	struct json root, v;
	struct err e = {0};
	struct buf b = {0};

	if (json_parse(doc, strlen(doc), &root))
		return xstrdup("BAD DOC");
	if (json_query(root, path, &v, &e)) {
		buf_printf(&b, "ERR%d", e.kind);
		return buf_take(&b);
	}
	json_text(v, &b);
	return buf_take(&b);
}

#define QEQ(path, want)                                          \
	do {                                                     \
		char *got_ = q(path);                            \
		if (strcmp(got_, want))                          \
			utest_fail(__FILE__, __LINE__, "%s -> \"%s\", want \"%s\"", path, got_, want); \
		free(got_);                                      \
	} while (0)

TEST(jquery_forms)
{
	/* the three spellings of the issue */
	QEQ("foo.bar[1]", "b");
	QEQ("foo.bar.[1]", "b");
	QEQ("foo.bar[0]", "a");
	QEQ("[\"key.with.dots\"].x[1].y", "deep");
	QEQ("[\"key.with.dots\"].x.[1].y", "deep");
	QEQ("[\"key.with.dots\"][\"x\"][0]", "1");
	QEQ("['key.with.dots'].x[1]['y']", "deep");
	/* jq-style leading dot, and "." for the whole document */
	QEQ(".foo.bar[1]", "b");
	QEQ(".[\"foo\"].bar[0]", "a");
	/* a bare all-digit key indexes an array, but is a key on an object */
	QEQ("foo.bar.1", "b");
	QEQ("0", "zero-key");
	QEQ("[\"0\"]", "zero-key");
	/* negative indexes count from the end */
	QEQ("foo.bar[-1]", "b");
	QEQ("foo.bar[-2]", "a");
	QEQ("arr[0][-1]", "1");
	/* keys that need brackets, escapes in quoted keys */
	QEQ("[\"a[b\"]", "bracket");
	QEQ("['it\\'s']", "apostrophe");
	QEQ("[\"it's\"]", "apostrophe");
	QEQ("[\"\"]", "empty key");
	QEQ("[\"k\\u0065y.with.dots\"].x[0]", "1"); /* \u0065 is 'e' */
	QEQ("sp ace", "spaced");
	QEQ("dup", "2"); /* the last of duplicated keys, as json_get, jq and Python */
}

TEST(jquery_values)
{
	/* a string prints unescaped; numbers and booleans as their JSON text; containers compact */
	QEQ("s", "tab\there \"q\" \xc3\xa9 \xf0\x9f\x98\x80");
	QEQ("n", "-3.25e0");
	QEQ("t", "true");
	QEQ("f", "false");
	QEQ("z", "null");
	QEQ("foo", "{\"bar\":[\"a\",\"b\"]}");
	QEQ("foo.bar", "[\"a\",\"b\"]");
	QEQ("arr", "[[0,1],{\"k\":\"v\",\"e\":[]}]");
	QEQ("arr[1].e", "[]");
	char *all = q(".");
	/* the whole document, compact: whitespace inside strings stays */
	CHECK(!strncmp(all, "{\"foo\":{\"bar\":[\"a\",\"b\"]},\"key.with.dots\":", 41));
	CHECK(strstr(all, "\"sp ace\":\"spaced\"}") != NULL);
	CHECK(strstr(all, "\"tab\\there \\\"q\\\" \\u00e9 \\ud83d\\ude00\"") != NULL);
	free(all);
}

TEST(jquery_not_found)
{
	struct json root, v;
	struct err e = {0};

	QEQ("foo.baz", "ERR3");          /* E_NOTFOUND */
	QEQ("foo.bar[2]", "ERR3");
	QEQ("foo.bar[-3]", "ERR3");
	QEQ("foo.bar.x", "ERR3");        /* a key on an array */
	QEQ("foo[0]", "ERR3");           /* an index on an object */
	QEQ("s.x", "ERR3");              /* below a string */
	QEQ("z[0]", "ERR3");
	QEQ("[\"key\"]", "ERR3");
	CHECK_INT(E_NOTFOUND, 3);
	CHECK_INT(json_parse(doc, strlen(doc), &root), 0);
	CHECK_INT(json_query(root, "foo.bar[5]", &v, &e), -1);
	CHECK_INT(e.kind, E_NOTFOUND);
	CHECK(strstr(e.msg, "foo.bar[5]") == e.msg); /* the message starts with the path */
	CHECK(strstr(e.msg, "2 elements") != NULL);
	CHECK_INT(json_query(root, "foo.nope.x", &v, &e), -1);
	CHECK(strstr(e.msg, "\"nope\"") != NULL);
	CHECK_INT(json_query(root, "nope", &v, &e), -1);
	CHECK(strstr(e.msg, "the document") != NULL);
}

TEST(jquery_syntax)
{
	static const char *const bad[] = {
		"", "..", "foo..bar", "foo.", "foo[", "foo[]", "foo[x]", "foo[1", "foo[1]x", "foo[\"a]",
		"foo['a]", "[\"a\"b]", "foo[1.5]", "foo[--1]", "foo[1]]", ".", "[\"\\x\"]", "[\"\\u0000\"]",
		"foo[1234567890123456789]", "...a",
	};
	static const char *const good[] = {
		"a", ".a", "a.b", "a[0]", "a.[0]", "a[0][1]", "a[0].b", "[0]", "[\"a.b\"]", "['a.b']", "a[-1]",
		"a b", "a]b", "[\"\"]", "['']", "a.[\"b\"].[0]",
	};
	struct err e = {0};

	for (size_t i = 0; i < COUNT(bad); i++) {
		if (!strcmp(bad[i], "."))
			continue; /* "." is the root: valid */
		memset(&e, 0, sizeof e);
		if (json_query_check(bad[i], &e) != -1 || e.kind != E_USAGE)
			utest_fail(__FILE__, __LINE__, "accepted bad path '%s'", bad[i]);
	}
	for (size_t i = 0; i < COUNT(good); i++)
		if (json_query_check(good[i], &e))
			utest_fail(__FILE__, __LINE__, "rejected good path '%s': %s", good[i], e.msg);
	CHECK_INT(json_query_check(".", &e), 0);
	/* a syntax error is reported even when an earlier segment is missing */
	QEQ("nope[x]", "ERR1"); /* E_USAGE */
}

TEST(jquery_compact)
{
	static const struct {
		const char *in, *out;
	} c[] = {
		{" [ 1 , 2 ] ", "[1,2]"},
		{"{ \"a b\" : \" x  y \" ,\n\t\"c\":[ ]\r\n}", "{\"a b\":\" x  y \",\"c\":[]}"},
		{"\"\\\" \\\\\"", "\"\\\" \\\\\""}, /* escapes kept byte for byte */
		{"[\"\\\\\", \" \"]", "[\"\\\\\",\" \"]"},
		{"1e+10", "1e+10"},
	};
	for (size_t i = 0; i < COUNT(c); i++) {
		struct json v;
		struct buf b = {0};
		CHECK_INT(json_parse(c[i].in, strlen(c[i].in), &v), 0);
		json_compact(v, &b);
		CHECK_STR(b.p, c[i].out);
		buf_free(&b);
	}
}
