/* test_transfer.c — parallel S3 transfers (transfer.c, download.c) against the scripted server:
 * a multipart upload's requests in order, a failed part aborting the upload, the job queue, and
 * downloads in ranges verified against a single-part ETag's MD5 (or said to be unverifiable).
 * One worker, so the server sees the requests in a known order on one connection. */
#include "unit.h"

#include <fcntl.h>
#include <unistd.h>

static const char DATA[] = "0123456789abcdefghijklmnopqrstuvwxyzABCD"; /* 40 bytes: parts of 16, 16, 8 */

static int
data_file(void)
{
	char path[512];
	int fd;

	snprintf(path, sizeof path, "%s/data", utest_tmpdir());
	utest_write(path, DATA);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		utest_fail(__FILE__, __LINE__, "open %s", path);
	return fd;
}

/* xfer_upload_file of DATA to bkt/key against a server answering c, with the given workers and
 * part size: the transfer and its error in *x and *e, what the server saw in *seen (the caller
 * frees). x->a is gone by then. */
static int
upload(const struct canned *c, int n, const char *key, int concurrency, int64_t part_size, struct xfer *x,
       struct err *e, char **seen)
{
	struct ut t;
	struct s3_put put = {.ck = S3_CK_CRC32C};
	int fd = data_file(), rc;

	ut_start(&t, c, n, server_aws);
	*x = (struct xfer){.a = &t.a, .concurrency = concurrency, .part_size = part_size};
	rc = xfer_upload_file(x, fd, 40, "bkt", key, &put, e);
	*seen = ut_stop(&t);
	x->a = NULL;
	close(fd);
	return rc;
}

#define CREATED "HTTP/1.1 200 OK\r\n", "<InitiateMultipartUploadResult><UploadId>up-1</UploadId></InitiateMultipartUploadResult>"
#define PART(n) "HTTP/1.1 200 OK\r\nETag: \"e" #n "\"\r\n", ""

TEST(transfer_multipart_upload_in_parts)
{
	static const struct canned c[] = {
		{CREATED}, {PART(1)}, {PART(2)}, {PART(3)},
		{"HTTP/1.1 200 OK\r\n", "<CompleteMultipartUploadResult><ETag>\"all-3\"</ETag></CompleteMultipartUploadResult>"},
	};
	struct xfer x;
	struct err e = {0};
	char *seen;

	CHECK_INT(upload(c, COUNT(c), "dir/obj", 1, 16, &x, &e, &seen), 0);
	CHECK_INT(x.done, 40);
	CHECK(strstr(seen, "POST /bkt/dir/obj?uploads") != NULL);
	CHECK(strcasestr(seen, "\r\nx-amz-checksum-algorithm: CRC32C\r\n") != NULL);
	for (int i = 1; i <= 3; i++) {
		char want[100];
		snprintf(want, sizeof want, "PUT /bkt/dir/obj?partNumber=%d&uploadId=up-1 HTTP/1.1\r\n", i);
		CHECK_INT(strcount(seen, want), 1);
	}
	CHECK_INT(strcount(seen, "Content-Length: 16\r\n"), 2);
	CHECK_INT(strcount(seen, "Content-Length: 8\r\n"), 1);
	CHECK(strstr(seen, "POST /bkt/dir/obj?uploadId=up-1 HTTP/1.1\r\n") != NULL);
	/* the parts in order, each after the one before */
	CHECK(strstr(seen, "partNumber=1") < strstr(seen, "partNumber=2"));
	CHECK(strstr(seen, "partNumber=2") < strstr(seen, "partNumber=3"));
	free(seen);
}

TEST(transfer_failed_part_aborts_the_upload)
{
	static const struct canned c[] = {
		{CREATED}, {PART(1)},
		{"HTTP/1.1 403 Forbidden\r\n", "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"},
		{"HTTP/1.1 204 No Content\r\n", ""},
	};
	struct xfer x;
	struct err e = {0};
	char *seen;

	CHECK_INT(upload(c, COUNT(c), "obj", 1, 16, &x, &e, &seen), -1);
	CHECK_STR(e.code, "AccessDenied");
	CHECK_INT(err_exit_code(&e), EX_ACCESS);
	CHECK_STR(x.op, "UploadPart 2");
	CHECK_INT(strcount(seen, "partNumber=3"), 0); /* the first failure stops the others */
	CHECK(strstr(seen, "DELETE /bkt/obj?uploadId=up-1 HTTP/1.1\r\n") != NULL);
	CHECK_INT(strcount(seen, "POST /bkt/obj?uploadId="), 0); /* never completed */
	free(seen);
}

