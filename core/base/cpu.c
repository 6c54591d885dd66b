/* cpu.c — the CPU's optional instructions (Linux's AT_HWCAP), and AES-CTR and GHASH with the
 * ARMv8 Crypto Extensions (AESE/AESMC, PMULL; Arm ARM A64 "Cryptographic Extension"), which
 * BearSSL 0.6 lacks. AES: FIPS 197; GHASH and GCM: NIST SP 800-38D. */
#include "cpu.h"

#include <stdlib.h>
#include <string.h>

int
cpu_choice(int *slot, int want, int (*have)(void))
{
	int v = __atomic_load_n(slot, __ATOMIC_RELAXED);

	if (want >= 0 || v < 0) {
		v = want != 0 && have();
		__atomic_store_n(slot, v, __ATOMIC_RELAXED);
	}
	return v;
}

#if defined(__x86_64__)
#include <cpuid.h>

unsigned
cpu_x86(void)
{
	static unsigned v;
	static int done;
	unsigned a, b, c, d, r = 0;

	if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&v, __ATOMIC_RELAXED);
	if (__get_cpuid_max(0, NULL) >= 7 && __get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE)) {
		unsigned xcr0, hi;
		__asm__("xgetbv" : "=a"(xcr0), "=d"(hi) : "c"(0));
		__cpuid_count(7, 0, a, b, c, d);
		unsigned f512 = bit_AVX512F | bit_AVX512BW | bit_AVX512VL | bit_AVX512DQ;
		if ((xcr0 & 0x06) == 0x06) { /* SSE and AVX (ymm) state */
			r |= (b & bit_AVX2) ? CPU_X86_AVX2 : 0;
			r |= (c & bit_VAES) ? CPU_X86_VAES : 0;
			r |= (c & bit_VPCLMULQDQ) ? CPU_X86_VPCLMUL : 0;
		}
		if ((xcr0 & 0xE6) == 0xE6 && (b & f512) == f512) /* and opmask, zmm0-15 upper, zmm16-31 */
			r |= CPU_X86_AVX512;
	}
	__atomic_store_n(&v, r, __ATOMIC_RELAXED);
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	return r;
}
#else
unsigned
cpu_x86(void)
{
	return 0;
}
#endif

#if defined(__aarch64__)
#include <arm_neon.h>

unsigned long
cpu_hwcap(void)
{
	static unsigned long v;
	static int done;

	/* Threads racing here compute the same value; the flag is released after it. */
	if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
		const char *m = getenv("AWSBOX_HWCAP");
		unsigned long h = getauxval(AT_HWCAP);
		if (m && *m)
			h &= strtoul(m, NULL, 0);
		__atomic_store_n(&v, h, __ATOMIC_RELAXED);
		__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	}
	return __atomic_load_n(&v, __ATOMIC_RELAXED);
}

/* ---- AES-CTR ---- */

/* Our context, in the engine's room for any AES-CTR implementation's. */
struct aes_ce {
	const br_block_ctr_class *vtable;
	unsigned char rk[15][16]; /* round keys, FIPS 197 5.2, in byte order */
	unsigned nr;              /* rounds: 10, 12 or 14 */
};
_Static_assert(sizeof(struct aes_ce) <= sizeof(br_aes_gen_ctr_keys), "AES context too large");

/* SubWord (FIPS 197 5.2) with AESE: with a zero round key it is ShiftRows and SubBytes of the
 * state, and a state of four equal columns is unchanged by ShiftRows. Constant time, no table. */
__attribute__((target("+crypto"))) static uint32_t
sub_word(uint32_t w)
{
	uint8x16_t s = vaeseq_u8(vreinterpretq_u8_u32(vdupq_n_u32(w)), vdupq_n_u8(0));

	return vgetq_lane_u32(vreinterpretq_u32_u8(s), 0);
}

static const br_block_ctr_class aes_ce_vtable;

/* Words are read little-endian: key byte 4i is the low byte of w[i], so RotWord is a rotation
 * right by 8 and Rcon goes into the low byte. */
static void
aes_ce_init(const br_block_ctr_class **ctx, const void *key, size_t len)
{
	struct aes_ce *c = (struct aes_ce *)(void *)ctx;
	uint32_t w[60];
	unsigned nk = (unsigned)(len / 4), rcon = 1;

	c->vtable = &aes_ce_vtable;
	c->nr = nk + 6;
	memcpy(w, key, len);
	for (unsigned i = nk; i < 4 * (c->nr + 1); i++) {
		uint32_t t = w[i - 1];
		if (i % nk == 0) {
			t = sub_word(t >> 8 | t << 24) ^ rcon;
			rcon = rcon << 1 ^ (rcon >> 7) * 0x11B;
		} else if (nk > 6 && i % nk == 4) {
			t = sub_word(t);
		}
		w[i] = w[i - nk] ^ t;
	}
	memcpy(c->rk, w, 16 * (c->nr + 1));
	memzero(w, sizeof w);
}

/* Every round on four blocks at once: an AESE/AESMC pair waits on the one before it in its own
 * block, so four interleaved blocks keep the pipeline full. The round keys stay in registers. */
