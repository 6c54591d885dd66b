/* proc.c — commands run beside awsbox (sqsrecv --exec): started with posix_spawn, which needs
 * no fork of a threaded process, with their stdin from memory and variables added; and the
 * signals a worker thread blocks.
 * https://pubs.opengroup.org/onlinepubs/9799919799/functions/posix_spawn.html */
#include "base.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern char **environ;

void
proc_var(struct buf *vars, const char *name, const char *val, size_t n)
{
	buf_adds(vars, name);
	buf_addc(vars, '=');
	buf_add(vars, val, n);
	buf_addc(vars, 0);
}

int
proc_spawn(char *const argv[], const char *vars, size_t nvars, const void *in, size_t n, pid_t *pid, struct err *e)
{
	posix_spawnattr_t at;
	posix_spawn_file_actions_t fa;
	sigset_t none, def;
	size_t k = 0, ours;
	char **envp;
	int fd, err, rc = -1;

	/* vars first, then the inherited variables they do not replace */
	for (char **p = environ; *p; p++)
		k++;
	for (size_t i = 0; i < nvars; i++)
		k += !vars[i];
	envp = xcalloc(k + 1, sizeof *envp);
	k = 0;
	for (const char *p = vars; p && p < vars + nvars; p += strlen(p) + 1)
		envp[k++] = (char *)p;
	ours = k;
	for (char **p = environ; *p; p++) {
		size_t len = strcspn(*p, "=") + 1, i;
		for (i = 0; i < ours && strncmp(envp[i], *p, len); i++)
			;
		if (i == ours)
			envp[k++] = *p;
	}
	/* stdin from a memory file: any size, nothing to feed, and no /tmp needed */
	if ((fd = memfd_create("stdin", MFD_CLOEXEC)) < 0 || (n && write(fd, in, n) != (ssize_t)n) ||
	    lseek(fd, 0, SEEK_SET)) {
		err_set(e, E_IO, "cannot hold the input of %s: %s", argv[0], strerror(errno));
		goto done;
	}
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 0);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGCHLD);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	/* its own process group: a Ctrl-C at the terminal is for the caller to handle, and
	 * kill(-pid) stops a whole "sh -c" pipeline */
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	err = posix_spawnp(pid, argv[0], &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		err_set(e, err == ENOENT ? E_NOTFOUND : E_IO, "cannot run %s: %s", argv[0], strerror(err));
	else
		rc = 0;
done:
	if (fd >= 0)
		close(fd);
	free(envp);
	return rc;
}

void
proc_block_signals(void)
{
	sigset_t set;

	/* Signals go to the main thread, which decides what to abort. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}
