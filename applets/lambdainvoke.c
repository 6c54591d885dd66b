/* lambdainvoke.c — invoke a Lambda function and stream its response payload to stdout (Invoke).
 * https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAYLOAD_MAX 6291456 /* Lambda: "Request must be smaller than 6291456 bytes" */
/* A synchronous response is at most 6 MB (Lambda quotas); Lambda's own error names 6291556 bytes.
 * More is not from Lambda: cut off rather than written out for ever. */
#define RESPONSE_MAX 6291556
#define PEEK_MAX 65536      /* bytes of a function error kept for the summary line */
#define FN_TIME_MAX 900     /* seconds: the longest a function can run, the default wait */

const char lambdainvoke_help[] =
	"Usage: lambdainvoke [OPTIONS] FUNCTION [PAYLOAD | -]\n"
	"       lambdainvoke [OPTIONS] FUNCTION --payload-file FILE\n\n"
	"Invoke a Lambda function and write its response payload to stdout, byte for byte.\n"
	"FUNCTION is a name (my-fn), a name with a version or alias (my-fn:prod), a partial ARN\n"
	"(123456789012:function:my-fn) or an ARN. PAYLOAD is the event as raw JSON ('-': read it\n"
	"from stdin); it is checked before anything is sent. Without one the event is empty.\n\n"
	"A function error (X-Amz-Function-Error) writes the error payload to stdout and a one-line\n"
	"summary to stderr, and exits 7. Invoke is never sent twice once it may have reached Lambda:\n"
	"a timeout or a dropped connection after sending exits 6 (the function may still run).\n\n"
	"Options:\n"
	"  -t, --type TYPE          RequestResponse (default: wait for the result), Event (queue\n"
	"                           the event and return; prints nothing) or DryRun (check the\n"
	"                           parameters and permissions only)\n"
	"      --qualifier Q        the version or alias to invoke\n"
	"  -f, --payload-file FILE  read the payload from FILE ('-': stdin)\n"
	"  -l, --log                write the tail of the function's log (last 4 KB) to stderr\n"
	"      --read-timeout T     how long to wait for the result (30s, 15m, 1h): by default 900s,\n"
	"                           the longest a function can run, or AWSBOX_READ_TIMEOUT when set\n"
	"                           (60s for Event and DryRun)\n\n"
	"Examples:\n"
	"  lambdainvoke my-fn '{\"id\": 42}' | jq .result\n"
	"  lambdainvoke my-fn:prod --payload-file event.json > out.json\n"
	"  jq -n '{id: 42}' | lambdainvoke --log my-fn -\n"
	"  lambdainvoke --type Event nightly-report '{}'\n"
	"  lambdainvoke --read-timeout 20m long-job '{}'\n";

const struct exitdoc lambdainvoke_exits[] = {
	{0, "ok"},
	{1, "other failure"},
	{2, "usage, or a payload that is not JSON"},
	{3, "no such function"},
	{4, "access denied or no credentials"},
	{6, "network failure or timeout (after sending, the function may have run)"},
	{7, "the function failed (FunctionError)"},
	{-1, NULL},
};

struct out {
	int discard;
	uint64_t total;  /* response bytes so far */
	int ferr;        /* -1 unknown; 1 the body is a function error */
	struct buf peek; /* the function error's first bytes */
};

