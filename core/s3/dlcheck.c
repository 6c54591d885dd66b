/* dlcheck.c — what a download can check against what S3 stored, and the checks: a full-object
 * CRC combined across the pieces, a composite checksum part by part, or an MD5 (a single-part
 * object's ETag) in write order or read back from the file.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html */
#include "dl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* A part against the checksum S3 sent with it (composite checksums): checked as soon as it is
 * in, so that a bad part never reaches a stream's reader. */
int
dl_part_check(struct dl *d, int i, struct err *e)
{
	char got[96];

	if (d->verify != V_COMPOSITE || !d->pc[i].ck[0])
		return 0;
	s3_sum_b64(&d->pc[i].sum, got);
	if (strcmp(got, d->pc[i].ck))
		return err_set(e, E_IO, "checksum mismatch in part %d: %s %s, S3 has %s", i + 1, s3_ck_name(d->ck), got,
			       d->pc[i].ck);
	return 0;
}

/* What can be checked, and how the object is to be fetched. */
void
dl_plan(struct xfer *x, struct dl *d, int ck_wanted)
{
	const struct s3obj *o = d->o;

	d->verify = V_NONE;
	d->ck = o->ck;
	if (ck_wanted == S3_CK_NONE)
		return;
	if (o->ck && !o->ck_composite)
		d->verify = s3_ck_is_crc(o->ck) ? V_CRC : V_SEQ;
	else if (o->ck && o->ck_composite && o->ck_parts > 0)
		d->verify = V_COMPOSITE;
	else if (!o->ck && !o->mp_parts && !o->kms && strlen(o->etag) == 34 && o->etag[0] == '"') {
		d->verify = V_SEQ; /* a single-part object's ETag is the MD5 of its data */
		d->ck = S3_CK_MD5;
	}
	if (d->verify == V_COMPOSITE) {
		/* Per-part GETs: each answer carries its part's checksum. S3-compatible servers that
		 * ignore partNumber cannot be checked this way. */
		struct s3obj p1 = {0};
		struct err e = {0};
		int ok = !s3_head(x->a, d->bucket, d->key, 1, &p1, &e) && p1.status == 206 &&
			 p1.parts_count == o->ck_parts && p1.size > 0 && (d->seekable || p1.size <= d->cap);
		d->p1 = p1.size;
		s3obj_free(&p1);
		if (!ok) {
			dbg("composite checksum of %d parts not verifiable (%s)", o->ck_parts,
			    e.kind ? e.msg : "the server does not serve parts, or they are too large for ordered output");
			d->verify = V_NONE;
		}
	}
	if (d->verify == V_COMPOSITE) {
		d->parts = 1;
		d->n = o->ck_parts;
	}
	/* For the caller to say, not only trace: what cannot be checked must not pass for checked. */
	if (d->verify == V_NONE && o->size)
		snprintf(x->unverified, sizeof x->unverified, "S3 has no checksum of this object that can be checked%s",
			 o->ck ? " here (its parts' checksums are not served)" : o->mp_parts ?
			 " (a multipart ETag is not an MD5)" : o->kms ? " (an SSE-KMS ETag is not an MD5)" : "");
}

/* Reads the finished file back for a digest that cannot be computed in pieces. */
static int
seq_file(struct xfer *x, struct dl *d, struct s3_sum *s, struct err *e)
{
	char *b = xmalloc(1 << 20);
	int64_t off = 0;
	int rc = 0;

	while (off < d->o->size && !rc) {
		ssize_t k = pread(d->fd, b, 1 << 20, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			rc = err_set(e, E_IO, "reading back the download: %s", k < 0 ? strerror(errno) : "short file");
		else
			s3_sum_update(s, b, (size_t)k), off += k;
		if (xfer_stopped(x))
			rc = err_set(e, E_IO, "interrupted");
	}
	free(b);
	return rc;
}

int
dl_verify(struct xfer *x, struct dl *d, struct err *e)
{
	char got[96], want[100];
	struct s3_sum s;

	snprintf(want, sizeof want, "%s", d->o->ckval);
	if (d->verify == V_NONE)
		return 0;
	if (d->verify == V_CRC) {
		uint64_t crc = d->pc[0].sum.crc;
		for (int i = 1; i < d->n; i++)
			crc = s3_crc_combine(d->ck, crc, d->pc[i].sum.crc, (uint64_t)d->pc[i].len);
		s3_crc_b64(d->ck, crc, got);
	} else if (d->verify == V_COMPOSITE) {
		int64_t off = 0;
		for (int i = 0; i < d->n; i++) {
			if (!d->pc[i].ck[0]) {
				snprintf(x->unverified, sizeof x->unverified, "part %d came without its own %s checksum",
					 i + 1, s3_ck_name(d->ck));
				return 0;
			}
		}
		s3_sum_init(&s, d->ck);
		for (int i = 0; i < d->n; i++) {
			unsigned char raw[64];
			if (d->pc[i].off != off)
				return err_set(e, E_PROTO, "part %d starts at byte %lld, not %lld", i + 1,
					       (long long)d->pc[i].off, (long long)off);
			off += d->pc[i].len;
			if (dl_part_check(d, i, e))
				return -1;
			size_t rn = s3_sum_raw(&d->pc[i].sum, raw);
			s3_sum_update(&s, raw, rn);
		}
		if (off != d->o->size)
			return err_set(e, E_PROTO, "the parts hold %lld bytes, not %lld", (long long)off, (long long)d->o->size);
		s3_sum_b64(&s, got);
	} else {
		struct s3_sum *fin = &d->seq;
		if (d->n == 1) {
			fin = &d->pc[0].sum;
		} else if (d->seekable) {
			s3_sum_init(&s, d->ck);
			if (seq_file(x, d, &s, e))
				return -1;
			fin = &s;
		}
		s3_sum_b64(fin, got);
		if (d->ck == S3_CK_MD5) { /* the ETag is the hex digest between quotes */
			unsigned char raw[64];
			s3_sum_raw(fin, raw);
			hex_encode(raw, 16, got);
			snprintf(want, sizeof want, "%.32s", d->o->etag + 1);
		}
	}
	if (strcasecmp(got, want))
		return err_set(e, E_IO, "checksum mismatch: the data's %s%s is %s, S3 has %s",
			       d->verify == V_COMPOSITE ? "composite " : "", s3_ck_name(d->ck), got, want);
	snprintf(x->verified, sizeof x->verified, "%s%s", d->verify == V_COMPOSITE ? "composite " : "", s3_ck_name(d->ck));
	dbg("verified: %s %s", x->verified, got);
	return 0;
}
