/* fmt.h — the fmt layer of core: formats: JSON, JSON queries, XML, INI files, environment output (ARCHITECTURE.md). */
#ifndef AWSBOX_FMT_H
#define AWSBOX_FMT_H
#include "base/base.h"

/* ---- json.c: zero-copy JSON reader and small writer (RFC 8259) ------------------------- */
enum json_type { JSON_NONE, JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };
/* A value: a slice of a validated document (strings include their quotes). */
struct json {
	const char *p;
	size_t n;
	int type;
};
/* Validates the whole document (nesting at most 128 deep) and returns its root value; -1
 * on invalid JSON. The other readers assume a value from a validated document. */
int json_parse(const char *p, size_t n, struct json *root);
int json_get(struct json obj, const char *key, struct json *out); /* -1: absent or not an object */
int json_index(struct json arr, size_t i, struct json *out);     /* -1: absent or not an array */
/* Iterates members or elements: start with *pos = 0; returns 0 with val (and key, for an
 * object; key->type == JSON_NONE for an array), -1 at the end. */
int json_next(struct json c, size_t *pos, struct json *key, struct json *val);
int json_str(struct json v, struct buf *out); /* appends the unescaped string; -1 if not one */
char *json_get_strdup(struct json obj, const char *key); /* xmalloc'd, NULL if absent/not a string */
int json_key_eq(struct json key, const char *z); /* a string value equals z once unescaped */
void json_put_str(struct buf *b, const char *s, size_t n); /* appends a quoted, escaped string */

/* ---- xml.c: zero-copy reader for AWS XML responses ------------------------------------- */
/* An element: its name and the bytes of its content (between start and end tags). */
struct xml {
	struct slice name; /* local name, without a namespace prefix */
	struct slice body; /* raw content; empty for <x/> */
};
int xml_root(const char *doc, size_t n, struct xml *root); /* skips prolog; -1 malformed */
/* Iterates child elements: start with *pos = 0; returns 0 with child, -1 at the end. */
int xml_next(struct xml el, size_t *pos, struct xml *child);
int xml_child(struct xml el, const char *name, struct xml *out); /* first child by local name */
int xml_path(struct xml el, const char *path, struct xml *out);  /* "Error/Code" */
int xml_text(struct xml el, struct buf *out); /* appends decoded text (entities, CDATA) */
char *xml_path_strdup(struct xml el, const char *path); /* decoded text, NULL if absent */
void xml_put_text(struct buf *b, const char *s, size_t n); /* appends with entities escaped */

/* ---- ini.c: AWS config and credentials files ------------------------------------------- */
struct ini; /* parsed file; owned by whoever loaded it */
/* Loads path; returns NULL (and no error) when the file does not exist. -1 style errors
 * (unreadable file) fill e and return NULL with e->kind set. */
struct ini *ini_load(const char *path, struct err *e);
struct ini *ini_parse(const char *text, size_t n); /* never fails; bad lines are skipped */
void ini_free(struct ini *f);
int ini_has(const struct ini *f, const char *section);
const char *ini_get(const struct ini *f, const char *section, const char *key);
/* The config file's sections as botocore names them: [profile NAME] split as shell words
 * ([profile "q r"], extra spaces), [profile default] and [default] both "default", the later of
 * two sections for one profile (sso-session, services) replacing the earlier wholly. */
void ini_profiles(struct ini *f);
/* Splits a command line into words as Python's shlex.split does (quotes, backslashes); -1 on an
 * unclosed quote. *argv is xmalloc'd, NULL-terminated, each word too. */
int shell_split(const char *s, char ***argv);
/* Nested key: "s3 =\n  addressing_style = path" -> ini_sub(f, sec, "s3", "addressing_style"). */
const char *ini_sub(const struct ini *f, const char *section, const char *key, const char *sub);

/* ---- jquery.c: JSON path queries (secretget --query) ------------------------------------ */
/* A path is segments joined by '.': a key (any bytes but '.' and '['), [N] (an array index;
 * negative counts from the end), ["key"] (JSON string syntax) or ['key'] (\' and \\ escapes),
 * for keys holding dots or brackets. A bracket may follow a segment directly or after a '.':
 * foo.bar[1], foo.bar.[1] and ["key.with.dots"].x all work; a leading '.' is allowed and "."
 * alone is the root. A bare all-digit key indexes an array (foo.1). Of duplicated keys the
 * last wins (as json_get, jq and Python). */
