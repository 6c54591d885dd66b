/* secretget.c — Secrets Manager secrets into pipelines, files and process environments, with
 * a JSON path query for JSON secrets (GetSecretValue).
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char secretget_help[] =
	"Usage: secretget [-n] [--query PATH] [--output FILE] SECRET_ID\n"
	"       secretget --format env|export|json|dotenv [--query PATH] [--output FILE] SECRET_ID...\n"
	"       secretget [--query PATH] [--pristine] SECRET_ID... --exec -- CMD [ARGS...]\n\n"
	"Print a secret (by name or ARN): SecretString followed by a newline, SecretBinary as its\n"
	"raw bytes. --query extracts from a JSON secret; the variable formats and --exec turn the\n"
	"top-level keys of JSON-object secrets into environment variables. Throttling is retried\n"
	"with backoff (AWS_MAX_ATTEMPTS sets the attempts).\n\n"
	"Options:\n"
	"  -n                   no newline after the value (raw format)\n"
	"  -q, --query PATH     a value inside a JSON secret: foo.bar[1], foo.bar.[1],\n"
	"                       [\"key.with.dots\"], ['k'], [-1] (the last element). A string prints\n"
	"                       raw, a number, boolean or null as JSON text, an object or array as\n"
	"                       compact JSON. Not there: exit 3; the secret is not JSON: exit 1\n"
	"  -f, --format FMT     raw (default): the secret or the query's result\n"
	"                       env: NAME=value lines, as env(1) prints them\n"
	"                       export: export NAME='value' lines, safe for eval with any value\n"
	"                       json: one object {\"NAME\":\"value\",...}\n"
	"                       dotenv: NAME=\"value\" lines, python-dotenv quoting (\\\\ \\\" \\n \\r)\n"
	"  -o, --output FILE    write to FILE atomically, mode 0600, owned by you; a\n"
	"                       symlink there is refused (- is stdout)\n"
	"      --version-stage STAGE   AWSCURRENT (default), AWSPREVIOUS, AWSPENDING or a custom label\n"
	"      --version-id ID         one version\n"
	"      --exec           after '--': run CMD with the variables in its environment\n"
	"                       (replaces secretget: CMD's signals and exit status are its own)\n"
	"      --pristine       with --exec: CMD gets only the secret's variables\n\n"
	"Variables: a JSON-object secret (or --query result) gives one per top-level key; any\n"
	"other secret one named after the last '/' segment of the secret's name. Names have every\n"
	"character but A-Z a-z 0-9 turned into '_', upper-cased, '_' first if they start with a\n"
	"digit; values are the key's text as --query prints it. Two keys that map to one name are\n"
	"an error (exit 2). Binary secrets need the raw format.\n\n"
	"Examples:\n"
	"  secretget prod/db/password\n"
	"  PGPASSWORD=$(secretget prod/db --query password) psql -h db -U app\n"
	"  secretget prod/db --query 'hosts[0].name'\n"
	"  secretget prod/tls-key --output /etc/ssl/private/app.key\n"
	"  eval \"$(secretget --format export prod/db prod/api)\"\n"
	"  secretget prod/db prod/api --exec -- /app/server\n";

const struct exitdoc secretget_exits[] = {
	{0, "ok"},
	{1, "other failure, or --query on a secret that is not JSON"},
	{2, "usage, a malformed --query path, or two keys for one variable name"},
	{3, "no such secret, or --query's path is not in it"},
	{4, "access denied or no credentials"},
	{6, "network or TLS failure after retries"},
	{-1, NULL},
};

enum { O_N = 1, O_QUERY, O_FORMAT, O_OUTPUT, O_STAGE, O_VERSION, O_EXEC, O_PRISTINE };

struct secret {
	const char *id;
	char *name;     /* the secret's name from the response */
	struct buf val; /* SecretString, or SecretBinary decoded */
	int binary;
};

