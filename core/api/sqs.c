/* sqs.c — SQS queues for sqssend and sqsrecv (JSON protocol): the queue's URL from a URL, name or
 * ARN, GetQueueAttributes, *Batch calls and their per-entry results, ReceiveMessage and its
 * messages (in a receiver thread of their own), and the S3 event notifications queues carry.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_Operations.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A queue in another region than the configured one is reached there, unless an endpoint
 * was set (a local emulator, a VPC endpoint): then it is all the user's choice. */
static void
use_region(struct aws *a, const char *region, size_t n)
{
	struct endpoint ep;
	struct err e = {0};
	const char *cur = aws_region(a, &e);

	if (!n || n >= 64 || (cur && strlen(cur) == n && !strncmp(cur, region, n)))
		return;
	if (!aws_endpoint(a, &SVC_SQS, NULL, 1, &ep, &e) && ep.custom)
		return;
	dbg("the queue is in %.*s", (int)n, region);
	free(a->region);
	a->region = xstrndup(region, n);
}

int
sqs_queue_url(struct aws *a, const char *q, char **url, struct err *e)
{
	struct buf req = {0}, out = {0};
	struct json root;
	int rc = -1;

	*url = NULL;
	if (!strncmp(q, "https://", 8) || !strncmp(q, "http://", 7)) {
		/* https://sqs.REGION.amazonaws.com[.cn]/ACCOUNT/NAME, and the legacy forms
		 * https://REGION.queue.amazonaws.com/... and https://queue.amazonaws.com/... (us-east-1) */
		const char *h = strchr(q, '/') + 2, *dot;
		if (!strncmp(h, "queue.amazonaws.com/", 20))
			use_region(a, "us-east-1", 9);
		else if (!strncmp(h, "sqs.", 4) && (dot = strchr(h + 4, '.')) && !strncmp(dot, ".amazonaws.com", 14))
			use_region(a, h + 4, (size_t)(dot - h - 4));
		else if ((dot = strchr(h, '.')) && !strncmp(dot, ".queue.amazonaws.com", 20))
			use_region(a, h, (size_t)(dot - h));
		*url = xstrdup(q);
		return 0;
	}
	buf_adds(&req, "{\"QueueName\":");
	if (!strncmp(q, "arn:", 4)) {
		const char *f[6] = {q}; /* arn:PARTITION:sqs:REGION:ACCOUNT:NAME */
		int k = 0;
		for (const char *p = q; *p && k < 5; p++)
			if (*p == ':')
				f[++k] = p + 1;
		if (k != 5 || strncmp(f[2], "sqs:", 4) || !*f[5] || strchr(f[5], ':') || f[5] - f[4] < 2) {
			err_set(e, E_USAGE, "'%s' is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)", q);
			goto done;
		}
		use_region(a, f[3], (size_t)(f[4] - f[3] - 1));
		json_put_str(&req, f[5], strlen(f[5]));
		buf_adds(&req, ",\"QueueOwnerAWSAccountId\":");
		json_put_str(&req, f[4], (size_t)(f[5] - f[4] - 1));
	} else {
		json_put_str(&req, q, strlen(q));
	}
	buf_addc(&req, '}');
	if (aws_json(a, &SVC_SQS, "GetQueueUrl", req.p, &out, e))
		goto done;
	if (json_parse(out.p, out.len, &root) || !(*url = json_get_strdup(root, "QueueUrl")) || !**url) {
		free(*url);
		*url = NULL;
		err_set(e, E_PROTO, "unexpected response");
		goto done;
	}
	dbg("queue %s is %s", q, *url);
	rc = 0;
done:
	buf_free(&req);
	buf_free(&out);
	return rc;
}

void
sqs_req_start(struct buf *b, const char *url)
{
	buf_adds(b, "{\"QueueUrl\":");
	json_put_str(b, url, strlen(url));
}

