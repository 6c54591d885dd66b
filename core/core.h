/* core.h — the one header applets include: awsbox's shared engine, layer by layer (ARCHITECTURE.md). */
#ifndef AWSBOX_CORE_H
#define AWSBOX_CORE_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define NORETURN __attribute__((noreturn))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- die.c: exit codes, errors, diagnostics ------------------------------------------- */

/* Exit codes (ARCHITECTURE.md, README.md). */
enum {
	EX_OK = 0,
	EX_FAIL = 1,     /* other failure: AWS error not below, local I/O */
	EX_USAGE = 2,    /* bad command line or configuration */
	EX_NOTFOUND = 3, /* NoSuchKey, ParameterNotFound, missing local file, ... */
	EX_ACCESS = 4,   /* access denied, bad signature or token, no credentials */
	EX_DEADLINE = 5, /* a wait deadline the user set ran out */
	EX_NET = 6,      /* network or TLS failure after retries */
	EX_REMOTE = 7,   /* the remote job failed */
};

/* What went wrong, filled by core functions that return -1. Caller-owned. */
enum err_kind {
	E_NONE = 0,
	E_USAGE,    /* bad input from the user or the configuration */
	E_IO,       /* local file or process I/O */
	E_NOTFOUND, /* a local thing that is not there */
	E_NOCREDS,  /* no provider in the chain had credentials */
	E_NET,      /* resolve, connect, reset, short read */
	E_TIMEOUT,  /* connect or read timeout */
	E_TLS,      /* handshake or certificate failure */
	E_PROTO,    /* malformed response from a server */
	E_AWS,      /* the service answered with an error (status, code, msg) */
	E_REMOTE,   /* a remote job reported failure */
};
struct err {
	int kind;      /* enum err_kind */
	int status;    /* HTTP status, 0 if none */
	int sent;      /* the request may have reached the server (for retry decisions) */
	char code[64]; /* AWS error code ("AccessDenied"), "" if none */
	char msg[512]; /* one line, never holding a secret */
};

extern const char *applet_name; /* prefix of every diagnostic */
extern int g_debug;             /* --debug: trace to stderr (secrets redacted) */
extern int g_quiet;             /* --quiet: no warnings or progress */

/* Sets e (kind, printf message; status and code cleared) and returns -1. */
int err_set(struct err *e, int kind, const char *fmt, ...) PRINTF(3, 4);
/* Prepends "prefix: " to e's message (and sets kind if nonzero); returns -1. */
int err_prefix(struct err *e, int kind, const char *prefix);
/* The exit code for e (the one place errors are mapped to exit codes). */
int err_exit_code(const struct err *e);
/* Formats e as "WHAT: 403 AccessDenied: message" into buf. */
void err_format(const struct err *e, const char *what, char *buf, size_t n);

void warn(const char *fmt, ...) PRINTF(1, 2);                 /* "applet: msg" unless quiet */
NORETURN void die(const char *fmt, ...) PRINTF(1, 2);         /* "applet: msg", exit 1 */
NORETURN void die_code(int code, const char *fmt, ...) PRINTF(2, 3);
/* "applet: WHAT: 403 AccessDenied: message" and the mapped exit code; fmt names WHAT. */
NORETURN void die_err(const struct err *e, const char *fmt, ...) PRINTF(2, 3);
void dbg(const char *fmt, ...) PRINTF(1, 2); /* to stderr when g_debug; never pass secrets */
/* "applet: message", then the usage line(s) of g_help and a hint, to stderr; exit 2. */
NORETURN void usage(const char *fmt, ...) PRINTF(1, 2);
/* The applet's help text, for usage(); set by opt_init. */
extern const char *g_help;
/* --help: help and more to stdout; exit 0 (1 if stdout cannot be written). */
NORETURN void exit_help(const char *help, const char *more);

/* ---- mem.c: allocation, growable buffers and slices ------------------------------------ */

/* Out of memory is the one error that is fatal everywhere: these die() on it. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF(1, 2);
/* Zeroes n bytes in a way the compiler may not elide (for secrets). */
void memzero(void *p, size_t n);
/* In place, for text from elsewhere (a server, a file name) printed to stderr: CR, LF and tab
 * become a space; C0 controls, DEL, C1 controls (U+0080..U+009F) and bytes that are not UTF-8
 * become '?'. die(), warn(), dbg() and err_format() apply it. */
void text_clean(char *s);
/* Core files and ptrace by the same user: off at start-up (main.c), on again for --debug. */
void core_dumps(int on);

/* A byte buffer, always NUL-terminated after len when p != NULL. Zero-initialise; the
 * owner frees with buf_free. Growth dies on out of memory. */
struct buf {
	char *p;
	size_t len, cap;
};
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, int c);
void buf_printf(struct buf *b, const char *fmt, ...) PRINTF(2, 3);
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_reserve(struct buf *b, size_t n); /* room for n more bytes */
void buf_reset(struct buf *b);             /* len = 0, keeps memory */
void buf_free(struct buf *b);              /* zeroes the bytes first: buffers may hold secrets */
char *buf_take(struct buf *b);             /* caller owns the string; b is reset to empty */

/* A view into someone else's bytes; never owns. */
struct slice {
	const char *p;
	size_t n;
};
#define SLICE(s) ((struct slice){(s), strlen(s)})
int slice_eq(struct slice s, const char *z);     /* exact byte equality with a C string */
int slice_ieq(struct slice s, const char *z);    /* ASCII case-insensitive */
char *slice_dup(struct slice s);                 /* xmalloc'd NUL-terminated copy */
struct slice slice_trim(struct slice s);         /* without leading/trailing space and tab */

/* A name/value pair: query parameters and headers. Strings are borrowed. */
struct kv {
	const char *k, *v;
};

/* ---- opt.c: the command line, parsed the same way for every applet ------------------- */

/* Options every applet accepts; parsed once, here. */
struct common {
	const char *region, *profile, *endpoint_url, *ca_bundle;
	int debug, quiet;
};

/* One applet option. arg: 0 a flag, 1 takes a value ("--name V", "--name=V", "-c V", "-cV"). */
struct optdef {
	const char *name; /* long name without "--" */
	char shortname;   /* 0 if none */
	char arg;
	int id; /* returned by opt_next; must be > 0 */
};
enum { OPT_END = 0, OPT_POS = -1 };

struct opt {
	int argc;
	char **argv;
	int ind;              /* next argv index */
	const char *arg;      /* value of the option just returned, or the positional argument */
	const char *name;     /* the option as typed ("--format"), for messages */
	const struct optdef *defs;
	const char *help;     /* the applet's help text */
	struct common common; /* filled as common options are seen */
	const char *cluster;  /* rest of a "-abc" cluster */
	int after_dashdash;   /* "--" was seen: every argument since is positional */
};

/* Starts parsing argv[1..] for the applet; defs ends with a zeroed entry. */
void opt_init(struct opt *o, int argc, char **argv, const struct optdef *defs, const char *help);
/* Next item: an option id (o->arg is its value when it takes one), OPT_POS (o->arg is a
 * positional argument; options and positionals may mix; after "--" every argument is one, with
 * o->after_dashdash set), or OPT_END.
 * Consumes common options; --help prints help to stdout and exits 0; an unknown option or
 * missing value is a usage error (exit 2). */
