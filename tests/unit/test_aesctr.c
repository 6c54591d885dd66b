/* test_aesctr.c — aesctr.c's AES-CTR with VAES (on 512- and 256-bit registers) against BearSSL's br_aes_x86ni_ctr (the one it
 * replaces) on random keys of all three sizes, IVs, counters (some wrapping past 2^32) and every
 * length up to 600 bytes, then random lengths up to 70,000, in place at odd alignments. The NIST
 * GCM vectors through br_gcm with it are in test_cpu.c (cpu_gcm_nist_vectors). Where the CPU has
 * no VAES (with AVX-512, or AVX2), there is nothing to compare: the test says so. */
#include "unit.h"

#include "core.h"
#include "wire/conn.h"

#include <bearssl.h>

#if defined(__x86_64__) /* BearSSL has its AES-NI code there only */
/* Random bytes that repeat from run to run (xorshift64). */
static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint32_t
rnd32(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

static void
fill(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)rnd32();
}

/* One run of both on the same key, IV, counter and data at p + off; 0 when they agree. The
 * bytes around the data must stay untouched. */
static int
one(const br_block_ctr_class *v, size_t kl, uint32_t cc, size_t n, size_t off)
{
	static unsigned char a[70000 + 128], b[70000 + 128];
	unsigned char key[32], iv[12];
	br_aes_x86ni_ctr_keys ref;
	br_aes_gen_ctr_keys fast;

	fill(key, kl);
	fill(iv, 12);
	fill(a, n + 2 * off + 64);
	memcpy(b, a, n + 2 * off + 64);
	br_aes_x86ni_ctr_init(&ref, key, kl);
	v->init(&fast.vtable, key, kl);
	if (fast.vtable != v) { /* br_gcm runs what init put there */
		utest_fail(__FILE__, __LINE__, "init set another vtable");
		return -1;
	}
	uint32_t c1 = br_aes_x86ni_ctr_run(&ref, iv, cc, a + off, n);
	uint32_t c2 = v->run(&fast.vtable, iv, cc, b + off, n);
	if (c1 != c2 || memcmp(a, b, n + 2 * off + 64)) {
		utest_fail(__FILE__, __LINE__, "AES-%zu, counter %08x, %zu bytes at +%zu: %s differ", kl * 8, cc, n, off,
			   c1 != c2 ? "the counters returned" : "the bytes");
		return -1;
	}
	return 0;
}

TEST(aesctr_vaes_matches_x86ni)
{
	for (int width = 512; width >= 256; width -= 256) {
		const br_block_ctr_class *v = aes_ctr_x86_get(width);
		if (!v) {
			printf("  (no %d-bit VAES on this CPU or OS: nothing to compare)\n", width);
			continue;
		}
		CHECK(v->context_size <= sizeof(br_aes_gen_ctr_keys));
		for (size_t n = 0; n <= 600; n++) {
			uint32_t cc = n % 5 == 0 ? 0xFFFFFFFFu - (uint32_t)(n % 40) : rnd32();
			if (one(v, 16 + 8 * (n % 3), cc, n, n % 7))
				return;
		}
		for (int i = 0; i < 300; i++) {
			size_t n = i < 3 ? 16384 + 16 * (size_t)i : rnd32() % 70001;
			uint32_t cc = i % 3 == 0 ? 0u - rnd32() % 5000 : rnd32();
			if (one(v, 16 + 8 * (size_t)(i % 3), cc, n, rnd32() % 64))
				return;
		}
	}
	/* tls.c takes the widest. */
	CHECK(aes_ctr_x86_get(0) == (aes_ctr_x86_get(512) ? aes_ctr_x86_get(512) : aes_ctr_x86_get(256)));
}
#else
TEST(aesctr_vaes_matches_x86ni)
{
	CHECK(!aes_ctr_x86_get(0) && !aes_ctr_x86_get(512) && !aes_ctr_x86_get(256));
}
#endif
