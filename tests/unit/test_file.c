/* test_file.c — atomic output files: content and mode after commit, the old file kept on
 * abort, and no temporary file left after a failure, exit(), SIGTERM or SIGINT (checked by
 * listing the directory, as ls would). */
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

/* Names in dir other than . and .., space-separated, sorted by readdir order. */
static char *
listing(const char *dir)
{
	struct buf b = {0};
	DIR *d = opendir(dir);
	struct dirent *de;

	buf_adds(&b, "");
	if (!d)
		return buf_take(&b);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		buf_printf(&b, "%s%s", b.len ? " " : "", de->d_name);
	}
	closedir(d);
	return buf_take(&b);
}

static char *
slurp(const char *path)
{
	struct buf b = {0};
	char tmp[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return NULL;
	buf_adds(&b, "");
	while ((n = read(fd, tmp, sizeof tmp)) > 0)
		buf_add(&b, tmp, (size_t)n);
	close(fd);
	return buf_take(&b);
}

static char *
subdir(const char *name)
{
	char *d = xasprintf("%s/%s", utest_tmpdir(), name);

	mkdir(d, 0700);
	return d;
}

TEST(file_commit_mode)
{
	struct outfile f;
	struct err e = {0};
	struct stat st;
	char *dir = subdir("c"), *path = xasprintf("%s/secret.json", dir);

	umask(022);
	CHECK_INT(file_open(&f, path, 0600, &e), 0);
	CHECK(f.tmp != NULL && strcmp(f.tmp, path));
	CHECK(!strncmp(f.tmp, dir, strlen(dir))); /* beside the target: same file system */
	CHECK(access(path, F_OK) == -1);         /* nothing at the target before the commit */
	CHECK_INT(file_write(&f, "hello ", 6, &e), 0);
	CHECK_INT(file_write(&f, "world", 5, &e), 0);
	CHECK_INT(stat(f.tmp, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0600); /* the final mode from the start: never readable by others */
	CHECK_INT(file_commit(&f, &e), 0);
	CHECK_STR(slurp(path), "hello world");
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0600);
	CHECK_STR(listing(dir), "secret.json");
	file_abort(&f); /* after a commit: nothing to do */
	CHECK_STR(slurp(path), "hello world");

	/* replacing a 0644 file gives a 0600 one; the umask applies as for any new file */
	chmod(path, 0644);
	CHECK_INT(file_open(&f, path, 0600, &e), 0);
	CHECK_INT(file_write(&f, "new", 3, &e), 0);
	CHECK_STR(slurp(path), "hello world"); /* readers see the old file until the commit */
	CHECK_INT(file_commit(&f, &e), 0);
	CHECK_STR(slurp(path), "new");
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0600);
	/* a file replaced keeps its permissions (as cp keeps them): 0600 stays 0600 under 0666 */
	umask(027);
	CHECK_INT(file_open(&f, path, 0666, &e), 0);
	CHECK_INT(file_commit(&f, &e), 0);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0600);
	CHECK_STR(slurp(path), ""); /* an empty commit is an empty file */
	chmod(path, 0755); /* execute bits too, whatever the umask */
	CHECK_INT(file_open(&f, path, 0666, &e), 0);
	CHECK_INT(file_commit(&f, &e), 0);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0755);
	/* a new file: mode less the umask */
	char *fresh = xasprintf("%s/fresh", dir);
	CHECK_INT(file_open(&f, fresh, 0666, &e), 0);
	CHECK_INT(file_commit(&f, &e), 0);
	CHECK_INT(stat(fresh, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0640);
	/* as root, the owner is kept too (a secret written for a service user stays its) */
	if (!geteuid()) {
		CHECK_INT(chown(fresh, 4321, 4322), 0);
		CHECK_INT(file_open(&f, fresh, 0600, &e), 0);
		CHECK_INT(file_commit(&f, &e), 0);
		CHECK_INT(stat(fresh, &st), 0);
		CHECK_INT(st.st_uid, 4321);
		CHECK_INT(st.st_gid, 4322);
		CHECK_INT(st.st_mode & 07777, 0600);
	}
	umask(022);
}

