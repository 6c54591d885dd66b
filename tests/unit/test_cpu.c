/* test_cpu.c — cpu.c's AES-CTR and GHASH with the ARMv8 AES and PMULL instructions (arm64 only)
 * and aesctr.c's with VAES (x86-64 with AVX-512; under ghash.c's GHASH) against the NIST GCM and
 * RFC 3686 vectors and against BearSSL's constant-time portable code on
 * random inputs (the vectors also check the portable code, on every machine). make check-arm64 runs these under qemu-user on a
 * CPU with the instructions and with them taken away (AWSBOX_HWCAP=0); AWSBOX_TEST_HW=1 or 0
 * there says which the run must have found. */
#include "unit.h"

#include "core.h"
#include "base/cpu.h"
#include "wire/conn.h"

static size_t
unhex(unsigned char *out, const char *s)
{
	size_t n = 0;

	for (; s[0] && s[1]; s += 2) {
		unsigned v;
		sscanf(s, "%2x", &v);
		out[n++] = (unsigned char)v;
	}
	return n;
}

/* Random bytes that repeat from run to run (xorshift64). */
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static void
fill(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		p[i] = (unsigned char)(rng >> 32);
	}
}

static uint32_t
rnd(uint32_t below)
{
	unsigned char b[4];

	fill(b, 4);
	return (uint32_t)(b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24) % below;
}

TEST(cpu_fast_crypto_as_expected)
{
	const char *want = getenv("AWSBOX_TEST_HW");

	/* Both or neither: tls.c offers AES-GCM first only with both. */
	CHECK_INT(aes_ctr_arm_get() != NULL, ghash_arm_get() != NULL);
	if (want)
		CHECK_INT(aes_ctr_arm_get() != NULL, atoi(want));
#if defined(__aarch64__)
	if (want)
		CHECK_INT(cpu_hwcap() & (HWCAP_AES | HWCAP_PMULL | HWCAP_CRC32) ? 1 : 0, atoi(want));
#endif
}

/* NIST GCM test cases (the revised GCM specification, appendix B): key, plaintext, AAD, IV,
 * ciphertext, tag. 1-6 AES-128, 7, 8, 10 AES-192, 13, 14, 16, 18 AES-256. */
