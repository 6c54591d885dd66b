/* sum.c — S3's CRC checksums: CRC32C (Castagnoli; the SSE4.2 or ARMv8 CRC32C instruction when
 * present), CRC32 (ISO-HDLC, as zlib) and CRC-64/NVME (carry-less products, PCLMULQDQ or PMULL, when
 * present, else tables; all three with 512-bit VPCLMULQDQ on long runs where AVX-512 has it).
 * SHA-256 is in sha256.c. docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html */
#include "base.h"
#include "cpu.h"

#include <string.h>

/* ---- CRCs ------------------------------------------------------------------------------- */

/* The reflected polynomials (bit 0 is the x^(w-1) coefficient). */
#define POLY_CRC32C 0x82F63B78u
#define POLY_CRC32 0xEDB88320u
#define POLY_CRC64NVME 0x9A6C9329AC4BC9B5ull

static uint32_t crc32c_tab[8][256], crc32_tab[8][256];
static uint64_t crc64_tab[8][256];
static pthread_once_t tab_once = PTHREAD_ONCE_INIT;

/* Slicing-by-8 tables of a reflected CRC, 32 or 64 bits wide (t is [8][256] of that width):
 * t[j][i] is the register after byte i and j zero bytes. */
static void
tab_fill(void *t, int wide, uint64_t poly)
{
	uint32_t *t32 = t;
	uint64_t *t64 = t;

	for (int n = 0; n < 8 * 256; n++) {
		uint64_t c = (uint64_t)n;
		if (n < 256) {
			for (int k = 0; k < 8; k++)
				c = c & 1 ? c >> 1 ^ poly : c >> 1;
		} else {
			c = wide ? t64[n - 256] : t32[n - 256]; /* t[j - 1][i] */
			c = c >> 8 ^ (wide ? t64[c & 255] : t32[c & 255]);
		}
		if (wide)
			t64[n] = c;
		else
			t32[n] = (uint32_t)c;
	}
}

/* Constants for folding with carry-less products (below), per CRC. */
struct fold {
	uint64_t k2048[2], k512[2], k128[2];
};
static struct fold fold32, fold64, fold32c;

static uint64_t
bitrev64(uint64_t v)
{
	uint64_t r = 0;

	for (int i = 0; i < 64; i++, v >>= 1)
		r = r << 1 | (v & 1);
	return r;
}

/* x^e mod P, P of degree w given in the normal order without its x^w term; returned bit-reversed
 * into 64 bits (x^63 in bit 0), the order the data is in. */
static uint64_t
xpow_mod(uint64_t poly, int w, int e)
{
	uint64_t r = 1, top = (uint64_t)1 << (w - 1), mask = w == 64 ? ~(uint64_t)0 : ((uint64_t)1 << w) - 1;

	while (e--) {
		int carry = (r & top) != 0;
		r = (r << 1 & mask) ^ (carry ? poly : 0);
	}
	return bitrev64(r);
}

static void
fold_init(struct fold *f, uint64_t reflected, int w)
{
	uint64_t poly = bitrev64(reflected) >> (64 - w);

	/* Carrying a 16-byte lane d bits on (see crc_fold): its first half times x^(d+63), its second
	 * times x^(d-1), modulo P. */
	f->k2048[0] = xpow_mod(poly, w, 2048 + 64 - 1);
	f->k2048[1] = xpow_mod(poly, w, 2048 - 1);
	f->k512[0] = xpow_mod(poly, w, 512 + 64 - 1);
	f->k512[1] = xpow_mod(poly, w, 512 - 1);
	f->k128[0] = xpow_mod(poly, w, 128 + 64 - 1);
	f->k128[1] = xpow_mod(poly, w, 128 - 1);
}

static void
tabs_init(void)
{
	tab_fill(crc32c_tab, 0, POLY_CRC32C);
	tab_fill(crc32_tab, 0, POLY_CRC32);
	tab_fill(crc64_tab, 1, POLY_CRC64NVME);
	fold_init(&fold32, POLY_CRC32, 32);
	fold_init(&fold64, POLY_CRC64NVME, 64);
	fold_init(&fold32c, POLY_CRC32C, 32);
}

