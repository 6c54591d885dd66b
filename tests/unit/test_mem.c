/* test_mem.c — buffers and slices. */
#include "unit.h"

TEST(mem_buf_grows_and_terminates)
{
	struct buf b = {0};

	for (int i = 0; i < 10000; i++)
		buf_printf(&b, "%d,", i);
	CHECK(b.len > 40000);
	CHECK_INT(strlen(b.p), b.len);
	CHECK(!strncmp(b.p, "0,1,2,", 6));
	buf_reset(&b);
	CHECK_STR(b.p, "");
	buf_add(&b, "a\0b", 3);
	CHECK_INT(b.len, 3);
	char *s = buf_take(&b);
	CHECK(b.p == NULL && b.len == 0);
	CHECK(!memcmp(s, "a\0b", 4));
	free(s);
	buf_free(&b);
}

TEST(mem_slices)
{
	struct slice s = {"  Hello\t", 8};

	CHECK(slice_eq(slice_trim(s), "Hello"));
	CHECK(slice_ieq(slice_trim(s), "hELLO"));
	CHECK(!slice_eq(slice_trim(s), "Hell"));
	char *d = slice_dup(slice_trim(s));
	CHECK_STR(d, "Hello");
	free(d);
}