static const char *const gcm_kat[][6] = {
	{"00000000000000000000000000000000", "", "", "000000000000000000000000", "", "58e2fccefa7e3061367f1d57a4e7455a"},
	{"00000000000000000000000000000000", "00000000000000000000000000000000", "", "000000000000000000000000",
	 "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
	{"feffe9928665731c6d6a8f9467308308",
	 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
	 "", "cafebabefacedbaddecaf888",
	 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
	 "4d5c2af327cd64a62cf35abd2ba6fab4"},
	{"feffe9928665731c6d6a8f9467308308",
	 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	 "feedfacedeadbeeffeedfacedeadbeefabaddad2", "cafebabefacedbaddecaf888",
	 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
	 "5bc94fbc3221a5db94fae95ae7121a47"},
	{"feffe9928665731c6d6a8f9467308308",
	 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	 "feedfacedeadbeeffeedfacedeadbeefabaddad2", "cafebabefacedbad",
	 "61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c742373806900e49f24b22b097544d4896b424989b5e1ebac0f07c23f4598",
	 "3612d2e79e3b0785561be14aaca2fccb"},
	{"feffe9928665731c6d6a8f9467308308",
	 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	 "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	 "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b",
	 "8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca701e4a9a4fba43c90ccdcb281d48c7c6fd62875d2aca417034c34aee5",
	 "619cc5aefffe0bfa462af43c1699d050"},
	{"000000000000000000000000000000000000000000000000", "", "", "000000000000000000000000", "",
	 "cd33b28ac773f74ba00ed1f312572435"},
	{"000000000000000000000000000000000000000000000000", "00000000000000000000000000000000", "",
	 "000000000000000000000000", "98e7247c07f0fe411c267e4384b0f600", "2ff58d80033927ab8ef4d4587514f0fb"},
	{"feffe9928665731c6d6a8f9467308308feffe9928665731c",
	 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	 "feedfacedeadbeeffeedfacedeadbeefabaddad2", "cafebabefacedbaddecaf888",
	 "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710",
	 "2519498e80f1478f37ba55bd6d27618c"},
	{"0000000000000000000000000000000000000000000000000000000000000000", "", "", "000000000000000000000000", "",
	 "530f8afbc74536b9a963b4f1c4cb738b"},
	{"0000000000000000000000000000000000000000000000000000000000000000", "00000000000000000000000000000000", "",
	 "000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
	{"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	 "feedfacedeadbeeffeedfacedeadbeefabaddad2", "cafebabefacedbaddecaf888",
	 "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	 "76fc6ece0f4e1768cddf8853bb2d551b"},
	{"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	 "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	 "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b",
	 "5a8def2f0c9e53f1f75d7853659e2a20eeb2b22aafde6419a058ab4f6f746bf40fc0c3b780f244452da3ebf1c5d82cdea2418997200ef82e44ae7e3f",
	 "a44a8266ee1c8eb0c8b5d4cf5ae9f19a"},
};

/* Encrypts and decrypts one vector through BearSSL's GCM with the given AES-CTR and GHASH. */
static int
gcm_one(const br_block_ctr_class *vt, br_ghash gh, const char *const kat[6])
{
	unsigned char key[32], plain[64], aad[32], iv[64], want[64], tag[16], buf[64], out[16];
	size_t kl = unhex(key, kat[0]), pl = unhex(plain, kat[1]), al = unhex(aad, kat[2]), il = unhex(iv, kat[3]);
	br_aes_gen_ctr_keys kc;
	br_gcm_context g;

	unhex(want, kat[4]);
	unhex(tag, kat[5]);
	vt->init(&kc.vtable, key, kl);
	br_gcm_init(&g, &kc.vtable, gh);
	for (int dec = 0; dec < 2; dec++) {
		memcpy(buf, dec ? want : plain, pl);
		br_gcm_reset(&g, iv, il);
		br_gcm_aad_inject(&g, aad, al);
		br_gcm_flip(&g);
		br_gcm_run(&g, !dec, buf, pl);
		br_gcm_get_tag(&g, out);
		if (memcmp(buf, dec ? plain : want, pl) || memcmp(out, tag, 16))
			return -1;
	}
	return 0;
}

/* RFC 3686 section 6: AES-CTR, the counter starting at 1. */
static const char *const ctr_kat[][4] = {
	{"ae6852f8121067cc4bf7a5765577f39e", "000000300000000000000000", "53696e676c6520626c6f636b206d7367",
	 "e4095d4fb7a7b3792d6175a3261311b8"},
	{"7e24067817fae0d743d6ce1f32539163", "006cb6dbc0543b59da48d90b",
	 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	 "5104a106168a72d9790d41ee8edad388eb2e1efc46da57c8fce630df9141be28"},
	{"7691be035e5020a8ac6e618529f9a0dc", "00e0017b27777f3f4a1786f0",
	 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223",
	 "c1cf48a89f2ffdd9cf4652e9efdb72d74540a42bde6d7836d59a5ceaaef3105325b2072f"},
	{"16af5b145fc9f579c175f93e3bfb0eed863d06ccfdb78515", "0000004836733c147d6d93cb", "53696e676c6520626c6f636b206d7367",
	 "4b55384fe259c9c84e7935a003cbe928"},
	{"7c5cb2401b3dc33c19e7340819e0f69c678c3db8e6f6a91a", "0096b03b020c6eadc2cb500d",
	 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	 "453243fc609b23327edfaafa7131cd9f8490701c5ad4a79cfc1fe0ff42f4fb00"},
};

TEST(cpu_gcm_nist_vectors)
{
	static const char *const name[4] = {"portable", "arm64", "VAES-512", "VAES-256"};
	const br_block_ctr_class *impl[4] = {&br_aes_ct64_ctr_vtable, aes_ctr_arm_get(), aes_ctr_x86_get(512),
					     aes_ctr_x86_get(256)};
	br_ghash gh[4] = {br_ghash_ctmul64, ghash_arm_get(), ghash_x86_get(), ghash_x86_get()};

	/* The portable pair first: it proves the vectors; then the fast ones this CPU has. */
	for (int k = 0; k < 4; k++)
		for (size_t i = 0; impl[k] && gh[k] && i < COUNT(gcm_kat); i++)
			if (gcm_one(impl[k], gh[k], gcm_kat[i]))
				utest_fail(__FILE__, __LINE__, "%s: GCM vector %zu", name[k], i);
	for (int k = 0; k < 4; k++)
		for (size_t i = 0; impl[k] && i < COUNT(ctr_kat); i++) {
			unsigned char key[32], iv[12], buf[64], want[64];
			size_t kl = unhex(key, ctr_kat[i][0]), n = unhex(buf, ctr_kat[i][2]);
			br_aes_gen_ctr_keys kc;
			unhex(iv, ctr_kat[i][1]);
			unhex(want, ctr_kat[i][3]);
			impl[k]->init(&kc.vtable, key, kl);
			/* The counter returned counts whole blocks (BearSSL's contract). */
			CHECK_INT(impl[k]->run(&kc.vtable, iv, 1, buf, n), 1 + n / 16);
			if (memcmp(buf, want, n))
				utest_fail(__FILE__, __LINE__, "%s: RFC 3686 vector %zu", name[k], i);
		}
	if (!aes_ctr_x86_get(0) && !aes_ctr_arm_get())
		printf("  (no VAES or ARMv8 AES on this CPU: the portable code only)\n");
}

/* Random keys, IVs, counters (some about to wrap) and lengths around the 4-block stride. */
TEST(cpu_aes_ctr_random_vs_bearssl)
{
	const br_block_ctr_class *fast = aes_ctr_arm_get();
	static unsigned char a[1100], b[1100];

	if (!fast)
		return;
	for (int round = 0; round < 600; round++) {
		unsigned char key[32], iv[12];
		size_t kl = 16 + 8 * (size_t)rnd(3), n = round < 100 ? (size_t)round : (size_t)rnd(sizeof a);
		uint32_t cc = round % 7 == 0 ? 0xFFFFFFFFu - rnd(5) : rnd(0xFFFFFFFFu);
		br_aes_gen_ctr_keys x, y;
		fill(key, kl);
		fill(iv, 12);
		fill(a, n);
		memcpy(b, a, n);
		br_aes_ct64_ctr_vtable.init(&x.vtable, key, kl);
		fast->init(&y.vtable, key, kl);
		uint32_t c1 = br_aes_ct64_ctr_vtable.run(&x.vtable, iv, cc, a, n);
		uint32_t c2 = fast->run(&y.vtable, iv, cc, b, n);
		if (c1 != c2 || memcmp(a, b, n))
			utest_fail(__FILE__, __LINE__, "key %zu bytes, counter %08x, %zu bytes differ", kl, cc, n);
	}
}

TEST(cpu_ghash_random_vs_bearssl)
{
	br_ghash fast = ghash_arm_get();
	static unsigned char d[1100];

	if (!fast)
		return;
	for (int round = 0; round < 2000; round++) {
		unsigned char h[16], y1[16], y2[16];
		size_t n = round < 200 ? (size_t)round : (size_t)rnd(sizeof d);
		fill(h, 16);
		fill(y1, 16);
		fill(d, n);
		/* Edge values of H and Y: zero, all ones, a single bit. */
		if (round % 11 == 1)
			memset(h, round % 2 ? 0xFF : 0, 16);
		if (round % 13 == 2)
			memset(y1, 0, 16), y1[round % 16] = 0x80;
		memcpy(y2, y1, 16);
		br_ghash_ctmul64(y1, h, d, n);
		fast(y2, h, d, n);
		if (memcmp(y1, y2, 16))
			utest_fail(__FILE__, __LINE__, "round %d: %zu bytes", round, n);
	}
}