TEST(transfer_small_file_is_one_put)
{
	static const struct canned c[] = {{PART(1)}};
	struct xfer x;
	struct err e = {0};
	char *seen;

	CHECK_INT(upload(c, COUNT(c), "obj", 4, 64, &x, &e, &seen), 0);
	CHECK_INT(strcount(seen, "PUT /bkt/obj HTTP/1.1\r\n"), 1);
	CHECK_INT(strcount(seen, "uploads"), 0);
	CHECK(strstr(seen, "Content-Length: 40\r\n") != NULL);
	free(seen);
}

TEST(transfer_part_size_stays_within_10000_parts)
{
	CHECK_INT(xfer_part_size(100, 16), 16);
	CHECK_INT(xfer_part_size((int64_t)8 << 20, (int64_t)8 << 20), (int64_t)8 << 20);
	/* 100 GiB in 8 MiB parts would be 12,800: raised to a whole MiB that fits */
	int64_t p = xfer_part_size((int64_t)100 << 30, (int64_t)8 << 20);
	CHECK(p % (1 << 20) == 0);
	CHECK(((int64_t)100 << 30) / p < 10000 || (((int64_t)100 << 30) / p == 10000 && ((int64_t)100 << 30) % p == 0));
	CHECK(p < (int64_t)12 << 20);
}

/* ---- the job queue ---- */

struct counter {
	pthread_mutex_t m;
	int ran, most, now;
};

static int
count_job(void *ctx, void *job)
{
	struct counter *c = ctx;

	pthread_mutex_lock(&c->m);
	c->ran += *(int *)job;
	if (++c->now > c->most)
		c->most = c->now;
	pthread_mutex_unlock(&c->m);
	sleep_sec(0.002);
	pthread_mutex_lock(&c->m);
	c->now--;
	pthread_mutex_unlock(&c->m);
	free(job);
	return 0;
}

TEST(transfer_queue_runs_every_job_on_the_pool)
{
	/* More jobs than the queue holds: the producer waits for room; three workers at most. */
	struct counter c = {.m = PTHREAD_MUTEX_INITIALIZER};
	struct xfer x = {.concurrency = 3};
	struct err e = {0};
	struct xqueue *q = xqueue_start(&x, count_job, free, &c, &e);

	CHECK(q != NULL);
	for (int i = 0; i < 600; i++) {
		int *j = xmalloc(sizeof *j);
		*j = 1;
		CHECK_INT(xqueue_add(q, j), 0);
	}
	CHECK_INT(xqueue_finish(q, &e), 0);
	CHECK_INT(c.ran, 600);
	CHECK_INT(x.done, 600);
	CHECK(c.most >= 1 && c.most <= 3);
}

TEST(transfer_queue_stops_on_interrupt)
{
	struct counter c = {.m = PTHREAD_MUTEX_INITIALIZER};
	volatile int cancel = 0;
	struct xfer x = {.concurrency = 2, .cancel = &cancel};
	struct err e = {0};
	struct xqueue *q = xqueue_start(&x, count_job, free, &c, &e);
	int added = 0;

	CHECK(q != NULL);
	for (int i = 0; i < 2000; i++) {
		int *j = xmalloc(sizeof *j);
		*j = 1;
		if (i == 300)
			cancel = 1;
		if (xqueue_add(q, j)) {
			free(j);
			break;
		}
		added++;
	}
	CHECK(added < 2000); /* the producer is told to stop */
	CHECK_INT(xqueue_finish(q, &e), -1);
	CHECK(strstr(e.msg, "interrupted") != NULL);
	CHECK(c.ran <= added);
}

/* ---- downloads ---- */

/* A single-part object's ETag: the MD5 of its data, in quotes. */
static void
md5_etag(const char *s, size_t n, char *out, size_t cap)
{
	struct s3_sum sum;
	unsigned char raw[64];
	char hex[33];

	s3_sum_init(&sum, S3_CK_MD5);
	s3_sum_update(&sum, s, n);
	s3_sum_raw(&sum, raw);
	hex_encode(raw, 16, hex);
	snprintf(out, cap, "\"%s\"", hex);
}

