/* test_sqs.c — *Batch results and S3 event notifications (formats from the S3 and SQS docs). */
#include "unit.h"

#include <poll.h>
#include <unistd.h>

TEST(sqs_batch_results)
{
	const char *ids[] = {"3", "7", "9", "12"};
	struct sqs_result r[4];
	struct err e = {0};
	const char *resp = "{\"Successful\":[{\"Id\":\"3\",\"MessageId\":\"x\"},{\"Id\":\"99\"}],"
			   "\"Failed\":[{\"Id\":\"7\",\"SenderFault\":true,\"Code\":\"InvalidParameterValue\",\"Message\":\"bad \\u00e9\"},"
			   "{\"Id\":\"9\",\"SenderFault\":false,\"Code\":\"InternalError\"},{\"Id\":\"3\",\"SenderFault\":true}]}";

	CHECK_INT(sqs_batch_parse(resp, strlen(resp), ids, 4, r, &e), 0);
	CHECK_INT(r[0].state, SQS_OK); /* a second mention of an Id does not undo the first */
	CHECK_INT(r[1].state, SQS_FAILED);
	CHECK_STR(r[1].code, "InvalidParameterValue");
	CHECK_STR(r[1].msg, "bad \xc3\xa9");
	CHECK_INT(r[2].state, SQS_RETRY);
	CHECK_STR(r[2].code, "InternalError");
	CHECK_INT(r[3].state, SQS_MISSING);
	CHECK_INT(sqs_batch_parse("{", 1, ids, 4, r, &e), -1);
	CHECK_INT(e.kind, E_PROTO);
	/* absent SenderFault: the sender's fault, never resent blindly */
	const char *f = "{\"Failed\":[{\"Id\":\"3\",\"Code\":\"X\"}]}";
	CHECK_INT(sqs_batch_parse(f, strlen(f), ids, 1, r, &e), 0);
	CHECK_INT(r[0].state, SQS_FAILED);
	/* what the service says is printed: one line, and nothing that drives the terminal */
	const char *esc = "{\"Failed\":[{\"Id\":\"3\",\"Code\":\"X\\u001b[2J\",\"Message\":\"a\\nb\\u001b]0;t\\u0007\"}]}";
	CHECK_INT(sqs_batch_parse(esc, strlen(esc), ids, 1, r, &e), 0);
	CHECK_STR(r[0].code, "X?[2J");
	CHECK_STR(r[0].msg, "a b?]0;t?");
}

static const char direct[] =
	"{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\","
	"\"s3\":{\"s3SchemaVersion\":\"1.0\",\"bucket\":{\"name\":\"b1\",\"arn\":\"arn:aws:s3:::b1\"},"
	"\"object\":{\"key\":\"dir/red+flower%2B1+%C3%A9t%C3%A9.jpg\",\"size\":1024,\"eTag\":\"x\"}}},"
	"{\"eventName\":\"ObjectRemoved:Delete\",\"s3\":{\"bucket\":{\"name\":\"b2\"},\"object\":{\"key\":\"a%00b\"}}}]}";

TEST(s3_events_direct)
{
	struct s3_events ev;

	CHECK_INT(s3_events_parse(direct, strlen(direct), &ev), 0);
	CHECK_INT(ev.n, 2);
	CHECK_INT(ev.test, 0);
	CHECK_STR(ev.rec[0].bucket, "b1");
	CHECK_STR(ev.rec[0].key, "dir/red flower+1 \xc3\xa9t\xc3\xa9.jpg");
	CHECK_INT(ev.rec[0].size, 1024);
	CHECK_STR(ev.rec[0].event, "ObjectCreated:Put");
	CHECK_STR(ev.rec[1].event, "ObjectRemoved:Delete");
	CHECK_INT(ev.rec[1].key_len, 3); /* a NUL byte is kept, with its length */
	CHECK(!memcmp(ev.rec[1].key, "a\0b", 3));
	CHECK_INT(ev.rec[1].size, -1);
	s3_events_free(&ev);
}

