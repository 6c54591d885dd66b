/* tls.c — TLS 1.2 client on BearSSL 0.6 (RFC 5246, SNI RFC 6066, names RFC 6125), always verified:
 * the engine's set-up, the handshake and the record I/O under http.c (what it trusts: tlstrust.c). */
#include "tlstrust.h"
#include "base/cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ---- the connection ---- */

/* BearSSL takes a record's 5-byte header, then its body: two recv calls for each 16 KiB record
 * when read straight into its buffer. Through this much read-ahead one recv brings several
 * records (at 64 KiB, 8x fewer calls: fewer entries into the kernel and fewer window updates). */
#define TLS_READ_AHEAD 65536

struct tls {
	br_ssl_client_context sc;
	br_x509_minimal_context xc;
	struct ipcheck ipc;
	int handshaking;
	int ioerr; /* the socket failed: the engine cannot go on */
	char name[256]; /* the host name or address verified */
	unsigned char iobuf[BR_SSL_BUFSIZE_BIDI]; /* full-size records both ways: no renegotiated sizes */
	size_t ra_pos, ra_len;  /* unread bytes from the socket in ra[ra_pos..ra_len) */
	unsigned char ra[TLS_READ_AHEAD];
};

/* The suites offered: TLS 1.2 with ECDHE (forward secrecy) and AEAD only. AES-GCM first
 * where the CPU has AES and carry-less multiply instructions (cpu.c), else ChaCha20. */
static const uint16_t suites_aesni[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};
static const uint16_t suites_soft[] = {
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};

static const char *
suite_name(unsigned s)
{
	switch (s) {
	case BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: return "ECDHE-ECDSA-AES128-GCM-SHA256";
	case BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: return "ECDHE-RSA-AES128-GCM-SHA256";
	case BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: return "ECDHE-ECDSA-AES256-GCM-SHA384";
	case BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: return "ECDHE-RSA-AES256-GCM-SHA384";
	case BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: return "ECDHE-ECDSA-CHACHA20-POLY1305";
	case BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: return "ECDHE-RSA-CHACHA20-POLY1305";
	}
	return "?";
}

/* The GHASH under AES-GCM: awsbox's own carry-less multiply where the CPU has it (ghash.c on
 * x86-64: eight blocks per reduction, twice BearSSL's speed, which made it costlier than AES
 * itself, or 32 on 512-bit VPCLMULQDQ where AVX-512 has it, three times that; cpu.c on
 * arm64: PMULL), else BearSSL's choice. Every architecture's implementation is chosen here; each
 * returns NULL on other CPUs. */
static ghash_fn
ghash_pick(void)
{
	ghash_fn g = ghash_x86_get();

	return g ? g : ghash_arm_get();
}

/* AES-CTR likewise: ours with VAES where x86-64 has it (aesctr.c: four blocks to an instruction
 * with AVX-512, two with AVX2), else BearSSL's AES-NI code, ours with the ARMv8 AES instructions (cpu.c; BearSSL
 * 0.6 has none), else BearSSL's constant-time portable code. */
static const br_block_ctr_class *
aes_ctr_pick(void)
{
	const br_block_ctr_class *c = aes_ctr_x86_get(0);

	c = c ? c : br_aes_x86ni_ctr_get_vtable();
	return c ? c : aes_ctr_arm_get();
}

/* What br_ssl_client_init_full does, cut to the suites above: no TLS 1.0/1.1, RSA key
 * exchange, CBC, CCM or 3DES code is linked in. */
