/* file.c — atomic output files: write a temporary file beside the target, fsync, rename(2) over
 * it; temporary files are removed on failure, at exit and on SIGINT/SIGTERM/SIGHUP.
 * rename: https://pubs.opengroup.org/onlinepubs/9799919799/functions/rename.html */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The cleanup registry: temporary paths that a signal or exit() must remove. Slots are claimed
 * and released with atomic operations so that the signal handler, which may run in any thread
 * at any moment, always sees either a complete path or NULL. */
#define FILE_SLOTS 256
static char *slots[FILE_SLOTS];
static pid_t owner; /* a forked child that exits must not remove its parent's files */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};

static void
unlink_all(void)
{
	for (int i = 0; i < FILE_SLOTS; i++) {
		char *p = __atomic_load_n(&slots[i], __ATOMIC_SEQ_CST);
		if (p)
			unlink(p); /* async-signal-safe */
	}
}

static void
on_signal(int sig)
{
	int saved = errno;

	if (getpid() == owner)
		unlink_all();
	/* SA_RESETHAND put the default action back: re-raise so that our parent sees the
	 * signal as the cause of death, as it would without us. */
	raise(sig);
	errno = saved;
}

static void
at_exit(void)
{
	if (getpid() == owner)
		unlink_all();
}

static void
install(void)
{
	struct sigaction sa, old;

	owner = getpid();
	atexit(at_exit);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < COUNT(sigs); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (size_t i = 0; i < COUNT(sigs); i++) {
		/* An ignored or handled signal stays as the program (or nohup) set it. */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
			sigaction(sigs[i], &sa, NULL);
	}
}

