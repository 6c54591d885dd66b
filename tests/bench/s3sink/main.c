/* The sink's front: routing of S3 requests, the control port, listeners and connection
 * threads, options. */
#include "sink.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <signal.h>
#include <sys/socket.h>

const char *g_dir = "/dev/shm";
const char *g_null_bucket;
pthread_mutex_t g_m = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *g_ssl;

/* A request on a bucket: ListObjectsV2, CreateBucket (accepted), HeadBucket. */
static int
bucket_request(struct io *c, struct req *q, char *buf, const char *bucket, int has_body)
{
	if (!has_body)
		q->body_done = 1;
	if (!strcmp(q->method, "GET") && strstr(q->query, "list-type=2")) {
		count_op(OP_LIST);
		return op_list(c, q, bucket);
	}
	if (!strcmp(q->method, "PUT") && !q->query[0]) {
		struct body b;
		count_op(OP_MKBUCKET);
		if (body_init(&b, c, q) || body_drain(&b, buf))
			return -1;
		q->body_done = 1;
		return respond(c, q, 200, "OK", NULL, NULL, 0, 0);
	}
	if (!strcmp(q->method, "HEAD")) {
		count_op(OP_HEADBUCKET);
		return respond(c, q, 200, "OK", "x-amz-bucket-region: us-east-1\r\n", NULL, 0, 1);
	}
	count_op(OP_OTHER);
	return s3_error(c, q, 501, "NotImplemented", "bucket operation %s ?%s", q->method, q->query);
}

/* One request on an S3 listener: route by method, path ("/bucket/key") and query. */
static int
s3_request(struct io *c, struct req *q, char *buf)
{
	char bucket[256], id[64], pn[16];
	const char *p = q->path, *key;
	int head = !strcmp(q->method, "HEAD");

	__atomic_add_fetch(&st.requests[c->https], 1, __ATOMIC_RELAXED);
	if (*p != '/')
		return s3_error(c, q, 400, "InvalidURI", "bad path");
	p++;
	size_t bn = strcspn(p, "/");
	if (!bn || bn >= sizeof bucket)
		return s3_error(c, q, 501, "NotImplemented", "service-level operations are not implemented");
	memcpy(bucket, p, bn);
	bucket[bn] = 0;
	key = p[bn] == '/' ? p + bn + 1 : "";
	int has_body = q->chunked || q->clen > 0;
	if (!*key)
		return bucket_request(c, q, buf, bucket, has_body);
	if (hget(q, "x-amz-copy-source")) {
		count_op(OP_OTHER);
		return s3_error(c, q, 501, "NotImplemented", "copies are not implemented by the sink");
	}
	int has_id = qget(q, "uploadId", id, sizeof id);
	if (!strcmp(q->method, "PUT")) {
		if (has_id) {
			int n = qget(q, "partNumber", pn, sizeof pn) ? atoi(pn) : 0;
			if (n < 1 || n > MAXPARTS)
				return s3_error(c, q, 400, "InvalidArgument", "partNumber");
			count_op(OP_PART);
			return op_put(c, q, buf, bucket, key, id, n);
		}
		count_op(OP_PUT);
		return op_put(c, q, buf, bucket, key, NULL, 0);
	}
	if (!strcmp(q->method, "POST") && qget(q, "uploads", pn, sizeof pn)) {
		struct body b;
		count_op(OP_CREATE);
		if (body_init(&b, c, q) || body_drain(&b, buf))
			return -1;
		q->body_done = 1;
		return op_create(c, q, bucket, key);
	}
	if (!strcmp(q->method, "POST") && has_id) {
		count_op(OP_COMPLETE);
		return op_complete(c, q, buf, bucket, key, id);
	}
	if (!has_body)
		q->body_done = 1;
	if (!strcmp(q->method, "DELETE") && has_id) {
		count_op(OP_ABORT);
		return op_abort(c, q, id);
	}
	if (!strcmp(q->method, "GET") || head) {
		count_op(head ? OP_HEAD : OP_GET);
		return op_get(c, q, buf, bucket, key, head);
	}
	if (!strcmp(q->method, "DELETE")) {
		count_op(OP_DELETE);
		return op_delete(c, q, bucket, key);
	}
	count_op(OP_OTHER);
	return s3_error(c, q, 501, "NotImplemented", "%s ?%s", q->method, q->query);
}

/* The control listener: GET /stats, POST /reset (the counters), POST /drop (every object and upload;
 * with ?bucket=B&prefix=P, the objects of B under P). */
