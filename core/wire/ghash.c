/* ghash.c — GHASH for AES-GCM with x86-64 carry-less multiply: 128-bit PCLMULQDQ, eight blocks per
 * reduction, or, where the CPU has AVX-512 and VPCLMULQDQ, 512-bit registers and 32 blocks.
 * BearSSL's br_ghash_pclmul multiplies four blocks at a time and reduces each sum with shifts; on
 * TLS records it costs more than AES-CTR itself. Here, as in Gueron and Kounavis's "Intel
 * Carry-Less Multiplication Instruction and its Usage for Computing the GCM Mode" (and the
 * aggregated loops published since): blocks are byte-reversed, so a bit-reflected polynomial is an
 * ordinary 128-bit number; H is taken times x once (H<<1 mod P), which absorbs the one-bit shift
 * that a product of two reflected operands needs; eight products (Karatsuba: three multiplies
 * each, the powers' half-sums made once per call) are summed unreduced, and one reduction folds
 * the 256-bit sum with two multiplies by the reflected polynomial's top word (0xC2 << 56).
 * Y = (Y + X1) H^8 + X2 H^7 + ... + X8 H. The powers of H are made anew on every call (BearSSL
 * keeps no GHASH state; TLS calls once per record, 16 KiB at most). The same contract as BearSSL's
 * br_ghash: y updated in place, a last partial block padded with zeros. Checked against
 * br_ghash_ctmul64 and the GCM vectors in tests/unit/test_ghash.c. */
#include "conn.h"

#include "base/cpu.h"

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

/* H times x mod P: a 128-bit shift left by one, P's low terms added when a bit falls off. */
INL __m128i
hx_of(const void *h)
{
	__m128i hx = bswap(_mm_loadu_si128((const __m128i *)h));
	__m128i top = _mm_and_si128(_mm_srai_epi32(_mm_shuffle_epi32(hx, 0xFF), 31), poly());
	__m128i carry = _mm_slli_si128(_mm_srli_epi32(hx, 31), 4);

	return _mm_xor_si128(_mm_xor_si128(_mm_slli_epi32(hx, 1), carry), top);
}

CLMUL static void
ghash_clmul(void *y, const void *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	__m128i acc = bswap(_mm_loadu_si128((const __m128i *)y));
	__m128i hx = hx_of(h);
	__m128i pw[8], hk[8];

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

/* ---- 512-bit: VPCLMULQDQ multiplies four 128-bit lanes at a time ----
 * 32 blocks per reduction: eight registers of data, each lane times its own power of H (the first
 * register H^32..H^29, the last H^4..H^1), Y added into the first block's lane. Schoolbook (four
 * multiplies a lane) rather than Karatsuba: its extra multiply costs what Karatsuba's shuffles
 * would on the same port. The 256-bit sums are reduced lane by lane, then the four lanes XORed.
 * A last group of fewer blocks runs the same code on a zero-padded copy, its blocks multiplied by
 * the table's last powers (zeros past the end of it). 32 rather than 16 blocks: 42 against 34 GB/s
 * on 16 KiB records (a Xeon with AVX-512), the reduction's latency hidden behind more multiplies. */
#define WIDE __attribute__((target("pclmul,ssse3,avx2,avx512f,avx512bw,avx512vl,avx512dq,vpclmulqdq")))
#define WINL WIDE __attribute__((always_inline)) static inline
#define CL4 _mm512_clmulepi64_epi128

struct sum4 {
	__m512i lo, mid, hi; /* a 256-bit product per lane: lo + mid x^64 + hi x^128 */
};

WINL __m512i
xor3(__m512i a, __m512i b, __m512i c)
{
	return _mm512_ternarylogic_epi64(a, b, c, 0x96);
}

WINL void
mul_add(struct sum4 *s, __m512i x, __m512i h)
{
	s->lo = _mm512_xor_si512(s->lo, CL4(x, h, 0x00));
	s->hi = _mm512_xor_si512(s->hi, CL4(x, h, 0x11));
	s->mid = xor3(s->mid, CL4(x, h, 0x01), CL4(x, h, 0x10));
}

/* q, 128 bits at bit 64k of a product, as q x^-64 mod P at bit 64(k+1), added into to: reduce's
 * one step. Low into middle, then middle into high, reduces lo + mid x^64 + hi x^128. */
WINL __m512i
step(__m512i q, __m512i to)
{
	__m512i p = _mm512_broadcast_i32x4(poly());

	return xor3(to, _mm512_shuffle_epi32(q, (_MM_PERM_ENUM)0x4E), CL4(q, p, 0x10));
}

WINL __m512i
reduce4(struct sum4 s)
{
	return step(step(s.lo, s.mid), s.hi);
}

WINL __m512i
mul4(__m512i a, __m512i b)
{
	struct sum4 s = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};

	mul_add(&s, a, b);
	return reduce4(s);
}