int opt_next(struct opt *o);
/* Common parsers that die with a usage error naming the option on bad input. */
double opt_duration(const struct opt *o); /* "30s", "5m", "1.5h", "2d", "250ms", bare seconds */
uint64_t opt_size(const struct opt *o);   /* "10", "8M", "1.5G", "4KiB": powers of 1024 */
long opt_long(const struct opt *o, long min, long max);

/* ---- enc.c: encodings and time ---------------------------------------------------------- */

void hex_encode(const void *p, size_t n, char *out); /* lower case; out holds 2n+1 */
size_t b64_encode(const void *p, size_t n, char *out); /* out holds 4*((n+2)/3)+1; returns length */
int b64_decode(const char *s, size_t n, struct buf *out); /* appends; -1 on invalid input */
int utf8_valid(const void *s, size_t n); /* well-formed UTF-8 (RFC 3629) */
/* Appends s percent-encoded per RFC 3986 (unreserved A-Z a-z 0-9 - _ . ~ kept); '/' kept when
 * keep_slash. This is the SigV4 encoding. */
void uri_encode(struct buf *b, const char *s, size_t n, int keep_slash);
/* Decodes %XX in place-free fashion into out; -1 on a bad escape. */
int uri_decode(const char *s, size_t n, struct buf *out);
void time_amz(time_t t, char out[17]);                 /* 20150830T123600Z */
void time_iso8601(time_t t, char out[21]);             /* 2015-08-30T12:36:00Z */
int time_parse_iso8601(const char *s, size_t n, time_t *out); /* Z, +hh:mm, fractions */
int time_parse_http(const char *s, size_t n, time_t *out);    /* IMF-fixdate (Date header) */
int parse_duration(const char *s, double *secs);
int parse_size(const char *s, uint64_t *out);
/* Current time for signatures: AWSBOX_NOW (epoch seconds or ISO-8601) pins it for tests. */
time_t clock_now(void);
double mono_now(void); /* monotonic seconds */
void sleep_sec(double s);
uint32_t rand32(void); /* for jitter; not cryptographic */

/* ---- sum.c: checksums (the CPU's CRC32C, carry-less multiply and SHA instructions where there are) */

uint32_t crc32c_update(uint32_t crc, const void *p, size_t n); /* start and end with crc = 0 */
uint32_t crc32_update(uint32_t crc, const void *p, size_t n);
uint64_t crc64nvme_update(uint64_t crc, const void *p, size_t n); /* S3's default; start with crc = 0 */
void sha256_hex(const void *p, size_t n, char out[65]);
/* SHA-256 (FIPS 180-4) of data given in pieces: the CPU's SHA extensions when it has them (chosen
 * at run time), else BearSSL's. Caller-owned, nothing to free; sha256_out leaves c unchanged. */
struct sha256 {
	int hw;          /* the SHA extensions are in use */
	uint64_t st[16]; /* the running state (with hw) or BearSSL's context */
};
void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *p, size_t n);
void sha256_out(const struct sha256 *c, unsigned char out[32]);
/* Whether sha256_init will use the SHA extensions. want 0: never (tests, benchmarks), 1: when
 * the CPU has them, -1: just ask. */
int sha256_use_hw(int want);
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t n, unsigned char out[32]);

/* ---- json.c: zero-copy JSON reader and small writer (RFC 8259) ------------------------- */

enum json_type { JSON_NONE, JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };
/* A value: a slice of a validated document (strings include their quotes). */
struct json {
	const char *p;
	size_t n;
	int type;
};
/* Validates the whole document (nesting at most 128 deep) and returns its root value; -1
 * on invalid JSON. The other readers assume a value from a validated document. */
int json_parse(const char *p, size_t n, struct json *root);
int json_get(struct json obj, const char *key, struct json *out); /* -1: absent or not an object */
int json_index(struct json arr, size_t i, struct json *out);     /* -1: absent or not an array */
/* Iterates members or elements: start with *pos = 0; returns 0 with val (and key, for an
 * object; key->type == JSON_NONE for an array), -1 at the end. */
int json_next(struct json c, size_t *pos, struct json *key, struct json *val);
int json_str(struct json v, struct buf *out); /* appends the unescaped string; -1 if not one */
char *json_get_strdup(struct json obj, const char *key); /* xmalloc'd, NULL if absent/not a string */
int json_key_eq(struct json key, const char *z); /* a string value equals z once unescaped */
void json_put_str(struct buf *b, const char *s, size_t n); /* appends a quoted, escaped string */

/* ---- xml.c: zero-copy reader for AWS XML responses ------------------------------------- */

/* An element: its name and the bytes of its content (between start and end tags). */
struct xml {
	struct slice name; /* local name, without a namespace prefix */
	struct slice body; /* raw content; empty for <x/> */
};
int xml_root(const char *doc, size_t n, struct xml *root); /* skips prolog; -1 malformed */
/* Iterates child elements: start with *pos = 0; returns 0 with child, -1 at the end. */
int xml_next(struct xml el, size_t *pos, struct xml *child);
int xml_child(struct xml el, const char *name, struct xml *out); /* first child by local name */
int xml_path(struct xml el, const char *path, struct xml *out);  /* "Error/Code" */
int xml_text(struct xml el, struct buf *out); /* appends decoded text (entities, CDATA) */
char *xml_path_strdup(struct xml el, const char *path); /* decoded text, NULL if absent */
void xml_put_text(struct buf *b, const char *s, size_t n); /* appends with entities escaped */

/* ---- ini.c: AWS config and credentials files ------------------------------------------- */

struct ini; /* parsed file; owned by whoever loaded it */
/* Loads path; returns NULL (and no error) when the file does not exist. -1 style errors
 * (unreadable file) fill e and return NULL with e->kind set. */
struct ini *ini_load(const char *path, struct err *e);
struct ini *ini_parse(const char *text, size_t n); /* never fails; bad lines are skipped */
void ini_free(struct ini *f);
int ini_has(const struct ini *f, const char *section);
const char *ini_get(const struct ini *f, const char *section, const char *key);
/* The config file's sections as botocore names them: [profile NAME] split as shell words
 * ([profile "q r"], extra spaces), [profile default] and [default] both "default", the later of
 * two sections for one profile (sso-session, services) replacing the earlier wholly. */
void ini_profiles(struct ini *f);
/* Splits a command line into words as Python's shlex.split does (quotes, backslashes); -1 on an
 * unclosed quote. *argv is xmalloc'd, NULL-terminated, each word too. */
int shell_split(const char *s, char ***argv);
/* Nested key: "s3 =\n  addressing_style = path" -> ini_sub(f, sec, "s3", "addressing_style"). */
const char *ini_sub(const struct ini *f, const char *section, const char *key, const char *sub);

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

/* ---- endpoint.c: where a service lives ------------------------------------------------- */

enum { PROTO_JSON, PROTO_QUERY, PROTO_RESTXML, PROTO_RESTJSON };
struct svc {
	const char *id;         /* endpoint prefix: "s3", "ssm", "secretsmanager" */
	const char *signing;    /* signing name */
	const char *env;        /* AWS_ENDPOINT_URL_<env> and config services key */
	int proto;
	const char *target;     /* JSON: X-Amz-Target prefix; query: API version */
	const char *json_ver;   /* JSON: "1.0" or "1.1" */
};
extern const struct svc SVC_S3, SVC_SSM, SVC_SECRETS, SVC_LAMBDA, SVC_SQS, SVC_STS;
extern const struct svc SVC_SSO, SVC_SSO_OIDC; /* the SSO portal and SSO-OIDC (sso.c) */

