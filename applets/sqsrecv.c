/* sqsrecv.c — receive SQS messages: print them, or run a command per message and delete the
 * message only when the command exits 0 (ReceiveMessage long polls, DeleteMessageBatch,
 * ChangeMessageVisibilityBatch for heartbeats and returns), over the JSON protocol.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char sqsrecv_help[] =
	"Usage: sqsrecv [OPTIONS] QUEUE\n"
	"       sqsrecv [OPTIONS] QUEUE --exec -- CMD [ARGS...]\n\n"
	"Receive messages from QUEUE (a queue URL, name or ARN) with long polls of up to 10 messages\n"
	"and write each body to stdout followed by a newline, deleting the messages once written\n"
	"(DeleteMessageBatch). With --exec, run CMD once per message instead, the body on its stdin\n"
	"and SQS_MESSAGE_ID, SQS_RECEIPT_COUNT, SQS_QUEUE_URL, SQS_GROUP_ID (FIFO) and each message\n"
	"attribute as SQS_ATTR_NAME in its environment: exit 0 deletes the message, anything else\n"
	"makes it visible again at once (or after --retry-delay) for any worker to take. While CMD\n"
	"runs the message's visibility is extended every third of the queue's visibility timeout,\n"
	"so no other worker gets it. FIFO queues: one message of a group at a time, in order.\n"
	"Runs until signalled unless --max, --drain or --timeout is given. SIGTERM or SIGINT stops\n"
	"receiving at once, lets running commands finish within --grace, and makes the messages\n"
	"not started visible again.\n\n"
	"Options:\n"
	"  -0, --null              end each body with NUL instead of a newline\n"
	"  -f, --format json       one JSON object a line: the message as SQS gives it (MessageId,\n"
	"                          ReceiptHandle, Body, Attributes, MessageAttributes) and\n"
	"                          ApproximateReceiveCount as a number\n"
	"      --no-delete         leave the messages (they come back after the visibility timeout)\n"
	"  -n, --max N             stop after N messages\n"
	"      --drain             stop when a receive (of 1 s) finds nothing\n"
	"      --timeout D         stop receiving after D (30s, 5m, 1h), as a signal does\n"
	"      --s3-events         messages are S3 event notifications (S3's own, in an SNS envelope,\n"
	"                          or EventBridge's): print s3://BUCKET/KEY per object, or run CMD\n"
	"                          once per object with S3_URL, S3_BUCKET, S3_KEY, S3_SIZE and\n"
	"                          S3_EVENT set; s3:TestEvent messages are deleted and skipped\n"
	"      --exec              after '--': run CMD per message (see above)\n"
	"  -j, --jobs N            up to N commands at once (1)\n"
	"      --exec-timeout D    stop CMD after D (SIGTERM, SIGKILL 5 s later): a failure\n"
	"      --retry-delay D     a failed message becomes visible again after D (0)\n"
	"      --max-receives N    a failed message received N times or more is left as it is, for\n"
	"                          the queue's redrive policy (dead-letter queue)\n"
	"      --grace D           on SIGTERM/SIGINT, how long running commands may go on (30s)\n\n"

	"Examples:\n"
	"  sqsrecv --drain jobs > jobs.txt\n"
	"  sqsrecv -j 4 jobs --exec -- ./work.sh\n"
	"  sqsrecv --s3-events --drain uploads --exec -- sh -c 's3cp \"$S3_URL\" - | ./ingest'\n";

const struct exitdoc sqsrecv_exits[] = {
	{0, "ok (after a signal: every message started was handled)"},
	{1, "other failure"},
	{2, "usage"},
	{3, "no such queue"},
	{4, "access denied or no credentials"},
	{6, "network or TLS failure after retries"},
	{7, "some messages failed: their commands (with --max, --drain or --timeout), a delete or visibility change SQS refused, or a command still running after --grace"},
	{-1, NULL},
};

#define WAIT_S 20      /* the longest long poll SQS has */
#define DRAIN_WAIT_S 1 /* a long poll of any length asks every server, so 1 s is an honest "empty" */
#define BUSY_WAIT_S 5  /* while messages are held: a stop need not wait 20 s for a receive */
#define KILL_DELAY 5.0 /* between SIGTERM and SIGKILL */
#define DEL_WAIT 0.2   /* the longest a delete waits for others to batch with */
#define PREFETCH 2     /* messages held per -j slot: the next is there when a command ends */

enum { M_WAIT, M_RUN };

