/* ssmget.c — SSM Parameter Store values into pipelines, files and process environments
 * (GetParameters in batches of 10, GetParametersByPath with pagination).
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char ssmget_help[] =
	"Usage: ssmget [-n] [--format FMT] [--output FILE] NAME|VAR=NAME...\n"
	"       ssmget [--format FMT] [--output FILE] --path PATH [--recursive] [NAME|VAR=NAME...]\n"
	"       ssmget [--pristine] NAME|VAR=NAME|--path PATH... --exec -- CMD [ARGS...]\n\n"
	"Print SSM parameters, one value a line in the order given, or as environment variables;\n"
	"or run CMD with them in its environment. SecureString values are decrypted. Names may\n"
	"carry a version or label selector (name:3, name:prod) or be ARNs. Names are fetched\n"
	"with GetParameters, 10 a request; --path uses GetParametersByPath. Throttling is retried\n"
	"with backoff (AWS_MAX_ATTEMPTS sets the attempts).\n\n"
	"Options:\n"
	"  -n                  no newline after the value (one NAME, value format)\n"
	"  -p, --path PATH     every parameter directly under PATH (repeatable)\n"
	"  -r, --recursive     with --path: the whole tree below PATH\n"
	"  -f, --format FMT    value (default): each value and a newline\n"
	"                      env: NAME=value lines, as env(1) prints them\n"
	"                      export: export NAME='value' lines, safe for eval with any value\n"
	"                      json: one object {\"NAME\":\"value\",...}\n"
	"                      dotenv: NAME=\"value\" lines, python-dotenv quoting (\\\\ \\\" \\n \\r)\n"
	"  -o, --output FILE   write to FILE atomically, mode 0600, owned by you; a\n"
	"                      symlink there is refused (- is stdout)\n"
	"      --no-decrypt    SecureString values as stored (encrypted)\n"
	"      --allow-missing skip names that do not exist (a warning each) instead of exit 3\n"
	"      --exec          after '--': run CMD with the values in its environment (replaces\n"
	"                      ssmget: CMD's signals and exit status are its own)\n"
	"      --pristine      with --exec: CMD gets only the fetched variables\n\n"
	"Variable names: VAR=NAME names one explicitly; otherwise the parameter's name below\n"
	"--path (its last segment for a NAME), with every character but A-Z a-z 0-9 turned into\n"
	"'_', upper-cased, and '_' first if it starts with a digit: /app/prod/db/host under\n"
	"--path /app/prod is DB_HOST. Two parameters that map to one name are an error (exit 2).\n"
	"Missing names are reported together and exit 3 with nothing printed; so does a --path\n"
	"with no parameters under it.\n\n"
	"Examples:\n"
	"  ssmget /app/prod/db/host\n"
	"  eval \"$(ssmget --format export --path /app/prod/ --recursive)\"\n"
	"  ssmget --format dotenv --path /app/prod/ --output .env\n"
	"  ssmget DB_URL=/app/prod/db-url API_KEY=/app/prod/api-key:3 --exec -- /app/server\n"
	"  ENTRYPOINT [\"/awsbox\", \"ssmget\", \"--path\", \"/app/prod/\", \"--exec\", \"--\", \"/app/server\"]\n";

enum { O_N = 1, O_PATH, O_RECURSIVE, O_FORMAT, O_OUTPUT, O_NODECRYPT, O_ALLOWMISSING, O_EXEC, O_PRISTINE };

/* One NAME or --path from the command line, in order. */
struct item {
	const char *arg;  /* the parameter name (selector included) or the path */
	const char *var;  /* VAR of VAR=NAME, else NULL */
	int is_path;
	int uniq;         /* index into the unique names */
	/* for a path: its parameters, sorted by name */
	struct param *params;
	size_t nparams;
};

struct param {
	char *name;
	char *val;
	size_t len;
};

/* A distinct name asked for, and what came back. */
struct uname {
	const char *name;
	int found;
	struct param p;
};

/* The name without selector and ARN prefix, without a leading '/': what a response's Name (or
 * ARN) is compared with. Never allocates: a slice of s. */
