/* tlstrust.c — what a TLS connection trusts: the trust anchors (--ca-bundle, SSL_CERT_FILE, the system
 * bundle, else the compiled-in roots; PEM per RFC 7468) and, for a host given as an IP address, the
 * iPAddress subjectAltName check (RFC 5280 4.2.1.6, RFC 6125). tls.c runs the connection. */
#include "tlstrust.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The compiled-in roots (build/ta.c, from scripts/gen-anchors). */
extern const br_x509_trust_anchor *const builtin_anchors;
extern const size_t builtin_anchors_num;

enum { ANCHORS_NONE, ANCHORS_OWNED, ANCHORS_BUILTIN };

/* The usual places distributions keep their PEM bundle (Debian, Fedora/RHEL, openSUSE,
 * the extracted RHEL set, Alpine/macOS/BSD). */
static const char *const system_bundles[] = {
	"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem",
};

/* ---- trust anchors from a PEM file ---- */

struct ta_set {
	br_x509_trust_anchor *v;
	size_t n, cap;
};

static void
ta_free(br_x509_trust_anchor *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].dn.data);
		if (v[i].pkey.key_type == BR_KEYTYPE_RSA) {
			free(v[i].pkey.key.rsa.n);
			free(v[i].pkey.key.rsa.e);
		} else {
			free(v[i].pkey.key.ec.q);
		}
	}
	free(v);
}

static void
dn_append(void *ctx, const void *p, size_t n)
{
	buf_add(ctx, p, n);
}

static unsigned char *
dupmem(const void *p, size_t n)
{
	unsigned char *d = xmalloc(n);

	memcpy(d, p, n);
	return d;
}

/* Adds one DER certificate as an anchor; 0 if its key is of a kind BearSSL cannot use. */
static int
ta_add(struct ta_set *ts, const void *der, size_t n)
{
	br_x509_decoder_context dc;
	struct buf dn = {0};
	const br_x509_pkey *pk;
	br_x509_trust_anchor *ta;

	br_x509_decoder_init(&dc, dn_append, &dn);
	br_x509_decoder_push(&dc, der, n);
	pk = br_x509_decoder_get_pkey(&dc);
	if (!pk || br_x509_decoder_last_error(&dc)) {
		buf_free(&dn);
		return 0;
	}
	if (ts->n == ts->cap) {
		ts->cap = ts->cap ? ts->cap * 2 : 64;
		ts->v = xrealloc(ts->v, ts->cap * sizeof *ts->v);
	}
	ta = &ts->v[ts->n++];
	memset(ta, 0, sizeof *ta);
	ta->dn.len = dn.len;
	ta->dn.data = (unsigned char *)buf_take(&dn);
	/* A non-CA certificate is still trusted, but only as that exact end-entity. */
	ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	ta->pkey.key_type = pk->key_type;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		ta->pkey.key.rsa.n = dupmem(pk->key.rsa.n, pk->key.rsa.nlen);
		ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
		ta->pkey.key.rsa.e = dupmem(pk->key.rsa.e, pk->key.rsa.elen);
		ta->pkey.key.rsa.elen = pk->key.rsa.elen;
	} else {
		ta->pkey.key.ec.curve = pk->key.ec.curve;
		ta->pkey.key.ec.q = dupmem(pk->key.ec.q, pk->key.ec.qlen);
		ta->pkey.key.ec.qlen = pk->key.ec.qlen;
	}
	return 1;
}

/* The PEM decoder writes an object's bytes here; one certificate is at most 64 KiB. */
struct der_sink {
	struct buf b;
	int toobig;
};

static void
der_append(void *ctx, const void *p, size_t n)
{
	struct der_sink *d = ctx;

	if (d->toobig || d->b.len + n > 65536) {
		d->toobig = 1;
		return;
	}
	buf_add(&d->b, p, n);
}

static int
is_cert_name(const char *name)
{
	return !strcmp(name, "CERTIFICATE") || !strcmp(name, "X509 CERTIFICATE") ||
	       !strcmp(name, "TRUSTED CERTIFICATE");
}

/* Loads every certificate of a PEM file, reading it in pieces. -1 (E_TLS) if the file
 * cannot be read, is malformed, or holds no usable certificate. */