int
sqs_is_fifo(const char *q)
{
	size_t n = strlen(q);

	return n > 5 && !strcmp(q + n - 5, ".fifo");
}

int
sqs_queue_attr(struct aws *a, const char *url, const char *name, char **val, struct err *e)
{
	struct buf req = {0}, out = {0};
	struct json root, attrs;
	int rc = -1;

	*val = NULL;
	sqs_req_start(&req, url);
	buf_adds(&req, ",\"AttributeNames\":[");
	json_put_str(&req, name, strlen(name));
	buf_adds(&req, "]}");
	if (aws_json(a, &SVC_SQS, "GetQueueAttributes", req.p, &out, e))
		;
	else if (json_parse(out.p, out.len, &root) || json_get(root, "Attributes", &attrs) || attrs.type != JSON_OBJECT)
		err_set(e, E_PROTO, "unexpected response");
	else
		*val = json_get_strdup(attrs, name), rc = 0;
	buf_free(&req);
	buf_free(&out);
	return rc;
}

/* Offset of the first byte that does not start an XML 1.0 character in UTF-8, or -1.
 * *cp: the code point that SQS does not allow, or -1 when the bytes are not UTF-8. */
static long
bad_char(const char *p, size_t n, long *cp)
{
	uint32_t c;

	for (size_t i = 0, len; i < n; i += len) {
		if (!(len = utf8_next(p + i, n - i, &c)))
			return *cp = -1, (long)i;
		if ((c < 0x20 && c != 9 && c != 10 && c != 13) || c == 0xfffe || c == 0xffff)
			return *cp = c, (long)i;
	}
	return -1;
}

int
sqs_text_check(const char *p, size_t len, char *why, size_t n)
{
	long cp, at;

	if ((at = bad_char(p, len, &cp)) >= 0) {
		if (cp < 0)
			snprintf(why, n, "byte %ld: not valid UTF-8 (SQS takes text only)", at + 1);
		else
			snprintf(why, n, "byte %ld: character U+%04lX is not allowed in an SQS message", at + 1, cp);
		return -1;
	}
	return 0;
}

int
sqs_attr_parse(const char *spec, struct buf *json, size_t *size, struct err *e)
{
	const char *eq = strchr(spec, '='), *colon = eq ? strchr(eq + 1, ':') : NULL;
	struct buf bin = {0};
	char why[160];
	int rc = -1;

	if (!eq || eq == spec || !colon)
		return err_set(e, E_USAGE, "'%s': expected NAME=TYPE:VALUE (TYPE String, Number or Binary)", spec);
	int nn = (int)(eq - spec);
	size_t tn = (size_t)(colon - eq - 1);
	const char *type = eq + 1, *val = colon + 1;
	int kind = 0;
	if (!strncmp(type, "String", 6) || !strncmp(type, "Number", 6))
		kind = type[0] == 'S' ? 's' : 'n';
	else if (!strncmp(type, "Binary", 6))
		kind = 'b';
	if (!kind || (tn > 6 && type[6] != '.') || tn == 7)
		err_set(e, E_USAGE, "%.*s: the type must be String, Number or Binary (or TYPE.custom), not '%.*s'", nn, spec,
			(int)tn, type);
	else if (!*val)
		err_set(e, E_USAGE, "%.*s: empty value (SQS needs at least one character)", nn, spec);
	else if (kind == 'b' && b64_decode(val, strlen(val), &bin))
		err_set(e, E_USAGE, "%.*s: a Binary value is given in base64; '%s' is not base64", nn, spec, val);
	else if (kind != 'b' && sqs_text_check(val, strlen(val), why, sizeof why))
		err_set(e, E_USAGE, "%.*s: %s", nn, spec, why);
	else
		rc = 0;
	if (!rc) {
		if (json->len)
			buf_addc(json, ',');
		json_put_str(json, spec, (size_t)nn);
		buf_adds(json, ":{\"DataType\":");
		json_put_str(json, type, tn);
		buf_adds(json, kind == 'b' ? ",\"BinaryValue\":" : ",\"StringValue\":");
		json_put_str(json, val, strlen(val));
		buf_addc(json, '}');
		/* SQS counts name, type and value bytes towards the message size */
		*size += (size_t)nn + tn + (kind == 'b' ? bin.len : strlen(val));
	}
	buf_free(&bin);
	return rc;
}

