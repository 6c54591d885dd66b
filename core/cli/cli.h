/* cli.h — the cli layer of core: the command line: option parsing, the progress line (ARCHITECTURE.md). */
#ifndef AWSBOX_CLI_H
#define AWSBOX_CLI_H
#include "s3/s3.h"

/* ---- opt.c: the command line, parsed the same way for every applet ------------------- */
/* One applet option. arg: 0 a flag, 1 takes a value ("--name V", "--name=V", "-c V", "-cV"). */
struct optdef {
	const char *name; /* long name without "--" */
	char shortname;   /* 0 if none */
	char arg;
	int id; /* returned by opt_next; must be > 0 */
};
enum { OPT_END = 0, OPT_POS = -1 };

struct opt {
	int argc;
	char **argv;
	int ind;              /* next argv index */
	const char *arg;      /* value of the option just returned, or the positional argument */
	const char *name;     /* the option as typed ("--format"), for messages */
	const struct optdef *defs;
	const char *help;     /* the applet's help text */
	struct common common; /* filled as common options are seen */
	const char *cluster;  /* rest of a "-abc" cluster */
	int after_dashdash;   /* "--" was seen: every argument since is positional */
};

/* Starts parsing argv[1..] for the applet; defs ends with a zeroed entry. */
void opt_init(struct opt *o, int argc, char **argv, const struct optdef *defs, const char *help);
/* Next item: an option id (o->arg is its value when it takes one), OPT_POS (o->arg is a
 * positional argument; options and positionals may mix; after "--" every argument is one, with
 * o->after_dashdash set), or OPT_END.
 * Consumes common options; --help prints help to stdout and exits 0; an unknown option or
 * missing value is a usage error (exit 2). */
int opt_next(struct opt *o);
/* Common parsers that die with a usage error naming the option on bad input. */
double opt_duration(const struct opt *o); /* "30s", "5m", "1.5h", "2d", "250ms", bare seconds */
uint64_t opt_size(const struct opt *o);   /* "10", "8M", "1.5G", "4KiB": powers of 1024 */
long opt_long(const struct opt *o, long min, long max);
void opt_regex(const struct opt *o, regex_t *re); /* POSIX extended, no subexpressions */
const char *opt_word(const struct opt *o, const char *const *ok); /* one of ok (NULL-ended) */

/* ---- progress.c: a progress line on stderr (s3cp --progress) ------------------------- */
struct progress {
	const char *what; /* borrowed: the name shown (its first 40 bytes) */
	double t0;        /* mono_now() at the start, for the rate */
};
void progress_start(struct progress *p, const char *what);
/* As struct xfer's progress callback (ctx a struct progress): "NAME  42%  1.5 MiB / 3.6 MiB
 * 12.0 MiB/s" (total 0: unknown, no percent), over the last line. */
void progress_draw(void *ctx, uint64_t done, uint64_t total);
void progress_count(void *ctx, uint64_t done, uint64_t total); /* "N objects done" (s3_tree's) */
void progress_erase(void); /* the line cleared */

#endif
