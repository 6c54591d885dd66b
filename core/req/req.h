/* req.h — the req layer of core: one signed AWS request: settings, endpoints, SigV4, retry policy, sending (ARCHITECTURE.md). */
#ifndef AWSBOX_REQ_H
#define AWSBOX_REQ_H
#include "wire/wire.h"

/* ---- opt.c: the command line, parsed the same way for every applet ------------------- */
/* Options every applet accepts; parsed once, here. */
struct common {
	const char *region, *profile, *endpoint_url, *ca_bundle;
	int debug, quiet;
};

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
/* Whether r is a region AWS has (the list in endpoint.c). */
int region_known(const char *r);
/* The known region nearest r (edit distance 3 or less), else NULL. */
const char *region_nearest(const char *r);

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

/* ---- retry.c ---------------------------------------------------------------------------- */
int err_is_throttle(const struct err *e);
int err_is_transient(const struct err *e); /* 5xx, connection errors, timeouts */
int err_is_clock_skew(const struct err *e);
/* Whether to retry after attempt (1-based) failed with e; sets *delay (seconds). Takes
 * retry tokens from a's quota. */
int retry_decide(struct aws *a, const struct err *e, int attempt, int idempotent, double *delay);
void retry_success(struct aws *a); /* refunds the quota */
/* The pause after attempt (1-based) failed: exponential backoff with full jitter, a random time
 * below 2^(attempt-1) seconds, at most 20. */
double retry_backoff(int attempt);
/* Adaptive mode: waits until the rate limiter lets a request go (no-op in other modes). */
void retry_rate_wait(struct aws *a);

#endif