static int
out_file(void)
{
	char path[512];

	snprintf(path, sizeof path, "%s/out", utest_tmpdir());
	return open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
}

/* xfer_download of bkt/k (o) into a new file against a server answering c (one worker, 16-byte
 * parts): the transfer and its error in *x and *e, the file's contents in *got and what the
 * server saw in *seen (the caller frees both). x->a is gone by then. */
static int
download(const struct canned *c, int n, const struct s3obj *o, struct xfer *x, struct err *e, char **got, char **seen)
{
	struct ut t;
	int fd = out_file(), rc;

	ut_start(&t, c, n, server_aws);
	*x = (struct xfer){.a = &t.a, .concurrency = 1, .part_size = 16, .on_worker = x->on_worker,
			   .progress = x->progress, .progress_ctx = x->progress_ctx};
	rc = xfer_download(x, "bkt", "k", o, S3_CK_CRC32C, fd, 1, e);
	*seen = ut_stop(&t);
	*got = utest_slurp(fd);
	x->a = NULL;
	close(fd);
	return rc;
}

#define RANGE(a, b) "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " #a "-" #b "/40\r\n"

static void
download_three_ranges(const char *third, int want_rc, const char *want)
{
	const struct canned c[] = {
		{RANGE(0, 15), "0123456789abcdef"}, {RANGE(16, 31), "ghijklmnopqrstuv"}, {RANGE(32, 39), third},
	};
	struct s3obj o = {.status = 200, .size = 40};
	struct xfer x = {0};
	struct err e = {0};
	char *got, *seen;

	md5_etag(DATA, 40, o.etag, sizeof o.etag);
	CHECK_INT(download(c, COUNT(c), &o, &x, &e, &got, &seen), want_rc);
	CHECK(strstr(seen, "GET /bkt/k HTTP/1.1\r\n") != NULL);
	CHECK_INT(strcount(seen, "range: bytes=0-15\r\n") + strcount(seen, "Range: bytes=0-15\r\n"), 1);
	CHECK_INT(strcount(seen, "range: bytes=32-39\r\n") + strcount(seen, "Range: bytes=32-39\r\n"), 1);
	CHECK(strcasestr(seen, o.etag) != NULL); /* If-Match: the object may not change meanwhile */
	if (!want_rc) {
		CHECK_STR(got, DATA);
		CHECK_STR(x.verified, "md5");
		CHECK_STR(x.unverified, "");
	} else {
		CHECK(strstr(e.msg, want) != NULL);
	}
	free(seen);
	free(got);
}

TEST(download_ranges_verified_by_md5)
{
	download_three_ranges("wxyzABCD", 0, NULL);
}

TEST(download_checksum_mismatch_fails)
{
	download_three_ranges("wxyzABCE", -1, "checksum mismatch");
}

TEST(download_unverifiable_says_why)
{
	/* A multipart ETag is not an MD5 and S3 stored no checksum: downloaded, and said so. */
	static const struct canned c[] = {{"HTTP/1.1 200 OK\r\n", "0123456789"}};
	struct s3obj o = {.status = 200, .size = 10, .etag = "\"0123456789abcdef0123456789abcdef-2\"", .mp_parts = 2};
	struct xfer x = {0};
	struct err e = {0};
	char *got, *seen;

	CHECK_INT(download(c, COUNT(c), &o, &x, &e, &got, &seen), 0);
	CHECK_STR(got, "0123456789");
	CHECK_STR(x.verified, "");
	CHECK(strstr(x.unverified, "multipart ETag is not an MD5") != NULL);
	free(got);
	free(seen);
}

TEST(download_wrong_range_is_refused)
{
	/* The server answers another range than asked for: a protocol error, nothing taken as data. */
	static const struct canned c[] = {{RANGE(16, 31), "ghijklmnopqrstuv"}};
	struct s3obj o = {.status = 200, .size = 40};
	struct xfer x = {0};
	struct err e = {0};
	char *got, *seen;

	md5_etag(DATA, 40, o.etag, sizeof o.etag);
	CHECK_INT(download(c, COUNT(c), &o, &x, &e, &got, &seen), -1);
	CHECK_INT(e.kind, E_PROTO);
	CHECK(strstr(e.msg, "asked for bytes 0-15, got 16-31") != NULL);
	free(got);
	free(seen);
}

