/* progress.c — a progress line on stderr while a transfer runs (s3cp --progress): the name,
 * percent, bytes and rate, redrawn in place ("\r" and CSI K, erase in line: ECMA-48 8.3.41). */
#include "cli.h"

#include <stdio.h>

/* 1536 -> "1.5 KiB"; below 1024, "512 B". */
static const char *
human(double v, char *out, size_t n)
{
	static const char u[] = "BKMGT";
	int i = 0;

	while (v >= 1024 && i < 4)
		v /= 1024, i++;
	snprintf(out, n, i ? "%.1f %ciB" : "%.0f %c", v, u[i]);
	return out;
}

void
progress_start(struct progress *p, const char *what)
{
	p->what = what;
	p->t0 = mono_now();
}

void
progress_draw(void *ctx, uint64_t done, uint64_t total)
{
	const struct progress *p = ctx;
	char a[32], b[32], c[32];
	double dt = mono_now() - p->t0, rate = dt > 0 ? done / dt : 0;

	if (total)
		fprintf(stderr, "\r\033[K%.40s  %3d%%  %s / %s  %s/s", p->what, (int)(done * 100 / total),
			human(done, a, sizeof a), human(total, b, sizeof b), human(rate, c, sizeof c));
	else
		fprintf(stderr, "\r\033[K%.40s  %s  %s/s", p->what, human(done, a, sizeof a), human(rate, c, sizeof c));
}

void
progress_count(void *ctx, uint64_t done, uint64_t total)
{
	fprintf(stderr, "\r\033[K%lu objects done", (unsigned long)done);
}

void
progress_erase(void)
{
	fputs("\r\033[K", stderr);
}