/* Slicing-by-8 over a reflected table; crc is the register (before the final inversion). */
static uint32_t
reg32_soft(uint32_t t[8][256], uint32_t crc, const unsigned char *p, size_t n)
{
	while (n && ((uintptr_t)p & 7)) {
		crc = crc >> 8 ^ t[0][(crc ^ *p++) & 255];
		n--;
	}
	while (n >= 8) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		a ^= crc;
		crc = t[7][a & 255] ^ t[6][a >> 8 & 255] ^ t[5][a >> 16 & 255] ^ t[4][a >> 24] ^ t[3][b & 255] ^
		      t[2][b >> 8 & 255] ^ t[1][b >> 16 & 255] ^ t[0][b >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = crc >> 8 ^ t[0][(crc ^ *p++) & 255];
	return crc;
}

static uint64_t
reg64_soft(uint64_t crc, const unsigned char *p, size_t n)
{
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		v ^= crc; /* little-endian hosts only; x86_64 and aarch64 are */
		crc = crc64_tab[7][v & 255] ^ crc64_tab[6][v >> 8 & 255] ^ crc64_tab[5][v >> 16 & 255] ^
		      crc64_tab[4][v >> 24 & 255] ^ crc64_tab[3][v >> 32 & 255] ^ crc64_tab[2][v >> 40 & 255] ^
		      crc64_tab[1][v >> 48 & 255] ^ crc64_tab[0][v >> 56];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = crc >> 8 ^ crc64_tab[0][(crc ^ *p++) & 255];
	return crc;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* A CPUID feature bit, probed once into *v (-1 until then). Atomic: parallel transfers' threads
 * may probe at the same time (the answer is the same; the accesses must not race). */
static int
have_ecx(int *v, unsigned bit)
{
	unsigned a, b, c, d;
	int r = __atomic_load_n(v, __ATOMIC_RELAXED);

	if (r < 0) {
		r = __get_cpuid(1, &a, &b, &c, &d) && (c & bit);
		__atomic_store_n(v, r, __ATOMIC_RELAXED);
	}
	return r;
}

static int
have_sse42(void)
{
	static int v = -1;

	return have_ecx(&v, bit_SSE4_2);
}

static int
have_pclmul(void)
{
	static int v = -1;

	return have_ecx(&v, bit_PCLMUL);
}

__attribute__((target("pclmul"))) static __m128i
fold16(__m128i v, __m128i k, __m128i next)
{
	return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(v, k, 0x00), _mm_clmulepi64_si128(v, k, 0x11)), next);
}

/* Any reflected CRC of up to 64 bits, at memory speed (Intel's "Fast CRC Computation for Generic
 * Polynomials Using PCLMULQDQ", derived afresh here). Read as a polynomial, 16 bytes of data are
 * x^64 L + H, L their first 8 bytes (x^127 down to x^64: the data's bit order) and H the next 8.
 * Carrying them d bits further (x^d) mod P is L (x^(d+64) mod P) + H (x^d mod P); each product of
 * a 64-bit half and a constant below x^64 fits in 128 bits, and the carry-less product of two
 * bit-reversed operands comes out multiplied by x, so the constants are x^(d+63) and x^(d-1) mod P.
 * Four 16-byte lanes advance 512 bits at a time, then merge into one. The register r goes into
 * the first bytes (as a table CRC XORs it into the data). n: a multiple of 16, at least 64. out:
 * 16 bytes whose CRC from a zero register is the register after p. */
__attribute__((target("pclmul"))) static void
crc_fold(const struct fold *f, uint64_t r, const unsigned char *p, size_t n, unsigned char out[16])
{
	__m128i k = _mm_loadu_si128((const __m128i *)f->k512);
	__m128i x0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_cvtsi64_si128((long long)r));
	__m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16)), x2 = _mm_loadu_si128((const __m128i *)(p + 32));
	__m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));

	for (p += 64, n -= 64; n >= 64; p += 64, n -= 64) {
		x0 = fold16(x0, k, _mm_loadu_si128((const __m128i *)p));
		x1 = fold16(x1, k, _mm_loadu_si128((const __m128i *)(p + 16)));
		x2 = fold16(x2, k, _mm_loadu_si128((const __m128i *)(p + 32)));
		x3 = fold16(x3, k, _mm_loadu_si128((const __m128i *)(p + 48)));
	}
	k = _mm_loadu_si128((const __m128i *)f->k128);
	x0 = fold16(fold16(fold16(x0, k, x1), k, x2), k, x3);
	for (; n >= 16; p += 16, n -= 16)
		x0 = fold16(x0, k, _mm_loadu_si128((const __m128i *)p));
	_mm_storeu_si128((__m128i *)out, x0);
}

