/* hserver.h — test_http's scripted HTTP server (a forked child, its own wire handling) and the
 * client calls the tests make; hserver.c. */
#ifndef AWSBOX_HSERVER_H
#define AWSBOX_HSERVER_H
#include "unit.h"

typedef void (*srv_fn)(int lfd, int rep);

struct srv {
	pid_t pid;
	int port;
	int rep; /* read end of the child's report pipe */
};

struct sconn {
	int fd;
	struct buf in; /* received, not yet consumed */
};

int srv_start_af(struct srv *s, srv_fn fn, int v6);
void srv_start(struct srv *s, srv_fn fn);
void srv_stop(struct srv *s);
void srv_report(struct srv *s, char *out, size_t n);
void s_accept(int lfd, struct sconn *s);
int s_fill(struct sconn *s);
void s_consume(struct sconn *s, size_t n);
int s_head(struct sconn *s, struct buf *head);
const char *s_hdr(const char *head, const char *name);
int s_need(struct sconn *s, size_t n);
int s_body(struct sconn *s, const char *head, struct buf *raw);
void s_send(struct sconn *s, const void *p, size_t n);
void s_sends(struct sconn *s, const char *z);
void s_resp(struct sconn *s, const char *status, const char *extra, const void *body, size_t n);
void s_close(struct sconn *s);
void s_reset(struct sconn *s);
void rep(int fd, const char *z);
void setup(struct srv *s, srv_fn fn, struct http_pool *p);
int req(struct http_pool *p, const char *method, const char *target, const struct http_body *b, struct buf *out,
	struct http_resp *r, struct err *e);
/* One test's server and client, the set-up most http tests share: hs_start runs fn as the
 * server and points U and a new pool at it, with e zeroed and out empty; hs_req is req() on
 * them; hs_stop frees the pool and out and stops the server (whose report stays readable). */
struct hs {
	struct srv s;
	struct http_pool p;
	struct http_resp r;
	struct err e;
	struct buf out;
};
void hs_start(struct hs *t, srv_fn fn);
int hs_req(struct hs *t, const char *method, const char *target, const struct http_body *b);
void hs_stop(struct hs *t);
#define BIG (1 << 20) /* srv_big's body: pat(0..BIG-1) */
unsigned char pat(size_t i);
/* Servers more than one test file uses. */
void srv_big(int lfd, int r);
void srv_echo_raw(int lfd, int r);
extern struct url U; /* the server, for setup's tests */

#endif
