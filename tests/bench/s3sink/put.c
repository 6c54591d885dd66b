/* Writes: PutObject, UploadPart, CreateMultipartUpload, CompleteMultipartUpload (with S3's
 * composite and full-object checksums), AbortMultipartUpload. */
#include "sink.h"

/* The checksum a request carries in a header: x-amz-checksum-ALG (not -algorithm, -mode, -type). */
static void
header_checksum(const struct req *q, char *alg, size_t an, char *val, size_t vn)
{
	alg[0] = val[0] = 0;
	for (int i = 0; i < q->nh; i++) {
		const char *k = q->h[i].k;
		if (strncasecmp(k, "x-amz-checksum-", 15) || !strcasecmp(k + 15, "algorithm") ||
		    !strcasecmp(k + 15, "mode") || !strcasecmp(k + 15, "type") || strlen(k + 15) >= an)
			continue;
		snprintf(alg, an, "%s", k + 15);
		for (char *s = alg; *s; s++)
			*s = (char)tolower((unsigned char)*s);
		snprintf(val, vn, "%s", q->h[i].v);
		return;
	}
}

/* The body's decoded length as the request declares it, -1 if it does not. */
static int64_t
put_length(const struct req *q)
{
	const char *v = hget(q, "x-amz-decoded-content-length");

	if (v)
		return strtoll(v, NULL, 10);
	return q->chunked || q->aws_chunked ? -1 : q->clen;
}

/* The body into bl (its memory or its file, or nowhere for the null bucket), and into md5 if given; 0, or -1
 * if the connection broke, the framing is bad or the file cannot be written. */