struct msg {
	struct sqs_msg q;
	struct s3_events ev;
	int rec; /* --s3-events: the record being run */
	int state;
	pid_t pid;
	double beat, deadline, kill_at; /* next heartbeat; --exec-timeout; SIGKILL */
	int timed_out;
};

struct st {
	struct aws *a;
	char *url;
	char **cmd;
	int fifo, s3, nodelete, json, sep, drain, jobs;
	long max, taken, max_receives;
	double vis, exec_timeout, retry_delay, grace, deadline;
	struct msg **held;
	int nheld, nrun;
	struct sqs_ops del, chg; /* deletes and visibility changes, batched */
	long done, failed, errors, killed;
	int receiving, fatal; /* fatal -1: ferr, from the call fop */
	struct err ferr;
	const char *fop;
	struct sqs_rx rx; /* one ReceiveMessage at a time, in a thread of its own */
	int busy;         /* rx.busy when last looked at */
};

static volatile sig_atomic_t stop_sig;
static int wake_fd[2] = {-1, -1};

static void
on_signal(int sig)
{
	int saved = errno;

	if (sig != SIGCHLD)
		stop_sig++;
	if (write(wake_fd[1], "", 1) < 0) {
		/* the pipe is full: a wake-up is pending anyway */
	}
	errno = saved;
}

static void PRINTF(2, 3)
say(const char *id, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	snprintf(what, sizeof what, "message %s", id);
	va_start(ap, fmt);
	vnote(what, fmt, ap);
	va_end(ap);
}

/* ---- deletes and visibility changes, batched ---- */

static void
flush_ops(struct st *s, int del)
{
	struct sqs_ops *o = del ? &s->del : &s->chg;
	struct sqs_result res[SQS_BATCH];
	struct err e = {0};
	const char *op;
	char line[700];

	int rc = sqs_ops_send(s->a, s->url, o, &op, res, &e);
	if (rc && !s->fatal && (err_exit_code(&e) == EX_ACCESS || err_exit_code(&e) == EX_NOTFOUND)) {
		s->fatal = -1; /* the same for every message: stop */
		s->ferr = e;
		s->fop = op;
	}
	for (int i = 0; i < o->n; i++) {
		if (res[i].state == SQS_OK)
			continue;
		if (rc && res[i].state == SQS_MISSING)
			err_format(&e, op, line, sizeof line);
		else
			snprintf(line, sizeof line, "%s: %s%s%s", op, res[i].state == SQS_MISSING ? "no result" : res[i].code,
				 res[i].msg[0] ? ": " : "", res[i].msg);
		say(o->id[i], "%s", line);
		s->errors++;
	}
	sqs_ops_clear(o);
}

/* Deletes the message (vis -1) or sets its visibility timeout, in the next batch. */
static void
queue_op(struct st *s, const struct msg *m, int vis)
{
	struct sqs_ops *o = vis < 0 ? &s->del : &s->chg;

	if (o->n == SQS_BATCH)
		flush_ops(s, vis < 0);
	sqs_ops_add(o, m->q.rh, m->q.id, vis);
}

/* ---- messages ---- */

static void
msg_free(struct msg *m)
{
	sqs_msg_free(&m->q);
	s3_events_free(&m->ev);
	free(m);
}

static void
drop(struct st *s, struct msg *m)
{
	for (int i = 0; i < s->nheld; i++)
		if (s->held[i] == m) {
			memmove(&s->held[i], &s->held[i + 1], (size_t)(s->nheld - i - 1) * sizeof *s->held);
			s->nheld--;
			break;
		}
	msg_free(m);
}

/* Starts CMD for m (its current record with --s3-events); -1 if it cannot be started. */
static int
spawn(struct st *s, struct msg *m)
{
	struct buf env = {0};
	struct err e = {0};
	int rc = -1;

	buf_add(&env, m->q.env.p, m->q.env.len);
	if (s->s3 && s3_event_env(&m->ev.rec[m->rec], &env)) {
		say(m->q.id, "the key of an object in s3://%s holds a NUL byte", m->ev.rec[m->rec].bucket);
		goto done;
	}
	if (proc_spawn(s->cmd, env.p, env.len, m->q.body.p, m->q.body.len, &m->pid, &e)) {
		note("%s", e.msg);
		s->fatal = EX_FAIL; /* the same for every message: stop */
		goto done;
	}
	m->state = M_RUN;
	m->timed_out = 0;
	m->deadline = s->exec_timeout > 0 ? mono_now() + s->exec_timeout : 0;
	m->kill_at = 0;
	s->nrun++;
	rc = 0;
done:
	buf_free(&env);
	return rc;
}