/* AVX-512 with VPCLMULQDQ, the OS saving the zmm state (cpu.c). */
static int
have_vpclmul512(void)
{
	unsigned want = CPU_X86_AVX512 | CPU_X86_VPCLMUL;

	return have_pclmul() && (cpu_x86() & want) == want;
}

#define WIDE_TARGET __attribute__((target("pclmul,avx512f,vpclmulqdq")))

WIDE_TARGET static __m512i
fold4x16(__m512i v, __m512i k, __m512i next)
{
	return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(v, k, 0x00), _mm512_clmulepi64_epi128(v, k, 0x11), next,
					 0x96); /* a ^ b ^ c */
}

/* crc_fold four lanes to an instruction: 64-byte registers, four of them advancing 2048 bits at
 * a time, merged into one, whose four lanes merge as crc_fold's do. n: a multiple of 16, at
 * least 256. */
WIDE_TARGET static void
crc_fold_wide(const struct fold *f, uint64_t r, const unsigned char *p, size_t n, unsigned char out[16])
{
	__m512i k = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)f->k2048));
	__m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(p),
				      _mm512_inserti32x4(_mm512_setzero_si512(), _mm_cvtsi64_si128((long long)r), 0));
	__m512i x1 = _mm512_loadu_si512(p + 64), x2 = _mm512_loadu_si512(p + 128), x3 = _mm512_loadu_si512(p + 192);

	for (p += 256, n -= 256; n >= 256; p += 256, n -= 256) {
		x0 = fold4x16(x0, k, _mm512_loadu_si512(p));
		x1 = fold4x16(x1, k, _mm512_loadu_si512(p + 64));
		x2 = fold4x16(x2, k, _mm512_loadu_si512(p + 128));
		x3 = fold4x16(x3, k, _mm512_loadu_si512(p + 192));
	}
	k = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)f->k512));
	x0 = fold4x16(fold4x16(fold4x16(x0, k, x1), k, x2), k, x3);
	for (; n >= 64; p += 64, n -= 64)
		x0 = fold4x16(x0, k, _mm512_loadu_si512(p));
	__m128i k1 = _mm_loadu_si128((const __m128i *)f->k128), v = _mm512_extracti32x4_epi32(x0, 0);
	v = fold16(v, k1, _mm512_extracti32x4_epi32(x0, 1));
	v = fold16(v, k1, _mm512_extracti32x4_epi32(x0, 2));
	v = fold16(v, k1, _mm512_extracti32x4_epi32(x0, 3));
	for (; n >= 16; p += 16, n -= 16)
		v = fold16(v, k1, _mm_loadu_si128((const __m128i *)p));
	_mm_storeu_si128((__m128i *)out, v);
	/* Clean upper register halves: BearSSL's AES-NI code is legacy SSE, which would otherwise
	 * pay for merging them on every instruction (gcc -Os leaves the VZEROUPPER out). */
	_mm256_zeroupper();
}

/* SSE4.2's CRC32 instruction computes CRC32C. */
#define CRC32C_TARGET __attribute__((target("sse4.2")))
#define CRC32C_U64(c, v) _mm_crc32_u64(c, v)
#define CRC32C_U8(c, v) _mm_crc32_u8(c, v)
#define have_crc32c have_sse42

#elif defined(__aarch64__)
#include <arm_acle.h>
#include <arm_neon.h>

/* ARMv8's CRC32C* instructions (the CRC extension: HWCAP_CRC32, which every ARMv8.1 CPU has). */
#define CRC32C_TARGET __attribute__((target("+crc")))
#define CRC32C_U64(c, v) __crc32cd((uint32_t)(c), v)
#define CRC32C_U8(c, v) __crc32cb(c, v)

static int
have_crc32c(void)
{
	return (cpu_hwcap() & HWCAP_CRC32) != 0;
}

/* PMULL is arm64's carry-less product (x86's PCLMULQDQ): the same folding as above. */
static int
have_pclmul(void)
{
	return (cpu_hwcap() & HWCAP_PMULL) != 0;
}

