/* imds.c — the EC2 instance metadata client: IMDSv2 session token (PUT, TTL 21600 s, cached for
 * the process), IMDSv1 fallback where allowed, the endpoint and mode settings. One client for the
 * credential chain, the region lookup and the imds applet.
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-imds-client.html */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMDS_TTL 21600

/* true if env (else config key cfg, when given) says "true", as botocore reads these flags */
static int
flag(struct aws *a, const char *env, const char *cfg)
{
	const char *v = getenv(env);

	if (!v || !*v)
		v = cfg ? aws_config(a, cfg) : NULL;
	return v && !strcasecmp(v, "true");
}

int
imds_disabled(struct aws *a)
{
	return flag(a, "AWS_EC2_METADATA_DISABLED", NULL);
}

int
imds_endpoint(struct aws *a, struct url *u, struct err *e)
{
	const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");

	if (!ep || !*ep)
		ep = aws_config(a, "ec2_metadata_service_endpoint");
	if (!mode || !*mode)
		mode = aws_config(a, "ec2_metadata_service_endpoint_mode");
	if (mode && *mode && strcasecmp(mode, "ipv4") && strcasecmp(mode, "ipv6"))
		return err_set(e, E_USAGE, "instance metadata: endpoint mode '%s' is not IPv4 or IPv6", mode);
	if (!ep || !*ep)
		ep = mode && !strcasecmp(mode, "ipv6") ? "http://[fd00:ec2::254]" : "http://169.254.169.254";
	return url_parse(ep, u, e);
}

static int
timeout_ms(struct aws *a)
{
	const char *v = getenv("AWS_METADATA_SERVICE_TIMEOUT");
	double s;

	if (!v || !*v)
		v = aws_config(a, "metadata_service_timeout");
	return v && !parse_duration(v, &s) && s > 0 && s < 600 ? (int)(s * 1000) : 1000;
}

/* A new token into a->imds_token, or none (IMDSv1) where that is allowed. */
static int
token(struct aws *a, const struct url *u, int tmo, int v1_ok, struct err *e)
{
	static const struct kv th[] = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
	struct http_resp r = {0};
	struct buf tok = {0};
	int rc = -1;

	free(a->imds_token);
	a->imds_token = NULL;
	if (http_small(&a->pool, "PUT", u, "/latest/api/token", th, 1, tmo, &tok, &r, e)) {
		/* Nothing listening, or no route: there is no metadata service here. A read timeout
		 * can be a hop limit of 1 dropping the token response in a container: IMDSv1 may
		 * still answer. */
		if (e->kind != E_TIMEOUT || !e->sent || !v1_ok) {
			a->imds_state = -1;
			goto done;
		}
	} else if (r.status == 200 && tok.len && tok.len < 512 && !memchr(tok.p, '\n', tok.len)) {
		a->imds_token = xstrdup(tok.p);
	} else if (r.status == 400) {
		err_set(e, E_NOCREDS, "token request refused (HTTP 400)");
		goto done;
	} else if (!v1_ok) {
		err_set(e, E_NOCREDS, "no IMDSv2 token (HTTP %d) and IMDSv1 is disabled", r.status);
		goto done;
	}
	/* Without a token (IMDSv1) the next GETs do not ask again, as botocore's fetcher does not:
	 * with a hop limit of 1 every ask costs a timeout. A 401 asks again. */
	a->imds_token_expires = mono_now() + IMDS_TTL - 60;
	rc = 0;
done:
	http_resp_free(&r);
	if (tok.p)
		memzero(tok.p, tok.len);
	buf_free(&tok);
	return rc;
}

int
imds_get(struct aws *a, const char *path, struct buf *out, struct err *e)
{
	struct http_resp r = {0};
	struct url u;
	int tmo = timeout_ms(a), v1_ok = !flag(a, "AWS_EC2_METADATA_V1_DISABLED", "ec2_metadata_v1_disabled");
	int rc = -1;

	if (imds_disabled(a))
		return err_set(e, E_USAGE, "instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
	if (a->imds_state < 0)
		return err_set(e, E_NET, "instance metadata: not reachable");
	if (imds_endpoint(a, &u, e))
		return -1;
	pthread_mutex_lock(&a->imds_lock);
	for (int pass = 0; pass < 2; pass++) {
		if (mono_now() > a->imds_token_expires && token(a, &u, tmo, v1_ok, e))
			goto fail;
		struct kv gh[] = {{"X-aws-ec2-metadata-token", a->imds_token}};
		if (http_small(&a->pool, "GET", &u, path, gh, a->imds_token ? 1 : 0, tmo, out, &r, e)) {
			if (e->kind == E_TIMEOUT || e->kind == E_NET)
				a->imds_state = -1;
			goto fail;
		}
		if (r.status == 401 && pass == 0) { /* token expired, or IMDSv1 turned off: a new one */
			a->imds_token_expires = 0;
			http_resp_free(&r);
			memset(&r, 0, sizeof r);
			continue;
		}
		break;
	}
	a->imds_state = 1;
	if (r.status == 200) {
		rc = 0;
		goto done;
	}
	if (r.status == 404) {
		err_set(e, E_NOTFOUND, "%s: not found", path);
	} else if (r.status == 403) { /* what an instance answers with its metadata endpoint turned off */
		a->imds_state = 2;
		err_set(e, E_NOCREDS, "turned off on this instance (HTTP 403)");
	} else if (r.status == 401) {
		err_set(e, E_NOCREDS, "%s: token refused (HTTP 401)", path);
	} else {
		err_set(e, E_PROTO, "%s: HTTP %d", path, r.status);
	}
	e->status = r.status;
fail:
	err_prefix(e, 0, "instance metadata");
done:
	pthread_mutex_unlock(&a->imds_lock);
	http_resp_free(&r);
	return rc;
}

int
imds_wait(struct aws *a, double deadline, struct err *e)
{
	struct buf out = {0};
	int rc;

	for (;;) {
		a->imds_state = 0; /* unreachable a moment ago says nothing about now */
		rc = imds_get(a, "/latest/meta-data/", &out, e);
		if (!rc || (e->kind != E_NET && e->kind != E_TIMEOUT))
			break;
		double left = deadline - mono_now();
		if (left <= 0) {
			err_set(e, E_TIMEOUT, "instance metadata: no answer before the deadline");
			break;
		}
		sleep_sec(left < 1 ? left : 1);
	}
	buf_free(&out);
	return rc;
}
