/* endpoint.c — service + region -> URL: partitions, FIPS and dual-stack names, configured
 * endpoints (AWS_ENDPOINT_URL*, config endpoint_url and [services]), S3 addressing.
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html */
#include "req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct svc SVC_S3 = {"s3", "s3", "S3", PROTO_RESTXML, NULL, NULL};
const struct svc SVC_SSM = {"ssm", "ssm", "SSM", PROTO_JSON, "AmazonSSM", "1.1"};
const struct svc SVC_SECRETS = {"secretsmanager", "secretsmanager", "SECRETS_MANAGER", PROTO_JSON, "secretsmanager", "1.1"};
const struct svc SVC_LAMBDA = {"lambda", "lambda", "LAMBDA", PROTO_RESTJSON, NULL, NULL};
const struct svc SVC_SQS = {"sqs", "sqs", "SQS", PROTO_JSON, "AmazonSQS", "1.0"};
const struct svc SVC_STS = {"sts", "sts", "STS", PROTO_QUERY, "2011-06-15", NULL};
const struct svc SVC_SSO = {"portal.sso", "awsssoportal", "SSO", PROTO_RESTJSON, NULL, NULL};
const struct svc SVC_SSO_OIDC = {"oidc", "sso-oauth", "SSO_OIDC", PROTO_RESTJSON, NULL, NULL};

/* The partitions, as botocore's partitions data has them: a region belongs to the partition
 * that names it ("aws-global" and the like), else to the one whose pattern it matches
 * (PREFIX then \w+-\d+), else to aws. FIPS and dual-stack are supported in every one today. */
struct partition {
	const char *id, *prefix, *dns, *dualdns;
	char fips, dual;
};
static const struct partition partitions[] = {
	{"aws", NULL, "amazonaws.com", "api.aws", 1, 1},
	{"aws-cn", "cn-", "amazonaws.com.cn", "api.amazonwebservices.com.cn", 1, 1},
	{"aws-eusc", "eusc-de-", "amazonaws.eu", "api.amazonwebservices.eu", 1, 1},
	{"aws-iso", "us-iso-", "c2s.ic.gov", "api.aws.ic.gov", 1, 1},
	{"aws-iso-b", "us-isob-", "sc2s.sgov.gov", "api.aws.scloud", 1, 1},
	{"aws-iso-e", "eu-isoe-", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk", 1, 1},
	{"aws-iso-f", "us-isof-", "csp.hci.ic.gov", "api.aws.hci.ic.gov", 1, 1},
	{"aws-us-gov", "us-gov-", "amazonaws.com", "api.aws", 1, 1},
};

/* \w+-\d+ and nothing more */
static int
region_tail(const char *s)
{
	const char *p = s;

	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
		p++;
	if (p == s || *p++ != '-' || !*p)
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return !*p;
}

static const struct partition *
partition_find(const char *region)
{
	static const char *const aws_prefix[] = {"us-", "eu-", "ap-", "sa-", "ca-", "me-", "af-", "il-", "mx-"};
	size_t n = strlen(region);

	for (size_t i = 0; i < COUNT(partitions); i++) {
		size_t k = strlen(partitions[i].id);
		if (n == k + 7 && !strncmp(region, partitions[i].id, k) && !strcmp(region + k, "-global"))
			return &partitions[i];
	}
	for (size_t i = 1; i < COUNT(partitions); i++) {
		size_t k = strlen(partitions[i].prefix);
		if (!strncmp(region, partitions[i].prefix, k) && region_tail(region + k))
			return &partitions[i];
	}
	for (size_t i = 0; i < COUNT(aws_prefix); i++)
		if (!strncmp(region, aws_prefix[i], 3) && region_tail(region + 3))
			return &partitions[0];
	return &partitions[0];
}

const char *
partition_of(const char *region, const char **dns_suffix)
{
	const struct partition *p = partition_find(region);

	if (dns_suffix)
		*dns_suffix = p->dns;
	return p->id;
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

/* A setting from the environment, else the profile, else (S3) the profile's s3 block. */
static const char *
setting(struct aws *a, const char *env, const char *key, const char *s3key)
{
	const char *v = getenv(env);

	if (v && *v)
		return v;
	if ((v = aws_config(a, key)))
		return v;
	return s3key ? ini_sub(a->config, a->profile_section, "s3", s3key) : NULL;
}

/* "legacy" or "regional" (unset: dflt); anything else is refused, as botocore refuses it. */
static int
legacy_global(struct aws *a, const char *env, const char *key, const char *s3key, int dflt, struct err *e)
{
	const char *v = setting(a, env, key, s3key);

	if (!v)
		return dflt;
	if (!strcmp(v, "regional"))
		return 0;
	if (!strcmp(v, "legacy"))
		return 1;
	return err_set(e, E_USAGE, "invalid %s '%s' (legacy or regional)", env, v);
}

/* botocore sends these regions to sts.amazonaws.com when sts_regional_endpoints is legacy. */
static int
sts_legacy_region(const char *r)
{
	static const char *const legacy[] = {"ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
					     "aws-global", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1",
					     "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1", "us-east-2",
					     "us-west-1", "us-west-2"};

	for (size_t i = 0; i < COUNT(legacy); i++)
		if (!strcmp(r, legacy[i]))
			return 1;
	return 0;
}

static int
host_label(const char *s, size_t n)
{
	if (!n || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] == '-' && i)))
			return 0;
	return 1;
}

