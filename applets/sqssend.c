/* sqssend.c — send SQS messages: one (SendMessage), or stdin's lines streamed in batches
 * (SendMessageBatch), over the JSON protocol.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>

const char sqssend_help[] =
	"Usage: sqssend [OPTIONS] QUEUE [BODY]\n"
	"       sqssend --lines [OPTIONS] QUEUE < FILE\n\n"
	"Send BODY (absent or -: all of stdin, byte for byte) as one message to QUEUE, a queue URL, name or\n"
	"ARN (a name is looked up once with GetQueueUrl), and print its MessageId.\n"
	"With --lines every line of stdin is a message (without its newline; empty lines are\n"
	"skipped), sent with SendMessageBatch in batches of up to 10 messages and 256 KiB as the\n"
	"lines stream in: memory stays flat however long the input. Entries the service fails on\n"
	"its side are retried with backoff; lines that still fail, or that SQS cannot take (over\n"
	"1 MiB, not UTF-8, or holding characters outside XML's: SQS allows only U+9, U+A, U+D,\n"
	"U+20-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF), are reported with their line numbers\n"
	"on stderr, the other lines are still sent, and the exit status is 7. A batch that is not full\n"
	"goes once no new line has come for --linger (a live feeder: tail -F log | sqssend --lines).\n\n"
	"Options:\n"
	"  -l, --lines             one message per line of stdin\n"
	"  -g, --group-id ID       MessageGroupId (required by FIFO queues)\n"
	"  -d, --dedup-id ID       MessageDeduplicationId (FIFO); with --lines, line N gets ID-N\n"
	"                          (without it, a FIFO queue needs content-based deduplication)\n"
	"      --delay SECONDS     DelaySeconds, 0 to 900 (standard queues only)\n"
	"      --linger D          --lines: send a partial batch after D without a new line (200ms)\n"
	"  -a, --attr NAME=TYPE:VALUE\n"
	"                          a message attribute; TYPE is String, Number or Binary (VALUE in\n"
	"                          base64), optionally with a custom suffix (Number.int); up to 10\n"
	"      --quiet             do not print the MessageId\n\n"
	"Examples:\n"
	"  sqssend jobs 'hello'\n"
	"  sqssend https://sqs.eu-west-1.amazonaws.com/123456789012/jobs < message.json\n"
	"  sqssend orders.fifo --group-id orders --dedup-id \"$ORDER_ID\" \"$ORDER_JSON\"\n"
	"  zcat events.gz | sqssend --lines events -a source=String:batch-import\n";

const struct exitdoc sqssend_exits[] = {
	{0, "sent"},
	{1, "the message cannot be sent as it is (empty, over 1 MiB, not UTF-8), or another failure"},
	{2, "usage"},
	{3, "no such queue"},
	{4, "access denied or no credentials"},
	{6, "network or TLS failure after retries"},
	{7, "some lines not sent (--lines)"},
	{-1, NULL},
};

#define MSG_MAX (1024 * 1024)   /* SQS's largest message: body plus attributes */
#define BATCH_BYTES (256 * 1024) /* batches are grouped within this, the limit every queue has had */
#define BATCH_N 10               /* entries in a SendMessageBatch */
#define ATTR_MAX 10

enum { E_PENDING, E_DONE, E_FAILED };

/* What every message carries besides its body. */
struct ctx {
	struct aws *a;
	char *url;
	const char *group, *dedup;
	long delay;       /* -1: none */
	struct buf attrs; /* the MessageAttributes members, "name":{...},... */
	size_t attr_size; /* what the attributes add to each message's size */
	const char *attr_spec[ATTR_MAX]; /* as given: NAME=TYPE:VALUE */
	int nattr;
	long sent, failed, lines;
	int linger_ms; /* --lines: a partial batch goes after this long without a new line */
};

struct entry {
	long line;
	size_t off, len; /* body in batch.bodies */
	int state;
};

struct batch {
	int n;
	struct entry e[BATCH_N];
	struct buf bodies;
	size_t size;
};

/* Why a message body cannot be sent, into why (size n); 0 if it can. */
static int
check_body(const struct ctx *c, const char *p, size_t len, char *why, size_t n)
{
	if (!len)
		return snprintf(why, n, "empty message (SQS needs at least one character)"), -1;
	if (len + c->attr_size > MSG_MAX)
		return snprintf(why, n, "message of %zu bytes%s is over SQS's limit of %d bytes", len,
				c->attr_size ? " plus attributes" : "", MSG_MAX), -1;
	return sqs_text_check(p, len, why, n);
}

