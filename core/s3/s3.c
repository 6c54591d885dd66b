/* s3.c — S3 for s3cp and s3watch: s3:// URLs, HeadObject, ListObjectsV2 pages, checksums
 * (CRC combine, CRC-64/NVME, digests) and aws-chunked bodies with a trailing checksum (the write
 * requests are in s3put.c). https://docs.aws.amazon.com/AmazonS3/latest/API/ ; checksums:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html ; aws-chunked:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html */
#include "s3.h"

#include <bearssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHUNK (64 * 1024) /* aws-chunked chunk: small overhead, bounded memory */

/* ---- URLs, bucket names, keys ----------------------------------------------------------- */

int
s3_is_url(const char *s)
{
	return !strncmp(s, "s3://", 5);
}

const char *
s3_content_type(const char *name)
{
	static const char *const t[][2] = {
		{"html", "text/html"}, {"htm", "text/html"}, {"css", "text/css"}, {"js", "text/javascript"},
		{"mjs", "text/javascript"}, {"json", "application/json"}, {"txt", "text/plain"}, {"log", "text/plain"},
		{"md", "text/markdown"}, {"csv", "text/csv"}, {"tsv", "text/tab-separated-values"}, {"xml", "application/xml"},
		{"yaml", "application/yaml"}, {"yml", "application/yaml"}, {"png", "image/png"}, {"jpg", "image/jpeg"},
		{"jpeg", "image/jpeg"}, {"gif", "image/gif"}, {"webp", "image/webp"}, {"svg", "image/svg+xml"},
		{"ico", "image/vnd.microsoft.icon"}, {"pdf", "application/pdf"}, {"zip", "application/zip"},
		{"gz", "application/gzip"}, {"tgz", "application/gzip"}, {"tar", "application/x-tar"},
		{"bz2", "application/x-bzip2"}, {"xz", "application/x-xz"}, {"zst", "application/zstd"},
		{"wasm", "application/wasm"}, {"mp4", "video/mp4"}, {"mp3", "audio/mpeg"}, {"woff2", "font/woff2"},
		{"parquet", "application/vnd.apache.parquet"}, {"sh", "text/x-shellscript"},
	};
	const char *b = file_base(name), *dot = strrchr(b, '.');

	if (!dot || dot == b)
		return NULL;
	for (size_t i = 0; i < COUNT(t); i++)
		if (!strcasecmp(dot + 1, t[i][0]))
			return t[i][1];
	return NULL;
}

int
s3_rel_path_safe(const char *rel)
{
	for (const char *p = rel; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && !strncmp(p, "..", 2))
			return 0;
		p += n + (p[n] == '/');
	}
	return *rel && rel[strlen(rel) - 1] != '/';
}

int
s3_valid_key(const char *k, size_t n, struct err *e)
{
	if (n > 1024)
		return err_set(e, E_USAGE, "S3 key too long (%zu bytes; at most 1024)", n);
	if (!utf8_valid(k, n))
		return err_set(e, E_USAGE, "S3 key is not valid UTF-8");
	return 0;
}

