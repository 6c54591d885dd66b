/* file.c — atomic output files: write a temporary file beside the target, fsync, rename(2) over
 * it; temporary files are removed on failure, at exit and on SIGINT/SIGTERM/SIGHUP.
 * rename: https://pubs.opengroup.org/onlinepubs/9799919799/functions/rename.html */
#include "base.h"

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

/* The file to write for path, xmalloc'd in *target, and what is there now (*exists, st): the file
 * a symlink points at, not the link; a link to nothing is refused, as GNU cp refuses to write
 * through it (replacing the link would break what set it up). A secret is not written through
 * one at all; a link put there after this look is replaced by the rename, or refused by
 * O_NOFOLLOW, never followed. One lstat for a path that is not a link (s3cp -r opens one file
 * per object: a stat of a missing target per question was three failed calls each). */
static int
out_target(const char *path, int secret, char **target, int *exists, struct stat *st, struct err *e)
{
	*exists = !lstat(path, st);
	if (*exists && S_ISLNK(st->st_mode)) {
		if (secret)
			return err_set(e, E_IO, "%s: a symbolic link; a secret is not written through one (name the "
					       "file itself, or - for stdout)", path);
		if (!(*target = realpath(path, NULL)) && errno == ENOENT)
			return err_set(e, E_IO, "%s: a symbolic link to nothing (not written through)", path);
		if (!*target)
			return io_err(e, "resolve", path, errno);
		*exists = !stat(*target, st);
	} else {
		*target = xstrdup(path);
	}
	return 0;
}

/* A device or a FIFO (st): there is nothing to replace atomically, so it is written in place.
 * target becomes f's, or is freed on failure. */
static int
open_direct(struct outfile *f, char *target, const char *path, const struct stat *st, int secret, struct err *e)
{
	if (secret && st->st_uid != geteuid() && st->st_uid != 0) {
		err_set(e, E_IO, "%s: belongs to another user (uid %u); a secret is not written into it", path,
			(unsigned)st->st_uid);
		free(target);
		return -1;
	}
	if ((f->fd = open(target, O_WRONLY | O_CLOEXEC | (secret ? O_NOFOLLOW : 0))) < 0) {
		io_err(e, "open", path, errno);
		free(target);
		return -1;
	}
	f->direct = 1;
	f->path = target;
	return 0;
}

/* A new temporary file beside target, to be renamed over it; old is the file it replaces (NULL:
 * none). target becomes f's, or is freed on failure. */
static int
open_tmp(struct outfile *f, char *target, const char *path, mode_t mode, int secret, const struct stat *old,
	 struct err *e)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	const char *slash = strrchr(target, '/'), *base = slash ? slash + 1 : target;
	int dirlen = slash ? (int)(slash - target) + 1 : 0;

	for (int tries = 0; tries < 100; tries++) {
		char sfx[9];
		/* No getpid() (a system call in musl, once per file): rand32's state is per thread,
		 * and a name taken by another process (a fork's child) is only another try (O_EXCL). */
		uint32_t r = rand32();
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
			free(target);
			return -1;
		}
		f->slot = registry_add(tmp);
		f->tmp = tmp;
		f->fd = fd;
		f->path = target;
		/* A file replaced keeps its owner (when we may give it) and permissions, as cp keeps
		 * them, but never more than mode allows beyond execute. A secret is the caller's,
		 * 0600 whatever the umask. */
		if (secret ? fchmod(fd, 0600) :
			     old && ((!geteuid() && fchown(fd, old->st_uid, old->st_gid) && errno != EPERM &&
				      errno != EINVAL) || fchmod(fd, old->st_mode & (mode | 0111) & 0777))) {
			io_err(e, "cannot give the temporary file the permissions of", path, errno);
			file_abort(f); /* frees target */
			return -1;
		}
		return 0;
	}
	err_set(e, E_IO, "cannot create a temporary file for %s: too many name collisions", path);
	free(target);
	return -1;
}

