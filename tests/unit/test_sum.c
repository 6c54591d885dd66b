/* test_sum.c — checksums against their standard check values, and hardware against software. */
#include "unit.h"

TEST(sum_check_values)
{
	char h[65];

	CHECK_INT(crc32c_update(0, "123456789", 9), 0xE3069283u);
	CHECK_INT(crc32_update(0, "123456789", 9), 0xCBF43926u);
	/* Incremental equals one-shot, at every split point of an unaligned buffer. */
	unsigned char big[1000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (unsigned char)(i * 131 + 7);
	uint32_t whole = crc32c_update(0, big + 1, sizeof big - 1);
	for (size_t k = 0; k < sizeof big - 1; k += 37)
		CHECK_INT(crc32c_update(crc32c_update(0, big + 1, k), big + 1 + k, sizeof big - 1 - k), whole);
	sha256_hex("abc", 3, h);
	CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("", 0, h);
	CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	unsigned char mac[32];
	/* RFC 4231 test case 2 */
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	hex_encode(mac, 32, h);
	CHECK_STR(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* CRC32C bit by bit, straight from the definition (reflected, polynomial 0x82F63B78), checked
 * against RFC 3720 B.4 below before it serves as the reference. */
static uint32_t
crc32c_bits(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? c >> 1 ^ 0x82F63B78u : c >> 1;
	}
	return ~c;
}

/* The three-stream path (buffers of 3 KiB and more) and the 512-bit fold (1 KiB and more, where
 * the CPU has it) against the definition: lengths around their block boundaries, every alignment,
 * and pieces of random sizes; with the fold and without. */
static void crc32c_long(void);

/* fn with the 512-bit fold, where the CPU has it, and without. */
static void
both_folds(void (*fn)(void))
{
	int wide = crc_use_wide(-1);

	for (int w = wide; w >= 0; w--) {
		crc_use_wide(w);
		fn();
	}
	crc_use_wide(wide);
}

TEST(crc32c_long_buffers)
{
	both_folds(crc32c_long);
}

static void
crc32c_long(void)
{
	static unsigned char m[50000];
	unsigned char v[32];
	uint64_t x = 0x2545F4914F6CDD1Dull;

	/* RFC 3720 B.4: 32 bytes of zeros, of ones, incrementing, decrementing. */
	static const uint32_t rfc[4] = {0x8A9136AA, 0x62A8AB43, 0x46DD794E, 0x113FDB5C};
	for (int k = 0; k < 4; k++) {
		for (int i = 0; i < 32; i++)
			v[i] = (unsigned char)(k == 0 ? 0 : k == 1 ? 0xFF : k == 2 ? i : 31 - i);
		CHECK_INT(crc32c_bits(v, 32), rfc[k]);
		CHECK_INT(crc32c_update(0, v, 32), rfc[k]);
	}
	for (size_t i = 0; i < sizeof m; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		m[i] = (unsigned char)x;
	}
	static const size_t lens[] = {1023, 1024, 1025, 1039, 1040, 1279, 1280, 1343, 1344, 2047, 2048,
				      3071, 3072, 3073, 3079, 3080, 6143, 6144, 6145, 16384, 16391, 49999};
	for (size_t i = 0; i < COUNT(lens); i++)
		for (size_t off = 0; off < 8; off++)
			CHECK_INT(crc32c_update(0, m + off, lens[i] - off), crc32c_bits(m + off, lens[i] - off));
	uint32_t whole = crc32c_bits(m, sizeof m);
	for (int round = 0; round < 50; round++) {
		uint32_t c = 0;
		for (size_t done = 0, k; done < sizeof m; done += k) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			k = (size_t)(x % 20000);
			if (k > sizeof m - done)
				k = sizeof m - done;
			c = crc32c_update(c, m + done, k);
		}
		CHECK_INT(c, whole);
	}
}

/* CRC-32 (ISO-HDLC, zlib's) and CRC-64/NVME bit by bit from their definitions (reflected, all ones
 * in and out), anchored to the catalogue's check values for "123456789" (reveng.sourceforge.io/
 * crc-catalogue) before they serve as references for the folding path (buffers of 256 bytes on). */
static uint64_t
crc_bits(uint64_t poly, int w, const unsigned char *p, size_t n)
{
	uint64_t mask = w == 64 ? ~0ull : (1ull << w) - 1, c = mask;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? c >> 1 ^ poly : c >> 1;
	}
	return ~c & mask;
}

static void crc32_crc64_long(void);

TEST(crc32_crc64_long_buffers)
{
	both_folds(crc32_crc64_long);
}

