/* userver.c — a scripted HTTP server for unit tests (a forked child on 127.0.0.1): answers each
 * request with the next canned response and reports the request heads it saw. */
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void
serve(int lfd, int rep, const struct canned *c, int n)
{
	int i = 0;

	while (i < n) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			_exit(1);
		while (i < n) {
			char head[16384];
			size_t k = 0;
			ssize_t r;
			while (k < sizeof head - 1 && (r = read(fd, head + k, 1)) == 1) {
				k++;
				if (k >= 4 && !memcmp(head + k - 4, "\r\n\r\n", 4))
					break;
			}
			if (k < 4 || memcmp(head + k - 4, "\r\n\r\n", 4))
				break; /* the client closed: next connection */
			head[k] = 0;
			const char *cl = strcasestr(head, "\r\ncontent-length:");
			long body = cl ? strtol(cl + 17, NULL, 10) : 0;
			for (char ch; body > 0 && read(fd, &ch, 1) == 1; body--)
				;
			if (write(rep, head, k) < 0 || write(rep, "\n--\n", 4) < 0)
				_exit(1);
			if (!c[i].head) {
				i++;
				break;
			}
			char resp[4096];
			const char *b = c[i].body ? c[i].body : "";
			int m = snprintf(resp, sizeof resp, "%sContent-Length: %zu\r\n\r\n%s", c[i].head, strlen(b), b);
			if (write(fd, resp, (size_t)m) < 0)
				break;
			i++;
		}
		close(fd);
	}
	_exit(0);
}

void
server_start(struct server *s, const struct canned *c, int n)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), pfd[2];

	if (lfd < 0 || bind(lfd, (void *)&a, al) || listen(lfd, 8) || getsockname(lfd, (void *)&a, &al) || pipe(pfd))
		utest_fail(__FILE__, __LINE__, "server: %s", strerror(errno));
	s->port = ntohs(a.sin_port);
	fflush(NULL);
	if ((s->pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(30);
		close(pfd[0]);
		serve(lfd, pfd[1], c, n);
	}
	close(lfd);
	close(pfd[1]);
	s->rep = pfd[0];
}

/* The request heads the server saw; the server is stopped first. */
char *
server_stop(struct server *s)
{
	struct buf b = {0};
	char tmp[4096];
	ssize_t r;

	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	while ((r = read(s->rep, tmp, sizeof tmp)) > 0)
		buf_add(&b, tmp, (size_t)r);
	close(s->rep);
	return buf_take(&b);
}

int
strcount(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

void
server_aws(struct aws *a, int port)
{
	struct common c = {0};
	struct err e = {0};
	char url[64];

	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	setenv("AWS_ENDPOINT_URL", url, 1);
	setenv("AWS_REGION", "eu-west-1", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret-for-tests", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	if (aws_init(a, &c, &e))
		utest_fail(__FILE__, __LINE__, "aws_init: %s", e.msg);
}

void
ut_start(struct ut *t, const struct canned *c, int n, void (*init)(struct aws *a, int port))
{
	memset(t, 0, sizeof *t);
	server_start(&t->s, c, n);
	init(&t->a, t->s.port);
}

char *
ut_stop(struct ut *t)
{
	char *seen = server_stop(&t->s);

	aws_free(&t->a);
	buf_free(&t->out);
	return seen;
}
