/* fuzz_sqs.c — libFuzzer target for sqs.c's readers of what anyone who may send to a queue
 * controls: s3_events_parse on a message body, and sqs_batch_parse on a *Batch response.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct s3_events ev;
	struct sqs_result res[3];
	struct err e = {0};
	static const char *const ids[] = {"0", "1", "12"};

	if (!s3_events_parse(p, size, &ev)) {
		/* a test event has no records; anything else has some, each with a bucket */
		FUZZ_CHECK(ev.test ? ev.n == 0 : ev.n >= 1);
		for (int i = 0; i < ev.n; i++) {
			FUZZ_CHECK(ev.rec[i].bucket && ev.rec[i].key && ev.rec[i].event);
			FUZZ_CHECK(ev.rec[i].key_len <= size); /* decoding never lengthens a key */
			FUZZ_CHECK(ev.rec[i].key[ev.rec[i].key_len] == 0);
		}
		s3_events_free(&ev);
	}
	FUZZ_CHECK(ev.rec == NULL && ev.n == 0); /* freed, or never filled */
	if (!sqs_batch_parse(p, size, ids, 3, res, &e))
		for (int i = 0; i < 3; i++)
			FUZZ_CHECK(res[i].state >= SQS_OK && res[i].state <= SQS_MISSING);
	else
		FUZZ_CHECK(e.kind == E_PROTO);
	return 0;
}