TEST(file_abort_keeps_old)
{
	struct outfile f, z;
	struct err e = {0};
	char *dir = subdir("a"), *path = xasprintf("%s/out", dir);

	utest_write(path, "old");
	CHECK_INT(file_open(&f, path, 0600, &e), 0);
	CHECK_INT(file_write(&f, "partial", 7, &e), 0);
	file_abort(&f);
	file_abort(&f); /* twice is fine */
	CHECK_STR(slurp(path), "old");
	CHECK_STR(listing(dir), "out");
	memset(&z, 0, sizeof z);
	file_abort(&z); /* a zeroed struct: must not close fd 0 */
	CHECK(fcntl(0, F_GETFD) != -1 || errno != EBADF);
}

TEST(file_open_errors)
{
	struct outfile f;
	struct err e = {0};
	char *dir = subdir("e");
	char *missing = xasprintf("%s/no/such/dir/x", dir);

	CHECK_INT(file_open(&f, missing, 0600, &e), -1);
	CHECK_INT(e.kind, E_NOTFOUND);
	CHECK(strstr(e.msg, missing) != NULL);
	file_abort(&f);
	CHECK_INT(file_open(&f, dir, 0600, &e), -1); /* a directory */
	CHECK(strstr(e.msg, "directory") != NULL);
	CHECK_INT(file_open(&f, "", 0600, &e), -1);
	char *slash = xasprintf("%s/", dir);
	CHECK_INT(file_open(&f, slash, 0600, &e), -1);
	CHECK_STR(listing(dir), "");
	/* an unwritable directory (root may write anyway: then it just works) */
	char *ro = subdir("ro"), *p = xasprintf("%s/x", ro);
	chmod(ro, 0500);
	if (file_open(&f, p, 0600, &e) == 0) {
		CHECK_INT(geteuid(), 0);
		file_abort(&f);
	} else {
		CHECK_INT(e.kind, E_IO);
	}
	chmod(ro, 0700);
	CHECK_STR(listing(ro), "");
}

TEST(file_symlink_and_device)
{
	struct outfile f;
	struct err e = {0};
	struct stat st;
	char *dir = subdir("l"), *real = xasprintf("%s/real", dir), *link = xasprintf("%s/link", dir);

	utest_write(real, "old");
	CHECK_INT(symlink("real", link), 0);
	CHECK_INT(file_open(&f, link, 0600, &e), 0);
	CHECK_INT(file_write(&f, "via link", 8, &e), 0);
	CHECK_INT(file_commit(&f, &e), 0);
	CHECK_INT(lstat(link, &st), 0);
	CHECK(S_ISLNK(st.st_mode)); /* the link stays a link */
	CHECK_STR(slurp(real), "via link");
	/* a link to nothing is not written through, nor replaced (as GNU cp refuses it) */
	char *dangling = xasprintf("%s/dangling", dir);
	CHECK_INT(symlink("nowhere/x", dangling), 0);
	CHECK_INT(file_open(&f, dangling, 0600, &e), -1);
	CHECK(strstr(e.msg, "a symbolic link to nothing") != NULL);
	CHECK_INT(lstat(dangling, &st), 0);
	CHECK(S_ISLNK(st.st_mode));
	file_abort(&f);
	/* /dev/null is not replaced, it is written */
	CHECK_INT(file_open(&f, "/dev/null", 0600, &e), 0);
	CHECK(f.direct && !f.tmp);
	CHECK_INT(file_write(&f, "x", 1, &e), 0);
	CHECK_INT(file_commit(&f, &e), 0);
	CHECK_INT(stat("/dev/null", &st), 0);
	CHECK(S_ISCHR(st.st_mode));
}

