/* enc.c — hex, base64 (RFC 4648), percent-encoding (RFC 3986, as SigV4 wants it), time
 * (ISO 8601, IMF-fixdate of RFC 9110), durations, sizes, clocks and random UUIDs (RFC 9562). */
#include "base.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char hexdig[] = "0123456789abcdef";

void
hex_encode(const void *p, size_t n, char *out)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		*out++ = hexdig[s[i] >> 4];
		*out++ = hexdig[s[i] & 15];
	}
	*out = 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
b64_encode(const void *p, size_t n, char *out)
{
	const unsigned char *s = p;
	char *o = out;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		*o++ = b64[v >> 18];
		*o++ = b64[v >> 12 & 63];
		*o++ = b64[v >> 6 & 63];
		*o++ = b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
		*o++ = b64[v >> 18];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = 0;
	return (size_t)(o - out);
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int
b64_decode(const char *s, size_t n, struct buf *out)
{
	uint32_t acc = 0;
	int bits = 0, pad = 0;

	buf_reserve(out, n / 4 * 3 + 3);
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = b64val(c);
		if (v < 0 || pad)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(out, (int)(acc >> bits & 255));
		}
	}
	/* Leftover bits must be zero padding, and at most two '=' */
	if (pad > 2 || bits >= 6 || (acc & ((1u << bits) - 1)))
		return -1;
	return 0;
}