/* The fields every message has after its body (no leading brace). */
static void
put_message(struct buf *b, const struct ctx *c, const char *body, size_t n, long line)
{
	buf_adds(b, "\"MessageBody\":");
	json_put_str(b, body, n);
	if (c->delay >= 0)
		buf_printf(b, ",\"DelaySeconds\":%ld", c->delay);
	if (c->group) {
		buf_adds(b, ",\"MessageGroupId\":");
		json_put_str(b, c->group, strlen(c->group));
	}
	if (c->dedup) {
		struct buf d = {0};
		buf_adds(&d, c->dedup);
		if (line > 0)
			buf_printf(&d, "-%ld", line);
		buf_adds(b, ",\"MessageDeduplicationId\":");
		json_put_str(b, d.p, d.len);
		buf_free(&d);
	}
	if (c->attrs.len) {
		buf_adds(b, ",\"MessageAttributes\":{");
		buf_add(b, c->attrs.p, c->attrs.len);
		buf_addc(b, '}');
	}
}

/* --attr NAME=TYPE:VALUE into the MessageAttributes JSON. */
static void
add_attr(struct ctx *c, const char *spec)
{
	const char *eq = strchr(spec, '=');
	struct err e = {0};

	for (int i = 0; eq && i < c->nattr; i++)
		if (!strncmp(c->attr_spec[i], spec, (size_t)(eq - spec) + 1))
			usage("--attr %.*s: given twice", (int)(eq - spec), spec);
	if (c->nattr == ATTR_MAX)
		usage("--attr: SQS takes at most %d message attributes", ATTR_MAX);
	c->attr_spec[c->nattr++] = spec;
	if (sqs_attr_parse(spec, &c->attrs, &c->attr_size, &e))
		usage("--attr %s", e.msg);
}

/* A FIFO queue needs a deduplication ID for every message unless it derives them from the
 * content: without --dedup-id, ask once, so that the answer is one line before anything is sent
 * instead of one per message. Not allowed to ask (no sqs:GetQueueAttributes): go on. */
static void
check_dedup(struct aws *a, const char *url)
{
	struct err e = {0};
	char *cbd;

	if (sqs_queue_attr(a, url, "ContentBasedDeduplication", &cbd, &e))
		dbg("GetQueueAttributes: %s (not checked)", e.msg);
	else if (cbd && strcmp(cbd, "true"))
		usage("%s has no content-based deduplication: give --dedup-id", url);
	free(cbd);
}

/* ---- stdin ---- */

struct reader {
	int fd, eof;
	char buf[64 * 1024];
	size_t pos, len;
	uint64_t linelen; /* the whole length of the line last read */
	int partial;      /* a line is under way */
};

static int
fill(struct reader *r, struct err *e)
{
	ssize_t k;

	do
		k = read(r->fd, r->buf, sizeof r->buf);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return err_set(e, E_IO, "read stdin: %s", strerror(errno));
	r->pos = 0;
	r->len = (size_t)k;
	r->eof = k == 0;
	return 0;
}

/* The next line into line, without its newline: 1, or 0 at the end of input, -1 on a read
 * error. Of a line longer than MSG_MAX only the first MSG_MAX + 1 bytes are kept (enough to know
 * it cannot be sent); r->linelen has its whole length. linger_ms >= 0: 2 when no input came for
 * that long (a part of a line read so far stays in line, and the next call goes on with it). */
static int
read_line(struct reader *r, struct buf *line, int linger_ms, struct err *e)
{
	if (!r->partial) {
		buf_reset(line);
		r->linelen = 0;
	}
	for (;;) {
		if (r->pos == r->len) {
			struct pollfd p = {r->fd, POLLIN, 0};
			if (!r->eof && linger_ms >= 0 && !poll(&p, 1, linger_ms))
				return 2;
			if (!r->eof && fill(r, e))
				return -1;
			if (r->eof) { /* a last line without a newline, or the end */
				int any = r->partial;
				r->partial = 0;
				return any;
			}
		}
		const char *p = r->buf + r->pos, *nl = memchr(p, '\n', r->len - r->pos);
		size_t n = nl ? (size_t)(nl - p) : r->len - r->pos;
		size_t room = line->len <= MSG_MAX ? MSG_MAX + 1 - line->len : 0;
		buf_add(line, p, n < room ? n : room);
		r->linelen += n;
		r->pos += n + (nl != NULL);
		r->partial = !nl;
		if (nl)
			return 1;
	}
}

