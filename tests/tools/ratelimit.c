/* ratelimit.c — test tool: adaptive retry mode's rate limiter (retry.c) driven by a script, for
 * the comparison with botocore's in test_retry_adaptive.py.
 * stdin, one event a line: "TIME send" (prints "wait W": 0 when a token was taken, else the
 * seconds to wait), "TIME ok" or "TIME throttle" (an answer; prints "rate R enabled E measured M
 * capacity C" after it). TIME is seconds on the limiter's clock; the first line's starts it. */
#include "core.h"

#include <stdio.h>
#include <string.h>

int
main(void)
{
	struct ratelimit r;
	char line[128], ev[32];
	double t;
	int started = 0;

	while (fgets(line, sizeof line, stdin)) {
		if (sscanf(line, "%lf %31s", &t, ev) != 2)
			continue;
		if (!started++)
			ratelimit_init(&r, t);
		if (!strcmp(ev, "send"))
			printf("wait %.9f\n", ratelimit_acquire(&r, t));
		else if (!strcmp(ev, "init"))
			continue;
		else
			ratelimit_record(&r, t, !strcmp(ev, "throttle"));
		if (strcmp(ev, "send"))
			printf("rate %.9f enabled %d measured %.9f capacity %.9f\n", r.fill_rate, r.enabled, r.measured,
			       r.capacity);
	}
	return 0;
}