static struct slice
norm(const char *s)
{
	const char *slash = strrchr(s, '/'), *seg = slash ? slash + 1 : s, *colon = strchr(seg, ':');
	struct slice r = {s, colon ? (size_t)(colon - s) : strlen(s)};
	static const char marker[] = ":parameter/";

	if (!strncmp(s, "arn:", 4)) {
		const char *m = strstr(s, marker);
		if (m && m < r.p + r.n) {
			r.n -= (size_t)(m + sizeof marker - 2 - r.p);
			r.p = m + sizeof marker - 2; /* at the '/' */
		}
	}
	if (r.n && r.p[0] == '/')
		r.p++, r.n--;
	return r;
}

static int
slice_same(struct slice a, struct slice b)
{
	return a.n == b.n && !memcmp(a.p, b.p, a.n);
}

static void
put_param(const struct json *p, struct param *out, const char *op)
{
	struct buf b = {0};
	struct json v;

	if (json_get(*p, "Value", &v) || json_str(v, &b))
		die("%s: a parameter without a value in the response", op);
	out->len = b.len;
	out->val = buf_take(&b);
}

/* Fetches names [0, n) of u in batches of 10. A batch never holds two names with the same
 * normalised name (a:1 and a:2): the response's Name carries no selector (moto omits
 * Selector), so that is what keeps the answer unambiguous. */
static void
fetch_names(struct aws *a, struct uname *u, size_t n, int decrypt)
{
	struct aws_req tmpl = {.quiet_body = 1};
	struct buf body = {0}, out = {0};
	struct err e = {0};
	size_t *batch = xcalloc(n ? n : 1, sizeof *batch), *done = xcalloc(n ? n : 1, sizeof *done);
	size_t left = n;

	while (left) {
		size_t nb = 0;
		for (size_t i = 0; i < n && nb < 10; i++) {
			if (done[i])
				continue;
			int clash = 0;
			for (size_t j = 0; j < nb && !clash; j++)
				clash = slice_same(norm(u[batch[j]].name), norm(u[i].name));
			if (!clash)
				batch[nb++] = i;
		}
		buf_reset(&body);
		buf_adds(&body, "{\"Names\":[");
		for (size_t j = 0; j < nb; j++) {
			if (j)
				buf_addc(&body, ',');
			json_put_str(&body, u[batch[j]].name, strlen(u[batch[j]].name));
			done[batch[j]] = 1;
		}
		buf_printf(&body, "],\"WithDecryption\":%s}", decrypt ? "true" : "false");
		left -= nb;
		if (aws_json_req(a, &SVC_SSM, "GetParameters", body.p, &tmpl, &out, &e))
			die_err(&e, "GetParameters %s%s", u[batch[0]].name, nb > 1 ? " ..." : "");
		struct json root, list, p, nm;
		size_t pos = 0;
		if (json_parse(out.p, out.len, &root) || json_get(root, "Parameters", &list) || list.type != JSON_ARRAY)
			die("GetParameters: unexpected response");
		while (!json_next(list, &pos, NULL, &p)) {
			struct buf name = {0}, arn = {0};
			if (json_get(p, "Name", &nm) || json_str(nm, &name))
				die("GetParameters: a parameter without a name in the response");
			if (!json_get(p, "ARN", &nm))
				json_str(nm, &arn);
			for (size_t j = 0; j < nb; j++) {
				struct uname *x = &u[batch[j]];
				struct slice want = norm(x->name);
				if (x->found || !(slice_same(want, norm(name.p)) || (arn.len && slice_same(want, norm(arn.p)))))
					continue;
				x->found = 1;
				x->p.name = xstrdup(name.p);
				put_param(&p, &x->p, "GetParameters");
				break;
			}
			buf_free(&name);
			buf_free(&arn);
		}
	}
	free(batch);
	free(done);
	buf_free(&body);
	buf_free(&out);
}

static int
by_name(const void *x, const void *y)
{
	return strcmp(((const struct param *)x)->name, ((const struct param *)y)->name);
}

