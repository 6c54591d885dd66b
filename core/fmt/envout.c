/* envout.c — named values out as value lines, env(1) lines, shell exports, JSON or dotenv, or
 * into a process environment by exec. Shell quoting: POSIX XCU 2.2.2 (single quotes),
 * https://pubs.opengroup.org/onlinepubs/9799919799/utilities/V3_chap02.html ; names: XBD 8.1;
 * dotenv: python-dotenv's parser, https://github.com/theskumar/python-dotenv */
#include "fmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int
envout_format(const char *s)
{
	static const struct {
		const char *name;
		int fmt;
	} f[] = {{"value", ENVOUT_VALUE}, {"raw", ENVOUT_VALUE}, {"env", ENVOUT_ENV}, {"export", ENVOUT_EXPORT},
		 {"json", ENVOUT_JSON}, {"dotenv", ENVOUT_DOTENV}};

	for (size_t i = 0; s && i < COUNT(f); i++)
		if (!strcmp(s, f[i].name))
			return f[i].fmt;
	return -1;
}

static int
is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

int
envout_name_valid(const char *s)
{
	if (!s || !(is_alpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!is_alpha((unsigned char)*s) && !is_digit((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

int
envout_name(const char *s, size_t n, struct buf *out)
{
	if (!n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_alpha(c) || is_digit(c)) {
			if (i == 0 && is_digit(c))
				buf_addc(out, '_');
			buf_addc(out, c >= 'a' && c <= 'z' ? c - 32 : c);
		} else if (c < 0x80 || c >= 0xc0 || i == 0 || (unsigned char)s[i - 1] < 0x80) {
			/* ASCII punctuation, the lead byte of a UTF-8 sequence, or a stray continuation
			 * byte: one '_' each */
			buf_addc(out, '_');
		}
		/* a continuation byte after a lead byte belongs to the character already written */
	}
	return 0;
}

/* Replaces v's value (a secret: the old one is wiped). */
static void
set_val(struct envvar *v, const void *val, size_t n)
{
	if (v->val) {
		memzero(v->val, v->len);
		free(v->val);
	}
	v->val = xmalloc(n + 1);
	if (n)
		memcpy(v->val, val, n);
	v->val[n] = 0;
	v->len = n;
}

int
envout_add(struct envout *o, const char *name, const char *src, const void *val, size_t n, struct err *e)
{
	struct envvar *v;

	if (name && !envout_name_valid(name))
		return err_set(e, E_USAGE, "'%s' (from %s) is not a valid environment variable name", name, src);
	for (size_t i = 0; name && i < o->n; i++) {
		if (!o->v[i].name || strcmp(o->v[i].name, name))
			continue;
		if (!strcmp(o->v[i].src, src)) { /* asked for twice, or a key repeated: the last one */
			set_val(&o->v[i], val, n);
			return 0;
		}
		return err_set(e, E_USAGE, "%s and %s both map to %s", o->v[i].src, src,
			       name);
	}
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 16;
		o->v = xrealloc(o->v, o->cap * sizeof *o->v);
	}
	v = &o->v[o->n++];
	v->name = name ? xstrdup(name) : NULL;
	v->src = xstrdup(src);
	v->val = NULL;
	v->len = 0;
	set_val(v, val, n);
	return 0;
}

void
envout_free(struct envout *o)
{
	for (size_t i = 0; i < o->n; i++) {
		memzero(o->v[i].val, o->v[i].len);
		free(o->v[i].val);
		free(o->v[i].name);
		free(o->v[i].src);
	}
	free(o->v);
	memset(o, 0, sizeof *o);
}

void
envout_shquote(struct buf *b, const char *s, size_t n)
{
	size_t run = 0;

	buf_reserve(b, n + 2);
	buf_addc(b, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\'')
			continue;
		buf_add(b, s + run, i - run);
		buf_adds(b, "'\\''"); /* close the quotes, a quoted ', reopen */
		run = i + 1;
	}
	buf_add(b, s + run, n - run);
	buf_addc(b, '\'');
}

/* python-dotenv reads an unquoted value as the rest of the line, with leading blanks and
 * trailing " #comment" and blanks dropped: safe when none of that is in the value. */
static int
dotenv_unquoted_ok(const char *s, size_t n)
{
	/* Printable ASCII only, as python's \s also matches other blanks. */
	if (!n || s[0] == '"' || s[0] == '\'' || s[0] == ' ' || s[0] == '#')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < ' ' || s[i] > '~')
			return 0;
		if (s[i] == '#' && s[i - 1] == ' ')
			return 0;
	}
	return s[n - 1] != ' ';
}

/* Whether python-dotenv's default interpolation would replace part of s: its pattern is
 * \$\{[^}:]*(:-[^}]*)?\} and no quoting or escape protects a value from it. */
static int
dotenv_interpolated(const char *s, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++) {
		if (s[i] != '$' || s[i + 1] != '{')
			continue;
		size_t j = i + 2;
		while (j < n && s[j] != '}' && s[j] != ':')
			j++;
		if (j + 1 < n && s[j] == ':' && s[j + 1] == '-')
			for (j += 2; j < n && s[j] != '}'; j++)
				;
		if (j < n && s[j] == '}')
			return 1;
	}
	return 0;
}