int
s3_parse_url(const char *s, struct s3url *u, struct err *e)
{
	const char *b, *slash;
	size_t bn;
	char shown[128]; /* a hostile URL may be long: messages show its start */

	memset(u, 0, sizeof *u);
	snprintf(shown, sizeof shown, "%.100s%s", s, strlen(s) > 100 ? "..." : "");
	if (!s3_is_url(s))
		return err_set(e, E_USAGE, "'%s' is not an s3:// URL", shown);
	b = s + 5;
	slash = strchr(b, '/');
	if (!strncmp(b, "arn:", 4)) {
		/* An access point ARN names the bucket (as the AWS CLI takes it):
		 * arn:PARTITION:s3:REGION:ACCOUNT:accesspoint[/:]NAME, then /KEY. */
		const char *r = b;
		for (int i = 0; i < 5 && r; i++)
			r = strchr(r, ':') ? strchr(r, ':') + 1 : NULL;
		if (!r || strncmp(r, "accesspoint", 11) || (r[11] != '/' && r[11] != ':') || !r[12] || r[12] == '/')
			return err_set(e, E_USAGE, "'%s': not an S3 access point ARN "
						   "(s3://arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME/KEY)", shown);
		slash = strchr(r + 12, '/');
	}
	bn = slash ? (size_t)(slash - b) : strlen(b);
	/* botocore's rule ([A-Za-z0-9._-]{1,255}), which admits legacy us-east-1 names; the service
	 * enforces the rest. Anything else (but an access point ARN) is refused here. */
	if (!bn || bn >= sizeof u->bucket)
		return err_set(e, E_USAGE, "'%s': missing or overlong bucket name", shown);
	for (size_t i = 0; i < bn; i++) {
		char c = b[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_' || ((c == ':' || c == '/') && b[0] == 'a' && !strncmp(b, "arn:", 4))))
			return err_set(e, E_USAGE, "'%s': invalid bucket name", shown);
	}
	memcpy(u->bucket, b, bn);
	u->bucket[bn] = 0;
	const char *k = slash ? slash + 1 : "";
	if (s3_valid_key(k, strlen(k), e))
		return err_prefix(e, 0, shown);
	u->key = xstrdup(k);
	return 0;
}

void
s3url_free(struct s3url *u)
{
	free(u->key);
	u->key = NULL;
}

/* ---- checksums -------------------------------------------------------------------------- */

static const struct {
	const char *name, *upper;
	int bits; /* CRCs: width; else 0 */
	uint64_t poly; /* reflected */
} cks[] = {
	[S3_CK_NONE] = {"none", "NONE", 0, 0},
	[S3_CK_CRC32C] = {"crc32c", "CRC32C", 32, 0x82F63B78u},
	[S3_CK_CRC32] = {"crc32", "CRC32", 32, 0xEDB88320u},
	[S3_CK_CRC64NVME] = {"crc64nvme", "CRC64NVME", 64, 0x9A6C9329AC4BC9B5ull},
	[S3_CK_SHA256] = {"sha256", "SHA256", 0, 0},
	[S3_CK_SHA1] = {"sha1", "SHA1", 0, 0},
	[S3_CK_MD5] = {"md5", "MD5", 0, 0},
};

const char *
s3_ck_name(int ck)
{
	return ck >= 0 && ck < (int)COUNT(cks) ? cks[ck].name : "?";
}

const char *
s3_ck_upper(int ck)
{
	return ck >= 0 && ck < (int)COUNT(cks) ? cks[ck].upper : "?";
}

int
s3_ck_parse(const char *name)
{
	for (size_t i = 0; i < COUNT(cks); i++)
		if (!strcasecmp(name, cks[i].name))
			return (int)i;
	return -1;
}

int
s3_ck_is_crc(int ck)
{
	return ck > 0 && ck < (int)COUNT(cks) && cks[ck].bits;
}

/* Products modulo the CRC polynomial, in the reflected order where the top bit is x^0. */
static uint64_t
gf_mul(uint64_t a, uint64_t b, int bits, uint64_t poly)
{
	uint64_t top = (uint64_t)1 << (bits - 1), r = 0;

	for (int i = 0; i < bits; i++) {
		if (a & (top >> i))
			r ^= b;
		b = b & 1 ? b >> 1 ^ poly : b >> 1; /* b *= x */
	}
	return r;
}

uint64_t
s3_crc_combine(int ck, uint64_t crc_a, uint64_t crc_b, uint64_t len_b)
{
	int bits = cks[ck].bits;
	uint64_t poly = cks[ck].poly, top = (uint64_t)1 << (bits - 1);
	uint64_t r = top, sq = top >> 8; /* x^0, and x^8: one zero byte */

	/* crc(A||B) = crc(A) * x^(8 len(B)) + crc(B): the pre- and post-inversions cancel. */
	for (; len_b; len_b >>= 1) {
		if (len_b & 1)
			r = gf_mul(r, sq, bits, poly);
		sq = gf_mul(sq, sq, bits, poly);
	}
	return gf_mul(r, crc_a, bits, poly) ^ crc_b;
}

/* SHA-1 and MD5 (SHA-256 is sum.c's, with the CPU's SHA extensions when it has them). */
static const br_hash_class *
hash_class(int ck)
{
	return ck == S3_CK_SHA1 ? &br_sha1_vtable : &br_md5_vtable;
}

void
s3_sum_init(struct s3_sum *s, int ck)
{
	_Static_assert(sizeof s->ctx >= sizeof(br_hash_compat_context), "s3_sum ctx too small");
	_Static_assert(sizeof s->ctx >= sizeof(struct sha256), "s3_sum ctx too small");
	memset(s, 0, sizeof *s);
	s->ck = ck;
	if (ck == S3_CK_SHA256)
		sha256_init((struct sha256 *)(void *)s->ctx);
	else if (ck != S3_CK_NONE && !s3_ck_is_crc(ck))
		hash_class(ck)->init((const br_hash_class **)(void *)s->ctx);
}

void
s3_sum_update(struct s3_sum *s, const void *p, size_t n)
{
	switch (s->ck) {
	case S3_CK_NONE:
		break;
	case S3_CK_CRC32C:
		s->crc = crc32c_update((uint32_t)s->crc, p, n);
		break;
	case S3_CK_CRC32:
		s->crc = crc32_update((uint32_t)s->crc, p, n);
		break;
	case S3_CK_CRC64NVME:
		s->crc = crc64nvme_update(s->crc, p, n);
		break;
	case S3_CK_SHA256:
		sha256_update((struct sha256 *)(void *)s->ctx, p, n);
		break;
	default:
		hash_class(s->ck)->update((const br_hash_class **)(void *)s->ctx, p, n);
	}
}

size_t
s3_sum_raw(const struct s3_sum *s, unsigned char raw[64])
{
	if (s3_ck_is_crc(s->ck)) {
		int nb = cks[s->ck].bits / 8;
		for (int i = 0; i < nb; i++)
			raw[i] = (unsigned char)(s->crc >> (8 * (nb - 1 - i)));
		return (size_t)nb;
	}
	if (s->ck == S3_CK_NONE)
		return 0;
	if (s->ck == S3_CK_SHA256) {
		sha256_out((const struct sha256 *)(const void *)s->ctx, raw);
		return 32;
	}
	const br_hash_class *hc = hash_class(s->ck);
	hc->out((const br_hash_class *const *)(const void *)s->ctx, raw);
	return (hc->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK;
}

void
s3_sum_b64(const struct s3_sum *s, char out[96])
{
	unsigned char raw[64];

	b64_encode(raw, s3_sum_raw(s, raw), out);
}

void
s3_crc_b64(int ck, uint64_t crc, char out[96])
{
	struct s3_sum s = {.ck = ck, .crc = crc};

	s3_sum_b64(&s, out);
}

/* ---- HeadObject --------------------------------------------------------------------------- */

/* A header value as a C string, truncated to n - 1; "" if absent. */
static void
hdr(const struct http_resp *r, const char *name, char *out, size_t n)
{
	size_t len;
	const char *v = http_header(r, name, &len);

	if (!v)
		len = 0;
	if (len >= n)
		len = n - 1;
	memcpy(out, v ? v : "", len);
	out[len] = 0;
}

/* "...-N" -> N (1..10000), else 0. */
static int
dash_parts(const char *s)
{
	const char *d = strrchr(s, '-');
	long n = 0;

	if (!d || !d[1])
		return 0;
	for (const char *p = d + 1; *p && *p != '"'; p++) {
		if (*p < '0' || *p > '9' || n > 100000)
			return 0;
		n = n * 10 + (*p - '0');
	}
	return n >= 1 && n <= 10000 ? (int)n : 0;
}

void
s3obj_from_resp(const struct http_resp *r, struct s3obj *o)
{
	char v[128], type[32];
	size_t n;
	const char *lm;

	buf_reset(&o->head);
	buf_add(&o->head, r->head.p ? r->head.p : "", r->head.len);
	o->size = r->content_length;
	o->mtime = 0;
	if ((lm = http_header(r, "last-modified", &n)))
		time_parse_http(lm, n, &o->mtime);
	hdr(r, "etag", o->etag, sizeof o->etag);
	o->mp_parts = dash_parts(o->etag);
	hdr(r, "x-amz-server-side-encryption", v, sizeof v);
	o->kms = !strcmp(v, "aws:kms") || !strcmp(v, "aws:kms:dsse") ||
		 http_header(r, "x-amz-server-side-encryption-customer-algorithm", NULL);
	hdr(r, "x-amz-checksum-type", type, sizeof type);
	o->ck = S3_CK_NONE;
	o->ckval[0] = 0;
	o->ck_composite = o->ck_parts = 0;
	/* The strongest one S3 reports, should it report several. */
	static const int order[] = {S3_CK_SHA256, S3_CK_SHA1, S3_CK_CRC64NVME, S3_CK_CRC32C, S3_CK_CRC32};
	for (size_t i = 0; i < COUNT(order) && !o->ck; i++) {
		char name[48];
		snprintf(name, sizeof name, "x-amz-checksum-%s", s3_ck_name(order[i]));
		hdr(r, name, v, sizeof v);
		if (!v[0] || strlen(v) >= sizeof o->ckval)
			continue;
		o->ck = order[i];
		o->ck_parts = dash_parts(v);
		char *d = strchr(v, '-');
		if (d)
			*d = 0;
		snprintf(o->ckval, sizeof o->ckval, "%s", v);
	}
	/* A multipart object's checksum covers the whole object only when S3 says FULL_OBJECT;
	 * otherwise it is a checksum of the parts' checksums. */
	if (o->ck)
		o->ck_composite = o->ck_parts || !strcasecmp(type, "COMPOSITE") ||
				  (o->mp_parts && strcasecmp(type, "FULL_OBJECT"));
	if (o->ck_composite && !o->ck_parts)
		o->ck_parts = o->mp_parts;
}

int
s3_head(struct aws *a, const char *bucket, const char *key, int part, struct s3obj *o, struct err *e)
{
	struct kv h[] = {{"x-amz-checksum-mode", "ENABLED"}};
	char pn[16];
	struct kv q[] = {{"partNumber", pn}};
	struct http_resp r;
	char *path = xasprintf("/%s", key);
	snprintf(pn, sizeof pn, "%d", part);
	struct aws_req rq = {.svc = &SVC_S3, .method = "HEAD", .bucket = bucket, .path = path, .query = q,
			     .nquery = part > 0, .hdrs = h, .nhdrs = !a->validation_when_required, .op = "HeadObject"};
	int rc = aws_call(a, &rq, &r, e);

	free(path);
	if (!rc) {
		s3obj_from_resp(&r, o);
		o->status = r.status;
		char cnt[16];
		hdr(&r, "x-amz-mp-parts-count", cnt, sizeof cnt);
		o->parts_count = atoi(cnt);
		/* S3 always sends one; a 200 without it is someone else's answer (a captive portal). */
		if (!o->etag[0])
			rc = err_set(e, E_PROTO, "HeadObject: the answer has no ETag: not from S3");
		/* The size decides how many bytes are fetched and checked: without it, nothing would be. */
		else if (o->size < 0)
			rc = err_set(e, E_PROTO, "HeadObject: the answer has no Content-Length: not from S3");
	}
	http_resp_free(&r);
	return rc;
}

void
s3_explain_head(struct aws *a, const char *bucket, const char *key, struct err *e)
{
	struct aws_req rq = {.svc = &SVC_S3, .method = "HEAD", .bucket = bucket, .path = "/", .op = "HeadBucket"};
	struct http_resp r;
	struct err be = {0};
	const char *wild = key && strpbrk(key, "*?[") ? "; wildcards are not expanded: copy a prefix with "
							 "s3cp -r --include REGEX" : "";

	if (e->kind == E_AWS && e->status == 403 && !e->code[0]) {
		/* A HEAD's 403 has no body: a one-byte GET gets S3's own words for the refusal. */
		char *path = xasprintf("/%s", key);
		struct kv h[] = {{"Range", "bytes=0-0"}};
		struct buf body = {0};
		struct aws_req g = {.svc = &SVC_S3, .method = "GET", .bucket = bucket, .path = path, .hdrs = h,
				    .nhdrs = 1, .op = "GetObject", .out = &body, .max = 65536};
		if (aws_call(a, &g, &r, &be) && be.kind == E_AWS && be.status == 403 && be.code[0])
			*e = be;
		http_resp_free(&r);
		buf_free(&body);
		free(path);
		return;
	}
	if (!(e->kind == E_AWS && e->status == 404))
		return;
	/* A HEAD's 404 has no body to say which: the bucket's own HEAD does. */
	int gone = aws_call(a, &rq, &r, &be) && be.kind == E_AWS && be.status == 404;
	http_resp_free(&r);
	if (gone) {
		snprintf(e->code, sizeof e->code, "NoSuchBucket");
		snprintf(e->msg, sizeof e->msg, "no such bucket '%s'", bucket);
	} else {
		snprintf(e->code, sizeof e->code, "NoSuchKey");
		snprintf(e->msg, sizeof e->msg, "no such key '%s' in bucket %s%s", key, bucket, wild);
	}
}

int
s3_exists(struct aws *a, const char *bucket, const char *key, int forbidden_absent, struct err *e)
{
	struct s3obj d = {0};
	int rc = 1;

	if (s3_head(a, bucket, key, 0, &d, e))
		rc = e->kind == E_AWS && (e->status == 404 || (forbidden_absent && e->status == 403)) ? 0 : -1;
	s3obj_free(&d);
	return rc;
}

void
s3obj_free(struct s3obj *o)
{
	buf_free(&o->head);
}

/* ---- ListObjectsV2 ---------------------------------------------------------------------- */

/* encoding-type=url: percent escapes, and '+' for a space (botocore decodes with unquote_plus). */
static int
url_decode_plus(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			buf_addc(out, ' ');
		} else if (s[i] == '%') {
			if (uri_decode(s + i, n - i < 3 ? n - i : 3, out))
				return -1;
			i += 2;
		} else {
			buf_addc(out, s[i]);
		}
	}
	return 0;
}

