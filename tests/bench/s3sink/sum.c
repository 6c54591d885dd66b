/* Checksums: CRCs in software, digests by OpenSSL, base64. */
#include "sink.h"

static uint32_t crc_tab[2][256]; /* 0: CRC-32C, 1: CRC-32 (both reflected) */
static const uint32_t crc_poly[2] = {0x82F63B78u, 0xEDB88320u};

void
crc_init(void)
{
	for (int t = 0; t < 2; t++)
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? c >> 1 ^ crc_poly[t] : c >> 1;
			crc_tab[t][i] = c;
		}
}

uint32_t
crc_update(int t, uint32_t crc, const unsigned char *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc >> 8 ^ crc_tab[t][(crc ^ *p++) & 255];
	return ~crc;
}

/* a * b modulo the polynomial, reflected bit order (bit 31 is x^0). */
static uint32_t
gf_mul(uint32_t a, uint32_t b, uint32_t poly)
{
	uint32_t r = 0;

	for (int i = 0; i < 32; i++) {
		if (a & (0x80000000u >> i))
			r ^= b;
		b = b & 1 ? b >> 1 ^ poly : b >> 1;
	}
	return r;
}

/* crc(A||B) = crc(A) * x^(8 len(B)) + crc(B). */
uint32_t
crc_combine(int t, uint32_t a, uint32_t b, uint64_t len_b)
{
	uint32_t r = 0x80000000u, sq = 0x00800000u; /* x^0 and x^8 */

	for (; len_b; len_b >>= 1) {
		if (len_b & 1)
			r = gf_mul(r, sq, crc_poly[t]);
		sq = gf_mul(sq, sq, crc_poly[t]);
	}
	return gf_mul(r, a, crc_poly[t]) ^ b;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
b64_enc(const unsigned char *p, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = 0;
}

/* Decodes s (stopping at '=' or '-'); returns the byte count, -1 if invalid or over max. */
int
b64_dec(const char *s, unsigned char *out, size_t max)
{
	uint32_t v = 0;
	int bits = 0;
	size_t n = 0;

	for (; *s && *s != '=' && *s != '-'; s++) {
		const char *q = strchr(b64, *s);
		if (!q)
			return -1;
		v = v << 6 | (uint32_t)(q - b64);
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (n >= max)
				return -1;
			out[n++] = (unsigned char)(v >> bits);
		}
	}
	return (int)n;
}

int
crc_kind(const char *alg)
{
	return !strcmp(alg, "crc32c") ? 0 : !strcmp(alg, "crc32") ? 1 : -1;
}

const EVP_MD *
digest_of(const char *alg)
{
	return !strcmp(alg, "sha256") ? EVP_sha256() : !strcmp(alg, "sha1") ? EVP_sha1() : NULL;
}
