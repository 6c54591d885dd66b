/* test_envout.c — output formats, names and exec. The export format is checked by the shells
 * themselves (sh, and bash when present, read back every value byte for byte); env(1) -0
 * reports what --exec put in the environment; the other formats against their written rules. */
#include "unit.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Values that break naive quoting. */
static const char *const tricky[] = {
	"plain", "", "it's", "'", "''", "a'\\''b", "\"double\"", "new\nline", "\n", "trailing\n\n", "$HOME",
	"${HOME}", "$(echo pwned)", "`echo pwned`", "back\\slash", "\\", "a=b=c", "tab\there", "cr\rx",
	"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80", "!event", "*glob?", "~user", "#hash", " lead and trail ", "%s%n",
	"x\\'y",
};

static char *
name_of(const char *s)
{
	struct buf b = {0};

	if (envout_name(s, strlen(s), &b))
		return xstrdup("(none)");
	return buf_take(&b);
}

TEST(envout_names)
{
	static const struct {
		const char *in, *out;
	} c[] = {
		{"db-host", "DB_HOST"}, {"db/host", "DB_HOST"}, {"Api.Key", "API_KEY"}, {"a b", "A_B"},
		{"1password", "_1PASSWORD"}, {"9", "_9"}, {"_x", "_X"}, {"x__y", "X__Y"}, {"--", "__"},
		{"p\xc3\xa4ss", "P_SS"},              /* a two-byte character is one '_' */
		{"\xf0\x9f\x98\x80key", "_KEY"},      /* four bytes, one '_' */
		{"a\x80z", "A_Z"},                    /* a stray continuation byte is a character too */
		{"MiXeD09", "MIXED09"},
	};
	for (size_t i = 0; i < COUNT(c); i++) {
		char *n = name_of(c[i].in);
		CHECK_STR(n, c[i].out);
		CHECK(envout_name_valid(n));
		free(n);
	}
	struct buf b = {0};
	CHECK_INT(envout_name("", 0, &b), -1);
	static const char *const valid[] = {"A", "_", "a1", "_9", "ABC_DEF", "lower"};
	static const char *const invalid[] = {"", "1A", "A-B", "A B", "A=B", "\xc3\xa9", "A.B"};
	for (size_t i = 0; i < COUNT(valid); i++)
		CHECK(envout_name_valid(valid[i]));
	for (size_t i = 0; i < COUNT(invalid); i++)
		CHECK(!envout_name_valid(invalid[i]));
	CHECK_INT(envout_format("value"), ENVOUT_VALUE);
	CHECK_INT(envout_format("raw"), ENVOUT_VALUE);
	CHECK_INT(envout_format("env"), ENVOUT_ENV);
	CHECK_INT(envout_format("export"), ENVOUT_EXPORT);
	CHECK_INT(envout_format("json"), ENVOUT_JSON);
	CHECK_INT(envout_format("dotenv"), ENVOUT_DOTENV);
	CHECK_INT(envout_format("yaml"), -1);
	CHECK_INT(envout_format("JSON"), -1);
}

TEST(envout_collisions)
{
	struct envout o = {0};
	struct err e = {0};

	CHECK_INT(envout_add(&o, "DB_HOST", "/app/db-host", "a", 1, &e), 0);
	CHECK_INT(envout_add(&o, "DB_HOST", "/app/db-host", "a2", 2, &e), 0); /* the same source again */
	CHECK_INT(o.n, 1);
	CHECK_STR(o.v[0].val, "a2"); /* a JSON key repeated: the last wins, as jq and Python take it */
	CHECK_INT(envout_add(&o, "DB_HOST", "/app/db-host", "a", 1, &e), 0);
	CHECK_INT(o.n, 1);
	CHECK_INT(envout_add(&o, "DB_HOST", "/app/db_host", "b", 1, &e), -1);
	CHECK_INT(e.kind, E_USAGE);
	CHECK(strstr(e.msg, "/app/db-host") && strstr(e.msg, "/app/db_host") && strstr(e.msg, "DB_HOST"));
	CHECK_INT(o.n, 1);
	CHECK_STR(o.v[0].val, "a"); /* never a silent overwrite */
	CHECK_INT(envout_add(&o, "1BAD", "/x", "v", 1, &e), -1);
	CHECK_INT(envout_add(&o, "A-B", "/x", "v", 1, &e), -1);
	CHECK_INT(envout_add(&o, NULL, "/x", "v", 1, &e), 0); /* nameless: value output only */
	CHECK_INT(envout_add(&o, NULL, "/x", "v", 1, &e), 0);
	CHECK_INT(o.n, 3);
	envout_free(&o);
	CHECK_INT(o.n, 0);
}

