/* ghash.c — GHASH for AES-GCM with x86-64 carry-less multiply, eight blocks per reduction.
 * BearSSL's br_ghash_pclmul multiplies four blocks at a time and reduces each sum with shifts; on
 * TLS records it costs more than AES-CTR itself. Here, as in Gueron and Kounavis's "Intel
 * Carry-Less Multiplication Instruction and its Usage for Computing the GCM Mode" (and the
 * aggregated loops published since): blocks are byte-reversed, so a bit-reflected polynomial is an
 * ordinary 128-bit number; H is taken times x once (H<<1 mod P), which absorbs the one-bit shift
 * that a product of two reflected operands needs; eight products (Karatsuba: three multiplies
 * each, the powers' half-sums made once per call) are summed unreduced, and one reduction folds
 * the 256-bit sum with two multiplies by the reflected polynomial's top word (0xC2 << 56).
 * Y = (Y + X1) H^8 + X2 H^7 + ... + X8 H. The same contract as BearSSL's br_ghash: y updated in
 * place, a last partial block padded with zeros. Checked against br_ghash_ctmul64 and the GCM
 * vectors in tests/unit/test_ghash.c. */
#include "conn.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#define CLMUL __attribute__((target("pclmul,ssse3")))
/* -Os would call these rather than inline them, in the innermost loop. */
#define INL CLMUL __attribute__((always_inline)) static inline

INL __m128i
bswap(__m128i x)
{
	return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

/* The reflected GCM polynomial's reduction constant: x^128 + x^127 + x^126 + x^121 + 1. */
INL __m128i
poly(void)
{
	return _mm_set_epi64x((long long)0xC200000000000000ULL, 1);
}

/* lo and hi: a 256-bit product of reflected operands (one of them times x); returns it mod P. */
INL __m128i
reduce(__m128i lo, __m128i hi)
{
	__m128i p = poly();

	for (int i = 0; i < 2; i++)
		lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4E), _mm_clmulepi64_si128(lo, p, 0x10));
	return _mm_xor_si128(lo, hi);
}

/* Karatsuba's middle term closes the three partial products into lo and hi. */
INL __m128i
finish(__m128i lo, __m128i hi, __m128i mid)
{
	mid = _mm_xor_si128(mid, _mm_xor_si128(lo, hi));
	lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
	hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
	return reduce(lo, hi);
}

/* The low word of x holds x's two halves XORed: the middle factor of Karatsuba. */
INL __m128i
halves(__m128i x)
{
	return _mm_xor_si128(x, _mm_shuffle_epi32(x, 0x4E));
}

INL __m128i
gmul(__m128i a, __m128i b)
{
	return finish(_mm_clmulepi64_si128(a, b, 0x00), _mm_clmulepi64_si128(a, b, 0x11),
		      _mm_clmulepi64_si128(halves(a), halves(b), 0x00));
}

CLMUL static void
ghash_clmul(void *y, const void *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	__m128i acc = bswap(_mm_loadu_si128((const __m128i *)y));
	__m128i hx = bswap(_mm_loadu_si128((const __m128i *)h));
	__m128i pw[8], hk[8];

	/* H times x mod P: a 128-bit shift left by one, P's low terms added when a bit falls off. */
	__m128i top = _mm_and_si128(_mm_srai_epi32(_mm_shuffle_epi32(hx, 0xFF), 31), poly());
	__m128i carry = _mm_slli_si128(_mm_srli_epi32(hx, 31), 4);
	hx = _mm_xor_si128(_mm_xor_si128(_mm_slli_epi32(hx, 1), carry), top);

	pw[0] = hx;
	hk[0] = halves(hx);
	if (len >= 128) {
		for (int i = 1; i < 8; i++) {
			pw[i] = gmul(pw[i - 1], hx);
			hk[i] = halves(pw[i]);
		}
		for (; len >= 128; p += 128, len -= 128) {
			__m128i x = _mm_xor_si128(bswap(_mm_loadu_si128((const __m128i *)p)), acc);
			__m128i lo = _mm_clmulepi64_si128(x, pw[7], 0x00);
			__m128i hi = _mm_clmulepi64_si128(x, pw[7], 0x11);
			__m128i mid = _mm_clmulepi64_si128(halves(x), hk[7], 0x00);
			for (int i = 1; i < 8; i++) {
				x = bswap(_mm_loadu_si128((const __m128i *)(p + 16 * i)));
				lo = _mm_xor_si128(lo, _mm_clmulepi64_si128(x, pw[7 - i], 0x00));
				hi = _mm_xor_si128(hi, _mm_clmulepi64_si128(x, pw[7 - i], 0x11));
				mid = _mm_xor_si128(mid, _mm_clmulepi64_si128(halves(x), hk[7 - i], 0x00));
			}
			acc = finish(lo, hi, mid);
		}
	}
	while (len) {
		unsigned char last[16] = {0};
		size_t n = len < 16 ? len : 16;
		memcpy(last, p, n);
		__m128i x = _mm_xor_si128(bswap(_mm_loadu_si128((const __m128i *)last)), acc);
		acc = finish(_mm_clmulepi64_si128(x, hx, 0x00), _mm_clmulepi64_si128(x, hx, 0x11),
			     _mm_clmulepi64_si128(halves(x), hk[0], 0x00));
		p += n, len -= n;
	}
	_mm_storeu_si128((__m128i *)y, bswap(acc));
}

ghash_fn
ghash_x86_get(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_PCLMUL) && (c & bit_SSSE3))
		return ghash_clmul;
	return 0;
}
#else
ghash_fn
ghash_x86_get(void)
{
	return 0;
}
#endif
