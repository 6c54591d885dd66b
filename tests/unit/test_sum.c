/* test_sum.c — checksums against their standard check values, and hardware against software. */
#include "unit.h"

TEST(sum_check_values)
{
	char h[65];

	CHECK_INT(crc32c_update(0, "123456789", 9), 0xE3069283u);
	CHECK_INT(crc32_update(0, "123456789", 9), 0xCBF43926u);
	/* Incremental equals one-shot, at every split point of an unaligned buffer. */
	unsigned char big[1000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (unsigned char)(i * 131 + 7);
	uint32_t whole = crc32c_update(0, big + 1, sizeof big - 1);
	for (size_t k = 0; k < sizeof big - 1; k += 37)
		CHECK_INT(crc32c_update(crc32c_update(0, big + 1, k), big + 1 + k, sizeof big - 1 - k), whole);
	sha256_hex("abc", 3, h);
	CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("", 0, h);
	CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	unsigned char mac[32];
	/* RFC 4231 test case 2 */
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	hex_encode(mac, 32, h);
	CHECK_STR(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
