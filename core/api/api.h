/* api.h — the api layer of core: aws_call: endpoint, cached credentials and the request, as applets make calls; SQS queues; SSM documents run (ARCHITECTURE.md). */
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
/* Whether q (a queue's URL, name or ARN) is a FIFO queue: its name ends in ".fifo". */
int sqs_is_fifo(const char *q);
/* The queue attribute name (GetQueueAttributes) into *val (xmalloc'd; NULL when the answer
 * has no such attribute). */
int sqs_queue_attr(struct aws *a, const char *url, const char *name, char **val, struct err *e);
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

/* ReceiveMessage of up to max messages, waiting up to wait seconds for them, with all their
 * attributes; vis > 0 asks for that visibility timeout. out receives the response. */
int sqs_receive(struct aws *a, const char *url, int max, int wait, int vis, struct buf *out, struct err *e);

/* One message of a ReceiveMessage response. Caller-owned: sqs_msg_free. */
struct sqs_msg {
	char *id, *rh, *group; /* MessageId, ReceiptHandle, MessageGroupId (FIFO queues; else NULL) */
	struct buf body;
	long count;     /* ApproximateReceiveCount */
	struct buf env; /* the message as variables for a command (proc_var's form): SQS_MESSAGE_ID,
			 * SQS_RECEIPT_COUNT, SQS_QUEUE_URL (url), SQS_GROUP_ID, SQS_ATTR_NAME each */
};
/* 0 with m filled from j (an item of Messages), -1 if it has no MessageId, ReceiptHandle or Body. */
int sqs_msg_parse(struct json j, const char *url, struct sqs_msg *m);
void sqs_msg_free(struct sqs_msg *m);

/* ReceiveMessage in a thread of its own, so that the caller's loop goes on (commands,
 * heartbeats) through a long poll: one receive at a time, asked for with sqs_rx_ask, its answer
 * handed over whole by sqs_rx_take. The thread writes a byte to wake_fd when an answer is in, and
 * ends after a failed receive. Set a, url, vis (the VisibilityTimeout to ask for; 0: the queue's)
 * and wake_fd, then sqs_rx_start; the struct must outlive the thread (it is detached). */
struct sqs_rx {
	struct aws *a;
	const char *url;
	int vis, wake_fd;
	pthread_mutex_t m; /* for what follows */
	pthread_cond_t cv;
	int want, wait, tag; /* the next receive: messages (0: none for now), seconds, the caller's note */
	int busy;            /* a receive under way: 1 + its tag; else 0 */
	int have, failed, resp_tag;
	struct buf resp;
	struct err err;
};
/* Starts the thread (SIGINT, SIGTERM, SIGHUP blocked in it); -1 with e if it cannot start. */
int sqs_rx_start(struct sqs_rx *r, struct err *e);
/* The next receive: up to want messages (0: none for now), waiting up to wait seconds; tag comes
 * back with its answer. */
void sqs_rx_ask(struct sqs_rx *r, int want, int wait, int tag);
/* 1 with the answer that is in (resp, the caller's to free; *tag the one it was asked with), -1
 * with e when that receive failed, 0 when none is in. *busy: r->busy, at the same moment. */
int sqs_rx_take(struct sqs_rx *r, struct buf *resp, int *tag, int *busy, struct err *e);

/* Deletes or visibility changes of received messages, gathered for one *Batch call: a struct
 * holds one kind. */
struct sqs_ops {
	int n;
	char *rh[SQS_BATCH], *id[SQS_BATCH]; /* owned copies; id: the caller's name for each */
	int vis[SQS_BATCH];                  /* seconds; -1: delete */
	double since;                        /* mono_now() when the first of them was added */
};
/* Adds the receipt handle rh (id: the message's, for reports) to o, which has room (n < SQS_BATCH). */
void sqs_ops_add(struct sqs_ops *o, const char *rh, const char *id, int vis);
/* Sends o's entries with sqs_handles (res[i] each one's outcome, -1 with e as there); *op is the
 * call's name. o is left as it was: sqs_ops_clear empties it. */
int sqs_ops_send(struct aws *a, const char *url, const struct sqs_ops *o, const char **op, struct sqs_result *res,
		 struct err *e);
void sqs_ops_clear(struct sqs_ops *o);

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
/* The record r as variables for a command, appended to env (proc_var's form): S3_URL, S3_BUCKET,
 * S3_KEY, S3_SIZE ("" when not given), S3_EVENT. -1 when the key holds a NUL byte. */
int s3_event_env(const struct s3_event *r, struct buf *env);

/* ---- ssm.c: SSM documents run (ssmrun): parameters, the requests, waiting ---------------- */
/* Document parameters {"KEY":["value",...]} (targets too), in the order first given.
 * Caller-owned: ssm_params_free. */
struct ssm_param {
	char *key;
	struct buf vals; /* JSON array members: "a","b" */
};
struct ssm_params {
	struct ssm_param *p;
	int n;
};
/* The parameter KEY (n bytes), added if new. */
struct ssm_param *ssm_param_get(struct ssm_params *ps, const char *key, size_t n);
/* Appends the value v (n bytes) to p's list. */
void ssm_param_value(struct ssm_param *p, const char *v, size_t n);
/* KEY=VALUE into ps: VALUE split at commas not escaped as "\,"; "K=" is an empty list; a KEY
 * given again gets more values. -1 (E_USAGE) without a KEY=. */
int ssm_param_parse(struct ssm_params *ps, const char *arg, struct err *e);
void ssm_params_json(const struct ssm_params *ps, struct buf *b);
void ssm_params_free(struct ssm_params *ps);

/* StartAutomationExecution's request for doc (version may be NULL) with ps, into b: with a
 * fresh ClientToken, so that a retried start starts one execution. */
void ssm_automation_req(const char *doc, const char *version, const struct ssm_params *ps, struct buf *b);
/* A Run Command: doc (version, comment may be NULL) with ps, to the instances ids[0..nids-1], or
 * when nids is 0 to targets. */
struct ssm_command {
	const char *doc, *version, *comment;
	const struct ssm_params *ps, *targets;
	char **ids;
	int nids;
};
/* SendCommand's request for c, into b. */
void ssm_command_req(const struct ssm_command *c, struct buf *b);

/* Polls of a wait: 2.5 s apart for the first 4, 5 s up to the 16th, then 15 s, each +-20% and
 * times AWSBOX_POLL_SCALE (tests shrink them); never past the deadline. */
struct ssm_wait {
	double deadline; /* mono_now() seconds; 0: none */
	double scale;    /* AWSBOX_POLL_SCALE */
	int polls;
};
/* timeout 0: no deadline. -1 (E_USAGE) when AWSBOX_POLL_SCALE is not a factor in (0, 100]. */
int ssm_wait_init(struct ssm_wait *w, double timeout, struct err *e);
/* Sleeps until the next poll; -1 (at once) when the deadline has passed. */
int ssm_wait_sleep(struct ssm_wait *w);
/* One poll: the JSON call op to SSM, cut off at deadline (0: none). 0, or 1 when it failed in a
 * way worth polling again (throttled, 5xx, network, after aws_call's own retries: e says how),
 * 2 when the deadline cut it off, -1 on any other failure (e). */
int ssm_poll(struct aws *a, const char *op, const char *body, double deadline, struct buf *out, struct err *e);
/* Whether s is one of set (NULL-terminated). */
int ssm_status_in(const char *s, const char *const *set);

#endif