/* A failed message: visible again after --retry-delay (with --max-receives, a message received
 * that often is left alone: it comes back after its visibility timeout, for the redrive policy);
 * in a FIFO queue the rest of its group that we hold goes back too, so that SQS hands the group
 * out again in order. */
static void
failed(struct st *s, struct msg *m)
{
	s->failed++;
	if (s->max_receives && m->q.count >= s->max_receives)
		say(m->q.id, "received %ld times: left for the queue's redrive policy", m->q.count);
	else
		queue_op(s, m, (int)s->retry_delay);
	for (int i = 0; s->fifo && m->q.group && i < s->nheld; i++) {
		struct msg *o = s->held[i];
		if (o != m && o->state == M_WAIT && o->q.group && !strcmp(o->q.group, m->q.group)) {
			queue_op(s, o, 0);
			drop(s, o);
			i--;
		}
	}
	drop(s, m);
}

static void
finished(struct st *s, struct msg *m, int status)
{
	s->nrun--;
	m->state = M_WAIT;
	if (WIFEXITED(status) && !WEXITSTATUS(status)) {
		if (s->s3 && ++m->rec < m->ev.n) {
			if (spawn(s, m))
				failed(s, m);
			return;
		}
		s->done++;
		queue_op(s, m, -1);
		drop(s, m);
		return;
	}
	if (m->timed_out)
		say(m->q.id, "%s: stopped after --exec-timeout; made visible again", s->cmd[0]);
	else if (WIFEXITED(status))
		say(m->q.id, "%s exited with %d (received %ld times); made visible again", s->cmd[0], WEXITSTATUS(status),
		    m->q.count);
	else
		say(m->q.id, "%s killed by signal %d (received %ld times); made visible again", s->cmd[0], WTERMSIG(status),
		    m->q.count);
	failed(s, m);
}

/* Without --exec: write the message (or its objects) and delete it. */
static void
output(struct st *s, struct msg *m, struct json j)
{
	if (s->s3) {
		for (int i = 0; i < m->ev.n; i++) {
			struct s3_event *r = &m->ev.rec[i];
			printf("s3://%s/", r->bucket);
			fwrite(r->key, 1, r->key_len, stdout);
			putchar(s->sep);
		}
	} else if (s->json) {
		struct buf b = {0};
		json_compact(j, &b);
		b.len--; /* the closing brace */
		buf_printf(&b, ",\"ApproximateReceiveCount\":%ld}%c", m->q.count, s->sep);
		fwrite(b.p, 1, b.len, stdout);
		buf_free(&b);
	} else {
		fwrite(m->q.body.p ? m->q.body.p : "", 1, m->q.body.len, stdout);
		putchar(s->sep);
	}
	s->done++;
}

/* One message received: written out and deleted, or held for CMD; 0 when handled (m freed). */
static int
take_one(struct st *s, struct msg *m, struct json j)
{
	s->taken++;
	if (!s->receiving) { /* received after a stop: straight back */
		queue_op(s, m, 0);
	} else if (s->s3 && s3_events_parse(m->q.body.p ? m->q.body.p : "", m->q.body.len, &m->ev)) {
		say(m->q.id, "not an S3 event notification; left in the queue");
		s->failed++;
	} else if (s->s3 && m->ev.test) {
		dbg("message %s: s3:TestEvent, deleted", m->q.id);
		if (!s->nodelete)
			queue_op(s, m, -1);
	} else if (!s->cmd) {
		output(s, m, j);
		if (!s->nodelete)
			queue_op(s, m, -1);
	} else {
		return -1;
	}
	msg_free(m);
	return 0;
}

/* The messages of one ReceiveMessage response. */
static void
take(struct st *s, struct buf *resp)
{
	struct json root, list, j;
	size_t pos = 0;

	if (json_parse(resp->p, resp->len, &root) || json_get(root, "Messages", &list))
		return; /* no messages */
	while (!json_next(list, &pos, NULL, &j)) {
		struct msg *m = xcalloc(1, sizeof *m);
		if (sqs_msg_parse(j, s->url, &m->q)) {
			free(m);
			note("ReceiveMessage: a message without MessageId, ReceiptHandle or Body");
			s->errors++;
			continue;
		}
		if (!take_one(s, m, j))
			continue;
		m->beat = mono_now() + s->vis / 3;
		s->held = xrealloc(s->held, (size_t)(s->nheld + 1) * sizeof *s->held);
		s->held[s->nheld++] = m;
	}
	if (!s->cmd && (fflush(stdout) || ferror(stdout)))
		die("write stdout: %s", strerror(errno)); /* nothing written is deleted: it comes back */
}

