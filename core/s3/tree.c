/* tree.c — recursive copies (s3cp -r): the files under a directory or the objects under a prefix,
 * filtered, each sent to its place under the destination; the small ones as jobs on the worker
 * pool (pool.c's xqueue), the large ones on the calling thread with their own part pool.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html */
#include "s3.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *
s3_key_for(const char *key, const char *name)
{
	return *key && key[strlen(key) - 1] != '/' ? xstrdup(key) : xasprintf("%s%s", key, name);
}

char *
s3_prefix(const char *key)
{
	return *key && key[strlen(key) - 1] != '/' ? xasprintf("%s/", key) : xstrdup(key);
}

int
s3_err_runwide(const struct err *e)
{
	static const char *const codes[] = {"NoSuchBucket", "AllAccessDisabled", "InvalidAccessKeyId",
					    "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "PermanentRedirect"};

	for (size_t i = 0; e->kind == E_AWS && i < COUNT(codes); i++)
		if (!strcmp(e->code, codes[i]))
			return 1;
	return 0;
}

/* A queued object: an item with strings of its own. */
static void
job_free(void *arg)
{
	struct s3_item *j = arg;

	free((char *)j->path), free((char *)j->sbucket), free((char *)j->skey), free((char *)j->bucket);
	free((char *)j->key), free((char *)j->etag), free(j);
}

static int
stopping(const struct s3_tree *t)
{
	return t->x->cancel && __atomic_load_n(t->x->cancel, __ATOMIC_RELAXED);
}

static int
job_run(void *ctx, void *arg)
{
	struct s3_tree *t = ctx;
	struct xfer x = {.a = t->x->a, .concurrency = 1, .part_size = t->x->part_size, .cancel = t->x->cancel,
			 .on_worker = 1};

	if (__atomic_load_n(&t->halted, __ATOMIC_SEQ_CST))
		__atomic_fetch_add(&t->halted, 1, __ATOMIC_SEQ_CST); /* would fail the same way */
	else if (!stopping(t))
		t->copy(t->ctx, &x, arg, 1);
	job_free(arg);
	return 0;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* One object: queued when it takes one request (size up to limit), else copied here. -1 with e
 * only when the queue cannot start. */
static int
send(struct s3_tree *t, const struct s3_item *it, int64_t limit, struct err *e)
{
	struct s3_item *j;

	if (it->size > limit) {
		t->copy(t->ctx, t->x, it, 0);
		return 0;
	}
	if (!t->q) {
		t->qx = (struct xfer){.a = t->x->a, .concurrency = t->x->concurrency, .cancel = t->x->cancel,
				      .progress = t->progress};
		if (!(t->q = xqueue_start(&t->qx, job_run, job_free, t, e)))
			return -1;
	}
	if (stopping(t))
		return 0;
	j = xmalloc(sizeof *j);
	*j = (struct s3_item){it->kind, dup_or_null(it->path), dup_or_null(it->sbucket), dup_or_null(it->skey),
			      dup_or_null(it->bucket), dup_or_null(it->key), it->size, dup_or_null(it->etag)};
	if (xqueue_add(t->q, j))
		job_free(j); /* interrupted */
	return 0;
}

int
s3_tree_wait(struct s3_tree *t)
{
	struct err e = {0};

	if (!t->q)
		return 0;
	xqueue_finish(t->q, &e); /* the jobs report their own failures; this one is an interrupt */
	t->q = NULL;
	return 1;
}

void
s3_tree_park(struct s3_tree *t)
{
	xqueue_park(t->q);
}

int
s3_tree_selected(const struct s3_tree *t, const char *rel)
{
	int in = !t->ninc;

	for (int i = 0; i < t->ninc && !in; i++)
		in = !regexec(&t->inc[i], rel, 0, NULL, 0);
	for (int i = 0; i < t->nexc && in; i++)
		in = regexec(&t->exc[i], rel, 0, NULL, 0) != 0;
	return in;
}

/* A selected entry after a failure every object would meet: counted, not copied. */
static int
halted(struct s3_tree *t)
{
	if (!__atomic_load_n(&t->halted, __ATOMIC_SEQ_CST))
		return 0;
	__atomic_fetch_add(&t->halted, 1, __ATOMIC_SEQ_CST);
	return 1;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directories walk() is inside, to stop a symlink loop. */
struct walked {
	dev_t dev;
	ino_t ino;
	const struct walked *up;
};

/* dir's entries but "." and "..", sorted (xmalloc'd, each too); NULL after reporting a failure. */
static char **
list_dir(struct s3_tree *t, const char *dir, size_t *np)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct err e = {0};

	if (!d) {
		err_set(&e, errno == ENOENT ? E_NOTFOUND : E_IO, "%s", strerror(errno));
		t->report(t->ctx, &e, "open", dir);
		return NULL;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap)
			names = xrealloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	*np = n;
	return names;
}

/* One entry of a directory: a subdirectory walked, a regular file sent, anything else skipped or
 * reported. */
static int walk(struct s3_tree *t, const char *dir, const char *rel, const char *bucket, const char *prefix,
		const struct walked *up, struct err *e);

static int
walk_entry(struct s3_tree *t, const char *path, const char *r, const char *bucket, const char *prefix,
	   const struct walked *up, struct err *e)
{
	struct stat st;
	const struct walked *w = up;
	struct err fe = {0};
	int rc = 0;

	if (stat(path, &st)) {
		err_set(&fe, errno == ENOENT ? E_NOTFOUND : E_IO, "%s",
			errno == ENOENT ? "a symbolic link to nothing" : strerror(errno));
		t->report(t->ctx, &fe, "", path);
	} else if (S_ISDIR(st.st_mode)) {
		while (w && !(w->dev == st.st_dev && w->ino == st.st_ino))
			w = w->up;
		if (w)
			t->report(t->ctx, NULL, "a link back to a directory already being copied", path);
		else
			rc = walk(t, path, r, bucket, prefix, &(struct walked){st.st_dev, st.st_ino, up}, e);
	} else if (!S_ISREG(st.st_mode)) {
		t->report(t->ctx, NULL, "not a regular file", path);
	} else if (s3_tree_selected(t, r) && !halted(t)) {
		char *key = xasprintf("%s%s", prefix, r);
		if (s3_valid_key(key, strlen(key), &fe))
			t->report(t->ctx, &fe, "", path);
		else
			rc = send(t, &(struct s3_item){S3_TREE_UP, path, NULL, NULL, bucket, key, st.st_size, NULL},
				  t->x->part_size, e);
		free(key);
		t->count++;
	}
	return rc;
}

static int
walk(struct s3_tree *t, const char *dir, const char *rel, const char *bucket, const char *prefix,
     const struct walked *up, struct err *e)
{
	size_t n = 0, i;
	char **names = list_dir(t, dir, &n);
	int rc = 0;

	for (i = 0; names && i < n; i++) {
		if (!rc && !stopping(t)) {
			char *path = file_join(dir, names[i]), *r = *rel ? xasprintf("%s/%s", rel, names[i])
									 : xstrdup(names[i]);
			rc = walk_entry(t, path, r, bucket, prefix, up, e);
			free(path);
			free(r);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
s3_tree_dir(struct s3_tree *t, const char *dir, const char *bucket, const char *prefix, struct err *e)
{
	struct stat st;
	struct walked top = {0};

	if (!stat(dir, &st))
		top = (struct walked){st.st_dev, st.st_ino, NULL};
	return walk(t, dir, "", bucket, prefix, &top, e);
}

/* One listed object under prefix (rel its key below it) to dst: a directory, or S3 (dbucket). */
static int
list_entry(struct s3_tree *t, const struct s3_entry *ent, const char *rel, const char *bucket, const char *dst,
	   const char *dbucket, struct err *e)
{
	struct err fe = {0};
	int rc = 0;

	if (dbucket) {
		char *dkey = xasprintf("%s%s", dst, rel);
		rc = send(t, &(struct s3_item){S3_TREE_COPY, NULL, bucket, ent->key, dbucket, dkey, ent->size, ent->etag},
			  t->copy_threshold, e);
		free(dkey);
	} else if (!s3_rel_path_safe(rel)) {
		err_set(&fe, E_IO, "refusing a key that would leave the target directory");
		t->report(t->ctx, &fe, "", ent->key);
	} else {
		char *path = file_join(dst, rel), *bad = file_mkdirs(path);
		if (bad) {
			err_set(&fe, E_IO, "%s", strerror(errno));
			t->report(t->ctx, &fe, "mkdir", bad);
			free(bad);
		} else {
			rc = send(t, &(struct s3_item){S3_TREE_DOWN, path, bucket, ent->key, NULL, NULL, ent->size, ent->etag},
				  t->x->part_size, e);
		}
		free(path);
	}
	return rc;
}

int
s3_tree_list(struct s3_tree *t, const char *bucket, const char *prefix, const char *dst, const char *dbucket,
	     struct err *e)
{
	struct s3_list l = {.bucket = bucket, .prefix = prefix};
	struct s3_entry ent;
	struct err le = {0};
	int r = 0, rc = 0;

	while (!rc && (r = s3_list_next(t->x->a, &l, &ent, &le)) == 1) {
		const char *rel = ent.key + strlen(prefix);
		if (stopping(t))
			break;
		if (!*rel || rel[strlen(rel) - 1] == '/' || !s3_tree_selected(t, rel))
			continue; /* the prefix itself, or a "directory" marker */
		if (halted(t))
			continue; /* listed on only to say how many were not copied */
		rc = list_entry(t, &ent, rel, bucket, dst, dbucket, e);
		t->count++;
	}
	if (r < 0 && !__atomic_load_n(&t->halted, __ATOMIC_SEQ_CST))
		t->report(t->ctx, &le, "ListObjectsV2", bucket);
	s3_list_free(&l);
	return rc;
}
