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

#define APPLET(n) int n##_main(int argc, char **argv); extern const char n##_help[];
#include "../applets/applets.def"
#undef APPLET

static const struct applet {
	const char *name;
	int (*main)(int, char **);
	const char *help;
} applets[] = {
#define APPLET(n) {#n, n##_main, n##_help},
#include "../applets/applets.def"
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
	"       awsbox --list | --install DIR | --version | --help\n\n"
	"One static binary for the everyday AWS jobs of scripts, containers and instances.\n\n"
	"  --list          print the applet names, one a line\n"
	"  --install DIR   create a symlink DIR/APPLET for every applet\n"
	"  --version       print the version of awsbox and of BearSSL\n\n"
	"Applets:\n";

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

static int
install(const char *dir)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	struct stat st;
	int rc = EX_OK;

	if (n <= 0)
		die_code(EX_FAIL, "--install: cannot find this binary's path: %s", strerror(errno));
	self[n] = 0;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		die_code(EX_USAGE, "--install: %s: not a directory", dir);
	for (size_t i = 0; i < COUNT(applets); i++) {
		char *link = xasprintf("%s/%s", dir, applets[i].name);
		/* Replace our own old links, never someone else's file. */
		if (!lstat(link, &st)) {
			if (!S_ISLNK(st.st_mode)) {
				warn("--install: %s exists and is not a symlink; left alone", link);
				rc = EX_FAIL;
				free(link);
				continue;
			}
			unlink(link);
		}
		if (symlink(self, link)) {
			warn("--install: %s: %s", link, strerror(errno));
			rc = EX_FAIL;
		}
		free(link);
	}
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
		return finish(a->main(argc, argv));
	}
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
		if (argc != 3)
			die_code(EX_USAGE, "usage: awsbox --install DIR");
		return install(argv[2]);
	}
	if ((a = find(cmd))) {
		applet_name = a->name;
		return finish(a->main(argc - 1, argv + 1));
	}
	fprintf(stderr, "awsbox: unknown applet '%s'; the applets are:\n", cmd);
	list(stderr, "  ");
	return EX_USAGE;
}
