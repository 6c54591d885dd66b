/* ssmrun.c — run an SSM Automation document or a Run Command and wait for it to end.
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_StartAutomationExecution.html
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ssmrun_help[] =
	"Usage: ssmrun --document NAME [OPTIONS] [KEY=VALUE...]\n"
	"       ssmrun (--instance ID... | --target KEY=VALUES...) (--command TEXT | --document NAME)\n"
	"              [OPTIONS] [KEY=VALUE...]\n\n"
	"Automation (no --instance or --target): start an execution of document NAME with the\n"
	"parameters KEY=VALUE, wait for it to end while showing its status changes on stderr,\n"
	"then print its outputs as JSON on stdout ({\"step.Output\":[\"value\"]}).\n"
	"Run Command (--instance or --target): send the document (AWS-RunShellScript with\n"
	"--command) to the instances, wait until every one has finished, then print each\n"
	"instance's output: its stdout to stdout, its stderr to stderr, each line prefixed with\n"
	"\"INSTANCE-ID: \" when there are several instances. SSM keeps only the first 24,000\n"
	"characters of each stream here (a warning says when that happened).\n\n"
	"A VALUE with commas is a list (\"\\,\" is a literal comma); repeating a KEY adds values.\n"
	"The execution or command id is shown on stderr as soon as it is known. Polls come\n"
	"2.5 s apart at first, then 5 s from the 5th poll, then 15 s from the 17th, each with\n"
	"+-20% jitter, to stay well under the API's rate limits.\n\n"
	"Options:\n"
	"  -d, --document NAME       the document (name or ARN); Run Command default AWS-RunShellScript\n"
	"      --document-version V  a version number, $LATEST or $DEFAULT\n"
	"  -i, --instance ID         Run Command on this instance (repeatable, up to 50)\n"
	"  -t, --target KEY=VALUES   Run Command on matching instances: tag:Name=web,db,\n"
	"                            InstanceIds=i-1,i-2, resource-groups:Name=G (up to 5)\n"
	"  -c, --command TEXT        a shell command line for AWS-RunShellScript (repeatable)\n"
	"      --comment TEXT        Run Command comment\n"
	"      --timeout DURATION    stop waiting after DURATION (30s, 10m, 1h): exit 5, and the\n"
	"                            execution or command goes on\n"
	"      --no-wait             print the execution or command id on stdout and exit\n"
	"      --quiet               no status changes on stderr\n\n"
	"Examples:\n"
	"  ssmrun --document AWS-StartEC2Instance InstanceId=i-0123456789abcdef0\n"
	"  ssmrun -d AWS-RestartEC2Instance InstanceId=i-1,i-2 --timeout 15m > outputs.json\n"
	"  ssmrun --instance i-0123456789abcdef0 --command 'systemctl restart app'\n"
	"  ssmrun --target tag:Role=web --command 'df -h /' --timeout 5m\n";

const struct exitdoc ssmrun_exits[] = {
	{0, "Success (on every instance)"},
	{1, "other failure"},
	{2, "usage"},
	{3, "no such document, instance or execution"},
	{4, "access denied or no credentials"},
	{5, "--timeout ran out (the execution or command goes on)"},
	{6, "network or TLS failure after retries"},
	{7, "Failed, Cancelled, TimedOut or another unsuccessful end"},
	{-1, NULL},
};

#define STDOUT_MAX_CHARS 24000 /* what SSM keeps of each stream in GetCommandInvocation */

static void
json_or_die(const struct buf *out, const char *op, struct json *root)
{
	if (json_parse(out->p ? out->p : "", out->len, root) || root->type != JSON_OBJECT)
		die("%s: the response is not a JSON object", op);
}

/* The waits' polls (ssm_poll), saying when one failed in a way worth polling again: 0, 1 to poll
 * again, -1 on any other failure (e). */
static int
poll_json(struct aws *a, const char *op, const char *body, double deadline, struct buf *out, struct err *e)
{
	int rc = ssm_poll(a, op, body, deadline, out, e);

	if (rc == 1) {
		char line[700];
		err_format(e, op, line, sizeof line);
		warn("%s (polling again)", line);
	}
	return rc > 0 ? 1 : rc;
}

