/* s3cp.c — copy to, from and between S3 locations: files, directory trees, stdin and stdout,
 * multipart and parallel, checksums verified. https://docs.aws.amazon.com/AmazonS3/latest/API/ */
#include "core.h"

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
	struct s3_tree tree; /* -r; tree.halted counts the failures not about one object */
	int recursive, no_overwrite, move, progress, ck, ck_explicit, failed;
	int move_later; /* one object with --flag: its source goes once the flag is written */
	int64_t expected;
	struct progress bar;
	struct file_batch batch; /* -r downloads: files whose renames wait for one sync of the group */
} T;

static void drain(void);

static volatile int interrupted;
static __thread int in_worker; /* a file-level worker (-r): the main thread handles interrupts */

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
	int sig = __atomic_load_n(&interrupted, __ATOMIC_RELAXED);

	if (!sig)
		return;
	if (in_worker)
		s3_tree_park(&T.tree); /* signals are blocked here: until the main thread ends the process */
	drain(); /* the workers remove their temporary files and abort their uploads first */
	file_batch_abort(&T.batch);
	if (T.progress)
		progress_erase();
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

/* ---- progress --------------------------------------------------------------------------- */

static void
bar_start(const char *what)
{
	if (!in_worker) /* -r's file-level workers have no bar; what names their object is freed with it */
		progress_start(&T.bar, what);
}

static void
bar_end(void)
{
	if (T.progress && !in_worker)
		progress_erase();
}

/* ---- helpers ---------------------------------------------------------------------------- */


/* Reports a failure: fatal for a single copy; with -r, noted and the others go on, except after
 * a run-wide one: that is said once, and no more objects are started. */
