/* test_s3.c — s3.c and transfer.c's pure parts: s3:// URLs, checksum vectors (RFC 3720 B.4 for
 * CRC32C, the CRC catalogue's check values, FIPS 180 / RFC 1321 "abc" digests), CRC combination
 * against whole-buffer CRCs, aws-chunked framing decoded by an independent reader, HeadObject
 * header interpretation, part sizes. */
#include "unit.h"

TEST(s3_url)
{
	struct s3url u;
	struct err e = {0};

	CHECK_INT(s3_parse_url("s3://my-bucket.x/a/b c+%?/", &u, &e), 0);
	CHECK_STR(u.bucket, "my-bucket.x");
	CHECK_STR(u.key, "a/b c+%?/");
	s3url_free(&u);
	CHECK_INT(s3_parse_url("s3://b", &u, &e), 0);
	CHECK_STR(u.key, "");
	s3url_free(&u);
	CHECK_INT(s3_parse_url("s3://Legacy_Bucket/", &u, &e), 0); /* botocore admits legacy names */
	CHECK_STR(u.key, "");
	s3url_free(&u);
	CHECK_INT(s3_parse_url("s3://b//x", &u, &e), 0);
	CHECK_STR(u.key, "/x");
	s3url_free(&u);
	CHECK_INT(s3_parse_url("s3://b/\xe2\x82\xac/\xf0\x9f\x98\x80", &u, &e), 0);
	s3url_free(&u);
	/* An access point ARN is the bucket, in both spellings the AWS CLI takes. */
	CHECK_INT(s3_parse_url("s3://arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap/dir/k", &u, &e), 0);
	CHECK_STR(u.bucket, "arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap");
	CHECK_STR(u.key, "dir/k");
	s3url_free(&u);
	CHECK_INT(s3_parse_url("s3://arn:aws-cn:s3:cn-north-1:123456789012:accesspoint:ap", &u, &e), 0);
	CHECK_STR(u.bucket, "arn:aws-cn:s3:cn-north-1:123456789012:accesspoint:ap");
	CHECK_STR(u.key, "");
	s3url_free(&u);
	static const char *const bad[] = {"s3:/b/k", "http://b/k", "s3://", "s3:///k", "s3://b:x/k", "s3://b b/k",
					  "s3://arn:aws:s3:us-west-2:123456789012:bucket/b/k",
					  "s3://arn:aws:s3:us-west-2:123456789012:accesspoint//k", "s3://arn:aws:s3/k",
					  "s3://b/\xff", "s3://b/\xc0\x80", "s3://b/\xed\xa0\x80", "s3://b/\xe2\x82",
					  "s3://b/\xf4\x90\x80\x80"};
	for (size_t i = 0; i < COUNT(bad); i++) {
		memset(&e, 0, sizeof e);
		if (s3_parse_url(bad[i], &u, &e) != -1 || e.kind != E_USAGE)
			utest_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
	}
	char key[1100];
	memset(key, 'k', sizeof key);
	CHECK_INT(s3_valid_key(key, 1024, &e), 0);
	CHECK_INT(s3_valid_key(key, 1025, &e), -1);
	CHECK(s3_is_url("s3://x") && !s3_is_url("S3://x") && !s3_is_url("/s3://x"));
}

static void
b64_of(int ck, const void *p, size_t n, char out[96])
{
	struct s3_sum s;

	s3_sum_init(&s, ck);
	s3_sum_update(&s, p, n);
	s3_sum_b64(&s, out);
}

