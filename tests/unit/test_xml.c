/* test_xml.c — the XML reader against AWS response examples and XML 1.0 facts and,
 * differentially, against python3's xml.etree.ElementTree on generated and mutated documents. */
#include "unit.h"

static char *
text_of(struct xml el)
{
	struct buf b = {0};

	if (xml_text(el, &b)) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

/* xml_root on an exact-size copy, so an overread shows up under a sanitizer. The copy
 * lives until the next call: the returned element points into it. */
static int
root_copy(const char *s, size_t n, struct xml *el)
{
	static char *p;

	free(p);
	p = xmalloc(n ? n : 1);
	memcpy(p, s, n);
	return xml_root(p, n, el);
}

/* From the S3 API reference (ListObjectsV2 response example). */
static const char s3_list[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
	"    <Name>bucket</Name>\n"
	"    <Prefix/>\n"
	"    <KeyCount>205</KeyCount>\n"
	"    <MaxKeys>1000</MaxKeys>\n"
	"    <IsTruncated>false</IsTruncated>\n"
	"    <Contents>\n"
	"        <Key>my-image.jpg</Key>\n"
	"        <LastModified>2009-10-12T17:50:30.000Z</LastModified>\n"
	"        <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>\n"
	"        <Size>434234</Size>\n"
	"        <StorageClass>STANDARD</StorageClass>\n"
	"    </Contents>\n"
	"    <Contents>\n"
	"        <Key>a &amp; b/&lt;c&gt;.txt</Key>\n"
	"        <Size>0</Size>\n"
	"    </Contents>\n"
	"</ListBucketResult>\n";

TEST(xml_s3_list)
{
	struct xml root, c, k;
	size_t pos = 0;
	char *s;
	int n = 0;

	CHECK_INT(xml_root(s3_list, sizeof s3_list - 1, &root), 0);
	CHECK(slice_eq(root.name, "ListBucketResult"));
	CHECK_STR(s = xml_path_strdup(root, "KeyCount"), "205");
	free(s);
	CHECK_STR(s = xml_path_strdup(root, "Prefix"), "");
	free(s);
	CHECK_INT(xml_child(root, "Prefix", &c), 0);
	CHECK_INT(c.body.n, 0);
	CHECK(!xml_path_strdup(root, "NextContinuationToken"));
	CHECK(!xml_path_strdup(root, "Contents/Missing"));
	CHECK_STR(s = xml_path_strdup(root, "Contents/ETag"), "\"fba9dede5f27731c9771645a39863328\"");
	free(s);
	while (!xml_next(root, &pos, &c)) {
		if (!slice_eq(c.name, "Contents"))
			continue;
		CHECK_INT(xml_child(c, "Key", &k), 0);
		CHECK_STR(s = text_of(k), n ? "a & b/<c>.txt" : "my-image.jpg");
		free(s);
		n++;
	}
	CHECK_INT(n, 2);
	CHECK_INT(xml_next(root, &pos, &c), -1);
}

TEST(xml_aws_errors)
{
	/* From the STS and S3 API references. */
	static const char sts_err[] =
		"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
		"  <Error>\n    <Type>Sender</Type>\n    <Code>InvalidClientTokenId</Code>\n"
		"    <Message>The security token included in the request is invalid.</Message>\n"
		"  </Error>\n  <RequestId>ef5e5d1e-5ea1-4ebc-9c11-1a3f4e6b7c2d</RequestId>\n</ErrorResponse>\n";
	static const char s3_err[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>NoSuchKey</Code>\n"
		"  <Message>The resource you requested does not exist</Message>\n"
		"  <Resource>/mybucket/myfoto.jpg</Resource>\n  <RequestId>4442587FB7D0A2F9</RequestId>\n</Error>";
	static const char sts_who[] =
		"<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
		"<GetCallerIdentityResult>\n<Arn>arn:aws:iam::123456789012:user/Alice</Arn>\n"
		"<UserId>AKIAI44QH8DHBEXAMPLE</UserId>\n<Account>123456789012</Account>\n"
		"</GetCallerIdentityResult>\n<ResponseMetadata>\n"
		"<RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>\n</ResponseMetadata>\n"
		"</GetCallerIdentityResponse>\n";
	struct xml root;
	char *s;

	CHECK_INT(xml_root(sts_err, sizeof sts_err - 1, &root), 0);
	CHECK_STR(s = xml_path_strdup(root, "Error/Code"), "InvalidClientTokenId");
	free(s);
	CHECK_STR(s = xml_path_strdup(root, "Error/Message"), "The security token included in the request is invalid.");
	free(s);
	CHECK_INT(xml_root(s3_err, sizeof s3_err - 1, &root), 0);
	CHECK(slice_eq(root.name, "Error"));
	CHECK_STR(s = xml_path_strdup(root, "Code"), "NoSuchKey");
	free(s);
	CHECK_INT(xml_root(sts_who, sizeof sts_who - 1, &root), 0);
	CHECK_STR(s = xml_path_strdup(root, "GetCallerIdentityResult/Account"), "123456789012");
	free(s);
	CHECK_STR(s = xml_path_strdup(root, "/GetCallerIdentityResult//Arn"), "arn:aws:iam::123456789012:user/Alice");
	free(s);
	CHECK(!xml_path_strdup(root, "GetCallerIdentityResult/Account/X"));
}

TEST(xml_structure)
{
	static const char doc[] =
		"\xef\xbb\xbf<?xml version='1.0'?><!-- a <comment> --><?pi <x>?>\r\n"
		"<s3:R xmlns:s3=\"urn:x\" a='1>2' b=\"x'y\" c = \"/>\">"
		"<a><a><a>deep</a></a><b>mid</b></a>"
		"<s3:Key>k1</s3:Key>"
		"<!-- <Key>not this</Key> -->"
		"<![CDATA[<Key>nor this</Key>]]>"
		"<e/><e x='>'/>"
		"<t>1 &lt; 2 &amp;&amp; &#65;&#x42;&#x1F600;&#233; <![CDATA[<&>]]> &quot;&apos;&gt;</t>"
		"<Key>k2</Key>"
		"</s3:R><!-- trailing -->\n";
	struct xml root, x;
	size_t pos = 0;
	char *s;

	CHECK_INT(xml_root(doc, sizeof doc - 1, &root), 0);
	CHECK(slice_eq(root.name, "R"));
	CHECK_INT(xml_next(root, &pos, &x), 0);
	CHECK(slice_eq(x.name, "a"));
	CHECK_STR(s = xml_path_strdup(root, "a/a/a"), "deep");
	free(s);
	CHECK_STR(s = xml_path_strdup(root, "a/b"), "mid");
	free(s);
	CHECK_STR(s = xml_path_strdup(root, "a"), "deepmid"); /* like ElementTree's itertext() */
	free(s);
	CHECK_INT(xml_next(root, &pos, &x), 0);
	CHECK(slice_eq(x.name, "Key"));
	CHECK_INT(xml_next(root, &pos, &x), 0);
	CHECK(slice_eq(x.name, "e"));
	CHECK_INT(x.body.n, 0);
	CHECK_INT(xml_next(root, &pos, &x), 0);
	CHECK(slice_eq(x.name, "e"));
	CHECK_STR(s = xml_path_strdup(root, "t"), "1 < 2 && AB\xf0\x9f\x98\x80\xc3\xa9 <&> \"'>");
	free(s);
	CHECK_INT(xml_next(root, &pos, &x), 0);
	CHECK_INT(xml_next(root, &pos, &x), 0);
	CHECK(slice_eq(x.name, "Key"));
	CHECK_STR(s = text_of(x), "k2");
	free(s);
	CHECK_INT(xml_next(root, &pos, &x), -1);
	CHECK_STR(s = xml_path_strdup(root, "Key"), "k1");
	free(s);
	CHECK_INT(xml_path(root, "", &x), 0); /* the empty path is the element itself */
	CHECK(slice_eq(x.name, "R"));

	/* line ends are normalised (XML 1.0 section 2.11), but not a &#13; reference */
	static const char nl[] = "<a>x\r\ny\rz&#13;\n<![CDATA[\r\n]]></a>";
	CHECK_INT(xml_root(nl, sizeof nl - 1, &root), 0);
	CHECK_STR(s = text_of(root), "x\ny\nz\r\n\n");
	free(s);
}

TEST(xml_malformed)
{
	static const char *const bad_root[] = {
		"", "   ", "text", "<", "<a", "<a>", "<a></b>", "<a><b></a>", "<a></a><b/>", "<a/>x", "</a>",
		"<a b></a>", "<a b=1></a>", "<a b=\"1></a>", "<a b='<'></a>", "<a b=\"1\"c=\"2\"></a>",
		"<a/ >", "<!DOCTYPE a><a/>", "<![CDATA[x]]><a/>", "<a><!-- x </a>", "<a><![CDATA[ </a>",
		"<a><? </a>", "<a></a >x", "<:a></:a>", "<a></a", "<a></>", "< a></a>", "<?xml version='1.0'"};
	static const char *const bad_text[] = {"<a>&bogus;</a>", "<a>&amp</a>", "<a>&#0;</a>", "<a>&#xD800;</a>",
		"<a>&#1114112;</a>", "<a>&#x110000;</a>", "<a>&#x;</a>", "<a>&#;</a>", "<a>&#X41;</a>",
		"<a>&#xFFFE;</a>", "<a>&#12a;</a>", "<a>&;</a>", "<a>&#99999999999999999999;</a>", "<a>x&</a>",
		"<a>&#x1;</a>", "<a>&LT;</a>"};
	struct xml root, x;
	struct buf b = {0};

	for (size_t i = 0; i < COUNT(bad_root); i++)
		if (root_copy(bad_root[i], strlen(bad_root[i]), &root) != -1)
			utest_fail(__FILE__, __LINE__, "accepted %s", bad_root[i]);
	for (size_t i = 0; i < COUNT(bad_text); i++) {
		/* xml_root checks references, and so does xml_text on any element */
		if (root_copy(bad_text[i], strlen(bad_text[i]), &root) != -1)
			utest_fail(__FILE__, __LINE__, "accepted %s", bad_text[i]);
		root.name = SLICE("a");
		root.body = (struct slice){bad_text[i] + 3, strlen(bad_text[i]) - 7};
		buf_adds(&b, "keep");
		if (xml_text(root, &b) != -1)
			utest_fail(__FILE__, __LINE__, "decoded %s", bad_text[i]);
		CHECK_STR(b.p, "keep"); /* nothing appended on failure */
		buf_reset(&b);
	}
	buf_free(&b);

	/* mismatched tags anywhere make the whole document malformed */
	CHECK_INT(root_copy("<a><b></c></a>", 14, &root), -1);
	CHECK_INT(root_copy("<r><a><b></c></a></r>", 21, &root), -1);
	CHECK_INT(root_copy("<a>t</b></a>", 12, &root), -1);
	CHECK_INT(root_copy("<r><a><b>&x;</b></a></r>", 24, &root), -1);
	CHECK_INT(root_copy("<r><a><b:>x</b:></a></r>", 24, &root), -1);

	/* navigating elements that did not come from xml_root stays bounded */
	size_t pos = 0;
	x.name = SLICE("a");
	x.body = SLICE("<b></c>");
	CHECK_INT(xml_next(x, &pos, &root), -1);
	x.body = SLICE("t</b><c/>");
	pos = 0;
	CHECK_INT(xml_next(x, &pos, &root), -1);
	x.body = SLICE("<b x='1>");
	CHECK_INT(xml_child(x, "b", &root), -1);

	/* every truncation of a response is malformed */
	for (size_t i = 0; i < sizeof s3_list - 2; i++)
		if (root_copy(s3_list, i, &root) != -1)
			utest_fail(__FILE__, __LINE__, "prefix %zu accepted", i);
	CHECK_INT(root_copy(s3_list, sizeof s3_list - 2, &root), 0); /* only the final newline cut */
}

TEST(xml_hostile)
{
	size_t n = 100000;
	char *p = xmalloc(7 * n + 1), *s;
	struct xml root, x;

	for (size_t i = 0; i < n; i++)
		memcpy(p + 3 * i, "<a>", 3);
	CHECK_INT(xml_root(p, 3 * n, &root), -1);
	for (size_t i = 0; i < n; i++)
		memcpy(p + 3 * n + 1 + 4 * i, "</a>", 4);
	p[3 * n] = 'x';
	CHECK_INT(xml_root(p, 7 * n + 1, &root), -1); /* well formed, but too deep */
	CHECK_INT(xml_root(p + 3 * (n - 128), 3 * 128 + 1 + 4 * 128, &root), 0); /* 128 deep is the limit */
	CHECK_INT(xml_path(root, "a/a/a/a", &x), 0);
	CHECK_STR(s = xml_path_strdup(x, "a/a"), "x"); /* the innermost text, as itertext() */
	free(s);
	CHECK_INT(xml_root(p + 3 * (n - 129), 3 * 129 + 1 + 4 * 129, &root), -1);
	memset(p, '<', 7 * n);
	CHECK_INT(xml_root(p, 7 * n, &root), -1);
	memcpy(p, "<a b='", 6);
	CHECK_INT(xml_root(p, 7 * n, &root), -1);
	memset(p, '&', 7 * n);
	memcpy(p, "<a>", 3);
	memcpy(p + 7 * n - 4, "</a>", 4);
	CHECK_INT(xml_root(p, 7 * n, &root), -1);
	for (size_t i = 0; i + 4 <= 7 * n; i += 4)
		memcpy(p + i, "<!--", 4);
	CHECK_INT(xml_root(p, 7 * n, &root), -1);
	/* many siblings: one pass to check, one per step to walk */
	memcpy(p, "<r>", 3);
	for (size_t i = 0; i < n; i++)
		memcpy(p + 3 + 5 * i, "<k/>\n", 5);
	memcpy(p + 3 + 5 * n, "</r>", 4);
	CHECK_INT(xml_root(p, 5 * n + 7, &root), 0);
	size_t pos = 0, count = 0;
	while (!xml_next(root, &pos, &x))
		count++;
	CHECK_INT(count, n);
	CHECK_INT(xml_root(NULL, 0, &root), -1);
	free(p);
	struct xml zero = {{0}, {0}};
	pos = 0;
	CHECK_INT(xml_next(zero, &pos, &x), -1);
	CHECK(!xml_path_strdup(zero, "a"));
	CHECK_STR(s = xml_path_strdup(zero, ""), "");
	free(s);
}

TEST(xml_put_text)
{
	struct buf b = {0};
	struct xml root;
	char *s;
	const char in[] = "a&b<c>d\"e'f \xc3\xa9";

	xml_put_text(&b, in, sizeof in - 1);
	CHECK_STR(b.p, "a&amp;b&lt;c&gt;d&quot;e&apos;f \xc3\xa9");
	buf_reset(&b);
	buf_adds(&b, "<x>");
	xml_put_text(&b, in, sizeof in - 1);
	buf_adds(&b, "</x>");
	CHECK_INT(xml_root(b.p, b.len, &root), 0);
	CHECK_STR(s = text_of(root), in);
	free(s);
	buf_free(&b);
}

/* ---- differential: python3's xml.etree.ElementTree is the reference ---------------------- */

/* "<name=hex(text)>children</>" for every element: what the python side prints. */
static int
canon(struct xml el, struct buf *o, int depth)
{
	struct buf t = {0};
	struct xml c;
	size_t pos = 0;
	int r = 0;

	buf_addc(o, '<');
	buf_add(o, el.name.p, el.name.n);
	buf_addc(o, '=');
	if (xml_text(el, &t))
		r = -1;
	for (size_t i = 0; i < t.len; i++)
		buf_printf(o, "%02x", (unsigned char)t.p[i]);
	buf_free(&t);
	buf_addc(o, '>');
	while (!r && depth < 200 && !xml_next(el, &pos, &c))
		r = canon(c, o, depth + 1);
	buf_adds(o, "</>");
	return r;
}

static const char py_xml[] =
	"import random, xml.etree.ElementTree as ET\n"
	"random.seed(1998)\n"
	"def canon(el):\n"
	"    t = ''.join(el.itertext()).encode('utf-8').hex()\n"
	"    return '<' + el.tag.rsplit('}', 1)[-1] + '=' + t + '>' + ''.join(canon(c) for c in el) + '</>'\n"
	"NAMES = ['a', 'b', 'Key', 'p:a', 'q:Key', 'x-y', '_z', 'n.1', '\\u00e9t\\u00e9']\n"
	"TEXT = ['a', ' ', '\\n', '\\r\\n', '\\r', '\\t', '\\u00e9', '\\U0001f600', '>', ']]', '&amp;', '&lt;', '&gt;',\n"
	"        '&quot;', '&apos;', '&#233;', '&#xe9;', '&#x1F600;', '&#13;', '&#10;', '&#x9;', '\\'', '\"',\n"
	"        '<![CDATA[ <&]]x\\r\\n> ]]>', '<![CDATA[]]>', '<!-- c > - -->', '<?pi x?>', '<?pi?>']\n"
	"ATTRS = [' a=\"x>y\"', \" b='q\\\"'\", ' c=\"&amp;&#65;\"', ' d = \"\"', ' p:e=\"1\"', '\\n\\tf=\\'/>\\'']\n"
	"def gen(d):\n"
	"    n = random.choice(NAMES)\n"
	"    a = ''.join(random.sample(ATTRS, random.randrange(3)))\n"
	"    if random.random() < 0.2: return '<' + n + a + random.choice(['/>', ' />'])\n"
	"    body = ''\n"
	"    for _ in range(random.randrange(5)):\n"
	"        if d < 6 and random.random() < 0.4: body += gen(d + 1)\n"
	"        else: body += random.choice(TEXT)\n"
	"    return '<' + n + a + '>' + body + '</' + n + random.choice(['', ' ', '\\n']) + '>'\n"
	"def doc():\n"
	"    pre = random.choice(['', '<?xml version=\"1.0\" encoding=\"UTF-8\"?>\\n', '<?xml version=\"1.0\"?>'])\n"
	"    pre += random.choice(['', ' ', '<!-- x -->\\n', '<?pi?>'])\n"
	"    n = random.choice(NAMES)\n"
	"    body = ''.join(gen(1) for _ in range(random.randrange(4)))\n"
	"    return pre + '<' + n + ' xmlns=\"urn:d\" xmlns:p=\"urn:p\" xmlns:q=\"urn:q\">' + body + '</' + n + '>' + \\\n"
	"        random.choice(['', '\\n', '<!-- t -->'])\n"
	"MUT = '<>/&;\"\\'= a!-[]?#x\\r'\n"
	"def mutate(d):\n"
	"    for _ in range(random.randrange(1, 3)):\n"
	"        i = random.randrange(len(d) + 1)\n"
	"        r = random.randrange(4)\n"
	"        if r == 0: d = d[:i] + d[i + 1:]\n"
	"        elif r == 1: d = d[:i] + random.choice(MUT) + d[i:]\n"
	"        elif r == 2: d = d[:i] + random.choice(MUT) + d[i + 1:]\n"
	"        else: d = d[:i]\n"
	"    return d\n"
	"count = 0\n"
	"for i in range(3000):\n"
	"    d = doc()\n"
	"    if i % 2: d = mutate(d)\n"
	"    b = d.encode('utf-8')\n"
	"    try: print('V', b.hex() or '-', canon(ET.fromstring(b)).encode().hex())\n"
	"    except Exception: print('I', b.hex() or '-')\n"
	"    count += 1\n"
	"print('END', count)\n";

TEST(xml_python_differential)
{
	char *out = utest_python(py_xml), *line, *save = NULL;
	size_t lines = 0, nvalid = 0, ninvalid = 0, caught = 0, end = 0;

	if (!out) {
		fprintf(stderr, "    skipped: no python3\n");
		return;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char kind, *h1 = xmalloc(strlen(line)), *h2 = xmalloc(strlen(line));
		struct xml root;
		struct buf got = {0};

		if (sscanf(line, "END %zu", &end) == 1) {
			free(h1);
			free(h2);
			break;
		}
		lines++;
		h2[0] = 0;
		if (sscanf(line, "%c %s %s", &kind, h1, h2) < 2)
			utest_fail(__FILE__, __LINE__, "bad reference line %s", line);
		char *doc = xmalloc(strlen(h1) / 2 + 1), *want = xmalloc(strlen(h2) / 2 + 1);
		size_t dn = h1[0] == '-' ? 0 : utest_unhex(h1, strlen(h1), doc), wn = utest_unhex(h2, strlen(h2), want);
		int r = xml_root(doc, dn, &root);
		if (!r)
			r = canon(root, &got, 0);
		if (kind == 'V') {
			nvalid++;
			if (r)
				utest_fail(__FILE__, __LINE__, "rejected what python accepts: %.*s", (int)dn, doc);
			if (got.len != wn || memcmp(got.p, want, wn))
				utest_fail(__FILE__, __LINE__, "doc %.*s\n      got  %s\n      want %.*s", (int)dn, doc,
					   got.p, (int)wn, want);
		} else {
			/* The reader checks neither the XML declaration, nor name characters,
			 * nor namespace bindings, so it accepts some of these; it must not crash,
			 * and it must catch most. */
			ninvalid++;
			caught += r != 0;
		}
		buf_free(&got);
		free(doc);
		free(want);
		free(h1);
		free(h2);
	}
	CHECK_INT(end, lines);
	CHECK(nvalid > 1000 && ninvalid > 500);
	if (caught * 10 < ninvalid * 8)
		utest_fail(__FILE__, __LINE__, "only %zu of %zu malformed documents rejected", caught, ninvalid);
	free(out);
}
