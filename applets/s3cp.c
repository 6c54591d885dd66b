/* s3cp.c — copy to, from and between S3 locations: files, directory trees, stdin and stdout,
 * multipart and parallel, checksums verified. https://docs.aws.amazon.com/AmazonS3/latest/API/ */
#include "core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

const char s3cp_help[] =
	"Usage: s3cp [OPTIONS] SRC DST\n"
	"       s3cp -r [OPTIONS] SRC DST\n\n"
	"Copy a file to S3, an object to a file, or an object to another S3 location (a server-side\n"
	"copy). SRC or DST may be '-' for stdin or stdout. A DST ending in '/' or naming a directory\n"
	"keeps the source's base name. Objects larger than the part size go in parts, in parallel;\n"
	"each upload carries a CRC32C checksum that S3 verifies, and downloads are checked against\n"
	"the checksum S3 stored (or a single-part object's MD5 ETag): a mismatch fails with exit 1\n"
	"(to stdout, after the bytes went out, except where S3 serves each part's checksum).\n"
	"AWS_REQUEST_CHECKSUM_CALCULATION / AWS_RESPONSE_CHECKSUM_VALIDATION=when_required (or the\n"
	"profile's keys) turn checksums off unless --checksum is given, for stores that lack them.\n"
	"Files are written atomically (a temporary file beside the target, renamed when complete);\n"
	"a failed or interrupted multipart upload is aborted.\n\n"
	"Options:\n"
	"  -r, --recursive       copy a directory tree or every object under a prefix: SRC's contents\n"
	"                        go under DST (s3cp -r dir s3://b/p puts dir/a/x at p/a/x)\n"
	"  --include REGEX       with -r: copy only paths (relative to SRC) that match (repeatable)\n"
	"  --exclude REGEX       with -r: skip paths that match (repeatable; wins over --include)\n"
	"  --part-size SIZE      multipart above this size, in parts of it (default 8M; 5M to 5G;\n"
	"                        raised to stay within 10,000 parts)\n"
	"  --concurrency N       parallel requests (default 8); memory is about N x part size;\n"
	"                        a download starts with one and adds more while they raise the rate\n"
	"  --expected-size SIZE  roughly how much stdin holds, to choose the part size\n"
	"  --checksum ALG        crc32c (default), crc32, sha256 or none (none also skips\n"
	"                        verifying downloads)\n"
	"  --acl ACL             canned ACL, e.g. bucket-owner-full-control\n"
	"  --sse AES256|aws:kms  server-side encryption; --sse-kms-key-id ID (implies aws:kms)\n"
	"  --storage-class C     STANDARD, STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR, ...\n"
	"  --content-type T      default: guessed from the file name's extension\n"
	"  --cache-control V     Cache-Control of the object\n"
	"  --metadata K=V        user metadata (x-amz-meta-K); repeatable\n"
	"  --no-overwrite        never replace: an existing object (If-None-Match: *) or local file\n"
	"                        makes the copy fail\n"
	"  --move                delete the source once the copy is complete and verified\n"
	"  --flag KEY            after success, create an empty object KEY (s3://b/k, or a key in\n"
	"                        DST's bucket), e.g. s3://b/out/batch.fin\n"
	"  --progress, --no-progress   a progress bar on stderr (default: when it is a terminal)\n\n"
	"Examples:\n"
	"  s3cp s3://deploy/app.tar.gz - | tar xz\n"
	"  s3cp --acl bucket-owner-full-control --flag s3://partner/in/batch.fin data.csv s3://partner/in/\n"
	"  pg_dump db | gzip | s3cp - s3://backups/db-$(date +%F).sql.gz\n"
	"  s3cp -r --include '\\.csv$' --move /data/out/ s3://bucket/incoming/\n";

const struct exitdoc s3cp_exits[] = {
	{0, "ok"},
	{1, "other failure: an AWS error not below, local I/O, a checksum mismatch"},
	{2, "usage"},
	{3, "no such key, bucket or local file"},
	{4, "access denied or no credentials"},
	{6, "network or TLS failure after retries"},
	{-1, NULL},
};

enum {
	O_REC = 1, O_INC, O_EXC, O_PART, O_CONC, O_EXPECT, O_CK, O_ACL, O_SSE, O_KMS, O_CLASS, O_CTYPE, O_CACHE,
	O_META, O_NOOVER, O_MOVE, O_FLAG, O_PROG, O_NOPROG,
};

static struct {
	struct aws a;
	struct xfer x;
	struct s3_put put;
	struct kv meta[S3_META_MAX];
	regex_t inc[16], exc[16];
	int ninc, nexc, recursive, no_overwrite, move, progress, ck, ck_explicit, failed;
	int move_later; /* one object with --flag: its source goes once the flag is written */
	int runwide;    /* -r: failures not about one object (see runwide()) */
	int64_t expected, copy_threshold;
	const char *what; /* the file the progress bar names */
	double t0;
	struct file_batch batch; /* -r downloads: files whose renames wait for one sync of the group */
} T;