struct aws; /* below */
struct endpoint {
	struct url url;
	char region[64];   /* signing region */
	int path_style;    /* S3: bucket goes in the path */
	int custom;        /* came from a flag, env or config rather than the partition */
	int arn;           /* S3: the bucket is an access point ARN (its host, its region) */
};
/* Where svc lives in region (NULL: none known, which only STS allows: its global endpoint), with
 * the context's endpoint settings; bucket (S3) chooses virtual-host or path style, or is an
 * access point ARN. use_flag: --endpoint-url applies (not for the credential chain's own calls,
 * as in botocore). aws_endpoint (call.c) resolves the context's region first. */
int endpoint_resolve(struct aws *a, const struct svc *svc, const char *region, const char *bucket, int use_flag,
		     struct endpoint *ep, struct err *e);
/* The partition of region ("aws", "aws-cn", "aws-us-gov", "aws-iso", ...) and its DNS suffix. */
const char *partition_of(const char *region, const char **dns_suffix);

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
	void *anchors;            /* loaded trust anchors (tls.c) */
	size_t nanchors;
	int anchors_loaded;
	unsigned long connects;   /* TCP connections opened (tests count handshakes) */
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

/* ---- sigv4.c: AWS Signature Version 4 -------------------------------------------------- */

struct creds {
	char *akid, *secret, *token; /* token NULL for long-term keys; all owned */
	time_t expires;              /* 0: does not expire */
	const char *source;          /* provider name, static string */
	char *account;               /* account id when a provider reports one, else NULL */
};
void creds_free(struct creds *c); /* zeroes and frees */

struct sigv4_req {
	const char *method;
	const char *path;          /* URI path as sent, already encoded ("/a%20b"); "" or NULL: "/" */
	const struct kv *query;    /* raw (not encoded) pairs; value NULL is treated as "" */
	int nquery;
	const struct kv *hdrs;     /* headers to sign, raw values; must include host. Repeats are joined
				    * with ',' in order; botocore's unsigned ones (user-agent, expect,
				    * transfer-encoding, x-amzn-trace-id, hop-by-hop) are left out */
	int nhdrs;
	const char *payload_hash;  /* hex SHA-256, "UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
				    * NULL: SHA-256 of the empty body */
	int s3;                    /* S3 rules: the path is neither normalised nor encoded again */
};
/* Canonical query string (sorted, encoded): also what goes on the wire after '?'. */
void sigv4_query(const struct kv *q, int n, struct buf *out);
/* The canonical request, and the semicolon-joined signed header names. */
void sigv4_canonical(const struct sigv4_req *r, struct buf *creq, struct buf *signed_headers);
/* The string to sign for amzdate (20150830T123600Z), region and service. */
void sigv4_string_to_sign(const char *creq, const char *amzdate, const char *region, const char *service,
			  struct buf *sts);
/* The Authorization header value. r's headers must already hold x-amz-date (and
 * x-amz-security-token when c->token). */
void sigv4_authorization(const struct creds *c, const struct sigv4_req *r, const char *amzdate,
			 const char *region, const char *service, struct buf *authz);
/* Presigns in the query string: out receives r's query plus the X-Amz-* parameters
 * (Algorithm, Credential, Date, Expires, SignedHeaders, Security-Token) and X-Amz-Signature,
 * canonical and encoded, ready to follow '?'. r's headers (host, at least) are signed as they
 * are: no x-amz-date or token header. r->payload_hash as botocore: "UNSIGNED-PAYLOAD" for S3
 * (S3SigV4QueryAuth), the empty body's SHA-256 otherwise (SigV4QueryAuth: RDS auth tokens). */
void sigv4_presign(const struct creds *c, const struct sigv4_req *r, const char *amzdate, const char *region,
		   const char *service, int expires, struct buf *out);

/* aws-chunked with a trailing checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER): the encoded
 * length for decoded bytes sent in chunks of chunk bytes, with trailer "name:value". Each chunk
 * "HEX\r\n<data>\r\n", then "0\r\n", "name:value\r\n", "\r\n" (botocore's AwsChunkedWrapper);
 * the sender must fill every chunk but the last. -1 if chunk is 0 or decoded < 0. */
int64_t awschunked_length(int64_t decoded, size_t chunk, const char *trailer_name, size_t trailer_value_len);

/* ---- creds.c: the credential provider chain (botocore's order) ------------------------- */

/* Resolves credentials for a (profile, environment), fills c. Names the providers tried
 * in e when none has credentials (E_NOCREDS). Called without a->lock: it makes network calls
 * (STS through aws_send, container and instance metadata); aws_creds (call.c) caches the result. */
int creds_resolve(struct aws *a, struct creds *c, struct err *e);
/* sso.c: credentials of an SSO profile (sso_session or the legacy sso_start_url keys): 0, -1
 * (an expired or missing token is E_NOCREDS saying to run aws sso login), 1 not an SSO profile. */
int sso_creds(struct aws *a, const char *profile, struct creds *c, struct err *e);
void creds_copy(struct creds *dst, const struct creds *src);

/* ---- imds.c: the EC2 instance metadata client ------------------------------------------ */

/* GET an instance-metadata path ("/latest/meta-data/placement/region") with IMDSv2: one token
 * per process (TTL 21600 s, renewed on 401), IMDSv1 without a token only when the token PUT
 * times out after sending or is refused otherwise than with 400, and AWS_EC2_METADATA_V1_DISABLED
 * (ec2_metadata_v1_disabled) is not set. Endpoint: AWS_EC2_METADATA_SERVICE_ENDPOINT[_MODE] or the
 * profile's ec2_metadata_service_endpoint[_mode]; timeouts AWS_METADATA_SERVICE_TIMEOUT (1 s).
 * out receives the body. Errors (e->msg starts "instance metadata: "): E_USAGE disabled
 * (AWS_EC2_METADATA_DISABLED) or a bad setting; E_NET/E_TIMEOUT no service (remembered in
 * a->imds_state: later calls fail at once); E_NOTFOUND 404; E_NOCREDS token refused, IMDSv1 needed
 * but disabled, or 403 (turned off; imds_state 2); E_PROTO another status. Takes a->imds_lock
 * (one token for the process, as the SDKs' token providers fetch it). */
int imds_get(struct aws *a, const char *path, struct buf *out, struct err *e);
/* Asks until the service answers or mono_now() passes deadline (then E_TIMEOUT); a service that
 * answers with an error ends the wait with that error. */
int imds_wait(struct aws *a, double deadline, struct err *e);
/* AWS_EC2_METADATA_DISABLED=true */
int imds_disabled(struct aws *a);
/* The service's URL from the settings above. */
int imds_endpoint(struct aws *a, struct url *u, struct err *e);

/* ---- region.c ----------------------------------------------------------------------------- */

/* The region: --region, AWS_REGION, AWS_DEFAULT_REGION, profile, instance metadata (asked once;
 * NULL with e when there is none). The string lives as long as a. */
const char *aws_region(struct aws *a, struct err *e);

