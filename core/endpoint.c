/* endpoint.c — service + region -> URL: partitions, FIPS and dual-stack names, configured
 * endpoints (AWS_ENDPOINT_URL*, config endpoint_url and [services]), S3 addressing.
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct svc SVC_S3 = {"s3", "s3", "S3", PROTO_RESTXML, NULL, NULL};
const struct svc SVC_SSM = {"ssm", "ssm", "SSM", PROTO_JSON, "AmazonSSM", "1.1"};
const struct svc SVC_SECRETS = {"secretsmanager", "secretsmanager", "SECRETS_MANAGER", PROTO_JSON, "secretsmanager", "1.1"};
const struct svc SVC_LAMBDA = {"lambda", "lambda", "LAMBDA", PROTO_RESTJSON, NULL, NULL};
const struct svc SVC_SQS = {"sqs", "sqs", "SQS", PROTO_JSON, "AmazonSQS", "1.0"};
const struct svc SVC_STS = {"sts", "sts", "STS", PROTO_QUERY, "2011-06-15", NULL};

const char *
partition_of(const char *region, const char **dns_suffix)
{
	const char *id = "aws", *dns = "amazonaws.com";

	if (!strncmp(region, "cn-", 3)) {
		id = "aws-cn";
		dns = "amazonaws.com.cn";
	} else if (!strncmp(region, "us-gov-", 7)) {
		id = "aws-us-gov";
	}
	if (dns_suffix)
		*dns_suffix = dns;
	return id;
}

static int
env_true(const char *name, const char *cfg)
{
	const char *v = getenv(name);

	if (!v || !*v)
		v = cfg;
	return v && !strcasecmp(v, "true");
}

/* A configured endpoint for svc: service env, global env, [services] section, profile. */
static const char *
configured(struct aws *a, const struct svc *svc)
{
	char name[64];
	const char *v, *services;

	if (env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", aws_config(a, "ignore_configured_endpoint_urls")))
		return NULL;
	snprintf(name, sizeof name, "AWS_ENDPOINT_URL_%s", svc->env);
	if ((v = getenv(name)) && *v)
		return v;
	if ((v = getenv("AWS_ENDPOINT_URL")) && *v)
		return v;
	if ((services = aws_config(a, "services"))) {
		char sec[128], key[64];
		size_t i;
		snprintf(sec, sizeof sec, "services %s", services);
		for (i = 0; svc->env[i] && i < sizeof key - 1; i++)
			key[i] = (char)(svc->env[i] >= 'A' && svc->env[i] <= 'Z' ? svc->env[i] + 32 : svc->env[i]);
		key[i] = 0;
		if ((v = ini_sub(a->config, sec, key, "endpoint_url")))
			return v;
	}
	return aws_config(a, "endpoint_url");
}

/* S3 virtual-host style needs a bucket name that is one DNS label set without dots (a
 * dotted name would not match the wildcard certificate). */
static int
dns_bucket(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-'))
			return 0;
	return 1;
}

static int
valid_region(const char *r)
{
	if (!*r || strlen(r) > 40)
		return 0;
	for (; *r; r++)
		if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
			return 0;
	return 1;
}

int
endpoint_resolve(struct aws *a, const struct svc *svc, const char *region, const char *bucket, int use_flag,
		 struct endpoint *ep, struct err *e)
{
	const char *custom = use_flag && a->endpoint_url ? a->endpoint_url : configured(a, svc);
	const char *dns, *style;
	char host[sizeof ep->url.host + 70];

	memset(ep, 0, sizeof *ep);
	/* STS has a global endpoint; everything else needs a region. */
	if (!region && svc != &SVC_STS)
		return err_set(e, E_USAGE, "no region: use --region, AWS_REGION or a profile's region");
	if (region && !valid_region(region))
		return err_set(e, E_USAGE, "invalid region '%s'", region);
	snprintf(ep->region, sizeof ep->region, "%s", region ? region : "us-east-1");
	style = svc == &SVC_S3 ? ini_sub(a->config, a->profile_section, "s3", "addressing_style") : NULL;
	if (custom) {
		if (url_parse(custom, &ep->url, e))
			return -1;
		ep->custom = 1;
		ep->path_style = !style || strcmp(style, "virtual");
	} else {
		int fips = env_true("AWS_USE_FIPS_ENDPOINT", aws_config(a, "use_fips_endpoint"));
		int dual = env_true("AWS_USE_DUALSTACK_ENDPOINT", aws_config(a, "use_dualstack_endpoint"));
		partition_of(ep->region, &dns);
		if (!region) {
			snprintf(host, sizeof host, "sts.amazonaws.com");
		} else if (svc == &SVC_S3) {
			snprintf(host, sizeof host, "s3%s%s.%s.%s", fips ? "-fips" : "", dual ? ".dualstack" : "", region, dns);
		} else if (dual) {
			snprintf(host, sizeof host, "%s%s.%s.%s", svc->id, fips ? "-fips" : "", region,
				 !strcmp(dns, "amazonaws.com.cn") ? "api.amazonwebservices.com.cn" : "api.aws");
		} else {
			snprintf(host, sizeof host, "%s%s.%s.%s", svc->id, fips ? "-fips" : "", region, dns);
		}
		ep->url.tls = 1;
		ep->url.port = 443;
		if (strlen(host) >= sizeof ep->url.host)
			return err_set(e, E_USAGE, "endpoint host name too long");
		memcpy(ep->url.host, host, strlen(host) + 1);
		ep->path_style = style && !strcmp(style, "path");
	}
	if (bucket && !ep->path_style && !dns_bucket(bucket))
		ep->path_style = 1;
	if (bucket && !ep->path_style) {
		if (strlen(bucket) + 1 + strlen(ep->url.host) >= sizeof ep->url.host)
			return err_set(e, E_USAGE, "bucket name too long: %s", bucket);
		snprintf(host, sizeof host, "%s.%s", bucket, ep->url.host);
		memcpy(ep->url.host, host, strlen(host) + 1);
	}
	return 0;
}
