/* die.c — errors, diagnostics and exit codes (the table of exit codes is in ARCHITECTURE.md). */
#include "base.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

const char *applet_name = "awsbox";
const char *g_help = "";
const struct exitdoc *g_exits;
int g_debug, g_quiet;

int
err_set(struct err *e, int kind, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	e->kind = kind;
	e->status = 0;
	e->code[0] = 0;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int
err_prefix(struct err *e, int kind, const char *prefix)
{
	char m[sizeof e->msg];

	snprintf(m, sizeof m, "%s", e->msg);
	snprintf(e->msg, sizeof e->msg, "%s: %s", prefix, m);
	if (kind)
		e->kind = kind;
	return -1;
}

/* AWS error codes that mean "not there" or "not allowed", across the services we call. */
static const char *const notfound_codes[] = {
	"NoSuchKey", "NoSuchBucket", "NoSuchUpload", "NotFound", "ParameterNotFound",
	"ParameterVersionNotFound", "ResourceNotFoundException", "QueueDoesNotExist",
	"AWS.SimpleQueueService.NonExistentQueue", "InvalidDocument", "AutomationExecutionNotFoundException",
	"AutomationDefinitionNotFoundException", "AutomationDefinitionVersionNotFoundException",
	"InvocationDoesNotExist", "InvalidInstanceId", "DBInstanceNotFound",
};
static const char *const access_codes[] = {
	"AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId",
	"SignatureDoesNotMatch", "InvalidSignatureException", "IncompleteSignature", "ExpiredToken",
	"ExpiredTokenException", "InvalidAccessKeyId", "MissingAuthenticationToken",
	"MissingAuthenticationTokenException", "AuthFailure", "InvalidToken", "TokenRefreshRequired",
	"AllAccessDisabled", "KMSAccessDeniedException", "InvalidIdentityToken", "IDPRejectedClaim",
	"AuthorizationError", "NotAuthorized", "RequestExpired", "RequestTimeTooSkewed",
	"KMS.AccessDeniedException",
};

static int
code_in(const char *code, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(code, set[i]))
			return 1;
	return 0;
}

int
err_exit_code(const struct err *e)
{
	switch (e->kind) {
	case E_NONE:
		return EX_OK;
	case E_USAGE:
		return EX_USAGE;
	case E_NOTFOUND:
		return EX_NOTFOUND;
	case E_NOCREDS:
		return EX_ACCESS;
	case E_NET:
	case E_TIMEOUT:
	case E_TLS:
		return EX_NET;
	case E_REMOTE:
		return EX_REMOTE;
	case E_AWS:
		if (code_in(e->code, notfound_codes, COUNT(notfound_codes)))
			return EX_NOTFOUND;
		if (code_in(e->code, access_codes, COUNT(access_codes)))
			return EX_ACCESS;
		if (!e->code[0] && e->status == 403)
			return EX_ACCESS;
		return EX_FAIL;
	default:
		return EX_FAIL;
	}
}

void
text_clean(char *s)
{
	unsigned char *r = (unsigned char *)s, *w = r;
	uint32_t cp;
	int n;

	while (*r) {
		if (*r == '\n' || *r == '\r' || *r == '\t') {
			*w++ = ' ';
			r++;
		} else if (*r < 0x20 || *r == 0x7f) {
			*w++ = '?';
			r++;
		} else if (*r < 0x80) {
			*w++ = *r++;
		} else if (!(n = (int)utf8_next(r, 4, &cp)) || cp < 0xa0) { /* a NUL ends a short one */
			*w++ = '?'; /* not UTF-8, or a C1 control (CSI U+009B starts an escape too) */
			r += n ? n : 1;
		} else {
			while (n--)
				*w++ = *r++;
		}
	}
	*w = 0;
}

