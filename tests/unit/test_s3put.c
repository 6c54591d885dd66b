/* test_s3put.c — the S3 requests that write (s3put.c) against the scripted server: PutObject's
 * headers and checksum, an answer without an ETag, CompleteMultipartUpload's <Error> in a 200,
 * CopyObject's source, AbortMultipartUpload of an upload already gone. Over plain HTTP, as a
 * local endpoint is: the payload's SHA-256 is signed and the checksum goes in a header. */
#include "unit.h"

TEST(s3put_put_object_headers_and_checksum)
{
	static const struct canned c[] = {{"HTTP/1.1 200 OK\r\nETag: \"et-1\"\r\n", ""}};
	static const struct kv meta[] = {{"x-amz-meta-team", "ops"}};
	struct s3_put p = {.acl = "bucket-owner-full-control", .content_type = "text/plain", .meta = meta, .nmeta = 1,
			   .no_overwrite = 1, .ck = S3_CK_CRC32C};
	struct s3_part out = {0};
	struct ut t;
	struct s3_sum sum;
	char ck[96], want[200], sha[65];

	s3_sum_init(&sum, S3_CK_CRC32C);
	s3_sum_update(&sum, "hello", 5);
	s3_sum_b64(&sum, ck);
	sha256_hex("hello", 5, sha);
	ut_start(&t, c, COUNT(c), server_aws);
	CHECK_INT(s3_put_body(&t.a, "bkt", "dir/a b.txt", &p, NULL, 0, "hello", NULL, 5, &out, &t.e), 0);
	CHECK_STR(out.etag, "\"et-1\"");
	CHECK_STR(out.ck, ck);
	CHECK_INT(out.size, 5);
	char *seen = ut_stop(&t);
	CHECK(strstr(seen, "PUT /bkt/dir/a%20b.txt HTTP/1.1\r\n") != NULL);
	CHECK(strstr(seen, "\r\nx-amz-acl: bucket-owner-full-control\r\n") != NULL);
	CHECK(strstr(seen, "\r\ncontent-type: text/plain\r\n") != NULL);
	CHECK(strstr(seen, "\r\nx-amz-meta-team: ops\r\n") != NULL);
	CHECK(strstr(seen, "\r\nif-none-match: *\r\n") != NULL);
	CHECK(strstr(seen, "\r\nx-amz-sdk-checksum-algorithm: CRC32C\r\n") != NULL);
	snprintf(want, sizeof want, "\r\nx-amz-checksum-crc32c: %s\r\n", ck);
	CHECK(strstr(seen, want) != NULL);
	snprintf(want, sizeof want, "\r\nx-amz-content-sha256: %s\r\n", sha);
	CHECK(strstr(seen, want) != NULL);
	CHECK(strstr(seen, "Content-Length: 5\r\n") != NULL);
	free(seen);
}

TEST(s3put_part_goes_to_its_upload)
{
	static const struct canned c[] = {{"HTTP/1.1 200 OK\r\nETag: \"p2\"\r\n", ""}};
	struct s3_put p = {.acl = "private", .ck = S3_CK_NONE};
	struct s3_part out = {0};
	struct ut t;

	ut_start(&t, c, COUNT(c), server_aws);
	CHECK_INT(s3_put_body(&t.a, "bkt", "k", &p, "up/1=", 2, "data", NULL, 4, &out, &t.e), 0);
	CHECK_STR(out.etag, "\"p2\"");
	CHECK_STR(out.ck, "");
	char *seen = ut_stop(&t);
	CHECK(strstr(seen, "PUT /bkt/k?partNumber=2&uploadId=up%2F1%3D HTTP/1.1\r\n") != NULL);
	CHECK_INT(strcount(seen, "x-amz-acl"), 0); /* the upload's settings went with its creation */
	CHECK_INT(strcount(seen, "x-amz-checksum"), 0);
	free(seen);
}

TEST(s3put_answer_without_etag_is_not_s3)
{
	static const struct canned c[] = {{"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n", "<html>hotel wifi</html>"}};
	struct s3_put p = {0};
	struct ut t;

	ut_start(&t, c, COUNT(c), server_aws);
	CHECK_INT(s3_put_body(&t.a, "bkt", "k", &p, NULL, 0, "x", NULL, 1, NULL, &t.e), -1);
	CHECK_INT(t.e.kind, E_PROTO);
	CHECK(strstr(t.e.msg, "no ETag") != NULL);
	free(ut_stop(&t));
}