static void
crc32_crc64_long(void)
{
	static unsigned char m[70000];
	uint64_t x = 0x853c49e6748fea9bull;
	const uint64_t P32 = 0xEDB88320u, P64 = 0x9A6C9329AC4BC9B5ull;

	CHECK(crc_bits(P32, 32, (const unsigned char *)"123456789", 9) == 0xCBF43926u);
	CHECK(crc_bits(P64, 64, (const unsigned char *)"123456789", 9) == 0xAE8B14860A799888ull);
	for (size_t i = 0; i < sizeof m; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		m[i] = (unsigned char)(x >> 24);
	}
	static const size_t lens[] = {0,    1,    63,   64,   255,  256,  257,  271,   272,  320,
				      1000, 1023, 1024, 1040, 1279, 1280, 1344, 4109, 16384, 69999};
	for (size_t i = 0; i < COUNT(lens); i++)
		for (size_t off = 0; off < 16 && off <= lens[i]; off += 3) {
			size_t n = lens[i] - off;
			if (crc32_update(0, m + off, n) != crc_bits(P32, 32, m + off, n) ||
			    crc64nvme_update(0, m + off, n) != crc_bits(P64, 64, m + off, n)) {
				utest_fail(__FILE__, __LINE__, "%zu bytes at offset %zu", n, off);
				return;
			}
		}
	/* Long runs of one value (all-zero and all-one lanes) and pieces of random sizes. */
	for (int fill = 0; fill < 2; fill++) {
		unsigned char z[5000];
		memset(z, fill ? 0xFF : 0, sizeof z);
		CHECK(crc32_update(0, z, sizeof z) == crc_bits(P32, 32, z, sizeof z));
		CHECK(crc64nvme_update(0, z, sizeof z) == crc_bits(P64, 64, z, sizeof z));
	}
	uint32_t w32 = (uint32_t)crc_bits(P32, 32, m, sizeof m);
	uint64_t w64 = crc_bits(P64, 64, m, sizeof m);
	for (int round = 0; round < 50; round++) {
		uint32_t c32 = 0;
		uint64_t c64 = 0;
		for (size_t done = 0, k; done < sizeof m; done += k) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			k = (size_t)(x % (round & 1 ? 600 : 20000));
			if (k > sizeof m - done)
				k = sizeof m - done;
			c32 = crc32_update(c32, m + done, k);
			c64 = crc64nvme_update(c64, m + done, k);
		}
		CHECK(c32 == w32);
		CHECK(c64 == w64);
	}
}

/* ---- SHA-256: NIST vectors on both paths, and BearSSL's implementation as the reference ---- */

#include <bearssl.h>

struct shavec {
	unsigned char fill; /* the message is len bytes of fill, or msg when set */
	const char *msg;
	size_t len;
	const char *hex;
};

/* FIPS 180-4 examples (csrc.nist.gov "SHA256.pdf") and NIST's "SHA2 Additional" byte vectors:
 * lengths around the padding boundaries (55, 56, 57, 64) and the multi-block cases. */
static const struct shavec shavecs[] = {
	{0, "abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{0, "", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{0, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	{0, "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	 112, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
	{0, "\xbd", 1, "68325720aabd7c82f30f554b313d0570c95accbb7dc4b5aae11204c08ffe732b"},
	{0, "\xc9\x8c\x8e\x55", 4, "7abc22c0ae5af26ce93dbb94433a0e0b2e119d014f8e7f65bd56c61ccccd9504"},
	{0x00, NULL, 55, "02779466cdec163811d078815c633f21901413081449002f24aa3e80f0b88ef7"},
	{0x00, NULL, 56, "d4817aa5497628e7c77e6b606107042bbba3130888c5f47a375e6179be789fbb"},
	{0x00, NULL, 57, "65a16cb7861335d5ace3c60718b5052e44660726da4cd13bb745381b235a1785"},
	{0x00, NULL, 64, "f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b"},
	{0x00, NULL, 1000, "541b3e9daa09b20bf85fa273e5cbd3e80185aa4ec298e765db87742b70138a53"},
	{0x41, NULL, 1000, "c2e686823489ced2017f6059b8b239318b6364f6dcd835d0a519105a1eadd6e4"},
	{0x55, NULL, 1005, "f4d62ddec0f3dd90ea1380fa16a5ff8dc4c54b21740650f24afc4120903552b0"},
	{0x00, NULL, 1000000, "d29751f2649b32ff572b5e0a9f541ea660a50f94ff0beedfb0b692b924cc8025"},
	{'a', NULL, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
};

/* The vectors through sha256_init/update/out, fed in pieces of step bytes. */
static int
sha_vectors(size_t step)
{
	static unsigned char big[1000000];

	for (size_t i = 0; i < COUNT(shavecs); i++) {
		const struct shavec *v = &shavecs[i];
		const unsigned char *m = (const unsigned char *)v->msg;
		struct sha256 c;
		unsigned char h[32];
		char hex[65];
		if (!m) {
			memset(big, v->fill, v->len);
			m = big;
		}
		sha256_init(&c);
		for (size_t off = 0; off < v->len; off += step)
			sha256_update(&c, m + off, v->len - off < step ? v->len - off : step);
		sha256_out(&c, h);
		hex_encode(h, 32, hex);
		if (strcmp(hex, v->hex)) {
			utest_fail(__FILE__, __LINE__, "vector %zu (%zu bytes, pieces of %zu): %s, not %s", i, v->len, step, hex,
				   v->hex);
			return -1;
		}
		if (v->len <= 1000) {
			sha256_hex(m, v->len, hex);
			if (strcmp(hex, v->hex)) {
				utest_fail(__FILE__, __LINE__, "sha256_hex, vector %zu: %s", i, hex);
				return -1;
			}
		}
	}
	return 0;
}

/* Whether /proc/cpuinfo lists sha_ni (the kernel's reading of CPUID, not ours); -1 if unknown. */
static int
cpuinfo_sha_ni(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	int r = -1;

	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "flags", 5))
			continue;
		r = strstr(line, " sha_ni") != NULL;
		break;
	}
	if (f)
		fclose(f);
	return r;
}