static void
wait_init(struct ssm_wait *w, double timeout)
{
	struct err e = {0};

	if (ssm_wait_init(w, timeout, &e))
		die_code(EX_USAGE, "%s", e.msg);
}

/* ---- Automation ---- */

static const char *const auto_ok[] = {"Success", "CompletedWithSuccess", NULL};
static const char *const auto_failed[] = {"Failed", "TimedOut", "Cancelled", "Rejected", "CompletedWithFailure",
					  "ChangeCalendarOverrideRejected", "Exited", NULL};

/* The failure message of an execution, or of its first failed step. */
static void
auto_failure(struct json ex, struct buf *msg)
{
	struct json steps, st, v;
	size_t pos = 0;

	if (!json_get(ex, "FailureMessage", &v) && !json_str(v, msg) && msg->len)
		return;
	buf_reset(msg);
	if (json_get(ex, "StepExecutions", &steps))
		return;
	while (!json_next(steps, &pos, NULL, &st)) {
		char *s = json_get_strdup(st, "StepStatus");
		int bad = s && ssm_status_in(s, auto_failed);
		free(s);
		if (bad && !json_get(st, "FailureMessage", &v) && !json_str(v, msg) && msg->len) {
			char *name = json_get_strdup(st, "StepName");
			struct buf t = {0};
			buf_printf(&t, "step %s: %s", name ? name : "?", msg->p);
			buf_reset(msg);
			buf_add(msg, t.p, t.len);
			buf_free(&t);
			free(name);
			return;
		}
		buf_reset(msg);
	}
}

/* StartAutomationExecution: the execution's id (xmalloc'd), or dies. */
static char *
auto_start(struct aws *a, const char *doc, const char *version, const struct ssm_params *ps)
{
	struct buf req = {0}, out = {0};
	struct err e = {0};
	struct json root;
	char *id;

	ssm_automation_req(doc, version, ps, &req);
	if (aws_json(a, &SVC_SSM, "StartAutomationExecution", req.p, &out, &e))
		die_err(&e, "StartAutomationExecution %s", doc);
	json_or_die(&out, "StartAutomationExecution", &root);
	if (!(id = json_get_strdup(root, "AutomationExecutionId")) || !*id)
		die("StartAutomationExecution: no AutomationExecutionId in the response");
	buf_free(&req);
	buf_free(&out);
	return id;
}

/* Polls GetAutomationExecution until the execution ends, saying each change of status or step:
 * 0 with *ex (a slice of out) and *status, or EX_DEADLINE when the wait ran out (said). */
static int
auto_wait(struct aws *a, const char *id, double timeout, struct buf *out, struct json *ex, char **status)
{
	struct buf req = {0};
	struct err e = {0};
	struct json root;
	struct ssm_wait w;
	char *step = NULL;
	int rc;

	buf_adds(&req, "{\"AutomationExecutionId\":");
	json_put_str(&req, id, strlen(id));
	buf_addc(&req, '}');
	wait_init(&w, timeout);
	for (;;) {
		if (ssm_wait_sleep(&w)) {
			note("timed out waiting for automation execution %s (%s); it goes on: "
			     "aws ssm get-automation-execution --automation-execution-id %s",
			     id, *status ? *status : "status unknown", id);
			rc = EX_DEADLINE;
			break;
		}
		if ((rc = poll_json(a, "GetAutomationExecution", req.p, w.deadline, out, &e)) < 0)
			die_err(&e, "GetAutomationExecution %s", id);
		if (rc)
			continue;
		json_or_die(out, "GetAutomationExecution", &root);
		if (json_get(root, "AutomationExecution", ex) || ex->type != JSON_OBJECT)
			die("GetAutomationExecution: no AutomationExecution in the response");
		char *s = json_get_strdup(*ex, "AutomationExecutionStatus"), *cur = json_get_strdup(*ex, "CurrentStepName");
		if (!s || !*s)
			die("GetAutomationExecution: no AutomationExecutionStatus in the response");
		int changed = !*status || strcmp(s, *status) || (cur && (!step || strcmp(cur, step)));
		free(*status);
		free(step);
		*status = s;
		step = cur;
		int end = ssm_status_in(s, auto_ok) || ssm_status_in(s, auto_failed);
		if (changed && step && *step && !end)
			warn("%s: %s (step %s)", id, s, step);
		else if (changed)
			warn("%s: %s", id, s);
		if (end)
			break;
	}
	free(step);
	buf_free(&req);
	return rc;
}

