/* test_ghash.c — ghash.c's GHASH against BearSSL's portable br_ghash_ctmul64 on random inputs, and
 * AES-GCM with it against the GCM specification's test vectors (McGrew and Viega, cases 2-4). */
#include "unit.h"

#include "core.h"
#include "wire/conn.h"

#include <bearssl.h>

static void
unhex(const char *s, unsigned char *out, size_t *n)
{
	*n = 0;
	for (; s[0] && s[1]; s += 2)
		out[(*n)++] = (unsigned char)strtoul((char[3]){s[0], s[1], 0}, NULL, 16);
}

static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
	return *x;
}

#define DMAX 70000

/* How many of g's results differ from br_ghash_ctmul64's: every length from 0 to 600 bytes (the
 * eight- and sixteen-block loops, the blocks after them, a padded last block), then 300 random
 * lengths up to DMAX and whole TLS records; each with a random key and state (and a few chosen
 * keys: 0, 1, all ones, the top bit alone) and data at a random misalignment. */
static int
mismatches(ghash_fn g)
{
	static unsigned char d[DMAX + 64];
	static const unsigned char keys[4][16] = {{0}, {0x80}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
							      0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {[15] = 1}};
	uint64_t x = 0x9E3779B97F4A7C15ull;
	int bad = 0;

	for (size_t i = 0; i < sizeof d; i++)
		d[i] = (unsigned char)rnd(&x);
	for (int t = 0; t < 601 + 300 + 8; t++) {
		size_t len = t <= 600 ? (size_t)t : t < 901 ? rnd(&x) % (DMAX + 1) : 16384, off = rnd(&x) % 64;
		unsigned char y1[16], y2[16], h[16];
		for (int i = 0; i < 16; i++) {
			y1[i] = y2[i] = (unsigned char)rnd(&x);
			h[i] = (unsigned char)rnd(&x);
		}
		if (t % 50 < 4)
			memcpy(h, keys[t % 50], 16);
		br_ghash_ctmul64(y1, h, d + off, len);
		g(y2, h, d + off, len);
		if (memcmp(y1, y2, 16) && bad++ < 5)
			printf("  GHASH differs from br_ghash_ctmul64 at length %zu, offset %zu\n", len, off);
	}
	return bad;
}

/* The eight-block variant, and the 512-bit one where the CPU has AVX-512 and VPCLMULQDQ (which is
 * then what ghash_x86_get, so TLS, uses). */
TEST(ghash_matches_ctmul64)
{
	ghash_fn narrow = ghash_x86_clmul(), best = ghash_x86_get();

	if (!narrow) {
		printf("  (no carry-less multiply on this CPU: nothing to compare)\n");
		return;
	}
	CHECK_INT(mismatches(narrow), 0);
	if (best == narrow) {
		printf("  (no AVX-512 with VPCLMULQDQ on this CPU: the 512-bit variant skipped)\n");
		return;
	}
	CHECK_INT(mismatches(best), 0);
}

/* The comparison can fail: a variant wrong on a few lengths only is caught. */
static ghash_fn g_under_test;

static void
ghash_off_by_one(void *y, const void *h, const void *data, size_t len)
{
	g_under_test(y, h, data, len);
	if (len % 97 == 13)
		((unsigned char *)y)[15] ^= 1;
}

TEST(ghash_mismatches_caught)
{
	g_under_test = br_ghash_ctmul64;
	CHECK(mismatches(ghash_off_by_one) > 0);
}

TEST(ghash_gcm_vectors)
{
	static const struct {
		const char *k, *iv, *a, *p, *c, *t;
	} v[] = {
		{"00000000000000000000000000000000", "000000000000000000000000", "", "00000000000000000000000000000000",
		 "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
		{"feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
		 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525"
		 "b16aedf5aa0de657ba637b391aafd255",
		 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa05"
		 "1ba30b396a0aac973d58e091473f5985",
		 "4d5c2af327cd64a62cf35abd2ba6fab4"},
		{"feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
		 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525"
		 "b16aedf5aa0de657ba637b39",
		 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa05"
		 "1ba30b396a0aac973d58e091",
		 "5bc94fbc3221a5db94fae95ae7121a47"},
	};
	ghash_fn g = ghash_x86_get();

	if (!g) {
		printf("  (no carry-less multiply on this CPU: nothing to check)\n");
		return;
	}
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		unsigned char k[16], iv[12], a[32], p[64], c[64], t[16], tag[16];
		size_t kn, ivn, an, pn, cn, tn;
		br_aes_ct_ctr_keys aes;
		br_gcm_context gc;
		unhex(v[i].k, k, &kn), unhex(v[i].iv, iv, &ivn), unhex(v[i].a, a, &an);
		unhex(v[i].p, p, &pn), unhex(v[i].c, c, &cn), unhex(v[i].t, t, &tn);
		br_aes_ct_ctr_init(&aes, k, kn);
		br_gcm_init(&gc, &aes.vtable, g);
		br_gcm_reset(&gc, iv, ivn);
		br_gcm_aad_inject(&gc, a, an);
		br_gcm_flip(&gc);
		br_gcm_run(&gc, 1, p, pn);
		br_gcm_get_tag(&gc, tag);
		CHECK(!memcmp(p, c, cn));
		CHECK(!memcmp(tag, t, 16));
	}
}