/* ---- config.c, aws.c: the context's settings; one signed request -------------------------- */

/* retry.c: adaptive retry mode's client-side rate limiter, as botocore's (a CUBIC send rate
 * fed by throttling answers, a token bucket, the measured send rate). Times are seconds. */
struct ratelimit {
	int enabled;                                 /* after the first throttling answer */
	double fill_rate, max_capacity, capacity, last_refill; /* token bucket; last_refill < 0: never */
	double w_max, k, last_fail;                  /* CUBIC */
	double measured, last_bucket, count;         /* the measured send rate */
};
void ratelimit_init(struct ratelimit *r, double now);
/* Takes a token and returns 0, or returns the seconds to wait before asking again. */
double ratelimit_acquire(struct ratelimit *r, double now);
/* One answer (or failure) received: throttled or not. */
void ratelimit_record(struct ratelimit *r, double now, int throttled);

struct aws {
	/* settings, from struct common, environment and config */
	char *profile;             /* the active profile ("default" if none was named) */
	char *profile_section;     /* its config file section: "default" or "profile NAME" */
	int profile_explicit;      /* --profile given: the environment provider is skipped */
	const char *ua;            /* User-Agent */
	char *region;              /* resolved lazily by aws_region */
	const char *endpoint_url;  /* --endpoint-url */
	struct ini *config, *credentials;
	int max_attempts;
	int retry_mode;            /* 0 standard, 1 legacy, 2 adaptive (standard plus a rate limiter) */
	int connect_timeout_ms;    /* 10 s, or AWSBOX_CONNECT_TIMEOUT */
	int read_timeout_ms;       /* 60 s, or AWSBOX_READ_TIMEOUT; lambdainvoke raises it unless that is set */
	/* botocore's request_checksum_calculation and response_checksum_validation set to
	 * when_required (AWS_REQUEST_CHECKSUM_CALCULATION, AWS_RESPONSE_CHECKSUM_VALIDATION or the
	 * profile): S3 writes carry no checksum, and reads ask for none (no x-amz-checksum-mode)
	 * and check none, unless the caller asks for one. For stores that do not know them. */
	int checksum_when_required, validation_when_required;
	/* shared state, guarded by lock (a plain mutex, never held across a network call) */
	pthread_mutex_t lock;
	struct creds creds;
	int have_creds;
	int refreshing;            /* a thread is running the credential chain; others wait on creds_cv */
	unsigned creds_gen;        /* refreshes finished */
	int creds_failed;          /* the last one failed, with creds_err */
	struct err creds_err;
	pthread_cond_t creds_cv;
	long clock_offset;         /* seconds to add to the local clock (from RequestTimeTooSkewed) */
	int retry_tokens;          /* standard-mode retry quota */
	struct ratelimit rate;     /* adaptive mode */
	/* the instance-metadata session, guarded by imds_lock (held across its short requests, so
	 * that one token is fetched, as the SDKs' token providers do) */
	pthread_mutex_t imds_lock;
	char *imds_token;          /* IMDSv2 session token, reused */
	double imds_token_expires; /* mono_now() seconds */
	int imds_state;            /* 0 unknown, 1 answers, 2 answers 403 (turned off), -1 unreachable */
	struct http_pool pool;
};

/* Sets a up from the common options, the environment and the config files. */
int aws_init(struct aws *a, const struct common *c, struct err *e);
void aws_free(struct aws *a);
/* Dies with the right exit code on failure. */
void xaws_init(struct aws *a, const struct common *c);
/* A profile setting: the active profile's key in the config file (NULL if none). */
const char *aws_config(struct aws *a, const char *key);
/* A profile's key as botocore merges the files: the credentials file first, then the config. */
const char *aws_profile_key(struct aws *a, const char *profile, const char *key);

struct aws_req {
	const struct svc *svc;
	const char *method;        /* "GET"; JSON and query calls use POST */
	const char *bucket;        /* S3: bucket (virtual-host or path style); NULL otherwise */
	const char *path;          /* raw path below the endpoint (encoded here); "/" if NULL */
	const struct kv *query;    /* raw pairs */
	int nquery;
	const struct kv *hdrs;     /* extra headers (x-amz-*, content-type, range, ...) */
	int nhdrs;
	const struct http_body *body;
	const char *payload_hash;  /* NULL: SHA-256 of an in-memory body (UNSIGNED-PAYLOAD for S3 over TLS) */
	const char *target;        /* JSON protocol: operation name for X-Amz-Target */
	int not_idempotent;        /* do not resend once it may have reached the server (Lambda Invoke) */
	int read_timeout_ms;       /* 0: the context's */
	int total_ms;              /* 0: none; else each attempt's whole response within it (http_req.total_ms):
				    * the credential chain's own calls (STS, SSO) */
	double deadline;           /* mono_now() seconds by which the call must end (a user's --timeout); 0: none */
	int quiet_body;            /* --debug must not show the response body */
	http_sink sink;            /* 2xx bodies go to sink; else collected into out */
	void *sink_ctx;
	struct buf *out;
	size_t max;
	const char *op;            /* operation name for messages and the debug trace */
	const int *stop;           /* once *stop is set (a parallel transfer failed or was interrupted),
				    * no more retries; NULL: none */
	const char *region;        /* aws_call: this region instead of the context's (SSO's sso_region) */
};

/* aws_call's request (aws.c), to ep and signed with c (NULL: unsigned), as it is sent: what the
 * credential chain uses for its own STS calls. */
int aws_send(struct aws *a, const struct aws_req *q, const struct endpoint *ep, const struct creds *c,
	     struct http_resp *r, struct err *e);

/* aws_send in steps, for a caller that fetches credentials for each attempt (aws_call: a retry
 * is signed with credentials refreshed meanwhile). aws_send_begin (-1: a request that cannot be
 * sent), then while aws_send_ready (-1: the deadline has passed) allows, aws_send_try (0: done,
 * r filled; 1: send again; -1: failed, e says why); then always aws_send_end. */
struct aws_send {
	/* private */
	struct aws *a;
	const struct aws_req *q;
	const struct endpoint *ep;
	struct http_resp *r;
	struct buf path, target, authz, errbody;
	const char *payload;      /* x-amz-content-sha256 and the signature's payload hash */
	char host[300], amzdate[17], hash[65], ctype[64], xtarget[128];
	struct kv *h;             /* the caller's headers and ours */
	int nh, sends, attempt, skew_fixed, cto, rto;
	uint64_t delivered;       /* body bytes given to the caller's sink */
};
int aws_send_begin(struct aws_send *k, struct aws *a, const struct aws_req *q, const struct endpoint *ep,
		   struct http_resp *r, struct err *e);
int aws_send_ready(struct aws_send *k, struct err *e);
int aws_send_try(struct aws_send *k, const struct creds *c, struct err *e);
void aws_send_end(struct aws_send *k);

/* aws_send to q->svc in region (NULL: STS's global endpoint), where --endpoint-url does not
 * apply, signed with c (NULL: unsigned): the credential chain's own calls (STS, SSO). */
int aws_send_to(struct aws *a, const struct aws_req *q, const char *region, const struct creds *c,
		struct http_resp *r, struct err *e);

/* The form of a query-protocol call: Action, Version and params, encoded. */
void aws_query_form(const struct svc *svc, const char *action, const struct kv *params, int n, struct buf *form);

