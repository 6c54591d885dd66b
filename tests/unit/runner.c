/* runner.c — runs every registered unit test in its own process; the last line reads
 * "N passed, N failed". Usage: unit-tests [SUBSTRING]   (runs the tests whose name contains it) */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct utest *head, **tail = &head;
static char tmpdir[256];

void
utest_register(struct utest *t)
{
	*tail = t;
	tail = &t->next;
}

void
utest_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

const char *
utest_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof tmpdir, "%s/awsbox-unit-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(tmpdir))
			utest_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
	}
	return tmpdir;
}

void
utest_write(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(s, f) < 0 || fclose(f))
		utest_fail(__FILE__, __LINE__, "write %s: %s", path, strerror(errno));
}

char *
utest_slurp(int fd)
{
	struct buf b = {0};
	char tmp[4096];
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, tmp, sizeof tmp)) > 0)
		buf_add(&b, tmp, (size_t)n);
	return buf_take(&b);
}

int
utest_exit_of(void (*fn)(void *), void *arg, char **out, char **errout)
{
	char p1[] = "/tmp/awsbox-out-XXXXXX", p2[] = "/tmp/awsbox-err-XXXXXX";
	int fo = mkstemp(p1), fe = mkstemp(p2), st;
	pid_t pid;

	unlink(p1);
	unlink(p2);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		dup2(fo, 1);
		dup2(fe, 2);
		fn(arg);
		exit(0);
	}
	waitpid(pid, &st, 0);
	if (out)
		*out = utest_slurp(fo);
	if (errout)
		*errout = utest_slurp(fe);
	close(fo);
	close(fe);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

char *
utest_python(const char *script)
{
	char path[300], cmd[400], tmp[4096];
	struct buf b = {0};
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, "%s/ref.py", utest_tmpdir());
	utest_write(path, script);
	snprintf(cmd, sizeof cmd, "python3 %s", path);
	if (!(f = popen(cmd, "r")))
		return NULL;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_add(&b, tmp, n);
	int st = pclose(f);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
		buf_free(&b);
		return NULL;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		utest_fail(__FILE__, __LINE__, "python3 reference failed (status %d)", st);
	return buf_take(&b);
}

size_t
utest_unhex(const char *s, size_t n, char *out)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2) {
		unsigned v;
		sscanf(s + i, "%2x", &v);
		out[i / 2] = (char)v;
	}
	return i / 2;
}

struct err
utest_aws_err(int status, const char *code, const char *msg)
{
	struct err e = {0};

	e.kind = E_AWS;
	e.status = status;
	snprintf(e.code, sizeof e.code, "%s", code);
	snprintf(e.msg, sizeof e.msg, "%s", msg);
	return e;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

int
main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	signal(SIGPIPE, SIG_IGN);
	for (struct utest *t = head; t; t = t->next) {
		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			/* A test never sees the user's AWS setup. */
			setenv("HOME", "/nonexistent-awsbox-home", 1);
			t->fn();
			if (tmpdir[0])
				nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
			exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			passed++;
			printf("ok   %s\n", t->name);
		} else {
			failed++;
			if (WIFSIGNALED(st))
				printf("FAIL %s (%s) killed by signal %d\n", t->name, t->file, WTERMSIG(st));
			else
				printf("FAIL %s (%s)\n", t->name, t->file);
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