static int
pem_load(const char *path, struct ta_set *ts, struct err *e)
{
	br_pem_decoder_context pc;
	struct der_sink d = {{0}, 0};
	unsigned char chunk[4096];
	int in_cert = 0, rc = -1, eof = 0;
	size_t ncert = 0;
	FILE *f = fopen(path, "rb");

	if (!f)
		return err_set(e, E_TLS, "CA bundle %s: %s", path, strerror(errno));
	br_pem_decoder_init(&pc);
	while (!eof) {
		size_t n = fread(chunk, 1, sizeof chunk, f), off = 0;
		if (n < sizeof chunk) {
			if (ferror(f)) {
				err_set(e, E_TLS, "CA bundle %s: %s", path, strerror(errno));
				goto fail;
			}
			/* The decoder needs an end of line after the last END line. */
			eof = 1;
			chunk[n++] = '\n';
		}
		while (off < n) {
			off += br_pem_decoder_push(&pc, chunk + off, n - off);
			switch (br_pem_decoder_event(&pc)) {
			case BR_PEM_BEGIN_OBJ:
				in_cert = is_cert_name(br_pem_decoder_name(&pc));
				buf_reset(&d.b);
				d.toobig = 0;
				br_pem_decoder_setdest(&pc, in_cert ? der_append : NULL, &d);
				break;
			case BR_PEM_END_OBJ:
				if (in_cert && !d.toobig && d.b.len) {
					ncert++;
					ta_add(ts, d.b.p, d.b.len);
				}
				in_cert = 0;
				break;
			case BR_PEM_ERROR:
				err_set(e, E_TLS, "CA bundle %s: malformed PEM data", path);
				goto fail;
			}
		}
	}
	if (!ts->n) {
		err_set(e, E_TLS, "CA bundle %s: no %scertificates found", path, ncert ? "usable " : "");
		goto fail;
	}
	rc = 0;
fail:
	buf_free(&d.b);
	fclose(f);
	return rc;
}

int
tls_anchors_load(struct http_pool *p, struct err *e)
{
	struct ta_set ts = {0};
	const char *path = p->ca_bundle, *env = getenv("SSL_CERT_FILE");

	if (!path && env && *env)
		path = env;
	for (size_t i = 0; !path && i < COUNT(system_bundles); i++) {
		struct err ignore;
		/* A system bundle that is missing or empty is skipped; the next one may do. */
		if (!pem_load(system_bundles[i], &ts, &ignore)) {
			path = system_bundles[i];
		} else {
			ta_free(ts.v, ts.n);
			memset(&ts, 0, sizeof ts);
		}
	}
	if (path && !ts.n && pem_load(path, &ts, e)) {
		ta_free(ts.v, ts.n);
		return -1;
	}
	if (path) {
		p->anchors = ts.v;
		p->nanchors = ts.n;
		p->anchors_loaded = ANCHORS_OWNED;
		dbg("TLS: %zu trust anchors from %s", ts.n, path);
		return 0;
	}
	if (!builtin_anchors_num)
		return err_set(e, E_TLS, "no CA certificates: no system bundle found and none compiled in "
					 "(use --ca-bundle or AWS_CA_BUNDLE)");
	p->anchors = (void *)builtin_anchors;
	p->nanchors = builtin_anchors_num;
	p->anchors_loaded = ANCHORS_BUILTIN;
	dbg("TLS: %zu compiled-in trust anchors", builtin_anchors_num);
	return 0;
}

void
tls_anchors_free(struct http_pool *p)
{
	if (p->anchors_loaded == ANCHORS_OWNED)
		ta_free(p->anchors, p->nanchors);
	p->anchors = NULL;
	p->nanchors = 0;
	p->anchors_loaded = ANCHORS_NONE;
}

/* ---- IP-literal hosts: BearSSL matches DNS names only, so check iPAddress SANs here ---- */

/* One DER TLV at p[0..n): tag byte, value and total size; -1 if malformed. */
static int
der_tlv(const unsigned char *p, size_t n, unsigned *tag, const unsigned char **v, size_t *vlen, size_t *total)
{
	size_t len, hl = 2;

	if (n < 2 || (p[0] & 0x1f) == 0x1f)
		return -1;
	*tag = p[0];
	len = p[1];
	if (len & 0x80) {
		size_t k = len & 0x7f;
		if (k == 0 || k > 3 || n < 2 + k)
			return -1;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | p[2 + i];
		hl += k;
	}
	if (len > n - hl)
		return -1;
	*v = p + hl;
	*vlen = len;
	*total = hl + len;
	return 0;
}

