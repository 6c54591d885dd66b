/* ini.c — AWS shared config and credentials files, read the way botocore reads them
 * (configparser: "key = value" or "key: value", # and ; comment lines, indented lines nest or
 * continue a value). https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html */
#include "fmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ent {
	char *section, *key, *value;
};
struct ini {
	struct ent *e;
	size_t n, cap;
};

static struct slice
line_at(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	struct slice s = {p, (size_t)((nl ? nl : end) - p)};

	*next = nl ? nl + 1 : end;
	if (s.n && s.p[s.n - 1] == '\r')
		s.n--;
	return s;
}

static void
add(struct ini *f, const char *section, struct slice key, struct buf *value)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->e = xrealloc(f->e, f->cap * sizeof *f->e);
	}
	char *k = slice_dup(key);
	for (char *c = k; *c; c++) /* configparser lower-cases option names */
		if (*c >= 'A' && *c <= 'Z')
			*c += 32;
	f->e[f->n++] = (struct ent){xstrdup(section), k, buf_take(value)};
	/* A nested block ("s3 =" then indented "k = v" lines) is also stored as "s3.k" entries. */
	const char *v = f->e[f->n - 1].value;
	if (*v != '\n')
		return;
	for (const char *p = v + 1, *end = v + strlen(v); p < end;) {
		struct slice line = line_at(p, end, &p);
		size_t i = 0;
		while (i < line.n && line.p[i] != '=' && line.p[i] != ':')
			i++;
		if (i == line.n)
			continue;
		struct buf name = {0}, sv = {0};
		struct slice sk = slice_trim((struct slice){line.p, i});
		struct slice vv = slice_trim((struct slice){line.p + i + 1, line.n - i - 1});
		buf_printf(&name, "%s.%.*s", k, (int)sk.n, sk.p);
		buf_add(&sv, vv.p, vv.n);
		add(f, section, (struct slice){name.p, name.len}, &sv);
		buf_free(&name);
	}
}

struct ini *
ini_parse(const char *text, size_t n)
{
	struct ini *f = xcalloc(1, sizeof *f);
	const char *p = text, *end = text + n;
	char *section = NULL;
	struct slice key = {0};
	struct buf val = {0};
	int have = 0;

	while (p < end) {
		struct slice raw = line_at(p, end, &p), s = slice_trim(raw);
		int indented = raw.n && (raw.p[0] == ' ' || raw.p[0] == '\t');
		if (!s.n || s.p[0] == '#' || s.p[0] == ';')
			continue;
		if (indented && have) { /* continuation: a nested "k = v" or more of the value */
			buf_addc(&val, '\n');
			buf_add(&val, s.p, s.n);
			continue;
		}
		if (have) {
			add(f, section, key, &val);
			have = 0;
		}
		if (s.p[0] == '[') {
			const char *close = memchr(s.p, ']', s.n);
			free(section);
			section = close ? slice_dup(slice_trim((struct slice){s.p + 1, (size_t)(close - s.p - 1)})) : NULL;
			if (section) { /* an entry with no key: the section exists, with keys or without */
				buf_reset(&val);
				buf_adds(&val, "");
				add(f, section, (struct slice){"", 0}, &val);
			}
			continue;
		}
		if (!section)
			continue;
		size_t i = 0;
		while (i < s.n && s.p[i] != '=' && s.p[i] != ':')
			i++;
		if (i == s.n)
			continue;
		key = slice_trim((struct slice){s.p, i});
		struct slice v = slice_trim((struct slice){s.p + i + 1, s.n - i - 1});
		buf_reset(&val);
		buf_add(&val, v.p, v.n);
		have = key.n > 0;
	}
	if (have)
		add(f, section, key, &val);
	free(section);
	buf_free(&val);
	return f;
}

struct ini *
ini_load(const char *path, struct err *e)
{
	FILE *fp = fopen(path, "r");
	struct buf b = {0};
	char tmp[4096];
	size_t n;
	struct ini *f;

	if (e)
		e->kind = E_NONE;
	if (!fp) {
		if (errno != ENOENT && errno != ENOTDIR)
			err_set(e, E_IO, "%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
		buf_add(&b, tmp, n);
	if (ferror(fp)) {
		err_set(e, E_IO, "%s: read error", path);
		fclose(fp);
		buf_free(&b);
		return NULL;
	}
	fclose(fp);
	f = ini_parse(b.p ? b.p : "", b.len);
	buf_free(&b); /* the credentials file holds secrets: zeroed on free */
	return f;
}

void
ini_free(struct ini *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->e[i].section);
		free(f->e[i].key);
		memzero(f->e[i].value, strlen(f->e[i].value));
		free(f->e[i].value);
	}
	free(f->e);
	free(f);
}

