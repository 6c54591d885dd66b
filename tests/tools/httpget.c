/* httpget.c — test tool: one HTTP(S) request through core's http_do, for the integration tests. */
#include "core.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char help[] =
	"usage: httpget [OPTIONS] URL\n"
	"Sends one request with awsbox's HTTP client and prints \"status N\" and the body to stdout.\n"
	"Transport failures exit with awsbox's exit codes (6: network or TLS).\n"
	"\n"
	"  -X, --method M        request method (GET)\n"
	"  -d, --data STR        request body from memory\n"
	"  --upload FILE         request body streamed from FILE\n"
	"  --chunked             send the --upload body chunked (length unknown)\n"
	"  --expect              send Expect: 100-continue\n"
	"  -H, --header 'K: V'   extra request header (repeatable)\n"
	"  --sha256              print \"sha256 HEX LEN\" of the body instead of the body\n"
	"  --repeat N            send the request N times on one pool; print \"connects K\" last\n"
	"  --timeout SECS        read timeout\n"
	"  --no-proxy            never use a proxy\n"
	"  --mem                 print \"VmHWM N kB\" (peak resident memory) to stderr at the end\n";

enum { O_METHOD = 1, O_DATA, O_UPLOAD, O_CHUNKED, O_EXPECT, O_HEADER, O_SHA, O_REPEAT, O_TIMEOUT, O_NOPROXY, O_MEM };

static const struct optdef defs[] = {
	{"method", 'X', 1, O_METHOD}, {"data", 'd', 1, O_DATA},       {"upload", 0, 1, O_UPLOAD},
	{"chunked", 0, 0, O_CHUNKED}, {"expect", 0, 0, O_EXPECT},     {"header", 'H', 1, O_HEADER},
	{"sha256", 0, 0, O_SHA},      {"repeat", 0, 1, O_REPEAT},     {"timeout", 0, 1, O_TIMEOUT},
	{"no-proxy", 0, 0, O_NOPROXY}, {"mem", 0, 0, O_MEM},       {NULL, 0, 0, 0},
};

struct hashsink {
	br_sha256_context sha;
	uint64_t n;
	int print, said; /* print the body; "status N" printed */
};

static void
say_status(struct hashsink *h, int status)
{
	if (!h->said)
		printf("status %d\n", status);
	h->said = 1;
}

static int
sink(void *ctx, const struct http_resp *r, const void *p, size_t n, struct err *e)
{
	struct hashsink *h = ctx;

	br_sha256_update(&h->sha, p, n);
	h->n += n;
	if (h->print)
		say_status(h, r->status);
	if (h->print && fwrite(p, 1, n, stdout) != n)
		return err_set(e, E_IO, "write to stdout failed");
	return 0;
}

static long
file_read(void *ctx, void *buf, size_t n, struct err *e)
{
	ssize_t k = read(*(int *)ctx, buf, n);

	return k < 0 ? err_set(e, E_IO, "read upload: %s", strerror(errno)) : (long)k;
}

static int
file_rewind(void *ctx)
{
	return lseek(*(int *)ctx, 0, SEEK_SET) == 0 ? 0 : -1;
}

/* The peak resident set of this program (ru_maxrss would count the parent before exec). */
static void
print_hwm(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			fprintf(stderr, "VmHWM %ld kB\n", strtol(line + 6, NULL, 10));
	if (f)
		fclose(f);
}

/* http[s]://host[:port][/target] */
static void
parse_url(const char *s, struct url *u, const char **target)
{
	const char *h, *end;

	memset(u, 0, sizeof *u);
	if (!strncmp(s, "https://", 8))
		u->tls = 1, h = s + 8;
	else if (!strncmp(s, "http://", 7))
		h = s + 7;
	else
		usage("URL must start with http:// or https://");
	end = h + strcspn(h, "/?");
	*target = *end == '/' ? end : "/";
	u->port = u->tls ? 443 : 80;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (!rb || rb - h - 1 >= (long)sizeof u->host)
			usage("bad URL host");
		memcpy(u->host, h + 1, (size_t)(rb - h - 1));
		h = rb + 1;
	} else {
		size_t n = strcspn(h, ":/?");
		if (!n || n >= sizeof u->host)
			usage("bad URL host");
		memcpy(u->host, h, n);
		h += n;
	}
	if (*h == ':')
		u->port = atoi(h + 1);
	if (u->port < 1 || u->port > 65535)
		usage("bad URL port");
}

