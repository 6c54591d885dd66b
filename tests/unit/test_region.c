/* test_region.c — the known regions and the nearest one to a typo (and str_distance, mem.c). */
#include "unit.h"

TEST(region_known_and_nearest)
{
	CHECK(region_known("eu-west-1") && region_known("us-gov-west-1") && region_known("cn-northwest-1"));
	CHECK(!region_known("eu-wset-1") && !region_known("") && !region_known("eu-west-1 "));
	CHECK_STR(region_nearest("eu-wset-1"), "eu-west-1");
	CHECK_STR(region_nearest("us-est-1"), "us-east-1");
	CHECK_STR(region_nearest("ap-southeast1"), "ap-southeast-1");
	CHECK(region_nearest("mars-north-9") == NULL);
}

TEST(str_distance_counts_edits)
{
	CHECK_INT(str_distance("", ""), 0);
	CHECK_INT(str_distance("s3cp", "s3cp"), 0);
	CHECK_INT(str_distance("s3pc", "s3cp"), 2);
	CHECK_INT(str_distance("ssmgte", "ssmget"), 2);
	CHECK_INT(str_distance("imd", "imds"), 1);
	CHECK_INT(str_distance("kitten", "sitting"), 3);
	CHECK_INT(str_distance("", "abc"), 3);
}