TEST(s3_events_sns_eventbridge_test)
{
	struct s3_events ev;
	struct buf sns = {0};

	buf_adds(&sns, "{\"Type\":\"Notification\",\"MessageId\":\"m\",\"TopicArn\":\"arn:aws:sns:us-east-1:1:t\",\"Message\":");
	json_put_str(&sns, direct, strlen(direct));
	buf_adds(&sns, ",\"Timestamp\":\"2026-01-01T00:00:00.000Z\"}");
	CHECK_INT(s3_events_parse(sns.p, sns.len, &ev), 0);
	CHECK_INT(ev.n, 2);
	CHECK_STR(ev.rec[0].key, "dir/red flower+1 \xc3\xa9t\xc3\xa9.jpg");
	s3_events_free(&ev);
	buf_free(&sns);

	const char *eb = "{\"version\":\"0\",\"detail-type\":\"Object Created\",\"source\":\"aws.s3\",\"account\":\"1\","
			 "\"detail\":{\"version\":\"0\",\"bucket\":{\"name\":\"eb\"},\"object\":{\"key\":\"x+y%41:1.txt\",\"size\":5,"
			 "\"etag\":\"e\"},\"reason\":\"PutObject\"}}";
	CHECK_INT(s3_events_parse(eb, strlen(eb), &ev), 0);
	CHECK_INT(ev.n, 1);
	CHECK_STR(ev.rec[0].bucket, "eb");
	CHECK_STR(ev.rec[0].key, "x+y%41:1.txt"); /* EventBridge keys are not encoded */
	CHECK_INT(ev.rec[0].size, 5);
	CHECK_STR(ev.rec[0].event, "Object Created");
	s3_events_free(&ev);

	const char *t = "{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\",\"Time\":\"2026-01-01T00:00:00Z\",\"Bucket\":\"b\"}";
	CHECK_INT(s3_events_parse(t, strlen(t), &ev), 0);
	CHECK_INT(ev.test, 1);
	CHECK_INT(ev.n, 0);
	s3_events_free(&ev);

	static const char *const bad[] = {
		"hello", "{}", "{\"Records\":[]}", "{\"Records\":[{\"s3\":{\"bucket\":{\"name\":\"b\"}}}]}",
		"{\"Records\":[{\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"bad%zz\"}}}]}",
		"{\"Type\":\"Notification\",\"Message\":\"not json\"}", "{\"source\":\"aws.ec2\",\"detail\":{}}",
		"[1]",
	};
	for (size_t i = 0; i < COUNT(bad); i++)
		CHECK_INT(s3_events_parse(bad[i], strlen(bad[i]), &ev), -1);
}

TEST(sqs_text_and_attrs)
{
	char why[160];
	struct buf j = {0};
	struct err e = {0};
	size_t size = 0;

	CHECK_INT(sqs_text_check("h\xc3\xa9llo\t\r\n \xf0\x9f\x98\x80", 14, why, sizeof why), 0);
	CHECK_INT(sqs_text_check("ab\x01", 3, why, sizeof why), -1);
	CHECK(strstr(why, "byte 3") && strstr(why, "U+0001"));
	CHECK_INT(sqs_text_check("\xef\xbf\xbe", 3, why, sizeof why), -1); /* U+FFFE */
	CHECK(strstr(why, "U+FFFE"));
	CHECK_INT(sqs_text_check("a\xc0\x80", 3, why, sizeof why), -1); /* overlong */
	CHECK(strstr(why, "not valid UTF-8"));
	CHECK_INT(sqs_text_check("\xed\xa0\x80", 3, why, sizeof why), -1); /* a surrogate */

	CHECK_INT(sqs_attr_parse("s=String:a=b:c", &j, &size, &e), 0);
	CHECK_INT(sqs_attr_parse("n=Number.int:42", &j, &size, &e), 0);
	CHECK_INT(sqs_attr_parse("b=Binary:AAEC", &j, &size, &e), 0);
	CHECK_STR(j.p, "\"s\":{\"DataType\":\"String\",\"StringValue\":\"a=b:c\"},"
		       "\"n\":{\"DataType\":\"Number.int\",\"StringValue\":\"42\"},"
		       "\"b\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAEC\"}");
	CHECK_INT(size, 1 + 6 + 5 + 1 + 10 + 2 + 1 + 6 + 3); /* names, types, values (Binary decoded) */
	static const char *const bad[] = {"noequals", "=String:x", "n:String", "n=Text:1", "n=String.:1", "n=Strings:1",
					  "n=String:", "b=Binary:!!", "s=String:\x01"};
	for (size_t i = 0; i < COUNT(bad); i++) {
		size_t len = j.len;
		CHECK_INT(sqs_attr_parse(bad[i], &j, &size, &e), -1);
		CHECK_INT(e.kind, E_USAGE);
		CHECK_INT(j.len, len);
	}
	buf_free(&j);
}