/* pw[0..7]: H^32..H^1 (each times x), four to a register, in five multiplies' time; pw[8..15]: 0. */
WIDE static void
powers(__m128i hx, __m512i pw[16])
{
	__m512i h1 = _mm512_broadcast_i32x4(hx), h2 = mul4(h1, h1);
	__m512i h21 = _mm512_mask_blend_epi64(0xCC, h2, h1); /* H^2 H^1 H^2 H^1 */
	__m512i h4 = mul4(h2, h2), h8 = mul4(h4, h4), h16 = mul4(h8, h8);

	pw[7] = _mm512_mask_blend_epi64(0xF0, mul4(h2, h21), h21); /* H^4 H^3 H^2 H^1 */
	pw[6] = mul4(pw[7], h4);
	pw[5] = mul4(pw[7], h8);
	pw[4] = mul4(pw[6], h8);
	for (int i = 0; i < 4; i++) {
		pw[i] = mul4(pw[i + 4], h16);
		pw[8 + i] = pw[12 + i] = _mm512_setzero_si512();
	}
}

/* Below this the eight-block code is as fast: the powers cost about what a group does. */
#define WIDE_MIN 256

WIDE static void
ghash_wide(void *y, const void *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	unsigned char last[512];
	__m512i pw[16], bs = _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));

	if (len < WIDE_MIN) {
		ghash_clmul(y, h, data, len);
		return;
	}
	powers(hx_of(h), pw);
	__m128i acc = bswap(_mm_loadu_si128((const __m128i *)y));
	for (; len; p += 512, len -= 512) {
		size_t r = 32; /* blocks in this group: block j times H^(r-j), the table's entry 32-r+j */
		if (len < 512) {
			memset(last, 0, sizeof last);
			memcpy(last, p, len);
			r = (len + 15) / 16, p = last, len = 512;
		}
		const unsigned char *hp = (const unsigned char *)pw + 16 * (32 - r);
		struct sum4 s = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
#pragma GCC unroll 8
		for (int i = 0; i < 8; i++) {
			__m512i x = _mm512_shuffle_epi8(_mm512_loadu_si512(p + 64 * i), bs);
			if (i == 0)
				x = _mm512_xor_si512(x, _mm512_zextsi128_si512(acc));
			mul_add(&s, x, _mm512_loadu_si512(hp + 64 * i));
		}
		__m512i v = reduce4(s);
		__m256i t = _mm256_xor_si256(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
		acc = _mm_xor_si128(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
	}
	_mm_storeu_si128((__m128i *)y, bswap(acc));
	/* Else the SSE code after this (BearSSL's AES-NI, GHASH's short calls) runs slower: gcc
	 * inserts no VZEROUPPER at -Os. */
	_mm256_zeroupper();
}

ghash_fn
ghash_x86_clmul(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_PCLMUL) && (c & bit_SSSE3))
		return ghash_clmul;
	return 0;
}

ghash_fn
ghash_x86_get(void)
{
	unsigned wide = CPU_X86_AVX512 | CPU_X86_VPCLMUL;

	if (!ghash_x86_clmul())
		return 0;
	return (cpu_x86() & wide) == wide ? ghash_wide : ghash_clmul;
}
#else
ghash_fn
ghash_x86_get(void)
{
	return 0;
}

ghash_fn
ghash_x86_clmul(void)
{
	return 0;
}
#endif
