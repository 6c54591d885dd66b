/* fuzz_s3.c — libFuzzer target for s3.c's response parsing: ListObjectsV2 pages (XML with
 * url-encoded keys, sizes, times, ETags; continuation tokens) as s3_list_next walks them, and the
 * object headers of HeadObject/GetObject (ETag parts, checksums, Last-Modified) as
 * s3obj_from_resp reads them.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 *
 * The seam is at link time: this file defines aws_call (and SVC_S3, so that neither endpoint.o nor
 * aws.o comes in from the archive), so s3.c runs unchanged and the "service" answers with the
 * fuzz input.
 *
 * Input: [0] bit 0: the rest is header lines for s3obj_from_resp; else the rest is the page that
 * every ListObjectsV2 call answers with (3 calls at most: a page that says it is truncated is
 * asked for again). */
#include "fuzz.h"

const struct svc SVC_S3 = {"s3", "s3", "S3", PROTO_RESTXML, NULL, NULL};

static const uint8_t *page;
static size_t page_n;
static int calls;

int
aws_call(struct aws *a, const struct aws_req *q, struct http_resp *r, struct err *e)
{
	memset(r, 0, sizeof *r);
	r->content_length = -1;
	if (++calls > 3)
		return err_set(e, E_NET, "no more pages");
	r->status = 200;
	buf_adds(&r->head, "Date: Wed, 01 Mar 2006 12:00:00 GMT\n");
	FUZZ_CHECK(q->out && !q->sink);
	buf_reset(q->out);
	buf_add(q->out, page, page_n);
	return 0;
}

static void
list(void)
{
	struct s3_list l = {.bucket = "b", .prefix = "in/"};
	struct s3_entry ent;
	struct err e = {0};
	int rc, n = 0;

	while ((rc = s3_list_next(NULL, &l, &ent, &e)) == 1) {
		FUZZ_CHECK(ent.key && memchr(ent.etag, 0, sizeof ent.etag));
		FUZZ_CHECK(ent.key[ent.key_len] == 0);
		FUZZ_CHECK(++n <= 3 * 4096);
	}
	FUZZ_CHECK(rc == 0 || (e.kind != E_NONE && memchr(e.msg, 0, sizeof e.msg)));
	s3_list_free(&l);
}

static void
head(const uint8_t *p, size_t n)
{
	struct http_resp r = {0};
	struct s3obj o = {0};

	/* header lines as http.c stores them: "name: value\n" */
	buf_add(&r.head, p, n);
	r.content_length = -1;
	r.status = 200;
	s3obj_from_resp(&r, &o);
	FUZZ_CHECK(memchr(o.etag, 0, sizeof o.etag) && memchr(o.ckval, 0, sizeof o.ckval));
	FUZZ_CHECK(o.mp_parts >= 0 && o.mp_parts <= 10000 && o.ck_parts >= 0 && o.ck_parts <= 10000);
	FUZZ_CHECK(fuzz_buf_is(&o.head, p, n));
	s3obj_free(&o);
	http_resp_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		head(data + 1, size - 1);
		return 0;
	}
	page = data + 1;
	page_n = size - 1;
	calls = 0;
	list();
	return 0;
}
