/* s3chunk.c — test tool: encodes stdin as s3.c's aws-chunked upload body with a trailing checksum
 * (STREAMING-UNSIGNED-PAYLOAD-TRAILER) and writes it to stdout, so that tests can compare it with
 * botocore's AwsChunkedWrapper. Usage: s3chunk crc32c|crc32|sha256 < data > body */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mem {
	const char *p;
	int64_t len, pos;
};

static long
rd(void *ctx, void *buf, size_t n, struct err *e)
{
	struct mem *m = ctx;

	if ((int64_t)n > m->len - m->pos)
		n = (size_t)(m->len - m->pos);
	memcpy(buf, m->p + m->pos, n);
	m->pos += (int64_t)n;
	return (long)n;
}

int
main(int argc, char **argv)
{
	struct buf in = {0};
	char tmp[65536];
	ssize_t k;
	int ck = argc > 1 ? s3_ck_parse(argv[1]) : -1;

	if (ck <= 0) {
		fprintf(stderr, "usage: s3chunk crc32c|crc32|sha256 < data\n");
		return 2;
	}
	while ((k = read(0, tmp, sizeof tmp)) > 0)
		buf_add(&in, tmp, (size_t)k);
	struct mem m = {in.p ? in.p : "", (int64_t)in.len, 0};
	struct s3_src src = {rd, NULL, &m, m.len};
	struct s3_chunked c;
	struct http_body body;
	struct err e = {0};
	s3_chunked_init(&c, &src, ck, &body);
	int64_t out = 0;
	while ((k = body.read(body.ctx, tmp, sizeof tmp - 100, &e)) > 0) {
		fwrite(tmp, 1, (size_t)k, stdout);
		out += k;
	}
	fprintf(stderr, "%lld %lld\n", (long long)out, (long long)body.len);
	s3_chunked_free(&c);
	return k < 0 || out != body.len;
}