static void
fetch(struct aws *a, struct secret *s, const char *stage, const char *version)
{
	struct aws_req tmpl = {.quiet_body = 1}; /* the response is the secret */
	struct buf body = {0}, out = {0};
	struct err e = {0};
	struct json root, v;

	buf_adds(&body, "{\"SecretId\":");
	json_put_str(&body, s->id, strlen(s->id));
	if (stage) {
		buf_adds(&body, ",\"VersionStage\":");
		json_put_str(&body, stage, strlen(stage));
	}
	if (version) {
		buf_adds(&body, ",\"VersionId\":");
		json_put_str(&body, version, strlen(version));
	}
	buf_addc(&body, '}');
	if (aws_json_req(a, &SVC_SECRETS, "GetSecretValue", body.p, &tmpl, &out, &e))
		die_err(&e, "GetSecretValue %s", s->id);
	if (json_parse(out.p, out.len, &root) || root.type != JSON_OBJECT)
		die("GetSecretValue %s: unexpected response", s->id);
	s->name = json_get_strdup(root, "Name");
	if (!json_get(root, "SecretString", &v) && v.type == JSON_STRING) {
		if (json_str(v, &s->val))
			die("GetSecretValue %s: unexpected response", s->id);
	} else if (!json_get(root, "SecretBinary", &v) && v.type == JSON_STRING) {
		struct buf b64 = {0};
		if (json_str(v, &b64) || b64_decode(b64.p, b64.len, &s->val))
			die("GetSecretValue %s: SecretBinary is not base64", s->id);
		buf_free(&b64);
		s->binary = 1;
	} else {
		die("GetSecretValue %s: the response has neither SecretString nor SecretBinary", s->id);
	}
	if (!s->val.p)
		buf_adds(&s->val, "");
	buf_free(&body);
	buf_free(&out); /* zeroed: it held the secret */
}

/* The query's result as text into out; exits 1 (not JSON) or 3 (not there). */
static void
query(const struct secret *s, const char *path, struct json *res)
{
	struct json root;
	struct err e = {0};

	if (json_parse(s->val.p, s->val.len, &root))
		die("%s: the secret is not JSON (or nests deeper than 128 levels), so --query cannot look into it",
		    s->id);
	if (json_query(root, path, res, &e))
		die_err(&e, "%s: --query", s->id);
}

/* Variables from one secret (or its query result) into env. */
static void
add_vars(struct envout *env, const struct secret *s, const char *path)
{
	struct json root, key, val;
	struct buf name = {0}, text = {0}, k = {0};
	struct err e = {0};
	int is_json;

	if (path)
		query(s, path, &root);
	is_json = path || !json_parse(s->val.p, s->val.len, &root);
	if (is_json && root.type == JSON_OBJECT) {
		size_t pos = 0;
		while (!json_next(root, &pos, &key, &val)) {
			buf_reset(&k);
			buf_reset(&name);
			buf_reset(&text);
			if (json_str(key, &k) || envout_name(k.p, k.len, &name))
				die_code(EX_USAGE, "%s: key \"%s\": cannot make a variable name of it", s->id, k.p ? k.p : "");
			json_text(val, &text);
			char *src = xasprintf("%s key \"%s\"", s->name ? s->name : s->id, k.p);
			if (envout_add(env, name.p, src, text.p ? text.p : "", text.len, &e))
				die_err(&e, "%s", "");
			free(src);
		}
	} else {
		if (s->binary && !path)
			die("%s: a binary secret cannot be a variable; use the raw format", s->id);
		const char *nm = s->name ? s->name : s->id, *slash = strrchr(nm, '/');
		nm = slash ? slash + 1 : nm;
		if (envout_name(nm, strlen(nm), &name))
			die_code(EX_USAGE, "%s: cannot make a variable name of the secret's name", s->id);
		if (path)
			json_text(root, &text);
		else
			buf_add(&text, s->val.p, s->val.len);
		if (envout_add(env, name.p, s->name ? s->name : s->id, text.p ? text.p : "", text.len, &e))
			die_err(&e, "%s", "");
	}
	buf_free(&name);
	buf_free(&text);
	buf_free(&k);
}

/* The raw format: the secret (or what --query finds in it) and a newline unless -n. */
static void
raw_value(struct secret *s, const char *path, int nonl, struct buf *out)
{
	if (path) {
		struct json res;
		query(s, path, &res);
		json_text(res, out);
		if (!nonl)
			buf_addc(out, '\n');
	} else {
		buf_add(out, s->val.p, s->val.len);
		if (!nonl && !s->binary)
			buf_addc(out, '\n'); /* binary secrets come out byte for byte */
	}
}

/* What the command line asks for. */
struct args {
	struct secret *sec;
	char **cmd;
	size_t ns, ncmd;
	int nonl, exec, pristine, fmt;
	const char *path, *output, *stage, *version;
};