static int
failed(const struct err *e, const char *op, const char *what)
{
	char line[1200], w[800];
	int zero = 0;

	check_interrupt();
	bar_end();
	snprintf(w, sizeof w, "%s%s%s", op ? op : "", op && *op ? " " : "", what);
	if (!T.recursive)
		die_err(e, "%s", w);
	__atomic_compare_exchange_n(&T.failed, &zero, err_exit_code(e), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	if (s3_err_runwide(e) && __atomic_fetch_add(&T.tree.halted, 1, __ATOMIC_SEQ_CST))
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
	struct err e = {0};
	int r = s3_exists(&T.a, bucket, key, guarded, &e);

	if (r > 0)
		err_set(&e, E_IO, "the object exists (--no-overwrite)");
	if (r)
		failed(&e, r > 0 ? "" : "HeadObject", url);
	return r != 0;
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
	bar_start(strcmp(path, "-") ? file_base(path) : key);
	if (S_ISREG(st.st_mode))
		rc = xfer_upload_file(x, fd, st.st_size, bucket, key, &p, &e);
	else
		rc = xfer_upload_stream(x, fd, bucket, key, &p, T.expected, &e);
	check_interrupt();
	bar_end();
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

/* it: the listing's entry (-r), NULL for one object. */
static int
download(struct xfer *x, const char *bucket, const char *key, const char *dst, const struct s3_item *it)
{
	struct err e = {0};
	struct s3obj o = {0};
	struct outfile f = {0};
	char *url = xasprintf("s3://%s/%s", bucket, key);
	int rc = -1, out = !strcmp(dst, "-");
	struct stat st;

	/* A listed single-part object: no HeadObject, its GET's answer says the rest (one object
	 * keeps its HEAD: its failure is explained, its size known before a byte is asked for). */
	if (it && it->etag && !strchr(it->etag, '-')) {
		o.listed = 1;
		o.size = it->size;
	} else if (head(bucket, key, &o, url)) {
		goto done;
	}
	if (!out && T.no_overwrite && !lstat(dst, &st)) {
		err_set(&e, E_IO, "exists (--no-overwrite)");
		failed(&e, "", dst);
		goto done;
	}
	if (!out && file_open(&f, dst, 0666, &e)) {
		failed(&e, "", dst);
		goto done;
	}
	bar_start(file_base(key));
	int ck = T.ck_explicit ? T.ck : T.a.validation_when_required ? S3_CK_NONE : S3_CK_CRC32C;
	rc = xfer_download(x, bucket, key, &o, ck, out ? 1 : f.fd, !out && f.tmp != NULL, &e);
	if (x->unverified[0])
		warn("%s: not verified: %s", url, x->unverified);
	if (rc)
		file_abort(&f);
	check_interrupt();
	bar_end();
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
		p.ck = o.size > T.tree.copy_threshold && !T.a.checksum_when_required ? S3_CK_CRC32C : S3_CK_NONE;
	bar_start(file_base(skey));
	rc = xfer_copy(x, sbucket, skey, &o, bucket, key, &p,
		       T.put.content_type || T.put.cache_control || T.put.nmeta, T.tree.copy_threshold, &e);
	check_interrupt();
	bar_end();
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

/* ---- many objects at once (-r) --------------------------------------------------------- */

/* Objects that take one request run on the core worker pool (s3_tree); larger ones on this
 * thread meanwhile, with their own parts in parallel. */
static void
tree_copy(void *ctx, struct xfer *x, const struct s3_item *it, int worker)
{
	if (worker)
		in_worker = 1; /* a pool thread: the main thread handles interrupts and the progress line */
	if (it->kind == S3_TREE_UP)
		upload(x, it->path, it->bucket, it->key);
	else if (it->kind == S3_TREE_DOWN)
		download(x, it->sbucket, it->skey, it->path, it);
	else
		copy(x, it->sbucket, it->skey, it->bucket, it->key);
}

static void
tree_report(void *ctx, const struct err *e, const char *op, const char *what)
{
	if (e)
		failed(e, op, what);
	else
		warn("skipping %s: %s", what, op);
}

/* Waits for the queued objects; after an interrupt, 3 s at most for those in flight to clean up. */
static void
drain(void)
{
	if (s3_tree_wait(&T.tree) && T.progress)
		progress_erase();
}

/* file_mkdirs, or one line naming the directory and exit (cannot fail for one object only). */
static void
mkdirs_or_die(const char *path)
{
	char *bad = file_mkdirs(path);

	if (bad)
		die("mkdir %s: %s", bad, strerror(errno));
}

/* ---- options ---------------------------------------------------------------------------- */

static void
add_regex(regex_t *set, int *n, const struct opt *o)
{
	if (*n >= 16)
		usage("%s: at most 16", o->name);
	opt_regex(o, &set[(*n)++]);
}

static void
add_meta(const char *kv)
{
	struct err e = {0};

	if (T.put.nmeta >= S3_META_MAX)
		usage("--metadata: at most %d", S3_META_MAX);
	if (s3_meta_parse(kv, &T.meta[T.put.nmeta++], &e))
		usage("--metadata: %s", e.msg);
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
	T.tree.copy_threshold = (int64_t)5 << 30;
	pthread_mutex_init(&T.batch.m, NULL);
	T.batch.done = committed;
	opt_init(&o, argc, argv, defs, s3cp_help);
	while ((c = opt_next(&o)) != OPT_END) {
		switch (c) {
		case O_REC: T.recursive = 1; break;
		case O_INC: add_regex(T.tree.inc, &T.tree.ninc, &o); break;
		case O_EXC: add_regex(T.tree.exc, &T.tree.nexc, &o); break;
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
		case O_ACL: T.put.acl = opt_word(&o, acls); break;
		case O_SSE: T.put.sse = opt_word(&o, sses); break;
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
		T.tree.copy_threshold = atoll(v);
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
	if ((T.tree.ninc || T.tree.nexc) && !T.recursive)
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
		T.x.progress = progress_draw, T.x.progress_ctx = &T.bar, T.tree.progress = progress_count;
	T.tree.x = &T.x;
	T.tree.copy = tree_copy, T.tree.report = tree_report;
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
		char *key = s3_key_for(du->key, file_base(src));
		if (s3_valid_key(key, strlen(key), &e))
			usage("%s", e.msg);
		upload(&T.x, src, du->bucket, key);
		free(key);
	} else if (!s3_is_url(dst)) {
		size_t n = strlen(dst);
		char *path = strcmp(dst, "-") && (dst[n - 1] == '/' || file_is_dir(dst)) ? file_join(dst, file_base(su->key))
										       : xstrdup(dst);
		if (strcmp(path, "-"))
			mkdirs_or_die(path);
		download(&T.x, su->bucket, su->key, path, NULL);
		free(path);
	} else {
		char *key = s3_key_for(du->key, file_base(su->key));
		copy(&T.x, su->bucket, su->key, du->bucket, key);
		free(key);
	}
}

/* -r: SRC's contents under DST, small objects on the queue, then waits for them. */
static void
copy_tree(const char *src, const char *dst, const struct s3url *su, const struct s3url *du)
{
	struct err e = {0};
	int s3src = s3_is_url(src), s3dst = s3_is_url(dst), rc;
	/* SRC's contents go under DST: prefixes end with '/' (or are empty). */
	char *sp = s3_prefix(s3src ? su->key : ""), *dp = s3_prefix(s3dst ? du->key : "");

	if (!s3src) {
		struct stat st;
		if (stat(src, &st)) {
			err_set(&e, errno == ENOENT ? E_NOTFOUND : E_IO, "%s", strerror(errno));
			die_err(&e, "%s", src);
		}
		if (!S_ISDIR(st.st_mode))
			usage("%s is not a directory: leave out -r to copy one file", src);
		rc = s3_tree_dir(&T.tree, src, du->bucket, dp, &e);
	} else if (!s3dst) {
		char *d = xasprintf("%s/", dst);
		mkdirs_or_die(d);
		free(d);
		rc = s3_tree_list(&T.tree, su->bucket, sp, dst, NULL, &e);
	} else {
		/* Copying a prefix into itself would list its own copies: refuse. */
		if (!strcmp(su->bucket, du->bucket) && !strncmp(dp, sp, strlen(sp)))
			usage("DST %s is inside SRC %s", dst, src);
		rc = s3_tree_list(&T.tree, su->bucket, sp, dp, du->bucket, &e);
	}
	check_interrupt(); /* the walk stops at an interrupt */
	if (rc)
		die_err(&e, "-r");
	drain();
	if (!interrupted)
		file_batch_flush(&T.batch);
	/* A '*' matched nothing: it is part of the prefix, not a pattern. */
	if (!T.tree.count && s3src && strpbrk(sp, "*?[") && !T.failed)
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
	if (T.tree.halted > 1)
		fprintf(stderr, "%s: %d more objects not copied for the same reason\n", applet_name, T.tree.halted - 1);
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