TEST(sha256_nist_vectors)
{
	int ni = cpuinfo_sha_ni();
#if !defined(__x86_64__)
	ni = 0; /* sum.c uses the extensions on x86-64 only */
#endif

	/* The run-time choice agrees with the kernel's view of the CPU. */
	if (ni >= 0)
		CHECK_INT(sha256_use_hw(1), ni);
	for (int hw = 1; hw >= 0; hw--) {
		sha256_use_hw(hw);
		CHECK_INT(sha256_use_hw(-1), hw && ni != 0);
		struct sha256 c;
		sha256_init(&c);
		CHECK_INT(c.hw, hw && ni != 0);
		static const size_t steps[] = {1000000, 1, 3, 55, 63, 64, 65, 4096};
		for (size_t i = 0; i < COUNT(steps); i++)
			if (sha_vectors(steps[i]))
				return;
	}
}

/* NIST "SHA2 Additional" #11: 0x20000000 bytes of 0x5a (the length needs more than 32 bits of
 * bit count). The extension path only: BearSSL's would take seconds. */
TEST(sha256_nist_512mib)
{
	static unsigned char b[1 << 20];
	struct sha256 c;
	unsigned char h[32];
	char hex[65];

	if (!sha256_use_hw(1))
		return;
	memset(b, 0x5a, sizeof b);
	sha256_init(&c);
	for (int i = 0; i < 512; i++)
		sha256_update(&c, b, sizeof b);
	sha256_out(&c, h);
	hex_encode(h, 32, hex);
	CHECK_STR(hex, "15a1868c12cc53951e182344277447cd0979536badcc512ad24c67e9b2d4f3dd");
}

static uint64_t
xs64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random messages of every length up to 300 bytes and some larger ones, split at random points,
 * against BearSSL's br_sha256 (an implementation we did not write), on both paths; sha256_out in
 * the middle must not disturb the running state. */
TEST(sha256_random_vs_bearssl)
{
	static unsigned char m[70000];
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < sizeof m; i++)
		m[i] = (unsigned char)xs64(&seed);
	for (int hw = 1; hw >= 0; hw--) {
		sha256_use_hw(hw);
		for (size_t len = 0; len < 400; len++) {
			size_t n = len < 300 ? len : 300 + xs64(&seed) % (sizeof m - 300);
			size_t off = (size_t)(xs64(&seed) % 16); /* unaligned starts too */
			if (off + n > sizeof m)
				off = 0;
			const unsigned char *p = m + off;
			br_sha256_context ref;
			unsigned char want[32], got[32], mid[32], refmid[32];
			struct sha256 c;
			br_sha256_init(&ref);
			sha256_init(&c);
			size_t done = 0, cut = n ? (size_t)(xs64(&seed) % (n + 1)) : 0;
			while (done < n) {
				size_t k = 1 + (size_t)(xs64(&seed) % (xs64(&seed) & 1 ? 70 : 5000));
				if (k > n - done)
					k = n - done;
				if (done <= cut && cut < done + k) { /* a digest of the prefix, then go on */
					sha256_update(&c, p + done, cut - done);
					br_sha256_update(&ref, p + done, cut - done);
					sha256_out(&c, mid);
					br_sha256_out(&ref, refmid);
					CHECK(!memcmp(mid, refmid, 32));
					sha256_update(&c, p + cut, done + k - cut);
					br_sha256_update(&ref, p + cut, done + k - cut);
				} else {
					sha256_update(&c, p + done, k);
					br_sha256_update(&ref, p + done, k);
				}
				done += k;
			}
			sha256_out(&c, got);
			br_sha256_out(&ref, want);
			if (memcmp(got, want, 32)) {
				utest_fail(__FILE__, __LINE__, "hw %d: %zu bytes at offset %zu differ from BearSSL", hw, n, off);
				return;
			}
		}
	}
}
