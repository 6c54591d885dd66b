/* test_imds.c — the instance metadata client against a scripted server: the IMDSv2 token and
 * its reuse, the v1 fallback and when it is refused, a renewed token after 401, error kinds,
 * the endpoint settings and the wait. The stand-in in tests/integration covers the applet. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOKEN_OK "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n"
#define TEXT(status) "HTTP/1.1 " status "\r\nContent-Type: text/plain\r\n"

static void
ctx(struct aws *a, int port)
{
	struct common c = {0};
	struct err e = {0};
	char url[64];

	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
	unsetenv("AWS_EC2_METADATA_DISABLED");
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	if (aws_init(a, &c, &e))
		utest_fail(__FILE__, __LINE__, "aws_init: %s", e.msg);
}

/* A port with nothing listening on it. */
static int
closed_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (void *)&sa, al) || getsockname(fd, (void *)&sa, &al))
		utest_fail(__FILE__, __LINE__, "socket");
	close(fd);
	return ntohs(sa.sin_port);
}

TEST(imds_v2_token_once_per_process)
{
	struct canned c[] = {{TOKEN_OK, "tok-123"}, {TEXT("200 OK"), "i-0abc"}, {TEXT("200 OK"), "eu-west-3"}};
	struct ut t;

	ut_start(&t, c, 3, ctx);
	CHECK_INT(imds_get(&t.a, "/latest/meta-data/instance-id", &t.out, &t.e), 0);
	CHECK_STR(t.out.p, "i-0abc");
	CHECK_INT(imds_get(&t.a, "/latest/meta-data/placement/region", &t.out, &t.e), 0);
	CHECK_STR(t.out.p, "eu-west-3");
	char *seen = ut_stop(&t);
	CHECK_INT(strcount(seen, "PUT /latest/api/token HTTP/1.1"), 1);
	CHECK_INT(strcount(seen, "X-aws-ec2-metadata-token-ttl-seconds: 21600\r\n"), 1);
	CHECK_INT(strcount(seen, "X-aws-ec2-metadata-token: tok-123\r\n"), 2);
	CHECK(strstr(seen, "GET /latest/meta-data/instance-id HTTP/1.1") < strstr(seen, "GET /latest/meta-data/placement"));
	free(seen);
}

TEST(imds_v1_fallback_without_token)
{
	/* An IMDS without the token API (404 to the PUT): GETs without a token, asked for once. */
	struct canned c[] = {{TEXT("404 Not Found"), ""}, {TEXT("200 OK"), "i-0abc"}, {TEXT("200 OK"), "t3.micro"}};
	struct ut t;

	ut_start(&t, c, 3, ctx);
	CHECK_INT(imds_get(&t.a, "/latest/meta-data/instance-id", &t.out, &t.e), 0);
	CHECK_INT(imds_get(&t.a, "/latest/meta-data/instance-type", &t.out, &t.e), 0);
	CHECK_STR(t.out.p, "t3.micro");
	char *seen = ut_stop(&t);
	CHECK_INT(strcount(seen, "PUT "), 1);
	CHECK_INT(strcount(seen, "GET "), 2);
	CHECK(!strstr(seen, "X-aws-ec2-metadata-token:"));
	free(seen);
}

/* One imds_get of instance-id against the server answering c; returns the heads it saw. */
static char *
get_once(const struct canned *c, int n, int *rc, struct err *e)
{
	struct ut t;

	ut_start(&t, c, n, ctx);
	*rc = imds_get(&t.a, "/latest/meta-data/instance-id", &t.out, e);
	return ut_stop(&t);
}

TEST(imds_v1_disabled_stops_at_the_token)
{
	struct canned c[] = {{TEXT("404 Not Found"), ""}, {TEXT("200 OK"), "i-0abc"}};
	struct err e = {0};
	int rc;

	setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
	char *seen = get_once(c, 2, &rc, &e);
	CHECK_INT(rc, -1);
	CHECK_INT(e.kind, E_NOCREDS);
	CHECK(strstr(e.msg, "instance metadata: ") == e.msg && strstr(e.msg, "IMDSv1 is disabled"));
	CHECK_INT(strcount(seen, "GET "), 0);
	free(seen);
}

TEST(imds_token_refused_with_400_is_not_a_fallback)
{
	struct canned c[] = {{TEXT("400 Bad Request"), ""}, {TEXT("200 OK"), "i-0abc"}};
	struct err e = {0};
	int rc;

	char *seen = get_once(c, 2, &rc, &e);
	CHECK_INT(rc, -1);
	CHECK_INT(e.kind, E_NOCREDS);
	CHECK(strstr(e.msg, "HTTP 400"));
	CHECK_INT(strcount(seen, "GET "), 0);
	free(seen);
}

