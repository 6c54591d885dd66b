/* sha256.c — SHA-256 (FIPS 180-4; the x86 SHA extensions when present, else BearSSL's) and
 * HMAC-SHA256 through BearSSL: SigV4's hashes and S3's SHA256 checksum.
 * https://csrc.nist.gov/pubs/fips/180-4/upd1/final ; the SHA instructions: Intel SDM vol. 2
 * (SHA256RNDS2, SHA256MSG1, SHA256MSG2). */
#include "base.h"
#include "cpu.h"

#include <bearssl.h>
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

/* Our own state, used with the SHA extensions (BearSSL's context is used without them). */
struct sha_st {
	uint32_t h[8];
	uint64_t len;          /* bytes hashed so far */
	unsigned char buf[64]; /* the partial block: len % 64 bytes */
};
_Static_assert(sizeof(struct sha_st) <= sizeof((struct sha256 *)0)->st, "sha256 state too small");
_Static_assert(sizeof(br_sha256_context) <= sizeof((struct sha256 *)0)->st, "sha256 context too small");

static int sha_hw = -1; /* -1 not yet probed, 0 BearSSL, 1 SHA extensions */

#if defined(__x86_64__)
#include <immintrin.h>

/* FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
static const uint32_t K256[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* n 64-byte blocks into h (a..h). SHA256RNDS2 does two rounds on the state split as ABEF and
 * CDGH (A and C in the top lanes) with W+K of those rounds in the low half of its third operand;
 * SHA256MSG1 and SHA256MSG2 extend the message schedule four words at a time (FIPS 180-4 6.2.2). */
__attribute__((target("sha,ssse3,sse4.1"))) static void
sha_blocks_hw(uint32_t h[8], const unsigned char *p, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL); /* big-endian words */
	__m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0xB1);     /* b a d c (low lane first) */
	__m128i u = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(h + 4)), 0x1B); /* h g f e */
	__m128i abef = _mm_alignr_epi8(t, u, 8);                                         /* f e b a */
	__m128i cdgh = _mm_blend_epi16(u, t, 0xF0);                                      /* h g d c */

	for (; n; n--, p += 64) {
		__m128i w[4], s0 = abef, s1 = cdgh;
		for (int i = 0; i < 4; i++)
			w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
		/* Round group g (rounds 4g..4g+3) uses W[4g..4g+3], kept in w[g % 4]; from g = 4 on
		 * it replaces W[4g-16..4g-13] there: W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]. */
#pragma GCC unroll 16
		for (int g = 0; g < 16; g++) {
			if (g >= 4) {
				__m128i m = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
				m = _mm_add_epi32(m, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
				w[g & 3] = _mm_sha256msg2_epu32(m, w[(g + 3) & 3]);
			}
			__m128i k = _mm_add_epi32(w[g & 3], _mm_load_si128((const __m128i *)(K256 + 4 * g)));
			s1 = _mm_sha256rnds2_epu32(s1, s0, k); /* two rounds: s1 is ABEF, s0 CDGH */
			s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(k, 0x0E)); /* and back */
		}
		abef = _mm_add_epi32(abef, s0);
		cdgh = _mm_add_epi32(cdgh, s1);
	}
	t = _mm_shuffle_epi32(abef, 0x1B); /* a b e f */
	u = _mm_shuffle_epi32(cdgh, 0xB1); /* g h c d */
	_mm_storeu_si128((__m128i *)h, _mm_blend_epi16(t, u, 0xF0));
	_mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(u, t, 8));
}

static int
cpu_has_sha(void)
{
	unsigned a, b, c, d;

	/* SHA: CPUID leaf 7 EBX bit 29; the shuffles around it: SSSE3 and SSE4.1 (leaf 1 ECX). */
	if (__get_cpuid_max(0, NULL) < 7 || !__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return 0;
	__cpuid_count(7, 0, a, b, c, d);
	return (b >> 29) & 1;
}
#else
static void
sha_blocks_hw(uint32_t h[8], const unsigned char *p, size_t n)
{
	(void)h, (void)p, (void)n;
}

static int
cpu_has_sha(void)
{
	return 0;
}
#endif

int
sha256_use_hw(int want)
{
	return cpu_choice(&sha_hw, want, cpu_has_sha);
}

void
sha256_init(struct sha256 *c)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}; /* FIPS 180-4 5.3.3 */
	int hw = __atomic_load_n(&sha_hw, __ATOMIC_RELAXED);

	memset(c, 0, sizeof *c);
	c->hw = hw < 0 ? sha256_use_hw(-1) : hw;
	if (c->hw)
		memcpy(((struct sha_st *)(void *)c->st)->h, iv, sizeof iv);
	else
		br_sha256_init((br_sha256_context *)(void *)c->st);
}

void
sha256_update(struct sha256 *c, const void *p, size_t n)
{
	struct sha_st *s = (struct sha_st *)(void *)c->st;
	const unsigned char *q = p;
	size_t have = s->len & 63;

	if (!c->hw) {
		br_sha256_update((br_sha256_context *)(void *)c->st, p, n);
		return;
	}
	s->len += n;
	if (have) {
		size_t k = 64 - have < n ? 64 - have : n;
		memcpy(s->buf + have, q, k);
		q += k, n -= k;
		if (have + k < 64)
			return;
		sha_blocks_hw(s->h, s->buf, 1);
	}
	if (n >= 64) {
		sha_blocks_hw(s->h, q, n / 64);
		q += n & ~(size_t)63;
		n &= 63;
	}
	memcpy(s->buf, q, n);
}

void
sha256_out(const struct sha256 *c, unsigned char out[32])
{
	struct sha_st s;
	size_t have;

	if (!c->hw) {
		br_sha256_out((const br_sha256_context *)(const void *)c->st, out);
		return;
	}
	memcpy(&s, c->st, sizeof s);
	have = s.len & 63;
	/* FIPS 180-4 5.1.1: 0x80, zeros to 56 mod 64, the length in bits (big-endian). */
	s.buf[have++] = 0x80;
	if (have > 56) {
		memset(s.buf + have, 0, 64 - have);
		sha_blocks_hw(s.h, s.buf, 1);
		have = 0;
	}
	memset(s.buf + have, 0, 56 - have);
	for (int i = 0; i < 8; i++)
		s.buf[56 + i] = (unsigned char)((s.len << 3) >> (56 - 8 * i));
	sha_blocks_hw(s.h, s.buf, 1);
	for (int i = 0; i < 32; i++)
		out[i] = (unsigned char)(s.h[i / 4] >> (24 - 8 * (i % 4)));
}

void
sha256_hex(const void *p, size_t n, char out[65])
{
	struct sha256 c;
	unsigned char h[32];

	sha256_init(&c);
	sha256_update(&c, p, n);
	sha256_out(&c, h);
	hex_encode(h, 32, out);
}

void
hmac_sha256(const void *key, size_t klen, const void *msg, size_t n, unsigned char out[32])
{
	br_hmac_key_context kc;
	br_hmac_context hc;

	br_hmac_key_init(&kc, &br_sha256_vtable, key, klen);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, msg, n);
	br_hmac_out(&hc, out);
	memzero(&kc, sizeof kc);
	memzero(&hc, sizeof hc);
}
