/* utf8.c — UTF-8 as RFC 3629 defines it: one decoder, which the checks on keys, payloads, SQS
 * messages and the text put on a terminal all stand on. It calls nothing (die.c uses it). */
#include "base.h"

/* RFC 3629: no overlongs, surrogates or code points above U+10FFFF. */
size_t
utf8_next(const void *p, size_t n, uint32_t *cp)
{
	static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
	const unsigned char *s = p;
	size_t len = !n ? 0 : s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 :
		     s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
	uint32_t u;

	if (!len || len > n)
		return 0;
	u = len == 1 ? s[0] : s[0] & (0x7fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		u = u << 6 | (s[i] & 0x3f);
	}
	if (u < least[len] || u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff))
		return 0;
	*cp = u;
	return len;
}

int
utf8_valid(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t cp;

	for (size_t i = 0, k; i < n; i += k)
		if (!(k = utf8_next(s + i, n - i, &cp)))
			return 0;
	return 1;
}

size_t
utf8_chars(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}
