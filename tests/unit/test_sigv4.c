/* test_sigv4.c — SigV4 against the AWS SigV4 test suite (../shared/sigv4-suite, or
 * $AWSBOX_SIGV4_SUITE) and the worked examples of the S3 SigV4 documentation
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html and
 * sigv4-query-string-auth.html). tests/integration/test_sigv4_botocore.py compares with botocore. */
#include "unit.h"

#include <ftw.h>
#include <sys/stat.h>

#define SUITE_DATE "20150830T123600Z"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static struct creds suite_creds = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL, 0, NULL, NULL};
static char *suite_reqs[256];
static int suite_n;

static char *
slurp_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = {0};
	char tmp[4096];
	size_t n;

	if (!f)
		utest_fail(__FILE__, __LINE__, "open %s", path);
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_add(&b, tmp, n);
	fclose(f);
	if (len)
		*len = b.len;
	return buf_take(&b);
}

static int
collect_req(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	size_t n = strlen(path);

	if (flag == FTW_F && n > 4 && !strcmp(path + n - 4, ".req") && suite_n < (int)COUNT(suite_reqs))
		suite_reqs[suite_n++] = xstrdup(path);
	return 0;
}

/* NAME.req minus ".req" plus ext, read whole. */
static char *
sibling(const char *req, const char *ext)
{
	char *p = xasprintf("%.*s%s", (int)(strlen(req) - 4), req, ext), *s = slurp_file(p, NULL);

	free(p);
	return s;
}

/* Parses a raw request and checks the three outputs. The request line's path is taken as
 * sent (the suite's paths are unencoded: the signer's one encoding gives the .creq), the
 * query as raw pairs. A folded line (leading space or tab) is one more value of the header
 * above: this copy of the suite (the 2015 one, as in aws4) expects "value1,value2,value3";
 * the later aws-c-auth copy joins folds with a space instead. */
static void
suite_case(const char *req_path)
{
	size_t len;
	char *raw = slurp_file(req_path, &len), *body = "", *line, *save = NULL;
	char *exp_creq = sibling(req_path, ".creq"), *exp_sts = sibling(req_path, ".sts");
	char *exp_authz = sibling(req_path, ".authz");
	struct kv q[16], h[16];
	int nq = 0, nh = 0;
	struct creds c = suite_creds;
	struct buf creq = {0}, sh = {0}, sts = {0}, authz = {0};
	char hash[65];

	char *sep = strstr(raw, "\n\n");
	if (sep) {
		*sep = 0;
		body = sep + 2;
	}
	char *reqline = strtok_r(raw, "\n", &save);
	char *sp1 = strchr(reqline, ' '), *sp2 = strrchr(reqline, ' ');
	if (!sp1 || sp2 == sp1)
		utest_fail(__FILE__, __LINE__, "%s: bad request line", req_path);
	*sp1 = *sp2 = 0;
	char *path = sp1 + 1, *qs = strchr(path, '?');
	if (qs) {
		*qs++ = 0;
		for (char *pair, *s2 = NULL; nq < (int)COUNT(q) && (pair = strtok_r(qs, "&", &s2)); qs = NULL) {
			char *eq = strchr(pair, '=');
			if (eq)
				*eq++ = 0;
			q[nq++] = (struct kv){pair, eq};
		}
	}
	while ((line = strtok_r(NULL, "\n", &save)) && nh < (int)COUNT(h)) {
		line[strcspn(line, "\r")] = 0;
		if ((*line == ' ' || *line == '\t') && nh) {
			h[nh] = (struct kv){h[nh - 1].k, line};
			nh++;
			continue;
		}
		char *colon = strchr(line, ':');
		if (!colon)
			utest_fail(__FILE__, __LINE__, "%s: bad header %s", req_path, line);
		*colon = 0;
		h[nh++] = (struct kv){line, colon + 1};
		if (!strcasecmp(line, "x-amz-security-token"))
			c.token = colon + 1;
	}
	sha256_hex(body, strlen(body), hash);
	struct sigv4_req r = {reqline, path, q, nq, h, nh, hash, 0};
	sigv4_canonical(&r, &creq, &sh);
	sigv4_string_to_sign(creq.p, SUITE_DATE, "us-east-1", "service", &sts);
	sigv4_authorization(&c, &r, SUITE_DATE, "us-east-1", "service", &authz);
	if (strcmp(creq.p, exp_creq) || strcmp(sts.p, exp_sts) || strcmp(authz.p, exp_authz))
		utest_fail(__FILE__, __LINE__, "%s:\n--- creq\n%s\n--- expected\n%s\n--- sts\n%s\n--- expected\n%s\n"
			   "--- authz\n%s\n--- expected\n%s", req_path, creq.p, exp_creq, sts.p, exp_sts, authz.p,
			   exp_authz);
	buf_free(&creq);
	buf_free(&sh);
	buf_free(&sts);
	buf_free(&authz);
	free(raw);
	free(exp_creq);
	free(exp_sts);
	free(exp_authz);
}

TEST(sigv4_suite)
{
	const char *dir = getenv("AWSBOX_SIGV4_SUITE") ? getenv("AWSBOX_SIGV4_SUITE") : "../shared/sigv4-suite";
	struct stat st;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "    skip: no SigV4 test suite at %s (set AWSBOX_SIGV4_SUITE)\n", dir);
		return;
	}
	CHECK_INT(nftw(dir, collect_req, 16, FTW_PHYS), 0);
	CHECK(suite_n > 0);
	for (int i = 0; i < suite_n; i++)
		suite_case(suite_reqs[i]);
	fprintf(stderr, "    %d SigV4 suite cases from %s\n", suite_n, dir);
}