/* -r: an object that takes one request, for the core pool's workers (xqueue) */
enum { J_UP, J_DOWN, J_COPY };
struct job {
	int kind;
	char *s[4];
};
static struct xqueue *Q;  /* started with the first job */
static struct xfer QX;    /* its settings; done counts the objects finished */
static void drain(void);

static volatile int interrupted;
static __thread int in_worker; /* a file-level worker (-r): the main thread handles interrupts */

static int
stopping(void)
{
	return __atomic_load_n(&interrupted, __ATOMIC_RELAXED);
}

static void
on_signal(int sig)
{
	__atomic_store_n(&interrupted, sig, __ATOMIC_RELAXED); /* read by the worker threads */
}

/* After an interrupt, once what was in flight is cleaned up: die of the signal, as the shell
 * expects. A file-level worker (-r) stops here instead, for good: a transfer's threads still in a
 * request (left after 200 ms) use its object's names and state, which must not be freed. */
static void
check_interrupt(void)
{
	int sig = stopping();

	if (!sig)
		return;
	if (in_worker)
		xqueue_park(Q); /* signals are blocked here: until the main thread ends the process */
	if (Q)
		drain(); /* the workers remove their temporary files and abort their uploads first */
	file_batch_abort(&T.batch);
	if (T.progress)
		fputs("\r\033[K", stderr);
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

/* ---- progress --------------------------------------------------------------------------- */

static const char *
human(double v, char *out, size_t n)
{
	static const char u[] = "BKMGT";
	int i = 0;

	while (v >= 1024 && i < 4)
		v /= 1024, i++;
	snprintf(out, n, i ? "%.1f %ciB" : "%.0f %c", v, u[i]);
	return out;
}

static void
progress(void *ctx, uint64_t done, uint64_t total)
{
	char a[32], b[32], c[32];
	double dt = mono_now() - T.t0, rate = dt > 0 ? done / dt : 0;

	if (total)
		fprintf(stderr, "\r\033[K%.40s  %3d%%  %s / %s  %s/s", T.what, (int)(done * 100 / total), human(done, a, sizeof a),
			human(total, b, sizeof b), human(rate, c, sizeof c));
	else
		fprintf(stderr, "\r\033[K%.40s  %s  %s/s", T.what, human(done, a, sizeof a), human(rate, c, sizeof c));
}

static void
progress_start(const char *what)
{
	if (in_worker)
		return; /* -r's file-level workers have no bar; what names their object is freed with it */
	T.what = what;
	T.t0 = mono_now();
}

static void
progress_end(void)
{
	if (T.progress && !in_worker)
		fputs("\r\033[K", stderr);
}

/* ---- helpers ---------------------------------------------------------------------------- */

static const char *
base_name(const char *s)
{
	const char *b = strrchr(s, '/');

	return b ? b + 1 : s;
}

static int
is_dir(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

static char *
join(const char *dir, const char *name)
{
	size_t n = strlen(dir);

	return xasprintf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

/* An error that is not about one object (no such bucket, credentials refused): every other
 * object would fail the same way. */
static int
runwide(const struct err *e)
{
	static const char *const codes[] = {"NoSuchBucket", "AllAccessDisabled", "InvalidAccessKeyId",
					    "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "PermanentRedirect"};

	for (size_t i = 0; e->kind == E_AWS && i < COUNT(codes); i++)
		if (!strcmp(e->code, codes[i]))
			return 1;
	return 0;
}

/* Reports a failure: fatal for a single copy; with -r, noted and the others go on, except after
 * a run-wide one: that is said once, and no more objects are started. */
static int
failed(const struct err *e, const char *op, const char *what)
{
	char line[1200], w[800];
	int zero = 0;

	check_interrupt();
	progress_end();
	snprintf(w, sizeof w, "%s%s%s", op ? op : "", op && *op ? " " : "", what);
	if (!T.recursive)
		die_err(e, "%s", w);
	__atomic_compare_exchange_n(&T.failed, &zero, err_exit_code(e), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	if (runwide(e) && __atomic_fetch_add(&T.runwide, 1, __ATOMIC_SEQ_CST))
		return -1; /* counted, said at the end */
	err_format(e, w, line, sizeof line);
	fprintf(stderr, "%s: %s\n", applet_name, line);
	return -1;
}

/* ---- the three directions --------------------------------------------------------------- */

/* --no-overwrite, checked before the bytes go: 1 (reported) if the object is there or the check
 * fails, 0 if it is not. An upload still carries If-None-Match, so for it a 403 (a write-only
 * bucket: without s3:ListBucket S3 answers a missing key so) only means "cannot tell". */
static int
there_already(const char *bucket, const char *key, const char *url, int guarded)
{
	struct s3obj d = {0};
	struct err e = {0};
	int rc = 1;

	if (!s3_head(&T.a, bucket, key, 0, &d, &e)) {
		err_set(&e, E_IO, "the object exists (--no-overwrite)");
		failed(&e, "", url);
	} else if (!(e.kind == E_AWS && (e.status == 404 || (guarded && e.status == 403)))) {
		failed(&e, "HeadObject", url);
	} else {
		rc = 0;
	}
	s3obj_free(&d);
	return rc;
}

static int
upload(struct xfer *x, const char *path, const char *bucket, const char *key)
{
	struct err e = {0};
	struct stat st;
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0, rc;
	char *url = xasprintf("s3://%s/%s", bucket, key);
	struct s3_put p = T.put;

	if (fd < 0 || fstat(fd, &st)) {
		err_set(&e, errno == ENOENT ? E_NOTFOUND : E_IO, "%s", strerror(errno));
		rc = failed(&e, "open", path);
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		err_set(&e, E_USAGE, "is a directory (use -r)");
		rc = failed(&e, "", path);
		goto done;
	}
	/* Multipart: S3 checks If-None-Match only at the completion, after every part was sent. */
	if (T.no_overwrite && (!S_ISREG(st.st_mode) || st.st_size > x->part_size) && there_already(bucket, key, url, 1)) {
		rc = -1;
		goto done;
	}
	if (!p.content_type)
		p.content_type = s3_content_type(strcmp(path, "-") ? path : key);
	progress_start(strcmp(path, "-") ? base_name(path) : key);
	if (S_ISREG(st.st_mode))
		rc = xfer_upload_file(x, fd, st.st_size, bucket, key, &p, &e);
	else
		rc = xfer_upload_stream(x, fd, bucket, key, &p, T.expected, &e);
	check_interrupt();
	progress_end();
	if (rc) {
		if (e.kind == E_AWS && e.status == 412 && T.no_overwrite)
			snprintf(e.msg, sizeof e.msg, "the object exists (--no-overwrite)");
		rc = failed(&e, x->op, !strcmp(x->op, "read") ? path : url);
		goto done;
	}
	if (T.move && !T.move_later && fd && unlink(path)) {
		err_set(&e, E_IO, "%s", strerror(errno));
		rc = failed(&e, "remove", path);
	}
done:
	if (fd > 0)
		close(fd);
	free(url);
	return rc;
}

static int
head(const char *bucket, const char *key, struct s3obj *o, const char *url)
{
	struct err e = {0};

	if (s3_head(&T.a, bucket, key, 0, o, &e)) {
		check_interrupt();
		s3_explain_head(&T.a, bucket, key, &e);
		return failed(&e, "HeadObject", url);
	}
	return 0;
}

/* A downloaded file of a group (-r), once renamed or failed: then --move's delete. */
struct waiting {
	char *bucket, *key, *url, *dst;
};

static void
committed(void *arg, int rc, struct err *e)
{
	struct waiting *w = arg;
	struct err de = {0};

	if (rc && e)
		failed(e, "", w->dst);
	else if (!rc && T.move && !T.move_later && s3_delete(&T.a, w->bucket, w->key, &de))
		failed(&de, "DeleteObject", w->url);
	free(w->bucket), free(w->key), free(w->url), free(w->dst), free(w);
}

static int
download(struct xfer *x, const char *bucket, const char *key, const char *dst)
{
	struct err e = {0};
	struct s3obj o = {0};
	struct outfile f = {0};
	char *url = xasprintf("s3://%s/%s", bucket, key);
	int rc = -1, out = !strcmp(dst, "-");
	struct stat st;

	if (head(bucket, key, &o, url))
		goto done;
	if (!out && T.no_overwrite && !lstat(dst, &st)) {
		err_set(&e, E_IO, "exists (--no-overwrite)");
		failed(&e, "", dst);
		goto done;
	}
	if (!out && file_open(&f, dst, 0666, &e)) {
		failed(&e, "", dst);
		goto done;
	}
	progress_start(base_name(key));
	int ck = T.ck_explicit ? T.ck : T.a.validation_when_required ? S3_CK_NONE : S3_CK_CRC32C;
	rc = xfer_download(x, bucket, key, &o, ck, out ? 1 : f.fd, !out && f.tmp != NULL, &e);
	if (x->unverified[0])
		warn("%s: not verified: %s", url, x->unverified);
	if (rc)
		file_abort(&f);
	check_interrupt();
	progress_end();
	if (rc) {
		failed(&e, x->op, url);
		goto done;
	}
	/* --no-overwrite again, just before the rename: a file may have appeared meanwhile. */
	if (!out && T.no_overwrite && !lstat(dst, &st)) {
		file_abort(&f);
		err_set(&e, E_IO, "exists (--no-overwrite)");
		rc = failed(&e, "", dst);
		goto done;
	}
	/* -r: the file waits for its group's one sync (file_batch_add), and --move's delete for
	 * its rename; --no-overwrite checks just before each rename, so those go one by one. */
	if (!out && T.recursive && !T.no_overwrite) {
		struct waiting *w = xmalloc(sizeof *w);
		*w = (struct waiting){xstrdup(bucket), xstrdup(key), xstrdup(url), xstrdup(dst)};
		int r = file_batch_add(&T.batch, &f, w, &e);
		if (r == 0)
			goto done;
		committed(w, r < 0 ? -1 : 0, &e);
		rc = r < 0 ? -1 : 0;
		goto done;
	}
	if (!out && file_commit(&f, &e)) {
		rc = failed(&e, "", dst);
		goto done;
	}
	if (T.move && !T.move_later && s3_delete(&T.a, bucket, key, &e))
		rc = failed(&e, "DeleteObject", url);
done:
	s3obj_free(&o);
	free(url);
	return rc;
}

static int
copy(struct xfer *x, const char *sbucket, const char *skey, const char *bucket, const char *key)
{
	struct err e = {0};
	struct s3obj o = {0};
	char *src = xasprintf("s3://%s/%s", sbucket, skey), *dst = xasprintf("s3://%s/%s", bucket, key);
	struct s3_put p = T.put;
	int rc = -1;

	/* Onto itself only to change it (as S3 allows): its metadata, storage class or encryption. */
	if (!strcmp(sbucket, bucket) && !strcmp(skey, key) &&
	    (T.move || !(T.put.content_type || T.put.cache_control || T.put.nmeta || T.put.storage_class || T.put.sse))) {
		err_set(&e, E_USAGE, "source and destination are the same object%s", T.move ? "" :
			" (give --metadata, --content-type, --cache-control, --storage-class or --sse to change it)");
		failed(&e, "", dst);
		goto done;
	}
	if (head(sbucket, skey, &o, src))
		goto done;
	/* CopyObject has no If-None-Match: check first (a multipart copy's completion also sends
	 * it, and S3 honours it there). */
	if (T.no_overwrite && there_already(bucket, key, dst, 0))
		goto done;
	/* A copy keeps the source's checksum algorithm unless one was asked for. */
	if (!T.ck_explicit)
		p.ck = o.size > T.copy_threshold && !T.a.checksum_when_required ? S3_CK_CRC32C : S3_CK_NONE;
	progress_start(base_name(skey));
	rc = xfer_copy(x, sbucket, skey, &o, bucket, key, &p,
		       T.put.content_type || T.put.cache_control || T.put.nmeta, T.copy_threshold, &e);
	check_interrupt();
	progress_end();
	if (rc) {
		if (e.kind == E_AWS && e.status == 412 && T.no_overwrite)
			snprintf(e.msg, sizeof e.msg, "the object exists (--no-overwrite)");
		failed(&e, x->op, dst);
		goto done;
	}
	if (T.move && !T.move_later && s3_delete(&T.a, sbucket, skey, &e))
		rc = failed(&e, "DeleteObject", src);
done:
	s3obj_free(&o);
	free(src);
	free(dst);
	return rc;
}

/* ---- many small objects at once (-r) ---------------------------------------------------- */

/* Objects that take one request (small uploads and downloads, CopyObject) are jobs on the core
 * worker pool, concurrency at a time; larger ones keep the part-level parallelism meanwhile. */
static void
job_free(void *job)
{
	struct job *j = job;

	for (int i = 0; i < 4; i++)
		free(j->s[i]);
	free(j);
}

static int
job_run(void *ctx, void *job)
{
	struct job *j = job;
	struct xfer x = {.a = &T.a, .concurrency = 1, .part_size = T.x.part_size, .cancel = &interrupted};

	in_worker = 1; /* a pool thread: the main thread handles interrupts and the progress line */
	if (__atomic_load_n(&T.runwide, __ATOMIC_SEQ_CST))
		__atomic_fetch_add(&T.runwide, 1, __ATOMIC_SEQ_CST); /* would fail the same way */
	else if (!stopping() && j->kind == J_UP)
		upload(&x, j->s[0], j->s[1], j->s[2]);
	else if (!stopping() && j->kind == J_DOWN)
		download(&x, j->s[0], j->s[1], j->s[2]);
	else if (!stopping())
		copy(&x, j->s[0], j->s[1], j->s[2], j->s[3]);
	job_free(j);
	return 0;
}

/* The objects done, on the progress line while the main thread waits for the queue. */
static void
count_progress(void *ctx, uint64_t done, uint64_t total)
{
	fprintf(stderr, "\r\033[K%lu objects done", (unsigned long)done);
}

static void
submit(int kind, const char *a, const char *b, const char *c, const char *d)
{
	struct err e = {0};
	struct job *j;

	if (!Q) {
		QX = (struct xfer){.a = &T.a, .concurrency = T.x.concurrency, .cancel = &interrupted,
				   .progress = T.progress ? count_progress : NULL};
		if (!(Q = xqueue_start(&QX, job_run, job_free, NULL, &e)))
			die_err(&e, "-r");
	}
	if (stopping())
		return;
	j = xmalloc(sizeof *j);
	*j = (struct job){kind, {xstrdup(a), xstrdup(b), xstrdup(c), d ? xstrdup(d) : NULL}};
	if (xqueue_add(Q, j))
		job_free(j); /* interrupted */
}

/* Waits for the queued objects; after an interrupt, 3 s at most for those in flight to clean up. */
static void
drain(void)
{
	struct err e = {0};

	if (!Q)
		return;
	xqueue_finish(Q, &e); /* the jobs report their own failures; this one is an interrupt */
	Q = NULL;
	if (T.progress)
		fputs("\r\033[K", stderr);
}

/* ---- recursion -------------------------------------------------------------------------- */

static int
selected(const char *rel)
{
	int in = !T.ninc;

	for (int i = 0; i < T.ninc && !in; i++)
		in = !regexec(&T.inc[i], rel, 0, NULL, 0);
	for (int i = 0; i < T.nexc && in; i++)
		in = regexec(&T.exc[i], rel, 0, NULL, 0) != 0;
	return in;
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

/* Uploads the regular files under dir, following symbolic links as the AWS CLI does (a link
 * back to a directory being walked is skipped with a warning); a broken link fails the run (its
 * one line), other special files are skipped with a warning. */
static void
walk(const char *dir, const char *rel, const char *bucket, const char *prefix, int *count, const struct walked *up)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct err e = {0};

	if (!d) {
		err_set(&e, errno == ENOENT ? E_NOTFOUND : E_IO, "%s", strerror(errno));
		failed(&e, "open", dir);
		return;
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
	for (size_t i = 0; i < n; i++) {
		char *path = join(dir, names[i]), *r = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		struct stat st;
		const struct walked *w = up;
		check_interrupt();
		if (stat(path, &st)) {
			err_set(&e, errno == ENOENT ? E_NOTFOUND : E_IO, "%s",
				errno == ENOENT ? "a symbolic link to nothing" : strerror(errno));
			failed(&e, "", path);
		} else if (S_ISDIR(st.st_mode)) {
			while (w && !(w->dev == st.st_dev && w->ino == st.st_ino))
				w = w->up;
			if (w)
				warn("skipping %s: a link back to a directory already being copied", path);
			else
				walk(path, r, bucket, prefix, count, &(struct walked){st.st_dev, st.st_ino, up});
		} else if (!S_ISREG(st.st_mode)) {
			warn("skipping %s: not a regular file", path);
		} else if (selected(r) && __atomic_load_n(&T.runwide, __ATOMIC_SEQ_CST)) {
			__atomic_fetch_add(&T.runwide, 1, __ATOMIC_SEQ_CST); /* not copied, for the same reason */
		} else if (selected(r)) {
			char *key = xasprintf("%s%s", prefix, r);
			if (s3_valid_key(key, strlen(key), &e))
				failed(&e, "", path);
			else if (st.st_size <= T.x.part_size)
				submit(J_UP, path, bucket, key, NULL);
			else
				upload(&T.x, path, bucket, key);
			free(key);
			++*count;
		}
		free(path);
		free(r);
		free(names[i]);
	}
	free(names);
}

/* file_mkdirs, or one line naming the directory and exit (cannot fail for one object only). */
static void
mkdirs_or_die(const char *path)
{
	char *bad = file_mkdirs(path);

	if (bad)
		die("mkdir %s: %s", bad, strerror(errno));
}

/* Every object under s3://bucket/prefix to dst (a directory, or S3 when dbucket is set). */
static void
each_object(const char *bucket, const char *prefix, const char *dst, const char *dbucket, int *count)
{
	struct s3_list l = {.bucket = bucket, .prefix = prefix};
	struct s3_entry ent;
	struct err e = {0};
	int r = 0;

	while ((r = s3_list_next(&T.a, &l, &ent, &e)) == 1) {
		const char *rel = ent.key + strlen(prefix);
		check_interrupt();
		if (!*rel || rel[strlen(rel) - 1] == '/' || !selected(rel))
			continue; /* the prefix itself, or a "directory" marker */
		if (__atomic_load_n(&T.runwide, __ATOMIC_SEQ_CST)) {
			/* Listed on only to say how many were not copied. */
			__atomic_fetch_add(&T.runwide, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		char *key = xstrdup(ent.key);
		if (dbucket) {
			char *dkey = xasprintf("%s%s", dst, rel);
			if (ent.size <= T.copy_threshold)
				submit(J_COPY, bucket, key, dbucket, dkey);
			else
				copy(&T.x, bucket, key, dbucket, dkey);
			free(dkey);
		} else if (!s3_rel_path_safe(rel)) {
			err_set(&e, E_IO, "refusing a key that would leave the target directory");
			failed(&e, "", key);
		} else {
			char *path = join(dst, rel), *bad = file_mkdirs(path);
			if (bad) {
				err_set(&e, E_IO, "%s", strerror(errno));
				failed(&e, "mkdir", bad);
				free(bad);
			} else if (ent.size <= T.x.part_size) {
				submit(J_DOWN, bucket, key, path, NULL);
			} else {
				download(&T.x, bucket, key, path);
			}
			free(path);
		}
		free(key);
		++*count;
	}
	if (r < 0 && !__atomic_load_n(&T.runwide, __ATOMIC_SEQ_CST))
		failed(&e, "ListObjectsV2", bucket);
	s3_list_free(&l);
}

/* ---- options ---------------------------------------------------------------------------- */

static void
add_regex(regex_t *set, int *n, const char *re, const char *opt)
{
	char msg[200];
	int rc;

	if (*n >= 16)
		usage("%s: at most 16", opt);
	if ((rc = regcomp(&set[*n], re, REG_EXTENDED | REG_NOSUB))) {
		regerror(rc, &set[*n], msg, sizeof msg);
		usage("%s '%s': %s", opt, re, msg);
	}
	++*n;
}

static void
add_meta(const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (T.put.nmeta >= S3_META_MAX)
		usage("--metadata: at most %d", S3_META_MAX);
	if (!eq || eq == kv)
		usage("--metadata: expected KEY=VALUE, not '%s'", kv);
	for (const char *p = kv; p < eq; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.", *p)))
			usage("--metadata: invalid key '%.*s' (letters, digits, '-', '_', '.')", (int)(eq - kv), kv);
	for (const char *p = eq + 1; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			usage("--metadata: values must be printable ASCII");
	char *name = xasprintf("x-amz-meta-%.*s", (int)(eq - kv), kv);
	for (char *p = name; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	T.meta[T.put.nmeta++] = (struct kv){name, eq + 1};
}

static void
check_word(const char *opt, const char *v, const char *const *ok)
{
	for (; *ok; ok++)
		if (!strcmp(v, *ok))
			return;
	usage("%s: unknown value '%s'", opt, v);
}

/* The options into T; SRC and DST, and --flag's value. */
static void
parse_args(int argc, char **argv, struct opt *op, const char **src, const char **dst, const char **flag)
{
	static const struct optdef defs[] = {
		{"recursive", 'r', 0, O_REC}, {"include", 0, 1, O_INC}, {"exclude", 0, 1, O_EXC},
		{"part-size", 0, 1, O_PART}, {"concurrency", 0, 1, O_CONC}, {"expected-size", 0, 1, O_EXPECT},
		{"checksum", 0, 1, O_CK}, {"acl", 0, 1, O_ACL}, {"sse", 0, 1, O_SSE}, {"sse-kms-key-id", 0, 1, O_KMS},
		{"storage-class", 0, 1, O_CLASS}, {"content-type", 0, 1, O_CTYPE}, {"cache-control", 0, 1, O_CACHE},
		{"metadata", 0, 1, O_META}, {"no-overwrite", 0, 0, O_NOOVER}, {"move", 0, 0, O_MOVE},
		{"flag", 0, 1, O_FLAG}, {"progress", 0, 0, O_PROG}, {"no-progress", 0, 0, O_NOPROG}, {NULL, 0, 0, 0},
	};
	static const char *const acls[] = {"private", "public-read", "public-read-write", "authenticated-read",
					   "aws-exec-read", "bucket-owner-read", "bucket-owner-full-control",
					   "log-delivery-write", NULL};
	static const char *const sses[] = {"AES256", "aws:kms", "aws:kms:dsse", NULL};
	struct opt o;
	const char *pos[2] = {0}, *v;
	int npos = 0, c, prog = -1;

	T.x.part_size = 8 << 20;
	T.x.concurrency = 8;
	T.ck = S3_CK_CRC32C;
	T.copy_threshold = (int64_t)5 << 30;
	pthread_mutex_init(&T.batch.m, NULL);
	T.batch.done = committed;
	opt_init(&o, argc, argv, defs, s3cp_help);
	while ((c = opt_next(&o)) != OPT_END) {
		switch (c) {
		case O_REC: T.recursive = 1; break;
		case O_INC: add_regex(T.inc, &T.ninc, o.arg, o.name); break;
		case O_EXC: add_regex(T.exc, &T.nexc, o.arg, o.name); break;
		case O_PART:
			T.x.part_size = (int64_t)opt_size(&o);
			if (T.x.part_size < 5 << 20 || T.x.part_size > (int64_t)5 << 30)
				usage("--part-size: from 5M to 5G");
			break;
		case O_CONC: T.x.concurrency = (int)opt_long(&o, 1, 64); break;
		case O_EXPECT: T.expected = (int64_t)opt_size(&o); break;
		case O_CK:
			T.ck = s3_ck_parse(o.arg);
			if (T.ck != S3_CK_CRC32C && T.ck != S3_CK_CRC32 && T.ck != S3_CK_SHA256 && T.ck != S3_CK_NONE)
				usage("--checksum: crc32c, crc32, sha256 or none, not '%s'", o.arg);
			T.ck_explicit = 1;
			break;
		case O_ACL: check_word(o.name, o.arg, acls); T.put.acl = o.arg; break;
		case O_SSE: check_word(o.name, o.arg, sses); T.put.sse = o.arg; break;
		case O_KMS: T.put.kms_key = o.arg; break;
		case O_CLASS: T.put.storage_class = o.arg; break;
		case O_CTYPE: T.put.content_type = o.arg; break;
		case O_CACHE: T.put.cache_control = o.arg; break;
		case O_META: add_meta(o.arg); break;
		case O_NOOVER: T.no_overwrite = 1; break;
		case O_MOVE: T.move = 1; break;
		case O_FLAG: *flag = o.arg; break;
		case O_PROG: prog = 1; break;
		case O_NOPROG: prog = 0; break;
		default:
			if (npos == 2)
				usage("too many arguments");
			pos[npos++] = o.arg;
		}
	}
	if (npos != 2)
		usage("expected SRC and DST");
	if (T.put.kms_key && !T.put.sse)
		T.put.sse = "aws:kms";
	T.put.meta = T.meta;
	T.put.no_overwrite = T.no_overwrite;
	T.put.ck = T.ck;
	if ((v = getenv("AWSBOX_S3_COPY_THRESHOLD")) && *v) /* tests: multipart copies without 5 GiB */
		T.copy_threshold = atoll(v);
	T.progress = !g_quiet && (prog == 1 || (prog < 0 && isatty(2)));

	*src = pos[0];
	*dst = pos[1];
	*op = o;
}

/* SRC, DST and --flag as URLs, checked together (usage errors). */
static void
check_args(const char *src, const char *dst, const char *flag, struct s3url *su, struct s3url *du, struct s3url *fu)
{
	struct err e = {0};
	int s3src = s3_is_url(src), s3dst = s3_is_url(dst);

	if (!s3src && !s3dst)
		usage("SRC or DST must be an s3:// URL");
	if (s3src && s3_parse_url(src, su, &e))
		usage("%s", e.msg);
	if (s3dst && s3_parse_url(dst, du, &e))
		usage("%s", e.msg);
	if (T.recursive && (!strcmp(src, "-") || !strcmp(dst, "-")))
		usage("-r copies trees: '-' is not one");
	if ((T.ninc || T.nexc) && !T.recursive)
		usage("--include and --exclude go with -r");
	if (!strcmp(src, "-") && (!*du->key || du->key[strlen(du->key) - 1] == '/'))
		usage("from stdin, DST must name the object's key");
	if (!strcmp(src, "-") && T.move)
		usage("--move: standard input is not a file to remove");
	if (flag) {
		/* s3://BUCKET/KEY, or a key in DST's bucket */
		char *furl = s3_is_url(flag) ? xstrdup(flag) : s3dst ? xasprintf("s3://%s/%s", du->bucket, flag) : NULL;
		if (!furl)
			usage("--flag: give s3://BUCKET/KEY when DST is not in S3");
		if (s3_parse_url(furl, fu, &e))
			usage("--flag: %s", e.msg);
		if (!*fu->key)
			usage("--flag: no key");
		free(furl);
		/* One object: the source stays until the flag is written, so a failed flag leaves
		 * the job to run again. (-r moves each object as it is done.) */
		T.move_later = T.move && !T.recursive;
	}
	if (!T.recursive && s3src && (!*su->key || su->key[strlen(su->key) - 1] == '/'))
		usage("%s is a prefix, not an object: use -r", src);

}

/* Region and credentials settled before threads share them (failing early without them), the
 * checksum settings, the transfers' settings and the signal handlers. */
static void
setup(struct opt *o)
{
	struct err e = {0};
	struct creds cr = {0};

	xaws_init(&T.a, &o->common);
	if (!aws_region(&T.a, &e))
		die_code(err_exit_code(&e), "%s", e.msg);
	if (aws_creds(&T.a, &cr, &e))
		die_err(&e, "credentials");
	creds_free(&cr);
	/* --checksum is asked for, as a botocore caller's ChecksumAlgorithm and ChecksumMode are:
	 * it overrides request_checksum_calculation and response_checksum_validation. */
	if (T.ck_explicit)
		T.a.checksum_when_required = T.a.validation_when_required = 0;
	if (T.a.checksum_when_required)
		T.put.ck = T.ck = S3_CK_NONE;
	T.x.a = &T.a;
	T.x.cancel = &interrupted;
	if (T.progress)
		T.x.progress = progress;
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* One object or file: an upload, a download or a server-side copy. */
static void
copy_one(const char *src, const char *dst, const struct s3url *su, const struct s3url *du)
{
	struct err e = {0};

	if (!s3_is_url(src)) {
		char *key = *du->key && du->key[strlen(du->key) - 1] != '/' ? xstrdup(du->key)
									 : xasprintf("%s%s", du->key, base_name(src));
		if (s3_valid_key(key, strlen(key), &e))
			usage("%s", e.msg);
		upload(&T.x, src, du->bucket, key);
		free(key);
	} else if (!s3_is_url(dst)) {
		size_t n = strlen(dst);
		char *path = strcmp(dst, "-") && (dst[n - 1] == '/' || is_dir(dst)) ? join(dst, base_name(su->key))
										       : xstrdup(dst);
		if (strcmp(path, "-"))
			mkdirs_or_die(path);
		download(&T.x, su->bucket, su->key, path);
		free(path);
	} else {
		char *key = *du->key && du->key[strlen(du->key) - 1] != '/' ? xstrdup(du->key)
									 : xasprintf("%s%s", du->key, base_name(su->key));
		copy(&T.x, su->bucket, su->key, du->bucket, key);
		free(key);
	}
}

/* -r: SRC's contents under DST, small objects on the queue, then waits for them. */
static void
copy_tree(const char *src, const char *dst, const struct s3url *su, const struct s3url *du)
{
	struct err e = {0};
	int s3src = s3_is_url(src), s3dst = s3_is_url(dst), count = 0;

	/* SRC's contents go under DST: prefixes end with '/' (or are empty). */
	char *sp = s3src && *su->key && su->key[strlen(su->key) - 1] != '/' ? xasprintf("%s/", su->key)
									  : xstrdup(s3src ? su->key : "");
	char *dp = s3dst && *du->key && du->key[strlen(du->key) - 1] != '/' ? xasprintf("%s/", du->key)
									  : xstrdup(s3dst ? du->key : "");
	if (!s3src) {
		struct stat st;
		if (stat(src, &st)) {
			err_set(&e, errno == ENOENT ? E_NOTFOUND : E_IO, "%s", strerror(errno));
			die_err(&e, "%s", src);
		}
		if (!S_ISDIR(st.st_mode))
			usage("%s is not a directory: leave out -r to copy one file", src);
		walk(src, "", du->bucket, dp, &count, &(struct walked){st.st_dev, st.st_ino, NULL});
	} else if (!s3dst) {
		char *d = xasprintf("%s/", dst);
		mkdirs_or_die(d);
		free(d);
		each_object(su->bucket, sp, dst, NULL, &count);
	} else {
		/* Copying a prefix into itself would list its own copies: refuse. */
		if (!strcmp(su->bucket, du->bucket) && !strncmp(dp, sp, strlen(sp)))
			usage("DST %s is inside SRC %s", dst, src);
		each_object(su->bucket, sp, dp, du->bucket, &count);
	}
	drain();
	if (!interrupted)
		file_batch_flush(&T.batch);
	/* A '*' matched nothing: it is part of the prefix, not a pattern. */
	if (!count && s3src && strpbrk(sp, "*?[") && !T.failed)
		die_code(EX_NOTFOUND, "nothing under %s: wildcards are not expanded; use s3cp -r --include REGEX "
			 "s3://%s/%.*s", src, su->bucket, (int)strcspn(sp, "*?["), sp);
	free(sp);
	free(dp);
}

int
s3cp_main(int argc, char **argv)
{
	struct opt o;
	struct s3url su = {0}, du = {0}, fu = {0};
	struct err e = {0};
	const char *src, *dst, *flag = NULL;

	parse_args(argc, argv, &o, &src, &dst, &flag);
	check_args(src, dst, flag, &su, &du, &fu);
	int s3src = s3_is_url(src);
	setup(&o);
	if (!T.recursive)
		copy_one(src, dst, &su, &du);
	else
		copy_tree(src, dst, &su, &du);
	check_interrupt();
	if (T.runwide > 1)
		fprintf(stderr, "%s: %d more objects not copied for the same reason\n", applet_name, T.runwide - 1);
	if (T.failed)
		return T.failed;
	if (flag) {
		struct s3_put fp = {.acl = T.put.acl, .sse = T.put.sse, .kms_key = T.put.kms_key, .ck = T.ck};
		if (s3_put_body(&T.a, fu.bucket, fu.key, &fp, NULL, 0, "", NULL, 0, NULL, &e))
			die_err(&e, "PutObject s3://%s/%s", fu.bucket, fu.key);
	}
	if (T.move_later && s3src && s3_delete(&T.a, su.bucket, su.key, &e))
		die_err(&e, "DeleteObject %s", src);
	if (T.move_later && !s3src && strcmp(src, "-") && unlink(src))
		die("remove %s: %s", src, strerror(errno));
	s3url_free(&su);
	s3url_free(&du);
	s3url_free(&fu);
	return 0;
}