static int
dotenv_value(struct buf *b, const struct envvar *v, struct err *e)
{
	if (dotenv_interpolated(v->val, v->len))
		return err_set(e, E_USAGE, "%s (from %s): dotenv readers replace ${...} in values (python-dotenv by "
			       "default), and no quoting prevents it; use --format export or json", v->name, v->src);
	/* Quoted "...\\" cannot be read back: python-dotenv's pattern "((?:\\"|[^"])*)" then takes the
	 * final \" as an escaped quote and runs on into the next lines. */
	if (v->len && v->val[v->len - 1] == '\\') {
		if (!dotenv_unquoted_ok(v->val, v->len))
			return err_set(e, E_USAGE, "%s (from %s): dotenv cannot hold a value that ends in a backslash "
				       "and has line breaks, quotes or blanks at its ends; use --format export or json",
				       v->name, v->src);
		buf_add(b, v->val, v->len);
		return 0;
	}
	buf_addc(b, '"');
	for (size_t i = 0; i < v->len; i++) {
		char c = v->val[i];
		if (c == '\\' || c == '"') {
			buf_addc(b, '\\');
			buf_addc(b, c);
		} else if (c == '\n') {
			buf_adds(b, "\\n");
		} else if (c == '\r') {
			buf_adds(b, "\\r");
		} else {
			buf_addc(b, c);
		}
	}
	buf_addc(b, '"');
	return 0;
}

int
envout_render(const struct envout *o, int fmt, int nl, struct buf *out, struct err *e)
{
	size_t start = out->len;

	if (fmt == ENVOUT_JSON)
		buf_addc(out, '{');
	for (size_t i = 0; i < o->n; i++) {
		const struct envvar *v = &o->v[i];
		if (fmt == ENVOUT_VALUE) {
			buf_add(out, v->val, v->len);
			if (nl || i + 1 < o->n)
				buf_addc(out, '\n');
			continue;
		}
		if (!v->name) {
			err_set(e, E_USAGE, "%s: no variable name for this value", v->src);
			goto fail;
		}
		if (fmt != ENVOUT_JSON && memchr(v->val, 0, v->len)) {
			err_set(e, E_USAGE, "%s (from %s): the value holds a NUL byte, which %s cannot; use --format json",
				v->name, v->src, fmt == ENVOUT_EXPORT ? "a shell variable" : "an environment variable");
			goto fail;
		}
		switch (fmt) {
		case ENVOUT_ENV:
			buf_printf(out, "%s=", v->name);
			buf_add(out, v->val, v->len);
			break;
		case ENVOUT_EXPORT:
			buf_printf(out, "export %s=", v->name);
			envout_shquote(out, v->val, v->len);
			break;
		case ENVOUT_DOTENV:
			buf_printf(out, "%s=", v->name);
			if (dotenv_value(out, v, e))
				goto fail;
			break;
		case ENVOUT_JSON:
			if (i)
				buf_addc(out, ',');
			json_put_str(out, v->name, strlen(v->name));
			buf_addc(out, ':');
			json_put_str(out, v->val, v->len);
			continue;
		default:
			err_set(e, E_USAGE, "unknown output format %d", fmt);
			goto fail;
		}
		buf_addc(out, '\n');
	}
	if (fmt == ENVOUT_JSON)
		buf_adds(out, "}\n");
	return 0;
fail:
	memzero(out->p + start, out->len - start);
	out->len = start;
	out->p[start] = 0;
	return -1;
}

int
envout_exec(const struct envout *o, char *const argv[], int pristine, struct err *e)
{
	size_t n = 0, k = 0, ours = 0;
	char **envp;
	int err, code;

	if (!argv || !argv[0])
		return err_set(e, E_USAGE, "no command to run"), 2;
	for (size_t i = 0; i < o->n; i++) {
		if (!o->v[i].name)
			return err_set(e, E_USAGE, "%s: no variable name for this value", o->v[i].src), 2;
		if (!envout_name_valid(o->v[i].name))
			return err_set(e, E_USAGE, "'%s' is not a valid environment variable name", o->v[i].name), 2;
		if (memchr(o->v[i].val, 0, o->v[i].len))
			return err_set(e, E_USAGE, "%s (from %s): the value holds a NUL byte, which an environment variable "
				       "cannot", o->v[i].name, o->v[i].src), 2;
	}
	for (char **p = environ; !pristine && p && *p; p++)
		n++;
	envp = xcalloc(n + o->n + 1, sizeof *envp);
	for (size_t i = 0; i < n; i++) {
		const char *kv = environ[i], *eq = strchr(kv, '=');
		size_t kn = eq ? (size_t)(eq - kv) : strlen(kv);
		int mine = 0;
		for (size_t j = 0; j < o->n && !mine; j++)
			mine = strlen(o->v[j].name) == kn && !memcmp(o->v[j].name, kv, kn);
		if (!mine)
			envp[k++] = (char *)kv; /* ours win over inherited ones, duplicates included */
	}
	ours = k;
	for (size_t i = 0; i < o->n; i++)
		envp[k++] = xasprintf("%s=%s", o->v[i].name, o->v[i].val);
	envp[k] = NULL;
	core_dumps(1); /* the program gets the core limit awsbox was given (exec makes it dumpable) */
	execvpe(argv[0], argv, envp);
	err = errno;
	core_dumps(0);
	code = err == ENOENT || err == ENOTDIR ? 127 : 126;
	err_set(e, code == 127 ? E_NOTFOUND : E_IO, "%s: %s", argv[0], strerror(err));
	for (size_t i = ours; i < k; i++) {
		memzero(envp[i], strlen(envp[i]));
		free(envp[i]);
	}
	free(envp);
	return code;
}

int
envout_check_exec(int exec, size_t ncmd, int fmt_given, const char *output, int nonl, int pristine, struct err *e)
{
	if (exec && !ncmd)
		return err_set(e, E_USAGE, "--exec needs a command after --");
	if (exec && (fmt_given || output || nonl))
		return err_set(e, E_USAGE, "--exec cannot be combined with --format, --output or -n");
	if (pristine && !exec)
		return err_set(e, E_USAGE, "--pristine is for --exec");
	return 0;
}