/* The http_sink: the payload straight to stdout, unbuffered and unchanged. */
static int
to_stdout(void *ctx, const struct http_resp *r, const void *p, size_t n, struct err *e)
{
	struct out *o = ctx;
	const char *s = p;

	if (r->content_length > RESPONSE_MAX || (o->total += n) > RESPONSE_MAX)
		return err_set(e, E_PROTO, "the response is over %d bytes, Lambda's limit for a synchronous response "
				       "(not from Lambda?): cut off", RESPONSE_MAX);
	if (o->discard)
		return 0;
	if (o->ferr < 0)
		o->ferr = http_header(r, "x-amz-function-error", NULL) != NULL;
	if (o->ferr && o->peek.len < PEEK_MAX)
		buf_add(&o->peek, p, n < PEEK_MAX - o->peek.len ? n : PEEK_MAX - o->peek.len);
	while (n) {
		ssize_t w = write(1, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return err_set(e, E_IO, "writing to stdout: %s", strerror(errno));
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads all of path ('-': stdin) into b; more than Lambda accepts is a usage error. */
static void
read_payload(const char *path, struct buf *b)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	const char *name = fd ? path : "stdin";

	if (fd < 0)
		die_code(errno == ENOENT ? EX_NOTFOUND : EX_FAIL, "%s: %s", path, strerror(errno));
	for (;;) {
		buf_reserve(b, 65536);
		ssize_t n = read(fd, b->p + b->len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("%s: %s", name, strerror(errno));
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->p[b->len] = 0;
		if (b->len > PAYLOAD_MAX)
			die_code(EX_USAGE, "%s: the payload is over Lambda's limit of %d bytes", name, PAYLOAD_MAX);
	}
	if (fd)
		close(fd);
}

/* "errorType: errorMessage" from a function error payload, on one line; "" if it has neither. */
static void
error_summary(const struct buf *peek, char *out, size_t n)
{
	struct json root, v;
	struct buf type = {0}, msg = {0};

	out[0] = 0;
	if (!peek->len || json_parse(peek->p, peek->len, &root) || root.type != JSON_OBJECT)
		return;
	if (!json_get(root, "errorType", &v))
		json_str(v, &type);
	if (!json_get(root, "errorMessage", &v))
		json_str(v, &msg);
	snprintf(out, n, "%s%s%.300s", type.p ? type.p : "", type.len && msg.len ? ": " : "", msg.p ? msg.p : "");
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	buf_free(&type);
	buf_free(&msg);
}

/* The payload: PAYLOAD, or read from --payload-file or stdin ('-'); valid JSON within Lambda's
 * limit, or a usage error naming where it came from. */
static void
load_payload(const char *file, const char *payload, struct buf *body)
{
	struct json root;

	if (file || (payload && !strcmp(payload, "-")))
		read_payload(file ? file : "-", body);
	else if (payload)
		buf_adds(body, payload);
	if (!file && !payload)
		return;
	const char *from = file && strcmp(file, "-") ? file : file || !strcmp(payload, "-") ? "stdin" : "PAYLOAD";
	if (json_parse(body->p ? body->p : "", body->len, &root) || !utf8_valid(body->p, body->len))
		usage("%s: not valid JSON (in UTF-8)", from);
	if (body->len > PAYLOAD_MAX)
		usage("the payload is over Lambda's limit of %d bytes", PAYLOAD_MAX);
}

/* After a 2xx answer: the executed version (traced), the log tail (--log) to stderr, and a
 * function error (exit 7, with the error's type and message). */
static void
answered(const struct http_resp *r, const char *fn, int tail, struct out *out)
{
	struct buf log = {0};
	size_t n;
	const char *v = http_header(r, "x-amz-executed-version", &n);

	if (v)
		dbg("executed version %.*s", (int)n, v);
	if (tail) {
		v = http_header(r, "x-amz-log-result", &n);
		if (!v)
			warn("Invoke %s: no log in the response", fn);
		else if (b64_decode(v, n, &log))
			warn("Invoke %s: the log is not valid base64", fn);
		else
			fwrite(log.p ? log.p : "", 1, log.len, stderr);
	}
	buf_free(&log);
	v = http_header(r, "x-amz-function-error", &n);
	if (v) {
		char summary[400];
		error_summary(&out->peek, summary, sizeof summary);
		die_code(EX_REMOTE, "%s: function error (%.*s)%s%s", fn, (int)(n < 40 ? n : 40), v, *summary ? ": " : "",
			 summary);
	}
}

/* What the command line asks for. */
struct args {
	const char *fn, *payload, *file, *qualifier, *type;
	double timeout;
	int tail;
};

/* The options, checked: usage() on anything wrong. */
static void
parse_args(struct opt *o, struct args *r)
{
	static const char *const types[] = {"RequestResponse", "Event", "DryRun"};
	int c;

	r->type = types[0];
	while ((c = opt_next(o)) != OPT_END) {
		if (c == 't') {
			r->type = NULL;
			for (size_t i = 0; i < COUNT(types); i++)
				if (!strcasecmp(o->arg, types[i]))
					r->type = types[i];
			if (!r->type)
				usage("--type: expected RequestResponse, Event or DryRun, not '%s'", o->arg);
		} else if (c == 'q') {
			r->qualifier = o->arg;
			if (!*r->qualifier)
				usage("--qualifier: empty version or alias");
		} else if (c == 'f') {
			r->file = o->arg;
		} else if (c == 'l') {
			r->tail = 1;
		} else if (c == 'r') {
			r->timeout = opt_duration(o);
			if (r->timeout < 0.001 || r->timeout > 86400)
				usage("--read-timeout: expected 1ms to 24h");
		} else if (c == OPT_POS && !r->fn) {
			r->fn = o->arg;
		} else if (c == OPT_POS && !r->payload) {
			r->payload = o->arg;
		} else if (c == OPT_POS) {
			usage("unexpected argument '%s'", o->arg);
		}
	}
	if (!r->fn || !*r->fn)
		usage("no function given");
	if (strchr(r->fn, '/'))
		usage("'%s' is not a function name or ARN", r->fn);
	if (r->payload && r->file)
		usage("give the payload as an argument or with --payload-file, not both");
	if (r->tail && strcmp(r->type, "RequestResponse"))
		usage("--log needs --type RequestResponse (Lambda returns no log for %s)", r->type);
}

/* Invoke with body: the payload that comes back goes to stdout as it arrives (out); dies on failure. */
static void
invoke(struct aws *a, const struct args *r, const struct buf *body, struct out *out)
{
	struct buf path = {0};
	struct err e = {0};
	struct http_resp resp;
	double timeout = r->timeout;

	buf_printf(&path, "/2015-03-31/functions/%s/invocations", r->fn); /* aws_call encodes it as botocore does */
	struct kv q[1] = {{"Qualifier", r->qualifier}};
	struct kv h[2] = {{"X-Amz-Invocation-Type", r->type}, {"X-Amz-Log-Type", "Tail"}};
	struct http_body b = {body->p ? body->p : "", (int64_t)body->len, NULL, NULL, NULL};
	int rr = !strcmp(r->type, "RequestResponse");
	out->discard = !rr; /* Event and DryRun print nothing, whatever comes back */
	if (!timeout && rr && !(getenv("AWSBOX_READ_TIMEOUT") && *getenv("AWSBOX_READ_TIMEOUT")))
		timeout = FN_TIME_MAX; /* else the context's: AWSBOX_READ_TIMEOUT */
	struct aws_req req = {
		.svc = &SVC_LAMBDA, .method = "POST", .path = path.p, .query = q, .nquery = r->qualifier ? 1 : 0,
		.hdrs = h, .nhdrs = r->tail ? 2 : 1, .body = &b, .not_idempotent = 1,
		.read_timeout_ms = (int)(timeout * 1000), .sink = to_stdout, .sink_ctx = out, .op = "Invoke",
	};
	if (aws_call(a, &req, &resp, &e)) {
		char line[1024];
		err_format(&e, NULL, line, sizeof line);
		http_resp_free(&resp);
		if (e.sent && (e.kind == E_TIMEOUT || e.kind == E_NET))
			die_code(err_exit_code(&e), "Invoke %s: %s (not sent again: the function may have run%s)", r->fn,
				 line, e.kind == E_TIMEOUT ? "; --read-timeout sets the wait" : "");
		die_err(&e, "Invoke %s", r->fn);
	}
	answered(&resp, r->fn, r->tail, out);
	http_resp_free(&resp);
	buf_free(&path);
}

int
lambdainvoke_main(int argc, char **argv)
{
	static const struct optdef defs[] = {
		{"type", 't', 1, 't'}, {"qualifier", 0, 1, 'q'},    {"payload-file", 'f', 1, 'f'},
		{"log", 'l', 0, 'l'},  {"read-timeout", 0, 1, 'r'}, {NULL, 0, 0, 0},
	};
	struct args r = {0};
	struct opt o;
	struct aws a;
	struct buf body = {0};
	struct out out = {0, 0, -1, {0}};

	opt_init(&o, argc, argv, defs, lambdainvoke_help);
	parse_args(&o, &r);
	load_payload(r.file, r.payload, &body);
	xaws_init(&a, &o.common);
	invoke(&a, &r, &body, &out);
	buf_free(&out.peek);
	buf_free(&body);
	aws_free(&a);
	return 0;
}