int
sqs_batch_parse(const char *p, size_t n, const char *const *ids, int nid, struct sqs_result *res, struct err *e)
{
	struct json root, list, item, v;
	size_t pos;

	for (int i = 0; i < nid; i++)
		res[i] = (struct sqs_result){SQS_MISSING, "", ""};
	if (json_parse(p, n, &root) || root.type != JSON_OBJECT)
		return err_set(e, E_PROTO, "the response is not JSON");
	for (int pass = 0; pass < 2; pass++) {
		if (json_get(root, pass ? "Failed" : "Successful", &list) || list.type != JSON_ARRAY)
			continue;
		for (pos = 0; !json_next(list, &pos, NULL, &item);) {
			struct json id;
			int i;
			if (json_get(item, "Id", &id))
				continue;
			for (i = 0; i < nid; i++)
				if (json_key_eq(id, ids[i]) && res[i].state == SQS_MISSING)
					break;
			if (i == nid)
				continue; /* not one of ours, or seen already */
			if (!pass) {
				res[i].state = SQS_OK;
				continue;
			}
			struct buf s = {0};
			if (!json_get(item, "Code", &v) && !json_str(v, &s))
				snprintf(res[i].code, sizeof res[i].code, "%s", s.p ? s.p : "");
			buf_reset(&s);
			if (!json_get(item, "Message", &v) && !json_str(v, &s))
				snprintf(res[i].msg, sizeof res[i].msg, "%s", s.p ? s.p : "");
			buf_free(&s);
			/* the applets print them: one line each, and no escape sequences for the terminal */
			text_clean(res[i].code);
			text_clean(res[i].msg);
			/* SenderFault false: the service's side failed; worth another try */
			res[i].state = !json_get(item, "SenderFault", &v) && v.type == JSON_FALSE ? SQS_RETRY : SQS_FAILED;
		}
	}
	return 0;
}

int
sqs_batch(struct aws *a, const char *op, const char *req, const char *const *ids, int n, struct sqs_result *res,
	  struct err *e)
{
	struct buf out = {0};
	int rc = -1;

	if (aws_json(a, &SVC_SQS, op, req, &out, e))
		goto done;
	if (sqs_batch_parse(out.p, out.len, ids, n, res, e))
		goto done;
	rc = 0;
done:
	buf_free(&out);
	return rc;
}

int
sqs_handles(struct aws *a, const char *url, const char *const *rh, const int *vis, int n, struct sqs_result *res,
	    struct err *e)
{
	const char *op = vis ? "ChangeMessageVisibilityBatch" : "DeleteMessageBatch";
	struct sqs_result r[SQS_BATCH];
	char idb[SQS_BATCH][4];
	const char *ids[SQS_BATCH];
	int left[SQS_BATCH], nl = n;

	for (int i = 0; i < n; i++) {
		left[i] = i;
		res[i] = (struct sqs_result){SQS_MISSING, "", ""};
	}
	for (int round = 1; nl; round++) {
		struct buf req = {0};
		sqs_req_start(&req, url);
		buf_adds(&req, ",\"Entries\":[");
		for (int k = 0; k < nl; k++) {
			snprintf(idb[k], sizeof idb[k], "%d", left[k]);
			ids[k] = idb[k];
			buf_printf(&req, "%s{\"Id\":\"%s\",\"ReceiptHandle\":", k ? "," : "", ids[k]);
			json_put_str(&req, rh[left[k]], strlen(rh[left[k]]));
			if (vis)
				buf_printf(&req, ",\"VisibilityTimeout\":%d", vis[left[k]]);
			buf_addc(&req, '}');
		}
		buf_adds(&req, "]}");
		int rc = sqs_batch(a, op, req.p, ids, nl, r, e);
		buf_free(&req);
		if (rc)
			return -1;
		int again = 0;
		for (int k = 0; k < nl; k++) {
			res[left[k]] = r[k];
			if (r[k].state == SQS_RETRY && round < a->max_attempts)
				left[again++] = left[k];
		}
		if ((nl = again)) /* as for whole calls */
			sleep_sec(retry_backoff(round));
	}
	return 0;
}

