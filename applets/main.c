/* main.c — the multi-call front: argv[0] dispatch, --list, --install DIR, --help, --version. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define APPLET(n) int n##_main(int argc, char **argv); extern const char n##_help[]; \
	extern const struct exitdoc n##_exits[];
#include "applets.def"
#undef APPLET

static const struct applet {
	const char *name;
	int (*main)(int, char **);
	const char *help;
	const struct exitdoc *exits;
} applets[] = {
#define APPLET(n) {#n, n##_main, n##_help, n##_exits},
#include "applets.def"
#undef APPLET
};

#ifndef AWSBOX_VERSION
#define AWSBOX_VERSION "dev"
#endif
#ifndef BEARSSL_VERSION
#define BEARSSL_VERSION "unknown"
#endif

static const char awsbox_help[] =
	"Usage: awsbox APPLET [ARGS...]   or   APPLET [ARGS...] through a symlink named APPLET\n"
	"       awsbox --list | --install DIR [SOURCE] | --version | --help\n\n"
	"One static binary for the everyday AWS jobs of scripts, containers and instances.\n\n"
	"  --list                 print the applet names, one a line\n"
	"  --install DIR [SOURCE] make DIR/awsbox and DIR/APPLET symlinks to SOURCE (default: this\n"
	"                         binary, found by /proc/self/exe, else argv[0] and PATH); a name\n"
	"                         taken by another command (in DIR or on PATH) gets no link\n"
	"  --version              print the version of awsbox and of BearSSL\n\n"
	"Applets:\n";

/* Old names that still run an applet as `awsbox OLD`; no link is ever made for them. */
static const struct {
	const char *old, *name;
} aliases[] = {{"whoami", "awsid"}};

static const struct applet *
find(const char *name)
{
	for (size_t i = 0; i < COUNT(applets); i++)
		if (!strcmp(applets[i].name, name))
			return &applets[i];
	return NULL;
}

static void
list(FILE *f, const char *indent)
{
	for (size_t i = 0; i < COUNT(applets); i++)
		fprintf(f, "%s%s\n", indent, applets[i].name);
}

static const char *
nearest(const char *name)
{
	const char *best = NULL;
	size_t bd = (size_t)-1;

	for (size_t i = 0; i < COUNT(applets); i++) {
		size_t d = str_distance(name, applets[i].name);
		if (d < bd)
			bd = d, best = applets[i].name;
	}
	return bd <= 2 || (bd <= 3 && strlen(name) > 5) ? best : NULL;
}

/* This binary's path: /proc/self/exe where there is a /proc, else argv[0] as given or looked
 * up in PATH (a FROM-scratch image has no /proc at build time). NULL if none works. */
static char *
self_path(const char *argv0)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);

	if (n > 0) {
		buf[n] = 0;
		return xstrdup(buf);
	}
	if (argv0 && strchr(argv0, '/'))
		return realpath(argv0, buf) ? xstrdup(buf) : NULL;
	const char *path = getenv("PATH");
	for (const char *p = path ? path : ""; argv0 && *p;) {
		size_t k = strcspn(p, ":");
		char *cand = xasprintf("%.*s%s%s", (int)k, k ? p : ".", k && p[k - 1] == '/' ? "" : "/", argv0);
		if (!access(cand, X_OK) && realpath(cand, buf)) {
			free(cand);
			return xstrdup(buf);
		}
		free(cand);
		p += k + (p[k] == ':');
	}
	return NULL;
}

/* path is this binary (the same file, or a link that ends at it). */
static int
is_self(const char *path, const struct stat *self)
{
	struct stat st;

	return !stat(path, &st) && st.st_dev == self->st_dev && st.st_ino == self->st_ino;
}

/* path is this binary or another copy of awsbox (a link that ends at a file named awsbox). */
static int
is_awsbox(const char *path, const struct stat *self)
{
	char buf[PATH_MAX];
	const char *b;

	if (is_self(path, self))
		return 1;
	if (!realpath(path, buf))
		return 0;
	b = strrchr(buf, '/');
	return !strcmp(b ? b + 1 : buf, "awsbox");
}

/* Another command of this name on PATH (outside dir) that is not awsbox, else NULL. */
static char *
taken_on_path(const char *name, const char *dir, const struct stat *self)
{
	const char *path = getenv("PATH");
	struct stat d, pd;

	if (stat(dir, &d))
		return NULL;
	for (const char *p = path ? path : ""; *p;) {
		size_t k = strcspn(p, ":");
		char *pdir = xasprintf("%.*s", (int)k, k ? p : ".");
		char *cand = xasprintf("%s/%s", pdir, name);
		int same_dir = !stat(pdir, &pd) && pd.st_dev == d.st_dev && pd.st_ino == d.st_ino;
		free(pdir);
		if (!same_dir && !access(cand, X_OK) && !is_awsbox(cand, self))
			return cand;
		free(cand);
		p += k + (p[k] == ':');
	}
	return NULL;
}

