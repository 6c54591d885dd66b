/* opt.c — one command-line parser for every applet: GNU-style long and short options, mixed
 * with positionals, "--" ends options, and the common options handled here once. */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_REGION = -100, C_PROFILE, C_ENDPOINT, C_CABUNDLE, C_DEBUG, C_QUIET, C_HELP, C_OPTIONS };

static const struct optdef common_defs[] = {
	{"region", 0, 1, C_REGION},    {"profile", 0, 1, C_PROFILE}, {"endpoint-url", 0, 1, C_ENDPOINT},
	{"ca-bundle", 0, 1, C_CABUNDLE}, {"debug", 0, 0, C_DEBUG},    {"quiet", 0, 0, C_QUIET},
	{"help", 'h', 0, C_HELP},      {"list-options", 0, 0, C_OPTIONS}, {NULL, 0, 0, 0},
};

static const char common_help[] =
	"\nCommon options:\n"
	"  --region REGION       AWS region (else AWS_REGION, AWS_DEFAULT_REGION, profile, instance)\n"
	"  --profile NAME        profile in ~/.aws/config and ~/.aws/credentials (else AWS_PROFILE)\n"
	"  --endpoint-url URL    send requests to URL instead of the service's endpoint\n"
	"  --ca-bundle FILE      trust the CA certificates in FILE (PEM)\n"
	"  --debug               trace requests and responses on stderr (secrets redacted)\n"
	"  --quiet               no warnings or progress on stderr\n"
	"  --help                show this help\n";

void
opt_init(struct opt *o, int argc, char **argv, const struct optdef *defs, const char *help)
{
	memset(o, 0, sizeof *o);
	o->argc = argc;
	o->argv = argv;
	o->ind = 1;
	o->defs = defs;
	o->help = help ? help : "";
	g_help = o->help;
}

static const struct optdef *
find_long(const struct optdef *defs, const char *name, size_t n)
{
	for (; defs && defs->name; defs++)
		if (strlen(defs->name) == n && !strncmp(defs->name, name, n))
			return defs;
	return NULL;
}

static const struct optdef *
find_short(const struct optdef *defs, char c)
{
	for (; defs && defs->name; defs++)
		if (defs->shortname == c)
			return defs;
	return NULL;
}

/* Applies a common option; returns 1 if d was one. */
static int
common_apply(struct opt *o, const struct optdef *d)
{
	struct common *c = &o->common;

	if (d->arg && !*o->arg && (d->id == C_REGION || d->id == C_PROFILE || d->id == C_ENDPOINT || d->id == C_CABUNDLE))
		usage("option '--%s' needs a value, not ''", d->name);
	switch (d->id) {
	case C_REGION:
		c->region = o->arg;
		break;
	case C_PROFILE:
		c->profile = o->arg;
		break;
	case C_ENDPOINT:
		c->endpoint_url = o->arg;
		break;
	case C_CABUNDLE:
		c->ca_bundle = o->arg;
		break;
	case C_DEBUG:
		c->debug = g_debug = 1;
		core_dumps(1); /* main.c turned them off */
		break;
	case C_QUIET:
		c->quiet = g_quiet = 1;
		break;
	case C_HELP:
		exit_help(o->help, common_help);
	case C_OPTIONS: /* for scripts/gen-docs (completion, man pages): "--name -s ARG", one a line */
		for (int t = 0; t < 2; t++)
			for (const struct optdef *x = t ? common_defs : o->defs; x && x->name; x++)
				if (x->id != C_OPTIONS)
					printf("--%s %c%c %s\n", x->name, x->shortname ? '-' : '.',
					       x->shortname ? x->shortname : '.', x->arg ? "ARG" : "-");
		exit(fflush(stdout) ? EX_FAIL : EX_OK);
	default:
		return 0;
	}
	return 1;
}

int
opt_next(struct opt *o)
{
	const struct optdef *d;
	static char namebuf[4], longname[40];

	for (;;) {
		if (o->cluster && *o->cluster) {
			char c = *o->cluster++;
			snprintf(namebuf, sizeof namebuf, "-%c", c);
			o->name = namebuf;
			if (!(d = find_short(o->defs, c)) && !(d = find_short(common_defs, c)))
				usage("unknown option '-%c'", c);
			o->arg = NULL;
			if (d->arg) {
				if (*o->cluster) {
					o->arg = o->cluster;
				} else if (o->ind < o->argc) {
					o->arg = o->argv[o->ind++];
				} else {
					usage("option '-%c' needs a value", c);
				}
				o->cluster = NULL;
			}
			if (common_apply(o, d))
				continue;
			return d->id;
		}
		o->cluster = NULL;
		if (o->ind >= o->argc)
			return OPT_END;
		const char *a = o->argv[o->ind++];
		o->arg = a;
		o->name = a;
		if (o->after_dashdash || a[0] != '-' || !a[1])
			return OPT_POS;
		if (!strcmp(a, "--")) {
			o->after_dashdash = 1;
			continue;
		}
		if (a[1] != '-') {
			o->cluster = a + 1;
			continue;
		}
		const char *name = a + 2, *eq = strchr(name, '=');
		size_t n = eq ? (size_t)(eq - name) : strlen(name);
		if (!(d = find_long(o->defs, name, n)) && !(d = find_long(common_defs, name, n)))
			usage("unknown option '--%.*s'", (int)n, name);
		/* Errors name the option, not the value written into it with '=' */
		snprintf(longname, sizeof longname, "--%s", d->name);
		o->name = longname;
		o->arg = NULL;
		if (d->arg) {
			if (eq)
				o->arg = eq + 1;
			else if (o->ind < o->argc)
				o->arg = o->argv[o->ind++];
			else
				usage("option '--%s' needs a value", d->name);
		} else if (eq) {
			usage("option '--%s' takes no value", d->name);
		}
		if (common_apply(o, d))
			continue;
		return d->id;
	}
}

double
opt_duration(const struct opt *o)
{
	double v;

	if (parse_duration(o->arg, &v))
		usage("%s: invalid duration '%s' (e.g. 30s, 5m, 1h)", o->name, o->arg);
	return v;
}

uint64_t
opt_size(const struct opt *o)
{
	uint64_t v;

	if (parse_size(o->arg, &v))
		usage("%s: invalid size '%s' (e.g. 512, 8M, 1G)", o->name, o->arg);
	return v;
}

long
opt_long(const struct opt *o, long min, long max)
{
	char *end;
	long v = strtol(o->arg, &end, 10);

	if (!*o->arg || *end || v < min || v > max)
		usage("%s: invalid number '%s' (%ld to %ld)", o->name, o->arg, min, max);
	return v;
}

void
opt_regex(const struct opt *o, regex_t *re)
{
	char msg[200];
	int rc = regcomp(re, o->arg, REG_EXTENDED | REG_NOSUB);

	if (rc) {
		regerror(rc, re, msg, sizeof msg);
		usage("%s '%s': %s", o->name, o->arg, msg);
	}
}

const char *
opt_word(const struct opt *o, const char *const *ok)
{
	for (const char *const *w = ok; *w; w++)
		if (!strcmp(o->arg, *w))
			return o->arg;
	usage("%s: unknown value '%s'", o->name, o->arg);
}