/* ---- call.c: one AWS call as applets make it -------------------------------------------- */

/* Valid credentials (resolved once, refreshed before they expire); copies into c. */
int aws_creds(struct aws *a, struct creds *c, struct err *e);
/* endpoint_resolve for the context's region (aws_region). */
int aws_endpoint(struct aws *a, const struct svc *svc, const char *bucket, int use_flag, struct endpoint *ep,
		 struct err *e);

/* One call: resolve endpoint, sign, send, retry per policy, parse errors of the protocol
 * into e (E_AWS with status, code and message). r is filled on success (2xx).
 * With q->deadline, each attempt's connect and read timeouts are cut to the time left and no
 * retry starts (nor backoff sleeps) past it: a retry that would is not made and the last error
 * is returned at once; an attempt cut off by the deadline, or a call made after it, fails with
 * E_TIMEOUT, returned only once mono_now() >= q->deadline (so the caller can tell it by the clock).
 * The credential chain and region lookup are not bounded by it. */
int aws_call(struct aws *a, const struct aws_req *q, struct http_resp *r, struct err *e);

/* JSON protocol call: body is the JSON request; out receives the JSON response. */
int aws_json(struct aws *a, const struct svc *svc, const char *op, const char *body, struct buf *out,
	     struct err *e);
/* aws_json with tmpl (may be NULL) supplying quiet_body, read_timeout_ms, deadline, not_idempotent, max
 * (set quiet_body for responses that hold secrets: SSM values, Secrets Manager secrets). */
int aws_json_req(struct aws *a, const struct svc *svc, const char *op, const char *body,
		 const struct aws_req *tmpl, struct buf *out, struct err *e);
/* Query protocol call: params (without Action/Version) form-encoded; out gets the XML.
 * tmpl (may be NULL) supplies quiet_body, deadline and the like, as for aws_json_req. */
int aws_query(struct aws *a, const struct svc *svc, const char *action, const struct kv *params, int n,
	      const struct aws_req *tmpl, struct buf *out, struct err *e);

/* ---- retry.c ---------------------------------------------------------------------------- */

int err_is_throttle(const struct err *e);
int err_is_transient(const struct err *e); /* 5xx, connection errors, timeouts */
int err_is_clock_skew(const struct err *e);
/* Whether to retry after attempt (1-based) failed with e; sets *delay (seconds). Takes
 * retry tokens from a's quota. */
int retry_decide(struct aws *a, const struct err *e, int attempt, int idempotent, double *delay);
void retry_success(struct aws *a); /* refunds the quota */
/* Adaptive mode: waits until the rate limiter lets a request go (no-op in other modes). */
void retry_rate_wait(struct aws *a);

/* ---- jquery.c: JSON path queries (secretget --query) ------------------------------------ */

/* A path is segments joined by '.': a key (any bytes but '.' and '['), [N] (an array index;
 * negative counts from the end), ["key"] (JSON string syntax) or ['key'] (\' and \\ escapes),
 * for keys holding dots or brackets. A bracket may follow a segment directly or after a '.':
 * foo.bar[1], foo.bar.[1] and ["key.with.dots"].x all work; a leading '.' is allowed and "."
 * alone is the root. A bare all-digit key indexes an array (foo.1). Of duplicated keys the
 * last wins (as json_get, jq and Python). */
/* Checks the syntax only: -1 with e (E_USAGE, the offending position) if bad. */
int json_query_check(const char *path, struct err *e);
/* Finds path below root (a value from a validated document). -1 with e: E_USAGE for a bad
 * path, E_NOTFOUND when it is not there (e->msg names the path and why). out is a slice of
 * root's document. */
int json_query(struct json root, const char *path, struct json *out, struct err *e);
/* Appends v without insignificant whitespace (strings and numbers byte for byte). */
void json_compact(struct json v, struct buf *out);
/* Appends v as text: a string unescaped, anything else as compact JSON (null as "null"). */
void json_text(struct json v, struct buf *out);

/* ---- envout.c: values into pipelines, environments and processes (ssmget, secretget) ---- */

/* Output formats. VALUE: each value and a newline. ENV: NAME=value, as env(1) prints it (not
 * parseable when a value holds a newline). EXPORT: export NAME='value', POSIX single quotes with
 * ' written '\'' (safe to eval for any bytes but NUL). JSON: one object {"NAME":"value",...} on
 * one line. DOTENV: python-dotenv's dialect (what docker compose also reads for these escapes):
 * NAME="value" with \\ \" \n \r escaped and everything else literal; a one-line value ending
 * in a backslash is written unquoted (python-dotenv cannot read one quoted). */
enum { ENVOUT_VALUE, ENVOUT_ENV, ENVOUT_EXPORT, ENVOUT_JSON, ENVOUT_DOTENV };
/* "value" (or "raw"), "env", "export", "json", "dotenv" -> ENVOUT_*; -1 if none. */
int envout_format(const char *s);

struct envvar {
	char *name;  /* NULL: a value without a name (ENVOUT_VALUE only) */
	char *src;   /* where it came from, for messages: "/app/db-host", "db/creds key user" */
	char *val;   /* len bytes, NUL-terminated; may hold NUL bytes */
	size_t len;
};
/* An ordered set of variables. Zero-initialise; free with envout_free (values are zeroed). */
struct envout {
	struct envvar *v;
	size_t n, cap;
};
/* Whether s is a POSIX environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
int envout_name_valid(const char *s);
/* Derives a name from s (n bytes): ASCII letters upper-cased, digits kept, every other
 * character (a UTF-8 sequence counts as one) becomes '_', and '_' goes first if it would start
 * with a digit. Appends to out; -1 if s is empty. */
int envout_name(const char *s, size_t n, struct buf *out);
/* Adds a copy of name (NULL allowed, see envvar), src and the value. -1 with e (E_USAGE) if the
 * name is invalid or already taken by another source ("SRC1 and SRC2 both map to NAME"); the
 * same name from the same src again takes the new value (a name asked for twice, a JSON key
 * repeated: the last wins). */
int envout_add(struct envout *o, const char *name, const char *src, const void *val, size_t n, struct err *e);
/* Appends the whole output in format fmt to out, so a failure prints nothing. nl 0: VALUE
 * without the final newline. -1 with e (E_USAGE) when a value cannot be written in fmt (NUL in
 * a value, a nameless value for a named format, a dotenv value it cannot represent). */
int envout_render(const struct envout *o, int fmt, int nl, struct buf *out, struct err *e);
/* Appends s single-quoted for a POSIX shell: 'it'\''s'. */
void envout_shquote(struct buf *b, const char *s, size_t n);
/* Replaces the process with argv[0] (found in the current PATH) run with the current
 * environment (none when pristine) plus o's variables, which win over inherited ones. Returns
 * only on failure: fills e and returns the exit status a shell gives (127 not found, 126 could
 * not run; 2 for a value holding NUL). */
int envout_exec(const struct envout *o, char *const argv[], int pristine, struct err *e);
void envout_free(struct envout *o);
/* The --exec rules both applets share: -1 with e (E_USAGE) when broken. */
int envout_check_exec(int exec, size_t ncmd, int fmt_given, const char *output, int nonl, int pristine,
		      struct err *e);

/* ---- file.c: atomic output files -------------------------------------------------------- */

