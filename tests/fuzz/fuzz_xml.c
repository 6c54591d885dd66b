/* fuzz_xml.c — libFuzzer target for xml.c: xml_root, then every element of a document it accepts
 * walked with xml_next, xml_child, xml_path and xml_text, checking the reader's contracts
 * (XML 1.0, https://www.w3.org/TR/xml/). */
#include "fuzz.h"

/* Text escaped with xml_put_text and parsed back is the same text. A literal CR is not: XML
 * turns it into LF (section 2.11), so text holding one is left out. */
static void
check_roundtrip(const struct buf *text)
{
	struct buf doc = {0}, back = {0};
	struct xml r;

	if (memchr(text->p, '\r', text->len))
		return;
	buf_adds(&doc, "<r>");
	xml_put_text(&doc, text->p, text->len);
	buf_adds(&doc, "</r>");
	FUZZ_CHECK(!xml_root(doc.p, doc.len, &r));
	FUZZ_CHECK(!xml_text(r, &back));
	FUZZ_CHECK(fuzz_buf_is(&back, text->p, text->len));
	buf_free(&doc);
	buf_free(&back);
}

static void
walk(struct xml el, int depth)
{
	struct xml child, got, grand;
	struct buf text = {0}, path = {0};
	size_t pos = 0, prev = 0, n = 0;

	FUZZ_CHECK(depth <= 128);
	FUZZ_CHECK(el.name.n > 0 && !memchr(el.name.p, ':', el.name.n));
	/* xml_root checked every reference and tag inside: the text always decodes */
	FUZZ_CHECK(!xml_text(el, &text));
	while (!xml_next(el, &pos, &child)) {
		FUZZ_CHECK(pos > prev && pos <= el.body.n);
		FUZZ_CHECK(child.body.p >= el.body.p && child.body.p + child.body.n <= el.body.p + el.body.n);
		prev = pos;
		/* xml_child by this name finds this child or an earlier one of the same name (quadratic:
		 * only the first children) */
		char *name = slice_dup(child.name);
		if (n < 32)
			FUZZ_CHECK(!xml_child(el, name, &got) && slice_eq(got.name, name) && got.body.p <= child.body.p);
		size_t gpos = 0;
		if (n < 32 && got.body.p == child.body.p && !xml_next(child, &gpos, &grand)) { /* the first of its name */
			buf_reset(&path);
			buf_printf(&path, "%s/%.*s", name, (int)grand.name.n, grand.name.p);
			FUZZ_CHECK(!xml_path(el, path.p, &got) && slice_eq(got.name, path.p + strlen(name) + 1));
			free(xml_path_strdup(el, path.p));
		}
		free(name);
		walk(child, depth + 1);
		n++;
	}
	FUZZ_CHECK(xml_next(el, &pos, &child) == -1);
	/* the root's text and each leaf's: all of the text once, not once per level */
	if (!depth || !n)
		check_roundtrip(&text);
	if (!n)
		FUZZ_CHECK(xml_child(el, "Code", &got) == -1);
	buf_free(&text);
	buf_free(&path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xml root, el;
	const char *p = (const char *)data;

	if (xml_root(p, size, &root))
		return 0;
	FUZZ_CHECK(root.body.p >= p && root.body.p + root.body.n <= p + size);
	walk(root, 0);
	/* what the error parser and the applets ask for */
	free(xml_path_strdup(root, "Error/Code"));
	xml_path(root, "Errors/Error/Message", &el);
	return 0;
}
