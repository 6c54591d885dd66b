/* base.h — the base layer of core: errors and exit codes, memory, the CPU's instructions, encodings and time, checksums, atomic files, child processes (ARCHITECTURE.md). */
#ifndef AWSBOX_BASE_H
#define AWSBOX_BASE_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define NORETURN __attribute__((noreturn))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- die.c: exit codes, errors, diagnostics ------------------------------------------- */
/* Exit codes (ARCHITECTURE.md, README.md). */
enum {
	EX_OK = 0,
	EX_FAIL = 1,     /* other failure: AWS error not below, local I/O */
	EX_USAGE = 2,    /* bad command line or configuration */
	EX_NOTFOUND = 3, /* NoSuchKey, ParameterNotFound, missing local file, ... */
	EX_ACCESS = 4,   /* access denied, bad signature or token, no credentials */
	EX_DEADLINE = 5, /* a wait deadline the user set ran out */
	EX_NET = 6,      /* network or TLS failure after retries */
	EX_REMOTE = 7,   /* the remote job failed */
};

/* What went wrong, filled by core functions that return -1. Caller-owned. */
enum err_kind {
	E_NONE = 0,
	E_USAGE,    /* bad input from the user or the configuration */
	E_IO,       /* local file or process I/O */
	E_NOTFOUND, /* a local thing that is not there */
	E_NOCREDS,  /* no provider in the chain had credentials */
	E_NET,      /* resolve, connect, reset, short read */
	E_TIMEOUT,  /* connect or read timeout */
	E_TLS,      /* handshake or certificate failure */
	E_PROTO,    /* malformed response from a server */
	E_AWS,      /* the service answered with an error (status, code, msg) */
	E_REMOTE,   /* a remote job reported failure */
};
struct err {
	int kind;      /* enum err_kind */
	int status;    /* HTTP status, 0 if none */
	int sent;      /* the request may have reached the server (for retry decisions) */
	char code[64]; /* AWS error code ("AccessDenied"), "" if none */
	char msg[512]; /* one line, never holding a secret */
};

extern const char *applet_name; /* prefix of every diagnostic */
extern int g_debug;             /* --debug: trace to stderr (secrets redacted) */
extern int g_quiet;             /* --quiet: no warnings or progress */

/* Sets e (kind, printf message; status and code cleared) and returns -1. */
int err_set(struct err *e, int kind, const char *fmt, ...) PRINTF(3, 4);
/* Prepends "prefix: " to e's message (and sets kind if nonzero); returns -1. */
int err_prefix(struct err *e, int kind, const char *prefix);
/* The exit code for e (the one place errors are mapped to exit codes). */
int err_exit_code(const struct err *e);
/* Formats e as "WHAT: 403 AccessDenied: message" into buf. */
void err_format(const struct err *e, const char *what, char *buf, size_t n);

void warn(const char *fmt, ...) PRINTF(1, 2);                 /* "applet: msg" unless quiet */
/* "applet: msg" quiet or not, stdout flushed first: a failure the exit status reports too. */
void note(const char *fmt, ...) PRINTF(1, 2);
/* "applet: WHAT: msg", as note: one item's failure (a message, a line) in a run that goes on. */
void vnote(const char *what, const char *fmt, va_list ap);
NORETURN void die(const char *fmt, ...) PRINTF(1, 2);         /* "applet: msg", exit 1 */
NORETURN void die_code(int code, const char *fmt, ...) PRINTF(2, 3);
/* "applet: WHAT: 403 AccessDenied: message" and the mapped exit code; fmt names WHAT. */
NORETURN void die_err(const struct err *e, const char *fmt, ...) PRINTF(2, 3);
void dbg(const char *fmt, ...) PRINTF(1, 2); /* to stderr when g_debug; never pass secrets */
/* "applet: message", then the usage line(s) of g_help and a hint, to stderr; exit 2. */
NORETURN void usage(const char *fmt, ...) PRINTF(1, 2);
/* The applet's help text, for usage(); set by opt_init. */
extern const char *g_help;
/* An applet's exit codes: one table in each applet (NAME_exits, ended by code -1), from which
 * --help's "Exit status" list is printed (README's tables are compared with it by a test). */
struct exitdoc {
	int code;
	const char *meaning;
};
extern const struct exitdoc *g_exits; /* the running applet's; set by main; exit_help prints it */
/* --help: help and more to stdout; exit 0 (1 if stdout cannot be written). */
NORETURN void exit_help(const char *help, const char *more);

/* ---- mem.c: allocation, growable buffers and slices ------------------------------------ */
/* Out of memory is the one error that is fatal everywhere: these die() on it. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF(1, 2);
/* Zeroes n bytes in a way the compiler may not elide (for secrets). */
void memzero(void *p, size_t n);
/* In place, for text from elsewhere (a server, a file name) printed to stderr: CR, LF and tab
 * become a space; C0 controls, DEL, C1 controls (U+0080..U+009F) and bytes that are not UTF-8
 * become '?'. die(), warn(), dbg() and err_format() apply it. */
void text_clean(char *s);
/* Core files and ptrace by the same user: off at start-up (main.c), on again for --debug. */
void core_dumps(int on);

