/* ListObjectsV2 (prefix, continuation, start-after, encoding-type=url; no delimiter). */
#include "sink.h"

static int
keycmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Appends s percent-encoded (unreserved and '/' kept), as encoding-type=url has it. */
static size_t
url_enc(const char *s, char *out, size_t max)
{
	size_t o = 0;

	for (; *s && o + 4 < max; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '/')
			out[o++] = (char)ch;
		else
			o += (size_t)sprintf(out + o, "%%%02X", ch);
	}
	out[o] = 0;
	return o;
}

struct meta {
	int64_t size;
	time_t mtime;
	char etag[64];
};

/* The keys of bucket under prefix after from, sorted (*n of them, to be freed), and the size,
 * time and ETag of the first *shown (at most max) in *meta. */
static char **
list_keys(const char *bucket, const char *prefix, const char *from, int max, size_t *n, size_t *shown,
	  struct meta **meta)
{
	size_t pl = strlen(prefix), cap = 64;
	char **keys = malloc(cap * sizeof *keys);

	*n = 0;
	pthread_mutex_lock(&g_m);
	for (int i = 0; i < NHASH; i++)
		for (struct obj *o = g_objs[i]; o; o = o->next) {
			if (strcmp(o->bucket, bucket) || strncmp(o->key, prefix, pl) || (from[0] && strcmp(o->key, from) <= 0))
				continue;
			if (*n == cap)
				keys = realloc(keys, (cap *= 2) * sizeof *keys);
			keys[(*n)++] = strdup(o->key);
		}
	qsort(keys, *n, sizeof *keys, keycmp);
	*shown = *n < (size_t)max ? *n : (size_t)max;
	*meta = calloc(*shown + 1, sizeof **meta);
	for (size_t i = 0; i < *shown; i++) {
		struct obj *o = obj_find(bucket, keys[i]);
		if (o) {
			(*meta)[i].size = o->size;
			(*meta)[i].mtime = o->mtime;
			snprintf((*meta)[i].etag, sizeof (*meta)[i].etag, "%s", o->etag);
		}
	}
	pthread_mutex_unlock(&g_m);
	return keys;
}

/* One <Contents> element into out; its length. */
static size_t
list_item(const char *key, const struct meta *m, int urlenc, char *out, size_t max)
{
	char k[4096], date[32], e2[128];
	struct tm tm;

	if (urlenc)
		url_enc(key, k, sizeof k);
	else
		xml_escape(key, k, sizeof k);
	gmtime_r(&m->mtime, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	xml_escape(m->etag, e2, sizeof e2);
	return (size_t)snprintf(out, max,
				"<Contents><Key>%s</Key><LastModified>%s</LastModified><ETag>%s</ETag><Size>%lld</Size>"
				"<StorageClass>STANDARD</StorageClass></Contents>",
				k, date, e2, (long long)m->size);
}

int
op_list(struct io *c, struct req *q, const char *bucket)
{
	char prefix[2048] = "", token[2048] = "", after[2048] = "", mk[16], enc[8] = "", tmp[4096];
	int max = 1000, urlenc;

	if (qget(q, "delimiter", tmp, sizeof tmp) && tmp[0])
		return s3_error(c, q, 501, "NotImplemented", "delimiter is not implemented by the sink");
	qget(q, "prefix", prefix, sizeof prefix);
	qget(q, "continuation-token", token, sizeof token);
	qget(q, "start-after", after, sizeof after);
	if (qget(q, "max-keys", mk, sizeof mk))
		max = atoi(mk);
	if (max < 0 || max > 1000)
		max = 1000;
	urlenc = qget(q, "encoding-type", enc, sizeof enc) && !strcmp(enc, "url");
	size_t n = 0, shown;
	struct meta *meta = NULL;
	char **keys = list_keys(bucket, prefix, token[0] ? token : after, max, &n, &shown, &meta);
	size_t bcap = 4096 + shown * 3000, bn = 0;
	char *body = malloc(bcap);
	bn += (size_t)snprintf(body + bn, bcap - bn,
			       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
			       "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>%s</Name>",
			       bucket);
	if (urlenc) {
		url_enc(prefix, tmp, sizeof tmp);
		bn += (size_t)snprintf(body + bn, bcap - bn, "<Prefix>%s</Prefix><EncodingType>url</EncodingType>", tmp);
	} else {
		xml_escape(prefix, tmp, sizeof tmp);
		bn += (size_t)snprintf(body + bn, bcap - bn, "<Prefix>%s</Prefix>", tmp);
	}
	bn += (size_t)snprintf(body + bn, bcap - bn, "<KeyCount>%zu</KeyCount><MaxKeys>%d</MaxKeys><IsTruncated>%s</IsTruncated>",
			       shown, max, shown < n ? "true" : "false");
	if (token[0]) {
		xml_escape(token, tmp, sizeof tmp);
		bn += (size_t)snprintf(body + bn, bcap - bn, "<ContinuationToken>%s</ContinuationToken>", tmp);
	}
	if (shown < n) {
		xml_escape(keys[shown - 1], tmp, sizeof tmp);
		bn += (size_t)snprintf(body + bn, bcap - bn, "<NextContinuationToken>%s</NextContinuationToken>", tmp);
	}
	for (size_t i = 0; i < shown; i++)
		bn += list_item(keys[i], &meta[i], urlenc, body + bn, bcap - bn);
	bn += (size_t)snprintf(body + bn, bcap - bn, "</ListBucketResult>");
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(meta);
	int rc = respond(c, q, 200, "OK", "Content-Type: application/xml\r\n", body, (int64_t)bn, 0);
	free(body);
	return rc;
}