/* Starts what may start: within -j, and in a FIFO queue after every earlier message of its group. */
static void
start(struct st *s)
{
	for (int i = 0; i < s->nheld && s->nrun < s->jobs && !s->fatal; i++) {
		struct msg *m = s->held[i];
		int blocked = 0;
		if (m->state != M_WAIT)
			continue;
		for (int k = 0; k < i && m->q.group && !blocked; k++)
			blocked = s->held[k]->q.group && !strcmp(s->held[k]->q.group, m->q.group);
		if (blocked)
			continue;
		if (spawn(s, m)) {
			failed(s, m);
			i--;
		}
	}
}

static void
reap(struct st *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (int i = 0; i < s->nheld; i++)
			if (s->held[i]->state == M_RUN && s->held[i]->pid == pid) {
				finished(s, s->held[i], status);
				break;
			}
}

/* Heartbeats, --exec-timeout and --grace; returns the seconds until the next of them. */
static double
timers(struct st *s, double grace_end)
{
	double now = mono_now(), next = 1;

	for (int i = 0; i < s->nheld; i++) {
		struct msg *m = s->held[i];
		if (s->vis > 0 && now >= m->beat) {
			queue_op(s, m, (int)s->vis);
			m->beat = now + s->vis / 3;
		}
		if (s->vis > 0 && m->beat - now < next)
			next = m->beat - now;
		if (m->state != M_RUN)
			continue;
		double end = m->deadline;
		if (grace_end && (!end || grace_end < end))
			end = grace_end;
		if (end && now >= end && !m->kill_at) {
			m->timed_out = 1;
			if (end == grace_end) {
				say(m->q.id, "%s still running after --grace: stopped; made visible again", s->cmd[0]);
				s->killed++;
			}
			kill(-m->pid, SIGTERM);
			m->kill_at = now + KILL_DELAY;
		} else if (m->kill_at && now >= m->kill_at) {
			kill(-m->pid, SIGKILL);
			m->kill_at = now + 3600;
		}
		double t = m->kill_at ? m->kill_at : end;
		if (t && t - now < next)
			next = t - now;
	}
	if (s->chg.n)
		flush_ops(s, 0); /* heartbeats go out now, not batched for later */
	return next < 0 ? 0 : next;
}

/* What the receiver thread brought, if anything: its messages taken, or its failure. */
static void
collect(struct st *s)
{
	struct buf resp;
	struct err e = {0};
	int held_at = 0, got = sqs_rx_take(&s->rx, &resp, &held_at, &s->busy, &e);

	if (got < 0 && !s->fatal) {
		s->ferr = e;
		s->fop = "ReceiveMessage";
		s->receiving = 0;
		s->fatal = -1;
	}
	if (got <= 0)
		return;
	long before = s->taken;
	take(s, &resp);
	buf_free(&resp);
	if (s->drain && s->taken == before && !held_at && s->receiving) {
		dbg("--drain: the queue is empty");
		s->receiving = 0;
	}
	if (s->max && s->taken >= s->max)
		s->receiving = 0;
}

/* The next receive for the receiver thread: how many messages, how long a poll. */
static void
ask(struct st *s)
{
	int want = 0, wait;

	if (s->receiving && !stop_sig) {
		want = s->cmd ? PREFETCH * s->jobs - s->nheld : SQS_BATCH;
		if (want > SQS_BATCH)
			want = SQS_BATCH;
		if (s->max && s->max - s->taken < want)
			want = (int)(s->max - s->taken);
	}
	wait = s->drain ? DRAIN_WAIT_S : s->nheld ? BUSY_WAIT_S : WAIT_S;
	if (s->deadline) {
		double left = s->deadline - mono_now();
		if (left < wait)
			wait = left < 0 ? 0 : (int)left;
	}
	sqs_rx_ask(&s->rx, want < 0 ? 0 : want, wait, s->nheld);
}

/* Deletes wait a little for company (one DeleteMessageBatch for several commands); next is cut
 * to when the oldest must go. */