int
sqs_receive(struct aws *a, const char *url, int max, int wait, int vis, struct buf *out, struct err *e)
{
	struct buf req = {0};
	int rc;

	sqs_req_start(&req, url);
	buf_printf(&req, ",\"MaxNumberOfMessages\":%d,\"WaitTimeSeconds\":%d", max, wait);
	if (vis > 0)
		buf_printf(&req, ",\"VisibilityTimeout\":%d", vis);
	buf_adds(&req, ",\"MessageSystemAttributeNames\":[\"All\"],\"MessageAttributeNames\":[\"All\"]}");
	rc = aws_json(a, &SVC_SQS, "ReceiveMessage", req.p, out, e);
	buf_free(&req);
	return rc;
}

int
sqs_msg_parse(struct json j, const char *url, struct sqs_msg *m)
{
	struct json v, attrs, key;
	size_t pos = 0;
	char *cnt = NULL;

	memset(m, 0, sizeof *m);
	m->id = json_get_strdup(j, "MessageId");
	m->rh = json_get_strdup(j, "ReceiptHandle");
	if (!m->id || !m->rh || json_get(j, "Body", &v) || json_str(v, &m->body)) {
		sqs_msg_free(m);
		return -1;
	}
	if (!json_get(j, "Attributes", &attrs)) {
		if ((cnt = json_get_strdup(attrs, "ApproximateReceiveCount")))
			m->count = strtol(cnt, NULL, 10);
		m->group = json_get_strdup(attrs, "MessageGroupId");
	}
	proc_var(&m->env, "SQS_MESSAGE_ID", m->id, strlen(m->id));
	proc_var(&m->env, "SQS_RECEIPT_COUNT", cnt ? cnt : "", cnt ? strlen(cnt) : 0);
	proc_var(&m->env, "SQS_QUEUE_URL", url, strlen(url));
	if (m->group)
		proc_var(&m->env, "SQS_GROUP_ID", m->group, strlen(m->group));
	free(cnt);
	if (json_get(j, "MessageAttributes", &attrs))
		return 0;
	while (!json_next(attrs, &pos, &key, &v)) {
		struct buf name = {0}, k = {0};
		char *sv = json_get_strdup(v, "StringValue");
		if (!sv)
			sv = json_get_strdup(v, "BinaryValue"); /* base64, as SQS gives it */
		buf_adds(&name, "SQS_ATTR_");
		if (sv && !json_str(key, &k) && !envout_name(k.p, k.len, &name))
			proc_var(&m->env, name.p, sv, strlen(sv));
		free(sv);
		buf_free(&name);
		buf_free(&k);
	}
	return 0;
}

void
sqs_msg_free(struct sqs_msg *m)
{
	free(m->id);
	free(m->rh);
	free(m->group);
	buf_free(&m->body);
	buf_free(&m->env);
	memset(m, 0, sizeof *m);
}

/* ---- the receiver thread ---- */

