/* test_enc.c — encodings and time, against RFC 4648 vectors and known instants. */
#include "unit.h"

#include <locale.h>
#include <math.h>
#include <wchar.h>

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

TEST(enc_utf8)
{
	/* RFC 3629 section 4 syntax: the boundaries of each length, and what it rules out. */
	static const char *const good[] = {
		"", "abc", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
		"\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xe1\x88\xb4 \xf0\x9f\x98\x80",
	};
	static const char *const bad[] = {
		"\x80",             /* a lone continuation byte */
		"\xc0\xaf",         /* overlong '/' */
		"\xc1\xbf",         /* overlong */
		"\xe0\x9f\xbf",     /* overlong 3-byte */
		"\xf0\x8f\xbf\xbf", /* overlong 4-byte */
		"\xed\xa0\x80",     /* U+D800, a surrogate */
		"\xed\xbf\xbf",     /* U+DFFF */
		"\xf4\x90\x80\x80", /* U+110000 */
		"\xf5\x80\x80\x80", "\xff", "\xfe",
		"\xc2",             /* truncated */
		"\xe1\x88",         /* truncated */
		"a\xc2 ",           /* not a continuation */
	};
	for (size_t i = 0; i < COUNT(good); i++)
		CHECK_INT(utf8_valid(good[i], strlen(good[i])), 1);
	for (size_t i = 0; i < COUNT(bad); i++)
		CHECK_INT(utf8_valid(bad[i], strlen(bad[i])), 0);
	CHECK_INT(utf8_valid("a\0b", 3), 1); /* NUL is U+0000: the length decides, not a terminator */
	CHECK_INT(utf8_chars("h\xc3\xa9llo \xf0\x9f\x98\x80", 11), 7);
	CHECK_INT(utf8_chars("\xe2\x82\xac", 2), 1); /* a character cut short counts once */
}

/* utf8_next (which utf8_valid, text_clean and SQS's check all use) against the C library's own
 * UTF-8 decoder (musl's, or glibc's in the sanitizer build): every sequence of one to three
 * bytes, and four-byte ones over every lead and second byte; a sequence cut short as well. */
TEST(enc_utf8_next_against_libc)
{
	if (!setlocale(LC_CTYPE, "C.UTF-8")) {
		fprintf(stderr, "    skipped: no C.UTF-8 locale\n");
		return;
	}
	static const unsigned char tail[] = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
	long checked = 0, bad = 0;
	for (uint32_t v = 0; v < (1u << 24) + 256 * 256 * COUNT(tail) * COUNT(tail); v++) {
		unsigned char b[4];
		size_t len;
		if (v < 256)
			b[0] = (unsigned char)v, len = 1;
		else if (v < 65536 + 256)
			b[0] = (unsigned char)((v - 256) >> 8), b[1] = (unsigned char)(v - 256), len = 2;
		else if (v < (1u << 24))
			b[0] = (unsigned char)(v >> 16), b[1] = (unsigned char)(v >> 8), b[2] = (unsigned char)v, len = 3;
		else {
			uint32_t w = v - (1u << 24);
			b[0] = (unsigned char)(w >> 8 & 0xff), b[1] = (unsigned char)w;
			b[2] = tail[(w >> 16) % COUNT(tail)], b[3] = tail[(w >> 16) / COUNT(tail)];
			len = 4;
		}
		if (len == 3 && b[0] < 0xe0)
			continue; /* a shorter sequence and bytes after it: covered by the shorter case */
		for (size_t n = 1; n <= len; n++) {
			mbstate_t st = {0};
			wchar_t wc = 0;
			uint32_t cp = 0;
			size_t ref = mbrtowc(&wc, (const char *)b, n, &st), got = utf8_next(b, n, &cp);
			size_t want = ref == (size_t)-1 || ref == (size_t)-2 ? 0 : ref == 0 ? 1 : ref;
			if (got != want || (got && cp != (uint32_t)wc))
				bad++;
			checked++;
		}
	}
	setlocale(LC_CTYPE, "C");
	fprintf(stderr, "    %ld sequences, %ld different from the C library's decoder\n", checked, bad);
	CHECK_INT(bad, 0);
}