TEST(imds_401_renews_the_token_once)
{
	struct canned c[] = {{TOKEN_OK, "old"}, {TEXT("401 Unauthorized"), ""}, {TOKEN_OK, "new"},
			     {TEXT("200 OK"), "i-0abc"}, {TEXT("401 Unauthorized"), ""}, {TOKEN_OK, "newer"},
			     {TEXT("401 Unauthorized"), ""}};
	struct ut t;

	ut_start(&t, c, 7, ctx);
	CHECK_INT(imds_get(&t.a, "/latest/meta-data/instance-id", &t.out, &t.e), 0);
	CHECK_STR(t.out.p, "i-0abc");
	/* a second 401 with a fresh token is an answer, not a loop */
	CHECK_INT(imds_get(&t.a, "/latest/meta-data/instance-id", &t.out, &t.e), -1);
	CHECK_INT(t.e.kind, E_NOCREDS);
	CHECK_INT(err_exit_code(&t.e), EX_ACCESS);
	char *seen = ut_stop(&t);
	CHECK_INT(strcount(seen, "PUT "), 3);
	CHECK_INT(strcount(seen, "X-aws-ec2-metadata-token: new\r\n"), 2);
	CHECK_INT(strcount(seen, "X-aws-ec2-metadata-token: newer\r\n"), 1);
	free(seen);
}

TEST(imds_status_kinds)
{
	struct canned c[] = {{TOKEN_OK, "t"}, {TEXT("404 Not Found"), "<html>Not Found</html>"},
			     {TEXT("500 Internal Server Error"), ""}, {TEXT("403 Forbidden"), ""}};
	struct ut t;

	ut_start(&t, c, 4, ctx);
	CHECK_INT(imds_get(&t.a, "/latest/meta-data/tags/instance/Name", &t.out, &t.e), -1);
	CHECK_INT(t.e.kind, E_NOTFOUND);
	CHECK_INT(err_exit_code(&t.e), EX_NOTFOUND);
	CHECK_STR(t.e.msg, "instance metadata: /latest/meta-data/tags/instance/Name: not found");
	CHECK_INT(imds_get(&t.a, "/latest/meta-data/x", &t.out, &t.e), -1);
	CHECK_INT(t.e.kind, E_PROTO);
	CHECK_INT(t.e.status, 500);
	CHECK_INT(imds_get(&t.a, "/latest/meta-data/x", &t.out, &t.e), -1);
	CHECK_INT(t.e.kind, E_NOCREDS);
	CHECK_INT(t.a.imds_state, 2);
	CHECK(strstr(t.e.msg, "turned off"));
	free(ut_stop(&t));
}

TEST(imds_disabled_sends_nothing)
{
	struct aws a;
	struct err e = {0};
	struct buf out = {0};

	ctx(&a, closed_port());
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	CHECK(imds_disabled(&a));
	CHECK_INT(imds_get(&a, "/latest/meta-data/instance-id", &out, &e), -1);
	CHECK_INT(e.kind, E_USAGE);
	CHECK(strstr(e.msg, "AWS_EC2_METADATA_DISABLED"));
	aws_free(&a);
}

TEST(imds_unreachable_is_remembered)
{
	struct aws a;
	struct err e = {0};
	struct buf out = {0};

	ctx(&a, closed_port());
	CHECK_INT(imds_get(&a, "/latest/meta-data/instance-id", &out, &e), -1);
	CHECK_INT(e.kind, E_NET);
	CHECK_INT(err_exit_code(&e), EX_NET);
	CHECK_INT(a.imds_state, -1);
	double t0 = mono_now();
	CHECK_INT(imds_get(&a, "/latest/meta-data/instance-id", &out, &e), -1);
	CHECK(mono_now() - t0 < 0.05);
	CHECK(strstr(e.msg, "not reachable"));
	aws_free(&a);
}

TEST(imds_endpoint_settings)
{
	struct aws a;
	struct err e = {0};
	struct url u;
	char cf[512];

	ctx(&a, 1);
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	CHECK_INT(imds_endpoint(&a, &u, &e), 0);
	CHECK_STR(u.host, "169.254.169.254");
	CHECK_INT(u.port, 80);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6", 1);
	CHECK_INT(imds_endpoint(&a, &u, &e), 0);
	CHECK_STR(u.host, "fd00:ec2::254");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ipv5", 1);
	CHECK_INT(imds_endpoint(&a, &u, &e), -1);
	CHECK_INT(e.kind, E_USAGE);
	aws_free(&a);
	/* the profile's settings, when the environment has none */
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	snprintf(cf, sizeof cf, "%s/config", utest_tmpdir());
	utest_write(cf, "[default]\nec2_metadata_service_endpoint = http://127.0.0.1:8111\n");
	setenv("AWS_CONFIG_FILE", cf, 1);
	struct common co = {0};
	CHECK_INT(aws_init(&a, &co, &e), 0);
	CHECK_INT(imds_endpoint(&a, &u, &e), 0);
	CHECK_STR(u.host, "127.0.0.1");
	CHECK_INT(u.port, 8111);
	aws_free(&a);
}

TEST(imds_wait_deadline)
{
	struct canned c[] = {{TOKEN_OK, "t"}, {TEXT("200 OK"), "ami-id\ninstance-id\n"}};
	struct server s;
	struct aws a;
	struct err e = {0};

	ctx(&a, closed_port());
	double t0 = mono_now();
	CHECK_INT(imds_wait(&a, t0 + 1.2, &e), -1);
	CHECK_INT(e.kind, E_TIMEOUT);
	CHECK(mono_now() - t0 >= 1.2 && mono_now() - t0 < 3);
	aws_free(&a);
	server_start(&s, c, 2);
	ctx(&a, s.port);
	CHECK_INT(imds_wait(&a, mono_now() + 5, &e), 0);
	aws_free(&a);
	free(server_stop(&s));
}
