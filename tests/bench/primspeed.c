/* primspeed.c — one-core speed of the primitives awsbox's bulk paths are made of, with the very
 * library and code awsbox links (BearSSL as built for it, core/base/sum.c, core/wire/ghash.c and aesctr.c):
 * AES-GCM as TLS records use it (16 KiB per record; awsbox's AES-CTR and GHASH, and BearSSL's own
 * AES-NI pair as the reference; AES-CTR and GHASH also alone: awsbox's GHASH (the 512-bit variant
 * where the CPU has it, and the eight-block one) and BearSSL's), SHA-256 (the payload signature over plain HTTP: core/base/sum.c's, with the
 * CPU's SHA extensions when present, and BearSSL's), MD5, CRC32C, CRC32 and CRC-64/NVME, and
 * memcpy as the memory's own ceiling. For make bench: the floor of CPU per GiB.
 * BearSSL API: https://bearssl.org/apidoc/ ; GCM: NIST SP 800-38D.
 *
 * Usage: primspeed [--hot] [MIB [NAME...]]   prints "name MB/s" lines (10^6 bytes/s, best of 3 passes
 * over MIB, 256 unless given; only the NAMEs given). Time is this thread's CPU time, not the wall
 * clock: on a shared machine a preempted pass is not counted slower. --hot: the passes cycle over
 * one 1 MiB buffer (in cache, as a TLS record is when the cipher runs: the kernel has just copied
 * it) instead of touching MIB of memory once; the cipher's own cost, not the memory's. */
#include "core.h"
#include "wire/conn.h"

#include <bearssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REC 16384

static unsigned char *g_buf, *g_dst;
static size_t g_len, g_total; /* the buffer's size; the bytes one pass processes (a multiple) */
static volatile uint32_t g_sink;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The GHASH TLS uses (tls.c's ghash_pick: awsbox's own where the CPU has carry-less multiply). */
static br_ghash
ghash_tls(void)
{
	return ghash_x86_get() ? ghash_x86_get() : br_ghash_pclmul_get();
}

/* The AES-CTR TLS uses (tls.c's aes_ctr_pick on x86-64: awsbox's VAES code where the CPU has it). */
static const br_block_ctr_class *
ctr_tls(void)
{
	return aes_ctr_x86_get(0) ? aes_ctr_x86_get(0) : &br_aes_x86ni_ctr_vtable;
}

static void
gcm_pass(int keylen, const br_block_ctr_class *ctr, br_ghash gh)
{
	br_aes_gen_ctr_keys aes;
	br_gcm_context gc;
	unsigned char key[32] = {1}, iv[12] = {2}, aad[13] = {3}, tag[16];

	ctr->init(&aes.vtable, key, (size_t)keylen);
	br_gcm_init(&gc, &aes.vtable, gh);
	for (size_t off = 0; off < g_total; off += REC) {
		iv[11]++;
		br_gcm_reset(&gc, iv, sizeof iv);
		br_gcm_aad_inject(&gc, aad, sizeof aad);
		br_gcm_flip(&gc);
		br_gcm_run(&gc, 1, g_buf + off % g_len, REC);
		br_gcm_get_tag(&gc, tag);
	}
	g_sink += tag[0];
}

/* AES-GCM as awsbox's TLS runs it, and as BearSSL alone would (its AES-NI CTR, its GHASH). */
static void
gcm128(void)
{
	gcm_pass(16, ctr_tls(), ghash_tls());
}

static void
gcm256(void)
{
	gcm_pass(32, ctr_tls(), ghash_tls());
}

static void
gcm128_bearssl(void)
{
	gcm_pass(16, &br_aes_x86ni_ctr_vtable, br_ghash_pclmul_get());
}

static void
ghash_pass(br_ghash g)
{
	unsigned char y[16] = {0}, h[16] = {4};

	for (size_t off = 0; off < g_total; off += REC)
		g(y, h, g_buf + off % g_len, REC);
	g_sink += y[0];
}

static void
ghash_awsbox(void)
{
	ghash_pass(ghash_tls());
}

/* The 128-bit, eight-block variant that ghash_x86_get returns without AVX-512. */
static void
ghash_awsbox8(void)
{
	ghash_pass(ghash_x86_clmul() ? ghash_x86_clmul() : ghash_tls());
}

static void
ghash_bearssl(void)
{
	ghash_pass(br_ghash_pclmul_get());
}

static void
ctr_pass(const br_block_ctr_class *ctr)
{
	br_aes_gen_ctr_keys aes;
	unsigned char key[16] = {1}, iv[12] = {2};

	ctr->init(&aes.vtable, key, sizeof key);
	for (size_t off = 0; off < g_total; off += REC)
		ctr->run(&aes.vtable, iv, 2, g_buf + off % g_len, REC);
	g_sink += g_buf[0];
}