static int
registry_add(char *path)
{
	pthread_once(&once, install);
	for (int i = 0; i < FILE_SLOTS; i++) {
		char *expect = NULL;
		if (__atomic_compare_exchange_n(&slots[i], &expect, path, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return i;
	}
	return -1; /* full: still removed on failure, only not on a signal */
}

static void
registry_del(int slot)
{
	if (slot >= 0 && slot < FILE_SLOTS)
		__atomic_store_n(&slots[slot], NULL, __ATOMIC_SEQ_CST);
}

static int
io_err(struct err *e, const char *what, const char *path, int errnum)
{
	return err_set(e, errnum == ENOENT ? E_NOTFOUND : E_IO, "%s %s: %s", what, path, strerror(errnum));
}

int
file_open(struct outfile *f, const char *path, mode_t mode, struct err *e)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	struct stat st;
	char *target;

	memset(f, 0, sizeof *f);
	f->fd = -1;
	f->slot = -1;
	if (!*path || path[strlen(path) - 1] == '/')
		return err_set(e, E_USAGE, "%s: not a file name", path);
	/* Replace the file a symlink points at, not the link; a link to nothing is refused, as
	 * GNU cp refuses to write through it (replacing the link would break what set it up). */
	if (!lstat(path, &st) && S_ISLNK(st.st_mode)) {
		if (!(target = realpath(path, NULL)) && errno == ENOENT)
			return err_set(e, E_IO, "%s: a symbolic link to nothing (not written through)", path);
		if (!target)
			return io_err(e, "resolve", path, errno);
	} else {
		target = xstrdup(path);
	}
	if (!stat(target, &st) && S_ISDIR(st.st_mode)) {
		err_set(e, E_IO, "%s: is a directory", path);
		goto fail;
	}
	int exists = !stat(target, &st);
	if (exists && !S_ISREG(st.st_mode)) {
		/* A device or a FIFO: there is nothing to replace atomically. */
		if ((f->fd = open(target, O_WRONLY | O_CLOEXEC)) < 0) {
			io_err(e, "open", path, errno);
			goto fail;
		}
		f->direct = 1;
		f->path = target;
		return 0;
	}
	const char *slash = strrchr(target, '/'), *base = slash ? slash + 1 : target;
	int dirlen = slash ? (int)(slash - target) + 1 : 0;
	for (int tries = 0; tries < 100; tries++) {
		char sfx[9];
		uint32_t r = rand32() ^ (uint32_t)getpid() << 8;
		for (int i = 0; i < 8; i++, r = r * 1103515245u + 12345u)
			sfx[i] = chars[(r >> 16) % (sizeof chars - 1)];
		sfx[8] = 0;
		/* Dot-prefixed beside the target: same file system (rename is atomic), hidden. The
		 * name is built in full before it is registered, so a signal sees all of it. */
		char *tmp = xasprintf("%.*s.%s.%s.tmp", dirlen, target, base, sfx);
		/* Read and write: a download whose only checksum is an MD5 ETag reads it back. */
		int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
		if (fd < 0) {
			int errnum = errno;
			free(tmp);
			if (errnum == EEXIST)
				continue;
			io_err(e, "cannot create a temporary file for", path, errnum);
			goto fail;
		}
		f->slot = registry_add(tmp);
		f->tmp = tmp;
		f->fd = fd;
		f->path = target;
		/* A file replaced keeps its owner (when we may give it) and permissions, as cp keeps
		 * them, but never more than mode allows beyond execute: a secret's 0600 stays 0600. */
		if (exists && ((!geteuid() && fchown(fd, st.st_uid, st.st_gid) && errno != EPERM && errno != EINVAL) ||
			       fchmod(fd, st.st_mode & (mode | 0111) & 0777))) {
			io_err(e, "cannot give the temporary file the permissions of", path, errno);
			file_abort(f);
			return -1;
		}
		return 0;
	}
	err_set(e, E_IO, "cannot create a temporary file for %s: too many name collisions", path);
fail:
	free(target);
	return -1;
}

int
file_write(struct outfile *f, const void *p, size_t n, struct err *e)
{
	const char *s = p;

	if (f->fd < 0)
		return err_set(e, E_IO, "write %s: the file is not open", f->path ? f->path : "(none)");
	while (n) {
		ssize_t w = write(f->fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return io_err(e, "write", f->tmp ? f->tmp : f->path, w < 0 ? errno : EIO);
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

void
file_abort(struct outfile *f)
{
	if (!f->path)
		return; /* never opened, or already finished */
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp)
		unlink(f->tmp);
	registry_del(f->slot);
	f->slot = -1;
	free(f->tmp);
	free(f->path);
	f->tmp = f->path = NULL;
}

int
file_commit(struct outfile *f, struct err *e)
{
	int fd = f->fd, dfd;
	char *dir;

	if (!f->path || fd < 0)
		return err_set(e, E_IO, "commit: the file is not open");
	if (f->direct) {
		f->fd = -1;
		if (close(fd)) {
			io_err(e, "close", f->path, errno);
			goto fail;
		}
		free(f->path);
		f->path = NULL;
		return 0;
	}
	/* The data must be on disk before the name points at it, or a crash could leave an
	 * empty file where the old one was. */
	if (fsync(fd) && errno != EINVAL) {
		io_err(e, "fsync", f->tmp, errno);
		goto fail;
	}
	f->fd = -1;
	if (close(fd)) {
		io_err(e, "close", f->tmp, errno);
		goto fail;
	}
	if (rename(f->tmp, f->path)) {
		io_err(e, "rename to", f->path, errno);
		goto fail;
	}
	registry_del(f->slot);
	f->slot = -1;
	/* And the rename itself (best effort: some file systems cannot fsync a directory). */
	const char *slash = strrchr(f->path, '/');
	dir = slash ? xstrndup(f->path, slash == f->path ? 1 : (size_t)(slash - f->path)) : xstrdup(".");
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(dir);
	free(f->tmp);
	free(f->path);
	f->tmp = f->path = NULL;
	return 0;
fail:
	file_abort(f);
	return -1;
}

char *
file_mkdirs(const char *path)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/' || s[-1] == '/')
			continue;
		*s = 0;
		if (mkdir(p, 0777) && errno != EEXIST)
			return p;
		*s = '/';
	}
	free(p);
	return NULL;
}

int
file_put(const char *path, mode_t mode, const void *p, size_t n, struct err *e)
{
	struct outfile f;

	if (file_open(&f, path, mode, e) || file_write(&f, p, n, e) || file_commit(&f, e)) {
		file_abort(&f);
		return -1;
	}
	return 0;
}
