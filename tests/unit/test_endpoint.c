/* test_endpoint.c — URLs, partitions and endpoint selection (names as AWS documents them). */
#include "unit.h"

#include <unistd.h>

static void
ctx(struct aws *a, const char *region, const char *flag_url, const char *config)
{
	struct common c = {0};
	struct err e = {0};
	char path[512];

	snprintf(path, sizeof path, "%s/config", utest_tmpdir());
	utest_write(path, config ? config : "");
	setenv("AWS_CONFIG_FILE", path, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	c.region = region;
	c.endpoint_url = flag_url;
	if (aws_init(a, &c, &e))
		utest_fail(__FILE__, __LINE__, "aws_init: %s", e.msg);
}

TEST(endpoint_url_parse)
{
	struct url u;
	struct err e;
	char hp[300];

	CHECK_INT(url_parse("https://ssm.us-east-1.amazonaws.com", &u, &e), 0);
	CHECK(u.tls && u.port == 443 && !strcmp(u.host, "ssm.us-east-1.amazonaws.com") && !u.path[0]);
	url_hostport(&u, hp, sizeof hp);
	CHECK_STR(hp, "ssm.us-east-1.amazonaws.com");
	CHECK_INT(url_parse("http://127.0.0.1:5000/base/", &u, &e), 0);
	CHECK(!u.tls && u.port == 5000 && !strcmp(u.path, "/base"));
	url_hostport(&u, hp, sizeof hp);
	CHECK_STR(hp, "127.0.0.1:5000");
	CHECK_INT(url_parse("http://[::1]:8080", &u, &e), 0);
	CHECK_STR(u.host, "::1");
	url_hostport(&u, hp, sizeof hp);
	CHECK_STR(hp, "[::1]:8080");
	CHECK_INT(url_parse("HTTPS://Example.com:443/", &u, &e), 0);
	url_hostport(&u, hp, sizeof hp);
	CHECK_STR(hp, "Example.com");
	static const char *const bad[] = {"ftp://x", "http://", "http://a:0", "http://a:99999", "http://a:b",
					  "http://u:p@host", "http://[::1", "http://a b", "http://a?x=1", "localhost:80"};
	for (size_t i = 0; i < COUNT(bad); i++) {
		CHECK_INT(url_parse(bad[i], &u, &e), -1);
		CHECK_INT(e.kind, E_USAGE);
	}
}

TEST(endpoint_partitions_and_variants)
{
	struct aws a;
	struct endpoint ep;
	struct err e;
	const char *dns;

	CHECK_STR(partition_of("cn-north-1", &dns), "aws-cn");
	CHECK_STR(dns, "amazonaws.com.cn");
	CHECK_STR(partition_of("us-gov-west-1", &dns), "aws-us-gov");
	CHECK_STR(partition_of("eu-west-1", &dns), "aws");
	CHECK_STR(partition_of("us-isob-east-1", &dns), "aws-iso-b");
	CHECK_STR(dns, "sc2s.sgov.gov");
	CHECK_STR(partition_of("eusc-de-east-1", &dns), "aws-eusc");
	CHECK_STR(dns, "amazonaws.eu");
	CHECK_STR(partition_of("aws-us-gov-global", &dns), "aws-us-gov");
	CHECK_STR(partition_of("xx-nowhere-1", &dns), "aws"); /* no pattern matches: aws */

	ctx(&a, "eu-west-1", NULL, NULL);
	CHECK_INT(aws_endpoint(&a, &SVC_SSM, NULL, 1, &ep, &e), 0);
	CHECK_STR(ep.url.host, "ssm.eu-west-1.amazonaws.com");
	CHECK_STR(ep.region, "eu-west-1");
	CHECK(ep.url.tls && !ep.custom);
	CHECK_INT(aws_endpoint(&a, &SVC_SECRETS, NULL, 1, &ep, &e), 0);
	CHECK_STR(ep.url.host, "secretsmanager.eu-west-1.amazonaws.com");
	CHECK_INT(aws_endpoint(&a, &SVC_S3, "my-bucket", 1, &ep, &e), 0);
	CHECK_STR(ep.url.host, "my-bucket.s3.eu-west-1.amazonaws.com");
	CHECK(!ep.path_style);
	CHECK_INT(aws_endpoint(&a, &SVC_S3, "my.dotted.bucket", 1, &ep, &e), 0);
	CHECK_STR(ep.url.host, "s3.eu-west-1.amazonaws.com");
	CHECK(ep.path_style);
	setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
	CHECK_INT(aws_endpoint(&a, &SVC_SQS, NULL, 1, &ep, &e), 0);
	CHECK_STR(ep.url.host, "sqs-fips.eu-west-1.amazonaws.com");
	unsetenv("AWS_USE_FIPS_ENDPOINT");
	setenv("AWS_USE_DUALSTACK_ENDPOINT", "true", 1);
	CHECK_INT(aws_endpoint(&a, &SVC_S3, "b-1", 1, &ep, &e), 0);
	CHECK_STR(ep.url.host, "b-1.s3.dualstack.eu-west-1.amazonaws.com");
	CHECK_INT(aws_endpoint(&a, &SVC_LAMBDA, NULL, 1, &ep, &e), 0);
	CHECK_STR(ep.url.host, "lambda.eu-west-1.api.aws");
	unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
	aws_free(&a);

	ctx(&a, "cn-north-1", NULL, NULL);
	CHECK_INT(aws_endpoint(&a, &SVC_STS, NULL, 1, &ep, &e), 0);
	CHECK_STR(ep.url.host, "sts.cn-north-1.amazonaws.com.cn");
	aws_free(&a);

	ctx(&a, "bad/region", NULL, NULL);
	CHECK_INT(aws_endpoint(&a, &SVC_SSM, NULL, 1, &ep, &e), -1);
	CHECK_INT(e.kind, E_USAGE);
	aws_free(&a);
}

TEST(endpoint_configured_precedence)
{
	struct aws a;
	struct endpoint ep;
	struct err e;

	ctx(&a, "us-east-1", NULL,
	    "[default]\nendpoint_url = http://127.0.0.1:1111\nservices = loc\n"
	    "[services loc]\nsqs =\n  endpoint_url = http://127.0.0.1:2222\n"
	    "secrets_manager =\n  endpoint_url = http://127.0.0.1:2323\n");
	CHECK_INT(aws_endpoint(&a, &SVC_SSM, NULL, 1, &ep, &e), 0);
	CHECK(ep.custom && ep.url.port == 1111);
	CHECK_INT(aws_endpoint(&a, &SVC_SQS, NULL, 1, &ep, &e), 0);
	CHECK_INT(ep.url.port, 2222);
	CHECK_INT(aws_endpoint(&a, &SVC_SECRETS, NULL, 1, &ep, &e), 0);
	CHECK_INT(ep.url.port, 2323);
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:3333", 1);
	CHECK_INT(aws_endpoint(&a, &SVC_SQS, NULL, 1, &ep, &e), 0);
	CHECK_INT(ep.url.port, 3333);
	setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:4444", 1);
	CHECK_INT(aws_endpoint(&a, &SVC_SQS, NULL, 1, &ep, &e), 0);
	CHECK_INT(ep.url.port, 4444);
	CHECK_INT(aws_endpoint(&a, &SVC_S3, "bucket", 1, &ep, &e), 0);
	CHECK(ep.path_style && ep.url.port == 3333 && !strcmp(ep.url.host, "127.0.0.1"));
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	CHECK_INT(aws_endpoint(&a, &SVC_SQS, NULL, 1, &ep, &e), 0);
	CHECK_STR(ep.url.host, "sqs.us-east-1.amazonaws.com");
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	aws_free(&a);

	/* --endpoint-url beats everything, except for the credential chain's own calls. */
	ctx(&a, "us-east-1", "http://127.0.0.1:5555", NULL);
	CHECK_INT(aws_endpoint(&a, &SVC_SQS, NULL, 1, &ep, &e), 0);
	CHECK_INT(ep.url.port, 5555);
	CHECK_INT(aws_endpoint(&a, &SVC_STS, NULL, 0, &ep, &e), 0);
	CHECK_INT(ep.url.port, 3333);
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_SQS");
	aws_free(&a);
}

TEST(endpoint_region_required_except_sts)
{
	struct aws a;
	struct endpoint ep;
	struct err e;

	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	ctx(&a, NULL, NULL, NULL);
	CHECK_INT(aws_endpoint(&a, &SVC_SSM, NULL, 1, &ep, &e), -1);
	CHECK_INT(e.kind, E_USAGE);
	CHECK(strstr(e.msg, "region") != NULL);
	CHECK_INT(aws_endpoint(&a, &SVC_STS, NULL, 1, &ep, &e), 0);
	CHECK_STR(ep.url.host, "sts.amazonaws.com");
	CHECK_STR(ep.region, "us-east-1");
	aws_free(&a);
	setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
	ctx(&a, NULL, NULL, NULL);
	CHECK_STR(aws_region(&a, &e), "ap-south-1");
	aws_free(&a);
	setenv("AWS_REGION", "eu-north-1", 1);
	ctx(&a, NULL, NULL, NULL);
	CHECK_STR(aws_region(&a, &e), "eu-north-1");
	aws_free(&a);
	ctx(&a, "sa-east-1", NULL, NULL);
	CHECK_STR(aws_region(&a, &e), "sa-east-1");
	aws_free(&a);
}
