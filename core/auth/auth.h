/* auth.h — the auth layer of core: credentials: the provider chain, SSO, instance metadata, the region (ARCHITECTURE.md). */
#ifndef AWSBOX_AUTH_H
#define AWSBOX_AUTH_H
#include "req/req.h"

/* ---- creds.c: the credential provider chain (botocore's order) ------------------------- */
/* Resolves credentials for a (profile, environment), fills c. Names the providers tried
 * in e when none has credentials (E_NOCREDS). Called without a->lock: it makes network calls
 * (STS through aws_send, container and instance metadata); aws_creds (call.c) caches the result. */
int creds_resolve(struct aws *a, struct creds *c, struct err *e);
/* sso.c: credentials of an SSO profile (sso_session or the legacy sso_start_url keys): 0, -1
 * (an expired or missing token is E_NOCREDS saying to run aws sso login), 1 not an SSO profile. */
int sso_creds(struct aws *a, const char *profile, struct creds *c, struct err *e);
void creds_copy(struct creds *dst, const struct creds *src);

/* ---- imds.c: the EC2 instance metadata client ------------------------------------------ */
/* GET an instance-metadata path ("/latest/meta-data/placement/region") with IMDSv2: one token
 * per process (TTL 21600 s, renewed on 401), IMDSv1 without a token only when the token PUT
 * times out after sending or is refused otherwise than with 400, and AWS_EC2_METADATA_V1_DISABLED
 * (ec2_metadata_v1_disabled) is not set. Endpoint: AWS_EC2_METADATA_SERVICE_ENDPOINT[_MODE] or the
 * profile's ec2_metadata_service_endpoint[_mode]; timeouts AWS_METADATA_SERVICE_TIMEOUT (1 s).
 * out receives the body. Errors (e->msg starts "instance metadata: "): E_USAGE disabled
 * (AWS_EC2_METADATA_DISABLED) or a bad setting; E_NET/E_TIMEOUT no service (remembered in
 * a->imds_state: later calls fail at once); E_NOTFOUND 404; E_NOCREDS token refused, IMDSv1 needed
 * but disabled, or 403 (turned off; imds_state 2); E_PROTO another status. Takes a->imds_lock
 * (one token for the process, as the SDKs' token providers fetch it). */
int imds_get(struct aws *a, const char *path, struct buf *out, struct err *e);
/* Asks until the service answers or mono_now() passes deadline (then E_TIMEOUT); a service that
 * answers with an error ends the wait with that error. */
int imds_wait(struct aws *a, double deadline, struct err *e);
/* AWS_EC2_METADATA_DISABLED=true */
int imds_disabled(struct aws *a);
/* The service's URL from the settings above. */
int imds_endpoint(struct aws *a, struct url *u, struct err *e);

/* ---- region.c ----------------------------------------------------------------------------- */
/* The region: --region, AWS_REGION, AWS_DEFAULT_REGION, profile, instance metadata (asked once;
 * NULL with e when there is none). The string lives as long as a. */
const char *aws_region(struct aws *a, struct err *e);

#endif