static int
automation(struct aws *a, const char *doc, const char *version, const struct ssm_params *ps, int nowait,
	   double timeout)
{
	struct buf out = {0}, msg = {0};
	struct json ex, v;
	char *id = auto_start(a, doc, version, ps), *status = NULL;
	int rc = EX_OK;

	if (nowait) {
		puts(id);
		goto done;
	}
	warn("automation execution %s started", id);
	if ((rc = auto_wait(a, id, timeout, &out, &ex, &status)))
		goto done;
	/* outputs, as the service gives them (a map of lists of strings) */
	if (!json_get(ex, "Outputs", &v) && v.type == JSON_OBJECT)
		printf("%.*s\n", (int)v.n, v.p);
	else
		puts("{}");
	if (ssm_status_in(status, auto_failed)) {
		auto_failure(ex, &msg);
		note("automation execution %s %s%s%s", id, status, msg.len ? ": " : "", msg.len ? msg.p : "");
		rc = EX_REMOTE;
	}
done:
	free(id);
	free(status);
	buf_free(&out);
	buf_free(&msg);
	return rc;
}

/* ---- Run Command ---- */

static const char *const cmd_done[] = {"Success", "Cancelled", "Failed", "TimedOut", NULL};

struct inst {
	char *id;
	char *status, *details;
	long code;   /* ResponseCode; -1: none */
	int done;
	int missing; /* InvocationDoesNotExist answers */
};

/* Writes n bytes of s to f; with a prefix, each line starts with "prefix: " and ends with a newline. */
static void
emit(FILE *f, const char *prefix, const char *s, size_t n)
{
	if (!prefix) {
		fwrite(s, 1, n, f);
		return;
	}
	while (n) {
		const char *nl = memchr(s, '\n', n);
		size_t k = nl ? (size_t)(nl - s) + 1 : n;
		fprintf(f, "%s: ", prefix);
		fwrite(s, 1, k, f);
		if (!nl)
			fputc('\n', f);
		s += k;
		n -= k;
	}
}

/* Prints one finished invocation's streams (stdout, then stderr). */
static void
print_output(struct json inv, const char *prefix, const char *id)
{
	static const char *const streams[][2] = {{"StandardOutputContent", "StandardOutputUrl"},
						 {"StandardErrorContent", "StandardErrorUrl"}};
	struct buf t = {0};
	struct json v;

	for (int i = 0; i < 2; i++) {
		buf_reset(&t);
		if (json_get(inv, streams[i][0], &v) || json_str(v, &t) || !t.len)
			continue;
		emit(i ? stderr : stdout, prefix, t.p, t.len);
		fflush(stdout);
		if (utf8_chars(t.p, t.len) >= STDOUT_MAX_CHARS) {
			char *url = json_get_strdup(inv, streams[i][1]);
			warn("%s: %s truncated by SSM to its first %d characters%s%s", id, i ? "stderr" : "stdout",
			     STDOUT_MAX_CHARS, url && *url ? "; all of it is at " : "", url && *url ? url : "");
			free(url);
		}
	}
	buf_free(&t);
}

