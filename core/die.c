/* die.c — errors, diagnostics and exit codes (the table of exit codes is in ARCHITECTURE.md). */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *applet_name = "awsbox";
const char *g_help = "";
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
	/* One line: a server's message could hold newlines. */
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

static void
vmsg(const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof line, fmt, ap);
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
	va_list ap;

	if (!g_debug)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "* ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
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
	exit(fflush(stdout) ? EX_FAIL : EX_OK);
}