/* A file written beside its target under a temporary name and renamed over it on commit, so
 * readers see the old file or the whole new one, never a part. The temporary file is created
 * O_EXCL with the final mode (open(2): the umask applies) and is removed by file_abort, at
 * exit(), and on SIGINT, SIGTERM or SIGHUP (a handler unlinks every open temporary file and
 * re-raises; it is installed only for signals whose action is the default). A target that is
 * a symlink is resolved (the link stays, its file is replaced); one that exists and is not a
 * regular file (/dev/stdout, a FIFO) is written in place. Caller-owned; several may be open at
 * once, from several threads. */
struct outfile {
	int fd;      /* the temporary file; callers may pwrite/ftruncate it (parallel downloads) */
	char *path;  /* target (symlinks resolved) */
	char *tmp;   /* temporary file beside it; NULL when writing in place */
	int slot;    /* in the cleanup registry; -1 when not registered */
	int direct;  /* writing in place (not a regular file) */
};
/* A new file gets mode (less the umask); a file replaced keeps its owner (as root) and its
 * permissions, limited to mode plus execute bits. -1 with e (E_IO; E_NOTFOUND if the
 * directory does not exist) on failure. */
int file_open(struct outfile *f, const char *path, mode_t mode, struct err *e);
/* For a secret: the file is the caller's, mode exactly 0600, whatever was there (root replacing
 * another user's file must not give it the secret); a symlink at path is refused (one planted in
 * a shared directory would send the secret where its owner wants); a device or FIFO is written
 * only when it belongs to the caller or to root. */
int file_open_secret(struct outfile *f, const char *path, struct err *e);
int file_write(struct outfile *f, const void *p, size_t n, struct err *e);
/* fsync, close, rename over the target, fsync the directory. On failure the temporary file is
 * removed and the target is untouched. f is closed either way. */
int file_commit(struct outfile *f, struct err *e);
/* Closes and removes the temporary file; the target is untouched. Safe to call twice and on a
 * zeroed struct after a failed file_open. */
void file_abort(struct outfile *f);
/* Files committed in groups (s3cp -r): file_batch_add closes f's temporary file unsynced and
 * keeps it waiting (f is emptied; it stays registered for removal on a signal); every
 * FILE_BATCH files, and at file_batch_flush, one syncfs per file system makes the group's data
 * durable, then each is renamed over its target and each directory fsynced once; done(arg,
 * rc, e) follows for each (rc -1: removed, target untouched). So a name never points at data
 * that is not on disk, as with file_commit, for one sync per group instead of two per file.
 * file_batch_add returns 0 (waiting), 1 (committed at once: a file written in place), or -1
 * (failed, f aborted). Thread-safe; done runs on the thread that flushes. */
#define FILE_BATCH 64
struct file_waiting {
	struct outfile f;
	void *arg;
	dev_t dev;
	int synced;
};
struct file_batch {
	pthread_mutex_t m;
	struct file_waiting *w;
	int n, cap;
	void (*done)(void *arg, int rc, struct err *e);
};
int file_batch_add(struct file_batch *b, struct outfile *f, void *arg, struct err *e);
void file_batch_flush(struct file_batch *b);
/* Removes the waiting files (an interrupt): done(arg, -1, NULL) for each. */
void file_batch_abort(struct file_batch *b);
/* Makes the directories above path's last '/' (mode 0777 less the umask), as mkdir -p; NULL, or
 * the one that could not be made (xmalloc'd, errno set). A directory made or found once is
 * remembered for the rest of the process and not asked for again. */
char *file_mkdirs(const char *path);
/* n bytes of p as the whole of a secret file: file_open_secret, file_write, file_commit. */
int file_put_secret(const char *path, const void *p, size_t n, struct err *e);

/* ---- s3.c, s3put.c: S3 objects for s3cp and s3watch ---------------------------------- */

/* s3://BUCKET/KEY. Caller-owned; s3url_free frees key. */
struct s3url {
	char bucket[256];
	char *key; /* raw (not encoded); "" for s3://BUCKET and s3://BUCKET/ */
};
int s3_is_url(const char *s); /* starts with s3:// */
/* Parses s: the bucket as botocore accepts it ([A-Za-z0-9._-], legacy names included; the service
 * enforces the rest), the key valid UTF-8 of at most 1024 bytes (E_USAGE otherwise). */
int s3_parse_url(const char *s, struct s3url *u, struct err *e);
/* Content-Type from a name's extension (the common ones; NULL: let S3 default it). */
const char *s3_content_type(const char *name);
/* Whether a key's part below a prefix is a safe relative path to write to (no "..", not empty,
 * not a "directory" ending in '/'): s3cp -r downloads. */
int s3_rel_path_safe(const char *rel);
int s3_valid_key(const char *k, size_t n, struct err *e);
void s3url_free(struct s3url *u);

/* Checksums S3 knows (and MD5, for single-part ETags). */
enum { S3_CK_NONE, S3_CK_CRC32C, S3_CK_CRC32, S3_CK_CRC64NVME, S3_CK_SHA256, S3_CK_SHA1, S3_CK_MD5 };
const char *s3_ck_name(int ck);  /* "crc32c": as in x-amz-checksum-crc32c */
const char *s3_ck_upper(int ck); /* "CRC32C": as in x-amz-checksum-algorithm and ChecksumCRC32C */
int s3_ck_parse(const char *name); /* case-insensitive; -1 if unknown */
int s3_ck_is_crc(int ck);
/* A running checksum of any kind. Caller-owned, nothing to free. */
struct s3_sum {
	int ck;
	uint64_t crc;
	uint64_t ctx[32]; /* BearSSL hash context */
};
void s3_sum_init(struct s3_sum *s, int ck);
void s3_sum_update(struct s3_sum *s, const void *p, size_t n);
size_t s3_sum_raw(const struct s3_sum *s, unsigned char raw[64]); /* digest bytes (CRCs big-endian) */
void s3_sum_b64(const struct s3_sum *s, char out[96]);             /* as x-amz-checksum-* carry it */
void s3_crc_b64(int ck, uint64_t crc, char out[96]);
/* CRC of A||B from crc(A), crc(B) and len(B); ck a CRC. Parallel pieces combine into the whole. */
uint64_t s3_crc_combine(int ck, uint64_t crc_a, uint64_t crc_b, uint64_t len_b);

/* What HeadObject (or a GET's headers) says about an object. Caller-owned; s3obj_free. */
struct s3obj {
	int status;
	int64_t size;          /* Content-Length (of the part, for ?partNumber) */
	time_t mtime;
	char etag[100];        /* as sent, quotes included */
	int mp_parts;          /* N of a multipart ETag "...-N", else 0 */
	int parts_count;       /* x-amz-mp-parts-count (HEAD ?partNumber), else 0 */
	int ck;                /* S3_CK_* of the checksum S3 reported; S3_CK_NONE if none */
	char ckval[100];       /* its base64 value without a "-N" */
	int ck_composite;      /* a checksum of the parts' checksums, not of the data */
	int ck_parts;          /* its N, when known */
	int kms;               /* SSE-KMS or SSE-C: the ETag is not the MD5 of the data */
	struct buf head;       /* the response's header lines ("name: value\n"), for copying metadata */
};
/* HeadObject with x-amz-checksum-mode: ENABLED (part > 0: ?partNumber=part). A 404 (no such key
 * or bucket: a HEAD answer has no body to tell) is E_AWS status 404 without a code. */