static int
open_out(struct outfile *f, const char *path, mode_t mode, int secret, struct err *e)
{
	struct stat st;
	char *target;
	int exists;

	memset(f, 0, sizeof *f);
	f->fd = -1;
	f->slot = -1;
	if (!*path || path[strlen(path) - 1] == '/')
		return err_set(e, E_USAGE, "%s: not a file name", path);
	if (out_target(path, secret, &target, &exists, &st, e))
		return -1;
	if (exists && S_ISDIR(st.st_mode)) {
		err_set(e, E_IO, "%s: is a directory", path);
		free(target);
		return -1;
	}
	if (exists && !S_ISREG(st.st_mode))
		return open_direct(f, target, path, &st, secret, e);
	return open_tmp(f, target, path, mode, secret, exists ? &st : NULL, e);
}

int
file_open(struct outfile *f, const char *path, mode_t mode, struct err *e)
{
	return open_out(f, path, mode, 0, e);
}

int
file_open_secret(struct outfile *f, const char *path, struct err *e)
{
	return open_out(f, path, 0600, 1, e);
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

/* The directory of path (xmalloc'd): "." for a bare name, "/" at the root. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
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
	dir = dir_of(f->path);
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

/* ---- commits in groups ---------------------------------------------------------------- */

/* Waiting files' data is made durable by one syncfs per file system, then each is renamed and
 * each directory fsynced once: a name never points at data that is not on disk, as with
 * file_commit, at one sync per group instead of two per file. */
/* Empties b: its waiting files, n of them, are the caller's. */
static struct file_waiting *
batch_take(struct file_batch *b, int *n)
{
	pthread_mutex_lock(&b->m);
	struct file_waiting *w = b->w;
	*n = b->n;
	b->w = NULL;
	b->n = b->cap = 0;
	pthread_mutex_unlock(&b->m);
	return w;
}

void
file_batch_flush(struct file_batch *b)
{
	int n;
	struct file_waiting *w = batch_take(b, &n);
	if (!n)
		return;
	int *rc = xcalloc((size_t)n, sizeof *rc);
	struct err *es = xcalloc((size_t)n, sizeof *es);
	char **dirs = xcalloc((size_t)n, sizeof *dirs);
	int ndirs = 0;
	for (int i = 0; i < n; i++) { /* one syncfs for each file system among them */
		if (w[i].synced || es[i].kind)
			continue; /* done with an earlier one of its file system */
		char *dir = dir_of(w[i].f.tmp);
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ok = dfd >= 0 && !syncfs(dfd), errnum = errno;
		if (!ok)
			io_err(&es[i], "syncfs", dir, errnum);
		for (int j = i; j < n; j++)
			if (w[j].dev == w[i].dev && !w[j].synced) {
				if (ok)
					w[j].synced = 1;
				else
					es[j] = es[i];
			}
		if (dfd >= 0)
			close(dfd);
		free(dir);
	}
	for (int i = 0; i < n; i++) {
		struct outfile *f = &w[i].f;
		if (es[i].kind) {
			rc[i] = -1;
			file_abort(f);
			continue;
		}
		if (rename(f->tmp, f->path)) {
			rc[i] = io_err(&es[i], "rename to", f->path, errno);
			file_abort(f);
			continue;
		}
		registry_del(f->slot);
		char *dir = dir_of(f->path);
		int seen = 0;
		for (int j = 0; j < ndirs && !seen; j++)
			seen = !strcmp(dirs[j], dir);
		if (seen)
			free(dir);
		else
			dirs[ndirs++] = dir;
		free(f->tmp);
		free(f->path);
		f->tmp = f->path = NULL;
	}
	for (int j = 0; j < ndirs; j++) { /* the renames themselves (best effort, as file_commit) */
		int dfd = open(dirs[j], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dirs[j]);
	}
	for (int i = 0; i < n; i++)
		if (b->done)
			b->done(w[i].arg, rc[i], &es[i]);
	free(dirs), free(es), free(rc), free(w);
}

void
file_batch_abort(struct file_batch *b)
{
	int n;
	struct file_waiting *w = batch_take(b, &n);
	for (int i = 0; i < n; i++) {
		file_abort(&w[i].f);
		if (b->done)
			b->done(w[i].arg, -1, NULL);
	}
	free(w);
}

int
file_batch_add(struct file_batch *b, struct outfile *f, void *arg, struct err *e)
{
	struct stat st;
	int full;

	if (f->direct || !f->tmp)
		return file_commit(f, e) ? -1 : 1;
	int known = !fstat(f->fd, &st);
	if (!known && fsync(f->fd)) { /* cannot tell its file system: synced on its own */
		io_err(e, "fsync", f->tmp, errno);
		file_abort(f);
		return -1;
	}
	if (close(f->fd)) {
		f->fd = -1;
		io_err(e, "close", f->tmp, errno);
		file_abort(f);
		return -1;
	}
	f->fd = -1;
	pthread_mutex_lock(&b->m);
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		b->w = xrealloc(b->w, (size_t)b->cap * sizeof *b->w);
	}
	b->w[b->n++] = (struct file_waiting){*f, arg, known ? st.st_dev : 0, !known};
	full = b->n >= FILE_BATCH;
	pthread_mutex_unlock(&b->m);
	*f = (struct outfile){.fd = -1, .slot = -1};
	if (full)
		file_batch_flush(b);
	return 0;
}