/* Whether certificate der has an iPAddress subjectAltName equal to ip. */
static int
san_has_ip(const unsigned char *der, size_t n, const unsigned char *ip, size_t iplen)
{
	static const unsigned char oid_san[] = {0x55, 0x1d, 0x11}; /* 2.5.29.17 */
	const unsigned char *v, *tbs, *x;
	size_t vn, tn, t, xn;
	unsigned tag;

	if (der_tlv(der, n, &tag, &v, &vn, &t) || tag != 0x30 || der_tlv(v, vn, &tag, &tbs, &tn, &t) || tag != 0x30)
		return 0;
	/* Find [3] extensions among the TBSCertificate fields. */
	for (; tn; tbs += t, tn -= t) {
		if (der_tlv(tbs, tn, &tag, &x, &xn, &t))
			return 0;
		if (tag == 0xa3)
			break;
	}
	if (!tn || der_tlv(x, xn, &tag, &v, &vn, &t) || tag != 0x30)
		return 0;
	for (; vn; v += t, vn -= t) {
		const unsigned char *ext, *f;
		size_t en, fn, ft;
		if (der_tlv(v, vn, &tag, &ext, &en, &t) || tag != 0x30)
			return 0;
		if (der_tlv(ext, en, &tag, &f, &fn, &ft) || tag != 0x06 || fn != sizeof oid_san ||
		    memcmp(f, oid_san, fn))
			continue;
		ext += ft, en -= ft;
		if (!der_tlv(ext, en, &tag, &f, &fn, &ft) && tag == 0x01) /* critical flag */
			ext += ft, en -= ft;
		if (der_tlv(ext, en, &tag, &f, &fn, &ft) || tag != 0x04 || der_tlv(f, fn, &tag, &f, &fn, &ft) ||
		    tag != 0x30)
			return 0;
		for (; fn; f += ft, fn -= ft) {
			const unsigned char *g;
			size_t gn;
			if (der_tlv(f, fn, &tag, &g, &gn, &ft))
				return 0;
			if (tag == 0x87 && gn == iplen && !memcmp(g, ip, iplen)) /* [7] iPAddress */
				return 1;
		}
		return 0;
	}
	return 0;
}

#define IPC(ctx) ((struct ipcheck *)(void *)(ctx))

static void
ipc_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct ipcheck *c = IPC(ctx);

	c->depth = 0;
	c->toobig = 0;
	buf_reset(&c->leaf);
	c->inner->vtable->start_chain(&c->inner->vtable, NULL);
}

static void
ipc_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct ipcheck *c = IPC(ctx);

	if (c->depth == 0 && length > 65536)
		c->toobig = 1;
	c->inner->vtable->start_cert(&c->inner->vtable, length);
}

static void
ipc_append(const br_x509_class **ctx, const unsigned char *p, size_t n)
{
	struct ipcheck *c = IPC(ctx);

	if (c->depth == 0 && !c->toobig && c->leaf.len + n <= 65536)
		buf_add(&c->leaf, p, n);
	c->inner->vtable->append(&c->inner->vtable, p, n);
}

static void
ipc_end_cert(const br_x509_class **ctx)
{
	struct ipcheck *c = IPC(ctx);

	c->depth++;
	c->inner->vtable->end_cert(&c->inner->vtable);
}

static unsigned
ipc_end_chain(const br_x509_class **ctx)
{
	struct ipcheck *c = IPC(ctx);
	unsigned r = c->inner->vtable->end_chain(&c->inner->vtable);

	if (r == 0 && (c->toobig || !san_has_ip((unsigned char *)c->leaf.p, c->leaf.len, c->ip, c->iplen)))
		r = BR_ERR_X509_BAD_SERVER_NAME;
	buf_free(&c->leaf);
	return r;
}

static const br_x509_pkey *
ipc_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	const struct ipcheck *c = (const struct ipcheck *)(const void *)ctx;

	return c->inner->vtable->get_pkey(&c->inner->vtable, usages);
}

static const br_x509_class ipcheck_vtable = {
	sizeof(struct ipcheck), ipc_start_chain, ipc_start_cert, ipc_append, ipc_end_cert, ipc_end_chain, ipc_get_pkey,
};

int
tls_ipcheck_init(struct ipcheck *c, br_x509_minimal_context *inner, const char *host)
{
	if (inet_pton(AF_INET, host, c->ip) == 1)
		c->iplen = 4;
	else if (inet_pton(AF_INET6, host, c->ip) == 1)
		c->iplen = 16;
	else
		return 0;
	c->vtable = &ipcheck_vtable;
	c->inner = inner;
	return 1;
}
