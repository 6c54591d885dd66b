/* region.c — the regions AWS has, to tell a typo from a network failure when an endpoint's
 * name does not resolve. A region missing here is still used as given (new regions work); only
 * the wording of a failed name lookup depends on this list.
 * https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html */
#include "core.h"

#include <string.h>

static const char *const regions[] = {
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1",
	"eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
	"il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2",
	"us-west-1", "us-west-2", "cn-north-1", "cn-northwest-1", "us-gov-east-1", "us-gov-west-1",
	"eusc-de-east-1",
};

int
region_known(const char *r)
{
	for (size_t i = 0; i < COUNT(regions); i++)
		if (!strcmp(regions[i], r))
			return 1;
	return 0;
}

const char *
region_nearest(const char *r)
{
	const char *best = NULL;
	size_t bd = 4;

	for (size_t i = 0; i < COUNT(regions); i++) {
		size_t d = str_distance(r, regions[i]);
		if (d < bd)
			bd = d, best = regions[i];
	}
	return best;
}