static uint64x2_t
ld16(const unsigned char *p)
{
	return vreinterpretq_u64_u8(vld1q_u8(p));
}

__attribute__((target("+crypto"))) static uint64x2_t
fold16(uint64x2_t v, uint64x2_t k, uint64x2_t next)
{
	poly128_t lo = vmull_p64(vgetq_lane_u64(v, 0), vgetq_lane_u64(k, 0));
	poly128_t hi = vmull_p64(vgetq_lane_u64(v, 1), vgetq_lane_u64(k, 1));

	return veorq_u64(veorq_u64(vreinterpretq_u64_p128(lo), vreinterpretq_u64_p128(hi)), next);
}

/* As the x86 crc_fold above; lane 0 is the first 8 bytes (little-endian). */
__attribute__((target("+crypto"))) static void
crc_fold(const struct fold *f, uint64_t r, const unsigned char *p, size_t n, unsigned char out[16])
{
	uint64x2_t k = vld1q_u64(f->k512);
	uint64x2_t x0 = veorq_u64(ld16(p), vcombine_u64(vcreate_u64(r), vcreate_u64(0)));
	uint64x2_t x1 = ld16(p + 16), x2 = ld16(p + 32), x3 = ld16(p + 48);

	for (p += 64, n -= 64; n >= 64; p += 64, n -= 64) {
		x0 = fold16(x0, k, ld16(p));
		x1 = fold16(x1, k, ld16(p + 16));
		x2 = fold16(x2, k, ld16(p + 32));
		x3 = fold16(x3, k, ld16(p + 48));
	}
	k = vld1q_u64(f->k128);
	x0 = fold16(fold16(fold16(x0, k, x1), k, x2), k, x3);
	for (; n >= 16; p += 16, n -= 16)
		x0 = fold16(x0, k, ld16(p));
	vst1q_u8(out, vreinterpretq_u8_u64(x0));
}
#endif

#if defined(__x86_64__) || defined(__aarch64__)
/* The CRC32C instruction takes 3 cycles but can start every cycle: three streams over three
 * neighbouring stretches of STRETCH bytes run about three times as fast as one. The register is
 * linear in its start value and the data, so crc(A B C) = shift(crc(A), 2 STRETCH) ^
 * shift(crc_0(B), STRETCH) ^ crc_0(C), where crc_0 starts from 0 and shift(r, n) is r run over n
 * zero bytes: a linear map of r's bits, looked up a byte at a time in tables made once. */
#define STRETCH 1024
static uint32_t crc32c_shift[2][4][256]; /* by STRETCH and by 2 STRETCH bytes */
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

CRC32C_TARGET static void
shift_init(void)
{
	for (int s = 0; s < 2; s++) {
		uint32_t bit[32];
		for (int i = 0; i < 32; i++) {
			uint64_t c = 1u << i;
			for (int k = 0; k < (s + 1) * STRETCH / 8; k++)
				c = CRC32C_U64(c, 0);
			bit[i] = (uint32_t)c;
		}
		for (int k = 0; k < 4; k++)
			for (int v = 0; v < 256; v++) {
				uint32_t r = 0;
				for (int i = 0; i < 8; i++)
					if (v >> i & 1)
						r ^= bit[8 * k + i];
				crc32c_shift[s][k][v] = r;
			}
	}
}

static uint32_t
shift(const uint32_t t[4][256], uint64_t c)
{
	return t[0][c & 255] ^ t[1][c >> 8 & 255] ^ t[2][c >> 16 & 255] ^ t[3][c >> 24 & 255];
}

