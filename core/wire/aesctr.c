/* aesctr.c — AES-CTR with VAES (x86-64), for BearSSL's AES-GCM (NIST SP 800-38D) under TLS
 * records. BearSSL's br_aes_x86ni_ctr encrypts four blocks at a time in 128-bit registers; VAES
 * does four blocks to an instruction on 512-bit registers (AVX-512), two on 256-bit ones (AVX2
 * only: AMD Zen 3, Intel's hybrid cores), and four registers in flight cover its latency. The same
 * contract as br_aes_x86ni_ctr_vtable (init, run) and the same key schedule, its own: the context
 * is BearSSL's, with our vtable. Counter blocks are iv || be32(cc + i), the counter wrapping mod
 * 2^32; a partial last block is not counted in the counter returned. Checked against
 * br_aes_x86ni_ctr in tests/unit/test_aesctr.c, the GCM vectors in test_cpu.c. */
#include "conn.h"
#include "base/cpu.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

static const br_block_ctr_class vaes_vtable, vaes2_vtable;

/* BearSSL's key schedule into its own context; then the vtable says which run it is. */
static void
vaes_init(const br_block_ctr_class **ctx, const void *key, size_t len)
{
	br_aes_x86ni_ctr_init((br_aes_x86ni_ctr_keys *)(void *)ctx, key, len);
	*ctx = &vaes_vtable;
}

static void
vaes2_init(const br_block_ctr_class **ctx, const void *key, size_t len)
{
	br_aes_x86ni_ctr_init((br_aes_x86ni_ctr_keys *)(void *)ctx, key, len);
	*ctx = &vaes2_vtable;
}

#define VAES __attribute__((target("avx512f,avx512bw,vaes")))
/* -Os would call these rather than inline them, in the innermost loop. */
#define INL VAES __attribute__((always_inline)) static inline
#define ALL4(f, k) (b[0] = f(b[0], k), b[1] = f(b[1], k), b[2] = f(b[2], k), b[3] = f(b[3], k))

/* Round key r in all four lanes. */
INL __m512i
key(const unsigned char *sk, unsigned r)
{
	return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(sk + 16 * r)));
}

/* The next four counter blocks, XORed with the first round key; *ctr moves on by four. */
INL __m512i
next(__m512i *ctr, __m512i k0)
{
	const __m512i be = _mm512_broadcast_i32x4(_mm_set_epi8(12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
	__m512i b = _mm512_xor_si512(_mm512_shuffle_epi8(*ctr, be), k0);

	*ctr = _mm512_add_epi32(*ctr, _mm512_broadcast_i32x4(_mm_set_epi32(4, 0, 0, 0)));
	return b;
}

/* data ^= b over the bytes [off, off + 64) of the n at p (masked: none past n is touched). */
INL void
xor_out(unsigned char *p, size_t n, size_t off, __m512i b)
{
	__mmask64 m = n >= off + 64 ? ~0ull : n > off ? (1ull << (n - off)) - 1 : 0;

	_mm512_mask_storeu_epi8(p + off, m, _mm512_xor_si512(b, _mm512_maskz_loadu_epi8(m, p + off)));
}

VAES static uint32_t
vaes_run(const br_block_ctr_class *const *ctx, const void *iv, uint32_t cc, void *data, size_t len)
{
	const br_aes_x86ni_ctr_keys *k = (const br_aes_x86ni_ctr_keys *)(const void *)ctx;
	const unsigned char *sk = k->skey.skni;
	unsigned char *p = data;
	unsigned nr = k->num_rounds;
	uint32_t w[4], end = cc + (uint32_t)(len / 16);

	/* Lane i holds iv || cc + i, the counter word in the CPU's order (the adds wrap it mod
	 * 2^32 as SP 800-38D's inc32); next() byte-swaps it into a block. */
	memcpy(w, iv, 12);
	w[3] = cc;
	__m512i ctr = _mm512_add_epi32(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)w)),
				       _mm512_set_epi32(3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0));
	while (len) {
		size_t n = len < 256 ? len : 256;
		__m512i kr = key(sk, 0);
		__m512i b[4] = {next(&ctr, kr), next(&ctr, kr), next(&ctr, kr), next(&ctr, kr)};
		for (unsigned r = 1; r < nr; r++) {
			kr = key(sk, r);
			ALL4(_mm512_aesenc_epi128, kr);
		}
		kr = key(sk, nr);
		ALL4(_mm512_aesenclast_epi128, kr);
		xor_out(p, n, 0, b[0]), xor_out(p, n, 64, b[1]), xor_out(p, n, 128, b[2]), xor_out(p, n, 192, b[3]);
		p += n, len -= n;
	}
	_mm256_zeroupper(); /* else BearSSL's and ghash.c's SSE code after this pays for the upper halves */
	return end;
}