static char *
render(const struct envout *o, int fmt, int nl, int *rc)
{
	struct buf b = {0};
	struct err e = {0};

	buf_adds(&b, "");
	*rc = envout_render(o, fmt, nl, &b, &e);
	return buf_take(&b);
}

TEST(envout_formats_written)
{
	struct envout o = {0};
	struct err e = {0};
	int rc;

	CHECK_INT(envout_add(&o, "A", "/a", "it's $x", 7, &e), 0);
	CHECK_INT(envout_add(&o, "B", "/b", "l1\nl2\"\\", 7, &e), 0);
	CHECK_INT(envout_add(&o, "E", "/e", "", 0, &e), 0);
	char *s = render(&o, ENVOUT_VALUE, 1, &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(s, "it's $x\nl1\nl2\"\\\n\n");
	free(s);
	s = render(&o, ENVOUT_VALUE, 0, &rc);
	CHECK_STR(s, "it's $x\nl1\nl2\"\\\n"); /* only the final newline goes */
	free(s);
	s = render(&o, ENVOUT_ENV, 1, &rc);
	CHECK_STR(s, "A=it's $x\nB=l1\nl2\"\\\nE=\n");
	free(s);
	s = render(&o, ENVOUT_EXPORT, 1, &rc);
	CHECK_STR(s, "export A='it'\\''s $x'\nexport B='l1\nl2\"\\'\nexport E=''\n");
	free(s);
	s = render(&o, ENVOUT_JSON, 1, &rc);
	CHECK_STR(s, "{\"A\":\"it's $x\",\"B\":\"l1\\nl2\\\"\\\\\",\"E\":\"\"}\n");
	free(s);
	s = render(&o, ENVOUT_DOTENV, 1, &rc);
	CHECK_INT(rc, -1); /* B ends in a backslash and has a newline: dotenv cannot hold it */
	CHECK_STR(s, "");
	free(s);
	envout_free(&o);

	CHECK_INT(envout_add(&o, "A", "/a", "it's $x `y`", 11, &e), 0);
	CHECK_INT(envout_add(&o, "B", "/b", "l1\nl2\r\"q\"\\n", 11, &e), 0);
	CHECK_INT(envout_add(&o, "E", "/e", "", 0, &e), 0);
	CHECK_INT(envout_add(&o, "W", "/w", "C:\\dir\\", 7, &e), 0);
	s = render(&o, ENVOUT_DOTENV, 1, &rc);
	CHECK_INT(rc, 0);
	CHECK_STR(s, "A=\"it's $x `y`\"\nB=\"l1\\nl2\\r\\\"q\\\"\\\\n\"\nE=\"\"\nW=C:\\dir\\\n");
	free(s);
	s = render(&o, ENVOUT_JSON, 1, &rc);
	CHECK_STR(s, "{\"A\":\"it's $x `y`\",\"B\":\"l1\\nl2\\r\\\"q\\\"\\\\n\",\"E\":\"\",\"W\":\"C:\\\\dir\\\\\"}\n");
	free(s);
	envout_free(&o);

	/* empty set: an empty object, nothing else */
	s = render(&o, ENVOUT_JSON, 1, &rc);
	CHECK_STR(s, "{}\n");
	free(s);
	s = render(&o, ENVOUT_ENV, 1, &rc);
	CHECK_STR(s, "");
	free(s);
}

TEST(envout_unrepresentable)
{
	struct envout o = {0};
	struct err e = {0};
	struct buf b = {0};
	int rc;

	CHECK_INT(envout_add(&o, "OK", "/ok", "fine", 4, &e), 0);
	CHECK_INT(envout_add(&o, "N", "/n", "a\0b", 3, &e), 0);
	buf_adds(&b, "kept");
	CHECK_INT(envout_render(&o, ENVOUT_ENV, 1, &b, &e), -1);
	CHECK_INT(e.kind, E_USAGE);
	CHECK(strstr(e.msg, "NUL") && strstr(e.msg, "/n"));
	CHECK_STR(b.p, "kept"); /* nothing of a failed render is left */
	CHECK_INT(envout_render(&o, ENVOUT_EXPORT, 1, &b, &e), -1);
	CHECK_INT(envout_render(&o, ENVOUT_DOTENV, 1, &b, &e), -1);
	buf_reset(&b);
	CHECK_INT(envout_render(&o, ENVOUT_JSON, 1, &b, &e), 0);
	CHECK_STR(b.p, "{\"OK\":\"fine\",\"N\":\"a\\u0000b\"}\n");
	buf_reset(&b);
	CHECK_INT(envout_render(&o, ENVOUT_VALUE, 1, &b, &e), 0);
	CHECK_INT(b.len, 9);
	CHECK(!memcmp(b.p, "fine\na\0b\n", 9));
	envout_free(&o);

	CHECK_INT(envout_add(&o, NULL, "/x", "v", 1, &e), 0);
	char *s = render(&o, ENVOUT_ENV, 1, &rc);
	CHECK_INT(rc, -1);
	free(s);
	envout_free(&o);

	/* dotenv: a value ending in a backslash is fine unquoted on one plain line, else refused */
	static const char *const refuse[] = {"a\nb\\", " lead\\", "x #c\\", "\"q\\", "\xc3\xa9\\"};
	for (size_t i = 0; i < COUNT(refuse); i++) {
		CHECK_INT(envout_add(&o, "V", refuse[i], refuse[i], strlen(refuse[i]), &e), 0);
		s = render(&o, ENVOUT_DOTENV, 1, &rc);
		if (rc != -1)
			utest_fail(__FILE__, __LINE__, "dotenv wrote %s as %s", refuse[i], s);
		free(s);
		envout_free(&o);
	}
	/* dotenv: what python-dotenv would interpolate is refused, other dollars are fine (each case
	 * checked against python-dotenv 1.2: dotenv_values of V="..." changed the value or not) */
	static const char *const interp[] = {"${HOME}", "a${X:-d}b", "${}", "${a:-}"};
	static const char *const plain[] = {"$HOME", "${", "${x", "$ {x}", "a}${", "${a:b", "x${a:b}", "$$"};
	for (size_t i = 0; i < COUNT(interp) + COUNT(plain); i++) {
		const char *v = i < COUNT(interp) ? interp[i] : plain[i - COUNT(interp)];
		CHECK_INT(envout_add(&o, "V", v, v, strlen(v), &e), 0);
		s = render(&o, ENVOUT_DOTENV, 1, &rc);
		if (rc != (i < COUNT(interp) ? -1 : 0))
			utest_fail(__FILE__, __LINE__, "dotenv of %s: %d (%s)", v, rc, s ? s : "");
		free(s);
		envout_free(&o);
	}
	buf_free(&b);
}

static int
have(const char *path)
{
	return access(path, X_OK) == 0;
}

/* Each tricky value through `SHELL script`, where script evals the export output as the README
 * shows it (eval "$(...)") and prints every variable back NUL-terminated: must be byte for byte. */
static void
shell_roundtrip(const char *shell)
{
	struct envout o = {0};
	struct err e = {0};
	struct buf b = {0}, want = {0}, script = {0};
	char file[512], sh[512], cmd[1200];

	for (size_t i = 0; i < COUNT(tricky); i++) {
		char name[16];
		snprintf(name, sizeof name, "V%zu", i);
		CHECK_INT(envout_add(&o, name, tricky[i], tricky[i], strlen(tricky[i]), &e), 0);
	}
	CHECK_INT(envout_render(&o, ENVOUT_EXPORT, 1, &b, &e), 0);
	snprintf(file, sizeof file, "%s/exports", utest_tmpdir());
	utest_write(file, b.p);
	/* command substitution drops the trailing newlines of the whole output, never those of
	 * a quoted value */
	buf_printf(&script, "eval \"$(cat '%s')\"\n", file);
	for (size_t i = 0; i < COUNT(tricky); i++)
		buf_printf(&script, "printf '%%s\\000' \"$V%zu\"\n", i);
	snprintf(sh, sizeof sh, "%s/script.sh", utest_tmpdir());
	utest_write(sh, script.p);
	snprintf(cmd, sizeof cmd, "%s %s", shell, sh);
	FILE *p = popen(cmd, "r");
	CHECK(p != NULL);
	char tmp[4096];
	size_t n;
	buf_reset(&b);
	while ((n = fread(tmp, 1, sizeof tmp, p)) > 0)
		buf_add(&b, tmp, n);
	CHECK_INT(pclose(p), 0);
	for (size_t i = 0; i < COUNT(tricky); i++) {
		buf_adds(&want, tricky[i]);
		buf_addc(&want, 0);
	}
	if (b.len != want.len || memcmp(b.p, want.p, b.len)) {
		/* the first value that differs, for the message */
		const char *g = b.p ? b.p : "", *w = want.p;
		for (size_t i = 0; i < COUNT(tricky) && g < b.p + b.len; i++) {
			if (strcmp(g, w))
				utest_fail(__FILE__, __LINE__, "%s: V%zu came back as \"%s\", want \"%s\"", shell, i, g, w);
			g += strlen(g) + 1;
			w += strlen(w) + 1;
		}
		utest_fail(__FILE__, __LINE__, "%s: %zu bytes back, want %zu", shell, b.len, want.len);
	}
	envout_free(&o);
	buf_free(&b);
	buf_free(&want);
	buf_free(&script);
}

TEST(envout_export_sh)
{
	CHECK(have("/bin/sh"));
	shell_roundtrip("/bin/sh");
	if (have("/bin/bash"))
		shell_roundtrip("/bin/bash");
	if (have("/bin/dash"))
		shell_roundtrip("/bin/dash");
	if (have("/bin/busybox"))
		shell_roundtrip("/bin/busybox sh");
}

TEST(envout_shquote)
{
	struct buf b = {0};

	envout_shquote(&b, "", 0);
	CHECK_STR(b.p, "''");
	buf_reset(&b);
	envout_shquote(&b, "a'b", 3);
	CHECK_STR(b.p, "'a'\\''b'");
	buf_reset(&b);
	envout_shquote(&b, "''", 2);
	CHECK_STR(b.p, "''\\'''\\'''");
	buf_free(&b);
}

/* ---- exec: the child is env -0, which prints its environment NUL-separated ---- */

struct exec_case {
	struct envout *o;
	int pristine;
	const char *cmd;
};

static void
run_exec(void *arg)
{
	struct exec_case *c = arg;
	struct err e = {0};
	char *argv[] = {(char *)c->cmd, "-0", NULL};
	int code = envout_exec(c->o, argv, c->pristine, &e);

	fprintf(stderr, "%s", e.msg);
	exit(code);
}

static int
env_has(const char *out, size_t n, const char *entry)
{
	for (const char *p = out; p < out + n; p += strlen(p) + 1)
		if (!strcmp(p, entry))
			return 1;
	return 0;
}

static size_t
env_count(const char *out, size_t n)
{
	size_t k = 0;

	for (const char *p = out; p < out + n; p += strlen(p) + 1)
		k++;
	return k;
}

TEST(envout_exec_env)
{
	struct envout o = {0};
	struct err e = {0};
	if (!have("/usr/bin/env"))
		return;
	for (size_t i = 0; i < COUNT(tricky); i++) {
		char name[16];
		snprintf(name, sizeof name, "V%zu", i);
		CHECK_INT(envout_add(&o, name, tricky[i], tricky[i], strlen(tricky[i]), &e), 0);
	}
	CHECK_INT(envout_add(&o, "OVERRIDE", "/o", "new", 3, &e), 0);
	setenv("OVERRIDE", "old", 1);
	setenv("INHERITED", "yes", 1);

	/* env -0 output goes through a file: read it raw to keep the NULs */
	char path[512];
	snprintf(path, sizeof path, "%s/envout", utest_tmpdir());
	for (int pristine = 0; pristine < 2; pristine++) {
		struct exec_case c = {&o, pristine, "/usr/bin/env"};
		pid_t pid;
		int st;
		fflush(NULL);
		if ((pid = fork()) == 0) {
			freopen(path, "w", stdout);
			run_exec(&c);
		}
		waitpid(pid, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		FILE *f = fopen(path, "rb");
		struct buf b = {0};
		char tmp[4096];
		size_t n;
		while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
			buf_add(&b, tmp, n);
		fclose(f);
		for (size_t i = 0; i < COUNT(tricky); i++) {
			char *entry = xasprintf("V%zu=%s", i, tricky[i]);
			if (!env_has(b.p, b.len, entry))
				utest_fail(__FILE__, __LINE__, "pristine=%d: %s missing from the child's environment", pristine, entry);
			free(entry);
		}
		CHECK(env_has(b.p, b.len, "OVERRIDE=new"));
		CHECK(!env_has(b.p, b.len, "OVERRIDE=old"));
		if (pristine) {
			CHECK_INT(env_count(b.p, b.len), o.n); /* nothing but ours */
		} else {
			CHECK(env_has(b.p, b.len, "INHERITED=yes"));
			extern char **environ;
			size_t inherited = 0;
			for (char **p = environ; *p; p++)
				inherited++;
			CHECK_INT(env_count(b.p, b.len), inherited - 1 + o.n); /* OVERRIDE replaced, not doubled */
		}
		buf_free(&b);
	}
	envout_free(&o);
}

TEST(envout_exec_failures)
{
	struct envout o = {0};
	struct err e = {0};
	char *out, *err;
	char path[512];

	CHECK_INT(envout_add(&o, "A", "/a", "1", 1, &e), 0);
	struct exec_case c = {&o, 0, "awsbox-no-such-command-xyz"};
	CHECK_INT(utest_exit_of(run_exec, &c, &out, &err), 127);
	CHECK(strstr(err, "awsbox-no-such-command-xyz") != NULL);
	free(out), free(err);
	snprintf(path, sizeof path, "%s/not-executable", utest_tmpdir());
	utest_write(path, "#!/bin/sh\necho hi\n");
	chmod(path, 0644);
	c.cmd = path;
	CHECK_INT(utest_exit_of(run_exec, &c, &out, &err), 126); /* no x bit: not even root may run it */
	free(out), free(err);
	chmod(path, 0755);
	snprintf(path, sizeof path, "%s", utest_tmpdir()); /* a directory */
	c.cmd = path;
	CHECK_INT(utest_exit_of(run_exec, &c, &out, &err), 126);
	free(out), free(err);
	/* a value holding NUL cannot go into an environment: refused, not truncated */
	CHECK_INT(envout_add(&o, "N", "/n", "a\0b", 3, &e), 0);
	c.cmd = "/usr/bin/env";
	CHECK_INT(utest_exit_of(run_exec, &c, &out, &err), 2);
	CHECK(strstr(err, "NUL") != NULL);
	free(out), free(err);
	envout_free(&o);
}
