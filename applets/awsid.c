/* awsid.c — which identity the credentials belong to (STS GetCallerIdentity).
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char awsid_help[] =
	"Usage: awsid [--format text|json]\n\n"
	"Print the account, ARN and user id of the credentials in use (STS GetCallerIdentity).\n"
	"text (default) prints them tab-separated on one line, as `aws --output text` does;\n"
	"json prints {\"UserId\":...,\"Account\":...,\"Arn\":...}.\n\n"
	"Examples:\n"
	"  awsid\n"
	"  account=$(awsid | cut -f1)\n"
	"  awsid --profile prod --format json\n";

const struct exitdoc awsid_exits[] = {
	{0, "ok"},
	{1, "other failure"},
	{2, "usage"},
	{4, "no credentials, or credentials refused"},
	{6, "network or TLS failure after retries"},
	{-1, NULL},
};

int
awsid_main(int argc, char **argv)
{
	static const struct optdef defs[] = {{"format", 'f', 1, 'f'}, {NULL, 0, 0, 0}};
	struct opt o;
	struct aws a;
	struct err e = {0};
	struct buf out = {0}, j = {0};
	struct xml root, res;
	int json = 0, c;

	opt_init(&o, argc, argv, defs, awsid_help);
	while ((c = opt_next(&o)) != OPT_END) {
		if (c == 'f' && (!strcmp(o.arg, "text") || !strcmp(o.arg, "json")))
			json = !strcmp(o.arg, "json");
		else if (c == 'f')
			usage("--format: expected text or json, not '%s'", o.arg);
		else
			usage("unexpected argument '%s'", o.arg);
	}
	xaws_init(&a, &o.common);
	if (aws_query(&a, &SVC_STS, "GetCallerIdentity", NULL, 0, NULL, &out, &e))
		die_err(&e, "GetCallerIdentity");
	if (xml_root(out.p, out.len, &root) || xml_path(root, "GetCallerIdentityResult", &res))
		die("GetCallerIdentity: unexpected response");
	char *acct = xml_path_strdup(res, "Account"), *arn = xml_path_strdup(res, "Arn");
	char *uid = xml_path_strdup(res, "UserId");
	if (!acct || !arn || !uid)
		die("GetCallerIdentity: incomplete response");
	if (json) {
		buf_adds(&j, "{\"UserId\":");
		json_put_str(&j, uid, strlen(uid));
		buf_adds(&j, ",\"Account\":");
		json_put_str(&j, acct, strlen(acct));
		buf_adds(&j, ",\"Arn\":");
		json_put_str(&j, arn, strlen(arn));
		buf_adds(&j, "}");
		puts(j.p);
	} else {
		printf("%s\t%s\t%s\n", acct, arn, uid);
	}
	free(acct), free(arn), free(uid);
	buf_free(&out);
	buf_free(&j);
	aws_free(&a);
	return 0;
}
