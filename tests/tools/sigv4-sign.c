/* sigv4-sign.c — test tool: signs requests read from stdin with core/req/sigv4.c, for
 * tests/integration/test_sigv4_botocore.py (which checks the results against botocore).
 *
 * Input, one item a line, fields split by single spaces; X is hex-encoded bytes (maybe empty):
 *   method M            path X               s3 0|1
 *   q X [X]             a query pair (raw); no value field: a NULL value
 *   h X X               a header (name, raw value), in order
 *   body X              the payload; its SHA-256 is signed unless "payload" names a literal
 *   payload LITERAL     UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, or "body"
 *   creds AKID X [X]    access key, secret, session token
 *   at AMZDATE REGION SERVICE
 *   presign EXPIRES     presign in the query instead of an Authorization header
 *   sign                prints "creq X", "sts X" and "auth X" (the Authorization value, or the
 *                       presigned query), then forgets the request
 *   chunked DECODED CHUNK NAME VALUELEN   prints "len N" (awschunked_length)
 * For a presigned request creq and sts are those a server rebuilds from the presigned query. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXF 8
#define MAXKV 256

struct req {
	char *method, *path, *payload, *akid, *secret, *token, *amzdate, *region, *service;
	struct buf body;
	struct kv q[MAXKV], h[MAXKV];
	int nq, nh, s3, presign, expires;
};

static char *
unhex(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(n / 2 + 1);

	if (n % 2)
		die("odd hex: %s", s);
	for (size_t i = 0; i < n; i += 2) {
		unsigned v;
		if (sscanf(s + i, "%2x", &v) != 1)
			die("bad hex: %s", s);
		out[i / 2] = (char)v;
	}
	out[n / 2] = 0;
	return out;
}

static void
put_hex(const char *tag, const char *s, size_t n)
{
	printf("%s ", tag);
	for (size_t i = 0; i < n; i++)
		printf("%02x", (unsigned char)s[i]);
	putchar('\n');
}

static void
req_free(struct req *r)
{
	char **s[] = {&r->method, &r->path, &r->payload, &r->akid, &r->secret, &r->token,
		      &r->amzdate, &r->region, &r->service};

	for (size_t i = 0; i < COUNT(s); i++)
		free(*s[i]);
	for (int i = 0; i < r->nq; i++)
		free((char *)r->q[i].k), free((char *)r->q[i].v);
	for (int i = 0; i < r->nh; i++)
		free((char *)r->h[i].k), free((char *)r->h[i].v);
	buf_free(&r->body);
	memset(r, 0, sizeof *r);
}

/* Splits the presigned query back into raw pairs without X-Amz-Signature, as a server would. */
static int
split_query(const char *qs, struct kv *out)
{
	int n = 0;
	char *dup = xstrdup(qs), *save = NULL;

	for (char *p = strtok_r(dup, "&", &save); p && n < MAXKV; p = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(p, '=');
		struct buf k = {0}, v = {0};
		if (!eq)
			die("presigned pair without '=': %s", p);
		if (uri_decode(p, (size_t)(eq - p), &k) || uri_decode(eq + 1, strlen(eq + 1), &v))
			die("bad escape in presigned query");
		if (!strcmp(k.p ? k.p : "", "X-Amz-Signature")) {
			buf_free(&k), buf_free(&v);
			continue;
		}
		out[n++] = (struct kv){buf_take(&k), buf_take(&v)};
	}
	free(dup);
	return n;
}

static void
sign(struct req *r)
{
	char hash[65];
	struct creds c = {r->akid, r->secret, r->token, 0, "test", NULL};
	struct sigv4_req s = {r->method, r->path, r->q, r->nq, r->h, r->nh, r->payload, r->s3};
	struct buf creq = {0}, sh = {0}, sts = {0}, auth = {0};
	struct kv pq[MAXKV];
	int npq = 0;

	if (!r->payload || !strcmp(r->payload, "body")) {
		sha256_hex(r->body.p ? r->body.p : "", r->body.len, hash);
		s.payload_hash = hash;
	}
	if (!r->method || !r->akid || !r->amzdate)
		die("sign: method, creds and at are needed");
	if (r->presign) {
		sigv4_presign(&c, &s, r->amzdate, r->region, r->service, r->expires, &auth);
		s.query = pq;
		s.nquery = npq = split_query(auth.p, pq);
	} else {
		sigv4_authorization(&c, &s, r->amzdate, r->region, r->service, &auth);
	}
	sigv4_canonical(&s, &creq, &sh);
	sigv4_string_to_sign(creq.p, r->amzdate, r->region, r->service, &sts);
	put_hex("creq", creq.p, creq.len);
	put_hex("sts", sts.p, sts.len);
	put_hex("auth", auth.p, auth.len);
	for (int i = 0; i < npq; i++)
		free((char *)pq[i].k), free((char *)pq[i].v);
	buf_free(&creq), buf_free(&sh), buf_free(&sts), buf_free(&auth);
}

int
main(void)
{
	struct req r = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		char *f[MAXF] = {0}, *p = line;
		int n = 0;
		line[strcspn(line, "\r\n")] = 0;
		while (n < MAXF) {
			f[n++] = p;
			if (!(p = strchr(p, ' ')))
				break;
			*p++ = 0;
		}
		const char *k = f[0];
#define ARG(i) (n > (i) ? f[i] : (die("%s: missing field", k), ""))
		if (!strcmp(k, "method"))
			r.method = xstrdup(ARG(1));
		else if (!strcmp(k, "path"))
			r.path = unhex(ARG(1));
		else if (!strcmp(k, "s3"))
			r.s3 = atoi(ARG(1));
		else if (!strcmp(k, "q") && r.nq < MAXKV)
			r.q[r.nq++] = (struct kv){unhex(ARG(1)), n > 2 ? unhex(f[2]) : NULL};
		else if (!strcmp(k, "h") && r.nh < MAXKV)
			r.h[r.nh++] = (struct kv){unhex(ARG(1)), unhex(ARG(2))};
		else if (!strcmp(k, "body")) {
			char *b = unhex(ARG(1));
			buf_add(&r.body, b, strlen(ARG(1)) / 2);
			free(b);
		} else if (!strcmp(k, "payload"))
			r.payload = xstrdup(ARG(1));
		else if (!strcmp(k, "creds")) {
			r.akid = xstrdup(ARG(1));
			r.secret = unhex(ARG(2));
			r.token = n > 3 ? unhex(f[3]) : NULL;
		} else if (!strcmp(k, "at")) {
			r.amzdate = xstrdup(ARG(1));
			r.region = xstrdup(ARG(2));
			r.service = xstrdup(ARG(3));
		} else if (!strcmp(k, "presign")) {
			r.presign = 1;
			r.expires = atoi(ARG(1));
		} else if (!strcmp(k, "sign")) {
			sign(&r);
			req_free(&r);
		} else if (!strcmp(k, "chunked"))
			printf("len %lld\n", (long long)awschunked_length(atoll(ARG(1)), (size_t)atoll(ARG(2)), ARG(3),
									(size_t)atoll(ARG(4))));
		else if (*k)
			die("unknown line: %s", k);
	}
	free(line);
	req_free(&r);
	return fflush(stdout) ? 1 : 0;
}