static void *
rx_thread(void *arg)
{
	struct sqs_rx *r = arg;

	proc_block_signals();
	pthread_mutex_lock(&r->m);
	for (;;) {
		while (!r->want || r->have)
			pthread_cond_wait(&r->cv, &r->m);
		struct buf out = {0};
		struct err e = {0};
		int want = r->want, wait = r->wait, tag = r->tag;
		r->busy = 1 + tag;
		pthread_mutex_unlock(&r->m);
		int rc = sqs_receive(r->a, r->url, want, wait, r->vis, &out, &e);
		pthread_mutex_lock(&r->m);
		r->busy = 0;
		r->have = 1;
		r->resp_tag = tag;
		if (rc) {
			r->err = e;
			r->failed = 1;
			buf_free(&out);
		} else {
			buf_free(&r->resp);
			r->resp = out;
		}
		if (write(r->wake_fd, "", 1) < 0) {
			/* the pipe is full: a wake-up is pending anyway */
		}
		if (rc)
			break;
	}
	pthread_mutex_unlock(&r->m);
	return NULL;
}

int
sqs_rx_start(struct sqs_rx *r, struct err *e)
{
	pthread_t th;

	pthread_mutex_init(&r->m, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pthread_create(&th, NULL, rx_thread, r))
		return err_set(e, E_IO, "cannot start a thread");
	pthread_detach(th); /* a receive in flight at the end is left to the exit */
	return 0;
}

void
sqs_rx_ask(struct sqs_rx *r, int want, int wait, int tag)
{
	pthread_mutex_lock(&r->m);
	r->want = want;
	r->wait = wait;
	r->tag = tag;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->m);
}

int
sqs_rx_take(struct sqs_rx *r, struct buf *resp, int *tag, int *busy, struct err *e)
{
	int rc = 0;

	memset(resp, 0, sizeof *resp);
	pthread_mutex_lock(&r->m);
	*busy = r->busy;
	if (r->have) {
		r->have = 0;
		r->want = 0; /* until asked again */
		*tag = r->resp_tag;
		*resp = r->resp;
		memset(&r->resp, 0, sizeof r->resp);
		if (r->failed)
			*e = r->err;
		rc = r->failed ? -1 : 1;
	}
	pthread_mutex_unlock(&r->m);
	return rc;
}

void
sqs_ops_add(struct sqs_ops *o, const char *rh, const char *id, int vis)
{
	if (!o->n)
		o->since = mono_now();
	o->rh[o->n] = xstrdup(rh);
	o->id[o->n] = xstrdup(id);
	o->vis[o->n++] = vis;
}

int
sqs_ops_send(struct aws *a, const char *url, const struct sqs_ops *o, const char **op, struct sqs_result *res,
	     struct err *e)
{
	int del = o->n && o->vis[0] < 0;

	*op = del ? "DeleteMessageBatch" : "ChangeMessageVisibilityBatch";
	return sqs_handles(a, url, (const char *const *)o->rh, del ? NULL : o->vis, o->n, res, e);
}

void
sqs_ops_clear(struct sqs_ops *o)
{
	for (int i = 0; i < o->n; i++) {
		free(o->rh[i]);
		free(o->id[i]);
	}
	o->n = 0;
}

/* ---- S3 event notifications ---- */

/* S3 writes keys in notifications as a form does: '+' for a space, %XX for other bytes. */
static int
form_decode(struct json v, struct buf *out)
{
	struct buf raw = {0};
	int rc = -1;

	if (json_str(v, &raw))
		goto done;
	for (size_t i = 0; i < raw.len; i++)
		if (raw.p[i] == '+')
			raw.p[i] = ' ';
	rc = uri_decode(raw.p ? raw.p : "", raw.len, out);
done:
	buf_free(&raw);
	return rc;
}

/* One record from its bucket and object members; -1 if they are not there. S3's own
 * notifications (and SNS copies of them) form-encode the key; EventBridge events carry it as it
 * is (a key "a+b:c" arrives as "a+b:c", not "a%2Bb%3Ac"), so raw says not to decode. */
