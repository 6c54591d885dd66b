/* s3put.c — the S3 requests that write: PutObject and UploadPart (choosing how the payload is
 * protected: signed SHA-256, a checksum header, or an aws-chunked trailer), multipart uploads'
 * create/complete/abort, CopyObject, UploadPartCopy, DeleteObject.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html */
#include "s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Headers of PutObject / CreateMultipartUpload / CopyObject from p into h[*n] (room for 12 + nmeta). */
static void
put_headers(const struct s3_put *p, struct kv *h, int *n, int for_create)
{
	if (p->acl)
		h[(*n)++] = (struct kv){"x-amz-acl", p->acl};
	if (p->sse)
		h[(*n)++] = (struct kv){"x-amz-server-side-encryption", p->sse};
	if (p->kms_key)
		h[(*n)++] = (struct kv){"x-amz-server-side-encryption-aws-kms-key-id", p->kms_key};
	if (p->storage_class)
		h[(*n)++] = (struct kv){"x-amz-storage-class", p->storage_class};
	if (p->content_type)
		h[(*n)++] = (struct kv){"content-type", p->content_type};
	if (p->cache_control)
		h[(*n)++] = (struct kv){"cache-control", p->cache_control};
	for (int i = 0; i < p->nmeta; i++)
		h[(*n)++] = p->meta[i];
	if (for_create && p->ck)
		h[(*n)++] = (struct kv){"x-amz-checksum-algorithm", s3_ck_upper(p->ck)};
}

