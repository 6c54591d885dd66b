/* unit.h — a tiny test framework: TEST(name) registers a test; each runs in its own process. */
#ifndef AWSBOX_UNIT_H
#define AWSBOX_UNIT_H
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct utest {
	const char *name, *file;
	void (*fn)(void);
	struct utest *next;
};
void utest_register(struct utest *t);
void utest_fail(const char *file, int line, const char *fmt, ...) PRINTF(3, 4);
/* Runs fn in a child process and returns its exit status (or 128+signal). Output goes to
 * the files out/errout when not NULL (else discarded). */
int utest_exit_of(void (*fn)(void *), void *arg, char **out, char **errout);
/* A fresh empty temporary directory (removed by the runner after the test). */
const char *utest_tmpdir(void);
/* Writes s to path. */
void utest_write(const char *path, const char *s);
/* All of fd from its start (malloc'd). */
char *utest_slurp(int fd);
/* Runs a python3 script (the reference of the differential tests) and returns its output
 * (malloc'd); NULL when there is no python3. */
char *utest_python(const char *script);
/* Hex digits s[0..n) as bytes into out; how many. */
size_t utest_unhex(const char *s, size_t n, char *out);
/* An E_AWS error with the status, code and message. */
struct err utest_aws_err(int status, const char *code, const char *msg);

#define TEST(name)                                                                         \
	static void test_##name(void);                                                     \
	static struct utest utest_##name = {#name, __FILE__, test_##name, NULL};           \
	__attribute__((constructor)) static void reg_##name(void) { utest_register(&utest_##name); } \
	static void test_##name(void)

#define CHECK(c)                                                     \
	do {                                                         \
		if (!(c)) {                                          \
			utest_fail(__FILE__, __LINE__, "%s", #c);    \
			return;                                      \
		}                                                    \
	} while (0)
#define CHECK_STR(a, b)                                                                        \
	do {                                                                                   \
		const char *a_ = (a), *b_ = (b);                                               \
		if (!a_ || !b_ || strcmp(a_, b_)) {                                            \
			utest_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,   \
				   a_ ? a_ : "(null)", b_ ? b_ : "(null)");                    \
			return;                                                                \
		}                                                                              \
	} while (0)
#define CHECK_INT(a, b)                                                                         \
	do {                                                                                    \
		long long a_ = (long long)(a), b_ = (long long)(b);                             \
		if (a_ != b_) {                                                                 \
			utest_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
			return;                                                                 \
		}                                                                               \
	} while (0)

/* userver.c: a scripted server. A response it sends, in order: the status line and headers
 * (Content-Length is added), then the body. NULL head: close the connection without answering. */
struct canned {
	const char *head, *body;
};
struct server {
	pid_t pid;
	int port;
	int rep; /* each request's head, as received, separated by "\n--\n" */
};
void server_start(struct server *s, const struct canned *c, int n);
/* The request heads the server saw; the server is stopped first. The caller frees. */
char *server_stop(struct server *s);
/* An AWS context whose every service is the server on port (region eu-west-1, static keys from
 * the environment, no files, no instance metadata). */
void server_aws(struct aws *a, int port);
/* One test's scripted server and a context that calls it, the set-up the tests of core calls
 * share: ut_start starts the server answering c and init(&t->a, its port) (server_aws, or a test's
 * own), with e zeroed and out empty; ut_stop stops the server, frees the context and out, and
 * returns what the server saw (server_stop: the caller frees). */
struct ut {
	struct server s;
	struct aws a;
	struct err e;
	struct buf out;
};
void ut_start(struct ut *t, const struct canned *c, int n, void (*init)(struct aws *a, int port));
char *ut_stop(struct ut *t);
/* How often needle occurs in hay. */
int strcount(const char *hay, const char *needle);
#endif