static int
ctl_request(struct io *c, struct req *q)
{
	char body[8192];
	int n = 0;

	q->body_done = q->clen <= 0;
	if (!strcmp(q->method, "POST") && !strcmp(q->path, "/reset")) {
		pthread_mutex_lock(&g_m);
		memset(&st, 0, sizeof st);
		pthread_mutex_unlock(&g_m);
		return respond(c, q, 200, "OK", NULL, "ok\n", 3, 0);
	}
	if (!strcmp(q->method, "POST") && !strcmp(q->path, "/drop")) {
		char bucket[256], prefix[2048] = "";
		if (qget(q, "bucket", bucket, sizeof bucket)) {
			qget(q, "prefix", prefix, sizeof prefix);
			store_drop(bucket, prefix);
		} else {
			store_reset();
		}
		return respond(c, q, 200, "OK", NULL, "ok\n", 3, 0);
	}
	if (strcmp(q->method, "GET") || strcmp(q->path, "/stats"))
		return respond(c, q, 404, "Not Found", NULL, "no\n", 3, 0);
	pthread_mutex_lock(&g_m);
	n += snprintf(body + n, sizeof body - (size_t)n,
		      "{\"http_conns\":%lu,\"https_conns\":%lu,\"tls_handshakes\":%lu,\"http_requests\":%lu,"
		      "\"https_requests\":%lu,\"bytes_in\":%llu,\"bytes_out\":%llu,\"ciphers\":{",
		      st.conns[0], st.conns[1], st.handshakes, st.requests[0], st.requests[1], st.bytes_in, st.bytes_out);
	for (int i = 0; i < st.nciphers; i++)
		n += snprintf(body + n, sizeof body - (size_t)n, "%s\"%s\":%lu", i ? "," : "", st.ciphers[i].name,
			      st.ciphers[i].n);
	n += snprintf(body + n, sizeof body - (size_t)n, "},\"ops\":{");
	for (int i = 0, first = 1; i <= OP_OTHER; i++)
		if (st.ops[i]) {
			n += snprintf(body + n, sizeof body - (size_t)n, "%s\"%s\":%lu", first ? "" : ",", opnames[i], st.ops[i]);
			first = 0;
		}
	n += snprintf(body + n, sizeof body - (size_t)n, "}}\n");
	pthread_mutex_unlock(&g_m);
	return respond(c, q, 200, "OK", "Content-Type: application/json\r\n", body, n, 0);
}


/* ---- listeners and connection threads ------------------------------------------------------------- */

struct conn_arg {
	int fd, kind;
};

static void
tally_cipher(SSL *ssl)
{
	char name[80];

	snprintf(name, sizeof name, "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	pthread_mutex_lock(&g_m);
	st.handshakes++;
	int i;
	for (i = 0; i < st.nciphers && strcmp(st.ciphers[i].name, name); i++)
		;
	if (i == st.nciphers && i < (int)(sizeof st.ciphers / sizeof st.ciphers[0])) {
		snprintf(st.ciphers[i].name, sizeof st.ciphers[i].name, "%s", name);
		st.nciphers++;
	}
	if (i < st.nciphers)
		st.ciphers[i].n++;
	pthread_mutex_unlock(&g_m);
}

static void *
conn_main(void *arg)
{
	struct conn_arg ca = *(struct conn_arg *)arg;
	struct io c = {.fd = ca.fd, .https = ca.kind == L_HTTPS};
	struct req *q = malloc(sizeof *q);
	char *buf = malloc(IOBUF);
	struct timeval tv = {300, 0};
	int one = 1;

	free(arg);
	c.rb = malloc(IOBUF);
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (ca.kind != L_CTL) {
		pthread_mutex_lock(&g_m);
		st.conns[ca.kind]++;
		pthread_mutex_unlock(&g_m);
	}
	if (ca.kind == L_HTTPS) {
		c.ssl = SSL_new(g_ssl);
		SSL_set_fd(c.ssl, c.fd);
		if (SSL_accept(c.ssl) <= 0)
			goto out;
		tally_cipher(c.ssl);
	}
	while (!req_read(&c, q)) {
		int rc = ca.kind == L_CTL ? ctl_request(&c, q) : s3_request(&c, q, buf);
		if (rc || q->close || !q->body_done)
			break;
	}
out:
	if (c.ssl) {
		SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	close(c.fd);
	free(c.rb);
	free(buf);
	free(q);
	return NULL;
}

struct listener {
	int fd, kind;
};

static void *
accept_main(void *arg)
{
	struct listener *l = arg;
	pthread_attr_t at;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 512 * 1024);
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			perror("s3sink: accept");
			exit(1);
		}
		struct conn_arg *ca = malloc(sizeof *ca);
		pthread_t t;
		ca->fd = fd;
		ca->kind = l->kind;
		if (pthread_create(&t, &at, conn_main, ca)) {
			close(fd);
			free(ca);
		}
	}
	return NULL;
}