static void
aes128_ctr(void)
{
	ctr_pass(&br_aes_x86ni_ctr_vtable);
}

static void
aes128_ctr_awsbox(void)
{
	ctr_pass(ctr_tls());
}

/* The 256-bit VAES variant (the one CPUs without AVX-512 get), where this CPU runs it. */
static void
aes128_ctr_vaes256(void)
{
	ctr_pass(aes_ctr_x86_get(256) ? aes_ctr_x86_get(256) : ctr_tls());
}

static void
sha256(void)
{
	br_sha256_context c;
	unsigned char h[32];

	br_sha256_init(&c);
	for (size_t off = 0; off < g_total; off += g_len)
		br_sha256_update(&c, g_buf, g_len);
	br_sha256_out(&c, h);
	g_sink += h[0];
}

static void
awsbox_sha256(void)
{
	struct sha256 c;
	unsigned char h[32];

	sha256_init(&c);
	for (size_t off = 0; off < g_total; off += g_len)
		sha256_update(&c, g_buf, g_len);
	sha256_out(&c, h);
	g_sink += h[0];
}

static void
md5(void)
{
	br_md5_context c;
	unsigned char h[16];

	br_md5_init(&c);
	for (size_t off = 0; off < g_total; off += g_len)
		br_md5_update(&c, g_buf, g_len);
	br_md5_out(&c, h);
	g_sink += h[0];
}

static void
crc32c(void)
{
	uint32_t c = 0;

	for (size_t off = 0; off < g_total; off += g_len)
		c = crc32c_update(c, g_buf, g_len);
	g_sink += c;
}

static void
crc32(void)
{
	uint32_t c = 0;

	for (size_t off = 0; off < g_total; off += g_len)
		c = crc32_update(c, g_buf, g_len);
	g_sink += c;
}

static void
crc64(void)
{
	uint64_t c = 0;

	for (size_t off = 0; off < g_total; off += g_len)
		c = crc64nvme_update(c, g_buf, g_len);
	g_sink += (uint32_t)c;
}

static void
copy(void)
{
	for (size_t off = 0; off < g_total; off += 1 << 20)
		memcpy(g_dst + off % g_len, g_buf + off % g_len, 1 << 20);
	g_sink += g_dst[g_len - 1];
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} t[] = {
		{"awsbox-aes128-gcm", gcm128}, {"awsbox-aes256-gcm", gcm256}, {"bearssl-aes128-gcm", gcm128_bearssl},
		{"awsbox-aes128-ctr", aes128_ctr_awsbox}, {"awsbox-aes128-ctr-ymm", aes128_ctr_vaes256},
		{"bearssl-aes128-ctr", aes128_ctr},
		{"awsbox-ghash", ghash_awsbox}, {"awsbox-ghash8", ghash_awsbox8}, {"bearssl-ghash", ghash_bearssl}, {"bearssl-sha256", sha256},
		{"awsbox-sha256", awsbox_sha256}, {"bearssl-md5", md5},     {"awsbox-crc32c", crc32c},
		{"awsbox-crc32", crc32},        {"awsbox-crc64nvme", crc64},   {"memcpy", copy},
	};
	int hot = argc > 1 && !strcmp(argv[1], "--hot");
	size_t mib = argc > 1 + hot ? (size_t)atoi(argv[1 + hot]) : 256;

	g_total = mib << 20;
	g_len = hot ? 1 << 20 : g_total;
	if (!g_total)
		return 2;
	g_buf = malloc(g_len);
	g_dst = malloc(g_len);
	if (!g_buf || !g_dst)
		return 1;
	for (size_t i = 0; i < g_len; i++)
		g_buf[i] = (unsigned char)(i * 2654435761u >> 24);
	memset(g_dst, 0, g_len);
	if (!br_aes_x86ni_ctr_get_vtable() || !br_ghash_pclmul_get())
		printf("note: no AES-NI/PCLMUL: the GCM figures are not what awsbox would use\n");
	if (!sha256_use_hw(-1))
		printf("note: no SHA extensions: awsbox-sha256 is BearSSL's\n");
	for (size_t i = 0; i < COUNT(t); i++) {
		double best = 0;
		int want = argc <= 2 + hot;

		for (int j = 2 + hot; j < argc; j++)
			want |= !strcmp(argv[j], t[i].name);
		for (int pass = 0; want && pass < 3; pass++) {
			double t0 = now();
			t[i].fn();
			double dt = now() - t0;
			if (!best || dt < best)
				best = dt;
		}
		if (want)
			printf("%s %.0f\n", t[i].name, g_total / best / 1e6);
	}
	return g_sink == 0xdeadbeef;
}
