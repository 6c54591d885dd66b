/* test_ramp.c — how many ranges a download fetches at a time (pool.c's ramp), against a paced
 * range server in a forked child: one whose connections are each held to a rate (S3's case:
 * parallel ranges multiply the rate), one whose connections share one rate (a near server that
 * is the bottleneck: more ranges only cost CPU), and a far one (a late first answer). */
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PIECE (256 * 1024)
#define CHUNK 16384

enum { PER_CONN, SHARED, FAR };

/* Shared with the forked server (MAP_SHARED). */
struct stats {
	pthread_mutex_t m;      /* process-shared */
	int mode;
	double rate;            /* bytes/s: each connection's, or all of them together */
	double next;            /* SHARED: when the next chunk may go */
	int active, most, conns;
	int reqs;               /* requests begun */
};

static struct stats *S;
static int64_t g_size;

static unsigned char
byte_at(int64_t i)
{
	return (unsigned char)(i * 7 + (i >> 9));
}

static void
sleep_until(double t)
{
	double d = t - mono_now();
	if (d > 0) {
		struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
		nanosleep(&ts, NULL);
	}
}

/* Sends bytes a..b paced: the connection's own rate, or its turn at the shared one. */
static int
send_range(int fd, int64_t a, int64_t b)
{
	unsigned char buf[CHUNK];
	double t0 = mono_now();
	int64_t sent = 0;

	while (a <= b) {
		size_t n = b - a + 1 < CHUNK ? (size_t)(b - a + 1) : CHUNK;
		for (size_t i = 0; i < n; i++)
			buf[i] = byte_at(a + (int64_t)i);
		if (S->mode == SHARED) {
			pthread_mutex_lock(&S->m);
			double at = S->next > mono_now() ? S->next : mono_now();
			S->next = at + (double)n / S->rate;
			pthread_mutex_unlock(&S->m);
			sleep_until(at);
		} else {
			sleep_until(t0 + (double)sent / S->rate);
		}
		if (write(fd, buf, n) != (ssize_t)n)
			return -1;
		a += (int64_t)n, sent += (int64_t)n;
	}
	return 0;
}

static void *
conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char head[4096];

	for (;;) {
		/* A request at a time on a connection (no body): what is read is one head. Read in
		 * bulk, so that the gap between ranges stays small against a range's time. */
		size_t k = 0;
		ssize_t got;
		head[0] = 0;
		while (k < sizeof head - 1 && (got = read(fd, head + k, sizeof head - 1 - k)) > 0) {
			k += (size_t)got;
			head[k] = 0;
			if (strstr(head, "\r\n\r\n"))
				break;
		}
		if (!strstr(head, "\r\n\r\n"))
			break;
		const char *r = strcasestr(head, "\r\nrange: bytes=");
		int64_t a = r ? strtoll(r + 15, NULL, 10) : 0, b = r ? strtoll(strchr(r, '-') + 1, NULL, 10) : g_size - 1;
		pthread_mutex_lock(&S->m);
		S->reqs++;
		if (++S->active > S->most)
			S->most = S->active;
		pthread_mutex_unlock(&S->m);
		if (S->mode == FAR)
			sleep_until(mono_now() + 0.03);
		char resp[256];
		int m = snprintf(resp, sizeof resp, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %lld-%lld/%lld\r\n"
				 "Content-Length: %lld\r\n\r\n", (long long)a, (long long)b, (long long)g_size,
				 (long long)(b - a + 1));
		int bad = write(fd, resp, (size_t)m) != m || send_range(fd, a, b);
		pthread_mutex_lock(&S->m);
		S->active--;
		pthread_mutex_unlock(&S->m);
		if (bad)
			break;
	}
	close(fd);
	return NULL;
}

static pid_t
serve(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	if (lfd < 0 || bind(lfd, (void *)&a, al) || listen(lfd, 16) || getsockname(lfd, (void *)&a, &al))
		utest_fail(__FILE__, __LINE__, "server: %s", strerror(errno));
	*port = ntohs(a.sin_port);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(30);
		for (;;) {
			pthread_t t;
			int fd = accept(lfd, NULL, NULL);
			if (fd < 0)
				_exit(1);
			pthread_mutex_lock(&S->m);
			S->conns++;
			pthread_mutex_unlock(&S->m);
			pthread_create(&t, NULL, conn_main, (void *)(intptr_t)fd);
			pthread_detach(t);
		}
	}
	close(lfd);
	return pid;
}

/* Stream output's reader: starts only after a pause (what the download fetched meanwhile is
 * what it holds ahead of its writer), then checks every byte. */
