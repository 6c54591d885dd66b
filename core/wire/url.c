/* url.c — endpoint URLs: scheme, host (IPv6 bracketed), port and base path, as the endpoint
 * settings and the metadata endpoints give them (RFC 3986, the parts awsbox accepts). */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
url_parse(const char *s, struct url *u, struct err *e)
{
	const char *p, *host, *hend, *path;
	size_t hn;

	memset(u, 0, sizeof *u);
	if (!strncasecmp(s, "https://", 8)) {
		u->tls = 1;
		u->port = 443;
		p = s + 8;
	} else if (!strncasecmp(s, "http://", 7)) {
		u->port = 80;
		p = s + 7;
	} else {
		return err_set(e, E_USAGE, "invalid URL '%s': must start with https:// or http://", s);
	}
	path = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(path - p)))
		return err_set(e, E_USAGE, "invalid URL '%s': user information is not supported", s);
	if (*p == '[') {
		host = p + 1;
		if (!(hend = memchr(host, ']', (size_t)(path - host))))
			return err_set(e, E_USAGE, "invalid URL '%s': unclosed '['", s);
		p = hend + 1;
	} else {
		host = p;
		hend = p + strcspn(p, ":/?#");
		p = hend;
	}
	hn = (size_t)(hend - host);
	if (!hn || hn >= sizeof u->host)
		return err_set(e, E_USAGE, "invalid URL '%s': bad host", s);
	for (size_t i = 0; i < hn; i++) {
		char c = host[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == ':' || c == '_' || c == '%'))
			return err_set(e, E_USAGE, "invalid URL '%s': bad host", s);
	}
	memcpy(u->host, host, hn);
	if (*p == ':') {
		char *end;
		long port = strtol(p + 1, &end, 10);
		if (end == p + 1 || end != path || port < 1 || port > 65535)
			return err_set(e, E_USAGE, "invalid URL '%s': bad port", s);
		u->port = (int)port;
	} else if (p != path) {
		return err_set(e, E_USAGE, "invalid URL '%s'", s);
	}
	if (*path == '?' || *path == '#')
		return err_set(e, E_USAGE, "invalid URL '%s': a query or fragment is not allowed here", s);
	size_t pn = strlen(path);
	while (pn && path[pn - 1] == '/')
		pn--;
	if (pn >= sizeof u->path)
		return err_set(e, E_USAGE, "invalid URL '%s': path too long", s);
	memcpy(u->path, path, pn);
	return 0;
}

void
url_hostport(const struct url *u, char *out, size_t n)
{
	int v6 = strchr(u->host, ':') != NULL;

	if (u->port == (u->tls ? 443 : 80))
		snprintf(out, n, v6 ? "[%s]" : "%s", u->host);
	else
		snprintf(out, n, v6 ? "[%s]:%d" : "%s:%d", u->host, u->port);
}
