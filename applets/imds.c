/* imds.c — EC2 instance metadata for boot scripts, through core's IMDSv2 client (imds.c).
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char imds_help[] =
	"Usage: imds [--json] [--wait DURATION] [PATH...]\n"
	"       imds --spot [--json]\n\n"
	"Print instance metadata, one value a line: PATH is a path under meta-data/ (instance-id,\n"
	"placement/region, tags/instance/Name, iam/info), or one starting with dynamic/ or user-data,\n"
	"or an absolute /latest/... path. A path ending in / (or none) lists what is below it, one\n"
	"name a line. IMDSv2 with one token for the whole run; IMDSv1 only where the credential chain\n"
	"would use it; the endpoint settings are the credential chain's\n"
	"(AWS_EC2_METADATA_SERVICE_ENDPOINT[_MODE], AWS_EC2_METADATA_V1_DISABLED, ...).\n\n"
	"Options:\n"
	"  --json            print each value as JSON: a JSON document compact, a listing as an array\n"
	"                    of strings, anything else as a string\n"
	"  --wait DURATION   wait up to DURATION for the metadata service to answer (at boot), then\n"
	"                    go on; exit 5 if it never did\n"
	"  --spot            exit 0 and print the notice if a spot interruption (spot/instance-action)\n"
	"                    or a rebalance recommendation is present, 3 if there is none\n\n"
	"Examples:\n"
	"  imds instance-id\n"
	"  region=$(imds placement/region) && export AWS_REGION=\"$region\"\n"
	"  imds --wait 60s tags/instance/Name\n"
	"  imds --json dynamic/instance-identity/document\n"
	"  until imds --spot >/dev/null; do sleep 5; done; systemctl stop app\n";

const struct exitdoc imds_exits[] = {
	{0, "ok (with --spot: a notice is present)"},
	{1, "other failure, an unexpected answer"},
	{2, "usage, or instance metadata disabled (AWS_EC2_METADATA_DISABLED)"},
	{3, "no such path (with --spot: no notice)"},
	{4, "the service refused the token, or is turned off on this instance"},
	{5, "--wait ran out before the service answered"},
	{6, "no metadata service (network)"},
	{-1, NULL},
};

/* "instance-id" -> "/latest/meta-data/instance-id"; "dynamic/..." and "user-data" under /latest/. */
static char *
full_path(const char *p)
{
	if (*p == '/')
		return xstrdup(p);
	if (!strncmp(p, "meta-data", 9) || !strncmp(p, "dynamic", 7) || !strncmp(p, "user-data", 9))
		return xasprintf("/latest/%s", p);
	return xasprintf("/latest/meta-data/%s", p);
}

static void
put(const char *path, const struct buf *v, int json)
{
	struct buf j = {0};
	struct json doc;
	size_t n = v->len;

	if (!json) {
		fwrite(v->p ? v->p : "", 1, n, stdout);
		if (n && v->p[n - 1] != '\n')
			putchar('\n');
		return;
	}
	if (path[strlen(path) - 1] == '/') { /* a listing: one name a line */
		buf_addc(&j, '[');
		for (const char *s = v->p ? v->p : "", *end = s + n; s < end;) {
			size_t k = strcspn(s, "\n");
			if (k)
				json_put_str(&j, s, k), buf_addc(&j, ',');
			s += k + (s + k < end);
		}
		if (j.p[j.len - 1] == ',')
			j.len--;
		buf_addc(&j, ']');
	} else if (n && !json_parse(v->p, n, &doc) && (doc.type == JSON_OBJECT || doc.type == JSON_ARRAY)) {
		json_compact(doc, &j);
	} else {
		json_put_str(&j, v->p ? v->p : "", n);
	}
	buf_addc(&j, '\n');
	fwrite(j.p, 1, j.len, stdout);
	buf_free(&j);
}

int
imds_main(int argc, char **argv)
{
	static const struct optdef defs[] = {{"json", 0, 0, 'j'}, {"wait", 'w', 1, 'w'}, {"spot", 0, 0, 's'},
					     {NULL, 0, 0, 0}};
	static const char *const notices[] = {"/latest/meta-data/spot/instance-action",
					      "/latest/meta-data/events/recommendations/rebalance"};
	struct opt o;
	struct aws a;
	struct err e = {0};
	struct buf out = {0};
	const char **paths = xcalloc((size_t)argc + 1, sizeof *paths);
	int json = 0, spot = 0, n = 0, c, rc = 0;
	double wait = -1;

	opt_init(&o, argc, argv, defs, imds_help);
	while ((c = opt_next(&o)) != OPT_END) {
		if (c == 'j')
			json = 1;
		else if (c == 'w')
			wait = opt_duration(&o);
		else if (c == 's')
			spot = 1;
		else
			paths[n++] = o.arg;
	}
	if (spot && n)
		usage("--spot takes no PATH");
	xaws_init(&a, &o.common);
	if (wait >= 0 && imds_wait(&a, mono_now() + wait, &e)) {
		if (e.kind == E_TIMEOUT)
			die_code(EX_DEADLINE, "--wait: the instance metadata service did not answer in time");
		die_err(&e, "%s", "");
	}
	if (spot) {
		rc = EX_NOTFOUND;
		for (size_t i = 0; i < COUNT(notices); i++) {
			if (imds_get(&a, notices[i], &out, &e)) {
				if (e.kind != E_NOTFOUND)
					die_err(&e, "%s", "");
				continue;
			}
			put(notices[i], &out, json);
			rc = 0;
		}
	} else if (!n && wait < 0) {
		paths[n++] = "";
	}
	for (int i = 0; i < n; i++) {
		char *p = full_path(paths[i]);
		if (imds_get(&a, p, &out, &e)) {
			if (e.kind == E_NOTFOUND) /* the path as the user gave it */
				die_code(EX_NOTFOUND, "%s: not in the instance metadata", paths[i]);
			die_err(&e, "%s", "");
		}
		put(p, &out, json);
		free(p);
	}
	buf_free(&out);
	free(paths);
	aws_free(&a);
	return rc;
}