/* The options, checked: usage() on anything wrong. */
static void
parse_args(struct opt *o, struct args *r)
{
	struct err e = {0};
	int c, fmt_given = 0;

	while ((c = opt_next(o)) != OPT_END) {
		switch (c) {
		case O_N: r->nonl = 1; break;
		case O_QUERY: r->path = o->arg; break;
		case O_FORMAT:
			if ((r->fmt = envout_format(o->arg)) < 0)
				usage("--format: expected raw, env, export, json or dotenv, not '%s'", o->arg);
			fmt_given = 1;
			break;
		case O_OUTPUT: r->output = o->arg; break;
		case O_STAGE: r->stage = o->arg; break;
		case O_VERSION: r->version = o->arg; break;
		case O_EXEC: r->exec = 1; break;
		case O_PRISTINE: r->pristine = 1; break;
		case OPT_POS:
			if (o->after_dashdash)
				r->cmd[r->ncmd++] = (char *)o->arg;
			else if (!*o->arg)
				usage("empty SECRET_ID");
			else
				r->sec[r->ns++].id = o->arg;
			break;
		default:
			usage("unexpected option %s", o->name);
		}
	}
	if (!r->exec) {
		for (size_t i = 0; i < r->ncmd; i++)
			r->sec[r->ns++].id = r->cmd[i];
		r->ncmd = 0;
	}
	if (!r->ns)
		usage("no SECRET_ID");
	if (envout_check_exec(r->exec, r->ncmd, fmt_given, r->output, r->nonl, r->pristine, &e))
		usage("%s", e.msg);
	if (r->fmt == ENVOUT_VALUE && !r->exec && r->ns > 1)
		usage("the raw format prints one secret; use --format env, export, json or dotenv for several");
	if (r->nonl && r->fmt != ENVOUT_VALUE)
		usage("-n is for the raw format");
	if (r->path && json_query_check(r->path, &e))
		usage("--query: %s", e.msg);
}

/* The secrets fetched: run CMD with them (--exec), or write them out in the format asked for. */
static void
output(struct aws *a, const struct args *r)
{
	struct envout env = {0};
	struct buf out = {0};
	struct err e = {0};

	if (r->exec || r->fmt != ENVOUT_VALUE)
		for (size_t i = 0; i < r->ns; i++)
			add_vars(&env, &r->sec[i], r->path);
	else
		raw_value(&r->sec[0], r->path, r->nonl, &out);
	if (r->exec) {
		aws_free(a); /* no sockets or credentials into the command */
		fflush(stdout);
		int code = envout_exec(&env, r->cmd, r->pristine, &e);
		die_code(code, "%s", e.msg);
	}
	if (r->fmt != ENVOUT_VALUE && envout_render(&env, r->fmt, 1, &out, &e))
		die_err(&e, "%s", "");
	if (!r->output || !strcmp(r->output, "-"))
		fwrite(out.p ? out.p : "", 1, out.len, stdout);
	else if (file_put_secret(r->output, out.p ? out.p : "", out.len, &e))
		die_err(&e, "%s", "");
	buf_free(&out);
	envout_free(&env);
}

int
secretget_main(int argc, char **argv)
{
	static const struct optdef defs[] = {
		{"n", 'n', 0, O_N}, {"query", 'q', 1, O_QUERY}, {"format", 'f', 1, O_FORMAT},
		{"output", 'o', 1, O_OUTPUT}, {"version-stage", 0, 1, O_STAGE}, {"version-id", 0, 1, O_VERSION},
		{"exec", 0, 0, O_EXEC}, {"pristine", 0, 0, O_PRISTINE}, {NULL, 0, 0, 0}};
	struct opt o;
	struct aws a;
	struct args r = {.sec = xcalloc((size_t)argc + 1, sizeof *r.sec),
			 .cmd = xcalloc((size_t)argc + 1, sizeof *r.cmd), .fmt = ENVOUT_VALUE};

	opt_init(&o, argc, argv, defs, secretget_help);
	parse_args(&o, &r);
	xaws_init(&a, &o.common);
	for (size_t i = 0; i < r.ns; i++)
		fetch(&a, &r.sec[i], r.stage, r.version);
	output(&a, &r);
	for (size_t i = 0; i < r.ns; i++) {
		buf_free(&r.sec[i].val);
		free(r.sec[i].name);
	}
	free(r.sec);
	free(r.cmd);
	aws_free(&a);
	return 0;
}
