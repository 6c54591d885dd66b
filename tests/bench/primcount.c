/* primcount.c — runs one primitive once over N bytes, with the implementation awsbox picks on this
 * CPU (core/base/cpu.c, core/base/sum.c), so that an emulator can count the instructions it takes, where
 * time means nothing (tests/bench/insns, make bench-arm64). AES-GCM goes in 16 KiB records as TLS
 * uses it; without the CPU's AES and carry-less instructions it is BearSSL's default pair on
 * 64-bit machines (aes_ct64, ghash_ctmul64), as tls.c then gets from br_ssl_engine_set_default_aes_gcm.
 *
 * Usage: primcount NAME BYTES   NAME: gcm128 gcm256 crc32c crc32 crc64nvme sha256, or none (only
 * the filling of the buffer that every one starts with); prints what ran. */
#include "core.h"
#include "base/cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC 16384

static void
gcm(unsigned char *p, size_t n, size_t keylen)
{
	const br_block_ctr_class *ctr = aes_ctr_arm_get();
	br_ghash gh = ghash_arm_get();
	br_aes_gen_ctr_keys kc;
	br_gcm_context gc;
	unsigned char key[32] = {1}, iv[12] = {2}, aad[13] = {3}, tag[16];

	if (!ctr || !gh)
		ctr = &br_aes_ct64_ctr_vtable, gh = br_ghash_ctmul64;
	ctr->init(&kc.vtable, key, keylen);
	br_gcm_init(&gc, &kc.vtable, gh);
	for (size_t off = 0; off < n; off += REC) {
		iv[11]++;
		br_gcm_reset(&gc, iv, sizeof iv);
		br_gcm_aad_inject(&gc, aad, sizeof aad);
		br_gcm_flip(&gc);
		br_gcm_run(&gc, 1, p + off, n - off < REC ? n - off : REC);
		br_gcm_get_tag(&gc, tag);
	}
	printf("%s AES-CTR, %s GHASH: tag %02x\n", ctr == &br_aes_ct64_ctr_vtable ? "BearSSL ct64" : "awsbox's",
	       gh == br_ghash_ctmul64 ? "BearSSL ctmul64" : "awsbox's", tag[0]);
}

int
main(int argc, char **argv)
{
	const char *name = argc > 2 ? argv[1] : "";
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 0) : 0;
	unsigned char *p = malloc(n + 1);

	if (!p || argc != 3) {
		fprintf(stderr, "usage: primcount gcm128|gcm256|crc32c|crc32|crc64nvme|sha256|none BYTES\n");
		return 2;
	}
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 2654435761u >> 24);
	if (!strcmp(name, "none")) {
		printf("%02x\n", p[n / 2]); /* the filling alone, which insns takes off the others */
	} else if (!strcmp(name, "gcm128") || !strcmp(name, "gcm256")) {
		gcm(p, n, name[3] == '1' ? 16 : 32);
	} else if (!strcmp(name, "crc32c")) {
		printf("%08x\n", crc32c_update(0, p, n));
	} else if (!strcmp(name, "crc32")) {
		printf("%08x\n", crc32_update(0, p, n));
	} else if (!strcmp(name, "crc64nvme")) {
		printf("%016llx\n", (unsigned long long)crc64nvme_update(0, p, n));
	} else if (!strcmp(name, "sha256")) {
		char h[65];
		sha256_hex(p, n, h);
		printf("%s\n", h);
	} else {
		fprintf(stderr, "primcount: unknown primitive %s\n", name);
		return 2;
	}
	return 0;
}