static void
flush_all(struct st *s, double *next)
{
	if (s->del.n && (!s->receiving || !s->nheld || mono_now() - s->del.since >= DEL_WAIT))
		flush_ops(s, 1);
	if (s->del.n && s->del.since + DEL_WAIT - mono_now() < *next)
		*next = s->del.since + DEL_WAIT - mono_now();
	if (s->chg.n)
		flush_ops(s, 0);
}

static void
loop(struct st *s)
{
	double grace_end = 0;
	int stops = 0;

	for (;;) {
		char drainbuf[64];
		while (read(wake_fd[0], drainbuf, sizeof drainbuf) > 0)
			;
		reap(s);
		/* a signal, --timeout or a failed receive: no more receives, and the grace begins */
		int halt = stop_sig || (s->deadline && mono_now() >= s->deadline) || s->fatal;
		if (halt && !grace_end) {
			dbg("stopping: no more receives; %d commands running", s->nrun);
			grace_end = mono_now() + s->grace;
			s->receiving = 0;
		}
		if (stop_sig > 1 && stop_sig != stops) /* a second signal: no more grace */
			grace_end = mono_now();
		stops = stop_sig;
		collect(s);
		if (s->fatal && !grace_end) {
			grace_end = mono_now() + s->grace;
			s->receiving = 0;
		}
		if (grace_end) { /* what has not started goes back */
			for (int i = 0; i < s->nheld; i++)
				if (s->held[i]->state == M_WAIT) {
					queue_op(s, s->held[i], 0);
					drop(s, s->held[i--]);
				}
		} else {
			start(s); /* after --max or --drain, what is held still runs */
			if (s->fatal)
				s->receiving = 0; /* no receive now; the grace begins next time round */
		}
		double next = timers(s, grace_end);
		flush_all(s, &next);
		/* a receive made while messages were held is short: wait for it, and return what it
		 * brings; a long poll made idle is not waited for (see README) */
		if (!s->receiving && !s->nheld && s->busy <= 1)
			break;
		ask(s);
		if (s->deadline && s->receiving && s->deadline - mono_now() < next)
			next = s->deadline - mono_now();
		if (grace_end && grace_end - mono_now() < next && grace_end > mono_now())
			next = grace_end - mono_now();
		struct pollfd p = {wake_fd[0], POLLIN, 0};
		poll(&p, 1, next <= 0 ? 0 : (int)(next * 1000) + 1);
	}
}

/* The queue's visibility timeout, for the heartbeat; without leave to ask, 30 s asked for in each
 * receive. */
static void
queue_vis(struct st *s)
{
	struct err e = {0};
	char *v = NULL;

	if (sqs_queue_attr(s->a, s->url, "VisibilityTimeout", &v, &e)) {
		int code = err_exit_code(&e);
		if (code != EX_ACCESS)
			die_err(&e, "GetQueueAttributes %s", s->url);
		warn("GetQueueAttributes %s: %s; asking for a visibility timeout of 30 s", s->url, e.msg);
		s->vis = 30;
		s->rx.vis = 30;
	} else {
		s->vis = v ? dec_parse(v, NULL) : 30;
	}
	dbg("visibility timeout %.0f s: a heartbeat every %.1f s", s->vis, s->vis / 3);
	free(v);
}

static double
duration(const struct opt *o, double max)
{
	double d = opt_duration(o);

	if (d < 0 || d > max)
		usage("%s: from 0 to %.0f seconds, not '%s'", o->name, max, o->arg);
	return d;
}