int
s3_meta_parse(const char *kv, struct kv *out, struct err *e)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv)
		return err_set(e, E_USAGE, "expected KEY=VALUE, not '%s'", kv);
	for (const char *p = kv; p < eq; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.", *p)))
			return err_set(e, E_USAGE, "invalid key '%.*s' (letters, digits, '-', '_', '.')", (int)(eq - kv), kv);
	for (const char *p = eq + 1; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return err_set(e, E_USAGE, "values must be printable ASCII");
	char *name = xasprintf("x-amz-meta-%.*s", (int)(eq - kv), kv);
	for (char *p = name; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	*out = (struct kv){name, eq + 1};
	return 0;
}

int
s3_tls(struct aws *a, const char *bucket, struct err *e)
{
	struct endpoint ep;

	if (aws_endpoint(a, &SVC_S3, bucket, 1, &ep, e))
		return -1;
	return ep.url.tls;
}

/* Reads src from the start to its end, feeding both digests (plain HTTP signs the payload). */
static int
prepass(const struct s3_src *src, struct s3_sum *ck, char sha[65], struct err *e)
{
	struct sha256 sc;
	unsigned char h[32];
	char *b = xmalloc(256 * 1024);
	int64_t left = src->len;
	int rc = -1;

	sha256_init(&sc);
	while (left > 0) {
		long k = src->read(src->ctx, b, left < 256 * 1024 ? (size_t)left : 256 * 1024, e);
		if (k < 0)
			goto fail;
		if (k == 0) {
			err_set(e, E_IO, "upload source ended %lld bytes early", (long long)left);
			goto fail;
		}
		sha256_update(&sc, b, (size_t)k);
		s3_sum_update(ck, b, (size_t)k);
		left -= k;
	}
	sha256_out(&sc, h);
	hex_encode(h, 32, sha);
	if (!src->rewind || src->rewind(src->ctx)) {
		err_set(e, E_IO, "cannot re-read the upload source");
		goto fail;
	}
	rc = 0;
fail:
	free(b);
	return rc;
}

/* One PutObject or UploadPart as it is built. */
struct put {
	struct kv h[S3_PUT_HDRS], q[2];
	int n, nq;
	char pn[16], ckv[96], ckname[40], sha[65], dlen[24];
	struct http_body body;
	struct s3_chunked ch;
	struct s3_sum sum;
	const char *payload; /* x-amz-content-sha256: NULL (the body's hash), a hash or a keyword */
};

/* UploadPart: the part's query; PutObject: the object's headers. */
static void
put_target(struct put *u, const struct s3_put *p, const char *upload_id, int part)
{
	if (part) {
		snprintf(u->pn, sizeof u->pn, "%d", part);
		u->q[u->nq++] = (struct kv){"partNumber", u->pn};
		u->q[u->nq++] = (struct kv){"uploadId", upload_id};
	} else {
		put_headers(p, u->h, &u->n, 0);
		if (p->no_overwrite)
			u->h[u->n++] = (struct kv){"if-none-match", "*"};
	}
}

/* How the payload is protected, and the checksum's headers. */
static int
put_payload(struct put *u, const struct s3_put *p, int tls, const void *mem, const struct s3_src *src, int64_t len,
	    struct err *e)
{
	if (mem || !len) {
		/* In memory: the checksum first, then a header (botocore's choice for a known body). */
		s3_sum_update(&u->sum, mem ? mem : "", (size_t)len);
		u->body.p = mem ? mem : "";
	} else if (tls && p->ck) {
		/* Streamed over TLS: one pass, the checksum as a trailer; TLS guards the bytes on the way. */
		s3_chunked_init(&u->ch, src, p->ck, &u->body);
		u->payload = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
		snprintf(u->dlen, sizeof u->dlen, "%lld", (long long)len);
		u->h[u->n++] = (struct kv){"content-encoding", "aws-chunked"};
		u->h[u->n++] = (struct kv){"x-amz-decoded-content-length", u->dlen};
		u->h[u->n++] = (struct kv){"x-amz-trailer", u->ch.trailer};
	} else {
		u->body = (struct http_body){NULL, len, src->read, src->rewind, src->ctx};
		if (tls) {
			u->payload = "UNSIGNED-PAYLOAD";
		} else {
			/* Plain HTTP: sign the payload's SHA-256 (as botocore does), checksum in a header. */
			if (prepass(src, &u->sum, u->sha, e))
				return -1;
			u->payload = u->sha;
		}
	}
	if (p->ck) {
		u->h[u->n++] = (struct kv){"x-amz-sdk-checksum-algorithm", s3_ck_upper(p->ck)};
		if (!u->ch.buf) {
			snprintf(u->ckname, sizeof u->ckname, "x-amz-checksum-%s", s3_ck_name(p->ck));
			s3_sum_b64(&u->sum, u->ckv);
			u->h[u->n++] = (struct kv){u->ckname, u->ckv};
		}
	}
	return 0;
}

int
s3_put_body(struct aws *a, const char *bucket, const char *key, const struct s3_put *p, const char *upload_id,
	    int part, const void *mem, const struct s3_src *src, int64_t len, struct s3_part *out, struct err *e)
{
	struct put u = {.body = {mem, len, NULL, NULL, NULL}};
	struct http_resp r = {0};
	int tls, rc = -1;
	char *path = xasprintf("/%s", key);

	if ((tls = s3_tls(a, bucket, e)) < 0)
		goto fail;
	s3_sum_init(&u.sum, p->ck);
	put_target(&u, p, upload_id, part);
	if (put_payload(&u, p, tls, mem, src, len, e))
		goto fail;
	struct aws_req rq = {.svc = &SVC_S3, .method = "PUT", .bucket = bucket, .path = path, .query = u.q,
			     .nquery = u.nq, .hdrs = u.h, .nhdrs = u.n, .body = &u.body, .payload_hash = u.payload,
			     .op = part ? "UploadPart" : "PutObject", .stop = p->stop};
	if (aws_call(a, &rq, &r, e))
		goto fail;
	/* S3 always sends one; a 200 without it is someone else's answer (a captive portal). */
	if (!http_header(&r, "etag", NULL)) {
		err_set(e, E_PROTO, "%s: the answer has no ETag: not from S3", rq.op);
		goto fail;
	}
	if (out) {
		http_header_copy(&r, "etag", out->etag, sizeof out->etag);
		out->ck[0] = 0;
		if (u.ch.buf)
			s3_sum_b64(&u.ch.sum, out->ck);
		else if (p->ck)
			snprintf(out->ck, sizeof out->ck, "%s", u.ckv);
		out->size = len;
	}
	rc = 0;
fail:
	http_resp_free(&r);
	s3_chunked_free(&u.ch);
	free(path);
	return rc;
}

/* S3 may answer 200 and put an <Error> in the body (CompleteMultipartUpload, CopyObject). */
static int
body_error(const struct buf *b, const char *op, struct err *e)
{
	struct xml root;

	if (xml_root(b->p ? b->p : "", b->len, &root))
		return err_set(e, E_PROTO, "%s: unexpected response", op);
	if (!slice_eq(root.name, "Error"))
		return 0;
	char *code = xml_path_strdup(root, "Code"), *msg = xml_path_strdup(root, "Message");
	err_set(e, E_AWS, "%s", msg ? msg : "error in a 200 response");
	e->status = 200;
	snprintf(e->code, sizeof e->code, "%s", code ? code : "InternalError");
	free(code);
	free(msg);
	return -1;
}

/* rq on the object key of rq->bucket (the path is set here), its answer's body in rq->out when
 * asked for; check: an <Error> in a 200 answer is an error too. */
static int
send_key(struct aws *a, struct aws_req *rq, const char *key, int check, struct err *e)
{
	struct http_resp r = {0};
	char *path = xasprintf("/%s", key);
	int rc;

	rq->path = path;
	rc = aws_call(a, rq, &r, e);
	if (!rc && check)
		rc = body_error(rq->out, rq->op, e);
	rq->path = NULL;
	http_resp_free(&r);
	free(path);
	return rc;
}

int
s3_mpu_create(struct aws *a, const char *bucket, const char *key, const struct s3_put *p, char **upload_id,
	      struct err *e)
{
	struct kv h[S3_PUT_HDRS], q[] = {{"uploads", NULL}};
	int n = 0, rc = -1;
	struct buf out = {0};
	struct xml root;

	put_headers(p, h, &n, 1);
	struct aws_req rq = {.svc = &SVC_S3, .method = "POST", .bucket = bucket, .query = q, .nquery = 1,
			     .hdrs = h, .nhdrs = n, .out = &out, .op = "CreateMultipartUpload"};
	*upload_id = NULL;
	if (send_key(a, &rq, key, 0, e))
		goto fail;
	if (xml_root(out.p ? out.p : "", out.len, &root) || !(*upload_id = xml_path_strdup(root, "UploadId")) ||
	    !**upload_id) {
		free(*upload_id);
		*upload_id = NULL;
		err_set(e, E_PROTO, "CreateMultipartUpload: no UploadId in the response");
		goto fail;
	}
	rc = 0;
fail:
	buf_free(&out);
	return rc;
}

int
s3_mpu_complete(struct aws *a, const char *bucket, const char *key, const struct s3_put *p, const char *upload_id,
		const struct s3_part *parts, int nparts, struct err *e)
{
	struct kv q[] = {{"uploadId", upload_id}}, h[2];
	int n = 0, rc = -1;
	struct buf x = {0}, out = {0};

	buf_adds(&x, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (int i = 0; i < nparts; i++) {
		buf_adds(&x, "<Part><ETag>");
		xml_put_text(&x, parts[i].etag, strlen(parts[i].etag));
		buf_printf(&x, "</ETag><PartNumber>%d</PartNumber>", i + 1);
		if (p->ck && parts[i].ck[0])
			buf_printf(&x, "<Checksum%s>%s</Checksum%s>", s3_ck_upper(p->ck), parts[i].ck, s3_ck_upper(p->ck));
		buf_adds(&x, "</Part>");
	}
	buf_adds(&x, "</CompleteMultipartUpload>");
	if (p->no_overwrite)
		h[n++] = (struct kv){"if-none-match", "*"};
	h[n++] = (struct kv){"content-type", "application/xml"};
	struct http_body body = {x.p, (int64_t)x.len, NULL, NULL, NULL};
	struct aws_req rq = {.svc = &SVC_S3, .method = "POST", .bucket = bucket, .query = q, .nquery = 1,
			     .hdrs = h, .nhdrs = n, .body = &body, .out = &out, .op = "CompleteMultipartUpload"};
	/* An <Error> in a 200 answer is retried like a 500 (botocore does the same). */
	for (int attempt = 1;; attempt++) {
		if (send_key(a, &rq, key, 0, e))
			goto fail;
		if (!body_error(&out, "CompleteMultipartUpload", e))
			break;
		if (attempt >= 3 || strcmp(e->code, "InternalError"))
			goto fail;
		sleep_sec(attempt * 0.5);
	}
	rc = 0;
fail:
	buf_free(&x);
	buf_free(&out);
	return rc;
}

int
s3_mpu_abort(struct aws *a, const char *bucket, const char *key, const char *upload_id, struct err *e)
{
	struct kv q[] = {{"uploadId", upload_id}};
	struct aws_req rq = {.svc = &SVC_S3, .method = "DELETE", .bucket = bucket, .query = q, .nquery = 1,
			     .op = "AbortMultipartUpload"};
	int rc = send_key(a, &rq, key, 0, e);

	/* Already gone (aborted, or completed by a racing attempt) is what we wanted. */
	if (rc && e->kind == E_AWS && !strcmp(e->code, "NoSuchUpload"))
		rc = 0;
	return rc;
}

int
s3_delete(struct aws *a, const char *bucket, const char *key, struct err *e)
{
	struct aws_req rq = {.svc = &SVC_S3, .method = "DELETE", .bucket = bucket, .op = "DeleteObject"};

	return send_key(a, &rq, key, 0, e);
}

/* "/bucket/key" percent-encoded, as x-amz-copy-source carries it; from an access point,
 * "ARN/object/key" (as S3 documents it and botocore sends it). */
static char *
copy_source(const char *bucket, const char *key)
{
	struct buf b = {0};

	if (!strncmp(bucket, "arn:", 4)) {
		uri_encode(&b, bucket, strlen(bucket), 1);
		buf_adds(&b, "/object/");
		uri_encode(&b, key, strlen(key), 1);
		return buf_take(&b);
	}
	buf_addc(&b, '/');
	uri_encode(&b, bucket, strlen(bucket), 0);
	buf_addc(&b, '/');
	uri_encode(&b, key, strlen(key), 1);
	return buf_take(&b);
}

int
s3_copy_object(struct aws *a, const char *sbucket, const char *skey, const char *bucket, const char *key,
	       const struct s3_put *p, int replace_meta, struct err *e)
{
	struct kv h[S3_PUT_HDRS];
	int n = 0, rc;
	struct buf out = {0};
	char *src = copy_source(sbucket, skey);
	struct s3_put pp = *p;

	if (!replace_meta) /* COPY keeps the source's content type, cache control and metadata */
		pp.content_type = pp.cache_control = NULL, pp.nmeta = 0;
	h[n++] = (struct kv){"x-amz-copy-source", src};
	h[n++] = (struct kv){"x-amz-metadata-directive", replace_meta ? "REPLACE" : "COPY"};
	put_headers(&pp, h, &n, 1);
	struct aws_req rq = {.svc = &SVC_S3, .method = "PUT", .bucket = bucket, .hdrs = h, .nhdrs = n, .out = &out,
			     .op = "CopyObject"};
	rc = send_key(a, &rq, key, 1, e);
	buf_free(&out);
	free(src);
	return rc;
}

int
s3_part_copy(struct aws *a, const char *sbucket, const char *skey, const char *bucket, const char *key,
	     const char *upload_id, int part, int64_t first, int64_t last, const char *if_match, const struct s3_put *p,
	     struct s3_part *out, struct err *e)
{
	int ck = p->ck;
	char pn[16], range[64], name[40];
	struct kv q[] = {{"partNumber", pn}, {"uploadId", upload_id}}, h[3];
	int n = 0, rc = -1;
	struct buf o = {0};
	struct xml root;
	char *src = copy_source(sbucket, skey), *v = NULL;

	snprintf(pn, sizeof pn, "%d", part);
	snprintf(range, sizeof range, "bytes=%lld-%lld", (long long)first, (long long)last);
	h[n++] = (struct kv){"x-amz-copy-source", src};
	h[n++] = (struct kv){"x-amz-copy-source-range", range};
	if (if_match && *if_match)
		h[n++] = (struct kv){"x-amz-copy-source-if-match", if_match};
	struct aws_req rq = {.svc = &SVC_S3, .method = "PUT", .bucket = bucket, .query = q, .nquery = 2, .hdrs = h,
			     .nhdrs = n, .out = &o, .op = "UploadPartCopy", .stop = p->stop};
	if (send_key(a, &rq, key, 1, e))
		goto fail;
	if (xml_root(o.p, o.len, &root) || !(v = xml_path_strdup(root, "ETag"))) {
		err_set(e, E_PROTO, "UploadPartCopy: no ETag in the response");
		goto fail;
	}
	snprintf(out->etag, sizeof out->etag, "%s", v);
	free(v);
	snprintf(name, sizeof name, "Checksum%s", s3_ck_upper(ck));
	v = ck ? xml_path_strdup(root, name) : NULL;
	snprintf(out->ck, sizeof out->ck, "%s", v ? v : "");
	out->size = last - first + 1;
	rc = 0;
fail:
	free(v);
	buf_free(&o);
	free(src);
	return rc;
}