/* Every parameter under it->arg, pages of 10 (the API's maximum), sorted by name. */
static void
fetch_path(struct aws *a, struct item *it, int recursive, int decrypt)
{
	struct aws_req tmpl = {.quiet_body = 1};
	struct buf body = {0}, out = {0};
	char *token = NULL;
	struct err e = {0};
	size_t cap = 0;

	for (int page = 0;; page++) {
		if (page == 100000)
			die("GetParametersByPath %s: more than 100000 pages; giving up", it->arg);
		buf_reset(&body);
		buf_adds(&body, "{\"Path\":");
		json_put_str(&body, it->arg, strlen(it->arg));
		buf_printf(&body, ",\"Recursive\":%s,\"WithDecryption\":%s,\"MaxResults\":10", recursive ? "true" : "false",
			   decrypt ? "true" : "false");
		if (token) {
			buf_adds(&body, ",\"NextToken\":");
			json_put_str(&body, token, strlen(token));
		}
		buf_addc(&body, '}');
		if (aws_json_req(a, &SVC_SSM, "GetParametersByPath", body.p, &tmpl, &out, &e))
			die_err(&e, "GetParametersByPath %s", it->arg);
		struct json root, list, p, v;
		size_t pos = 0;
		if (json_parse(out.p, out.len, &root) || json_get(root, "Parameters", &list) || list.type != JSON_ARRAY)
			die("GetParametersByPath %s: unexpected response", it->arg);
		while (!json_next(list, &pos, NULL, &p)) {
			if (it->nparams == cap) {
				cap = cap ? cap * 2 : 16;
				it->params = xrealloc(it->params, cap * sizeof *it->params);
			}
			struct param *x = &it->params[it->nparams];
			if (!(x->name = json_get_strdup(p, "Name")))
				die("GetParametersByPath %s: a parameter without a name in the response", it->arg);
			put_param(&p, x, "GetParametersByPath");
			it->nparams++;
		}
		char *next = json_get(root, "NextToken", &v) || v.type != JSON_STRING ? NULL : json_get_strdup(root, "NextToken");
		if (!next || !*next || (token && !strcmp(next, token))) {
			if (next && *next)
				die("GetParametersByPath %s: the service repeated a NextToken", it->arg);
			free(next);
			break;
		}
		free(token);
		token = next;
	}
	free(token);
	if (it->nparams)
		qsort(it->params, it->nparams, sizeof *it->params, by_name);
	buf_free(&body);
	buf_free(&out);
}

/* The variable name for a parameter: below the path, or its last segment. */
/* Two parameters for one variable: never a silent overwrite. */
static NORETURN void
collision(const struct err *e)
{
	die_code(EX_USAGE, "%s (give one of them another name with VAR=NAME)", e->msg);
}

static char *
var_for(const char *name, const char *path)
{
	struct buf b = {0};
	size_t pl = strlen(path ? path : "");
	const char *rel = NULL;

	while (pl && path[pl - 1] == '/')
		pl--;
	if (path && !strncmp(name, path, pl) && name[pl] == '/' && name[pl + 1])
		rel = name + pl + 1;
	if (!rel) {
		struct slice s = norm(name);
		const char *slash = memrchr(s.p, '/', s.n);
		rel = slash ? slash + 1 : s.p;
		if (envout_name(rel, s.n - (size_t)(rel - s.p), &b))
			die_code(EX_USAGE, "%s: cannot make a variable name of it; use VAR=%s", name, name);
		return buf_take(&b);
	}
	if (envout_name(rel, strlen(rel), &b))
		die_code(EX_USAGE, "%s: cannot make a variable name of it; use VAR=%s", name, name);
	return buf_take(&b);
}

/* The command line: parsed by parse_args, checked by check_args. */
struct args {
	struct opt o;
	struct item *items;
	struct uname *u;
	char **cmd;
	size_t ni, nu, ncmd, npaths, nnames;
	int nonl, recursive, decrypt, allow_missing, exec, pristine, fmt, fmt_given;
	const char *output;
};