TEST(file_secret)
{
	struct outfile f;
	struct err e = {0};
	struct stat st;
	char *dir = subdir("sec"), *out = xasprintf("%s/out", dir), *real = xasprintf("%s/real", dir),
	     *link = xasprintf("%s/link", dir);
	mode_t old = umask(0377);

	/* a file there is replaced by a new one, exactly 0600 whatever it was and whatever the umask */
	utest_write(out, "old");
	CHECK_INT(chmod(out, 0666), 0);
	CHECK_INT(file_open_secret(&f, out, &e), 0);
	CHECK_INT(file_write(&f, "secret", 6, &e), 0);
	CHECK_INT(file_commit(&f, &e), 0);
	umask(old);
	CHECK_INT(stat(out, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0600);
	CHECK_INT(st.st_uid, geteuid());
	CHECK_STR(slurp(out), "secret");
	/* a symlink is refused, whether its target exists or not, and left as it was */
	utest_write(real, "theirs");
	CHECK_INT(symlink("real", link), 0);
	CHECK_INT(file_open_secret(&f, link, &e), -1);
	CHECK(strstr(e.msg, "a symbolic link") != NULL);
	CHECK_STR(slurp(real), "theirs");
	CHECK_INT(lstat(link, &st), 0);
	CHECK(S_ISLNK(st.st_mode));
	CHECK(!strstr(listing(dir), ".tmp")); /* no temporary file left */
	/* a device of root's is written in place */
	CHECK_INT(file_open_secret(&f, "/dev/null", &e), 0);
	CHECK(f.direct);
	CHECK_INT(file_commit(&f, &e), 0);
}

TEST(file_many_open)
{
	enum { N = 300 }; /* more than the cleanup registry's slots */
	static struct outfile f[N];
	struct err e = {0};
	char *dir = subdir("m");

	for (int i = 0; i < N; i++) {
		char *p = xasprintf("%s/f%d", dir, i);
		CHECK_INT(file_open(&f[i], p, 0600, &e), 0);
		CHECK_INT(file_write(&f[i], p, strlen(p), &e), 0);
		free(p);
	}
	for (int i = 0; i < N; i++)
		if (i % 2)
			file_abort(&f[i]);
		else
			CHECK_INT(file_commit(&f[i], &e), 0);
	for (int i = 0; i < N; i++) {
		char *p = xasprintf("%s/f%d", dir, i);
		char *got = slurp(p);
		if (i % 2)
			CHECK(got == NULL);
		else
			CHECK_STR(got, p);
		free(p);
		free(got);
	}
	char *l = listing(dir);
	size_t words = 1;
	for (char *s = l; *s; s++)
		words += *s == ' ';
	CHECK_INT(words, N / 2); /* no temporary file left */
}

/* ---- a child that dies with a temporary file open ---- */

struct death {
	const char *path;
	int how; /* a signal number, or 0 for exit(1) */
	int ignore_first; /* SIGINT ignored before the first file_open */
};

static void
die_midway(void *arg)
{
	struct death *d = arg;
	struct outfile f;
	struct err e = {0};

	/* From the dispositions a foreground shell gives, whatever this runner inherited (a background
	 * job's SIGINT is ignored, under nohup SIGHUP is, and then so would the test's be) */
	signal(SIGINT, d->ignore_first ? SIG_IGN : SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (file_open(&f, d->path, 0600, &e))
		exit(99);
	file_write(&f, "partial", 7, &e);
	printf("%s", f.tmp);
	fflush(stdout);
	if (!d->how)
		exit(1); /* as die() does */
	raise(d->how);
	/* only reached when the signal is ignored: the file is still ours to commit */
	if (file_commit(&f, &e))
		exit(98);
	exit(0);
}

TEST(file_cleanup_on_death)
{
	static const int how[] = {SIGTERM, SIGINT, SIGHUP, 0};
	char *dir = subdir("d"), *path = xasprintf("%s/target", dir);

	for (size_t i = 0; i < COUNT(how); i++) {
		struct death d = {path, how[i], 0};
		char *out, *err;
		int code = utest_exit_of(die_midway, &d, &out, &err);
		/* killed by the signal itself (re-raised), as without a handler */
		CHECK_INT(code, how[i] ? 128 + how[i] : 1);
		CHECK(strlen(out) > strlen(dir));
		if (access(out, F_OK) == 0)
			utest_fail(__FILE__, __LINE__, "signal %d: %s left behind", how[i], out);
		CHECK_STR(listing(dir), "");
		free(out), free(err);
	}
	/* an ignored SIGINT (nohup, a background job) stays ignored */
	struct death d = {path, SIGINT, 1};
	char *out, *err;
	CHECK_INT(utest_exit_of(die_midway, &d, &out, &err), 0);
	CHECK_STR(slurp(path), "partial");
	CHECK_STR(listing(dir), "target");
}

TEST(file_mkdirs_parents)
{
	char *dir = subdir("mk"), *deep = xasprintf("%s/x/y//z/file", dir), *block = xasprintf("%s/f", dir);
	char *blocked = xasprintf("%s/f/sub/file", dir), *made = xasprintf("%s/x/y/z", dir);
	char *want = xasprintf("%s/f/sub", dir), *bad;
	struct stat st;

	CHECK(file_mkdirs(deep) == NULL);
	CHECK_INT(stat(made, &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_INT(access(deep, F_OK), -1); /* the last part is the file's: not made */
	CHECK(file_mkdirs(deep) == NULL);  /* there already: fine */
	utest_write(block, "a file where a directory should be");
	bad = file_mkdirs(blocked);
	CHECK(bad != NULL);
	CHECK_INT(errno, ENOTDIR);
	CHECK_STR(bad, want); /* names the one that failed */
	free(bad);
	/* A directory made once is not asked for again (a tree of files in a few directories):
	 * taken away behind its back, it is not made anew; a new sibling still is. */
	CHECK_INT(rmdir(made), 0);
	CHECK(file_mkdirs(deep) == NULL);
	CHECK_INT(stat(made, &st), -1);
	char *sib = xasprintf("%s/x/y/w/file", dir), *sibdir = xasprintf("%s/x/y/w", dir);
	CHECK(file_mkdirs(sib) == NULL);
	CHECK_INT(stat(sibdir, &st), 0);
	free(sib), free(sibdir);
	free(dir), free(deep), free(block), free(blocked), free(made), free(want);
}

TEST(file_put_secret_makes_parents)
{
	char *dir = subdir("put"), *path = xasprintf("%s/a/b/secret.env", dir), *block = xasprintf("%s/f", dir);
	char *blocked = xasprintf("%s/f/x/y", dir);
	struct err e = {0};
	struct stat st;

	CHECK_INT(file_put_secret(path, "K=v\n", 4, &e), 0);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	CHECK_INT(st.st_size, 4);
	utest_write(block, "in the way");
	CHECK_INT(file_put_secret(blocked, "x", 1, &e), -1);
	CHECK_INT(e.kind, E_IO);
	CHECK(strstr(e.msg, "mkdir ") == e.msg && strstr(e.msg, "/f/x"));
	free(dir), free(path), free(block), free(blocked);
}

static int g_done_ok, g_done_failed;

static void
count_done(void *arg, int rc, struct err *e)
{
	(void)arg, (void)e;
	if (rc)
		g_done_failed++;
	else
		g_done_ok++;
}

/* Files committed in a group: none under its name until the group's sync; every FILE_BATCH
 * files the group goes on its own; an abort leaves neither targets nor temporaries. */
TEST(file_batch_groups_commits)
{
	char *dir = subdir("batch"), *d2 = subdir("batch/sub");
	struct file_batch b = {.done = count_done};
	struct err e = {0};

	pthread_mutex_init(&b.m, NULL);
	for (int i = 0; i < 3; i++) {
		struct outfile f = {0};
		char *p = xasprintf("%s/f%d", i == 2 ? d2 : dir, i);
		CHECK_INT(file_open(&f, p, 0644, &e), 0);
		CHECK_INT(file_write(&f, "data", 4, &e), 0);
		CHECK_INT(file_batch_add(&b, &f, NULL, &e), 0);
		CHECK(f.path == NULL && f.fd == -1); /* the batch has it now */
		CHECK_INT(access(p, F_OK), -1);     /* not under its name yet */
		free(p);
	}
	CHECK_INT(g_done_ok, 0);
	file_batch_flush(&b);
	CHECK_INT(g_done_ok, 3);
	CHECK_INT(strlen(listing(dir)), strlen("f0 f1 sub")); /* no temporaries left */
	CHECK_STR(listing(d2), "f2");
	char *p0 = xasprintf("%s/f0", dir);
	CHECK_STR(slurp(p0), "data");
	/* FILE_BATCH files: the group goes without a flush */
	for (int i = 0; i < FILE_BATCH; i++) {
		struct outfile f = {0};
		char *p = xasprintf("%s/g%d", d2, i);
		CHECK_INT(file_open(&f, p, 0644, &e), 0);
		CHECK_INT(file_batch_add(&b, &f, NULL, &e), 0);
		free(p);
	}
	CHECK_INT(g_done_ok, 3 + FILE_BATCH);
	/* an abort removes what waits */
	struct outfile f = {0};
	char *p = xasprintf("%s/gone", dir);
	CHECK_INT(file_open(&f, p, 0644, &e), 0);
	CHECK_INT(file_batch_add(&b, &f, NULL, &e), 0);
	file_batch_abort(&b);
	CHECK_INT(g_done_failed, 1);
	CHECK_INT(access(p, F_OK), -1);
	CHECK_INT(strlen(listing(dir)), strlen("f0 f1 sub"));
	free(p), free(p0), free(dir), free(d2);
}
