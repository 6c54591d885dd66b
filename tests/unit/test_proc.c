/* test_proc.c — proc_spawn: stdin from memory, variables over the environment, its own group. */
#include "unit.h"

#include <sys/wait.h>
#include <unistd.h>

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b = {0};
	char tmp[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_add(&b, tmp, n);
	fclose(f);
	return b.p ? buf_take(&b) : xstrdup("");
}

TEST(proc_spawn_stdin_env_group)
{
	const char *dir = utest_tmpdir();
	char out[512], *got;
	struct buf vars = {0}, body = {0};
	struct err e = {0};
	pid_t pid;
	int status;

	snprintf(out, sizeof out, "%s/out", dir);
	proc_var(&vars, "F", out, strlen(out));
	proc_var(&vars, "X", "a b=c", 5);
	proc_var(&vars, "HOME", "/nowhere", 8); /* replaces the inherited one */
	setenv("AWSBOX_PROC_TEST", "inherited", 1);
	for (int i = 0; i < 20000; i++) /* more than a pipe holds */
		buf_printf(&body, "line %d\n", i);
	char *argv[] = {"sh", "-c",
			"wc -l > \"$F\"; printf '%s|%s|%s|' \"$X\" \"$HOME\" \"$AWSBOX_PROC_TEST\" >> \"$F\"; "
			"[ \"$(cut -d' ' -f5 /proc/$$/stat)\" = $$ ] && echo own-group >> \"$F\"; exit 3",
			NULL};
	CHECK_INT(proc_spawn(argv, vars.p, vars.len, body.p, body.len, &pid, &e), 0);
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	CHECK((got = slurp(out)) != NULL);
	CHECK_STR(got, "20000\na b=c|/nowhere|inherited|own-group\n");
	free(got);

	char *missing[] = {"/nonexistent/awsbox-no-such-command", NULL};
	CHECK_INT(proc_spawn(missing, NULL, 0, "", 0, &pid, &e), -1);
	CHECK_INT(e.kind, E_NOTFOUND);
	CHECK(strstr(e.msg, "awsbox-no-such-command") != NULL);
	buf_free(&vars);
	buf_free(&body);
}