#define ROUND(k) (b0 = vaesmcq_u8(vaeseq_u8(b0, k)), b1 = vaesmcq_u8(vaeseq_u8(b1, k)), \
		  b2 = vaesmcq_u8(vaeseq_u8(b2, k)), b3 = vaesmcq_u8(vaeseq_u8(b3, k)))
#define LAST(k, l) (b0 = veorq_u8(vaeseq_u8(b0, k), l), b1 = veorq_u8(vaeseq_u8(b1, k), l), \
		    b2 = veorq_u8(vaeseq_u8(b2, k), l), b3 = veorq_u8(vaeseq_u8(b3, k), l))

__attribute__((target("+crypto"))) static uint32_t
aes_ce_run(const br_block_ctr_class *const *ctx, const void *iv, uint32_t cc, void *data, size_t len)
{
	const struct aes_ce *c = (const struct aes_ce *)(const void *)ctx;
	unsigned char *p = data, ctr[16];
	uint8x16_t rk[15], b0, b1, b2, b3;
	uint32x4_t base;
	unsigned nr = c->nr;

	for (unsigned r = 0; r < 15; r++)
		rk[r] = r <= nr ? vld1q_u8(c->rk[r]) : vdupq_n_u8(0);
	/* The counter block: the IV, then the counter big-endian (SP 800-38D 6.5, inc32). */
	memcpy(ctr, iv, 12);
	memset(ctr + 12, 0, 4);
	base = vreinterpretq_u32_u8(vld1q_u8(ctr));
	while (len) {
		b0 = vreinterpretq_u8_u32(vsetq_lane_u32(__builtin_bswap32(cc), base, 3));
		b1 = vreinterpretq_u8_u32(vsetq_lane_u32(__builtin_bswap32(cc + 1), base, 3));
		b2 = vreinterpretq_u8_u32(vsetq_lane_u32(__builtin_bswap32(cc + 2), base, 3));
		b3 = vreinterpretq_u8_u32(vsetq_lane_u32(__builtin_bswap32(cc + 3), base, 3));
		ROUND(rk[0]), ROUND(rk[1]), ROUND(rk[2]), ROUND(rk[3]), ROUND(rk[4]);
		ROUND(rk[5]), ROUND(rk[6]), ROUND(rk[7]), ROUND(rk[8]);
		if (nr == 10) {
			LAST(rk[9], rk[10]);
		} else if (nr == 12) {
			ROUND(rk[9]), ROUND(rk[10]);
			LAST(rk[11], rk[12]);
		} else {
			ROUND(rk[9]), ROUND(rk[10]), ROUND(rk[11]), ROUND(rk[12]);
			LAST(rk[13], rk[14]);
		}
		if (len >= 64) {
			vst1q_u8(p, veorq_u8(vld1q_u8(p), b0));
			vst1q_u8(p + 16, veorq_u8(vld1q_u8(p + 16), b1));
			vst1q_u8(p + 32, veorq_u8(vld1q_u8(p + 32), b2));
			vst1q_u8(p + 48, veorq_u8(vld1q_u8(p + 48), b3));
			p += 64, len -= 64, cc += 4;
			continue;
		}
		/* The last one to four blocks. As BearSSL's, a partial last block does not count in
		 * the counter returned (only a run's last block may be partial). */
		unsigned char ks[64];
		vst1q_u8(ks, b0), vst1q_u8(ks + 16, b1), vst1q_u8(ks + 32, b2), vst1q_u8(ks + 48, b3);
		for (size_t i = 0; i < len; i++)
			p[i] ^= ks[i];
		cc += (uint32_t)(len / 16);
		memzero(ks, sizeof ks);
		len = 0;
	}
	memzero(ctr, sizeof ctr);
	return cc;
}

static const br_block_ctr_class aes_ce_vtable = {
	sizeof(struct aes_ce), 16, 4, aes_ce_init, aes_ce_run,
};

const br_block_ctr_class *
aes_ctr_arm_get(void)
{
	return cpu_hwcap() & HWCAP_AES ? &aes_ce_vtable : NULL;
}

/* ---- GHASH ---- */

/* GCM's bit order is reflected: bit 7 of byte 0 is the x^0 coefficient. Byte-reversed, a block
 * is a 128-bit number whose bit i is the x^(127-i) coefficient; the carry-less product of two
 * such numbers is then the 255-bit product reflected, one place short: shifted left by one it is
 * P = A.B read from x^255 at bit 0. Its low half L holds the x^255..x^128 terms, which fold back
 * since x^128 = x^7 + x^2 + x + 1 mod the field polynomial: a term x^(128+d) becomes
 * x^(7+d) + x^(2+d) + x^(1+d) + x^d, i.e. L shifted right by 7, 2, 1 and 0 into the high half.
 * The bits that L's shifts push below bit 128 are terms x^128..x^134 again; they are folded into
 * L's top first (the words D below), where their own shifts stay above bit 128. */
struct acc {
	uint64x2_t lo, mid, hi; /* the 256-bit product: lo + mid x^64 + hi x^128 */
};