/* A byte buffer, always NUL-terminated after len when p != NULL. Zero-initialise; the
 * owner frees with buf_free. Growth dies on out of memory. */
struct buf {
	char *p;
	size_t len, cap;
};
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, int c);
void buf_printf(struct buf *b, const char *fmt, ...) PRINTF(2, 3);
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_reserve(struct buf *b, size_t n); /* room for n more bytes */
void buf_reset(struct buf *b);             /* len = 0, keeps memory */
void buf_free(struct buf *b);              /* zeroes the bytes first: buffers may hold secrets */
char *buf_take(struct buf *b);             /* caller owns the string; b is reset to empty */

/* A view into someone else's bytes; never owns. */
struct slice {
	const char *p;
	size_t n;
};
#define SLICE(s) ((struct slice){(s), strlen(s)})
int slice_eq(struct slice s, const char *z);     /* exact byte equality with a C string */
int slice_ieq(struct slice s, const char *z);    /* ASCII case-insensitive */
char *slice_dup(struct slice s);                 /* xmalloc'd NUL-terminated copy */
struct slice slice_trim(struct slice s);         /* without leading/trailing space and tab */
/* The edit (Levenshtein) distance between two short strings; (size_t)-1 if b is 63+ bytes. */
size_t str_distance(const char *a, const char *b);

/* ---- utf8.c: UTF-8 (RFC 3629) ----------------------------------------------------------- */
/* The length (1-4) of the well-formed UTF-8 character at s (n bytes there) and its code point, or 0. */
size_t utf8_next(const void *s, size_t n, uint32_t *cp);
int utf8_valid(const void *s, size_t n); /* well-formed UTF-8 (RFC 3629) */
size_t utf8_chars(const char *s, size_t n); /* the characters in n bytes of UTF-8 (its non-continuation bytes) */

/* ---- enc.c: encodings and time ---------------------------------------------------------- */
void hex_encode(const void *p, size_t n, char *out); /* lower case; out holds 2n+1 */
size_t b64_encode(const void *p, size_t n, char *out); /* out holds 4*((n+2)/3)+1; returns length */
int b64_decode(const char *s, size_t n, struct buf *out); /* appends; -1 on invalid input */
/* Appends s percent-encoded per RFC 3986 (unreserved A-Z a-z 0-9 - _ . ~ kept); '/' kept when
 * keep_slash. This is the SigV4 encoding. */
void uri_encode(struct buf *b, const char *s, size_t n, int keep_slash);
/* Decodes %XX in place-free fashion into out; -1 on a bad escape. */
int uri_decode(const char *s, size_t n, struct buf *out);
void time_amz(time_t t, char out[17]);                 /* 20150830T123600Z */
void time_iso8601(time_t t, char out[21]);             /* 2015-08-30T12:36:00Z */
int time_parse_iso8601(const char *s, size_t n, time_t *out); /* Z, +hh:mm, fractions */
int time_parse_http(const char *s, size_t n, time_t *out);    /* IMF-fixdate (Date header) */
/* A decimal number ([+-]digits[.digits][e[+-]digits]), strtod's interface without its hexadecimal,
 * infinities and NaNs; *end == s when there is none. */
double dec_parse(const char *s, char **end);
int parse_duration(const char *s, double *secs);
int parse_size(const char *s, uint64_t *out);
/* Current time for signatures: AWSBOX_NOW (epoch seconds or ISO-8601) pins it for tests. */
time_t clock_now(void);
double mono_now(void); /* monotonic seconds */
void sleep_sec(double s);
uint32_t rand32(void); /* for jitter; not cryptographic */
void uuid4(char out[37]); /* a random (version 4) UUID, as idempotency tokens are */

/* ---- sum.c: S3's CRCs (the CPU's CRC32C and carry-less multiply instructions where there are) */
uint32_t crc32c_update(uint32_t crc, const void *p, size_t n); /* start and end with crc = 0 */
uint32_t crc32_update(uint32_t crc, const void *p, size_t n);
uint64_t crc64nvme_update(uint64_t crc, const void *p, size_t n); /* S3's default; start with crc = 0 */
/* Whether long CRCs fold 64 bytes to an instruction (VPCLMULQDQ with AVX-512); want 0: never
 * (tests, benchmarks), 1: when the CPU has it, -1: just ask. */
int crc_use_wide(int want);

/* ---- sha256.c: SHA-256 and HMAC (the CPU's SHA instructions where it has them) ---------- */
void sha256_hex(const void *p, size_t n, char out[65]);
/* SHA-256 (FIPS 180-4) of data given in pieces: the CPU's SHA extensions when it has them (chosen
 * at run time), else BearSSL's. Caller-owned, nothing to free; sha256_out leaves c unchanged. */
struct sha256 {
	int hw;          /* the SHA extensions are in use */
	uint64_t st[16]; /* the running state (with hw) or BearSSL's context */
};
void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *p, size_t n);
void sha256_out(const struct sha256 *c, unsigned char out[32]);
/* Whether sha256_init will use the SHA extensions. want 0: never (tests, benchmarks), 1: when
 * the CPU has them, -1: just ask. */
