/* conn.h — private to the wire layer (net, tls, tlstrust, proxy, http, httpread, httphead): one connection
 * and the calls between them. */
#ifndef AWSBOX_CONN_H
#define AWSBOX_CONN_H
#include "wire.h"

#include <bearssl.h>

struct tls; /* tls.c's per-connection BearSSL state */

/* Bytes per second a response body must keep up on average once its read timeout has passed:
 * a server trickling bytes cannot hold a call for ever (each wait alone is bounded by the read
 * timeout). */
#define HTTP_MIN_RATE 1024.0

struct conn {
	int fd;                /* non-blocking socket; -1 when closed */
	char peer[300];        /* "host:port" of the origin, for messages */
	char key[600];         /* pool key: scheme, origin and proxy */
	int timeout_ms;        /* for each read or write that has to wait */
	double deadline;       /* mono_now() by which reads must be done (0: none): a response that
				* trickles in must not outlast the timeouts (conn_deadline sets it) */
	double deadline_s;     /* the time that deadline allowed, for the message */
	size_t deadline_got;   /* bytes read since it was set: none means a plain timeout */
	double end;            /* mono_now() by which the whole exchange must be done (http_req.total_ms),
				* a cap on every deadline; 0: none */
	int paced;             /* each byte read moves the deadline on by 1/HTTP_MIN_RATE s */
	struct tls *tls;       /* NULL: plain TCP */
	int eof;               /* the peer closed its side */
	size_t rpos, rlen;     /* unread response bytes in rbuf[rpos..rlen) */
	unsigned char rbuf[65536]; /* a plain-HTTP body arrives in reads this large: a quarter of
				    * the recv calls of 16 KiB (TLS bodies skip it: tls_peek) */
};

struct proxy {
	int on;
	char host[256];
	int port;
	char auth[1024]; /* "Basic ..." or "" */
};

/* proxy.c. The proxy for q from the environment; px->on == 0 for a direct connection. */
int proxy_for(const struct http_req *q, struct proxy *px, struct err *e);

/* net.c. Errors name c->peer; timeouts are E_TIMEOUT, the rest E_NET. */
/* Resolves host (IPv4 and IPv6) and connects to the first address that answers. */
int net_connect(struct conn *c, const char *host, int port, int timeout_ms, struct err *e);
long net_read(struct conn *c, void *p, size_t n, struct err *e); /* 0 at EOF */
int net_write(struct conn *c, const void *p, size_t n, struct err *e); /* all of it, or -1 */
int net_wait(struct conn *c, int ms, struct err *e); /* 1 readable, 0 not within ms, -1 error */
int net_idle_dead(struct conn *c); /* an idle connection the peer closed (or sent stray bytes) */
void net_close(struct conn *c);

/* ghash.c: GHASH (BearSSL's br_ghash contract) with x86-64 carry-less multiply, or NULL where the
 * CPU has none. tls.c chooses among such implementations in one place (ghash_pick). */
typedef void (*ghash_fn)(void *y, const void *h, const void *data, size_t len);
ghash_fn ghash_x86_get(void);
/* aesctr.c: AES-CTR (br_aes_x86ni_ctr's contract and context) with VAES on width-bit registers
 * (512: AVX-512, 256: AVX2), or NULL where the CPU or the OS cannot run that; width 0: the widest
 * that runs. tls.c picks it first (aes_ctr_pick). */
const br_block_ctr_class *aes_ctr_x86_get(int width);
/* The 128-bit, eight-block variant alone, which ghash_x86_get returns where AVX-512 is missing. */
ghash_fn ghash_x86_clmul(void);

/* tls.c (its trust anchors: tlstrust.c). host is the origin's name (SNI and the name verified) or an IP literal. */
int tls_connect(struct http_pool *p, struct conn *c, const char *host, struct err *e);
long tls_read(struct conn *c, void *p, size_t n, struct err *e); /* 0 at EOF */
/* Decrypted bytes where they lie (no copy): their length (0 at EOF, -1 on error) and *p; the
 * caller consumes n of them with tls_ack before anything else touches the connection. */
long tls_peek(struct conn *c, const unsigned char **p, struct err *e);
void tls_ack(struct conn *c, size_t n);
int tls_write(struct conn *c, const void *p, size_t n, struct err *e); /* buffered in records */
/* The room left in the record being filled (its length, -1 on error, and *p): the caller writes
 * plaintext there (no copy) and hands n bytes of it over with tls_commit before anything else
 * touches the connection. */
long tls_room(struct conn *c, unsigned char **p, struct err *e);
void tls_commit(struct conn *c, size_t n);
int tls_flush(struct conn *c, struct err *e);
int tls_pending(struct conn *c); /* bytes are waiting: decrypted, or read ahead from the socket */
void tls_free(struct conn *c);
void tls_anchors_free(struct http_pool *p);
void tls_sessions_free(struct http_pool *p);

/* httpread.c: reading a response on c. */
/* Reads on c must be done within secs from now; 0: no deadline (each wait is still bounded). */
void conn_deadline(struct conn *c, double secs);
/* Reads a status line and header block into r (HTTP/1.minor); *got counts bytes read. */
int http_read_head(struct conn *c, struct http_resp *r, int *minor, size_t *got, struct err *e);
/* One response body being read, for the exchange (http.c) that sent q. */
struct rx {
	const struct http_req *q;
	struct http_resp *r;
	struct conn *c;
	size_t max;
	uint64_t total;
	struct buf peek; /* the start of a non-2xx body, for --debug */
	int show;
};
/* Reads the body framed as x->r's head says; *reuse cleared when the connection must close. */
int http_read_body(struct rx *x, int head_only, int *reuse, struct err *e);

/* httphead.c (and http_next_header in core.h). */
int has_token(struct slice v, const char *token); /* a comma-separated value holds token */
/* --debug tracing ('>' sent, '<' received), secrets redacted; nothing unless g_debug. */
void dbg_header(char dir, struct slice k, struct slice v);
void dbg_request_line(const char *method, const char *target);
void dbg_head(char dir, const struct buf *h);

#endif