/* An S3 access point ARN as the bucket: arn:PARTITION:s3:REGION:ACCOUNT:accesspoint[:/]NAME.
 * The host is NAME-ACCOUNT.s3-accesspoint[-fips][.dualstack].REGION.DNS, signed for the ARN's
 * region; use_arn_region (default true) allows another region than the client's, never
 * another partition. Outposts, Object Lambda and multi-region access points are refused. */
static int
access_point(struct aws *a, const char *arn, const char *region, int fips, int dual, const struct url *custom,
	     const char *style, struct endpoint *ep, struct err *e)
{
	const char *f[6], *p = arn;
	size_t n[6];

	for (int i = 0; i < 6; i++) {
		f[i] = p;
		n[i] = i < 5 ? strcspn(p, ":") : strlen(p);
		if (i < 5 && !p[n[i]])
			return err_set(e, E_USAGE, "invalid ARN '%s'", arn);
		p += n[i] + 1;
	}
	/* the resource: TYPE[:/]NAME[[:/]more] */
	size_t tn = strcspn(f[5], ":/");
	const char *name = f[5][tn] ? f[5] + tn + 1 : "";
	size_t nn = strcspn(name, ":/");
	if (n[2] != 2 || strncmp(f[2], "s3", 2))
		return err_set(e, E_USAGE, "'%s': only S3 access point ARNs are supported (not %.*s)", arn, (int)n[2], f[2]);
	if (tn != 11 || strncmp(f[5], "accesspoint", 11) || !nn)
		return err_set(e, E_USAGE, "'%s': not an access point ARN (arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME)", arn);
	if (!n[3])
		return err_set(e, E_USAGE, "'%s': multi-region access points are not supported", arn);
	if (name[nn])
		return err_set(e, E_USAGE, "'%s': only one resource after accesspoint is allowed", arn);
	if (style && !strcmp(style, "path"))
		return err_set(e, E_USAGE, "'%s': path-style addressing cannot be used with ARN buckets", arn);
	char ar[64];
	if (n[3] >= sizeof ar || !host_label(f[3], n[3]))
		return err_set(e, E_USAGE, "'%s': invalid region in the ARN", arn);
	memcpy(ar, f[3], n[3]);
	ar[n[3]] = 0;
	const char *uar = setting(a, "AWS_S3_USE_ARN_REGION", "s3_use_arn_region", "use_arn_region");
	if (uar && strcasecmp(uar, "true") && strcmp(ar, region))
		return err_set(e, E_USAGE, "'%s': the ARN's region %s is not the client's region %s and use_arn_region is "
					   "false", arn, ar, region);
	const struct partition *bp = partition_find(ar);
	if (strcmp(bp->id, partition_find(region)->id) || strlen(bp->id) != n[1] || strncmp(bp->id, f[1], n[1]))
		return err_set(e, E_USAGE, "'%s': the ARN's partition is not the client's (%s)", arn,
			       partition_find(region)->id);
	if (!host_label(f[4], n[4]))
		return err_set(e, E_USAGE, "'%s': invalid account id in the ARN", arn);
	if (!host_label(name, nn))
		return err_set(e, E_USAGE, "'%s': invalid access point name", arn);
	char host[sizeof ep->url.host + 80];
	if (custom)
		snprintf(host, sizeof host, "%.*s-%.*s.%s", (int)nn, name, (int)n[4], f[4], custom->host);
	else
		snprintf(host, sizeof host, "%.*s-%.*s.s3-accesspoint%s%s.%s.%s", (int)nn, name, (int)n[4], f[4],
			 fips ? "-fips" : "", dual ? ".dualstack" : "", ar, bp->dns);
	if (strlen(host) >= sizeof ep->url.host)
		return err_set(e, E_USAGE, "'%s': endpoint host name too long", arn);
	memcpy(ep->url.host, host, strlen(host) + 1);
	snprintf(ep->region, sizeof ep->region, "%s", ar);
	ep->path_style = 0;
	ep->arn = 1;
	return 0;
}