static void
client_init(struct tls *t, const br_x509_trust_anchor *tas, size_t ntas)
{
	static const br_hash_class *const hashes[] = {
		&br_sha1_vtable, &br_sha224_vtable, &br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable,
	};
	br_ssl_engine_context *eng = &t->sc.eng;
	const br_block_ctr_class *ctr = aes_ctr_pick();
	ghash_fn gh = ghash_pick();
	int aesni = ctr && gh;

	br_ssl_client_zero(&t->sc);
	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	br_x509_minimal_init(&t->xc, &br_sha256_vtable, tas, ntas);
	if (aesni)
		br_ssl_engine_set_suites(eng, suites_aesni, COUNT(suites_aesni));
	else
		br_ssl_engine_set_suites(eng, suites_soft, COUNT(suites_soft));
	br_ssl_engine_set_default_rsavrfy(eng);
	br_ssl_engine_set_default_ecdsa(eng);
	br_x509_minimal_set_rsa(&t->xc, br_ssl_engine_get_rsavrfy(eng));
	br_x509_minimal_set_ecdsa(&t->xc, br_ssl_engine_get_ec(eng), br_ssl_engine_get_ecdsa(eng));
	/* SHA-1 stays for ServerKeyExchange signatures and old intermediates; never MD5. */
	for (size_t i = 0; i < COUNT(hashes); i++) {
		int id = (int)(i + br_sha1_ID);
		br_ssl_engine_set_hash(eng, id, hashes[i]);
		br_x509_minimal_set_hash(&t->xc, id, hashes[i]);
	}
	br_ssl_engine_set_x509(eng, &t->xc.vtable);
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_aes_gcm(eng);
	if (ctr)
		br_ssl_engine_set_aes_ctr(eng, ctr);
	if (gh)
		br_ssl_engine_set_ghash(eng, gh);
	br_ssl_engine_set_default_chapol(eng);
	br_ssl_engine_set_buffer(eng, t->iobuf, sizeof t->iobuf, 1);
}

static const char *
alert_name(int a)
{
	switch (a) {
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 40: return "handshake_failure";
	case 42: return "bad_certificate";
	case 43: return "unsupported_certificate";
	case 44: return "certificate_revoked";
	case 45: return "certificate_expired";
	case 46: return "certificate_unknown";
	case 47: return "illegal_parameter";
	case 48: return "unknown_ca";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 70: return "protocol_version";
	case 71: return "insufficient_security";
	case 80: return "internal_error";
	case 86: return "inappropriate_fallback";
	case 112: return "unrecognized_name";
	}
	return "alert";
}

/* A BearSSL error code as a reason a person can act on. */
static void
reason(int err, const char *host, char *out, size_t n)
{
	const char *s = NULL;

	switch (err) {
	case BR_ERR_X509_NOT_TRUSTED: s = "certificate is not trusted (unknown CA)"; break;
	case BR_ERR_X509_BAD_SERVER_NAME:
		snprintf(out, n, "certificate does not match host name %s", host);
		return;
	case BR_ERR_X509_EXPIRED: s = "certificate has expired or is not yet valid (check the system clock)"; break;
	case BR_ERR_X509_TIME_UNKNOWN: s = "cannot check certificate validity: no system time"; break;
	case BR_ERR_X509_NOT_CA: s = "certificate chain includes an issuer that is not a CA"; break;
	case BR_ERR_X509_BAD_SIGNATURE: s = "certificate signature does not verify"; break;
	case BR_ERR_X509_WEAK_PUBLIC_KEY: s = "certificate key is too weak"; break;
	case BR_ERR_X509_EMPTY_CHAIN: s = "server sent no certificate"; break;
	case BR_ERR_X509_DN_MISMATCH: s = "certificate chain is out of order (issuer name mismatch)"; break;
	case BR_ERR_X509_CRITICAL_EXTENSION: s = "certificate has an unsupported critical extension"; break;
	case BR_ERR_X509_FORBIDDEN_KEY_USAGE:
	case BR_ERR_X509_WRONG_KEY_TYPE:
	case BR_ERR_WRONG_KEY_USAGE: s = "certificate key usage does not allow TLS server use"; break;
	case BR_ERR_X509_UNSUPPORTED:
	case BR_ERR_X509_LIMIT_EXCEEDED: s = "certificate uses an unsupported algorithm or is too large"; break;
	case BR_ERR_UNSUPPORTED_VERSION:
	case BR_ERR_BAD_VERSION: s = "server does not speak TLS 1.2 (an old server, or not TLS at all)"; break;
	case BR_ERR_BAD_CIPHER_SUITE: s = "server chose a cipher suite we did not offer"; break;
	case BR_ERR_NO_RANDOM: s = "no random source for TLS"; break;
	case BR_ERR_BAD_MAC: s = "record integrity check failed (data corrupted in transit)"; break;
	case BR_ERR_BAD_SIGNATURE: s = "server key exchange signature does not verify"; break;
	case BR_ERR_TOO_LARGE:
	case BR_ERR_BAD_LENGTH:
	case BR_ERR_BAD_FRAGLEN: s = "malformed TLS record"; break;
	}
	if (s)
		snprintf(out, n, "%s", s);
	else if (err >= BR_ERR_SEND_FATAL_ALERT)
		snprintf(out, n, "handshake failure (we sent alert %d %s)", err - BR_ERR_SEND_FATAL_ALERT,
			 alert_name(err - BR_ERR_SEND_FATAL_ALERT));
	else if (err >= BR_ERR_RECV_FATAL_ALERT)
		snprintf(out, n, "server sent fatal alert %d (%s)", err - BR_ERR_RECV_FATAL_ALERT,
			 alert_name(err - BR_ERR_RECV_FATAL_ALERT));
	else if (err >= BR_ERR_X509_OK)
		snprintf(out, n, "certificate is malformed (BearSSL X.509 error %d)", err);
	else
		snprintf(out, n, "protocol error (BearSSL error %d)", err);
}