/* The instances a targeted command went to (ListCommandInvocations, all pages). */
static int
list_instances(struct aws *a, const char *cmd, struct inst **out)
{
	struct buf req = {0}, res = {0};
	struct err e = {0};
	struct json root, list, item;
	char *token = NULL;
	int n = 0;

	do {
		buf_reset(&req);
		buf_printf(&req, "{\"CommandId\":\"%s\",\"MaxResults\":50", cmd);
		if (token) {
			buf_adds(&req, ",\"NextToken\":");
			json_put_str(&req, token, strlen(token));
		}
		buf_addc(&req, '}');
		free(token);
		token = NULL;
		if (aws_json(a, &SVC_SSM, "ListCommandInvocations", req.p, &res, &e))
			die_err(&e, "ListCommandInvocations %s", cmd);
		json_or_die(&res, "ListCommandInvocations", &root);
		if (!json_get(root, "CommandInvocations", &list)) {
			for (size_t pos = 0; !json_next(list, &pos, NULL, &item);) {
				char *id = json_get_strdup(item, "InstanceId");
				int seen = !id || !*id;
				for (int i = 0; i < n && !seen; i++)
					seen = !strcmp((*out)[i].id, id);
				if (seen) {
					free(id);
					continue;
				}
				*out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
				(*out)[n++] = (struct inst){.id = id, .code = -1};
			}
		}
		token = json_get_strdup(root, "NextToken");
	} while (token && *token);
	free(token);
	buf_free(&req);
	buf_free(&res);
	return n;
}

/* SendCommand: the command's id (xmalloc'd), or dies. */
static char *
send_command(struct aws *a, const struct ssm_command *c)
{
	struct buf req = {0}, out = {0};
	struct err e = {0};
	struct json root, v;
	struct http_resp r;
	char *cmd = NULL;

	ssm_command_req(c, &req);
	/* SendCommand has no idempotency token: never resent once it may have arrived */
	struct http_body hb = {req.p, (int64_t)req.len, NULL, NULL, NULL};
	struct aws_req q = {.svc = &SVC_SSM, .method = "POST", .path = "/", .body = &hb, .target = "SendCommand",
			    .out = &out, .op = "SendCommand", .not_idempotent = 1};
	int rc = aws_call(a, &q, &r, &e);
	http_resp_free(&r);
	if (rc)
		die_err(&e, "SendCommand %s", c->doc);
	json_or_die(&out, "SendCommand", &root);
	if (json_get(root, "Command", &v) || !(cmd = json_get_strdup(v, "CommandId")) || !*cmd || strchr(cmd, '"') ||
	    strchr(cmd, '\\'))
		die("SendCommand: no CommandId in the response");
	buf_free(&req);
	buf_free(&out);
	return cmd;
}

/* Polls ListCommands (one call per poll, however many instances) until the command is done,
 * saying each change of status; 0, or -1 when the wait runs out. *status: the last one. */
static int
wait_command(struct aws *a, const char *cmd, int nids, struct ssm_wait *w, char **status)
{
	struct buf req = {0}, out = {0};
	struct err e = {0};
	struct json root, v;
	long completed = -1;
	int rc;

	buf_printf(&req, "{\"CommandId\":\"%s\"}", cmd);
	for (;;) {
		if (ssm_wait_sleep(w))
			break;
		if ((rc = poll_json(a, "ListCommands", req.p, w->deadline, &out, &e)) < 0) {
			if (!strcmp(e.code, "InvalidCommandId") && w->polls <= 4) /* not visible everywhere yet */
				continue;
			die_err(&e, "ListCommands %s", cmd);
		}
		if (rc)
			continue;
		json_or_die(&out, "ListCommands", &root);
		if (json_get(root, "Commands", &v) || json_index(v, 0, &v))
			continue;
		char *s = json_get_strdup(v, "Status");
		struct json tc, cc;
		long total = !json_get(v, "TargetCount", &tc) && tc.type == JSON_NUMBER ? strtol(tc.p, NULL, 10) : -1;
		long done = !json_get(v, "CompletedCount", &cc) && cc.type == JSON_NUMBER ? strtol(cc.p, NULL, 10) : -1;
		if (!s || !*s) {
			free(s);
			continue;
		}
		if (!*status || strcmp(s, *status) || done != completed) {
			if (total > 1 || (total >= 0 && !nids))
				warn("%s: %s (%ld of %ld instances done)", cmd, s, done < 0 ? 0 : done, total);
			else
				warn("%s: %s", cmd, s);
		}
		free(*status);
		*status = s;
		completed = done;
		if (ssm_status_in(*status, cmd_done))
			break;
	}
	buf_free(&req);
	buf_free(&out);
	return *status && ssm_status_in(*status, cmd_done) ? 0 : -1;
}

