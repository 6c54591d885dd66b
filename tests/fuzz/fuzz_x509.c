/* fuzz_x509.c — libFuzzer target for tlstrust.c's own parsers: the DER walk that finds iPAddress
 * subjectAltNames in the server's certificate (RFC 5280 section 4.2.1.6) and the PEM CA bundle
 * reader (--ca-bundle, AWS_CA_BUNDLE: a user's file; RFC 7468) around BearSSL's decoders.
 *
 * san_has_ip and pem_load are static in tlstrust.c; the file is compiled into this one so that nothing
 * in it has to change for the fuzzer (the Makefile leaves tlstrust.o out of this target).
 *
 * Input: [0] bit 0: the rest is a PEM bundle; else bit 1 picks an IPv6 (16-byte) or IPv4 address,
 * which follows, then the certificate's DER. */
#include "../../core/wire/tlstrust.c"
#include "fuzz.h"

#include <sys/mman.h>
#include <unistd.h>

static void
bundle(const uint8_t *p, size_t n)
{
	static int fd = -1;
	struct ta_set ts = {0};
	struct err e = {0};
	char path[64];

	/* pem_load wants a path: a memory file, rewritten for each input */
	if (fd < 0 && (fd = memfd_create("ca-bundle", 0)) < 0)
		abort();
	if (ftruncate(fd, 0) || (n && pwrite(fd, p, n, 0) != (ssize_t)n))
		abort();
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if (!pem_load(path, &ts, &e)) {
		FUZZ_CHECK(ts.n > 0);
		for (size_t i = 0; i < ts.n; i++)
			FUZZ_CHECK(ts.v[i].dn.data && ts.v[i].dn.len > 0);
	} else {
		FUZZ_CHECK(e.kind == E_TLS && memchr(e.msg, 0, sizeof e.msg));
	}
	ta_free(ts.v, ts.n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t iplen;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		bundle(data + 1, size - 1);
		return 0;
	}
	iplen = data[0] & 2 ? 16 : 4;
	if (size < 1 + iplen)
		return 0;
	/* an exact-size copy: reads past the certificate's end are caught */
	size_t n = size - 1 - iplen;
	unsigned char *der = xmalloc(n ? n : 1);
	if (n)
		memcpy(der, data + 1 + iplen, n);
	int r = san_has_ip(der, n, data + 1, iplen);
	FUZZ_CHECK(r == 0 || r == 1);
	free(der);
	return 0;
}
