/* endpoint.c — test tool: where awsbox would send a call, for the endpoint conformance test. */
#include "core.h"
#include "wire/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
	"usage: endpoint [COMMON OPTIONS] SERVICE [BUCKET]\n"
	"Prints \"URL SIGNING-REGION\" for one call to SERVICE (s3, ssm, secretsmanager, lambda, sqs, sts, sso,\n"
	"sso-oidc)"
	"as awsbox resolves it from the same flags, environment and files; BUCKET is S3's bucket (or\n"
	"access point ARN). Errors exit with awsbox's exit codes.\n"
	"  --proxy   print \"proxy HOST:PORT\" or \"direct\" instead: the route to that URL\n";

static const struct optdef defs[] = {{"proxy", 0, 0, 1}, {NULL, 0, 0, 0}};

int
main(int argc, char **argv)
{
	static const struct svc *const svcs[] = {&SVC_S3,  &SVC_SSM, &SVC_SECRETS, &SVC_LAMBDA,
						 &SVC_SQS, &SVC_STS, &SVC_SSO,     &SVC_SSO_OIDC};
	static const char *const names[] = {"s3", "ssm", "secretsmanager", "lambda", "sqs", "sts", "sso", "sso-oidc"};
	const char *pos[2] = {NULL, NULL};
	const struct svc *svc = NULL;
	struct opt o;
	struct aws a;
	struct endpoint ep;
	struct err e = {0};
	int np = 0, id, proxy = 0;
	char hp[300];

	applet_name = "endpoint";
	opt_init(&o, argc, argv, defs, help);
	while ((id = opt_next(&o)) != OPT_END)
		if (id == 1)
			proxy = 1;
		else if (id == OPT_POS && np < 2)
			pos[np++] = o.arg;
		else
			usage("too many arguments");
	for (size_t i = 0; pos[0] && i < COUNT(svcs); i++)
		if (!strcmp(pos[0], names[i]))
			svc = svcs[i];
	if (!svc)
		usage("unknown service");
	xaws_init(&a, &o.common);
	struct s3url u = {0};
	if (svc == &SVC_S3 && pos[1]) { /* the bucket as an s3:// URL gives it to an applet */
		char *s = xasprintf("s3://%s/k", pos[1]);
		if (s3_parse_url(s, &u, &e))
			die_code(err_exit_code(&e), "%s", e.msg);
		free(s);
		pos[1] = u.bucket;
	}
	if (aws_endpoint(&a, svc, pos[1], 1, &ep, &e))
		die_code(err_exit_code(&e), "%s", e.msg);
	if (proxy) {
		struct http_req q = {.url = &ep.url};
		struct proxy px;
		if (proxy_for(&q, &px, &e))
			die_code(err_exit_code(&e), "%s", e.msg);
		if (px.on)
			printf("proxy %s:%d\n", px.host, px.port);
		else
			printf("direct\n");
		return 0;
	}
	url_hostport(&ep.url, hp, sizeof hp);
	printf("%s://%s%s%s%s%s %s\n", ep.url.tls ? "https" : "http", hp, ep.url.path,
	       pos[1] && ep.path_style ? "/" : "", pos[1] && ep.path_style ? pos[1] : "", "", ep.region);
	s3url_free(&u);
	aws_free(&a);
	return 0;
}
