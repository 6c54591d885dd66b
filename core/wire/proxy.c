/* proxy.c — which proxy a request goes through: HTTPS_PROXY, HTTP_PROXY and NO_PROXY as botocore
 * reads them (https://docs.python.org/3/library/urllib.request.html). Private to http.c. */
#include "conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
env_nonempty(const char *a, const char *b, const char **out)
{
	const char *v = getenv(a);

	if (!v || !*v)
		v = getenv(b);
	*out = v && *v ? v : NULL;
	return *out != NULL;
}

/* NO_PROXY as botocore reads it (Python's urllib proxy_bypass_environment), so that awsbox and
 * the AWS CLI take the same route: the whole value "*" means every host; else comma-separated
 * names, leading dots ignored, each matching the host or "host:port" as the URL names it
 * (no port when it is the scheme's), or a domain suffix of either. So "*.amazonaws.com" matches
 * nothing, and "host:443" only a URL that spells out :443 (unlike curl, which takes both). */
static int
no_proxy_match(const char *list, const struct url *u)
{
	char hp[300];
	size_t hl, hpl;

	if (!strcmp(list, "*"))
		return 1;
	url_hostport(u, hp, sizeof hp); /* the URL's netloc: [v6] bracketed, :port when not default */
	hpl = strlen(hp);
	/* the host without the port, as Python splits it (a trailing :digits) */
	const char *colon = strrchr(hp, ':');
	hl = colon && !colon[1 + strspn(colon + 1, "0123456789")] ? (size_t)(colon - hp) : hpl;
	while (*list) {
		size_t n = strcspn(list, ",");
		struct slice t = slice_trim((struct slice){list, n});
		list += n + (list[n] == ',');
		while (t.n && t.p[0] == '.')
			t.p++, t.n--;
		if (!t.n)
			continue;
		for (int k = 0; k < 2; k++) { /* host alone, then host:port */
			size_t l = k ? hpl : hl;
			if (l == t.n && !strncasecmp(hp, t.p, t.n))
				return 1;
			if (l > t.n && hp[l - t.n - 1] == '.' && !strncasecmp(hp + l - t.n, t.p, t.n))
				return 1;
		}
	}
	return 0;
}

/* The proxy for q from the environment (lower case first, as curl and Python do). */
int
proxy_for(const struct http_req *q, struct proxy *px, struct err *e)
{
	const char *v, *np, *s, *at, *hs, *end;
	const char *var = q->url->tls ? "HTTPS_PROXY" : "HTTP_PROXY";

	memset(px, 0, sizeof *px);
	if (q->no_proxy)
		return 0;
	if (!env_nonempty(q->url->tls ? "https_proxy" : "http_proxy", var, &v))
		return 0;
	if (env_nonempty("no_proxy", "NO_PROXY", &np) && no_proxy_match(np, q->url))
		return 0;
	s = v;
	if (strstr(s, "://")) {
		if (strncasecmp(s, "http://", 7))
			return err_set(e, E_USAGE, "%s: only http:// proxies are supported", var);
		s += 7;
	}
	end = s + strcspn(s, "/?#");
	at = NULL;
	for (const char *p = s; p < end; p++)
		if (*p == '@')
			at = p;
	hs = at ? at + 1 : s;
	if (*hs == '[') {
		const char *rb = memchr(hs, ']', (size_t)(end - hs));
		if (!rb || (size_t)(rb - hs - 1) >= sizeof px->host)
			return err_set(e, E_USAGE, "%s: bad proxy address", var);
		memcpy(px->host, hs + 1, (size_t)(rb - hs - 1));
		hs = rb + 1;
	} else {
		size_t n = strcspn(hs, ":/?#");
		if (hs + n > end)
			n = (size_t)(end - hs);
		if (!n || n >= sizeof px->host)
			return err_set(e, E_USAGE, "%s: bad proxy address", var);
		memcpy(px->host, hs, n);
		hs += n;
	}
	px->port = 80;
	if (hs < end && *hs == ':') {
		char *pe;
		long port = strtol(hs + 1, &pe, 10);
		if (pe != end || port < 1 || port > 65535)
			return err_set(e, E_USAGE, "%s: bad proxy port", var);
		px->port = (int)port;
	} else if (hs != end) {
		return err_set(e, E_USAGE, "%s: bad proxy address", var);
	}
	if (at) {
		/* user:pass, percent-decoded, sent as Basic (RFC 7617); never printed. */
		struct buf cred = {0};
		char b64[800];
		if (uri_decode(s, (size_t)(at - s), &cred) || cred.len > 580) {
			buf_free(&cred);
			return err_set(e, E_USAGE, "%s: bad proxy user name or password", var);
		}
		if (!memchr(cred.p, ':', cred.len))
			buf_addc(&cred, ':');
		b64_encode(cred.p, cred.len, b64);
		snprintf(px->auth, sizeof px->auth, "Basic %s", b64);
		memzero(b64, sizeof b64);
		buf_free(&cred);
	}
	px->on = 1;
	return 0;
}