static void
parse_args(struct args *A, int argc, char **argv)
{
	static const struct optdef defs[] = {
		{"n", 'n', 0, O_N}, {"path", 'p', 1, O_PATH}, {"recursive", 'r', 0, O_RECURSIVE},
		{"format", 'f', 1, O_FORMAT}, {"output", 'o', 1, O_OUTPUT}, {"no-decrypt", 0, 0, O_NODECRYPT},
		{"allow-missing", 0, 0, O_ALLOWMISSING}, {"exec", 0, 0, O_EXEC}, {"pristine", 0, 0, O_PRISTINE},
		{NULL, 0, 0, 0}};
	int c;

	A->items = xcalloc((size_t)argc + 1, sizeof *A->items);
	A->u = xcalloc((size_t)argc + 1, sizeof *A->u);
	A->cmd = xcalloc((size_t)argc + 1, sizeof *A->cmd);
	A->decrypt = 1;
	A->fmt = ENVOUT_VALUE;
	opt_init(&A->o, argc, argv, defs, ssmget_help);
	while ((c = opt_next(&A->o)) != OPT_END) {
		switch (c) {
		case O_N: A->nonl = 1; break;
		case O_PATH:
			if (!*A->o.arg)
				usage("--path: empty path");
			A->items[A->ni++] = (struct item){.arg = A->o.arg, .is_path = 1};
			A->npaths++;
			break;
		case O_RECURSIVE: A->recursive = 1; break;
		case O_FORMAT:
			if ((A->fmt = envout_format(A->o.arg)) < 0)
				usage("--format: expected value, env, export, json or dotenv, not '%s'", A->o.arg);
			A->fmt_given = 1;
			break;
		case O_OUTPUT: A->output = A->o.arg; break;
		case O_NODECRYPT: A->decrypt = 0; break;
		case O_ALLOWMISSING: A->allow_missing = 1; break;
		case O_EXEC: A->exec = 1; break;
		case O_PRISTINE: A->pristine = 1; break;
		case OPT_POS:
			if (A->o.after_dashdash) {
				A->cmd[A->ncmd++] = (char *)A->o.arg; /* a command for --exec, or names (checked below) */
				break;
			}
			/* FALLTHROUGH */
		default: {
			if (c != OPT_POS)
				usage("unexpected option %s", A->o.name);
			const char *eq = strchr(A->o.arg, '=');
			struct item it = {.arg = A->o.arg};
			if (eq) { /* parameter names cannot hold '=': this is VAR=NAME */
				char *var = xstrndup(A->o.arg, (size_t)(eq - A->o.arg));
				if (!envout_name_valid(var))
					usage("'%s': '%s' is not a valid variable name", A->o.arg, var);
				if (!eq[1])
					usage("'%s': no parameter name after '='", A->o.arg);
				it.var = var;
				it.arg = eq + 1;
			}
			if (!*it.arg)
				usage("empty parameter name");
			A->items[A->ni++] = it;
			A->nnames++;
		}
		}
	}
	if (!A->exec) {
		/* without --exec, "--" only ends the options: what follows are names */
		for (size_t i = 0; i < A->ncmd; i++) {
			if (strchr(A->cmd[i], '='))
				usage("after --, '%s': use VAR=NAME before the --", A->cmd[i]);
			A->items[A->ni++] = (struct item){.arg = A->cmd[i]};
			A->nnames++;
		}
		A->ncmd = 0;
	}
}

static void
check_args(struct args *A)
{
	struct err e = {0};

	if (!A->ni)
		usage("no parameter names and no --path");
	if (envout_check_exec(A->exec, A->ncmd, A->fmt_given, A->output, A->nonl, A->pristine, &e))
		usage("%s", e.msg);
	if (A->recursive && !A->npaths)
		usage("--recursive is for --path");
	if (A->nonl && (A->fmt != ENVOUT_VALUE || A->npaths || A->nnames != 1))
		usage("-n prints one value: give exactly one NAME and no --path");
	if (A->exec)
		A->fmt = ENVOUT_EXPORT; /* named: variables are checked as for the named formats */

	/* distinct names, in order of first appearance */
	for (size_t i = 0; i < A->ni; i++) {
		if (A->items[i].is_path)
			continue;
		size_t k;
		for (k = 0; k < A->nu && strcmp(A->u[k].name, A->items[i].arg); k++)
			;
		if (k == A->nu)
			A->u[A->nu++].name = A->items[i].arg;
		A->items[i].uniq = (int)k;
	}
}

/* Every name and path that found nothing is said before anything is printed: exit 3, or with
 * --allow-missing a warning each. */