/* The same on 256-bit registers, two blocks to an instruction. No byte masks without AVX-512: a
 * last part under 128 bytes goes through t. */
#define VAES2 __attribute__((target("avx2,vaes")))
#define INL2 VAES2 __attribute__((always_inline)) static inline

INL2 __m256i
next2(__m256i *ctr, __m256i k0)
{
	const __m256i be = _mm256_broadcastsi128_si256(_mm_set_epi8(12, 13, 14, 15, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
	__m256i b = _mm256_xor_si256(_mm256_shuffle_epi8(*ctr, be), k0);

	*ctr = _mm256_add_epi32(*ctr, _mm256_broadcastsi128_si256(_mm_set_epi32(2, 0, 0, 0)));
	return b;
}

INL2 void
xor_out2(unsigned char *q, __m256i b)
{
	_mm256_storeu_si256((__m256i *)q, _mm256_xor_si256(b, _mm256_loadu_si256((const __m256i *)q)));
}

VAES2 static uint32_t
vaes2_run(const br_block_ctr_class *const *ctx, const void *iv, uint32_t cc, void *data, size_t len)
{
	const br_aes_x86ni_ctr_keys *k = (const br_aes_x86ni_ctr_keys *)(const void *)ctx;
	const unsigned char *sk = k->skey.skni;
	unsigned char *p = data, t[128];
	unsigned nr = k->num_rounds;
	uint32_t w[4], end = cc + (uint32_t)(len / 16);

	memcpy(w, iv, 12);
	w[3] = cc;
	__m256i ctr = _mm256_add_epi32(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)w)),
				       _mm256_set_epi32(1, 0, 0, 0, 0, 0, 0, 0));
	while (len) {
		size_t n = len < 128 ? len : 128;
		unsigned char *q = n < 128 ? memcpy(t, p, n) : p;
		__m256i kr = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)sk));
		__m256i b[4] = {next2(&ctr, kr), next2(&ctr, kr), next2(&ctr, kr), next2(&ctr, kr)};
		for (unsigned r = 1; r < nr; r++) {
			kr = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(sk + 16 * r)));
			ALL4(_mm256_aesenc_epi128, kr);
		}
		kr = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(sk + 16 * nr)));
		ALL4(_mm256_aesenclast_epi128, kr);
		xor_out2(q, b[0]), xor_out2(q + 32, b[1]), xor_out2(q + 64, b[2]), xor_out2(q + 96, b[3]);
		if (q == t)
			memcpy(p, t, n);
		p += n, len -= n;
	}
	_mm256_zeroupper();
	memzero(t, sizeof t); /* keystream */
	return end;
}

static const br_block_ctr_class vaes_vtable = {
	sizeof(br_aes_x86ni_ctr_keys), 16, 4, vaes_init, vaes_run,
};
static const br_block_ctr_class vaes2_vtable = {
	sizeof(br_aes_x86ni_ctr_keys), 16, 4, vaes2_init, vaes2_run,
};
_Static_assert(sizeof(br_aes_x86ni_ctr_keys) <= sizeof(br_aes_gen_ctr_keys), "AES context too large");

const br_block_ctr_class *
aes_ctr_x86_get(int width)
{
	unsigned f = cpu_x86();

	/* BearSSL's key schedule needs AES-NI; it says whether the CPU has it. */
	if (!br_aes_x86ni_ctr_get_vtable() || !(f & CPU_X86_VAES))
		return NULL;
	if (width != 256 && (f & CPU_X86_AVX512))
		return &vaes_vtable;
	return width != 512 && (f & CPU_X86_AVX2) ? &vaes2_vtable : NULL;
}
#else
const br_block_ctr_class *
aes_ctr_x86_get(int width)
{
	return NULL;
}
#endif