static int
install_one(const char *dir, const char *name, const char *source, const struct stat *self)
{
	char *link = xasprintf("%s/%s", dir, name), *other = NULL;
	struct stat st;
	int rc = EX_OK;

	if (!lstat(link, &st)) {
		/* Ours (a link to this binary, or the binary itself): keep it, or renew a link; a
		 * link to nothing (an old install's) is renewed too. */
		struct stat t;
		if (is_self(link, self) || (S_ISLNK(st.st_mode) && stat(link, &t))) {
			if (!S_ISLNK(st.st_mode))
				goto done;
			unlink(link);
		} else {
			warn("--install: %s exists and is not awsbox; no link made (run it as 'awsbox %s')", link, name);
			goto done;
		}
	} else if (strcmp(name, "awsbox") && (other = taken_on_path(name, dir, self))) {
		warn("--install: %s is already a command (%s); no link made (run it as 'awsbox %s')", name, other, name);
		goto done;
	}
	if (symlink(source, link)) {
		warn("--install: %s: %s", link, strerror(errno));
		rc = EX_FAIL;
	}
done:
	free(other);
	free(link);
	return rc;
}

static int
install(const char *dir, const char *source, const char *argv0)
{
	char *self = source ? xstrdup(source) : self_path(argv0);
	struct stat st, sst;
	int rc = EX_OK;

	if (!self)
		die_code(EX_FAIL, "--install: cannot find this binary's path (no /proc, and '%s' is not on PATH): "
				  "give it, as in 'awsbox --install %s /path/to/awsbox'", argv0, dir);
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		die_code(EX_USAGE, "--install: %s: not a directory", dir);
	/* SOURCE may be relative to DIR (the link's target), as symlinks are. */
	char *abs = *self == '/' ? xstrdup(self) : xasprintf("%s/%s", dir, self);
	if (stat(abs, &sst) || !S_ISREG(sst.st_mode))
		die_code(EX_USAGE, "--install: %s: not an executable file", self);
	free(abs);
	if (install_one(dir, "awsbox", self, &sst))
		rc = EX_FAIL;
	for (size_t i = 0; i < COUNT(applets); i++)
		if (install_one(dir, applets[i].name, self, &sst))
			rc = EX_FAIL;
	free(self);
	return rc;
}

/* stdout is where results go: a write error there (full disk, closed pipe) is a failure. */
static int
finish(int rc)
{
	if (fflush(stdout) || ferror(stdout) || fclose(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, "%s: write error on stdout: %s\n", applet_name, strerror(errno));
		return rc ? rc : EX_FAIL;
	}
	return rc;
}

/* Descriptors 0-2 must be open before anything opens a file or a socket, or a closed one is
 * taken by it: a warning lands in a downloaded file, object data goes down a socket (BusyBox's
 * bb_sanitize_stdio, OpenSSH's sanitise_stdfd). A closed one is held by /dev/null opened the
 * other way (stdin write-only, stdout and stderr read-only), so that using it still fails with
 * EBADF as a closed one would. With no /dev/null (an empty root) nothing can hold it: exit 1. */
static void
stdio_hold(void)
{
	static const char msg[] = "awsbox: descriptor 0, 1 or 2 is closed and there is no /dev/null to hold it; "
				  "not running (a file or socket would take its number)\n";

	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		int n = open("/dev/null", (fd ? O_RDONLY : O_WRONLY) | O_NOCTTY);
		if (n == fd)
			continue;
		if (n >= 0)
			close(n);
		if (write(2, msg, sizeof msg - 1) < 0) {
			/* stderr is closed too: the exit code says it */
		}
		_exit(EX_FAIL);
	}
}

int
main(int argc, char **argv)
{
	const char *base = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
	const struct applet *a;

	stdio_hold();
	core_dumps(0); /* --debug turns them back on (opt.c) */
	base = base ? base + 1 : argc > 0 && argv[0] ? argv[0] : "awsbox";
	if ((a = find(base))) {
		applet_name = a->name;
		g_exits = a->exits;
		return finish(a->main(argc, argv));
	}
	for (size_t i = 0; i < COUNT(aliases); i++)
		if (!strcmp(base, aliases[i].old))
			die_code(EX_USAGE, "%s is now '%s' (or 'awsbox %s'); this link is left from an older install: "
				 "remove it, as it shadows the system's %s", base, aliases[i].name, aliases[i].old, base);
	applet_name = "awsbox";
	if (argc < 2) {
		fputs(awsbox_help, stderr);
		list(stderr, "  ");
		return EX_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(awsbox_help, stdout);
		list(stdout, "  ");
		return finish(EX_OK);
	}
	if (!strcmp(cmd, "--version")) {
		printf("awsbox %s (BearSSL %s)\n", AWSBOX_VERSION, BEARSSL_VERSION);
		return finish(EX_OK);
	}
	if (!strcmp(cmd, "--list")) {
		list(stdout, "");
		return finish(EX_OK);
	}
	if (!strcmp(cmd, "--install")) {
		if (argc != 3 && argc != 4)
			die_code(EX_USAGE, "usage: awsbox --install DIR [SOURCE]");
		return install(argv[2], argv[3], argv[0]);
	}
	for (size_t i = 0; i < COUNT(aliases); i++)
		if (!strcmp(cmd, aliases[i].old))
			cmd = aliases[i].name;
	if ((a = find(cmd))) {
		applet_name = a->name;
		g_exits = a->exits;
		return finish(a->main(argc - 1, argv + 1));
	}
	const char *near = nearest(cmd);
	if (near)
		fprintf(stderr, "awsbox: unknown applet '%s'; did you mean '%s'? ('awsbox --list' lists them)\n", cmd, near);
	else
		fprintf(stderr, "awsbox: unknown applet '%s'; 'awsbox --list' lists the applets\n", cmd);
	return EX_USAGE;
}