int s3_head(struct aws *a, const char *bucket, const char *key, int part, struct s3obj *o, struct err *e);
void s3obj_from_resp(const struct http_resp *r, struct s3obj *o);
void s3obj_free(struct s3obj *o);

/* ListObjectsV2, one page (up to 1,000 keys) in memory at a time. Zero-initialise, set bucket and
 * prefix (borrowed), call s3_list_next until it returns 0, then s3_list_free. */
struct s3_entry {
	const char *key;  /* decoded; valid until the next call */
	size_t key_len;
	int64_t size;
	time_t mtime;
	char etag[100];
};
struct s3_list {
	const char *bucket, *prefix;
	int max_keys;      /* 0: the service's (1,000) */
	double deadline;   /* for each page's call: aws_req.deadline */
	time_t server_now; /* Date of the last page; 0 if none */
	/* private */
	struct buf page, token, key;
	struct xml root;
	size_t pos;
	int have_page, truncated, done, encoded;
};
int s3_list_next(struct aws *a, struct s3_list *l, struct s3_entry *ent, struct err *e); /* 1, 0 end, -1 */
void s3_list_free(struct s3_list *l);

/* An upload body read from somewhere (a file with pread, a buffer): len bytes; read fills up
 * to n (returns the count, -1 with e on error); rewind goes back to the start for a retry. */
struct s3_src {
	long (*read)(void *ctx, void *buf, size_t n, struct err *e);
	int (*rewind)(void *ctx);
	void *ctx;
	int64_t len;
};
/* aws-chunked with a trailing checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER): s3_chunked_init sets
 * body to send src in 64 KiB chunks and "x-amz-checksum-NAME:VALUE" after them; c owns a small
 * buffer (s3_chunked_free). Rewinds with src. c->sum holds the checksum once body is sent. */
struct s3_chunked {
	struct s3_src src;
	int ck;
	struct s3_sum sum;
	char trailer[40]; /* x-amz-checksum-NAME, for x-amz-trailer */
	char *buf;
	size_t pos, len;
	int64_t left;
	int state;
};
void s3_chunked_init(struct s3_chunked *c, const struct s3_src *src, int ck, struct http_body *body);
void s3_chunked_free(struct s3_chunked *c);

/* What an upload sends besides its data. Strings borrowed; meta are full header names
 * ("x-amz-meta-k") and values; at most 20. */
#define S3_META_MAX 20      /* --metadata pairs a command line may give */
#define S3_COPY_META_MAX 40 /* a source's content headers and user metadata a copy carries over */
#define S3_PUT_HDRS (16 + S3_COPY_META_MAX + S3_META_MAX) /* room for put_headers */
struct s3_put {
	const char *acl, *sse, *kms_key, *storage_class, *content_type, *cache_control;
	const struct kv *meta;
	int nmeta;
	int no_overwrite; /* If-None-Match: * (PutObject, CompleteMultipartUpload) */
	int ck;           /* S3_CK_NONE, CRC32C, CRC32 or SHA256 */
	const int *stop;  /* a parallel transfer's stop flag for its parts (aws_req.stop); NULL: none */
};
struct s3_part {
	char etag[100];
	char ck[96]; /* base64 checksum of the part ("" if none) */
	int64_t size;
};
/* 1 if S3 for bucket is reached over TLS, 0 plain HTTP, -1 on error. */
int s3_tls(struct aws *a, const char *bucket, struct err *e);
/* PutObject (part 0) or UploadPart (part >= 1 of upload_id) of len bytes from mem, or streamed from
 * src when mem is NULL. Over TLS the payload is not hashed: the checksum goes in a header (mem) or
 * an aws-chunked trailer (src); over plain HTTP the payload's SHA-256 is signed, as botocore does,
 * and src is read twice. out (may be NULL) receives the ETag and checksum. */
int s3_put_body(struct aws *a, const char *bucket, const char *key, const struct s3_put *p, const char *upload_id,
		int part, const void *mem, const struct s3_src *src, int64_t len, struct s3_part *out, struct err *e);
/* CreateMultipartUpload; *upload_id is xmalloc'd. */
int s3_mpu_create(struct aws *a, const char *bucket, const char *key, const struct s3_put *p, char **upload_id,
		  struct err *e);
/* CompleteMultipartUpload of parts 1..n (an <Error> in a 200 answer is an error, retried if
 * InternalError). */
int s3_mpu_complete(struct aws *a, const char *bucket, const char *key, const struct s3_put *p, const char *upload_id,
		    const struct s3_part *parts, int n, struct err *e);
int s3_mpu_abort(struct aws *a, const char *bucket, const char *key, const char *upload_id, struct err *e); /* NoSuchUpload is success */
int s3_delete(struct aws *a, const char *bucket, const char *key, struct err *e);
/* CopyObject (x-amz-metadata-directive COPY, or REPLACE with p's content type, cache control
 * and metadata). */
int s3_copy_object(struct aws *a, const char *sbucket, const char *skey, const char *bucket, const char *key,
		   const struct s3_put *p, int replace_meta, struct err *e);
/* UploadPartCopy of source bytes first..last (inclusive); p: the upload's checksum algorithm
 * (ck) and stop flag. */
int s3_part_copy(struct aws *a, const char *sbucket, const char *skey, const char *bucket, const char *key,
		 const char *upload_id, int part, int64_t first, int64_t last, const char *if_match,
		 const struct s3_put *p, struct s3_part *out, struct err *e);

/* ---- sqs.c: SQS queues (sqssend, sqsrecv) over the JSON protocol ------------------------ */

/* QUEUE as a URL into *url (xmalloc'd): a URL as given, a name or an ARN looked up once with
 * GetQueueUrl. A URL or ARN naming another region than a's moves a there, unless an endpoint
 * was set. E_USAGE for a malformed ARN. */
int sqs_queue_url(struct aws *a, const char *q, char **url, struct err *e);
/* Appends {"QueueUrl":"URL" (no closing brace): how every request starts. */
void sqs_req_start(struct buf *b, const char *url);
/* GetQueueAttributes of names (quoted JSON strings joined by ','); out receives the response
 * and *attrs is its Attributes object (a slice of out). */
int sqs_queue_attrs(struct aws *a, const char *url, const char *names, struct buf *out, struct json *attrs,
		    struct err *e);
/* Whether SQS takes text (n bytes at p) in a message: 0, or -1 with why (size nwhy) saying
 * where and why not (not UTF-8, or a character outside XML's: SQS allows only U+9, U+A, U+D,
 * U+20-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF). */
int sqs_text_check(const char *p, size_t n, char *why, size_t nwhy);
/* A message attribute NAME=TYPE:VALUE (TYPE String, Number or Binary, or TYPE.custom; a Binary
 * VALUE in base64) appended to json as a MessageAttributes member ("NAME":{...}, after a ','
 * unless json is empty); *size grows by what it adds to a message's size. -1 with e (E_USAGE). */
int sqs_attr_parse(const char *spec, struct buf *json, size_t *size, struct err *e);
/* One entry's outcome in a *Batch call: SQS_OK (Successful), SQS_FAILED (Failed, the sender's
 * fault: for good), SQS_RETRY (Failed on the service's side: worth another try), SQS_MISSING (in
 * neither list: it may or may not have been done). */