/* ---- sending ---- */

static void PRINTF(3, 4)
report(struct ctx *c, long line, const char *fmt, ...)
{
	char what[32];
	va_list ap;

	snprintf(what, sizeof what, "line %ld", line);
	va_start(ap, fmt);
	vnote(what, fmt, ap);
	va_end(ap);
	c->failed++;
}

/* An error no other request would escape: stop. A plain 4xx may be about one message. */
static int
fatal(const struct err *e)
{
	return e->kind != E_AWS || e->status >= 500 || err_is_throttle(e) || err_exit_code(e) != EX_FAIL;
}

struct why {
	char code[64], msg[300];
};

/* One SendMessageBatch of b's pending entries in mask. Entries that went are E_DONE, those
 * refused for good E_FAILED (with why); those the service failed on its side stay pending.
 * -1 when the call failed as a whole (e). */
static int
send_round(struct ctx *c, struct batch *b, unsigned mask, struct why *why, struct err *e)
{
	struct buf req = {0};
	struct sqs_result res[BATCH_N];
	char idbuf[BATCH_N][24];
	const char *ids[BATCH_N];
	int idx[BATCH_N], n = 0, rc;

	sqs_req_start(&req, c->url);
	buf_adds(&req, ",\"Entries\":[");
	for (int i = 0; i < b->n; i++) {
		if (!(mask & 1u << i) || b->e[i].state != E_PENDING)
			continue; /* done with already */
		why[i].code[0] = why[i].msg[0] = 0;
		snprintf(idbuf[n], sizeof idbuf[n], "%ld", b->e[i].line);
		ids[n] = idbuf[n];
		idx[n] = i;
		buf_printf(&req, "%s{\"Id\":\"%s\",", n ? "," : "", idbuf[n]);
		put_message(&req, c, b->bodies.p + b->e[i].off, b->e[i].len, c->dedup ? b->e[i].line : 0);
		buf_addc(&req, '}');
		n++;
	}
	buf_adds(&req, "]}");
	rc = sqs_batch(c->a, "SendMessageBatch", req.p, ids, n, res, e);
	buf_free(&req);
	if (rc)
		return -1;
	for (int k = 0; k < n; k++) {
		int i = idx[k];
		snprintf(why[i].code, sizeof why[i].code, "%s", res[k].code);
		snprintf(why[i].msg, sizeof why[i].msg, "%s", res[k].msg);
		if (res[k].state == SQS_OK) {
			b->e[i].state = E_DONE;
			c->sent++;
			continue;
		}
		if (res[k].state == SQS_RETRY)
			continue;
		if (res[k].state == SQS_MISSING) /* it may or may not have gone; resending could duplicate */
			snprintf(why[i].msg, sizeof why[i].msg, "the response has no result for this message");
		b->e[i].state = E_FAILED;
		report(c, b->e[i].line, "%s%s%s", why[i].code, why[i].code[0] && why[i].msg[0] ? ": " : "", why[i].msg);
	}
	return 0;
}

static int
pending(const struct batch *b, unsigned mask)
{
	int n = 0;

	for (int i = 0; i < b->n; i++)
		n += (mask & 1u << i) && b->e[i].state == E_PENDING;
	return n;
}

/* A failure that ends the run: say where to resume, then exit with e's code. */
static NORETURN void
stop(struct ctx *c, const struct batch *b, const struct err *e)
{
	long first = 0;

	for (int i = 0; i < b->n && !first; i++)
		if (b->e[i].state != E_DONE)
			first = b->e[i].line;
	if (c->sent || c->failed)
		note("%ld messages sent; not sent: line %ld and after%s", c->sent, first,
		     c->failed ? ", and the lines reported above" : "");
	die_err(e, "SendMessageBatch (lines %ld-%ld)", b->e[0].line, b->e[b->n - 1].line);
}

/* Sends b's pending entries in mask: retries what the service failed on its side, and
 * splits a batch refused as a whole into single messages to find the culprit. */