static int
listen_on(int port, int *actual)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 256) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		perror("s3sink: listen");
		exit(1);
	}
	*actual = ntohs(sa.sin_port);
	return fd;
}

struct opts {
	int http, https, ctl; /* ports: -1 none, 0 any */
	const char *cert, *key, *portfile;
	int64_t prealloc;
};

/* The options into o (and the globals they set); 0, or 2 on a usage error. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "s3sink: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--http"))
			o->http = atoi(v);
		else if (!strcmp(a, "--https"))
			o->https = atoi(v);
		else if (!strcmp(a, "--ctl"))
			o->ctl = atoi(v);
		else if (!strcmp(a, "--cert"))
			o->cert = v;
		else if (!strcmp(a, "--key"))
			o->key = v;
		else if (!strcmp(a, "--dir"))
			g_dir = v;
		else if (!strcmp(a, "--ports"))
			o->portfile = v;
		else if (!strcmp(a, "--null-bucket"))
			g_null_bucket = v;
		else if (!strcmp(a, "--prealloc"))
			o->prealloc = strtoll(v, NULL, 10) << 20;
		else if (!strcmp(a, "--pool"))
			g_pool_max = strtoll(v, NULL, 10) << 20;
		else {
			fprintf(stderr, "s3sink: unknown option %s\n", a);
			return 2;
		}
	}
	if (o->https >= 0 && (!o->cert || !o->key)) {
		fprintf(stderr, "s3sink: --https needs --cert and --key\n");
		return 2;
	}
	return 0;
}

static int
tls_init(const char *cert, const char *key)
{
	g_ssl = SSL_CTX_new(TLS_server_method());
	SSL_CTX_set_min_proto_version(g_ssl, TLS1_2_VERSION);
	SSL_CTX_set_mode(g_ssl, SSL_MODE_AUTO_RETRY);
	if (SSL_CTX_use_certificate_chain_file(g_ssl, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(g_ssl, key, SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return -1;
	}
	return 0;
}

/* "HTTP HTTPS CTL" into path, whole or not at all (the bench waits for it to appear). */
static int
write_ports(const char *path, const int ports[3])
{
	char tmp[4096];

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d %d %d\n", ports[0], ports[1], ports[2]) < 0 || fclose(f) || rename(tmp, path)) {
		perror("s3sink: ports file");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = {.http = -1, .https = -1, .ctl = -1};
	int ports[3] = {0, 0, 0}, rc;
	struct listener ls[3];
	pthread_t t;

	if ((rc = parse_opts(argc, argv, &o)))
		return rc;
	signal(SIGPIPE, SIG_IGN);
	crc_init();
	int probe = open(g_dir, O_TMPFILE | O_RDWR, 0600);
	if (probe < 0) {
		fprintf(stderr, "s3sink: cannot make unnamed files in %s: %s\n", g_dir, strerror(errno));
		return 1;
	}
	close(probe);
	pool_prealloc(o.prealloc < g_pool_max ? o.prealloc : g_pool_max);
	if (o.https >= 0 && tls_init(o.cert, o.key))
		return 1;
	int n = 0;
	if (o.http >= 0)
		ls[n].fd = listen_on(o.http, &ports[0]), ls[n++].kind = L_HTTP;
	if (o.https >= 0)
		ls[n].fd = listen_on(o.https, &ports[1]), ls[n++].kind = L_HTTPS;
	if (o.ctl >= 0)
		ls[n].fd = listen_on(o.ctl, &ports[2]), ls[n++].kind = L_CTL;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t, NULL, accept_main, &ls[i])) {
			perror("s3sink: thread");
			return 1;
		}
	if (o.portfile && write_ports(o.portfile, ports))
		return 1;
	fprintf(stderr, "s3sink: http %d https %d ctl %d, data in %s\n", ports[0], ports[1], ports[2], g_dir);
	for (;;)
		pause();
}