int sha256_use_hw(int want);
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t n, unsigned char out[32]);

/* ---- file.c: atomic output files -------------------------------------------------------- */
/* A file written beside its target under a temporary name and renamed over it on commit, so
 * readers see the old file or the whole new one, never a part. The temporary file is created
 * O_EXCL with the final mode (open(2): the umask applies) and is removed by file_abort, at
 * exit(), and on SIGINT, SIGTERM or SIGHUP (a handler unlinks every open temporary file and
 * re-raises; it is installed only for signals whose action is the default). A target that is
 * a symlink is resolved (the link stays, its file is replaced); one that exists and is not a
 * regular file (/dev/stdout, a FIFO) is written in place. Caller-owned; several may be open at
 * once, from several threads. */
struct outfile {
	int fd;      /* the temporary file; callers may pwrite/ftruncate it (parallel downloads) */
	char *path;  /* target (symlinks resolved) */
	char *tmp;   /* temporary file beside it; NULL when writing in place */
	int slot;    /* in the cleanup registry; -1 when not registered */
	int direct;  /* writing in place (not a regular file) */
};
/* A new file gets mode (less the umask); a file replaced keeps its owner (as root) and its
 * permissions, limited to mode plus execute bits. -1 with e (E_IO; E_NOTFOUND if the
 * directory does not exist) on failure. */
int file_open(struct outfile *f, const char *path, mode_t mode, struct err *e);
/* For a secret: the file is the caller's, mode exactly 0600, whatever was there (root replacing
 * another user's file must not give it the secret); a symlink at path is refused (one planted in
 * a shared directory would send the secret where its owner wants); a device or FIFO is written
 * only when it belongs to the caller or to root. */
int file_open_secret(struct outfile *f, const char *path, struct err *e);
int file_write(struct outfile *f, const void *p, size_t n, struct err *e);
/* fsync, close, rename over the target, fsync the directory. On failure the temporary file is
 * removed and the target is untouched. f is closed either way. */
int file_commit(struct outfile *f, struct err *e);
/* Closes and removes the temporary file; the target is untouched. Safe to call twice and on a
 * zeroed struct after a failed file_open. */
void file_abort(struct outfile *f);
/* Files committed in groups (s3cp -r): file_batch_add closes f's temporary file unsynced and
 * keeps it waiting (f is emptied; it stays registered for removal on a signal); every
 * FILE_BATCH files, and at file_batch_flush, one syncfs per file system makes the group's data
 * durable, then each is renamed over its target and each directory fsynced once; done(arg,
 * rc, e) follows for each (rc -1: removed, target untouched). So a name never points at data
 * that is not on disk, as with file_commit, for one sync per group instead of two per file.
 * file_batch_add returns 0 (waiting), 1 (committed at once: a file written in place), or -1
 * (failed, f aborted). Thread-safe; done runs on the thread that flushes. */
#define FILE_BATCH 64
struct file_waiting {
	struct outfile f;
	void *arg;
	dev_t dev;
	int synced;
};
struct file_batch {
	pthread_mutex_t m;
	struct file_waiting *w;
	int n, cap;
	void (*done)(void *arg, int rc, struct err *e);
};
int file_batch_add(struct file_batch *b, struct outfile *f, void *arg, struct err *e);
void file_batch_flush(struct file_batch *b);
/* Removes the waiting files (an interrupt): done(arg, -1, NULL) for each. */
void file_batch_abort(struct file_batch *b);
/* Makes the directories above path's last '/' (mode 0777 less the umask), as mkdir -p; NULL, or
 * the one that could not be made (xmalloc'd, errno set). A directory made or found once is
 * remembered for the rest of the process and not asked for again. */
char *file_mkdirs(const char *path);
const char *file_base(const char *path); /* what follows the last '/' (all of path if none) */
int file_is_dir(const char *path);        /* a directory, or a link to one */
/* dir/name (no second '/' when dir ends with one); xmalloc'd. */
char *file_join(const char *dir, const char *name);
/* The whole of p (n bytes) as the secret file path, atomically (file_open_secret .. file_commit),
 * after making the missing directories above it (file_mkdirs). */
int file_put_secret(const char *path, const void *p, size_t n, struct err *e);

/* ---- proc.c: commands run beside awsbox (sqsrecv --exec); worker threads' signals ------ */
/* Appends NAME=value and a NUL to vars, the form proc_spawn takes. */
void proc_var(struct buf *vars, const char *name, const char *val, size_t n);
/* Starts argv[0] (found in PATH) in a process group of its own (kill(-pid) reaches all of it),
 * signals at their defaults, stdout and stderr inherited, the n bytes at in on its stdin, and the
 * current environment with vars (nvars bytes of "NAME=value\0" from proc_var) set over it.
 * *pid on success, for the caller to wait for; -1 with e (E_NOTFOUND: no such command). */
int proc_spawn(char *const argv[], const char *vars, size_t nvars, const void *in, size_t n, pid_t *pid, struct err *e);
/* Blocks SIGINT, SIGTERM and SIGHUP in a worker thread: the main thread handles them. */
void proc_block_signals(void);

#endif