/* A listed key into l->key: decoded if the page is URL-encoded. */
static int
list_key(struct s3_list *l, const struct buf *t)
{
	if (l->encoded)
		return url_decode_plus(t->p ? t->p : "", t->len, &l->key);
	buf_add(&l->key, t->p ? t->p : "", t->len);
	return 0;
}

static int
fetch_page(struct aws *a, struct s3_list *l, struct err *e)
{
	struct kv q[6];
	int n = 0;
	char mk[16];
	struct http_resp r;

	q[n++] = (struct kv){"list-type", "2"};
	q[n++] = (struct kv){"encoding-type", "url"};
	if (l->prefix && *l->prefix)
		q[n++] = (struct kv){"prefix", l->prefix};
	if (l->token.len)
		q[n++] = (struct kv){"continuation-token", l->token.p};
	if (l->max_keys > 0) {
		snprintf(mk, sizeof mk, "%d", l->max_keys);
		q[n++] = (struct kv){"max-keys", mk};
	}
	struct aws_req rq = {.svc = &SVC_S3, .method = "GET", .bucket = l->bucket, .path = "/", .query = q,
			     .nquery = n, .out = &l->page, .max = 64 << 20, .op = "ListObjectsV2",
			     .deadline = l->deadline};
	if (aws_call(a, &rq, &r, e)) {
		http_resp_free(&r);
		return -1;
	}
	size_t dn;
	const char *d = http_header(&r, "date", &dn);
	time_t t;
	if (d && !time_parse_http(d, dn, &t))
		l->server_now = t;
	http_resp_free(&r);
	struct xml tr, tok;
	if (xml_root(l->page.p ? l->page.p : "", l->page.len, &l->root) || !slice_eq(l->root.name, "ListBucketResult"))
		return err_set(e, E_PROTO, "ListObjectsV2 s3://%s: unexpected response", l->bucket);
	l->truncated = !xml_child(l->root, "IsTruncated", &tr) && slice_eq(slice_trim(tr.body), "true");
	/* Keys are URL-encoded only when the answer says so: a server may ignore encoding-type
	 * (botocore decodes on the same condition). */
	l->encoded = !xml_child(l->root, "EncodingType", &tr) && slice_eq(slice_trim(tr.body), "url");
	char *sent = l->token.len ? xstrdup(l->token.p) : NULL;
	int same = 0;
	buf_reset(&l->token);
	if (l->truncated && (xml_child(l->root, "NextContinuationToken", &tok) || xml_text(tok, &l->token) || !l->token.len))
		err_set(e, E_PROTO, "ListObjectsV2 s3://%s: truncated without a continuation token", l->bucket);
	else if (l->truncated && sent && !strcmp(sent, l->token.p)) /* it would list the same page forever */
		same = err_set(e, E_PROTO, "ListObjectsV2 s3://%s: the server repeated a continuation token", l->bucket);
	free(sent);
	if (l->truncated && (!l->token.len || same))
		return -1;
	l->pos = 0;
	l->have_page = 1;
	return 0;
}

