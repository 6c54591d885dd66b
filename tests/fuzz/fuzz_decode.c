/* fuzz_decode.c — libFuzzer target for enc.c's decoders: base64 (RFC 4648, standard and URL-safe
 * alphabets) and percent-decoding (RFC 3986), each checked against its encoder both ways. */
#include "fuzz.h"

static void
check_b64(const uint8_t *p, size_t n)
{
	struct buf d = {0}, d2 = {0};
	char *enc = xmalloc(4 * ((n + 2) / 3) + 1);

	if (!b64_decode((const char *)p, n, &d)) {
		/* what decodes re-encodes to something that decodes to the same bytes */
		char *again = xmalloc(4 * ((d.len + 2) / 3) + 1);
		size_t k = b64_encode(d.p, d.len, again);
		FUZZ_CHECK(k == strlen(again) && k % 4 == 0);
		FUZZ_CHECK(!b64_decode(again, k, &d2) && fuzz_buf_is(&d2, d.p, d.len));
		free(again);
	}
	/* and any bytes survive encoding and decoding */
	buf_reset(&d2);
	size_t k = b64_encode(p, n, enc);
	FUZZ_CHECK(k == 4 * ((n + 2) / 3));
	FUZZ_CHECK(!b64_decode(enc, k, &d2) && fuzz_buf_is(&d2, p, n));
	free(enc);
	buf_free(&d);
	buf_free(&d2);
}

static void
check_uri(const uint8_t *p, size_t n, int keep_slash)
{
	struct buf d = {0}, e = {0}, d2 = {0};

	if (!uri_decode((const char *)p, n, &d)) {
		FUZZ_CHECK(d.len <= n);
		uri_encode(&e, d.p ? d.p : "", d.len, keep_slash);
		FUZZ_CHECK(!uri_decode(e.p ? e.p : "", e.len, &d2) && fuzz_buf_is(&d2, d.p, d.len));
	}
	buf_reset(&e);
	buf_reset(&d2);
	uri_encode(&e, (const char *)p, n, keep_slash);
	/* only unreserved characters (and '/') are left as they are */
	for (size_t i = 0; i < e.len; i++)
		FUZZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%/", e.p[i]) &&
			   (keep_slash || e.p[i] != '/') && e.p[i]);
	FUZZ_CHECK(!uri_decode(e.p ? e.p : "", e.len, &d2) && fuzz_buf_is(&d2, p, n));
	buf_free(&d);
	buf_free(&e);
	buf_free(&d2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		check_uri(data + 1, size - 1, data[0] & 2);
	else
		check_b64(data + 1, size - 1);
	return 0;
}