/* Directories known to exist (made here or found there): a tree of many files in a few
 * directories asks the kernel once per directory, not once per level for every file. */
struct known {
	struct known *next;
	char path[];
};
static struct known *known[512];
static pthread_mutex_t known_m = PTHREAD_MUTEX_INITIALIZER;

/* 1 if p is known; else, with add, notes it. */
static int
dir_known(const char *p, int add)
{
	uint32_t h = 2166136261u;
	struct known *k;

	for (const char *c = p; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u; /* FNV-1a */
	pthread_mutex_lock(&known_m);
	for (k = known[h % COUNT(known)]; k && strcmp(k->path, p); k = k->next)
		;
	if (!k && add) {
		size_t n = strlen(p) + 1;
		struct known *nk = xmalloc(sizeof *nk + n);
		memcpy(nk->path, p, n);
		nk->next = known[h % COUNT(known)];
		known[h % COUNT(known)] = nk;
	}
	pthread_mutex_unlock(&known_m);
	return k != NULL;
}

char *
file_mkdirs(const char *path)
{
	char *p = xstrdup(path), *last = strrchr(p, '/');

	if (last && last > p) {
		*last = 0;
		int there = dir_known(p, 0);
		*last = '/';
		if (there) {
			free(p);
			return NULL;
		}
	}
	for (char *s = p + 1; *s; s++) {
		if (*s != '/' || s[-1] == '/')
			continue;
		*s = 0;
		if (!dir_known(p, 0)) {
			if (mkdir(p, 0777) && errno != EEXIST)
				return p;
			dir_known(p, 1);
		}
		*s = '/';
	}
	free(p);
	return NULL;
}

const char *
file_base(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

int
file_is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

char *
file_join(const char *dir, const char *name)
{
	size_t n = strlen(dir);

	return xasprintf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

int
file_put_secret(const char *path, const void *p, size_t n, struct err *e)
{
	struct outfile f;
	char *bad = file_mkdirs(path);

	if (bad) {
		err_set(e, E_IO, "mkdir %s: %s", bad, strerror(errno));
		free(bad);
		return -1;
	}
	if (file_open_secret(&f, path, e) || file_write(&f, p, n, e) || file_commit(&f, e)) {
		file_abort(&f);
		return -1;
	}
	return 0;
}