int
s3_list_next(struct aws *a, struct s3_list *l, struct s3_entry *ent, struct err *e)
{
	struct xml c, v;
	struct buf t = {0};

	for (;;) {
		if (!l->have_page) {
			if (l->done)
				return 0;
			if (fetch_page(a, l, e))
				return -1;
		}
		while (!xml_next(l->root, &l->pos, &c)) {
			if (!slice_eq(c.name, "Contents"))
				continue;
			memset(ent, 0, sizeof *ent);
			buf_reset(&l->key);
			buf_adds(&l->key, "");
			if (xml_child(c, "Key", &v) || xml_text(v, &t) || list_key(l, &t)) {
				buf_free(&t);
				return err_set(e, E_PROTO, "ListObjectsV2 s3://%s: bad key in response", l->bucket);
			}
			buf_reset(&t);
			ent->key = l->key.p;
			ent->key_len = l->key.len;
			if (!xml_child(c, "Size", &v) && !xml_text(v, &t))
				ent->size = strtoll(t.p ? t.p : "0", NULL, 10);
			buf_reset(&t);
			if (!xml_child(c, "LastModified", &v) && !xml_text(v, &t) && t.len)
				time_parse_iso8601(t.p, t.len, &ent->mtime);
			buf_reset(&t);
			if (!xml_child(c, "ETag", &v) && !xml_text(v, &t) && t.len < sizeof ent->etag)
				memcpy(ent->etag, t.p ? t.p : "", t.len + (t.p != NULL));
			buf_free(&t);
			return 1;
		}
		l->have_page = 0;
		l->done = !l->truncated;
	}
}

