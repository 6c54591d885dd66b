/* Reads: GetObject and HeadObject (Range, partNumber, If-Match, checksum mode); DeleteObject. */
#include "sink.h"

/* "bytes=A-B", "bytes=A-", "bytes=-N" against size; 0 ok, -1 unsatisfiable or malformed. */
static int
parse_range(const char *v, int64_t size, int64_t *a, int64_t *b)
{
	long long x, y;

	if (strncmp(v, "bytes=", 6) || strchr(v, ','))
		return -1;
	v += 6;
	if (*v == '-') {
		if (sscanf(v + 1, "%lld", &y) != 1 || y <= 0)
			return -1;
		*a = y >= size ? 0 : size - y;
		*b = size - 1;
	} else if (sscanf(v, "%lld-%lld", &x, &y) == 2) {
		*a = x, *b = y >= size ? size - 1 : y;
	} else if (sscanf(v, "%lld-", &x) == 1) {
		*a = x, *b = size - 1;
	} else {
		return -1;
	}
	return *a <= *b && *a < size ? 0 : -1;
}

/* The checksum headers of a GET or HEAD: only when asked for (x-amz-checksum-mode: ENABLED),
 * for the whole object or one part. */
static void
get_checksum(const struct req *q, const struct obj *o, int64_t partno, char *h, size_t max)
{
	const char *v;

	if (!(v = hget(q, "x-amz-checksum-mode")) || strcasecmp(v, "ENABLED") || !o->ckalg[0] ||
	    (!partno && hget(q, "range")))
		return;
	if (partno && o->mp) {
		if (o->composite && o->parts[partno - 1]->ck[0])
			snprintf(h, max, "x-amz-checksum-%s: %s\r\n", o->ckalg, o->parts[partno - 1]->ck);
	} else if (o->composite) {
		snprintf(h, max, "x-amz-checksum-%s: %s-%d\r\nx-amz-checksum-type: COMPOSITE\r\n", o->ckalg, o->ckval,
			 o->nparts);
	} else {
		snprintf(h, max, "x-amz-checksum-%s: %s\r\nx-amz-checksum-type: FULL_OBJECT\r\n", o->ckalg, o->ckval);
	}
}

/* The bytes a..a+len-1 of o, across its parts' files. */
static int
get_send(struct io *c, const struct obj *o, int64_t a, int64_t len, char *buf)
{
	int64_t off = 0;
	int rc = 0;

	for (int i = 0; i < o->nparts && len > 0 && !rc; i++) {
		struct blob *bl = o->parts[i];
		if (a < off + bl->size) {
			int64_t from = a - off, k = bl->size - from < len ? bl->size - from : len;
			rc = bl->mem ? io_write(c, bl->mem + from, (size_t)k) : io_sendfile(c, bl->fd, from, k, buf);
			a += k, len -= k;
		}
		off += bl->size;
	}
	return rc;
}

int
op_get(struct io *c, struct req *q, char *buf, const char *bucket, const char *key, int head)
{
	char hdrs[2048], date[64], pn[16];
	const char *v;
	int64_t a = 0, b, partno = 0;
	int status = 200, n = 0;

	pthread_mutex_lock(&g_m);
	struct obj *o = obj_find(bucket, key);
	if (o)
		o->refs++;
	pthread_mutex_unlock(&g_m);
	if (!o)
		return s3_error(c, q, 404, "NoSuchKey", "The specified key does not exist.");
	int rc;
	b = o->size - 1;
	if ((v = hget(q, "if-match")) && strcmp(v, o->etag) && strcmp(v, "*")) {
		rc = s3_error(c, q, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
		goto done;
	}
	if (qget(q, "partNumber", pn, sizeof pn)) {
		partno = atoi(pn);
		int np = o->mp ? o->nparts : 1;
		if (partno < 1 || partno > np) {
			rc = s3_error(c, q, 416, "InvalidPartNumber", "The requested partnumber is not satisfiable");
			goto done;
		}
		if (o->mp) {
			a = 0;
			for (int i = 0; i < partno - 1; i++)
				a += o->parts[i]->size;
			b = a + o->parts[partno - 1]->size - 1;
			status = 206;
		}
	} else if ((v = hget(q, "range"))) {
		if (parse_range(v, o->size, &a, &b)) {
			rc = s3_error(c, q, 416, "InvalidRange", "The requested range is not satisfiable");
			goto done;
		}
		status = 206;
	}
	if (!o->size)
		a = 0, b = -1;
	http_date(o->mtime, date, sizeof date);
	n = snprintf(hdrs, sizeof hdrs,
		     "ETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\nContent-Type: binary/octet-stream\r\n",
		     o->etag, date);
	if (status == 206)
		n += snprintf(hdrs + n, sizeof hdrs - (size_t)n, "Content-Range: bytes %lld-%lld/%lld\r\n", (long long)a,
			      (long long)b, (long long)o->size);
	if (partno && o->mp)
		n += snprintf(hdrs + n, sizeof hdrs - (size_t)n, "x-amz-mp-parts-count: %d\r\n", o->nparts);
	get_checksum(q, o, partno, hdrs + n, sizeof hdrs - (size_t)n);
	int64_t len = b - a + 1;
	if (head) {
		rc = respond(c, q, status, status == 206 ? "Partial Content" : "OK", hdrs, NULL, len, 1);
		goto done;
	}
	if (o->parts[0]->fd < 0 && !o->parts[0]->mem) {
		rc = s3_error(c, q, 501, "NotImplemented", "objects in the null bucket hold no data");
		goto done;
	}
	if ((rc = respond(c, q, status, status == 206 ? "Partial Content" : "OK", hdrs, NULL, len, 1)))
		goto done;
	rc = get_send(c, o, a, len, buf);
done:
	pthread_mutex_lock(&g_m);
	obj_release(o);
	pthread_mutex_unlock(&g_m);
	return rc;
}

int
op_delete(struct io *c, struct req *q, const char *bucket, const char *key)
{
	pthread_mutex_lock(&g_m);
	obj_unlink(bucket, key);
	pthread_mutex_unlock(&g_m);
	return respond(c, q, 204, "No Content", NULL, NULL, 0, 0);
}
