/* sum.c — CRC32C (Castagnoli; SSE4.2 instruction when present), CRC32 (ISO-HDLC, as zlib),
 * and SHA-256/HMAC through BearSSL. S3 checksums: docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html */
#include "core.h"

#include <bearssl.h>
#include <string.h>

static uint32_t crc32c_tab[8][256], crc32_tab[8][256];
static pthread_once_t tab_once = PTHREAD_ONCE_INIT;

static void
tab_fill(uint32_t t[8][256], uint32_t poly)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? c >> 1 ^ poly : c >> 1;
		t[0][i] = c;
	}
	for (int j = 1; j < 8; j++)
		for (int i = 0; i < 256; i++)
			t[j][i] = t[j - 1][i] >> 8 ^ t[0][t[j - 1][i] & 255];
}

static void
tabs_init(void)
{
	tab_fill(crc32c_tab, 0x82F63B78u);
	tab_fill(crc32_tab, 0xEDB88320u);
}

/* Slicing-by-8 over a reflected table. */
static uint32_t
crc_soft(uint32_t t[8][256], uint32_t crc, const unsigned char *p, size_t n)
{
	crc = ~crc;
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
	return ~crc;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw(uint32_t crc, const unsigned char *p, size_t n)
{
	uint64_t c = ~crc;

	while (n && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		n--;
	}
	/* One stream, unrolled: several GB/s, far above what TLS or disks deliver here. */
	while (n >= 32) {
		uint64_t a, b, d, e;
		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		memcpy(&d, p + 16, 8);
		memcpy(&e, p + 24, 8);
		c = _mm_crc32_u64(c, a);
		c = _mm_crc32_u64(c, b);
		c = _mm_crc32_u64(c, d);
		c = _mm_crc32_u64(c, e);
		p += 32;
		n -= 32;
	}
	while (n >= 8) {
		uint64_t a;
		memcpy(&a, p, 8);
		c = _mm_crc32_u64(c, a);
		p += 8;
		n -= 8;
	}
	while (n--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

static int
have_sse42(void)
{
	static int v = -1;
	unsigned a, b, c, d;

	if (v < 0)
		v = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2);
	return v;
}
#endif

uint32_t
crc32c_update(uint32_t crc, const void *p, size_t n)
{
#if defined(__x86_64__)
	if (have_sse42())
		return crc32c_hw(crc, p, n);
#endif
	pthread_once(&tab_once, tabs_init);
	return crc_soft(crc32c_tab, crc, p, n);
}

uint32_t
crc32_update(uint32_t crc, const void *p, size_t n)
{
	pthread_once(&tab_once, tabs_init);
	return crc_soft(crc32_tab, crc, p, n);
}

void
sha256_hex(const void *p, size_t n, char out[65])
{
	br_sha256_context c;
	unsigned char h[32];

	br_sha256_init(&c);
	br_sha256_update(&c, p, n);
	br_sha256_out(&c, h);
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