CRC32C_TARGET static uint32_t
crc32c_hw(uint32_t crc, const unsigned char *p, size_t n)
{
	uint64_t c = ~crc;

	while (n && ((uintptr_t)p & 7)) {
		c = CRC32C_U8((uint32_t)c, *p++);
		n--;
	}
	if (n >= 3 * STRETCH)
		pthread_once(&shift_once, shift_init);
	for (; n >= 3 * STRETCH; p += 3 * STRETCH, n -= 3 * STRETCH) {
		uint64_t b = 0, d = 0;
		for (size_t i = 0; i < STRETCH; i += 8) {
			uint64_t x, y, z;
			memcpy(&x, p + i, 8);
			memcpy(&y, p + STRETCH + i, 8);
			memcpy(&z, p + 2 * STRETCH + i, 8);
			c = CRC32C_U64(c, x);
			b = CRC32C_U64(b, y);
			d = CRC32C_U64(d, z);
		}
		c = shift(crc32c_shift[1], c) ^ shift(crc32c_shift[0], b) ^ d;
	}
	/* The rest: one stream, unrolled. */
	while (n >= 32) {
		uint64_t a, b, d, e;
		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		memcpy(&d, p + 16, 8);
		memcpy(&e, p + 24, 8);
		c = CRC32C_U64(c, a);
		c = CRC32C_U64(c, b);
		c = CRC32C_U64(c, d);
		c = CRC32C_U64(c, e);
		p += 32;
		n -= 32;
	}
	while (n >= 8) {
		uint64_t a;
		memcpy(&a, p, 8);
		c = CRC32C_U64(c, a);
		p += 8;
		n -= 8;
	}
	while (n--)
		c = CRC32C_U8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

#endif

#if !defined(__x86_64__) && !defined(__aarch64__)
static int
have_pclmul(void)
{
	return 0;
}

static void
crc_fold(const struct fold *f, uint64_t r, const unsigned char *p, size_t n, unsigned char out[16])
{
	(void)f, (void)r, (void)p, (void)n, (void)out;
}
#endif

#if !defined(__x86_64__)
static int
have_vpclmul512(void)
{
	return 0;
}

static void
crc_fold_wide(const struct fold *f, uint64_t r, const unsigned char *p, size_t n, unsigned char out[16])
{
	(void)f, (void)r, (void)p, (void)n;
	memset(out, 0, 16); /* never called: crc_use_wide is 0 */
}
#endif

/* Below this, the tables are as fast as setting up a fold; from WIDE_MIN on the 512-bit fold
 * is worth its set-up. */
#define FOLD_MIN 256
#define WIDE_MIN 1024

static int crc_wide = -1; /* -1 not yet probed, 0 off, 1 crc_fold_wide */

int
crc_use_wide(int want)
{
	return cpu_choice(&crc_wide, want, have_vpclmul512);
}

/* The first m bytes of p (a multiple of 16, at least FOLD_MIN) folded into 16 bytes whose CRC
 * from a zero register is the register r after them. */
static void
fold(const struct fold *f, uint64_t r, const unsigned char *p, size_t m, unsigned char out[16])
{
	if (m >= WIDE_MIN && crc_use_wide(-1))
		crc_fold_wide(f, r, p, m, out);
	else
		crc_fold(f, r, p, m, out);
}

uint32_t
crc32c_update(uint32_t crc, const void *p, size_t n)
{
#if defined(__x86_64__) || defined(__aarch64__)
	/* The CRC32C instruction does 8 bytes a cycle at best; a 512-bit fold, 4 times that. */
	if (n >= WIDE_MIN && crc_use_wide(-1)) {
		unsigned char v[16];
		size_t m = n & ~(size_t)15;
		pthread_once(&tab_once, tabs_init);
		crc_fold_wide(&fold32c, ~crc, p, m, v);
		crc = have_crc32c() ? crc32c_hw(~0u, v, 16) : ~reg32_soft(crc32c_tab, 0, v, 16); /* from register 0 */
		return crc32c_update(crc, (const unsigned char *)p + m, n - m);
	}
	if (have_crc32c())
		return crc32c_hw(crc, p, n);
#endif
	pthread_once(&tab_once, tabs_init);
	return ~reg32_soft(crc32c_tab, ~crc, p, n);
}

uint32_t
crc32_update(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t r = ~crc;

	pthread_once(&tab_once, tabs_init);
	if (n >= FOLD_MIN && have_pclmul()) {
		unsigned char v[16];
		size_t m = n & ~(size_t)15;
		fold(&fold32, r, s, m, v);
		r = reg32_soft(crc32_tab, 0, v, 16);
		s += m, n -= m;
	}
	return ~reg32_soft(crc32_tab, r, s, n);
}

uint64_t
crc64nvme_update(uint64_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t r = ~crc;

	pthread_once(&tab_once, tabs_init);
	if (n >= FOLD_MIN && have_pclmul()) {
		unsigned char v[16];
		size_t m = n & ~(size_t)15;
		fold(&fold64, r, s, m, v);
		r = reg64_soft(0, v, 16);
		s += m, n -= m;
	}
	return ~reg64_soft(r, s, n);
}
