/* httphead.c — HTTP header fields (RFC 9110 section 5): lookup in a response head, list tokens,
 * and the --debug trace of heads with credentials and presigned signatures redacted. */
#include "conn.h"

#include <string.h>

/* ---- headers ---- */

static int
tok_ieq(const char *a, size_t n, const char *z)
{
	return slice_ieq((struct slice){a, n}, z);
}

/* Iterates r->head: each line is "name: value\n". */
int
http_next_header(const struct buf *h, size_t *pos, struct slice *name, struct slice *val)
{
	while (*pos < h->len) {
		const char *l = h->p + *pos, *end = memchr(l, '\n', h->len - *pos), *colon;
		size_t n = end ? (size_t)(end - l) : h->len - *pos;
		*pos += n + (end != NULL);
		if (!(colon = memchr(l, ':', n)))
			continue;
		*name = (struct slice){l, (size_t)(colon - l)};
		*val = slice_trim((struct slice){colon + 1, n - (size_t)(colon - l) - 1});
		return 1;
	}
	return 0;
}

const char *
http_header(const struct http_resp *r, const char *name, size_t *len)
{
	struct slice k, v;
	size_t pos = 0;

	while (http_next_header(&r->head, &pos, &k, &v)) {
		if (slice_ieq(k, name)) {
			if (len)
				*len = v.n;
			return v.p;
		}
	}
	if (len)
		*len = 0;
	return NULL;
}

int
http_header_copy(const struct http_resp *r, const char *name, char *out, size_t n)
{
	size_t len;
	const char *v = http_header(r, name, &len);

	if (n)
		out[0] = 0;
	if (!v || len >= n)
		return -1;
	memcpy(out, v, len);
	out[len] = 0;
	return 0;
}

void
http_resp_free(struct http_resp *r)
{
	buf_free(&r->head);
}

/* Whether a comma-separated header value holds token (case-insensitive). */
int
has_token(struct slice v, const char *token)
{
	while (v.n) {
		const char *comma = memchr(v.p, ',', v.n);
		size_t n = comma ? (size_t)(comma - v.p) : v.n;
		if (slice_ieq(slice_trim((struct slice){v.p, n}), token))
			return 1;
		v.p += n + (comma != NULL);
		v.n -= n + (comma != NULL);
	}
	return 0;
}

/* ---- debug tracing, secrets redacted ---- */

static int
secret_header(struct slice k)
{
	static const char *const names[] = {
		"proxy-authorization", "x-amz-security-token", "x-aws-ec2-metadata-token", "cookie", "set-cookie",
		"x-amz-sso_bearer_token",
		"x-amz-server-side-encryption-customer-key", "x-amz-copy-source-server-side-encryption-customer-key",
	};
	for (size_t i = 0; i < COUNT(names); i++)
		if (slice_ieq(k, names[i]))
			return 1;
	return 0;
}

void
dbg_header(char dir, struct slice k, struct slice v)
{
	if (slice_ieq(k, "authorization")) {
		/* SigV4: Credential and SignedHeaders help debugging; the signature does not. */
		const char *sig = memmem(v.p, v.n, "Signature=", 10);
		if (v.n > 17 && !memcmp(v.p, "AWS4-HMAC-SHA256 ", 17) && sig)
			dbg("%c %.*s: %.*sSignature=<redacted>", dir, (int)k.n, k.p, (int)(sig - v.p), v.p);
		else
			dbg("%c %.*s: <redacted>", dir, (int)k.n, k.p);
	} else if (secret_header(k)) {
		dbg("%c %.*s: <redacted>", dir, (int)k.n, k.p);
	} else {
		dbg("%c %.*s: %.*s", dir, (int)k.n, k.p, (int)v.n, v.p);
	}
}

/* The request line with presigned-URL secrets (X-Amz-Signature, X-Amz-Security-Token) hidden. */
void
dbg_request_line(const char *method, const char *target)
{
	struct buf b = {0};
	const char *q = strchr(target, '?');

	if (!g_debug)
		return;
	buf_add(&b, target, q ? (size_t)(q - target) : strlen(target));
	while (q && *q) {
		const char *p = q + 1, *amp = strchr(p, '&'), *eq;
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		buf_addc(&b, *q);
		eq = memchr(p, '=', n);
		if (eq && (tok_ieq(p, (size_t)(eq - p), "X-Amz-Signature") ||
			   tok_ieq(p, (size_t)(eq - p), "X-Amz-Security-Token"))) {
			buf_add(&b, p, (size_t)(eq - p) + 1);
			buf_adds(&b, "<redacted>");
		} else {
			buf_add(&b, p, n);
		}
		q = amp;
	}
	dbg("> %s %s HTTP/1.1", method, b.p);
	buf_free(&b);
}

void
dbg_head(char dir, const struct buf *h)
{
	struct slice k, v;
	size_t pos = 0;

	if (!g_debug)
		return;
	while (http_next_header(h, &pos, &k, &v))
		dbg_header(dir, k, v);
}
