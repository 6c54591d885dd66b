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

/* Every length from 0 to 600 bytes (the eight-block loop, the single blocks after it, a padded
 * last block), random key, state and data, at odd alignments; then whole TLS records. */
TEST(ghash_matches_ctmul64)
{
	ghash_fn g = ghash_x86_get();
	static unsigned char d[16384 + 3];
	uint64_t x = 0x9E3779B97F4A7C15ull;

	if (!g) {
		printf("  (no carry-less multiply on this CPU: nothing to compare)\n");
		return;
	}
	for (size_t i = 0; i < sizeof d; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		d[i] = (unsigned char)x;
	}
	for (size_t len = 0; len <= 600; len++) {
		unsigned char y1[16], y2[16], h[16];
		for (int i = 0; i < 16; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			y1[i] = y2[i] = (unsigned char)x;
			h[i] = (unsigned char)(x >> 8);
		}
		br_ghash_ctmul64(y1, h, d + len % 3, len);
		g(y2, h, d + len % 3, len);
		if (memcmp(y1, y2, 16))
			utest_fail(__FILE__, __LINE__, "GHASH differs from br_ghash_ctmul64 at length %zu", len);
		CHECK(!memcmp(y1, y2, 16));
	}
	unsigned char y1[16] = {1}, y2[16] = {1}, h[16] = {0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	br_ghash_ctmul64(y1, h, d + 3, 16384);
	g(y2, h, d + 3, 16384);
	CHECK(!memcmp(y1, y2, 16));
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