TEST(s3_checksum_vectors)
{
	unsigned char z[32], ff[32], inc[32], dec[32];
	struct s3_sum s;
	char b[96];

	for (int i = 0; i < 32; i++)
		z[i] = 0, ff[i] = 0xff, inc[i] = (unsigned char)i, dec[i] = (unsigned char)(31 - i);
	/* RFC 3720 B.4 */
	CHECK_INT(crc32c_update(0, z, 32), 0x8A9136AAu);
	CHECK_INT(crc32c_update(0, ff, 32), 0x62A8AB43u);
	CHECK_INT(crc32c_update(0, inc, 32), 0x46DD794Eu);
	CHECK_INT(crc32c_update(0, dec, 32), 0x113FDB5Cu);
	/* check values ("123456789") of CRC-32C, CRC-32/ISO-HDLC, CRC-64/NVME */
	s3_sum_init(&s, S3_CK_CRC64NVME);
	s3_sum_update(&s, "1234", 4);
	s3_sum_update(&s, "56789", 5);
	CHECK(s.crc == 0xAE8B14860A799888ull);
	CHECK(crc64nvme_update(0, "", 0) == 0);
	b64_of(S3_CK_CRC32C, "123456789", 9, b); /* e3 06 92 83 */
	CHECK_STR(b, "4waSgw==");
	b64_of(S3_CK_CRC32, "123456789", 9, b); /* cb f4 39 26 */
	CHECK_STR(b, "y/Q5Jg==");
	b64_of(S3_CK_CRC32C, "", 0, b);
	CHECK_STR(b, "AAAAAA==");
	b64_of(S3_CK_CRC64NVME, "123456789", 9, b); /* ae 8b 14 86 0a 79 98 88 */
	CHECK_STR(b, "rosUhgp5mIg=");
	b64_of(S3_CK_SHA256, "abc", 3, b);
	CHECK_STR(b, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
	b64_of(S3_CK_SHA1, "abc", 3, b);
	CHECK_STR(b, "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
	unsigned char raw[64];
	char hex[65];
	s3_sum_init(&s, S3_CK_MD5);
	s3_sum_update(&s, "abc", 3);
	CHECK_INT(s3_sum_raw(&s, raw), 16);
	hex_encode(raw, 16, hex);
	CHECK_STR(hex, "900150983cd24fb0d6963f7d28e17f72");
	CHECK_INT(s3_ck_parse("CRC32C"), S3_CK_CRC32C);
	CHECK_INT(s3_ck_parse("sha256"), S3_CK_SHA256);
	CHECK_INT(s3_ck_parse("md4"), -1);
	CHECK_STR(s3_ck_upper(S3_CK_CRC32C), "CRC32C");
	CHECK_STR(s3_ck_name(S3_CK_CRC64NVME), "crc64nvme");
}

TEST(s3_crc_combine)
{
	static const int cks[] = {S3_CK_CRC32C, S3_CK_CRC32, S3_CK_CRC64NVME};
	size_t n = 300000;
	unsigned char *b = malloc(n);
	uint32_t x = 12345;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
	for (size_t c = 0; c < COUNT(cks); c++) {
		struct s3_sum whole, a, z;
		s3_sum_init(&whole, cks[c]);
		s3_sum_update(&whole, b, n);
		static const size_t cuts[] = {0, 1, 7, 8, 4096, 65536, 150001, 299999, 300000};
		for (size_t k = 0; k < COUNT(cuts); k++) {
			s3_sum_init(&a, cks[c]);
			s3_sum_update(&a, b, cuts[k]);
			s3_sum_init(&z, cks[c]);
			s3_sum_update(&z, b + cuts[k], n - cuts[k]);
			if (s3_crc_combine(cks[c], a.crc, z.crc, n - cuts[k]) != whole.crc)
				utest_fail(__FILE__, __LINE__, "%s: combine at %zu", s3_ck_name(cks[c]), cuts[k]);
		}
		/* Three pieces, folded left to right, as downloads do. */
		struct s3_sum p[3];
		size_t at[4] = {0, 100000, 200003, n};
		uint64_t crc = 0;
		for (int i = 0; i < 3; i++) {
			s3_sum_init(&p[i], cks[c]);
			s3_sum_update(&p[i], b + at[i], at[i + 1] - at[i]);
			crc = i ? s3_crc_combine(cks[c], crc, p[i].crc, at[i + 1] - at[i]) : p[i].crc;
		}
		CHECK(crc == whole.crc);
	}
	/* A long run of zero bytes: the exponentiation, not just short shifts. */
	size_t big = 5u << 20;
	unsigned char *zero = calloc(big, 1);
	uint32_t head = crc32c_update(0, "abc", 3), tail = crc32c_update(0, zero, big);
	CHECK(s3_crc_combine(S3_CK_CRC32C, head, tail, big) == crc32c_update(head, zero, big));
	free(zero);
	free(b);
}

/* ---- aws-chunked ---- */

struct memsrc {
	const unsigned char *p;
	int64_t len, pos;
	size_t maxread; /* reads return at most this much: chunks must still be full */
};

static long
mem_read(void *ctx, void *buf, size_t n, struct err *e)
{
	struct memsrc *m = ctx;

	if (n > m->maxread)
		n = m->maxread;
	if ((int64_t)n > m->len - m->pos)
		n = (size_t)(m->len - m->pos);
	memcpy(buf, m->p + m->pos, n);
	m->pos += (int64_t)n;
	return (long)n;
}

static int
mem_rewind(void *ctx)
{
	((struct memsrc *)ctx)->pos = 0;
	return 0;
}

/* Reads the whole encoded body with reads of `step` bytes. */
static size_t
drain(const struct http_body *body, unsigned char *out, size_t cap, size_t step)
{
	size_t got = 0;
	struct err e = {0};

	for (;;) {
		long k = body->read(body->ctx, out + got, got + step > cap ? cap - got : step, &e);
		if (k <= 0)
			return got;
		got += (size_t)k;
	}
}

TEST(s3_aws_chunked)
{
	static const int64_t lens[] = {0, 1, 65535, 65536, 65537, 200000};
	size_t maxlen = 200000;
	unsigned char *data = malloc(maxlen), *enc = malloc(maxlen + 4096), *dec = malloc(maxlen);

	for (size_t i = 0; i < maxlen; i++)
		data[i] = (unsigned char)(i * 7 + (i >> 9));
	for (size_t t = 0; t < COUNT(lens); t++) {
		struct memsrc m = {data, lens[t], 0, 1000};
		struct s3_src src = {mem_read, mem_rewind, &m, lens[t]};
		struct s3_chunked c;
		struct http_body body;
		s3_chunked_init(&c, &src, S3_CK_CRC32C, &body);
		CHECK_STR(c.trailer, "x-amz-checksum-crc32c");
		size_t n = drain(&body, enc, maxlen + 4096, 777);
		CHECK_INT(n, body.len);
		/* Decode as the spec reads: "HEX\r\n" data "\r\n" ..., "0\r\n", trailer, "\r\n". */
		size_t pos = 0, dn = 0;
		int chunks = 0;
		for (;;) {
			char *end;
			unsigned long sz = strtoul((char *)enc + pos, &end, 16);
			CHECK(end[0] == '\r' && end[1] == '\n');
			pos = (size_t)((unsigned char *)end - enc) + 2;
			if (!sz)
				break;
			CHECK(sz == 65536 || !memcmp(enc + pos + sz, "\r\n0\r\n", 5)); /* only the last may be short */
			memcpy(dec + dn, enc + pos, sz);
			dn += sz;
			pos += sz;
			CHECK(enc[pos] == '\r' && enc[pos + 1] == '\n');
			pos += 2;
			chunks++;
		}
		CHECK_INT(dn, lens[t]);
		CHECK(!memcmp(dec, data, dn));
		CHECK_INT(chunks, (lens[t] + 65535) / 65536);
		char want[96], line[160];
		b64_of(S3_CK_CRC32C, data, (size_t)lens[t], want);
		snprintf(line, sizeof line, "x-amz-checksum-crc32c:%s\r\n\r\n", want);
		CHECK_INT(n - pos, strlen(line));
		CHECK(!memcmp(enc + pos, line, strlen(line)));
		/* A retry sends the same bytes. */
		CHECK_INT(body.rewind(body.ctx), 0);
		unsigned char *again = malloc(n + 1);
		CHECK_INT(drain(&body, again, n + 1, 65536 + 5), n);
		CHECK(!memcmp(again, enc, n));
		free(again);
		s3_chunked_free(&c);
	}
	free(data), free(enc), free(dec);
}

TEST(s3_head_headers)
{
	struct http_resp r = {0};
	struct s3obj o = {0};

	buf_adds(&r.head, "ETag: \"0123456789abcdef0123456789abcdef\"\nx-amz-checksum-crc32c: 4waSgw==\n"
			  "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\n");
	r.content_length = 9;
	s3obj_from_resp(&r, &o);
	CHECK_INT(o.size, 9);
	CHECK_INT(o.mtime, 784111777);
	CHECK_INT(o.ck, S3_CK_CRC32C);
	CHECK_STR(o.ckval, "4waSgw==");
	CHECK(!o.ck_composite && !o.mp_parts && !o.kms);
	/* A composite checksum says so with "-N"... */
	buf_reset(&r.head);
	buf_adds(&r.head, "ETag: \"abc-3\"\nx-amz-checksum-crc32: AAAAAA==-3\nx-amz-checksum-type: COMPOSITE\n");
	s3obj_from_resp(&r, &o);
	CHECK(o.ck == S3_CK_CRC32 && o.ck_composite && o.ck_parts == 3 && o.mp_parts == 3);
	CHECK_STR(o.ckval, "AAAAAA==");
	/* ...a multipart object's checksum without "-N" counts as whole-object only if FULL_OBJECT... */
	buf_reset(&r.head);
	buf_adds(&r.head, "ETag: \"abc-2\"\nx-amz-checksum-crc64nvme: AAAAAAAAAAA=\nx-amz-checksum-type: FULL_OBJECT\n");
	s3obj_from_resp(&r, &o);
	CHECK(o.ck == S3_CK_CRC64NVME && !o.ck_composite);
	buf_reset(&r.head);
	buf_adds(&r.head, "ETag: \"abc-2\"\nx-amz-checksum-crc32c: AAAAAA==\n");
	s3obj_from_resp(&r, &o);
	CHECK(o.ck_composite && o.ck_parts == 2);
	/* ...and SSE-KMS ETags are not MD5s. */
	buf_reset(&r.head);
	buf_adds(&r.head, "ETag: \"0123456789abcdef0123456789abcdef\"\nx-amz-server-side-encryption: aws:kms\n");
	s3obj_from_resp(&r, &o);
	CHECK(o.kms && !o.ck);
	s3obj_free(&o);
	http_resp_free(&r);
}

TEST(s3_part_size)
{
	int64_t mib = 1 << 20;

	CHECK_INT(xfer_part_size(100 * mib, 8 * mib), 8 * mib);
	CHECK_INT(xfer_part_size(10000 * 8 * mib, 8 * mib), 8 * mib);
	/* one byte more than 10,000 parts: the next whole MiB */
	CHECK_INT(xfer_part_size(10000 * 8 * mib + 1, 8 * mib), 9 * mib);
	int64_t tb = (int64_t)5 << 40;
	int64_t ps = xfer_part_size(tb, 8 * mib);
	CHECK((tb + ps - 1) / ps <= 10000 && ps % mib == 0);
}

TEST(s3_content_type_and_rel_paths)
{
	CHECK_STR(s3_content_type("dir/report.JSON"), "application/json"); /* case-insensitive */
	CHECK_STR(s3_content_type("backup.tar.gz"), "application/gzip");  /* the last extension */
	CHECK_STR(s3_content_type("s3://b/site/index.html"), "text/html");
	CHECK(s3_content_type("noext") == NULL);
	CHECK(s3_content_type(".bashrc") == NULL);   /* a dot file has no extension */
	CHECK(s3_content_type("dir.d/file") == NULL); /* a dot in a directory is not one */
	CHECK(s3_content_type("x.unknownext") == NULL);

	static const char *const safe[] = {"a", "a/b", "a/.../b", "..a/b", "a..", "a//b"};
	static const char *const unsafe[] = {"", "..", "../x", "a/../b", "a/..", "a/", "a/b/"};
	for (size_t i = 0; i < COUNT(safe); i++)
		if (!s3_rel_path_safe(safe[i]))
			utest_fail(__FILE__, __LINE__, "'%s' refused", safe[i]);
	for (size_t i = 0; i < COUNT(unsafe); i++)
		if (s3_rel_path_safe(unsafe[i]))
			utest_fail(__FILE__, __LINE__, "'%s' taken", unsafe[i]);
}