/* S3 documentation, "Example: GET Object" (header auth, Range header, empty payload). */
TEST(sigv4_s3_doc_get_object)
{
	struct creds c = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL, 0, NULL, NULL};
	struct kv h[] = {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"},
			 {"x-amz-content-sha256", EMPTY_SHA}, {"x-amz-date", "20130524T000000Z"}};
	struct sigv4_req r = {"GET", "/test.txt", NULL, 0, h, COUNT(h), EMPTY_SHA, 1};
	struct buf creq = {0}, sh = {0}, authz = {0};

	sigv4_canonical(&r, &creq, &sh);
	CHECK_STR(creq.p, "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
			  "x-amz-content-sha256:" EMPTY_SHA "\nx-amz-date:20130524T000000Z\n\n"
			  "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA);
	CHECK_STR(sh.p, "host;range;x-amz-content-sha256;x-amz-date");
	sigv4_authorization(&c, &r, "20130524T000000Z", "us-east-1", "s3", &authz);
	CHECK_STR(authz.p, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
			   "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
			   "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	buf_free(&creq);
	buf_free(&sh);
	buf_free(&authz);
}

/* S3 documentation, presigned URL example (GET /test.txt, 86400 s). */
TEST(sigv4_s3_doc_presign)
{
	struct creds c = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL, 0, NULL, NULL};
	struct kv h[] = {{"Host", "examplebucket.s3.amazonaws.com"}};
	struct sigv4_req r = {"GET", "/test.txt", NULL, 0, h, 1, "UNSIGNED-PAYLOAD", 1};
	struct buf out = {0};

	sigv4_presign(&c, &r, "20130524T000000Z", "us-east-1", "s3", 86400, &out);
	CHECK_STR(out.p, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
			 "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
			 "X-Amz-SignedHeaders=host&X-Amz-Signature="
			 "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	buf_free(&out);
}

/* Rules worked out by hand from botocore's remove_dot_segments and Trimall. */
TEST(sigv4_canonical_rules)
{
	static const char *const paths[][2] = {
		{"", "/"}, {"/a/b/../c/./d", "/a/c/d"}, {"/a/b/..", "/a"}, {"/a/b/../", "/a/"},
		{"/../..", "/"}, {"//a//b//", "/a/b/"}, {"/a%20b/%2F/", "/a%2520b/%252F/"},
		{"/a/./", "/a/"}, {"/~x/", "/~x/"}, {"/a=b;c", "/a%3Db%3Bc"},
	};
	struct kv h[] = {{"Host", "h"}, {"X-B", "\t two \t  words\t"}, {"x-b", ""}, {"User-Agent", "x"},
			 {"X-A", "1"}, {"EXPECT", "100-continue"}, {"x-amzn-trace-id", "t"}};
	struct kv q[] = {{"b", NULL}, {"a", "z"}, {"a-b", "1"}, {"a", "Z"}, {"", "e"}, {"\xc3\xbc", "a b+c"}};
	struct buf creq = {0}, sh = {0};

	for (size_t i = 0; i < COUNT(paths); i++) {
		struct sigv4_req r = {"GET", paths[i][0], NULL, 0, NULL, 0, "X", 0};
		char *want = xasprintf("GET\n%s\n\n\n\n\nX", paths[i][1]);
		buf_reset(&creq);
		sigv4_canonical(&r, &creq, &sh);
		CHECK_STR(creq.p, want);
		free(want);
	}
	struct sigv4_req s3 = {"PUT", "/a/../b//c%2B ", NULL, 0, NULL, 0, "X", 1};
	buf_reset(&creq);
	sigv4_canonical(&s3, &creq, &sh);
	CHECK_STR(creq.p, "PUT\n/a/../b//c%2B \n\n\n\n\nX");
	struct sigv4_req r = {"POST", "/", q, COUNT(q), h, COUNT(h), "UNSIGNED-PAYLOAD", 0};
	buf_reset(&creq);
	buf_reset(&sh);
	sigv4_canonical(&r, &creq, &sh);
	CHECK_STR(creq.p, "POST\n/\n=e&%C3%BC=a%20b%2Bc&a=Z&a=z&a-b=1&b=\n"
			  "host:h\nx-a:1\nx-b:two words,\n\nhost;x-a;x-b\nUNSIGNED-PAYLOAD");
	CHECK_STR(sh.p, "host;x-a;x-b");
	buf_free(&creq);
	buf_free(&sh);
}

/* The framing of an aws-chunked body, written out in full. */
TEST(sigv4_awschunked_length)
{
	CHECK_INT(awschunked_length(5, 2, "x-amz-checksum-crc32", 8),
		  strlen("2\r\nab\r\n2\r\ncd\r\n1\r\ne\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"));
	CHECK_INT(awschunked_length(0, 2, "x-amz-checksum-crc32", 8),
		  strlen("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"));
	CHECK_INT(awschunked_length(17, 16, "n", 1), strlen("10\r\n0123456789abcdef\r\n1\r\nx\r\n0\r\nn:v\r\n\r\n"));
	CHECK_INT(awschunked_length(1, 0, "n", 1), -1);
	CHECK_INT(awschunked_length(-1, 8, "n", 1), -1);
}

TEST(sigv4_creds_free)
{
	struct creds c = {xstrdup("AKID"), xstrdup("secret"), xstrdup("token"), 5, "env", xstrdup("123")};

	creds_free(&c);
	CHECK(!c.akid && !c.secret && !c.token && !c.account && !c.expires && !c.source);
	creds_free(&c); /* twice is harmless */
}