void
err_format(const struct err *e, const char *what, char *buf, size_t n)
{
	int k = 0;

	if (what && *what)
		k = snprintf(buf, n, "%s: ", what);
	if (k < 0 || (size_t)k >= n)
		return;
	if (e->kind == E_AWS) {
		if (e->status)
			k += snprintf(buf + k, n - k, "%d ", e->status);
		if ((size_t)k < n && e->code[0])
			k += snprintf(buf + k, n - k, "%s%s", e->code, e->msg[0] ? ": " : "");
	}
	if ((size_t)k < n)
		snprintf(buf + k, n - k, "%s", e->msg[0] || e->kind != E_AWS ? e->msg : "");
	text_clean(buf); /* one line, and a server's message must not drive the terminal */
}

static void
vmsg(const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof line, fmt, ap);
	text_clean(line);
	fprintf(stderr, "%s: %s\n", applet_name, line);
}

void
warn(const char *fmt, ...)
{
	va_list ap;

	if (g_quiet)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
note(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout); /* what was written there comes first */
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
vnote(const char *what, const char *fmt, va_list ap)
{
	char line[2048];
	int k = snprintf(line, sizeof line, "%s: ", what);

	vsnprintf(line + k, sizeof line - (size_t)k, fmt, ap);
	text_clean(line);
	fflush(stdout); /* what was written there comes first */
	fprintf(stderr, "%s: %s\n", applet_name, line);
}

void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(EX_FAIL);
}

void
die_code(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(code);
}

void
die_err(const struct err *e, const char *fmt, ...)
{
	char what[1024], line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	err_format(e, what, line, sizeof line);
	fprintf(stderr, "%s: %s\n", applet_name, line);
	exit(err_exit_code(e));
}

void
dbg(const char *fmt, ...)
{
	char small[1024], *p = small;
	va_list ap, ap2;
	int n;

	if (!g_debug)
		return;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof small, fmt, ap);
	/* A longer line gets a buffer of its size (malloc, not mem.c's: die.c is below it). */
	if (n >= (int)sizeof small && (p = malloc((size_t)n + 1)))
		vsnprintf(p, (size_t)n + 1, fmt, ap2);
	else if (n >= (int)sizeof small)
		p = small;
	va_end(ap2);
	va_end(ap);
	text_clean(p);
	fprintf(stderr, "* %s\n", n < 0 ? "" : p);
	if (p != small)
		free(p);
}

void
usage(const char *fmt, ...)
{
	const char *h = g_help, *end = strstr(h, "\n\n");
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fflush(stdout);
	fprintf(stderr, "%s: %s\n", applet_name, line);
	if (*h)
		fprintf(stderr, "%.*s\n", (int)(end ? end - h : (long)strlen(h)), h);
	fprintf(stderr, "Try '%s --help' for more information.\n", applet_name);
	exit(EX_USAGE);
}

void
exit_help(const char *help, const char *more)
{
	fputs(help, stdout);
	fputs(more, stdout);
	if (g_exits)
		fputs("\nExit status:\n", stdout);
	for (const struct exitdoc *x = g_exits; x && x->meaning; x++)
		printf("  %d  %s\n", x->code, x->meaning);
	exit(fflush(stdout) ? EX_FAIL : EX_OK);
}

/* Off: no core file with credentials in it (RLIMIT_CORE 0, and not dumpable, which a core_pattern
 * pipe or fs.suid_dumpable would otherwise get past), and no ptrace or /proc/PID/mem by other
 * processes of the same user, as ssh-agent does. On: back as they were. */
void
core_dumps(int on)
{
	static struct rlimit saved;
	static int lowered;
	struct rlimit none = {0, 0};

	if (!on) {
		if (!lowered && !getrlimit(RLIMIT_CORE, &saved)) {
			none.rlim_max = saved.rlim_max;
			lowered = !setrlimit(RLIMIT_CORE, &none);
		}
		prctl(PR_SET_DUMPABLE, 0);
	} else {
		if (lowered)
			setrlimit(RLIMIT_CORE, &saved);
		lowered = 0;
		prctl(PR_SET_DUMPABLE, 1);
	}
}