int
main(int argc, char **argv)
{
	struct opt o;
	struct url u;
	struct kv hdrs[32];
	struct http_body body = {0};
	struct http_pool pool;
	const char *url = NULL, *target = "/", *upload = NULL, *data = NULL;
	int nh = 0, chunked = 0, sha = 0, repeat = 1, fd = -1, mem = 0, id;
	struct http_req q = {.method = "GET", .target = "/"};
	unsigned char dig[32];
	char hex[65];

	applet_name = "httpget";
	opt_init(&o, argc, argv, defs, help);
	while ((id = opt_next(&o)) != OPT_END) {
		switch (id) {
		case O_METHOD: q.method = o.arg; break;
		case O_DATA: data = o.arg; break;
		case O_UPLOAD: upload = o.arg; break;
		case O_CHUNKED: chunked = 1; break;
		case O_EXPECT: q.expect_continue = 1; break;
		case O_HEADER: {
			char *c = strchr(o.arg, ':');
			if (!c || nh == (int)COUNT(hdrs))
				usage("bad header '%s'", o.arg);
			hdrs[nh].k = xstrndup(o.arg, (size_t)(c - o.arg));
			hdrs[nh++].v = c + 1 + strspn(c + 1, " ");
			break;
		}
		case O_SHA: sha = 1; break;
		case O_REPEAT: repeat = (int)opt_long(&o, 1, 1000); break;
		case O_TIMEOUT: q.read_timeout_ms = (int)(opt_duration(&o) * 1000); break;
		case O_NOPROXY: q.no_proxy = 1; break;
		case O_MEM: mem = 1; break;
		case OPT_POS:
			if (url)
				usage("one URL only");
			url = o.arg;
			break;
		default: usage("unexpected argument");
		}
	}
	if (!url)
		usage("a URL is needed");
	parse_url(url, &u, &target);
	q.url = &u;
	q.target = target;
	q.hdrs = hdrs;
	q.nhdrs = nh;
	if (data) {
		body.p = data;
		body.len = (int64_t)strlen(data);
		q.body = &body;
	} else if (upload) {
		struct stat st;
		if ((fd = open(upload, O_RDONLY)) < 0 || fstat(fd, &st))
			die_code(EX_NOTFOUND, "%s: %s", upload, strerror(errno));
		body.len = chunked ? -1 : (int64_t)st.st_size;
		body.read = file_read;
		body.rewind = file_rewind;
		body.ctx = &fd;
		q.body = &body;
	}
	http_pool_init(&pool, o.common.ca_bundle);
	for (int i = 0; i < repeat; i++) {
		struct hashsink hs = {.print = !sha};
		struct http_resp r;
		struct err e = {0};
		br_sha256_init(&hs.sha);
		q.sink = sink;
		q.sink_ctx = &hs;
		if (fd >= 0 && file_rewind(&fd))
			die("cannot rewind %s", upload);
		if (http_do(&pool, &q, &r, &e))
			die_err(&e, "%s %s", q.method, url);
		say_status(&hs, r.status);
		if (sha) {
			br_sha256_out(&hs.sha, dig);
			hex_encode(dig, sizeof dig, hex);
			printf("sha256 %s %llu\n", hex, (unsigned long long)hs.n);
		}
		http_resp_free(&r);
	}
	if (repeat > 1)
		printf("connects %lu\n", pool.connects);
	http_pool_free(&pool);
	if (fd >= 0)
		close(fd);
	if (mem)
		print_hwm();
	return fflush(stdout) ? EX_FAIL : EX_OK;
}