/* ---- a listed object: one GET, no HeadObject (s3cp -r) ---- */

static void
ticked(void *ctx, uint64_t done, uint64_t total)
{
	(*(int *)ctx)++;
}

TEST(download_listed_is_one_get_on_the_callers_thread)
{
	/* The listing gave the size; the GET's answer gives the ETag (an MD5: checked) and the size
	 * to expect. On a worker's thread (on_worker) no pool of its own: the pool's waiting thread
	 * would call progress at least once while its worker waits for the answer; here none runs. */
	char head[200];
	struct canned c[1] = {{head, "0123456789"}};
	struct s3obj o = {.listed = 1, .size = 10};
	int ticks = 0;
	struct xfer x = {.on_worker = 1, .progress = ticked, .progress_ctx = &ticks};
	struct err e = {0};
	char *got, *seen, etag[40];

	md5_etag("0123456789", 10, etag, sizeof etag);
	snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nETag: %s\r\n", etag);
	CHECK_INT(download(c, COUNT(c), &o, &x, &e, &got, &seen), 0);
	CHECK_STR(got, "0123456789");
	CHECK_STR(x.verified, "md5");
	CHECK_INT(strcount(seen, "\n--\n"), 1);
	CHECK(strstr(seen, "GET /bkt/k HTTP/1.1\r\n") == seen);
	CHECK(strcasestr(seen, "x-amz-checksum-mode: ENABLED") != NULL);
	CHECK_INT(ticks, 0);
	free(got);
	free(seen);
}

TEST(download_listed_checks_what_the_answer_says)
{
	/* The object changed since it was listed: the answer's size and checksum are the ones
	 * checked, and a bad byte is still caught. */
	static const struct canned ok[] = {{"HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nx-amz-checksum-crc32c: 4waSgw==\r\n",
					    "123456789"}};
	static const struct canned bad[] = {{"HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nx-amz-checksum-crc32c: 4waSgw==\r\n",
					     "123456780"}};
	static const struct canned noetag[] = {{"HTTP/1.1 200 OK\r\n", "123456789"}};
	struct s3obj o = {.listed = 1, .size = 3};
	struct xfer x = {.on_worker = 1};
	struct err e = {0};
	char *got, *seen;

	CHECK_INT(download(ok, COUNT(ok), &o, &x, &e, &got, &seen), 0);
	CHECK_STR(got, "123456789");
	CHECK_STR(x.verified, "crc32c");
	free(got), free(seen);
	x = (struct xfer){.on_worker = 1};
	CHECK_INT(download(bad, COUNT(bad), &o, &x, &e, &got, &seen), -1);
	CHECK(strstr(e.msg, "checksum mismatch") != NULL);
	CHECK_STR(x.op, "GetObject");
	free(got), free(seen);
	x = (struct xfer){.on_worker = 1};
	e = (struct err){0};
	CHECK_INT(download(noetag, COUNT(noetag), &o, &x, &e, &got, &seen), -1);
	CHECK(strstr(e.msg, "no ETag: not from S3") != NULL);
	free(got), free(seen);
}

TEST(download_listed_composite_goes_to_head)
{
	/* A composite checksum is checked part by part, which a whole GET cannot: HeadObject
	 * follows, as for any object (its 404 explained by HeadBucket, as s3cp's own HEAD is). */
	static const struct canned c[] = {
		{"HTTP/1.1 200 OK\r\nETag: \"0123456789abcdef0123456789abcdef-2\"\r\n"
		 "x-amz-checksum-crc32c: 4waSgw==-2\r\n", "123456789"},
		{"HTTP/1.1 404 Not Found\r\n", NULL},
		{"HTTP/1.1 200 OK\r\n", NULL},
	};
	struct s3obj o = {.listed = 1, .size = 9};
	struct xfer x = {.on_worker = 1};
	struct err e = {0};
	char *got, *seen;

	CHECK_INT(download(c, COUNT(c), &o, &x, &e, &got, &seen), -1);
	CHECK(strstr(seen, "GET /bkt/k HTTP/1.1\r\n") == seen);
	CHECK(strstr(seen, "\n--\nHEAD /bkt/k HTTP/1.1\r\n") != NULL);
	CHECK_STR(x.op, "HeadObject");
	CHECK_STR(e.code, "NoSuchKey");
	CHECK_STR(got, "");
	free(got), free(seen);
}
