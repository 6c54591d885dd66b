/* sigv4.c — AWS Signature Version 4: canonical request, string to sign, header auth, presign,
 * aws-chunked lengths (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html;
 * botocore's auth.py SigV4Auth, S3SigV4Auth and SigV4QueryAuth are the reference behaviour). */
#include "req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALGO "AWS4-HMAC-SHA256"

void
creds_free(struct creds *c)
{
	char **s[] = {&c->akid, &c->secret, &c->token, &c->account};

	for (size_t i = 0; i < COUNT(s); i++) {
		if (*s[i]) {
			memzero(*s[i], strlen(*s[i]));
			free(*s[i]);
		}
	}
	memzero(c, sizeof *c);
}

/* ---- canonical query -------------------------------------------------------------------- */

struct qpair {
	char *k, *v; /* encoded */
};

static int
qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c ? c : strcmp(x->v, y->v);
}

static char *
encoded(const char *s)
{
	struct buf t = {0};

	buf_adds(&t, ""); /* a string even when s is empty */
	uri_encode(&t, s, strlen(s), 0);
	return buf_take(&t);
}

void
sigv4_query(const struct kv *q, int n, struct buf *out)
{
	struct qpair *p;

	if (n <= 0)
		return;
	p = xcalloc((size_t)n, sizeof *p);
	for (int i = 0; i < n; i++) {
		p[i].k = encoded(q[i].k);
		p[i].v = encoded(q[i].v ? q[i].v : "");
	}
	/* Sorted by encoded name, then encoded value: byte order, as botocore sorts its pairs. */
	qsort(p, (size_t)n, sizeof *p, qpair_cmp);
	for (int i = 0; i < n; i++) {
		buf_printf(out, "%s%s=%s", i ? "&" : "", p[i].k, p[i].v);
		free(p[i].k);
		free(p[i].v);
	}
	free(p);
}

/* ---- canonical URI ---------------------------------------------------------------------- */

/* Non-S3: dot segments removed and empty segments dropped (botocore's remove_dot_segments),
 * then the already-encoded path is encoded again. S3: the path as sent. */
static void
canonical_uri(const char *path, int s3, struct buf *out)
{
	size_t n = path ? strlen(path) : 0, nseg = 0;
	struct slice *seg;
	struct buf norm = {0};

	if (!n) {
		buf_addc(out, '/');
		return;
	}
	if (s3) {
		buf_add(out, path, n);
		return;
	}
	seg = xcalloc(n / 2 + 2, sizeof *seg); /* kept segments are non-empty and '/'-separated */
	for (size_t i = 0; i <= n;) {
		const char *e = memchr(path + i, '/', n - i);
		size_t len = e ? (size_t)(e - path) - i : n - i;
		if (len == 2 && !memcmp(path + i, "..", 2)) {
			if (nseg)
				nseg--;
		} else if (len && !(len == 1 && path[i] == '.')) {
			seg[nseg++] = (struct slice){path + i, len};
		}
		i += len + 1;
	}
	if (path[0] == '/')
		buf_addc(&norm, '/');
	for (size_t i = 0; i < nseg; i++) {
		if (i)
			buf_addc(&norm, '/');
		buf_add(&norm, seg[i].p, seg[i].n);
	}
	if (path[n - 1] == '/' && nseg)
		buf_addc(&norm, '/');
	uri_encode(out, norm.p ? norm.p : "", norm.len, 1);
	buf_free(&norm);
	free(seg);
}

/* ---- canonical headers ------------------------------------------------------------------ */

/* Hop-by-hop and proxy-changed headers botocore never signs (SIGNED_HEADERS_BLACKLIST). */
static const char *const unsigned_hdrs[] = {
	"connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
	"trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
};

struct hname {
	char *name; /* lower case */
	int i;      /* index in r->hdrs: keeps repeated names in the order given */
};

static int
hname_cmp(const void *a, const void *b)
{
	const struct hname *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : x->i - y->i;
}

