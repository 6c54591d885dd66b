/* call.c — one AWS call as applets make it: the endpoint for the context's region, the context's
 * credentials (cached, refreshed before they expire by one thread while the others wait), then
 * aws_send; and the JSON and query protocols' POSTs. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* With a->lock held: runs the credential chain in one thread at a time, without the lock (it may
 * make network calls: STS, container and instance metadata); a thread that finds a refresh under
 * way waits for its result. 0, or -1 with e (the refresh's error). */
static int
creds_refresh_locked(struct aws *a, struct err *e)
{
	struct creds fresh = {0};
	struct err re = {0};
	int rc;

	if (a->refreshing) {
		unsigned gen = a->creds_gen;
		while (a->creds_gen == gen)
			pthread_cond_wait(&a->creds_cv, &a->lock);
		if (a->creds_failed)
			return *e = a->creds_err, -1;
		return 0;
	}
	a->refreshing = 1;
	pthread_mutex_unlock(&a->lock);
	rc = creds_resolve(a, &fresh, &re);
	pthread_mutex_lock(&a->lock);
	a->refreshing = 0;
	a->creds_gen++;
	a->creds_failed = rc != 0;
	a->creds_err = re;
	if (rc) {
		*e = re;
	} else {
		creds_free(&a->creds);
		a->creds = fresh;
		a->have_creds = 1;
		dbg("credentials from %s", a->creds.source);
	}
	pthread_cond_broadcast(&a->creds_cv);
	return rc;
}

int
aws_creds(struct aws *a, struct creds *c, struct err *e)
{
	int rc = 0;

	pthread_mutex_lock(&a->lock);
	/* Expiry times are the issuer's clock: compare them with ours corrected as for signing. */
	time_t now = clock_now() + a->clock_offset;
	/* Refresh 15 minutes before expiry, as the SDKs do; keep the old ones if a refresh fails
	 * (or, in another thread, is still under way) while they have a few minutes left. */
	if (!a->have_creds || (a->creds.expires && a->creds.expires - now < 15 * 60)) {
		int usable = a->have_creds && (!a->creds.expires || a->creds.expires - now >= 5 * 60);
		if (!(usable && a->refreshing) && creds_refresh_locked(a, e)) {
			if (!usable) {
				rc = -1;
				goto done;
			}
			dbg("credential refresh failed (%s); the current ones are valid until %lld", e->msg,
			    (long long)a->creds.expires);
		}
		now = clock_now() + a->clock_offset;
	}
	if (a->creds.expires && a->creds.expires <= now) { /* as botocore: "still expired" is an error */
		char when[21];
		time_iso8601(a->creds.expires, when);
		rc = err_set(e, E_NOCREDS, "the credentials from %s expired at %s", a->creds.source, when);
		goto done;
	}
	creds_copy(c, &a->creds);
done:
	pthread_mutex_unlock(&a->lock);
	return rc;
}

int
aws_endpoint(struct aws *a, const struct svc *svc, const char *bucket, int use_flag, struct endpoint *ep, struct err *e)
{
	struct err re = {0};
	const char *region = aws_region(a, &re);

	/* STS has a global endpoint; everything else needs a region. */
	if (!region && svc != &SVC_STS)
		return *e = re, -1;
	return endpoint_resolve(a, svc, region, bucket, use_flag, ep, e);
}

int
aws_call(struct aws *a, const struct aws_req *q, struct http_resp *r, struct err *e)
{
	struct endpoint ep;
	struct aws_send k;
	int rc;

	memset(r, 0, sizeof *r);
	if (q->region ? endpoint_resolve(a, q->svc, q->region, q->bucket, 1, &ep, e)
		      : aws_endpoint(a, q->svc, q->bucket, 1, &ep, e))
		return -1;
	/* Each attempt is signed with the credentials of its time (refreshed when they near expiry). */
	rc = aws_send_begin(&k, a, q, &ep, r, e);
	for (int again = !rc; again;) {
		struct creds c = {0};
		if (aws_send_ready(&k, e) || aws_creds(a, &c, e))
			rc = -1, again = 0;
		else
			rc = aws_send_try(&k, &c, e), again = rc == 1;
		creds_free(&c);
	}
	aws_send_end(&k);
	return rc;
}

/* A POST of body to "/" for the JSON and query protocols; tmpl supplies the caller's flags. */
static int
post(struct aws *a, const struct svc *svc, const char *op, const char *target, const char *body, size_t n,
     const struct aws_req *tmpl, struct buf *out, struct err *e)
{
	struct http_body b = {body, (int64_t)n, NULL, NULL, NULL};
	struct aws_req q = {0};
	struct http_resp r;
	int rc;

	if (tmpl)
		q = *tmpl;
	q.svc = svc;
	q.method = "POST";
	q.path = "/";
	q.body = &b;
	q.target = target;
	q.out = out;
	q.op = op;
	rc = aws_call(a, &q, &r, e);
	http_resp_free(&r);
	return rc;
}

int
aws_json_req(struct aws *a, const struct svc *svc, const char *op, const char *body, const struct aws_req *tmpl,
	     struct buf *out, struct err *e)
{
	return post(a, svc, op, op, body, strlen(body), tmpl, out, e);
}

int
aws_json(struct aws *a, const struct svc *svc, const char *op, const char *body, struct buf *out, struct err *e)
{
	return aws_json_req(a, svc, op, body, NULL, out, e);
}

int
aws_query(struct aws *a, const struct svc *svc, const char *action, const struct kv *params, int n,
	  const struct aws_req *tmpl, struct buf *out, struct err *e)
{
	struct buf form = {0};
	int rc;

	aws_query_form(svc, action, params, n, &form);
	rc = post(a, svc, action, tmpl ? tmpl->target : NULL, form.p, form.len, tmpl, out, e);
	buf_free(&form);
	return rc;
}