TEST(s3put_complete_error_in_200_is_retried)
{
	static const struct canned c[] = {
		{"HTTP/1.1 200 OK\r\n", "<Error><Code>InternalError</Code><Message>try again</Message></Error>"},
		{"HTTP/1.1 200 OK\r\n", "<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>"},
	};
	struct s3_part parts[2] = {{.etag = "\"a\"", .size = 5}, {.etag = "\"b\"", .size = 5}};
	struct s3_put p = {.no_overwrite = 1};
	struct ut t;

	ut_start(&t, c, COUNT(c), server_aws);
	CHECK_INT(s3_mpu_complete(&t.a, "bkt", "k", &p, "up-1", parts, 2, &t.e), 0);
	char *seen = ut_stop(&t);
	CHECK_INT(strcount(seen, "POST /bkt/k?uploadId=up-1 HTTP/1.1\r\n"), 2);
	CHECK_INT(strcount(seen, "\r\nif-none-match: *\r\n"), 2);
	free(seen);
}

TEST(s3put_complete_other_error_in_200_fails)
{
	static const struct canned c[] = {
		{"HTTP/1.1 200 OK\r\n", "<Error><Code>InvalidPart</Code><Message>part 2 is missing</Message></Error>"},
	};
	struct s3_part parts[1] = {{.etag = "\"a\"", .size = 5}};
	struct s3_put p = {0};
	struct ut t;

	ut_start(&t, c, COUNT(c), server_aws);
	CHECK_INT(s3_mpu_complete(&t.a, "bkt", "k", &p, "up-1", parts, 1, &t.e), -1);
	CHECK_INT(t.e.kind, E_AWS);
	CHECK_STR(t.e.code, "InvalidPart");
	CHECK_STR(t.e.msg, "part 2 is missing");
	free(ut_stop(&t));
}

TEST(s3put_copy_source_encoded)
{
	static const struct canned c[] = {
		{"HTTP/1.1 200 OK\r\n", "<CopyObjectResult><ETag>\"c\"</ETag></CopyObjectResult>"},
		{"HTTP/1.1 200 OK\r\n", "<CopyObjectResult><ETag>\"c\"</ETag></CopyObjectResult>"},
	};
	struct s3_put p = {.content_type = "text/csv", .storage_class = "STANDARD_IA"};
	struct ut t;

	ut_start(&t, c, COUNT(c), server_aws);
	CHECK_INT(s3_copy_object(&t.a, "src", "in/a b+c.csv", "dst", "out/k", &p, 0, &t.e), 0);
	CHECK_INT(s3_copy_object(&t.a, "src", "in/a b+c.csv", "dst", "out/k", &p, 1, &t.e), 0);
	char *seen = ut_stop(&t);
	CHECK_INT(strcount(seen, "PUT /dst/out/k HTTP/1.1\r\n"), 2);
	CHECK_INT(strcount(seen, "\r\nx-amz-copy-source: /src/in/a%20b%2Bc.csv\r\n"), 2);
	/* COPY keeps the source's content type; REPLACE sends the one asked for */
	CHECK(strstr(seen, "\r\nx-amz-metadata-directive: COPY\r\n") != NULL);
	CHECK(strstr(seen, "\r\nx-amz-metadata-directive: REPLACE\r\n") != NULL);
	CHECK_INT(strcount(seen, "\r\ncontent-type: text/csv\r\n"), 1);
	CHECK_INT(strcount(seen, "\r\nx-amz-storage-class: STANDARD_IA\r\n"), 2);
	free(seen);
}

TEST(s3put_abort_of_an_upload_already_gone)
{
	static const struct canned c[] = {
		{"HTTP/1.1 404 Not Found\r\n", "<Error><Code>NoSuchUpload</Code><Message>gone</Message></Error>"},
		{"HTTP/1.1 403 Forbidden\r\n", "<Error><Code>AccessDenied</Code><Message>no</Message></Error>"},
	};
	struct ut t;

	ut_start(&t, c, COUNT(c), server_aws);
	CHECK_INT(s3_mpu_abort(&t.a, "bkt", "k", "up-1", &t.e), 0);
	CHECK_INT(s3_mpu_abort(&t.a, "bkt", "k", "up-1", &t.e), -1);
	CHECK_STR(t.e.code, "AccessDenied");
	char *seen = ut_stop(&t);
	CHECK_INT(strcount(seen, "DELETE /bkt/k?uploadId=up-1 HTTP/1.1\r\n"), 2);
	free(seen);
}
