/* api.h — the api layer of core: aws_call: endpoint, cached credentials and the request, as applets make calls; SQS queues (ARCHITECTURE.md). */
#ifndef AWSBOX_API_H
#define AWSBOX_API_H
#include "auth/auth.h"

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

#endif
