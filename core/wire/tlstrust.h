/* tlstrust.h — private to tls.c and tlstrust.c: the trust anchors and the IP-address name check. */
#ifndef AWSBOX_TLSTRUST_H
#define AWSBOX_TLSTRUST_H
#include "conn.h"

#include <bearssl.h>

/* An X.509 engine that runs the minimal engine without a name, keeps the end-entity
 * certificate and, when the chain is valid, requires an iPAddress SAN equal to the host
 * (RFC 5280 4.2.1.6; RFC 6125 says IP addresses never match DNS names or the CN). */
struct ipcheck {
	const br_x509_class *vtable;
	br_x509_minimal_context *inner;
	unsigned char ip[16];
	size_t iplen;
	struct buf leaf;
	int depth, toobig;
};

/* Picks and loads p's trust anchors (once per pool; p->lock held): --ca-bundle or AWS_CA_BUNDLE,
 * SSL_CERT_FILE, the first usable system bundle, else the compiled-in roots. */
int tls_anchors_load(struct http_pool *p, struct err *e);
/* When host is an IP literal, sets c up as the X.509 engine over inner (the caller installs
 * &c->vtable) and returns 1; else 0 (a name: BearSSL checks it). c->leaf is the caller's to free. */
int tls_ipcheck_init(struct ipcheck *c, br_x509_minimal_context *inner, const char *host);

#endif