static void
report_missing(const struct args *A)
{
	int missing = 0;

	for (size_t k = 0; k < A->nu; k++) {
		if (A->u[k].found)
			continue;
		if (A->allow_missing)
			warn("%s: parameter not found; skipped", A->u[k].name);
		else
			fprintf(stderr, "%s: %s: parameter not found\n", applet_name, A->u[k].name);
		missing++;
	}
	for (size_t i = 0; i < A->ni; i++) {
		if (!A->items[i].is_path || A->items[i].nparams)
			continue;
		if (A->allow_missing)
			warn("%s: no parameters under this path; skipped", A->items[i].arg);
		else
			fprintf(stderr, "%s: %s: no parameters under this path\n", applet_name, A->items[i].arg);
		missing++;
	}
	if (missing && !A->allow_missing)
		exit(EX_NOTFOUND);
}

/* The values in the order asked for, each under its variable name (none for value output). */
static void
collect(const struct args *A, struct envout *env)
{
	struct err e = {0};

	for (size_t i = 0; i < A->ni; i++) {
		struct item *it = &A->items[i];
		if (!it->is_path) {
			struct uname *x = &A->u[it->uniq];
			if (!x->found)
				continue;
			char *var = A->fmt == ENVOUT_VALUE ? NULL : it->var ? xstrdup(it->var) : var_for(it->arg, NULL);
			/* src is the name as asked: a:1 and a:2 are two sources; in value output a
			 * name asked twice prints twice (nameless entries never collide) */
			if (envout_add(env, var, it->arg, x->p.val, x->p.len, &e))
				collision(&e);
			free(var);
			continue;
		}
		for (size_t k = 0; k < it->nparams; k++) {
			struct param *p = &it->params[k];
			char *var = A->fmt == ENVOUT_VALUE ? NULL : var_for(p->name, it->arg);
			if (envout_add(env, var, p->name, p->val, p->len, &e))
				collision(&e);
			free(var);
		}
	}
}

/* The whole output at once, to stdout or into --output (0600, atomically). */
static void
emit(const struct args *A, const struct envout *env)
{
	struct err e = {0};
	struct buf out = {0};

	if (envout_render(env, A->fmt, !A->nonl, &out, &e))
		die_err(&e, "%s", "");
	if (!A->output || !strcmp(A->output, "-"))
		fwrite(out.p ? out.p : "", 1, out.len, stdout);
	else if (file_put_secret(A->output, out.p ? out.p : "", out.len, &e))
		die_err(&e, "%s", "");
	buf_free(&out);
}

/* Values are secrets: zeroed before they are freed. */
static void
args_free(struct args *A)
{
	for (size_t k = 0; k < A->nu; k++) {
		if (A->u[k].p.val)
			memzero(A->u[k].p.val, A->u[k].p.len);
		free(A->u[k].p.val);
		free(A->u[k].p.name);
	}
	for (size_t i = 0; i < A->ni; i++) {
		for (size_t k = 0; k < A->items[i].nparams; k++) {
			memzero(A->items[i].params[k].val, A->items[i].params[k].len);
			free(A->items[i].params[k].val);
			free(A->items[i].params[k].name);
		}
		free(A->items[i].params);
		if (A->items[i].var)
			free((char *)A->items[i].var);
	}
	free(A->items);
	free(A->u);
	free(A->cmd);
}

int
ssmget_main(int argc, char **argv)
{
	struct args A = {0};
	struct envout env = {0};
	struct err e = {0};
	struct aws a;

	parse_args(&A, argc, argv);
	check_args(&A);
	xaws_init(&a, &A.o.common);
	fetch_names(&a, A.u, A.nu, A.decrypt);
	for (size_t i = 0; i < A.ni; i++)
		if (A.items[i].is_path)
			fetch_path(&a, &A.items[i], A.recursive, A.decrypt);
	report_missing(&A);
	collect(&A, &env);
	if (A.exec) {
		aws_free(&a); /* no sockets or credentials into the command */
		fflush(stdout);
		int code = envout_exec(&env, A.cmd, A.pristine, &e);
		die_code(code, "%s", e.msg);
	}
	emit(&A, &env);
	envout_free(&env);
	args_free(&A);
	aws_free(&a);
	return 0;
}