static int
add_record(struct s3_events *ev, struct json bucket, struct json object, const char *event, int raw)
{
	struct json key, size;
	struct buf k = {0};
	struct s3_event *r;

	char *name = json_get_strdup(bucket, "name");
	if (!name || json_get(object, "key", &key) || (raw ? json_str(key, &k) : form_decode(key, &k))) {
		free(name);
		buf_free(&k);
		return -1;
	}
	ev->rec = xrealloc(ev->rec, (ev->n + 1) * sizeof *ev->rec);
	r = &ev->rec[ev->n++];
	r->bucket = name;
	r->key_len = k.len;
	r->key = k.p ? buf_take(&k) : xstrdup("");
	r->size = -1;
	if (!json_get(object, "size", &size) && size.type == JSON_NUMBER)
		r->size = strtoll(size.p, NULL, 10);
	r->event = xstrdup(event ? event : "");
	return 0;
}

static int
parse_events(struct json root, struct s3_events *ev, int depth)
{
	struct json recs, rec, s3, bucket, object, v, detail;
	char *s = NULL;
	int rc = -1;

	if (root.type != JSON_OBJECT)
		return -1;
	if ((s = json_get_strdup(root, "Event")) && !strcmp(s, "s3:TestEvent")) {
		ev->test = 1;
		rc = 0;
	} else if (!json_get(root, "Records", &recs) && recs.type == JSON_ARRAY) {
		size_t pos = 0;
		rc = 0;
		while (!rc && !json_next(recs, &pos, NULL, &rec)) {
			char *name = json_get_strdup(rec, "eventName");
			rc = json_get(rec, "s3", &s3) || json_get(s3, "bucket", &bucket) || json_get(s3, "object", &object) ||
			     add_record(ev, bucket, object, name, 0) ? -1 : 0;
			free(name);
		}
		rc = rc || !ev->n ? -1 : 0;
	} else if ((s = (free(s), json_get_strdup(root, "source"))) && !strcmp(s, "aws.s3") &&
		   !json_get(root, "detail", &detail) && !json_get(detail, "bucket", &bucket) &&
		   !json_get(detail, "object", &object)) {
		/* EventBridge: one object per event; the event is its detail-type ("Object Created") */
		char *type = json_get_strdup(root, "detail-type");
		rc = add_record(ev, bucket, object, type, 1);
		free(type);
	} else if (depth == 0 && !json_get(root, "Type", &v) && json_key_eq(v, "Notification") &&
		   !json_get(root, "Message", &v)) {
		/* SNS: the notification is the string Message */
		struct buf m = {0};
		struct json inner;
		if (!json_str(v, &m) && m.p && !json_parse(m.p, m.len, &inner))
			rc = parse_events(inner, ev, 1); /* the records are copies: m can go */
		buf_free(&m);
	}
	free(s);
	return rc;
}

int
s3_events_parse(const char *body, size_t n, struct s3_events *ev)
{
	struct json root;

	memset(ev, 0, sizeof *ev);
	if (!json_parse(body, n, &root) && !parse_events(root, ev, 0))
		return 0;
	s3_events_free(ev);
	return -1;
}

int
s3_event_env(const struct s3_event *r, struct buf *env)
{
	struct buf u = {0};

	if (strlen(r->key) != r->key_len)
		return -1;
	buf_printf(&u, "s3://%s/%s", r->bucket, r->key);
	proc_var(env, "S3_URL", u.p, u.len);
	proc_var(env, "S3_BUCKET", r->bucket, strlen(r->bucket));
	proc_var(env, "S3_KEY", r->key, r->key_len);
	buf_reset(&u);
	if (r->size >= 0)
		buf_printf(&u, "%lld", (long long)r->size);
	proc_var(env, "S3_SIZE", u.p ? u.p : "", u.len);
	proc_var(env, "S3_EVENT", r->event, strlen(r->event));
	buf_free(&u);
	return 0;
}

void
s3_events_free(struct s3_events *ev)
{
	for (int i = 0; i < ev->n; i++) {
		free(ev->rec[i].bucket);
		free(ev->rec[i].key);
		free(ev->rec[i].event);
	}
	free(ev->rec);
	memset(ev, 0, sizeof *ev);
}