/* acc += a.b; bs is b with its halves swapped. */
__attribute__((target("+crypto"))) static inline void
clmul_add(struct acc *z, uint64x2_t a, uint64x2_t b, uint64x2_t bs)
{
	poly64x2_t pa = vreinterpretq_p64_u64(a);

	z->lo = veorq_u64(z->lo, vreinterpretq_u64_p128(vmull_p64(vgetq_lane_p64(pa, 0), vgetq_lane_u64(b, 0))));
	z->hi = veorq_u64(z->hi, vreinterpretq_u64_p128(vmull_high_p64(pa, vreinterpretq_p64_u64(b))));
	z->mid = veorq_u64(z->mid, vreinterpretq_u64_p128(vmull_p64(vgetq_lane_p64(pa, 0), vgetq_lane_u64(bs, 0))));
	z->mid = veorq_u64(z->mid, vreinterpretq_u64_p128(vmull_high_p64(pa, vreinterpretq_p64_u64(bs))));
}

static inline uint64x2_t
gf_reduce(const struct acc *z)
{
	uint64_t w0 = vgetq_lane_u64(z->lo, 0), w1 = vgetq_lane_u64(z->lo, 1) ^ vgetq_lane_u64(z->mid, 0);
	uint64_t w2 = vgetq_lane_u64(z->hi, 0) ^ vgetq_lane_u64(z->mid, 1), w3 = vgetq_lane_u64(z->hi, 1);
	uint64_t x0 = w0 << 1, x1 = w1 << 1 | w0 >> 63, x2 = w2 << 1 | w1 >> 63, x3 = w3 << 1 | w2 >> 63;
	uint64_t d = x1 ^ x0 << 63 ^ x0 << 62 ^ x0 << 57;
	uint64_t h1 = d ^ d >> 1 ^ d >> 2 ^ d >> 7;
	uint64_t h0 = x0 ^ (x0 >> 1 | d << 63) ^ (x0 >> 2 | d << 62) ^ (x0 >> 7 | d << 57);

	return vcombine_u64(vcreate_u64(x2 ^ h0), vcreate_u64(x3 ^ h1));
}

/* Bytes 15..0: the 128-bit number of a block. */
static inline uint64x2_t
load_rev(const unsigned char *p)
{
	uint8x16_t v = vrev64q_u8(vld1q_u8(p));

	return vreinterpretq_u64_u8(vextq_u8(v, v, 8));
}

static inline void
store_rev(unsigned char *p, uint64x2_t x)
{
	uint8x16_t v = vrev64q_u8(vreinterpretq_u8_u64(x));

	vst1q_u8(p, vextq_u8(v, v, 8));
}

static inline uint64x2_t
swap(uint64x2_t x)
{
	return vextq_u64(x, x, 1);
}

__attribute__((target("+crypto"))) static uint64x2_t
gf_mul(uint64x2_t a, uint64x2_t b)
{
	struct acc z = {vdupq_n_u64(0), vdupq_n_u64(0), vdupq_n_u64(0)};

	clmul_add(&z, a, b, swap(b));
	return gf_reduce(&z);
}

/* Four blocks at a time cost one reduction: (((y+b0)H + b1)H + b2)H + b3)H is
 * (y+b0)H^4 + b1 H^3 + b2 H^2 + b3 H. */
__attribute__((target("+crypto"))) static void
ghash_ce(void *y, const void *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	unsigned char last[16];
	uint64x2_t hk[4], hs[4], x = load_rev(y);

	hk[0] = load_rev(h);
	if (len >= 64) {
		hk[1] = gf_mul(hk[0], hk[0]);
		hk[2] = gf_mul(hk[1], hk[0]);
		hk[3] = gf_mul(hk[2], hk[0]);
		for (int i = 0; i < 4; i++)
			hs[i] = swap(hk[i]);
		for (; len >= 64; p += 64, len -= 64) {
			struct acc z = {vdupq_n_u64(0), vdupq_n_u64(0), vdupq_n_u64(0)};
			clmul_add(&z, veorq_u64(x, load_rev(p)), hk[3], hs[3]);
			clmul_add(&z, load_rev(p + 16), hk[2], hs[2]);
			clmul_add(&z, load_rev(p + 32), hk[1], hs[1]);
			clmul_add(&z, load_rev(p + 48), hk[0], hs[0]);
			x = gf_reduce(&z);
		}
	}
	for (; len; p += 16) {
		size_t n = len < 16 ? len : 16;
		/* A partial last block is padded with zeros (SP 800-38D 6.4). */
		memset(last, 0, sizeof last);
		memcpy(last, p, n);
		x = gf_mul(veorq_u64(x, load_rev(last)), hk[0]);
		len -= n;
	}
	store_rev(y, x);
}

br_ghash
ghash_arm_get(void)
{
	return cpu_hwcap() & HWCAP_PMULL ? ghash_ce : NULL;
}

#else

unsigned long
cpu_hwcap(void)
{
	return 0;
}

const br_block_ctr_class *
aes_ctr_arm_get(void)
{
	return NULL;
}

br_ghash
ghash_arm_get(void)
{
	return NULL;
}
#endif