/* Polls GetCommandInvocation for each instance not done yet, printing each one's output as it
 * ends; 0 when all have, -1 when the wait runs out. */
static int
wait_invocations(struct aws *a, const char *cmd, struct inst *in, int n, struct ssm_wait *w)
{
	struct buf req = {0}, out = {0};
	struct err e = {0};
	struct json inv, v;
	int rc, timed_out = 0;

	for (int left = n;;) {
		for (int i = 0; i < n; i++) {
			if (in[i].done)
				continue;
			buf_reset(&req);
			buf_printf(&req, "{\"CommandId\":\"%s\",\"InstanceId\":", cmd);
			json_put_str(&req, in[i].id, strlen(in[i].id));
			buf_addc(&req, '}');
			if ((rc = poll_json(a, "GetCommandInvocation", req.p, w->deadline, &out, &e)) < 0) {
				/* right after SendCommand, or on a node still being reached */
				if (strcmp(e.code, "InvocationDoesNotExist"))
					die_err(&e, "GetCommandInvocation %s %s", cmd, in[i].id);
				if (++in[i].missing > 5) {
					in[i].status = xstrdup("NoInvocation");
					in[i].details = xstrdup("InvocationDoesNotExist");
					in[i].done = 1;
					left--;
				}
				continue;
			}
			if (rc)
				continue;
			json_or_die(&out, "GetCommandInvocation", &inv);
			char *s = json_get_strdup(inv, "Status");
			if (!s || !ssm_status_in(s, cmd_done)) {
				free(s);
				continue;
			}
			in[i].status = s;
			in[i].details = json_get_strdup(inv, "StatusDetails");
			if (!json_get(inv, "ResponseCode", &v) && v.type == JSON_NUMBER)
				in[i].code = strtol(v.p, NULL, 10);
			in[i].done = 1;
			left--;
			print_output(inv, n > 1 ? in[i].id : NULL, in[i].id);
		}
		if (!left)
			break;
		if (ssm_wait_sleep(w)) {
			timed_out = 1;
			break;
		}
	}
	buf_free(&req);
	buf_free(&out);
	return timed_out ? -1 : 0;
}

/* EX_OK when every instance succeeded; else one line for each instance, and EX_REMOTE. */
static int
report(const struct inst *in, int n)
{
	int rc = EX_OK;

	for (int i = 0; i < n; i++)
		if (strcmp(in[i].status, "Success"))
			rc = EX_REMOTE;
	for (int i = 0; i < n && rc != EX_OK; i++) {
		char code[32] = "no exit code";
		if (in[i].code >= 0)
			snprintf(code, sizeof code, "exit %ld", in[i].code);
		int same = !in[i].details || !strcmp(in[i].details, in[i].status);
		note("%s: %s (%s%s%s)", in[i].id, in[i].status, same ? "" : in[i].details, same ? "" : ", ", code);
	}
	return rc;
}

static int
runcommand(struct aws *a, const struct ssm_command *c, int nowait, double timeout)
{
	struct ssm_wait w;
	struct inst *in = NULL;
	char *cmd = send_command(a, c), *status = NULL;
	int rc, n = 0;

	if (nowait) {
		puts(cmd);
		rc = EX_OK;
		goto done;
	}
	warn("command %s sent", cmd);
	wait_init(&w, timeout);
	if (wait_command(a, cmd, c->nids, &w, &status))
		goto timeout;
	/* each instance's result and output */
	if (c->nids) {
		in = xcalloc((size_t)c->nids, sizeof *in);
		for (n = 0; n < c->nids; n++)
			in[n] = (struct inst){.id = xstrdup(c->ids[n]), .code = -1};
	} else {
		n = list_instances(a, cmd, &in);
	}
	if (!n) {
		note("command %s %s on no instance: no managed instance matched the targets", cmd, status);
		rc = EX_REMOTE;
		goto done;
	}
	if (wait_invocations(a, cmd, in, n, &w))
		goto timeout;
	rc = report(in, n);
	goto done;
timeout:
	note("timed out waiting for command %s (%s); it goes on: aws ssm list-command-invocations --command-id %s --details",
	     cmd, status ? status : "status unknown", cmd);
	rc = EX_DEADLINE;
done:
	for (int i = 0; i < n; i++) {
		free(in[i].id);
		free(in[i].status);
		free(in[i].details);
	}
	free(in);
	free(cmd);
	free(status);
	return rc;
}