/* The host of svc in region, as botocore's endpoint rule sets build it. Each rule set has its
 * own few exceptions, written out here: GovCloud FIPS names of STS, SSM, SQS and SSO are the plain
 * names; Secrets Manager's dual-stack names keep amazonaws.com in aws, aws-cn and aws-us-gov;
 * STS and S3 have global names. */
static int
partition_host(struct aws *a, const struct svc *svc, const char *region, int fips, int dual, char *host, size_t hn,
	       char *sign_region, struct err *e)
{
	const struct partition *p = partition_find(region);
	int gov = !strcmp(p->id, "aws-us-gov"), aws = !strcmp(p->id, "aws"), cn = !strcmp(p->id, "aws-cn");
	const char *id = svc->id;

	snprintf(sign_region, 64, "%s", region);
	if (fips && !p->fips)
		return err_set(e, E_USAGE, "FIPS endpoints are not available in partition %s", p->id);
	if (dual && !p->dual)
		return err_set(e, E_USAGE, "dual-stack endpoints are not available in partition %s", p->id);
	if (svc == &SVC_S3) {
		int global = !strcmp(region, "aws-global");
		/* botocore keeps us-east-1 on the global name unless told "regional" (CLI v2 does not) */
		int legacy = legacy_global(a, "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT", "s3_us_east_1_regional_endpoint",
					   "us_east_1_regional_endpoint", 1, e);
		if (legacy < 0)
			return -1;
		if (fips && cn)
			return err_set(e, E_USAGE, "S3 has no FIPS endpoints in partition aws-cn");
		if (global)
			snprintf(sign_region, 64, "us-east-1");
		if ((global || (legacy && !strcmp(region, "us-east-1"))) && !fips && !dual)
			snprintf(host, hn, "s3.%s", p->dns);
		else
			snprintf(host, hn, "s3%s%s.%s.%s", fips ? "-fips" : "", dual ? ".dualstack" : "",
				 global ? "us-east-1" : region, p->dns);
		return 0;
	}
	if (svc == &SVC_STS && !strcmp(region, "aws-global"))
		snprintf(sign_region, 64, "us-east-1");
	if (svc == &SVC_STS && !fips && !dual) {
		int legacy = legacy_global(a, "AWS_STS_REGIONAL_ENDPOINTS", "sts_regional_endpoints", NULL, 0, e);
		if (legacy < 0)
			return -1;
		if (!strcmp(region, "aws-global") || (legacy && sts_legacy_region(region))) {
			snprintf(host, hn, "sts.amazonaws.com");
			snprintf(sign_region, 64, "us-east-1");
			return 0;
		}
	}
	int plain_fips = gov && (svc == &SVC_STS || svc == &SVC_SSM || svc == &SVC_SQS || svc == &SVC_SSO ||
				 svc == &SVC_SSO_OIDC);
	int sm = svc == &SVC_SECRETS;
	if (fips && dual)
		snprintf(host, hn, "%s-fips.%s.%s", id, region, sm && (aws || gov) ? "amazonaws.com" : p->dualdns);
	else if (fips)
		snprintf(host, hn, "%s%s.%s.%s", id, plain_fips ? "" : "-fips", region, p->dns);
	else if (dual)
		snprintf(host, hn, "%s.%s.%s", id, region, sm && (aws || gov || cn) ? p->dns : p->dualdns);
	else
		snprintf(host, hn, "%s.%s.%s", id, region, p->dns);
	return 0;
}