static int
put_receive(struct body *b, char *buf, struct blob *bl, int null, EVP_MD_CTX *md5)
{
	for (;;) {
		ssize_t k = body_fill(b, buf, IOBUF);
		if (k < 0)
			return -1;
		if (k == 0)
			return 0;
		if (md5)
			EVP_DigestUpdate(md5, buf, (size_t)k);
		if (bl->mem) {
			if (b->decoded > bl->cap)
				return -1; /* more than its declared length */
			memcpy(bl->mem + b->decoded - k, buf, (size_t)k);
			continue;
		}
		for (ssize_t done = 0; !null && done < k;) {
			ssize_t w = write(bl->fd, buf + done, (size_t)(k - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				fprintf(stderr, "s3sink: write: %s\n", strerror(errno));
				return -1;
			}
			done += w;
		}
	}
}

/* A PutObject's ETag is the MD5 of its bytes (md5 is freed); a part's is made up. */
static void
put_etag(struct blob *bl, EVP_MD_CTX *md5, int partno)
{
	unsigned char dig[16];

	if (md5) {
		EVP_DigestFinal_ex(md5, dig, NULL);
		EVP_MD_CTX_free(md5);
		char *e = bl->etag;
		*e++ = '"';
		for (int i = 0; i < 16; i++)
			e += sprintf(e, "%02x", dig[i]);
		strcpy(e, "\"");
	} else {
		snprintf(bl->etag, sizeof bl->etag, "\"%08lx%024lx\"", (unsigned long)partno,
			 __atomic_add_fetch(&g_ids, 1, __ATOMIC_RELAXED));
	}
}

/* bl (taken) as the object bucket/key, or as part partno of upload_id; 0, or 404 if no such upload. */
static int
put_store(struct blob *bl, const char *bucket, const char *key, const char *upload_id, int partno,
	  const char *alg, const char *val)
{
	pthread_mutex_lock(&g_m);
	if (upload_id) {
		struct upload *u;
		for (u = g_uploads; u && strcmp(u->id, upload_id); u = u->next)
			;
		if (!u) {
			pthread_mutex_unlock(&g_m);
			blob_put(bl);
			return 404;
		}
		blob_put(u->parts[partno]);
		u->parts[partno] = bl;
	} else {
		struct obj *o = calloc(1, sizeof *o);
		o->bucket = strdup(bucket);
		o->key = strdup(key);
		o->parts = malloc(sizeof *o->parts);
		o->parts[0] = bl;
		o->nparts = 1;
		o->size = bl->size;
		snprintf(o->etag, sizeof o->etag, "%s", bl->etag);
		snprintf(o->ckalg, sizeof o->ckalg, "%s", alg);
		snprintf(o->ckval, sizeof o->ckval, "%s", val);
		o->mtime = time(NULL);
		obj_insert(o);
	}
	pthread_mutex_unlock(&g_m);
	return 0;
}

/* PutObject (upload NULL) or UploadPart: the body into a new blob. */
int
op_put(struct io *c, struct req *q, char *buf, const char *bucket, const char *key, const char *upload_id,
       int partno)
{
	struct body b;
	struct blob *bl = NULL;
	int null = g_null_bucket && !strcmp(bucket, g_null_bucket);
	EVP_MD_CTX *md5 = NULL;
	char alg[32], val[100], hdrs[512];
	const char *v;

	if (!upload_id && (v = hget(q, "if-none-match")) && !strcmp(v, "*")) {
		pthread_mutex_lock(&g_m);
		int exists = obj_find(bucket, key) != NULL;
		pthread_mutex_unlock(&g_m);
		if (exists)
			return s3_error(c, q, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
	}
	body_init(&b, c, q);
	if ((v = hget(q, "expect")) && !strcasecmp(v, "100-continue") && io_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25))
		return -1;
	bl = calloc(1, sizeof *bl);
	bl->refs = 1;
	bl->fd = -1;
	int64_t want = put_length(q);
	if (!null && want >= 0 && want <= SMALL_BLOB)
		bl->mem = malloc((size_t)(bl->cap = want) + 1);
	else if (!null)
		bl->fd = blob_file();
	if (!null && bl->fd < 0 && !bl->mem) {
		free(bl);
		body_drain(&b, buf);
		q->body_done = 1;
		return s3_error(c, q, 500, "InternalError", "tmpfile in %s: %s", g_dir, strerror(errno));
	}
	if (!upload_id) {
		md5 = EVP_MD_CTX_new();
		EVP_DigestInit_ex(md5, EVP_md5(), NULL);
	}
	if (put_receive(&b, buf, bl, null, md5)) {
		blob_put(bl);
		EVP_MD_CTX_free(md5);
		return -1; /* drop the connection */
	}
	q->body_done = 1;
	bl->size = b.decoded;
	if (bl->fd >= 0 && ftruncate(bl->fd, bl->size)) { /* a pooled file may have been longer */
		blob_put(bl);
		EVP_MD_CTX_free(md5);
		return s3_error(c, q, 500, "InternalError", "ftruncate: %s", strerror(errno));
	}
	if ((v = hget(q, "x-amz-decoded-content-length")) && strtoll(v, NULL, 10) != b.decoded) {
		blob_put(bl);
		EVP_MD_CTX_free(md5);
		return s3_error(c, q, 400, "IncompleteBody", "decoded %lld bytes, x-amz-decoded-content-length %s",
				(long long)b.decoded, v);
	}
	header_checksum(q, alg, sizeof alg, val, sizeof val);
	if (!alg[0] && b.ckname[0]) {
		snprintf(alg, sizeof alg, "%s", b.ckname);
		snprintf(val, sizeof val, "%s", b.ckval);
	}
	snprintf(bl->ck, sizeof bl->ck, "%s", val);
	put_etag(bl, md5, partno);
	int n = snprintf(hdrs, sizeof hdrs, "ETag: %s\r\n", bl->etag);
	if (alg[0])
		snprintf(hdrs + n, sizeof hdrs - (size_t)n, "x-amz-checksum-%s: %s\r\n", alg, val);
	if (put_store(bl, bucket, key, upload_id, partno, alg, val))
		return s3_error(c, q, 404, "NoSuchUpload", "The specified upload does not exist");
	return respond(c, q, 200, "OK", hdrs, NULL, 0, 0);
}

int
op_create(struct io *c, struct req *q, const char *bucket, const char *key)
{
	struct upload *u = calloc(1, sizeof *u);
	const char *v;
	char body[4096], eb[1024], ek[2048];

	snprintf(u->id, sizeof u->id, "up%lx", __atomic_add_fetch(&g_ids, 1, __ATOMIC_RELAXED));
	u->bucket = strdup(bucket);
	u->key = strdup(key);
	if ((v = hget(q, "x-amz-checksum-algorithm"))) {
		snprintf(u->ckalg, sizeof u->ckalg, "%s", v);
		for (char *s = u->ckalg; *s; s++)
			*s = (char)tolower((unsigned char)*s);
	}
	u->full_object = (v = hget(q, "x-amz-checksum-type")) && !strcasecmp(v, "FULL_OBJECT");
	pthread_mutex_lock(&g_m);
	u->next = g_uploads;
	g_uploads = u;
	pthread_mutex_unlock(&g_m);
	xml_escape(bucket, eb, sizeof eb);
	xml_escape(key, ek, sizeof ek);
	int n = snprintf(body, sizeof body,
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult "
			 "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>%s</Bucket><Key>%s</Key>"
			 "<UploadId>%s</UploadId></InitiateMultipartUploadResult>",
			 eb, ek, u->id);
	char hdrs[256] = "Content-Type: application/xml\r\n";
	if (u->ckalg[0])
		snprintf(hdrs + strlen(hdrs), sizeof hdrs - strlen(hdrs), "x-amz-checksum-algorithm: %s\r\nx-amz-checksum-type: %s\r\n",
			 u->ckalg, u->full_object ? "FULL_OBJECT" : "COMPOSITE");
	return respond(c, q, 200, "OK", hdrs, body, n, 0);
}

/* The object's checksum from its parts' (S3: composite = checksum of the concatenated part
 * checksums, "-N"; full object = the CRCs combined). */
static void
mp_checksum(struct upload *u, struct obj *o, const char *full_alg, const char *full_val)
{
	unsigned char raw[64], *cat = NULL;
	size_t cn = 0;

	if (full_alg[0]) {
		snprintf(o->ckalg, sizeof o->ckalg, "%s", full_alg);
		snprintf(o->ckval, sizeof o->ckval, "%s", full_val);
		return;
	}
	if (!u->ckalg[0])
		return;
	for (int i = 0; i < o->nparts; i++)
		if (!o->parts[i]->ck[0])
			return; /* a part without a checksum: S3 would have refused it */
	int t = crc_kind(u->ckalg);
	if (u->full_object && t >= 0) {
		uint32_t crc = 0;
		for (int i = 0; i < o->nparts; i++) {
			if (b64_dec(o->parts[i]->ck, raw, sizeof raw) != 4)
				return;
			uint32_t pc = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
			crc = i ? crc_combine(t, crc, pc, (uint64_t)o->parts[i]->size) : pc;
		}
		raw[0] = (unsigned char)(crc >> 24), raw[1] = (unsigned char)(crc >> 16);
		raw[2] = (unsigned char)(crc >> 8), raw[3] = (unsigned char)crc;
		b64_enc(raw, 4, o->ckval);
		snprintf(o->ckalg, sizeof o->ckalg, "%s", u->ckalg);
		return;
	}
	cat = malloc((size_t)o->nparts * 64);
	for (int i = 0; i < o->nparts; i++) {
		int k = b64_dec(o->parts[i]->ck, cat + cn, 64);
		if (k <= 0) {
			free(cat);
			return;
		}
		cn += (size_t)k;
	}
	if (t >= 0) {
		uint32_t crc = crc_update(t, 0, cat, cn);
		raw[0] = (unsigned char)(crc >> 24), raw[1] = (unsigned char)(crc >> 16);
		raw[2] = (unsigned char)(crc >> 8), raw[3] = (unsigned char)crc;
		b64_enc(raw, 4, o->ckval);
	} else if (digest_of(u->ckalg)) {
		unsigned int dn = 0;
		EVP_Digest(cat, cn, raw, &dn, digest_of(u->ckalg), NULL);
		b64_enc(raw, dn, o->ckval);
	} else {
		free(cat);
		return;
	}
	free(cat);
	snprintf(o->ckalg, sizeof o->ckalg, "%s", u->ckalg);
	o->composite = 1;
}

int
op_complete(struct io *c, struct req *q, char *buf, const char *bucket, const char *key, const char *id)
{
	struct body b;
	ssize_t n;
	int nums[MAXPARTS], np = 0;
	char alg[32], val[100], body[4096], eb[1024], ek[2048], hdrs[512];

	if (body_init(&b, c, q) || (n = body_fill(&b, buf, IOBUF - 1)) < 0)
		return -1;
	q->body_done = body_drain(&b, buf + n) == 0;
	if (!q->body_done)
		return -1;
	buf[n] = 0;
	for (char *s = buf; (s = strstr(s, "<PartNumber>")) && np < MAXPARTS;) {
		s += 12;
		nums[np++] = atoi(s);
	}
	header_checksum(q, alg, sizeof alg, val, sizeof val);
	pthread_mutex_lock(&g_m);
	struct upload *u = upload_take(id);
	if (!u) {
		pthread_mutex_unlock(&g_m);
		return s3_error(c, q, 404, "NoSuchUpload", "The specified upload does not exist");
	}
	if (!np) {
		u->next = g_uploads, g_uploads = u;
		pthread_mutex_unlock(&g_m);
		return s3_error(c, q, 400, "MalformedXML", "no parts");
	}
	struct obj *o = calloc(1, sizeof *o);
	o->parts = calloc((size_t)np, sizeof *o->parts);
	for (int i = 0; i < np; i++) {
		if (nums[i] < 1 || nums[i] > MAXPARTS || !u->parts[nums[i]] || (i && nums[i] <= nums[i - 1])) {
			for (int j = 0; j < o->nparts; j++)
				blob_put(o->parts[j]);
			free(o->parts);
			free(o);
			u->next = g_uploads, g_uploads = u;
			pthread_mutex_unlock(&g_m);
			return s3_error(c, q, 400, "InvalidPart", "part %d was not uploaded", nums[i]);
		}
		o->parts[o->nparts] = u->parts[nums[i]];
		o->parts[o->nparts++]->refs++;
		o->size += u->parts[nums[i]]->size;
	}
	o->bucket = strdup(bucket);
	o->key = strdup(key);
	o->mp = 1;
	o->mtime = time(NULL);
	snprintf(o->etag, sizeof o->etag, "\"%032lx-%d\"", __atomic_add_fetch(&g_ids, 1, __ATOMIC_RELAXED), np);
	mp_checksum(u, o, alg, val);
	obj_insert(o);
	upload_free(u);
	xml_escape(bucket, eb, sizeof eb);
	xml_escape(key, ek, sizeof ek);
	char ckx[200] = "";
	int hn = 0;
	hdrs[0] = 0;
	if (o->ckalg[0]) {
		char up[16];
		snprintf(up, sizeof up, "%s", o->ckalg);
		for (char *s = up; *s; s++)
			*s = (char)toupper((unsigned char)*s);
		if (o->composite) /* S3 writes "-N" after a composite value */
			snprintf(ckx, sizeof ckx, "<Checksum%s>%s-%d</Checksum%s><ChecksumType>COMPOSITE</ChecksumType>", up,
				 o->ckval, o->nparts, up);
		else
			snprintf(ckx, sizeof ckx, "<Checksum%s>%s</Checksum%s><ChecksumType>FULL_OBJECT</ChecksumType>", up,
				 o->ckval, up);
	}
	hn = snprintf(body, sizeof body,
		      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult "
		      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Location>/%s/%s</Location><Bucket>%s</Bucket>"
		      "<Key>%s</Key><ETag>&quot;%.*s&quot;</ETag>%s</CompleteMultipartUploadResult>",
		      eb, ek, eb, ek, (int)strlen(o->etag) - 2, o->etag + 1, ckx);
	pthread_mutex_unlock(&g_m);
	snprintf(hdrs, sizeof hdrs, "Content-Type: application/xml\r\n");
	return respond(c, q, 200, "OK", hdrs, body, hn, 0);
}

int
op_abort(struct io *c, struct req *q, const char *id)
{
	pthread_mutex_lock(&g_m);
	struct upload *u = upload_take(id);
	if (u)
		upload_free(u);
	pthread_mutex_unlock(&g_m);
	if (!u)
		return s3_error(c, q, 404, "NoSuchUpload", "The specified upload does not exist");
	return respond(c, q, 204, "No Content", NULL, NULL, 0, 0);
}