static void
flush(struct ctx *c, struct batch *b, unsigned mask, struct why *why)
{
	struct err e = {0};

	for (int round = 1;; round++) {
		if (send_round(c, b, mask, why, &e)) {
			if (fatal(&e))
				stop(c, b, &e);
			if (pending(b, mask) > 1) {
				int sent = 0, same = 1;
				dbg("%s %s: sending the batch's messages one by one", e.code, e.msg);
				for (int i = 0; i < b->n; i++) {
					if (!(mask & 1u << i) || b->e[i].state != E_PENDING)
						continue;
					flush(c, b, 1u << i, why);
					sent |= b->e[i].state == E_DONE;
					same &= !strcmp(why[i].code, e.code);
				}
				if (!sent && same) /* not about one message: about all of them */
					stop(c, b, &e);
				return;
			}
			for (int i = 0; i < b->n; i++) {
				if (!(mask & 1u << i) || b->e[i].state != E_PENDING)
					continue;
				snprintf(why[i].code, sizeof why[i].code, "%s", e.code);
				snprintf(why[i].msg, sizeof why[i].msg, "%s", e.msg);
				b->e[i].state = E_FAILED;
				report(c, b->e[i].line, "%s%s%s", e.code, e.code[0] && e.msg[0] ? ": " : "", e.msg);
			}
			return;
		}
		if (!pending(b, mask))
			return;
		if (round >= c->a->max_attempts) {
			for (int i = 0; i < b->n; i++) {
				if (!(mask & 1u << i) || b->e[i].state != E_PENDING)
					continue;
				b->e[i].state = E_FAILED;
				report(c, b->e[i].line, "%s%s%s (after %d attempts)", why[i].code,
				       why[i].code[0] && why[i].msg[0] ? ": " : "", why[i].msg, round);
			}
			return;
		}
		double d = retry_backoff(round); /* as for whole calls */
		dbg("%d messages failed on the service's side; retrying in %.2f s", pending(b, mask), d);
		sleep_sec(d);
	}
}

static void
send_batch(struct ctx *c, struct batch *b)
{
	struct why why[BATCH_N];

	memset(why, 0, sizeof why);
	if (b->n)
		flush(c, b, (1u << b->n) - 1, why);
	b->n = 0;
	b->size = 0;
	buf_reset(&b->bodies);
}

/* ---- main ---- */

static void
send_lines(struct ctx *c)
{
	static struct reader rd; /* 64 KiB: not on the stack */
	struct batch b = {0};
	struct buf line = {0};
	struct err e = {0};
	char why[200];
	int r;

	rd.fd = 0;
	while ((r = read_line(&rd, &line, b.n ? c->linger_ms : -1, &e)) > 0) {
		if (r == 2) { /* a partial batch waits no longer than --linger for more lines */
			send_batch(c, &b);
			continue;
		}
		long no = ++c->lines;
		if (!rd.linelen)
			continue; /* SQS has no empty messages */
		if (rd.linelen > MSG_MAX) {
			report(c, no, "%llu bytes: over SQS's limit of %d bytes for a message",
			       (unsigned long long)rd.linelen, MSG_MAX);
			continue;
		}
		if (check_body(c, line.p, line.len, why, sizeof why)) {
			report(c, no, "%s", why);
			continue;
		}
		size_t size = line.len + c->attr_size;
		if (b.n == BATCH_N || (b.n && b.size + size > BATCH_BYTES))
			send_batch(c, &b);
		b.e[b.n] = (struct entry){no, b.bodies.len, line.len, E_PENDING};
		buf_add(&b.bodies, line.p, line.len);
		b.size += size;
		b.n++;
	}
	send_batch(c, &b);
	buf_free(&line);
	buf_free(&b.bodies);
	if (r < 0)
		die_err(&e, "after line %ld", c->lines);
}

static void
send_one(struct ctx *c, const char *arg)
{
	static struct reader rd;
	struct buf body = {0}, req = {0}, out = {0};
	struct err e = {0};
	struct json root;
	char why[200], *id;

	if (arg && strcmp(arg, "-")) {
		buf_adds(&body, arg);
	} else {
		/* all of stdin, but no more than can be sent */
		while (body.len <= MSG_MAX && !fill(&rd, &e) && !rd.eof)
			buf_add(&body, rd.buf, rd.len);
		if (e.kind)
			die_err(&e, "message");
	}
	if (body.len > MSG_MAX)
		die("message: over SQS's limit of %d bytes", MSG_MAX);
	if (check_body(c, body.p ? body.p : "", body.len, why, sizeof why))
		die("message: %s", why);
	sqs_req_start(&req, c->url);
	buf_addc(&req, ',');
	put_message(&req, c, body.p, body.len, 0);
	buf_addc(&req, '}');
	if (aws_json(c->a, &SVC_SQS, "SendMessage", req.p, &out, &e))
		die_err(&e, "SendMessage");
	if (json_parse(out.p, out.len, &root) || !(id = json_get_strdup(root, "MessageId")))
		die("SendMessage: unexpected response");
	if (!g_quiet)
		puts(id);
	c->sent++;
	free(id);
	buf_free(&body);
	buf_free(&req);
	buf_free(&out);
}