/* sqs_handles against a scripted server: what SQS failed on its side goes again, alone. */
TEST(sqs_handles_retry)
{
#define JSON_OK "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
	static const struct canned c[] = {
		{JSON_OK, "{\"Successful\":[{\"Id\":\"0\"}],\"Failed\":[{\"Id\":\"1\",\"SenderFault\":false,\"Code\":\"InternalError\"},"
			  "{\"Id\":\"2\",\"SenderFault\":true,\"Code\":\"ReceiptHandleIsInvalid\",\"Message\":\"bad\"}]}"},
		{JSON_OK, "{\"Successful\":[{\"Id\":\"1\"}]}"},
		{"HTTP/1.1 403 Forbidden\r\nContent-Type: application/x-amz-json-1.0\r\n",
		 "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\",\"message\":\"no\"}"},
	};
	const char *rh[] = {"r0", "r1", "r2"};
	const int vis[] = {0, 30, 0};
	struct sqs_result res[3];
	struct server s;
	struct aws a;
	struct err e = {0};

	server_start(&s, c, 3);
	server_aws(&a, s.port);
	CHECK_INT(sqs_handles(&a, "http://q/1/q", rh, vis, 3, res, &e), 0);
	CHECK_INT(res[0].state, SQS_OK);
	CHECK_INT(res[1].state, SQS_OK); /* the second round */
	CHECK_INT(res[2].state, SQS_FAILED);
	CHECK_STR(res[2].code, "ReceiptHandleIsInvalid");
	CHECK_INT(sqs_handles(&a, "http://q/1/q", rh, NULL, 1, res, &e), -1);
	CHECK_INT(res[0].state, SQS_MISSING);
	CHECK_INT(err_exit_code(&e), EX_ACCESS);
	char *seen = server_stop(&s);
	CHECK_INT(strcount(seen, "AmazonSQS.ChangeMessageVisibilityBatch"), 2);
	CHECK_INT(strcount(seen, "AmazonSQS.DeleteMessageBatch"), 1);
	free(seen);
	aws_free(&a);
#undef JSON_OK
}

/* A ReceiveMessage item: the fields sqsrecv uses, and the variables a command gets. */
TEST(sqs_msg_parse_env)
{
	const char *item = "{\"MessageId\":\"m-1\",\"ReceiptHandle\":\"rh-1\",\"Body\":\"hi \\u00e9\","
			   "\"Attributes\":{\"ApproximateReceiveCount\":\"3\",\"MessageGroupId\":\"g1\"},"
			   "\"MessageAttributes\":{\"color\":{\"DataType\":\"String\",\"StringValue\":\"red\"},"
			   "\"blob\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAE=\"},\"bad name!\":{\"StringValue\":\"x\"},\"\":{\"StringValue\":\"y\"}}}";
	const char *env[] = {"SQS_MESSAGE_ID=m-1", "SQS_RECEIPT_COUNT=3", "SQS_QUEUE_URL=http://q/1/q",
			     "SQS_GROUP_ID=g1", "SQS_ATTR_COLOR=red", "SQS_ATTR_BLOB=AAE=", "SQS_ATTR_BAD_NAME_=x"};
	struct sqs_msg m;
	struct json j;

	CHECK_INT(json_parse(item, strlen(item), &j), 0);
	CHECK_INT(sqs_msg_parse(j, "http://q/1/q", &m), 0);
	CHECK_STR(m.id, "m-1");
	CHECK_STR(m.rh, "rh-1");
	CHECK_STR(m.group, "g1");
	CHECK_STR(m.body.p, "hi \xc3\xa9");
	CHECK_INT(m.count, 3);
	const char *p = m.env.p;
	for (size_t i = 0; i < COUNT(env); i++, p += strlen(p) + 1) {
		CHECK(p < m.env.p + m.env.len);
		CHECK_STR(p, env[i]);
	}
	CHECK(p == m.env.p + m.env.len); /* an empty name makes no variable */
	sqs_msg_free(&m);
	const char *no_rh = "{\"MessageId\":\"m-2\",\"Body\":\"x\"}";
	CHECK_INT(json_parse(no_rh, strlen(no_rh), &j), 0);
	CHECK_INT(sqs_msg_parse(j, "http://q/1/q", &m), -1);
	CHECK(m.id == NULL);
}

