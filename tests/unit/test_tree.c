/* test_tree.c — recursive copies (tree.c): a directory walked in order with links followed, a
 * loop and special files left out and a broken link reported, --include/--exclude, a run-wide
 * failure and an interrupt stopping it; a listing's objects queued on the pool (one worker, so
 * in order), markers and a key leaving the target directory left out; destination keys. */
#include "unit.h"

#include <sys/stat.h>
#include <unistd.h>

struct seen {
	pthread_mutex_t m;
	struct buf b;
	int workers;
};

static void
copy(void *ctx, struct xfer *x, const struct s3_item *it, int worker)
{
	struct seen *s = ctx;

	pthread_mutex_lock(&s->m);
	s->workers += worker;
	buf_printf(&s->b, "%d %s %s %s %s %s\n", it->kind, it->path ? it->path + strlen(utest_tmpdir()) : "-",
		   it->sbucket ? it->sbucket : "-", it->skey ? it->skey : "-", it->bucket ? it->bucket : "-",
		   it->key ? it->key : "-");
	pthread_mutex_unlock(&s->m);
}

static void
report(void *ctx, const struct err *e, const char *op, const char *what)
{
	struct seen *s = ctx;

	pthread_mutex_lock(&s->m);
	buf_printf(&s->b, "%s %s: %s\n", e ? "failed" : "skipped", what + (*what == '/' ? strlen(utest_tmpdir()) : 0),
		   e ? e->msg : op);
	pthread_mutex_unlock(&s->m);
}

static void
file(const char *rel, const char *data)
{
	char *p = xasprintf("%s/%s", utest_tmpdir(), rel);

	utest_write(p, data);
	free(p);
}

/* src/ with a.txt, b/c.csv, b/up -> .. (a loop), b/z.csv, d -> b (followed), fifo, gone -> nothing */
static char *
tree(void)
{
	char *src = xasprintf("%s/src", utest_tmpdir()), *p;

	mkdir(src, 0700);
	p = xasprintf("%s/b", src), mkdir(p, 0700), free(p);
	file("src/a.txt", "aaaa");
	file("src/b/c.csv", "cc");
	file("src/b/z.csv", "zz");
	p = xasprintf("%s/b/up", src), symlink("..", p), free(p);
	p = xasprintf("%s/d", src), symlink("b", p), free(p);
	p = xasprintf("%s/fifo", src), mkfifo(p, 0600), free(p);
	p = xasprintf("%s/gone", src), symlink("nothing", p), free(p);
	return src;
}

TEST(tree_dir_walk)
{
	struct seen s = {.m = PTHREAD_MUTEX_INITIALIZER};
	volatile int cancel = 0;
	struct xfer x = {.part_size = 0, .cancel = &cancel}; /* every file larger: copied here, in order */
	struct s3_tree t = {.x = &x, .ctx = &s, .copy = copy, .report = report};
	struct err e = {0};
	char *src = tree();

	CHECK_INT(s3_tree_dir(&t, src, "bkt", "p/", &e), 0);
	CHECK_STR(s.b.p, "0 /src/a.txt - - bkt p/a.txt\n"
			 "0 /src/b/c.csv - - bkt p/b/c.csv\n"
			 "skipped /src/b/up: a link back to a directory already being copied\n"
			 "0 /src/b/z.csv - - bkt p/b/z.csv\n"
			 "0 /src/d/c.csv - - bkt p/d/c.csv\n"
			 "skipped /src/d/up: a link back to a directory already being copied\n"
			 "0 /src/d/z.csv - - bkt p/d/z.csv\n"
			 "skipped /src/fifo: not a regular file\n"
			 "failed /src/gone: a symbolic link to nothing\n");
	CHECK_INT(t.count, 5);
	CHECK_INT(s.workers, 0);
	free(src);
}

TEST(tree_dir_filters_and_stops)
{
	struct seen s = {.m = PTHREAD_MUTEX_INITIALIZER};
	volatile int cancel = 0;
	struct xfer x = {.part_size = 0, .cancel = &cancel};
	struct s3_tree t = {.x = &x, .ctx = &s, .copy = copy, .report = report};
	struct err e = {0};
	char *src = tree();

	CHECK_INT(regcomp(&t.inc[t.ninc++], "\\.csv$", REG_EXTENDED | REG_NOSUB), 0);
	CHECK_INT(regcomp(&t.exc[t.nexc++], "^d/", REG_EXTENDED | REG_NOSUB), 0);
	char *gone = xasprintf("%s/gone", src), *fifo = xasprintf("%s/fifo", src);
	unlink(gone), unlink(fifo);
	CHECK_INT(s3_tree_dir(&t, src, "bkt", "", &e), 0);
	CHECK_STR(s.b.p, "0 /src/b/c.csv - - bkt b/c.csv\n"
			 "skipped /src/b/up: a link back to a directory already being copied\n"
			 "0 /src/b/z.csv - - bkt b/z.csv\n"
			 "skipped /src/d/up: a link back to a directory already being copied\n");
	CHECK_INT(t.count, 2);
	/* After a failure every object would meet: counted, not copied. */
	buf_reset(&s.b);
	t.halted = 1, t.count = 0;
	CHECK_INT(s3_tree_dir(&t, src, "bkt", "", &e), 0);
	CHECK_INT(t.halted, 3);
	CHECK_INT(t.count, 0);
	/* An interrupt: nothing more. */
	buf_reset(&s.b);
	t.halted = 0, cancel = 2;
	CHECK_INT(s3_tree_dir(&t, src, "bkt", "", &e), 0);
	CHECK_INT(t.count, 0);
	CHECK_INT(s.b.len, 0);
	free(gone), free(fifo), free(src);
}