/* Checks the syntax only: -1 with e (E_USAGE, the offending position) if bad. */
int json_query_check(const char *path, struct err *e);
/* Finds path below root (a value from a validated document). -1 with e: E_USAGE for a bad
 * path, E_NOTFOUND when it is not there (e->msg names the path and why). out is a slice of
 * root's document. */
int json_query(struct json root, const char *path, struct json *out, struct err *e);
/* Appends v without insignificant whitespace (strings and numbers byte for byte). */
void json_compact(struct json v, struct buf *out);
/* Appends v as text: a string unescaped, anything else as compact JSON (null as "null"). */
void json_text(struct json v, struct buf *out);

/* ---- envout.c: values into pipelines, environments and processes (ssmget, secretget) ---- */
/* Output formats. VALUE: each value and a newline. ENV: NAME=value, as env(1) prints it (not
 * parseable when a value holds a newline). EXPORT: export NAME='value', POSIX single quotes with
 * ' written '\'' (safe to eval for any bytes but NUL). JSON: one object {"NAME":"value",...} on
 * one line. DOTENV: python-dotenv's dialect (what docker compose also reads for these escapes):
 * NAME="value" with \\ \" \n \r escaped and everything else literal; a one-line value ending
 * in a backslash is written unquoted (python-dotenv cannot read one quoted). */
enum { ENVOUT_VALUE, ENVOUT_ENV, ENVOUT_EXPORT, ENVOUT_JSON, ENVOUT_DOTENV };
/* "value" (or "raw"), "env", "export", "json", "dotenv" -> ENVOUT_*; -1 if none. */
int envout_format(const char *s);

struct envvar {
	char *name;  /* NULL: a value without a name (ENVOUT_VALUE only) */
	char *src;   /* where it came from, for messages: "/app/db-host", "db/creds key user" */
	char *val;   /* len bytes, NUL-terminated; may hold NUL bytes */
	size_t len;
};
/* An ordered set of variables. Zero-initialise; free with envout_free (values are zeroed). */
struct envout {
	struct envvar *v;
	size_t n, cap;
};
/* Whether s is a POSIX environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
int envout_name_valid(const char *s);
/* Derives a name from s (n bytes): ASCII letters upper-cased, digits kept, every other
 * character (a UTF-8 sequence counts as one) becomes '_', and '_' goes first if it would start
 * with a digit. Appends to out; -1 if s is empty. */
int envout_name(const char *s, size_t n, struct buf *out);
/* Adds a copy of name (NULL allowed, see envvar), src and the value. -1 with e (E_USAGE) if the
 * name is invalid or already taken by another source ("SRC1 and SRC2 both map to NAME"); the
 * same name from the same src again takes the new value (a name asked for twice, a JSON key
 * repeated: the last wins). */
int envout_add(struct envout *o, const char *name, const char *src, const void *val, size_t n, struct err *e);
/* Appends the whole output in format fmt to out, so a failure prints nothing. nl 0: VALUE
 * without the final newline. -1 with e (E_USAGE) when a value cannot be written in fmt (NUL in
 * a value, a nameless value for a named format, a dotenv value it cannot represent). */
int envout_render(const struct envout *o, int fmt, int nl, struct buf *out, struct err *e);
/* Appends s single-quoted for a POSIX shell: 'it'\''s'. */
void envout_shquote(struct buf *b, const char *s, size_t n);
/* Replaces the process with argv[0] (found in the current PATH) run with the current
 * environment (none when pristine) plus o's variables, which win over inherited ones. Returns
 * only on failure: fills e and returns the exit status a shell gives (127 not found, 126 could
 * not run; 2 for a value holding NUL). */
int envout_exec(const struct envout *o, char *const argv[], int pristine, struct err *e);
void envout_free(struct envout *o);
/* The --exec rules both applets share: -1 with e (E_USAGE) when broken. */
int envout_check_exec(int exec, size_t ncmd, int fmt_given, const char *output, int nonl, int pristine,
		      struct err *e);

#endif