void
uri_encode(struct buf *b, const char *s, size_t n, int keep_slash)
{
	buf_reserve(b, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_' || c == '.' || c == '~' || (c == '/' && keep_slash)) {
			buf_addc(b, c);
		} else {
			char e[3] = {'%', "0123456789ABCDEF"[c >> 4], "0123456789ABCDEF"[c & 15]};
			buf_add(b, e, 3);
		}
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
uri_decode(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			buf_addc(out, s[i]);
			continue;
		}
		if (i + 2 >= n)
			return -1;
		int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
		if (h < 0 || l < 0)
			return -1;
		buf_addc(out, h << 4 | l);
		i += 2;
	}
	return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (m 1..12; d may run past the
 * month's end, as timegm allows). Years start in March here, so February's length comes last:
 * 153 days per 5 months, 365 per year plus the leap days, 146097 per 400 years. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;

	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* t in UTC as year, month, day, hour, minute, second; clamped to the years 0000-9999. */
static void
civil_from_time(time_t t, int f[6])
{
	int64_t lo = days_from_civil(0, 1, 1) * 86400, hi = days_from_civil(10000, 1, 1) * 86400 - 1;
	int64_t s = t < lo ? lo : t > hi ? hi : t;
	int64_t days = s / 86400 - (s % 86400 < 0), sod = s - days * 86400;
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                /* 0..365, from March 1 */
	int mp = (int)((5 * doy + 2) / 153);                                  /* 0 = March */

	f[1] = mp < 10 ? mp + 3 : mp - 9;
	f[0] = (int)(era * 400 + yoe) + (f[1] <= 2);
	f[2] = (int)(doy - (153 * mp + 2) / 5 + 1);
	f[3] = (int)(sod / 3600);
	f[4] = (int)(sod / 60 % 60);
	f[5] = (int)(sod % 60);
}

/* "YYYYMMDDTHHMMSSZ", or with '-' and ':' when sep (ISO 8601 basic and extended formats). */
static void
time_format(time_t t, char *out, int sep)
{
	static const char w[6] = {4, 2, 2, 2, 2, 2}, after[6] = {'-', '-', 'T', ':', ':', 'Z'};
	int f[6];

	civil_from_time(t, f);
	for (int i = 0; i < 6; i++) {
		for (int k = w[i] - 1; k >= 0; k--, f[i] /= 10)
			out[k] = (char)('0' + f[i] % 10);
		out += w[i];
		if (sep || i == 2 || i == 5)
			*out++ = after[i];
	}
	*out = 0;
}

void
time_amz(time_t t, char out[17])
{
	time_format(t, out, 0);
}

void
time_iso8601(time_t t, char out[21])
{
	time_format(t, out, 1);
}

/* Reads exactly w digits. */
static int
digits(const char **p, const char *end, int w, int *v)
{
	*v = 0;
	for (int i = 0; i < w; i++, (*p)++) {
		if (*p >= end || **p < '0' || **p > '9')
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

static int
lit(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -1;
	(*p)++;
	return 0;
}

int
time_parse_iso8601(const char *s, size_t n, time_t *out)
{
	const char *p = s, *end = s + n;
	int y, mo, d, h, mi, sec, basic;
	long off = 0;

	if (digits(&p, end, 4, &y))
		return -1;
	basic = p < end && *p != '-'; /* 20150830T123600Z */
	if ((!basic && lit(&p, end, '-')) || digits(&p, end, 2, &mo) || (!basic && lit(&p, end, '-')) ||
	    digits(&p, end, 2, &d))
		return -1;
	if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
		p++;
		if (digits(&p, end, 2, &h) || (!basic && lit(&p, end, ':')) || digits(&p, end, 2, &mi) ||
		    (!basic && lit(&p, end, ':')) || digits(&p, end, 2, &sec))
			return -1;
		if (p < end && (*p == '.' || *p == ',')) {
			p++;
			if (p >= end || *p < '0' || *p > '9')
				return -1;
			while (p < end && *p >= '0' && *p <= '9')
				p++;
		}
		if (p < end && (*p == 'Z' || *p == 'z')) {
			p++;
		} else if (p < end && (*p == '+' || *p == '-')) {
			int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
			if (digits(&p, end, 2, &oh))
				return -1;
			if (p < end && *p == ':')
				p++;
			if (p < end && digits(&p, end, 2, &om))
				return -1;
			off = sign * (oh * 3600L + om * 60L);
		}
	} else {
		h = mi = sec = 0;
	}
	if (p != end || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	*out = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off);
	return 0;
}

int
time_parse_http(const char *s, size_t n, time_t *out)
{
	static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *p = s, *end = s + n;
	int d, y, h, mi, sec, mo;

	/* "Sun, 06 Nov 1994 08:49:37 GMT" */
	while (p < end && *p != ',')
		p++;
	if (lit(&p, end, ',') || lit(&p, end, ' ') || digits(&p, end, 2, &d) || lit(&p, end, ' ') || end - p < 4)
		return -1;
	for (mo = 0; mo < 12; mo++)
		if (!memcmp(p, mons + 3 * mo, 3))
			break;
	if (mo == 12)
		return -1;
	p += 3;
	if (lit(&p, end, ' ') || digits(&p, end, 4, &y) || lit(&p, end, ' ') || digits(&p, end, 2, &h) ||
	    lit(&p, end, ':') || digits(&p, end, 2, &mi) || lit(&p, end, ':') || digits(&p, end, 2, &sec))
		return -1;
	*out = (time_t)(days_from_civil(y, mo + 1, d) * 86400 + h * 3600 + mi * 60 + sec);
	return 0;
}

/* A decimal number as JSON and our options write it: [+-]digits[.digits][(e|E)[+-]digits], at least
 * one digit before or after the point. libc's strtod would do, but it brings its whole reader
 * (hexadecimal, infinities, every rounding case): 8 KB of awsbox, 12 KB on arm64 where long double
 * is done in software. Up to 19 significant digits are kept; a result that both m and 10^k hold
 * exactly (up to 15 digits, |k| <= 22) is correctly rounded, like strtod's; others are within an
 * ulp or two. *end (when end is not NULL) is s when there is no number; an overflow gives infinity, which callers refuse. */
double
dec_parse(const char *s, char **end)
{
	const char *p = s;
	uint64_t m = 0;
	int neg = 0, digits = 0, k = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; *p >= '0' && *p <= '9'; p++, digits++)
		if (m < 1000000000000000000ULL)
			m = m * 10 + (uint64_t)(*p - '0');
		else
			k++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (m < 1000000000000000000ULL)
				m = m * 10 + (uint64_t)(*p - '0'), k--;
	if (!digits) {
		if (end)
			*end = (char *)s;
		return 0;
	}
	if ((*p == 'e' || *p == 'E') &&
	    ((p[1] >= '0' && p[1] <= '9') || ((p[1] == '+' || p[1] == '-') && p[2] >= '0' && p[2] <= '9'))) {
		int eneg = 0, x = 0;

		p++;
		if (*p == '+' || *p == '-')
			eneg = *p++ == '-';
		for (; *p >= '0' && *p <= '9'; p++)
			if (x < 100000)
				x = x * 10 + (*p - '0');
		k += eneg ? -x : x;
	}
	if (end)
		*end = (char *)p;
	double v = (double)m;
	while (k && v != 0 && isfinite(v)) {
		int n = k > 22 ? 22 : k < -22 ? 22 : k < 0 ? -k : k;
		double t = 1;

		for (int i = 0; i < n; i++)
			t *= 10; /* exact: 10^22 = 2^22 * 5^22 and 5^22 < 2^53 */
		v = k > 0 ? v * t : v / t;
		k += k > 0 ? -n : n;
	}
	return neg ? -v : v;
}

int
parse_duration(const char *s, double *secs)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = {{"", 1}, {"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	v = dec_parse(s, &end);
	if (end == s || !isfinite(v) || v < 0)
		return -1;
	for (size_t i = 0; i < COUNT(units); i++)
		if (!strcmp(end, units[i].unit)) {
			if (!isfinite(v * units[i].mult)) /* "2e307m": no caller can use infinity */
				return -1;
			*secs = v * units[i].mult;
			return 0;
		}
	return -1;
}

int
parse_size(const char *s, uint64_t *out)
{
	static const char sfx[] = "KMGT";
	char *end;
	double v, mult = 1;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	v = dec_parse(s, &end);
	if (end == s || !isfinite(v) || v < 0)
		return -1;
	if (*end) {
		const char *u = strchr(sfx, *end >= 'a' ? *end - 32 : *end);
		if (!u || !*u)
			return -1;
		for (const char *q = sfx; q <= u; q++)
			mult *= 1024;
		end++;
		if (*end == 'i')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
	}
	if (*end || v * mult > 18e18)
		return -1;
	*out = (uint64_t)(v * mult);
	return 0;
}

time_t
clock_now(void)
{
	const char *pin = getenv("AWSBOX_NOW");
	time_t t;

	if (pin && *pin) {
		char *end;
		long long v = strtoll(pin, &end, 10);
		if (!*end)
			return (time_t)v;
		if (!time_parse_iso8601(pin, strlen(pin), &t))
			return t;
	}
	return time(NULL);
}

double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
sleep_sec(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

uint32_t
rand32(void)
{
	static __thread uint64_t x;

	if (!x) {
		if (getrandom(&x, sizeof x, GRND_NONBLOCK) != sizeof x)
			x = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&x;
		x |= 1;
	}
	/* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

void
uuid4(char out[37])
{
	unsigned char r[16];

	if (getrandom(r, sizeof r, 0) != sizeof r)
		for (size_t i = 0; i < sizeof r; i += 4) {
			uint32_t x = rand32();
			memcpy(r + i, &x, 4);
		}
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
		 r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}