static int
tls_fail(struct conn *c, int err, struct err *e)
{
	char why[320];

	reason(err, c->tls->name, why, sizeof why);
	return err_set(e, E_TLS, "%s %s: %s", c->tls->handshaking ? "TLS handshake with" : "TLS error with", c->peer,
		       why);
}

/* Up to n bytes from the socket into p, through the read-ahead: 0 at EOF. */
static long
recv_ahead(struct conn *c, unsigned char *p, size_t n, struct err *e)
{
	struct tls *t = c->tls;

	if (t->ra_pos == t->ra_len) {
		long k = net_read(c, t->ra, sizeof t->ra, e);
		if (k <= 0)
			return k;
		t->ra_pos = 0;
		t->ra_len = (size_t)k;
	}
	if (n > t->ra_len - t->ra_pos)
		n = t->ra_len - t->ra_pos;
	memcpy(p, t->ra + t->ra_pos, n);
	t->ra_pos += n;
	return (long)n;
}

/* Runs the engine until its state has one of target's bits: 1 there, 0 the peer closed
 * (close_notify or EOF), -1 error. Record I/O takes precedence, as BearSSL requires. */
static int
pump(struct conn *c, unsigned target, struct err *e)
{
	br_ssl_engine_context *eng = &c->tls->sc.eng;

	for (;;) {
		unsigned st = br_ssl_engine_current_state(eng);
		unsigned char *b;
		size_t len;

		if (c->tls->ioerr)
			return err_set(e, E_NET, "connection to %s failed earlier", c->peer);
		if (st & BR_SSL_CLOSED) {
			int err = br_ssl_engine_last_error(eng);
			if (err != BR_ERR_OK)
				return tls_fail(c, err, e);
			c->eof = 1;
			return 0;
		}
		if (st & BR_SSL_SENDREC) {
			b = br_ssl_engine_sendrec_buf(eng, &len);
			if (net_write(c, b, len, e)) {
				c->tls->ioerr = 1;
				return -1;
			}
			br_ssl_engine_sendrec_ack(eng, len);
			continue;
		}
		if (st & target)
			return 1;
		if (st & BR_SSL_RECVREC) {
			b = br_ssl_engine_recvrec_buf(eng, &len);
			long k = recv_ahead(c, b, len, e);
			if (k < 0) {
				c->tls->ioerr = 1;
				return -1;
			}
			if (k == 0) {
				c->tls->ioerr = 1;
				if (c->tls->handshaking)
					return err_set(e, E_TLS, "TLS handshake with %s: the server closed the connection "
								 "(does it speak TLS 1.2?)", c->peer);
				/* EOF without close_notify: usual for HTTP servers; framing catches truncation. */
				return 0;
			}
			br_ssl_engine_recvrec_ack(eng, (size_t)k);
			continue;
		}
		if (!(st & BR_SSL_SENDAPP) || target != BR_SSL_RECVAPP)
			return err_set(e, E_TLS, "TLS error with %s: engine stuck (state %u)", c->peer, st);
		/* Waiting for data with a partial record buffered: send it to make room. */
		br_ssl_engine_flush(eng, 0);
	}
}