/* Python's str.split() whitespace in ASCII, which botocore's ' '.join(v.split()) collapses. */
static int
is_ws(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static void
add_trimmed(struct buf *b, const char *v)
{
	int gap = 0, any = 0;

	for (; *v; v++) {
		if (is_ws((unsigned char)*v)) {
			gap = 1;
			continue;
		}
		if (gap && any)
			buf_addc(b, ' ');
		buf_addc(b, *v);
		gap = 0;
		any = 1;
	}
}

/* "name:v1,v2\n" lines sorted by name into ch; "a;b" into sh. */
static void
canonical_headers(const struct sigv4_req *r, struct buf *ch, struct buf *sh)
{
	struct hname *h = xcalloc(r->nhdrs > 0 ? (size_t)r->nhdrs : 1, sizeof *h);
	int n = 0;

	for (int i = 0; i < r->nhdrs; i++) {
		char *name = xstrdup(r->hdrs[i].k);
		int skip = 0;
		for (char *p = name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p += 32;
		for (size_t j = 0; j < COUNT(unsigned_hdrs); j++)
			skip |= !strcmp(name, unsigned_hdrs[j]);
		if (skip)
			free(name);
		else
			h[n++] = (struct hname){name, i};
	}
	qsort(h, (size_t)n, sizeof *h, hname_cmp);
	for (int i = 0; i < n; i++) {
		int first = !i || strcmp(h[i - 1].name, h[i].name);
		if (first) {
			buf_printf(ch, "%s%s:", i ? "\n" : "", h[i].name);
			buf_printf(sh, "%s%s", i ? ";" : "", h[i].name);
		} else {
			buf_addc(ch, ',');
		}
		add_trimmed(ch, r->hdrs[h[i].i].v ? r->hdrs[h[i].i].v : "");
	}
	buf_addc(ch, '\n'); /* botocore ends the block so even with no headers */
	for (int i = 0; i < n; i++)
		free(h[i].name);
	free(h);
}

/* ---- canonical request, string to sign, signature --------------------------------------- */

void
sigv4_canonical(const struct sigv4_req *r, struct buf *creq, struct buf *signed_headers)
{
	buf_printf(creq, "%s\n", r->method);
	canonical_uri(r->path, r->s3, creq);
	buf_addc(creq, '\n');
	sigv4_query(r->query, r->nquery, creq);
	buf_addc(creq, '\n');
	canonical_headers(r, creq, signed_headers);
	buf_printf(creq, "\n%s\n%s", signed_headers->p ? signed_headers->p : "",
		   r->payload_hash ? r->payload_hash :
				     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

void
sigv4_string_to_sign(const char *creq, const char *amzdate, const char *region, const char *service,
		     struct buf *sts)
{
	char h[65];

	sha256_hex(creq, strlen(creq), h);
	buf_printf(sts, ALGO "\n%s\n%.8s/%s/%s/aws4_request\n%s", amzdate, amzdate, region, service, h);
}

/* The hex signature of sts: HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request". */
static void
signature(const struct creds *c, const char *amzdate, const char *region, const char *service,
	  const char *sts, char out[65])
{
	size_t n = strlen(c->secret) + 4;
	char *k0 = xmalloc(n);
	unsigned char k[32];

	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, c->secret, n - 4);
	hmac_sha256(k0, n, amzdate, strnlen(amzdate, 8), k);
	memzero(k0, n);
	free(k0);
	/* BearSSL takes the key in before writing out, so k may be both. */
	hmac_sha256(k, 32, region, strlen(region), k);
	hmac_sha256(k, 32, service, strlen(service), k);
	hmac_sha256(k, 32, "aws4_request", 12, k);
	hmac_sha256(k, 32, sts, strlen(sts), k);
	hex_encode(k, 32, out);
	memzero(k, sizeof k);
}

/* Canonical request -> string to sign -> signature, for r as it stands. */
static void
sign(const struct creds *c, const struct sigv4_req *r, const char *amzdate, const char *region,
     const char *service, struct buf *signed_headers, char sig[65])
{
	struct buf creq = {0}, sts = {0};

	sigv4_canonical(r, &creq, signed_headers);
	sigv4_string_to_sign(creq.p, amzdate, region, service, &sts);
	signature(c, amzdate, region, service, sts.p, sig);
	buf_free(&creq);
	buf_free(&sts);
}

void
sigv4_authorization(const struct creds *c, const struct sigv4_req *r, const char *amzdate, const char *region,
		    const char *service, struct buf *authz)
{
	struct buf sh = {0};
	char sig[65];

	sign(c, r, amzdate, region, service, &sh, sig);
	buf_printf(authz, ALGO " Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s", c->akid,
		   amzdate, region, service, sh.p ? sh.p : "", sig);
	buf_free(&sh);
}

void
sigv4_presign(const struct creds *c, const struct sigv4_req *r, const char *amzdate, const char *region,
	      const char *service, int expires, struct buf *out)
{
	struct buf ch = {0}, sh = {0}, sh2 = {0};
	struct sigv4_req q = *r;
	int n = r->nquery;
	struct kv *kv = xcalloc((size_t)n + 6, sizeof *kv);
	char *cred = xasprintf("%s/%.8s/%s/%s/aws4_request", c->akid, amzdate, region, service);
	char exp[24], sig[65];

	/* The X-Amz-* parameters are part of the signed query (the token too, as botocore does). */
	canonical_headers(r, &ch, &sh);
	snprintf(exp, sizeof exp, "%d", expires);
	if (n)
		memcpy(kv, r->query, (size_t)n * sizeof *kv);
	kv[n++] = (struct kv){"X-Amz-Algorithm", ALGO};
	kv[n++] = (struct kv){"X-Amz-Credential", cred};
	kv[n++] = (struct kv){"X-Amz-Date", amzdate};
	kv[n++] = (struct kv){"X-Amz-Expires", exp};
	kv[n++] = (struct kv){"X-Amz-SignedHeaders", sh.p ? sh.p : ""};
	if (c->token)
		kv[n++] = (struct kv){"X-Amz-Security-Token", c->token};
	q.query = kv;
	q.nquery = n;
	sign(c, &q, amzdate, region, service, &sh2, sig);
	sigv4_query(kv, n, out);
	buf_printf(out, "&X-Amz-Signature=%s", sig);
	buf_free(&ch);
	buf_free(&sh);
	buf_free(&sh2);
	free(cred);
	free(kv);
}

/* ---- aws-chunked ------------------------------------------------------------------------ */

static int64_t
hexlen(int64_t v)
{
	int64_t n = 1;

	while (v >= 16)
		v /= 16, n++;
	return n;
}

/* Each chunk "HEX\r\n<data>\r\n", then "0\r\n", "name:value\r\n" and "\r\n" (botocore's
 * AwsChunkedWrapper, with every read but the last a full chunk). -1 on nonsense input. */
int64_t
awschunked_length(int64_t decoded, size_t chunk, const char *trailer_name, size_t trailer_value_len)
{
	int64_t full, rest, len;

	if (decoded < 0 || !chunk || chunk > INT64_MAX / 4)
		return -1;
	full = decoded / (int64_t)chunk;
	rest = decoded % (int64_t)chunk;
	len = full * (hexlen((int64_t)chunk) + 4 + (int64_t)chunk);
	if (rest)
		len += hexlen(rest) + 4 + rest;
	return len + 3 + (int64_t)strlen(trailer_name) + 1 + (int64_t)trailer_value_len + 4;
}