void
s3_list_free(struct s3_list *l)
{
	buf_free(&l->page);
	buf_free(&l->token);
	buf_free(&l->key);
}

/* ---- aws-chunked with a trailing checksum ------------------------------------------------ */

enum { CK_DATA, CK_DONE };

/* The framing after a chunk's data (or at the start): its CR LF, then the next chunk's size line
 * (a full CHUNK bytes unless the data ends: awschunked_length's rule), or after the last one
 * "0\r\n", "name:value\r\n", "\r\n". */
static void
chunked_frame(struct s3_chunked *c, int after_data)
{
	int n = 0;

	if (after_data)
		c->buf[n++] = '\r', c->buf[n++] = '\n';
	if (c->left) {
		/* The size in hex, by hand: once per 64 KiB, stdio's formatting showed in the profile. */
		char t[16];
		int k = 0;
		c->chunk = c->left < CHUNK ? (size_t)c->left : CHUNK;
		for (size_t v = c->chunk; v; v >>= 4)
			t[k++] = "0123456789abcdef"[v & 15];
		while (k)
			c->buf[n++] = t[--k];
		c->buf[n++] = '\r', c->buf[n++] = '\n';
	} else {
		char v[96];
		s3_sum_b64(&c->sum, v);
		n += snprintf(c->buf + n, CHUNKED_FRAME - (size_t)n, "0\r\nx-amz-checksum-%s:%s\r\n\r\n", s3_ck_name(c->ck), v);
		c->state = CK_DONE;
	}
	c->pos = 0;
	c->len = (size_t)n;
}