/* Sessions to resume (RFC 5246 7.3, by session ID: BearSSL has no tickets), one per connection
 * key (scheme, origin, proxy), in the pool: a host's connections after the first skip the
 * certificate chain and the key exchange, which the first one did and verified. */
#define TLS_SESSIONS 8
struct tls_session {
	char key[sizeof ((struct conn *)0)->key];
	br_ssl_session_parameters sp;
};

/* The session for key into *sp (session_id_len 0: none); with drop, it is forgotten instead. */
static void
session_get(struct http_pool *p, const char *key, br_ssl_session_parameters *sp, int drop)
{
	struct tls_session *s = p->sessions;

	memset(sp, 0, sizeof *sp);
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; s && i < TLS_SESSIONS; i++)
		if (s[i].sp.session_id_len && !strcmp(s[i].key, key)) {
			if (drop)
				memzero(&s[i], sizeof s[i]);
			else
				*sp = s[i].sp;
		}
	pthread_mutex_unlock(&p->lock);
}

static void
session_put(struct http_pool *p, const char *key, const br_ssl_session_parameters *sp)
{
	struct tls_session *s;
	unsigned i;

	pthread_mutex_lock(&p->lock);
	if (!p->sessions)
		p->sessions = xcalloc(TLS_SESSIONS, sizeof *s);
	s = p->sessions;
	for (i = 0; i < TLS_SESSIONS && strcmp(s[i].key, key); i++)
		;
	if (i == TLS_SESSIONS)
		i = p->nsessions++ % TLS_SESSIONS;
	snprintf(s[i].key, sizeof s[i].key, "%s", key);
	s[i].sp = *sp;
	pthread_mutex_unlock(&p->lock);
}

void
tls_sessions_free(struct http_pool *p)
{
	if (p->sessions)
		memzero(p->sessions, TLS_SESSIONS * sizeof(struct tls_session)); /* master secrets */
	free(p->sessions);
	p->sessions = NULL;
}

int
tls_connect(struct http_pool *p, struct conn *c, const char *host, struct err *e)
{
	struct tls *t;
	char *name;
	unsigned char seed[32];
	int ipl, rc, resumed;
	br_ssl_session_parameters old, sp;

	pthread_mutex_lock(&p->lock);
	rc = p->anchors_loaded ? 0 : tls_anchors_load(p, e);
	pthread_mutex_unlock(&p->lock);
	if (rc)
		return -1;
	t = xcalloc(1, sizeof *t);
	c->tls = t;
	client_init(t, p->anchors, p->nanchors);
	/* BearSSL seeds itself from RDRAND or /dev/urandom; getrandom() also works where
	 * there is no /dev at all (FROM scratch). */
	if (getrandom(seed, sizeof seed, 0) == (ssize_t)sizeof seed)
		br_ssl_engine_inject_entropy(&t->sc.eng, seed, sizeof seed);
	memzero(seed, sizeof seed);
	/* A fully-qualified "name." is verified and sent as "name". */
	name = t->name;
	snprintf(t->name, sizeof t->name, "%s", host);
	if (*name && name[strlen(name) - 1] == '.')
		name[strlen(name) - 1] = 0;
	ipl = tls_ipcheck_init(&t->ipc, &t->xc, name);
	if (ipl) /* No SNI for an address (RFC 6066 3); the SAN check replaces the name check. */
		br_ssl_engine_set_x509(&t->sc.eng, &t->ipc.vtable);
	t->handshaking = 1;
	session_get(p, c->key, &old, 0);
	if (old.session_id_len)
		br_ssl_engine_set_session_parameters(&t->sc.eng, &old);
	if (!br_ssl_client_reset(&t->sc, ipl ? NULL : name, old.session_id_len != 0)) {
		memzero(&old, sizeof old);
		return tls_fail(c, br_ssl_engine_last_error(&t->sc.eng), e);
	}
	if (pump(c, BR_SSL_SENDAPP, e) <= 0) {
		session_get(p, c->key, &old, 1); /* a retry starts afresh */
		memzero(&old, sizeof old);
		return -1;
	}
	t->handshaking = 0;
	br_ssl_engine_get_session_parameters(&t->sc.eng, &sp);
	/* The server echoing the ID offered is its agreeing to resume (RFC 5246 7.4.1.3). */
	resumed = old.session_id_len && sp.session_id_len == old.session_id_len &&
		  !memcmp(sp.session_id, old.session_id, sp.session_id_len);
	if (sp.session_id_len && !resumed)
		session_put(p, c->key, &sp);
	if (g_debug) {
		unsigned curve = t->sc.eng.ecdhe_curve;
		dbg("TLS 1.2 with %s: %s%s, %s%s", c->peer, suite_name(sp.cipher_suite), aes_ctr_pick() ? " (AES instructions)" : "",
		    resumed ? "session resumed" : "key exchange ", resumed ? "" : curve == BR_EC_curve25519 ? "X25519" :
		    curve == BR_EC_secp256r1 ? "P-256" : curve == BR_EC_secp384r1 ? "P-384" : curve == BR_EC_secp521r1 ? "P-521" : "?");
	}
	memzero(&old, sizeof old);
	memzero(&sp, sizeof sp);
	return 0;
}