int
endpoint_resolve(struct aws *a, const struct svc *svc, const char *region, const char *bucket, int use_flag,
		 struct endpoint *ep, struct err *e)
{
	const char *custom = use_flag && a->endpoint_url ? a->endpoint_url : configured(a, svc);
	const char *style = NULL;
	char host[sizeof ep->url.host + 70];
	int fips = env_true("AWS_USE_FIPS_ENDPOINT", aws_config(a, "use_fips_endpoint"));
	int dual = env_true("AWS_USE_DUALSTACK_ENDPOINT", aws_config(a, "use_dualstack_endpoint"));

	memset(ep, 0, sizeof *ep);
	/* STS has a global endpoint; everything else needs a region. */
	if (!region && svc != &SVC_STS)
		return err_set(e, E_USAGE, "no region: use --region, AWS_REGION or a profile's region");
	if (region && !valid_region(region))
		return err_set(e, E_USAGE, "invalid region '%s'", region);
	snprintf(ep->region, sizeof ep->region, "%s", region ? region : "us-east-1");
	if (svc == &SVC_S3) {
		style = ini_sub(a->config, a->profile_section, "s3", "addressing_style");
		if (!dual)
			dual = env_true("AWS_USE_DUALSTACK_ENDPOINT", ini_sub(a->config, a->profile_section, "s3",
									"use_dualstack_endpoint"));
	}
	if (custom) {
		/* An explicit endpoint drops FIPS and dual-stack, as botocore's client does. */
		if (url_parse(custom, &ep->url, e))
			return -1;
		ep->custom = 1;
		ep->path_style = !style || strcmp(style, "virtual");
		if (bucket && !strncmp(bucket, "arn:", 4))
			return access_point(a, bucket, ep->region, 0, 0, &ep->url, style, ep, e);
	} else {
		if (bucket && !strncmp(bucket, "arn:", 4)) {
			if (fips && !strcmp(partition_find(ep->region)->id, "aws-cn"))
				return err_set(e, E_USAGE, "S3 has no FIPS endpoints in partition aws-cn");
			ep->url.tls = 1;
			ep->url.port = 443;
			return access_point(a, bucket, ep->region, fips, dual, NULL, style, ep, e);
		}
		if (!region)
			snprintf(host, sizeof host, "sts.amazonaws.com");
		else if (partition_host(a, svc, region, fips, dual, host, sizeof host, ep->region, e))
			return -1;
		ep->url.tls = 1;
		ep->url.port = 443;
		if (strlen(host) >= sizeof ep->url.host)
			return err_set(e, E_USAGE, "endpoint host name too long");
		memcpy(ep->url.host, host, strlen(host) + 1);
		ep->path_style = style && !strcmp(style, "path");
	}
	/* The global pseudo-region signs as us-east-1 wherever the call goes (S3, STS). */
	if ((svc == &SVC_S3 || svc == &SVC_STS) && !strcmp(ep->region, "aws-global"))
		snprintf(ep->region, sizeof ep->region, "us-east-1");
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

/* The regions AWS has, to tell a typo from a network failure when an endpoint's name does not
 * resolve. A region missing here is still used as given (new regions work); only the wording of
 * a failed name lookup depends on this list.
 * https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html */
static const char *const regions[] = {
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1",
	"eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
	"il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2",
	"us-west-1", "us-west-2", "cn-north-1", "cn-northwest-1", "us-gov-east-1", "us-gov-west-1",
	"eusc-de-east-1",
};

int
region_known(const char *r)
{
	for (size_t i = 0; i < COUNT(regions); i++)
		if (!strcmp(regions[i], r))
			return 1;
	return 0;
}

const char *
region_nearest(const char *r)
{
	const char *best = NULL;
	size_t bd = 4;

	for (size_t i = 0; i < COUNT(regions); i++) {
		size_t d = str_distance(r, regions[i]);
		if (d < bd)
			bd = d, best = regions[i];
	}
	return best;
}