/* The data goes from the source straight into out (over TLS, BearSSL's record buffer: no copy
 * here), and its checksum is taken there while it is in cache; only the framing is copied. */
static long
chunked_read(void *ctx, void *out, size_t n, struct err *e)
{
	struct s3_chunked *c = ctx;
	char *o = out;
	size_t done = 0;

	while (done < n) {
		if (c->pos < c->len) {
			size_t k = c->len - c->pos < n - done ? c->len - c->pos : n - done;
			memcpy(o + done, c->buf + c->pos, k);
			c->pos += k;
			done += k;
		} else if (c->chunk) {
			long k = c->src.read(c->src.ctx, o + done, c->chunk < n - done ? c->chunk : n - done, e);
			if (k < 0)
				return -1;
			if (k == 0)
				return err_set(e, E_IO, "upload source ended %lld bytes early", (long long)c->left);
			s3_sum_update(&c->sum, o + done, (size_t)k);
			done += (size_t)k;
			c->chunk -= (size_t)k;
			c->left -= k;
			if (!c->chunk)
				chunked_frame(c, 1);
		} else if (c->state == CK_DONE) {
			break;
		} else {
			chunked_frame(c, 0);
		}
	}
	return (long)done;
}

static int
chunked_rewind(void *ctx)
{
	struct s3_chunked *c = ctx;

	if (!c->src.rewind || c->src.rewind(c->src.ctx))
		return -1;
	s3_sum_init(&c->sum, c->ck);
	c->pos = c->len = c->chunk = 0;
	c->left = c->src.len;
	c->state = CK_DATA;
	return 0;
}

void
s3_chunked_init(struct s3_chunked *c, const struct s3_src *src, int ck, struct http_body *body)
{
	char v[96];

	memset(c, 0, sizeof *c);
	c->src = *src;
	c->ck = ck;
	c->buf = xmalloc(CHUNKED_FRAME);
	s3_sum_init(&c->sum, ck);
	s3_sum_b64(&c->sum, v); /* the value's length does not depend on the data */
	snprintf(c->trailer, sizeof c->trailer, "x-amz-checksum-%s", s3_ck_name(ck));
	c->left = src->len;
	*body = (struct http_body){NULL, awschunked_length(src->len, CHUNK, c->trailer, strlen(v)), chunked_read,
				   chunked_rewind, c};
}

void
s3_chunked_free(struct s3_chunked *c)
{
	free(c->buf);
	c->buf = NULL;
}