long
tls_read(struct conn *c, void *p, size_t n, struct err *e)
{
	const unsigned char *b;
	long len = tls_peek(c, &b, e);

	if (len <= 0)
		return len;
	if ((size_t)len > n)
		len = (long)n;
	memcpy(p, b, (size_t)len);
	tls_ack(c, (size_t)len);
	return len;
}

long
tls_peek(struct conn *c, const unsigned char **p, struct err *e)
{
	size_t len;
	int r;

	if (c->eof)
		return 0;
	if ((r = pump(c, BR_SSL_RECVAPP, e)) <= 0)
		return r;
	*p = br_ssl_engine_recvapp_buf(&c->tls->sc.eng, &len);
	return (long)len;
}

void
tls_ack(struct conn *c, size_t n)
{
	br_ssl_engine_recvapp_ack(&c->tls->sc.eng, n);
}

long
tls_room(struct conn *c, unsigned char **p, struct err *e)
{
	size_t len;
	int r = pump(c, BR_SSL_SENDAPP, e);

	if (r < 0)
		return -1;
	if (r == 0)
		return err_set(e, E_NET, "write to %s: connection closed by the server", c->peer);
	*p = br_ssl_engine_sendapp_buf(&c->tls->sc.eng, &len);
	return (long)len;
}

void
tls_commit(struct conn *c, size_t n)
{
	br_ssl_engine_sendapp_ack(&c->tls->sc.eng, n);
}

int
tls_write(struct conn *c, const void *p, size_t n, struct err *e)
{
	const unsigned char *s = p;

	while (n) {
		unsigned char *b;
		long len = tls_room(c, &b, e);
		if (len < 0)
			return -1;
		if ((size_t)len > n)
			len = (long)n;
		memcpy(b, s, (size_t)len);
		tls_commit(c, (size_t)len);
		s += len;
		n -= (size_t)len;
	}
	return 0;
}

int
tls_flush(struct conn *c, struct err *e)
{
	br_ssl_engine_flush(&c->tls->sc.eng, 0);
	int r = pump(c, BR_SSL_SENDAPP, e);
	if (r == 0)
		return err_set(e, E_NET, "write to %s: connection closed by the server", c->peer);
	return r < 0 ? -1 : 0;
}

int
tls_pending(struct conn *c)
{
	return (br_ssl_engine_current_state(&c->tls->sc.eng) & BR_SSL_RECVAPP) || c->tls->ra_pos < c->tls->ra_len;
}

void
tls_free(struct conn *c)
{
	if (!c->tls)
		return;
	buf_free(&c->tls->ipc.leaf);
	/* The buffers held keys and plaintext. */
	memzero(c->tls, sizeof *c->tls);
	free(c->tls);
	c->tls = NULL;
}