/* RFC 9562's version 4: 36 characters, the version nibble 4, the variant bits 10. */
TEST(enc_uuid4)
{
	char a[37], b[37];

	uuid4(a);
	uuid4(b);
	CHECK_INT(strlen(a), 36);
	CHECK(strcmp(a, b));
	for (int i = 0; i < 36; i++)
		CHECK(i == 8 || i == 13 || i == 18 || i == 23 ? a[i] == '-' : strchr("0123456789abcdef", a[i]) != NULL);
	CHECK(a[14] == '4');
	CHECK(strchr("89ab", a[19]) != NULL);
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

/* Instants whose calendar dates Python's datetime gives (leap days of 2000 and 2024, 2100 not
 * leap, before the epoch, the last second of year 9999), then random instants against musl's
 * gmtime_r and strftime, and the parsers against musl's timegm: implementations not ours. */
TEST(enc_time_calendar)
{
	static const struct {
		long long t;
		const char *iso;
	} v[] = {
		{0, "1970-01-01T00:00:00Z"},           {-1, "1969-12-31T23:59:59Z"},
		{951782400, "2000-02-29T00:00:00Z"},   {951868799, "2000-02-29T23:59:59Z"},
		{4107542399, "2100-02-28T23:59:59Z"},  {4107542400, "2100-03-01T00:00:00Z"},
		{1709164800, "2024-02-29T00:00:00Z"},  {-62135596800, "0001-01-01T00:00:00Z"},
		{253402300799, "9999-12-31T23:59:59Z"},
	};
	char o[21], a[17];
	time_t t;

	for (size_t i = 0; i < COUNT(v); i++) {
		time_iso8601((time_t)v[i].t, o);
		CHECK_STR(o, v[i].iso);
		CHECK_INT(time_parse_iso8601(o, strlen(o), &t), 0);
		CHECK_INT(t, v[i].t);
	}
	/* Beyond four-digit years: the nearest instant that has them, never a longer string. */
	time_iso8601((time_t)253402300800LL, o);
	CHECK_STR(o, "9999-12-31T23:59:59Z");
	time_amz((time_t)-62167219201LL, a);
	CHECK_STR(a, "00000101T000000Z");

	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* years 0000-9999, and densely around the epoch */
		long long tt = i & 1 ? (long long)(x % 315569520000ull) - 62167219200LL : (long long)(x % 4000000000ull) - 2000000000LL;
		struct tm tm;
		char want[32];
		t = (time_t)tt;
		CHECK(gmtime_r(&t, &tm));
		/* the fields by hand: strftime's %Y pads years below 1000 in musl but not in glibc */
		snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
		time_iso8601(t, o);
		if (strcmp(o, want)) {
			utest_fail(__FILE__, __LINE__, "%lld: %s, gmtime_r says %s", tt, o, want);
			return;
		}
		snprintf(want, sizeof want, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
		time_amz(t, a);
		CHECK_STR(a, want);
		time_t back;
		CHECK_INT(time_parse_iso8601(o, strlen(o), &back), 0);
		CHECK_INT(back, tt);
		strftime(want, sizeof want, "%a, %d %b ", &tm);
		snprintf(want + strlen(want), sizeof want - strlen(want), "%04d %02d:%02d:%02d GMT", tm.tm_year + 1900,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
		CHECK_INT(time_parse_http(want, strlen(want), &back), 0);
		CHECK_INT(back, tt);
	}
	/* Out-of-range fields carry over as timegm's do (the HTTP date's day is any two digits). */
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		struct tm tm = {.tm_year = (int)(x % 10000) - 1900, .tm_mon = (int)((x >> 20) % 12),
				.tm_mday = (int)((x >> 30) % 100), .tm_hour = (int)((x >> 40) % 100),
				.tm_min = (int)((x >> 48) % 100), .tm_sec = (int)((x >> 56) % 100)};
		char in[64];
		snprintf(in, sizeof in, "Mon, %02d %.3s %04d %02d:%02d:%02d GMT", tm.tm_mday,
			 &"JanFebMarAprMayJunJulAugSepOctNovDec"[3 * tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			 tm.tm_sec);
		time_t back, want = timegm(&tm);
		CHECK_INT(time_parse_http(in, strlen(in), &back), 0);
		if (back != want) {
			utest_fail(__FILE__, __LINE__, "%s: %lld, timegm says %lld", in, (long long)back, (long long)want);
			return;
		}
	}
}

/* dec_parse against musl's strtod (the reference): the same value where both m and 10^k are exact,
 * within two ulps elsewhere, and the same end. */
TEST(enc_dec_parse)
{
	static const char *const fixed[] = {"0", "1", "-2", "+3", "0.5", ".25", "7.", "1.5", "0.001", "30",
					    "1e3", "1E-3", "2.5e+2", "1e", "1e+", "5x", "1.5G", "500ms", "00012",
					    "0.1", "123456789012345678901234567890", "1e308", "1e309", "1e-400",
					    "-0", "3.14159265358979323846"};
	static const char *const none[] = {"", "-", "+", ".", "e5", "x", "inf", "nan", " "};
	char buf[64], *e1, *e2;

	for (size_t i = 0; i < COUNT(fixed) + 20000; i++) {
		const char *s = buf;
		if (i < COUNT(fixed)) {
			s = fixed[i];
		} else { /* random: up to 15 digits around a point, an exponent within 7: |k| <= 22 */
			int n = 1 + (int)(rand32() % 15), pt = (int)(rand32() % (unsigned)(n + 1)), o = 0;
			for (int j = 0; j < n; j++) {
				if (j == pt)
					buf[o++] = '.';
				buf[o++] = (char)('0' + rand32() % 10);
			}
			if (rand32() % 2)
				o += snprintf(buf + o, sizeof buf - (size_t)o, "e%d", (int)(rand32() % 15) - 7);
			buf[o] = 0;
		}
		double a = dec_parse(s, &e1), b = strtod(s, &e2);
		CHECK(e1 == e2);
		if (i >= COUNT(fixed) || i < 20) {
			if (a != b)
				utest_fail(__FILE__, __LINE__, "%s: %.17g, strtod %.17g", s, a, b);
		} else if (!(isinf(a) && isinf(b)) && fabs(a - b) > 4.5e-16 * fabs(b)) {
			utest_fail(__FILE__, __LINE__, "%s: %.17g, strtod %.17g", s, a, b);
		}
	}
	for (size_t i = 0; i < COUNT(none); i++) {
		CHECK(dec_parse(none[i], &e1) == 0 && e1 == none[i]);
	}
	CHECK(dec_parse("12", NULL) == 12);
}
