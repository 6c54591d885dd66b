/* test_opt.c — the shared command-line parser. */
#include "unit.h"

enum { O_FORMAT = 1, O_N, O_RECURSIVE, O_PATH };
static const struct optdef defs[] = {
	{"format", 'f', 1, O_FORMAT}, {"no-newline", 'n', 0, O_N},
	{"recursive", 'r', 0, O_RECURSIVE}, {"path", 0, 1, O_PATH}, {NULL, 0, 0, 0},
};
static const char help[] = "Usage: t [OPTIONS] NAME...\n\nA test applet.\n";

TEST(opt_long_short_mixed)
{
	char *argv[] = {"t", "a", "--format", "json", "-n", "b", "--path=/x/", "-rf", "env", "--region", "eu-west-1",
			"--debug", "c", NULL};
	struct opt o;
	int c, npos = 0, seen_n = 0, seen_r = 0;
	const char *pos[4] = {0}, *fmt = NULL, *path = NULL;

	opt_init(&o, 13, argv, defs, help);
	while ((c = opt_next(&o)) != OPT_END) {
		switch (c) {
		case OPT_POS: pos[npos++] = o.arg; break;
		case O_FORMAT: fmt = o.arg; break;
		case O_N: seen_n++; break;
		case O_RECURSIVE: seen_r++; break;
		case O_PATH: path = o.arg; break;
		default: CHECK(!"unexpected id");
		}
	}
	CHECK_INT(npos, 3);
	CHECK_STR(pos[0], "a");
	CHECK_STR(pos[1], "b");
	CHECK_STR(pos[2], "c");
	CHECK_STR(fmt, "env"); /* the later -f env wins */
	CHECK_STR(path, "/x/");
	CHECK_INT(seen_n, 1);
	CHECK_INT(seen_r, 1);
	CHECK_STR(o.common.region, "eu-west-1");
	CHECK_INT(o.common.debug, 1);
	CHECK_INT(g_debug, 1);
}

TEST(opt_dashdash_and_attached_short)
{
	char *argv[] = {"t", "-fjson", "x", "--", "-n", "--format", "--", NULL};
	struct opt o;

	opt_init(&o, 7, argv, defs, help);
	CHECK_INT(opt_next(&o), O_FORMAT);
	CHECK_STR(o.arg, "json");
	CHECK_INT(opt_next(&o), OPT_POS);
	CHECK_STR(o.arg, "x");
	CHECK_INT(o.after_dashdash, 0);
	/* "--" itself is not returned: what follows is positional, however it looks */
	CHECK_INT(opt_next(&o), OPT_POS);
	CHECK_STR(o.arg, "-n");
	CHECK_INT(o.after_dashdash, 1);
	CHECK_INT(opt_next(&o), OPT_POS);
	CHECK_STR(o.arg, "--format");
	CHECK_INT(opt_next(&o), OPT_POS);
	CHECK_STR(o.arg, "--");
	CHECK_INT(opt_next(&o), OPT_END);
}

TEST(opt_dash_is_positional)
{
	char *argv[] = {"t", "-", NULL};
	struct opt o;

	opt_init(&o, 2, argv, defs, help);
	CHECK_INT(opt_next(&o), OPT_POS);
	CHECK_STR(o.arg, "-");
}

struct args {
	int argc;
	char **argv;
};

static void
run_parse(void *p)
{
	struct args *a = p;
	struct opt o;

	applet_name = "t";
	opt_init(&o, a->argc, a->argv, defs, help);
	while (opt_next(&o) != OPT_END)
		;
}

TEST(opt_usage_errors_exit_2)
{
	char *bad[][3] = {
		{"t", "--bogus", NULL}, {"t", "-x", NULL}, {"t", "--format", NULL}, {"t", "--no-newline=1", NULL},
		{"t", "--region", NULL},
	};
	for (size_t i = 0; i < COUNT(bad); i++) {
		struct args a = {2, bad[i]};
		char *out, *err;
		CHECK_INT(utest_exit_of(run_parse, &a, &out, &err), EX_USAGE);
		CHECK_STR(out, "");
		CHECK(!strncmp(err, "t: ", 3));
		CHECK(strstr(err, "Usage: t [OPTIONS] NAME...") != NULL);
		CHECK(strstr(err, "A test applet") == NULL); /* only the usage paragraph */
		free(out);
		free(err);
	}
}

static void
run_number(void *p)
{
	struct args *a = p;
	struct opt o;

	applet_name = "t";
	opt_init(&o, a->argc, a->argv, defs, help);
	while (opt_next(&o) != OPT_END)
		printf("%ld\n", opt_long(&o, 1, 9));
}

TEST(opt_errors_name_the_option_not_its_value)
{
	char *forms[][4] = {{"t", "--format=x1", NULL}, {"t", "--format", "x1", NULL}};
	for (size_t i = 0; i < COUNT(forms); i++) {
		struct args a = {i ? 3 : 2, forms[i]};
		char *err;
		CHECK_INT(utest_exit_of(run_number, &a, NULL, &err), EX_USAGE);
		CHECK(strstr(err, "t: --format: invalid number 'x1'") != NULL);
		free(err);
	}
}

TEST(opt_help_exits_0_on_stdout)
{
	char *argv[] = {"t", "--help", NULL};
	struct args a = {2, argv};
	char *out, *err;

	CHECK_INT(utest_exit_of(run_parse, &a, &out, &err), 0);
	CHECK(strstr(out, "A test applet") != NULL);
	CHECK(strstr(out, "--endpoint-url") != NULL);
	CHECK_STR(err, "");
}

static void
run_duration(void *p)
{
	struct opt o = {0};

	o.name = "--timeout";
	o.arg = p;
	printf("%g\n", opt_duration(&o));
}

TEST(opt_duration_parse_and_reject)
{
	static const struct {
		const char *in, *out;
	} good[] = {{"30s", "30\n"}, {"5m", "300\n"}, {"1.5h", "5400\n"}, {"250ms", "0.25\n"}, {"7", "7\n"}, {"2d", "172800\n"}};
	for (size_t i = 0; i < COUNT(good); i++) {
		char *out;
		CHECK_INT(utest_exit_of(run_duration, (void *)good[i].in, &out, NULL), 0);
		CHECK_STR(out, good[i].out);
		free(out);
	}
	const char *bad[] = {"", "-1s", "5x", "s", "1e999", "nan", " 5"};
	for (size_t i = 0; i < COUNT(bad); i++) {
		char *err;
		CHECK_INT(utest_exit_of(run_duration, (void *)bad[i], NULL, &err), EX_USAGE);
		CHECK(strstr(err, "--timeout: invalid duration") != NULL);
		free(err);
	}
}

TEST(opt_size_parse)
{
	uint64_t v;

	CHECK(!parse_size("8M", &v) && v == 8u << 20);
	CHECK(!parse_size("1.5G", &v) && v == 3ull << 29);
	CHECK(!parse_size("4KiB", &v) && v == 4096);
	CHECK(!parse_size("10", &v) && v == 10);
	CHECK(!parse_size("2k", &v) && v == 2048);
	CHECK(parse_size("8X", &v) == -1);
	CHECK(parse_size("-1", &v) == -1);
	CHECK(parse_size("", &v) == -1);
	CHECK(parse_size("1MM", &v) == -1);
}
