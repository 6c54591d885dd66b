/* region.c — the region: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's region, then
 * the instance's (instance metadata). https://docs.aws.amazon.com/sdkref/latest/guide/feature-region.html */
#include "auth.h"

#include <stdlib.h>

/* The lock is not held while instance metadata is asked: two threads asking at once both ask. */
const char *
aws_region(struct aws *a, struct err *e)
{
	const char *v;
	char *found = NULL;
	struct buf out = {0};

	pthread_mutex_lock(&a->lock);
	v = a->region;
	pthread_mutex_unlock(&a->lock);
	if (v)
		return v;
	if (((v = getenv("AWS_REGION")) && *v) || ((v = getenv("AWS_DEFAULT_REGION")) && *v) ||
	    (v = aws_config(a, "region"))) {
		found = xstrdup(v);
	} else if (!imds_get(a, "/latest/meta-data/placement/region", &out, e) && out.len && out.len < 64) {
		found = xstrdup(out.p);
		dbg("region %s from instance metadata", found);
	}
	buf_free(&out);
	pthread_mutex_lock(&a->lock);
	if (!a->region) {
		a->region = found;
		found = NULL;
	}
	v = a->region;
	pthread_mutex_unlock(&a->lock);
	free(found);
	if (!v)
		err_set(e, E_USAGE, "no region: use --region, AWS_REGION or a profile's region");
	return v;
}
