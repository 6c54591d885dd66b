/* test_enc.c — encodings and time, against RFC 4648 vectors and known instants. */
#include "unit.h"

TEST(enc_hex_b64)
{
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	char o[64], h[16];

	for (size_t i = 0; i < COUNT(in); i++) {
		struct buf b = {0};
		CHECK_INT(b64_encode(in[i], strlen(in[i]), o), strlen(out[i]));
		CHECK_STR(o, out[i]);
		CHECK_INT(b64_decode(out[i], strlen(out[i]), &b), 0);
		CHECK_INT(b.len, strlen(in[i]));
		CHECK(!memcmp(b.p ? b.p : "", in[i], b.len));
		buf_free(&b);
	}
	struct buf b = {0};
	CHECK_INT(b64_decode("Zm9v!", 5, &b), -1);
	CHECK_INT(b64_decode("Zg=a", 4, &b), -1);
	CHECK_INT(b64_decode("Zh==", 4, &b), -1); /* non-zero padding bits */
	hex_encode("\x01\xab\xff", 3, h);
	CHECK_STR(h, "01abff");
}

TEST(enc_uri)
{
	struct buf b = {0};
	const char s[] = "a b/c~d-e_f.g+h%i?j=k&\xe1\x88\xb4";

	uri_encode(&b, s, strlen(s), 1);
	CHECK_STR(b.p, "a%20b/c~d-e_f.g%2Bh%25i%3Fj%3Dk%26%E1%88%B4");
	buf_reset(&b);
	uri_encode(&b, "/a/b", 4, 0);
	CHECK_STR(b.p, "%2Fa%2Fb");
	buf_reset(&b);
	CHECK_INT(uri_decode("a%20b%2F%e1%88%B4", 17, &b), 0);
	CHECK_STR(b.p, "a b/\xe1\x88\xb4");
	CHECK_INT(uri_decode("%2", 2, &b), -1);
	CHECK_INT(uri_decode("%zz", 3, &b), -1);
	buf_free(&b);
}

TEST(enc_time)
{
	char o[21];
	time_t t;

	time_amz(1440938160, o);
	CHECK_STR(o, "20150830T123600Z");
	time_iso8601(1440938160, o);
	CHECK_STR(o, "2015-08-30T12:36:00Z");
	static const char *const same[] = {"2015-08-30T12:36:00Z", "2015-08-30T12:36:00.000Z", "2015-08-30T14:36:00+02:00",
					   "20150830T123600Z", "2015-08-30T07:36:00-0500", "2015-08-30T12:36:00"};
	for (size_t i = 0; i < COUNT(same); i++) {
		CHECK_INT(time_parse_iso8601(same[i], strlen(same[i]), &t), 0);
		CHECK_INT(t, 1440938160);
	}
	CHECK_INT(time_parse_iso8601("2015-13-01T00:00:00Z", 20, &t), -1);
	CHECK_INT(time_parse_iso8601("2015-08-30T12:36:00Zjunk", 24, &t), -1);
	CHECK_INT(time_parse_iso8601("yesterday", 9, &t), -1);
	CHECK_INT(time_parse_http("Sun, 30 Aug 2015 12:36:00 GMT", 29, &t), 0);
	CHECK_INT(t, 1440938160);
	CHECK_INT(time_parse_http("Sun, 30 Foo 2015 12:36:00 GMT", 29, &t), -1);
}

TEST(enc_clock_pinned)
{
	setenv("AWSBOX_NOW", "2015-08-30T12:36:00Z", 1);
	CHECK_INT(clock_now(), 1440938160);
	setenv("AWSBOX_NOW", "1440938161", 1);
	CHECK_INT(clock_now(), 1440938161);
	unsetenv("AWSBOX_NOW");
	CHECK(clock_now() > 1700000000);
}