TEST(tree_list_queues_on_the_pool)
{
	static const struct canned c[] = {
		{"HTTP/1.1 200 OK\r\n",
		 "<ListBucketResult><IsTruncated>false</IsTruncated>"
		 "<Contents><Key>in/</Key><Size>0</Size></Contents>"
		 "<Contents><Key>in/a.csv</Key><Size>3</Size></Contents>"
		 "<Contents><Key>in/dir/</Key><Size>0</Size></Contents>"
		 "<Contents><Key>in/dir/b.txt</Key><Size>10</Size></Contents>"
		 "<Contents><Key>in/big</Key><Size>100</Size></Contents>"
		 "</ListBucketResult>"},
		{"HTTP/1.1 200 OK\r\n",
		 "<ListBucketResult><IsTruncated>false</IsTruncated>"
		 "<Contents><Key>in/../x</Key><Size>3</Size></Contents>"
		 "<Contents><Key>in/ok</Key><Size>3</Size></Contents>"
		 "</ListBucketResult>"},
	};
	struct server srv;
	struct aws a;
	struct seen s = {.m = PTHREAD_MUTEX_INITIALIZER};
	volatile int cancel = 0;
	struct err e = {0};

	server_start(&srv, c, COUNT(c));
	server_aws(&a, srv.port);
	struct xfer x = {.a = &a, .concurrency = 1, .part_size = 50, .cancel = &cancel};
	struct s3_tree t = {.x = &x, .copy_threshold = 50, .ctx = &s, .copy = copy, .report = report};
	/* to S3: small ones on the pool's one worker, in order; "big" here, meanwhile */
	CHECK_INT(s3_tree_list(&t, "src", "in/", "out/", "dst", &e), 0);
	CHECK_INT(s3_tree_wait(&t), 1);
	CHECK_INT(t.count, 3);
	CHECK_INT(s.workers, 2);
	CHECK(strstr(s.b.p, "2 - src in/a.csv dst out/a.csv\n") < strstr(s.b.p, "2 - src in/dir/b.txt dst out/dir/b.txt\n"));
	CHECK(strstr(s.b.p, "2 - src in/big dst out/big\n") != NULL);
	CHECK_INT(s3_tree_wait(&t), 0);
	/* to a directory: a key that would leave it is refused */
	buf_reset(&s.b);
	char *dst = xasprintf("%s/dst", utest_tmpdir());
	CHECK_INT(s3_tree_list(&t, "src", "in/", dst, NULL, &e), 0);
	s3_tree_wait(&t);
	CHECK_STR(s.b.p, "failed in/../x: refusing a key that would leave the target directory\n"
			 "1 /dst/ok src in/ok - -\n");
	char *seen = server_stop(&srv);
	CHECK_INT(strcount(seen, "GET /src/?encoding-type=url&list-type=2&prefix=in%2F HTTP/1.1\r\n"), 2);
	free(seen);
	free(dst);
	aws_free(&a);
}

TEST(tree_destination_keys)
{
	char *k;

	CHECK_STR(k = s3_key_for("dir/obj", "f.txt"), "dir/obj");
	free(k);
	CHECK_STR(k = s3_key_for("dir/", "f.txt"), "dir/f.txt");
	free(k);
	CHECK_STR(k = s3_key_for("", "f.txt"), "f.txt");
	free(k);
	CHECK_STR(k = s3_prefix("p"), "p/");
	free(k);
	CHECK_STR(k = s3_prefix("p/"), "p/");
	free(k);
	CHECK_STR(k = s3_prefix(""), "");
	free(k);
	struct err e = {.kind = E_AWS, .code = "NoSuchBucket"};
	CHECK(s3_err_runwide(&e));
	snprintf(e.code, sizeof e.code, "NoSuchKey");
	CHECK(!s3_err_runwide(&e));
}