enum { SQS_OK, SQS_FAILED, SQS_RETRY, SQS_MISSING };
#define SQS_BATCH 10 /* entries a *Batch call takes */
struct sqs_result {
	int state;
	char code[64], msg[300];
};
/* Reads a *Batch response: res[i] for the entry whose Id is ids[i]. -1 (E_PROTO) if not JSON. */
int sqs_batch_parse(const char *p, size_t n, const char *const *ids, int nid, struct sqs_result *res, struct err *e);
/* One *Batch call (op "DeleteMessageBatch", ...) of the JSON request req whose entries have the
 * Ids ids[0..n-1]; res[i] for each. -1 with e when the call failed as a whole. */
int sqs_batch(struct aws *a, const char *op, const char *req, const char *const *ids, int n, struct sqs_result *res,
	      struct err *e);

/* DeleteMessageBatch (vis NULL) or ChangeMessageVisibilityBatch (vis[i] seconds) of the n (<= 10)
 * receipt handles rh; entries SQS fails on its side are sent again (a->max_attempts rounds in all,
 * with backoff). res[i] is each one's outcome, SQS_MISSING for those not answered when a call
 * failed as a whole (then -1 with e). */
int sqs_handles(struct aws *a, const char *url, const char *const *rh, const int *vis, int n, struct sqs_result *res,
		struct err *e);

/* The objects an S3 event notification names: S3's own (Records[].s3), the same inside an SNS
 * envelope (its Message), or an EventBridge event (source aws.s3, detail.bucket/object). Keys
 * are decoded as S3 encodes them in notifications ('+' a space, %XX a byte). Caller-owned:
 * s3_events_free. */
struct s3_event {
	char *bucket, *key; /* key may hold NUL: key_len */
	size_t key_len;
	int64_t size;       /* -1 if not given */
	char *event;        /* eventName ("ObjectCreated:Put") or detail-type ("Object Created") */
};
struct s3_events {
	struct s3_event *rec;
	int n;
	int test; /* s3:TestEvent: no records */
};
/* 0 with ev filled (n >= 1, or test), -1 if body is not an S3 event notification. */
int s3_events_parse(const char *body, size_t n, struct s3_events *ev);
void s3_events_free(struct s3_events *ev);

/* ---- proc.c: commands run beside awsbox (sqsrecv --exec) ------------------------------- */

/* Appends NAME=value and a NUL to vars, the form proc_spawn takes. */
void proc_var(struct buf *vars, const char *name, const char *val, size_t n);
/* Starts argv[0] (found in PATH) in a process group of its own (kill(-pid) reaches all of it),
 * signals at their defaults, stdout and stderr inherited, the n bytes at in on its stdin, and the
 * current environment with vars (nvars bytes of "NAME=value\0" from proc_var) set over it.
 * *pid on success, for the caller to wait for; -1 with e (E_NOTFOUND: no such command). */
int proc_spawn(char *const argv[], const char *vars, size_t nvars, const void *in, size_t n, pid_t *pid, struct err *e);

/* ---- transfer.c, download.c: parallel S3 transfers (s3cp) ---------------------------- */

/* Settings and progress of transfers. Caller-owned; one transfer at a time per struct. Workers
 * are threads sharing a (region and credentials must be resolved before). An interrupt (*cancel
 * set, e.g. by a signal handler) stops them; a transfer then returns -1 "interrupted" within
 * about 2 s even if a worker is stuck in a request (that worker's memory is then left alone). */
struct xfer {
	struct aws *a;
	int concurrency;                 /* parallel requests; 0: 8 */
	int64_t part_size;               /* raised to stay within 10,000 parts */
	volatile int *cancel;            /* may be NULL; set from a signal handler */
	/* called from the calling thread about 5 times a second while workers run */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	char verified[64];               /* after a download: the checksum checked ("crc32c",
					  * "composite crc32", "md5"), "" if none could be */
	char unverified[160];            /* and why not, when S3 stored none that could be checked
					  * (the caller says so: "not verified: ..."); "" otherwise */
	char op[48];                     /* after a failure: the request that failed ("UploadPart 3",
					  * "CompleteMultipartUpload") or "read" (the source) */
	/* private */
	int stop;
	uint64_t done, total;
};
/* The part size for size bytes: part, raised (to a whole MiB) to stay within 10,000 parts. */
int64_t xfer_part_size(int64_t size, int64_t part);
/* Uploads size bytes of the file fd (read with pread): PutObject up to the part size, else a
 * multipart upload in parallel; a failed or interrupted multipart upload is aborted. */
int xfer_upload_file(struct xfer *x, int fd, int64_t size, const char *bucket, const char *key, const struct s3_put *p,
		     struct err *e);
/* Uploads a stream (stdin) until EOF: memory is at most concurrency x part size. expected > 0:
 * its approximate size, to choose the part size. */
int xfer_upload_stream(struct xfer *x, int fd, const char *bucket, const char *key, const struct s3_put *p,
		       int64_t expected, struct err *e);
/* Blocks SIGINT, SIGTERM and SIGHUP in a worker thread: the main thread handles them. */
void xfer_block_signals(void);
/* Downloads the object o (from s3_head) to fd: with pwrite at offsets when seekable, else in
 * order through a window of concurrency pieces. Verifies what S3 stored (full-object checksum,
 * composite checksum part by part, or a single-part ETag's MD5) unless ck is S3_CK_NONE; a
 * mismatch is E_IO "checksum mismatch". The object may not change meanwhile (If-Match). */
int xfer_download(struct xfer *x, const char *bucket, const char *key, const struct s3obj *o, int ck, int fd,
		  int seekable, struct err *e);
/* Independent jobs on the same worker pool (s3cp -r: one per object that takes one request), as
 * they come: up to x->concurrency at once, each job run(ctx, job) on a worker thread (signals
 * blocked there). A job's failure is run's to report; the others go on. xqueue_add blocks while
 * 256 jobs wait, calling x->progress (done counts the jobs finished) about 5 times a second; it
 * returns -1 after an interrupt (*x->cancel), leaving the job to the caller. xqueue_finish
 * waits for every job (after an interrupt, 3 s at most) and frees q; drop (may be NULL)
 * receives the jobs never started. xqueue_start returns NULL with e when no thread starts. */
struct xqueue;
struct xqueue *xqueue_start(struct xfer *x, int (*run)(void *ctx, void *job), void (*drop)(void *job), void *ctx,
			    struct err *e);
int xqueue_add(struct xqueue *q, void *job);
/* Called by a job after an interrupt: its worker stops here for good, leaving the job's state
 * untouched for transfer threads that may still be in a request; not waited for, never returns. */
NORETURN void xqueue_park(struct xqueue *q);
int xqueue_finish(struct xqueue *q, struct err *e);
/* Server-side copy of so (from s3_head of the source): CopyObject up to threshold bytes, else a
 * multipart copy (UploadPartCopy in parallel) carrying the source's metadata unless replace_meta. */
int xfer_copy(struct xfer *x, const char *sbucket, const char *skey, const struct s3obj *so, const char *bucket,
	      const char *key, const struct s3_put *p, int replace_meta, int64_t threshold, struct err *e);

#endif