/* What the command line asks for. */
struct args {
	const char *queue, *body;
	int lines, fifo;
};

/* The options into c and r, checked: usage() on anything wrong. */
static void
parse_args(struct opt *o, struct ctx *c, struct args *r)
{
	int k;

	while ((k = opt_next(o)) != OPT_END) {
		switch (k) {
		case 'l':
			r->lines = 1;
			break;
		case 'g':
			if (!*o->arg || strlen(o->arg) > 128)
				usage("--group-id: 1 to 128 characters");
			c->group = o->arg;
			break;
		case 'd':
			if (!*o->arg || strlen(o->arg) > 128)
				usage("--dedup-id: 1 to 128 characters");
			c->dedup = o->arg;
			break;
		case 'D': {
			double d = opt_duration(o);
			if (d < 0 || d > 900 || d != (long)d)
				usage("--delay: whole seconds from 0 to 900, not '%s'", o->arg);
			c->delay = (long)d;
			break;
		}
		case 'a':
			add_attr(c, o->arg);
			break;
		case 'L': {
			double d = opt_duration(o);
			if (d < 0 || d > 3600)
				usage("--linger: from 0 to 1h, not '%s'", o->arg);
			c->linger_ms = (int)(d * 1000 + 0.5);
			break;
		}
		case OPT_POS:
			if (!r->queue)
				r->queue = o->arg;
			else if (!r->body && !r->lines)
				r->body = o->arg;
			else
				usage("unexpected argument '%s'", o->arg);
			break;
		default:
			usage("unexpected argument '%s'", o->arg);
		}
	}
	if (!r->queue || !*r->queue)
		usage("no queue given");
	if (r->lines && r->body)
		usage("--lines reads the messages from stdin; no BODY argument");
	r->fifo = sqs_is_fifo(r->queue);
	if (r->fifo && !c->group)
		usage("%s is a FIFO queue: --group-id is required", r->queue);
	if (r->fifo && c->delay >= 0)
		usage("--delay: FIFO queues take no per-message delay (set the queue's DelaySeconds)");
	if (c->dedup && r->lines && strlen(c->dedup) > 107)
		usage("--dedup-id: at most 107 characters with --lines (ID-LINE must fit in 128)");
}

int
sqssend_main(int argc, char **argv)
{
	static const struct optdef defs[] = {
		{"lines", 'l', 0, 'l'}, {"group-id", 'g', 1, 'g'}, {"dedup-id", 'd', 1, 'd'},
		{"delay", 0, 1, 'D'},   {"attr", 'a', 1, 'a'},     {"linger", 0, 1, 'L'}, {NULL, 0, 0, 0},
	};
	struct ctx c = {.delay = -1, .linger_ms = 200};
	struct args r = {0};
	struct opt o;
	struct aws a;
	struct err e = {0};
	int k = EX_OK;

	opt_init(&o, argc, argv, defs, sqssend_help);
	parse_args(&o, &c, &r);
	xaws_init(&a, &o.common);
	c.a = &a;
	if (sqs_queue_url(&a, r.queue, &c.url, &e))
		e.kind == E_USAGE ? usage("%s", e.msg) : die_err(&e, "GetQueueUrl %s", r.queue);
	if (r.fifo && !c.dedup)
		check_dedup(&a, c.url);
	if (r.lines)
		send_lines(&c);
	else
		send_one(&c, r.body);
	if (c.failed) {
		note("%ld of %ld messages not sent", c.failed, c.sent + c.failed);
		k = EX_REMOTE;
	}
	free(c.url);
	buf_free(&c.attrs);
	aws_free(&a);
	if (fflush(stdout) || ferror(stdout))
		die("write stdout: %s", strerror(errno));
	return k;
}
