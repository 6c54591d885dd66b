/* wire.h — the wire layer of core: HTTP/1.1 over TCP or TLS: sockets, BearSSL, proxies, the connection pool (ARCHITECTURE.md). */
#ifndef AWSBOX_WIRE_H
#define AWSBOX_WIRE_H
#include "fmt/fmt.h"

/* ---- mem.c: allocation, growable buffers and slices ------------------------------------ */
/* A name/value pair: query parameters and headers. Strings are borrowed. */
struct kv {
	const char *k, *v;
};

/* ---- url.c: endpoint URLs ---------------------------------------------------------------- */
struct url {
	int tls;
	char host[256]; /* without brackets for IPv6 */
	int port;
	char path[512]; /* base path from an endpoint URL, without trailing '/'; "" if none */
};
int url_parse(const char *s, struct url *u, struct err *e);
/* "host" or "host:port" (port only when not the scheme's default); [v6] bracketed. */
void url_hostport(const struct url *u, char *out, size_t n);

/* ---- net.c, tls.c, http.c: HTTP/1.1 over TCP or TLS ------------------------------------ */
struct conn; /* a connection, reused while keep-alive allows */

struct http_body {
	const void *p; /* in memory: p, len; or streamed with read() */
	int64_t len;   /* -1: unknown (sent chunked) */
	/* Fills up to n bytes; returns the count, 0 at the end, -1 on error (fills e). */
	long (*read)(void *ctx, void *buf, size_t n, struct err *e);
	int (*rewind)(void *ctx); /* back to the start for a retry; NULL: cannot retry */
	void *ctx;
};

struct http_resp;
/* Receives the response body. Called only after status and headers are known. Returns 0,
 * or -1 to abort (fill e). */
typedef int (*http_sink)(void *ctx, const struct http_resp *r, const void *p, size_t n, struct err *e);

struct http_req {
	const char *method;
	const struct url *url;    /* scheme, host, port */
	const char *target;       /* "/path?query" as sent, already encoded */
	const struct kv *hdrs;    /* extra headers; Host (unless given), Content-Length or Transfer-Encoding
				   * and Expect are added here (the caller's framing headers are dropped) */
	int nhdrs;
	const struct http_body *body; /* NULL: no body */
	int expect_continue;      /* send "Expect: 100-continue" and wait for it (large uploads) */
	int connect_timeout_ms;   /* 0: default 3100 */
	int read_timeout_ms;      /* 0: default 60000. Bounds each wait and the whole response head; a
				   * body gets it plus 1 s per KiB that came (a trickle ends) */
	int slow_body;            /* a body of unknown length may trickle (S3 sends spaces while it works):
				   * only each wait is bounded */
	int total_ms;             /* 0: none. The whole response, head and body, must be in within this
				   * from when the exchange starts, however it trickles (credential endpoints) */
	int no_proxy;             /* never use a proxy (instance metadata, container endpoints) */
	int quiet_body;           /* --debug must not show this response body (credentials) */
	int no_replay;            /* not idempotent: once all of it was written, never sent again, not
				   * even on a new connection when a kept-alive one closes unanswered */
	http_sink sink;           /* body to sink; else collected into out (up to max) */
	void *sink_ctx;
	struct buf *out;
	size_t max;               /* 0: 64 MiB; a declared Content-Length above it is refused before reading */
};

struct http_resp {
	int status;
	struct buf head;          /* raw header lines after the status line */
	int64_t content_length;   /* -1 if none */
};
/* The value of header name (case-insensitive), trimmed; NULL if absent. Valid while r lives. */
const char *http_header(const struct http_resp *r, const char *name, size_t *len);
/* Copies header name into out (size n); returns 0, or -1 (out "") if absent or too long. */
int http_header_copy(const struct http_resp *r, const char *name, char *out, size_t n);
void http_resp_free(struct http_resp *r);
/* Iterates a head kept as "name: value\n" lines (http_resp.head, s3obj.head) from *pos = 0;
 * 0 when there are no more. */
int http_next_header(const struct buf *h, size_t *pos, struct slice *name, struct slice *val);

/* Connection pool and TLS settings; one per process, shared by threads. */
struct http_pool {
	pthread_mutex_t lock;
	struct conn *idle[16];
	int nidle;
	const char *ca_bundle;    /* explicit --ca-bundle / AWS_CA_BUNDLE / config ca_bundle */
	void *anchors;            /* loaded trust anchors (tlstrust.c) */
	size_t nanchors;
	int anchors_loaded;
	unsigned long connects;   /* TCP connections opened (tests count handshakes) */
	void *sessions;           /* TLS sessions to resume, by connection key (tls.c) */
	unsigned nsessions;
};
void http_pool_init(struct http_pool *p, const char *ca_bundle);
void http_pool_free(struct http_pool *p);
/* Sends one request, reusing an idle connection to the same host when possible, and reads
 * the response. Returns 0 with r filled for any HTTP status; -1 for transport failures
 * (e: E_NET, E_TIMEOUT, E_TLS, E_PROTO; E_USAGE for a bad proxy setting or header; a sink's
 * or body reader's own error; e->sent says whether the request may have reached the server).
 * r is zeroed first and is always safe to http_resp_free. */
int http_do(struct http_pool *p, const struct http_req *q, struct http_resp *r, struct err *e);
/* A small request to a local metadata endpoint (IMDS, container credentials): no proxy, the same
 * timeout for connect and read, a body of at most 1 MiB into out (reset first), never logged. */
int http_small(struct http_pool *p, const char *method, const struct url *u, const char *target, const struct kv *h,
	       int nh, int timeout_ms, struct buf *out, struct http_resp *r, struct err *e);

#endif