/* KEY=VALUE into ps (usage() if it is not). */
static void
param_parse(struct ssm_params *ps, const char *arg, const char *what)
{
	struct err e = {0};

	if (ssm_param_parse(ps, arg, &e))
		usage("%s: %s", what, e.msg);
}

/* What the command line asks for. */
struct args {
	struct ssm_command c;
	struct ssm_params ps, targets;
	int ncmds, nowait;
	double timeout;
};

/* The options into r, checked: usage() on anything wrong. */
static void
parse_args(int argc, char **argv, struct opt *o, struct args *r)
{
	static const struct optdef defs[] = {
		{"document", 'd', 1, 'd'}, {"document-version", 0, 1, 'V'}, {"instance", 'i', 1, 'i'},
		{"target", 't', 1, 't'},   {"command", 'c', 1, 'c'},        {"comment", 0, 1, 'C'},
		{"timeout", 0, 1, 'T'},    {"no-wait", 0, 0, 'n'},          {NULL, 0, 0, 0},
	};
	struct ssm_command *c = &r->c;
	int k;

	opt_init(o, argc, argv, defs, ssmrun_help);
	c->ids = xcalloc((size_t)argc, sizeof *c->ids);
	while ((k = opt_next(o)) != OPT_END) {
		switch (k) {
		case 'd': c->doc = o->arg; break;
		case 'V': c->version = o->arg; break;
		case 'i':
			if (!*o->arg)
				usage("--instance: empty instance id");
			c->ids[c->nids++] = (char *)o->arg;
			break;
		case 't': param_parse(&r->targets, o->arg, "--target"); break;
		case 'c':
			ssm_param_value(ssm_param_get(&r->ps, "commands", 8), o->arg, strlen(o->arg));
			r->ncmds++;
			break;
		case 'C': c->comment = o->arg; break;
		case 'T':
			r->timeout = opt_duration(o);
			if (!(r->timeout > 0))
				usage("--timeout: expected a duration above zero, such as 30s or 10m");
			break;
		case 'n': r->nowait = 1; break;
		case OPT_POS: param_parse(&r->ps, o->arg, "parameter"); break;
		default: usage("unexpected argument '%s'", o->arg);
		}
	}
}

/* The checks that take more than one option. */
static void
validate(const struct args *r)
{
	int run = r->c.nids || r->targets.n;

	if (r->c.nids && r->targets.n)
		usage("--instance and --target do not go together");
	if (r->c.nids > 50)
		usage("--instance: at most 50 instances (use --target for more)");
	if (r->targets.n > 5)
		usage("--target: at most 5 target keys");
	if (!run && r->ncmds)
		usage("--command needs --instance or --target");
	if (!run && !r->c.doc)
		usage("give --document NAME (Automation), or --instance/--target with --command (Run Command)");
	if (!run && r->c.comment)
		usage("--comment is for Run Command (--instance or --target)");
	if (run && !r->c.doc && !r->ncmds)
		usage("Run Command needs --command TEXT or --document NAME");
}

int
ssmrun_main(int argc, char **argv)
{
	struct args r = {0};
	struct opt o;
	struct aws a;
	int k;

	parse_args(argc, argv, &o, &r);
	validate(&r);
	r.c.ps = &r.ps;
	r.c.targets = &r.targets;
	xaws_init(&a, &o.common);
	if (r.c.nids || r.targets.n) {
		if (!r.c.doc)
			r.c.doc = "AWS-RunShellScript";
		k = runcommand(&a, &r.c, r.nowait, r.timeout);
	} else {
		k = automation(&a, r.c.doc, r.c.version, &r.ps, r.nowait, r.timeout);
	}
	ssm_params_free(&r.ps);
	ssm_params_free(&r.targets);
	free(r.c.ids);
	aws_free(&a);
	if (fflush(stdout) || ferror(stdout))
		die("write stdout: %s", strerror(errno));
	return k;
}