TEST(s3_event_env)
{
	struct s3_events ev;
	struct buf env = {0};

	CHECK_INT(s3_events_parse(direct, strlen(direct), &ev), 0);
	CHECK_INT(s3_event_env(&ev.rec[0], &env), 0);
	const char want[] = "S3_URL=s3://b1/dir/red flower+1 \xc3\xa9t\xc3\xa9.jpg\0S3_BUCKET=b1\0"
			    "S3_KEY=dir/red flower+1 \xc3\xa9t\xc3\xa9.jpg\0S3_SIZE=1024\0S3_EVENT=ObjectCreated:Put";
	CHECK_INT(env.len, sizeof want);
	CHECK(!memcmp(env.p, want, sizeof want));
	buf_reset(&env);
	CHECK_INT(s3_event_env(&ev.rec[1], &env), -1); /* a%00b: no variable holds a NUL */
	buf_free(&env);
	s3_events_free(&ev);
}

/* Waits for the receiver thread's wake-up byte (5 s at most). */
static int
woken(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	char c;

	return poll(&p, 1, 5000) == 1 && read(fd, &c, 1) == 1;
}

/* The receiver thread: a receive when asked, its answer handed over with the caller's tag, and
 * its end after a failed receive. Deletes gathered in sqs_ops go as one DeleteMessageBatch. */
TEST(sqs_rx_and_ops)
{
#define JSON_OK "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
	static const struct canned c[] = {
		{JSON_OK, "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"b\"}]}"},
		{JSON_OK, "{\"Successful\":[{\"Id\":\"0\"}],\"Failed\":[{\"Id\":\"1\",\"SenderFault\":true,\"Code\":\"X\"}]}"},
		{"HTTP/1.1 403 Forbidden\r\nContent-Type: application/x-amz-json-1.0\r\n",
		 "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\",\"message\":\"no\"}"},
	};
	static struct sqs_rx rx; /* outlives the thread */
	struct sqs_ops ops = {0};
	struct sqs_result res[SQS_BATCH];
	struct server s;
	static struct aws a;
	struct err e = {0};
	struct buf resp;
	const char *op;
	int fd[2], tag = -1, busy = -1;

	CHECK_INT(pipe(fd), 0);
	server_start(&s, c, 3);
	server_aws(&a, s.port);
	rx = (struct sqs_rx){.a = &a, .url = "http://q/1/q", .vis = 30, .wake_fd = fd[1]};
	CHECK_INT(sqs_rx_start(&rx, &e), 0);
	CHECK_INT(sqs_rx_take(&rx, &resp, &tag, &busy, &e), 0); /* nothing asked, nothing in */
	sqs_rx_ask(&rx, 2, 0, 7);
	CHECK(woken(fd[0]));
	CHECK_INT(sqs_rx_take(&rx, &resp, &tag, &busy, &e), 1);
	CHECK_INT(tag, 7);
	CHECK_INT(busy, 0);
	CHECK(strstr(resp.p, "\"ReceiptHandle\":\"r\"") != NULL);
	buf_free(&resp);
	sqs_ops_add(&ops, "r", "m", -1);
	sqs_ops_add(&ops, "r2", "m2", -1);
	CHECK_INT(sqs_ops_send(&a, "http://q/1/q", &ops, &op, res, &e), 0);
	CHECK_STR(op, "DeleteMessageBatch");
	CHECK_INT(res[0].state, SQS_OK);
	CHECK_INT(res[1].state, SQS_FAILED);
	CHECK_STR(ops.id[1], "m2"); /* for the caller's report, until cleared */
	sqs_ops_clear(&ops);
	CHECK_INT(ops.n, 0);
	sqs_rx_ask(&rx, 1, 0, 0);
	CHECK(woken(fd[0]));
	CHECK_INT(sqs_rx_take(&rx, &resp, &tag, &busy, &e), -1);
	CHECK_INT(err_exit_code(&e), EX_ACCESS);
	char *seen = server_stop(&s);
	CHECK_INT(strcount(seen, "AmazonSQS.ReceiveMessage"), 2);
	CHECK_INT(strcount(seen, "AmazonSQS.DeleteMessageBatch"), 1);
	free(seen);
#undef JSON_OK
}