/* The wake-up pipe, the signal handlers and the receiver thread (the main thread runs loop). */
static void
start_receiver(struct st *s)
{
	struct err e = {0};

	if (pipe2(wake_fd, O_NONBLOCK | O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	s->rx.a = s->a;
	s->rx.url = s->url;
	s->rx.wake_fd = wake_fd[1];
	if (sqs_rx_start(&s->rx, &e))
		die("%s", e.msg);
}

/* The options into s, checked: usage() on anything wrong; the queue as given. */
static const char *
parse_args(int argc, char **argv, struct opt *o, struct st *s)
{
	enum { OPT_NUL = 1, OPT_FORMAT, OPT_NODEL, OPT_MAX, OPT_DRAIN, OPT_TIMEOUT, OPT_S3, OPT_EXEC, OPT_JOBS, OPT_ETIME, OPT_RETRY, OPT_MAXR,
	       OPT_GRACE };
	static const struct optdef defs[] = {
		{"null", '0', 0, OPT_NUL},  {"format", 'f', 1, OPT_FORMAT},    {"no-delete", 0, 0, OPT_NODEL},
		{"max", 'n', 1, OPT_MAX}, {"drain", 0, 0, OPT_DRAIN},        {"timeout", 0, 1, OPT_TIMEOUT},
		{"s3-events", 0, 0, OPT_S3}, {"exec", 0, 0, OPT_EXEC},       {"jobs", 'j', 1, OPT_JOBS},
		{"exec-timeout", 0, 1, OPT_ETIME}, {"retry-delay", 0, 1, OPT_RETRY}, {"max-receives", 0, 1, OPT_MAXR},
		{"grace", 0, 1, OPT_GRACE}, {NULL, 0, 0, 0},
	};
	const char *queue = NULL;
	int exec = 0, ncmd = 0, k;

	s->cmd = xcalloc((size_t)argc + 1, sizeof *s->cmd);
	opt_init(o, argc, argv, defs, sqsrecv_help);
	while ((k = opt_next(o)) != OPT_END) {
		switch (k) {
		case OPT_NUL: s->sep = 0; break;
		case OPT_FORMAT:
			if (strcmp(o->arg, "json") && strcmp(o->arg, "text"))
				usage("--format: json or text, not '%s'", o->arg);
			s->json = !strcmp(o->arg, "json");
			break;
		case OPT_NODEL: s->nodelete = 1; break;
		case OPT_MAX: s->max = opt_long(o, 1, 1L << 40); break;
		case OPT_DRAIN: s->drain = 1; break;
		case OPT_TIMEOUT: s->deadline = duration(o, 1e9); break;
		case OPT_S3: s->s3 = 1; break;
		case OPT_EXEC: exec = 1; break;
		case OPT_JOBS: s->jobs = (int)opt_long(o, 1, 1000); break;
		case OPT_ETIME: s->exec_timeout = duration(o, 43200); break;
		case OPT_RETRY: s->retry_delay = duration(o, 43200); break;
		case OPT_MAXR: s->max_receives = opt_long(o, 1, 1000); break;
		case OPT_GRACE: s->grace = duration(o, 43200); break;
		case OPT_POS:
			if (o->after_dashdash && exec && queue)
				s->cmd[ncmd++] = (char *)o->arg;
			else if (!queue && !o->after_dashdash)
				queue = o->arg;
			else
				usage("unexpected argument '%s'%s", o->arg, exec ? "" : " (a command goes after --exec --)");
			break;
		default: usage("unexpected argument '%s'", o->arg);
		}
	}
	if (!queue || !*queue)
		usage("no queue given");
	if (exec && !ncmd)
		usage("--exec: no command given after --");
	if (!exec && s->jobs > 1)
		usage("-j: only with --exec");
	if (exec && (s->json || !s->sep))
		usage("--format and -0 are for the output; with --exec the command gets each body on stdin");
	if (exec && s->nodelete)
		usage("--no-delete: with --exec a message is deleted only when the command exits 0");
	if (!exec)
		free(s->cmd), s->cmd = NULL;
	return queue;
}

int
sqsrecv_main(int argc, char **argv)
{
	static struct st s = {.jobs = 1, .grace = 30, .sep = '\n', .receiving = 1};
	static struct aws a; /* the receiver thread may still use it when main returns */
	struct opt o;
	struct err e = {0};

	const char *queue = parse_args(argc, argv, &o, &s);
	if (s.deadline)
		s.deadline += mono_now();
	s.fifo = sqs_is_fifo(queue);

	xaws_init(&a, &o.common);
	s.a = &a;
	if (sqs_queue_url(&a, queue, &s.url, &e))
		e.kind == E_USAGE ? usage("%s", e.msg) : die_err(&e, "GetQueueUrl %s", queue);
	if (s.cmd)
		queue_vis(&s);

	start_receiver(&s);
	loop(&s);

	if (s.fatal < 0)
		die_err(&s.ferr, "%s %s", s.fop, s.url);
	if (s.fatal)
		return s.fatal;
	if (fflush(stdout) || ferror(stdout))
		die("write stdout: %s", strerror(errno));
	int ended = s.max || s.drain || s.deadline;
	if (s.errors || s.killed || (ended && s.failed)) {
		note("%ld messages done, %ld failed%s", s.done, s.failed + s.killed, s.errors ? ", and the errors above" : "");
		return EX_REMOTE;
	}
	return EX_OK;
}