struct reader {
	int fd, ok, ahead;
	double pause;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	unsigned char buf[65536];
	int64_t at = 0;
	ssize_t k;

	sleep_until(mono_now() + r->pause);
	pthread_mutex_lock(&S->m);
	r->ahead = S->reqs;
	pthread_mutex_unlock(&S->m);
	r->ok = 1;
	while ((k = read(r->fd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < k; i++)
			r->ok &= buf[i] == byte_at(at++);
	r->ok &= at == g_size;
	return NULL;
}

/* Downloads npieces of PIECE bytes from a server in mode at rate, to a file or (pause >= 0) to a
 * pipe read after pause seconds; S holds what the server saw; returns the requests begun by then. */
static int
ramp_run(int mode, double rate, int npieces, double pause)
{
	pthread_mutexattr_t ma;
	struct aws a;
	struct err e = {0};
	char path[512];
	int port, ok = 1, pfd[2];
	struct reader rd = {.pause = pause};
	pthread_t rt;

	S = mmap(NULL, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(S, 0, sizeof *S);
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&S->m, &ma);
	S->mode = mode;
	S->rate = rate;
	g_size = (int64_t)npieces * PIECE;
	pid_t pid = serve(&port);
	server_aws(&a, port);
	snprintf(path, sizeof path, "%s/out", utest_tmpdir());
	int fd = pause < 0 ? open(path, O_RDWR | O_CREAT | O_TRUNC, 0600) : pipe(pfd) ? -1 : pfd[1];
	if (pause >= 0) {
		rd.fd = pfd[0];
		pthread_create(&rt, NULL, reader_main, &rd);
	}
	struct s3obj o = {.status = 200, .size = g_size};
	struct xfer x = {.a = &a, .concurrency = 8, .part_size = PIECE};
	if (xfer_download(&x, "bkt", "k", &o, S3_CK_NONE, fd, pause < 0, &e))
		utest_fail(__FILE__, __LINE__, "download: %s", e.msg);
	if (pause >= 0) {
		close(fd);
		pthread_join(rt, NULL);
		close(pfd[0]);
		ok = rd.ok;
	} else {
		unsigned char *got = xmalloc((size_t)g_size);
		if (pread(fd, got, (size_t)g_size, 0) != g_size)
			ok = 0;
		for (int64_t i = 0; ok && i < g_size; i++)
			ok = got[i] == byte_at(i);
		free(got);
		close(fd);
	}
	if (!ok)
		utest_fail(__FILE__, __LINE__, "the output is not the object's data");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	aws_free(&a);
	return rd.ahead;
}

/* The ramp decides on rates over windows of 50-250 ms: on a busy machine one such window can
 * be off by the 30% it judges by (a client or server thread not scheduled), so each of these
 * has a second try, and fails only if both go the wrong way. */
TEST(ramp_grows_where_each_connection_is_held_to_its_rate)
{
	/* 4 MB/s on each connection: every doubling doubles the rate, up to the concurrency. */
	for (int try = 0; try < 2 && (!S || S->most != 8); try++)
		ramp_run(PER_CONN, 4e6, 48, -1);
	CHECK_INT(S->most, 8);
}

TEST(ramp_stays_at_one_where_connections_share_the_rate)
{
	/* 2 MB/s for all together: two ranges at a time bring no more, so back to one. */
	for (int try = 0; try < 2 && (!S || S->most > 2); try++)
		ramp_run(SHARED, 2e6, 8, -1);
	CHECK(S->most <= 2);
	CHECK(S->conns <= 2);
}

TEST(ramp_starts_all_at_once_for_a_far_server)
{
	/* The first answer is 30 ms late: every range at once, without waiting for rates. */
	double t0 = mono_now();
	ramp_run(FAR, 64e6, 16, -1);
	CHECK_INT(S->most, 8);
	CHECK(mono_now() - t0 < 1.0);
}

TEST(ramp_stream_holds_one_piece_per_range)
{
	/* To a pipe nobody reads for 0.4 s, from a server whose connections share 40 MB/s (a piece
	 * in 7 ms): at level L the download holds L pieces, not the whole window of 8 that it may
	 * use at level 8. The ramp is at 1 all that time: its first window needs 50 ms of data, and
	 * the writer is stuck (the first piece's own worker, in write). */
	int ahead = 0;
	for (int try = 0; try < 2 && (!try || ahead > 1); try++)
		ahead = ramp_run(SHARED, 40e6, 24, 0.4);
	CHECK(ahead == 1);
}