int
ini_has(const struct ini *f, const char *section)
{
	for (size_t i = 0; f && i < f->n; i++)
		if (!strcmp(f->e[i].section, section))
			return 1;
	return 0;
}

/* The last assignment wins, as in configparser. */
const char *
ini_get(const struct ini *f, const char *section, const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; f && i < f->n; i++)
		if (!strcmp(f->e[i].section, section) && !strcmp(f->e[i].key, key))
			v = f->e[i].value;
	return v;
}

const char *
ini_sub(const struct ini *f, const char *section, const char *key, const char *sub)
{
	char name[256];

	snprintf(name, sizeof name, "%s.%s", key, sub);
	return ini_get(f, section, name);
}

/* botocore's profile map (configloader.build_profile_map): a section whose name starts with
 * "profile", "sso-session" or "services" and splits as shell words (quotes, extra spaces) into
 * exactly two names the second; others of those kinds are no section at all; [default] and
 * [profile default] are both "default". Of two sections naming one thing the later replaces the
 * earlier wholly (a repeated name is one section, as before). */
static char *
canon(const char *sec)
{
	static const char *const kinds[] = {"profile", "sso-session", "services"};
	char **argv = NULL, *c = NULL;
	int argc;

	if (!strcmp(sec, "default"))
		return xstrdup(sec);
	for (size_t k = 0; k < COUNT(kinds); k++) {
		if (strncmp(sec, kinds[k], strlen(kinds[k])))
			continue;
		if ((argc = shell_split(sec, &argv)) == 2)
			c = !k && !strcmp(argv[1], "default") ? xstrdup("default") : xasprintf("%s %s", kinds[k], argv[1]);
		for (int i = 0; argv && argv[i]; i++)
			free(argv[i]);
		free(argv);
		return c;
	}
	return xstrdup(sec);
}

/* Splits a command line as Python's shlex.split does for the common cases: whitespace,
 * single quotes, double quotes with backslash escapes, backslash outside quotes. */
int
shell_split(const char *s, char ***argvp)
{
	char **argv = NULL;
	int n = 0;
	struct buf w = {0};

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		buf_reset(&w);
		buf_reserve(&w, 1);
		w.p[0] = 0;
		while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
			if (*s == '\'') {
				const char *q = strchr(s + 1, '\'');
				if (!q)
					goto bad;
				buf_add(&w, s + 1, (size_t)(q - s - 1));
				s = q + 1;
			} else if (*s == '"') {
				for (s++; *s && *s != '"'; s++) {
					if (*s == '\\' && (s[1] == '"' || s[1] == '\\' || s[1] == '$' || s[1] == '`'))
						s++;
					buf_addc(&w, *s);
				}
				if (*s++ != '"')
					goto bad;
			} else if (*s == '\\' && s[1]) {
				buf_addc(&w, s[1]);
				s += 2;
			} else {
				buf_addc(&w, *s++);
			}
		}
		argv = xrealloc(argv, (size_t)(n + 2) * sizeof *argv);
		argv[n++] = xstrdup(w.p);
		argv[n] = NULL;
	}
	buf_free(&w);
	*argvp = argv;
	return n;
bad:
	buf_free(&w);
	for (int i = 0; i < n; i++)
		free(argv[i]);
	free(argv);
	return -1;
}

void
ini_profiles(struct ini *f)
{
	char **cn;
	size_t *head, out = 0;

	if (!f || !f->n)
		return;
	cn = xcalloc(f->n, sizeof *cn);
	head = xcalloc(f->n, sizeof *head);
	for (size_t i = 0; i < f->n; i++) {
		/* a section's entries follow its header entry (key "") */
		head[i] = !*f->e[i].key || !i || strcmp(f->e[i].section, f->e[i - 1].section) ? i : head[i - 1];
		cn[i] = head[i] == i ? canon(f->e[i].section) : cn[head[i]] ? xstrdup(cn[head[i]]) : NULL;
	}
	/* an entry stays when no later section names the same thing under another raw name */
	char *keep = xcalloc(f->n, 1);
	for (size_t i = 0; i < f->n; i++) {
		size_t last = head[i];
		for (size_t j = i + 1; cn[i] && j < f->n; j++)
			if (head[j] == j && cn[j] && !strcmp(cn[j], cn[i]))
				last = j;
		keep[i] = cn[i] && !strcmp(f->e[last].section, f->e[i].section);
	}
	for (size_t i = 0; i < f->n; i++) {
		if (!keep[i]) {
			memzero(f->e[i].value, strlen(f->e[i].value));
			free(f->e[i].section), free(f->e[i].key), free(f->e[i].value), free(cn[i]);
			continue;
		}
		free(f->e[i].section);
		f->e[i].section = cn[i];
		f->e[out++] = f->e[i];
	}
	f->n = out;
	free(keep);
	free(cn);
	free(head);
}
