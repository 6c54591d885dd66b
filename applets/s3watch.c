/* s3watch.c — wait until objects under an S3 prefix match size, age, time and name conditions,
 * then print them (ListObjectsV2 polling). https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html */
#include "core.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char s3watch_help[] =
	"Usage: s3watch [OPTIONS] s3://BUCKET/PREFIX\n"
	"       s3watch -k [OPTIONS] s3://BUCKET/KEY\n\n"
	"Wait until objects under PREFIX match the conditions, then print them: s3://BUCKET/KEY one a\n"
	"line, or with --format json one JSON object a line ({\"Key\",\"Size\",\"LastModified\",\"ETag\"}).\n"
	"With --count N it prints N objects, the least recently modified first. The listing is read\n"
	"in full each time (more than 1,000 keys are paged); polling backs off, with jitter, while S3\n"
	"throttles or fails. Ages are measured on S3's clock (its Date header), not the local one.\n\n"
	"Options:\n"
	"  -k, --key             the URL names one object: only that exact key matches, not longer\n"
	"                        keys that start with it (batch.fin, not batch.fin.tmp)\n"
	"  --regex RE            the key with PREFIX removed must match RE (POSIX extended)\n"
	"  --min-size SIZE       at least SIZE bytes (K, M, G suffixes: powers of 1024)\n"
	"  --max-size SIZE       at most SIZE bytes\n"
	"  --min-age DURATION    unchanged for at least DURATION (e.g. 30s, 5m): the upload is over\n"
	"  --max-age DURATION    modified within DURATION\n"
	"  --since TIME          modified at or after TIME: ISO 8601 (2024-05-01T12:00:00Z) or 'now'\n"
	"                        (to wait for an object to be written or updated from now on)\n"
	"  --count N             wait for N matching objects (default 1)\n"
	"  --timeout DURATION    give up after DURATION (more than 0; a request in flight is cut\n"
	"                        off): exit 5. Without it, s3watch waits without limit\n"
	"  --interval DURATION   time between checks (default 5s)\n"
	"  --once                check now: exit 0 if there is a match, 3 if not\n"
	"  --format text|json    output format (default text)\n\n"
	"Examples:\n"
	"  s3watch --regex '\\.csv$' --min-size 1 --min-age 30s --timeout 1h s3://drop/in/\n"
	"  s3watch --key --timeout 10m s3://b/out/batch.fin && s3cp s3://b/out/data.csv .\n"
	"  s3watch --key --since now --timeout 5m s3://config/app.json && systemctl reload app\n";

const struct exitdoc s3watch_exits[] = {
	{0, "found"},
	{1, "other failure"},
	{2, "usage"},
	{3, "nothing matched (--once), or no such bucket"},
	{4, "access denied or no credentials"},
	{5, "--timeout ran out"},
	{6, "network or TLS failure after retries"},
	{-1, NULL},
};

enum { O_KEY = 1, O_REGEX, O_MINSZ, O_MAXSZ, O_MINAGE, O_MAXAGE, O_SINCE, O_COUNT, O_TIMEOUT, O_INTERVAL, O_ONCE, O_FORMAT };

struct match {
	char *key;
	int64_t size;
	time_t mtime;
	char etag[100];
};

static struct {
	regex_t re;
	int have_re, json, since_now, exact;
	uint64_t min_size, max_size;
	double min_age, max_age;
	time_t since;
	long count;
	struct match *m; /* the count best so far: least recently modified, then by key */
	long nm;
} W;

static int
before(time_t t, const char *k, const struct match *b)
{
	return t != b->mtime ? t < b->mtime : strcmp(k, b->key) < 0;
}

/* Keeps the W.count earliest matches, in order (insertion into a short sorted array). */
static void
keep(const struct s3_entry *en)
{
	long i = W.nm;

	if (W.nm == W.count && !before(en->mtime, en->key, &W.m[W.nm - 1]))
		return;
	if (W.nm == W.count)
		free(W.m[--W.nm].key), i = W.nm;
	while (i > 0 && before(en->mtime, en->key, &W.m[i - 1]))
		i--;
	memmove(&W.m[i + 1], &W.m[i], (size_t)(W.nm - i) * sizeof *W.m);
	W.m[i] = (struct match){xstrndup(en->key, en->key_len), en->size, en->mtime, ""};
	snprintf(W.m[i].etag, sizeof W.m[i].etag, "%s", en->etag);
	W.nm++;
}

/* One pass over the prefix; the matches are in W.m. */
static int
scan(struct aws *a, const char *bucket, const char *prefix, double deadline, struct err *e)
{
	struct s3_list l = {.bucket = bucket, .prefix = prefix, .deadline = deadline};
	struct s3_entry en;
	size_t pl = strlen(prefix);
	int r;

	for (long i = 0; i < W.nm; i++)
		free(W.m[i].key);
	W.nm = 0;
	if (W.exact)
		l.max_keys = 1; /* a key sorts before every longer key it starts: first, if it is there */
	while ((r = s3_list_next(a, &l, &en, e)) == 1) {
		if (W.exact && (en.key_len != pl || memcmp(en.key, prefix, pl))) {
			r = 0; /* only longer keys: not there (yet) */
			break;
		}
		time_t now = l.server_now ? l.server_now : clock_now() + a->clock_offset;
		double age = difftime(now, en.mtime);
		if (W.have_re && regexec(&W.re, en.key + pl, 0, NULL, 0))
			continue;
		if ((uint64_t)en.size < W.min_size || (W.max_size && (uint64_t)en.size > W.max_size))
			continue;
		if ((W.min_age > 0 && age < W.min_age) || (W.max_age > 0 && age > W.max_age))
			continue;
		if (W.since && en.mtime < W.since)
			continue;
		keep(&en);
		if (W.exact) {
			r = 0;
			break;
		}
	}
	s3_list_free(&l);
	return r;
}

static void
print(const char *bucket)
{
	struct buf b = {0};

	for (long i = 0; i < W.nm; i++) {
		buf_reset(&b);
		if (W.json) {
			char t[21];
			time_iso8601(W.m[i].mtime, t);
			buf_adds(&b, "{\"Key\":");
			json_put_str(&b, W.m[i].key, strlen(W.m[i].key));
			buf_printf(&b, ",\"Size\":%lld,\"LastModified\":\"%s\",\"ETag\":", (long long)W.m[i].size, t);
			json_put_str(&b, W.m[i].etag, strlen(W.m[i].etag));
			buf_adds(&b, "}\n");
		} else {
			buf_printf(&b, "s3://%s/%s\n", bucket, W.m[i].key);
		}
		fwrite(b.p, 1, b.len, stdout);
	}
	buf_free(&b);
	if (fflush(stdout))
		die("write: standard output");
}

/* The options into W (and the rest here); the URL. */
static const char *
parse_args(int argc, char **argv, struct opt *op, double *timeout, double *interval, int *once)
{
	static const struct optdef defs[] = {
		{"key", 'k', 0, O_KEY}, {"regex", 0, 1, O_REGEX}, {"min-size", 0, 1, O_MINSZ}, {"max-size", 0, 1, O_MAXSZ},
		{"min-age", 0, 1, O_MINAGE}, {"max-age", 0, 1, O_MAXAGE}, {"since", 0, 1, O_SINCE},
		{"count", 0, 1, O_COUNT}, {"timeout", 0, 1, O_TIMEOUT}, {"interval", 0, 1, O_INTERVAL},
		{"once", 0, 0, O_ONCE}, {"format", 'f', 1, O_FORMAT}, {NULL, 0, 0, 0},
	};
	struct opt o;
	const char *url = NULL;
	int c;

	W.count = 1;
	opt_init(&o, argc, argv, defs, s3watch_help);
	while ((c = opt_next(&o)) != OPT_END) {
		switch (c) {
		case O_KEY: W.exact = 1; break;
		case O_REGEX:
			opt_regex(&o, &W.re);
			W.have_re = 1;
			break;
		case O_MINSZ: W.min_size = opt_size(&o); break;
		case O_MAXSZ: W.max_size = opt_size(&o); break;
		case O_MINAGE: W.min_age = opt_duration(&o); break;
		case O_MAXAGE: W.max_age = opt_duration(&o); break;
		case O_SINCE:
			if (!strcmp(o.arg, "now"))
				W.since_now = 1;
			else if (time_parse_iso8601(o.arg, strlen(o.arg), &W.since))
				usage("--since: expected an ISO 8601 time or 'now', not '%s'", o.arg);
			break;
		case O_COUNT: W.count = opt_long(&o, 1, 100000); break;
		case O_TIMEOUT:
			/* "-5s" reads as a negative duration here, not as a bad one */
			if (o.arg[0] != '-' || parse_duration(o.arg + 1, timeout))
				*timeout = opt_duration(&o);
			if (o.arg[0] == '-' || !(*timeout > 0))
				usage("--timeout must be more than 0 (leave it out to wait without limit)");
			break;
		case O_INTERVAL:
			*interval = opt_duration(&o);
			if (*interval < 0.1)
				usage("--interval: at least 0.1s");
			break;
		case O_ONCE: *once = 1; break;
		case O_FORMAT:
			if (strcmp(o.arg, "text") && strcmp(o.arg, "json"))
				usage("--format: text or json, not '%s'", o.arg);
			W.json = !strcmp(o.arg, "json");
			break;
		default:
			if (url)
				usage("one s3://BUCKET/PREFIX only");
			url = o.arg;
		}
	}
	*op = o;
	return url;
}

/* Looks every interval (longer while S3 throttles or fails) until count objects match or the
 * deadline: the exit code, or dies (an error that retrying will not fix, or the deadline). */
static int
watch(struct aws *a, struct s3url *u, double timeout, double interval, int once)
{
	struct err e = {0};

	double start = mono_now(), deadline = timeout > 0 ? start + timeout : 0;
	/* The last look starts a little before the deadline, so that it can finish by then. */
	double last_at = deadline - (interval / 2 < 1 ? interval / 2 : 1);
	char why[1200] = "";
	if (W.since_now)
		W.since = clock_now() + a->clock_offset;
	for (int backoff = 0, last = 0;;) {
		double wait = interval;
		int failed = 0;
		if (!scan(a, u->bucket, u->key, deadline, &e)) {
			backoff = 0;
			if (W.nm >= W.count || once) {
				if (W.nm >= W.count)
					print(u->bucket);
				aws_free(a); /* as the other applets: nothing left for valgrind to call lost */
				s3url_free(u);
				return W.nm >= W.count ? 0 : EX_NOTFOUND;
			}
			/* A little jitter so that many watchers do not poll in step. */
			wait *= 0.9 + 0.2 * (rand32() / 4294967296.0);
			why[0] = 0;
		} else {
			char what[600];
			snprintf(what, sizeof what, "ListObjectsV2 s3://%s/%s", u->bucket, u->key);
			err_format(&e, what, why, sizeof why);
			/* Cut off by the deadline (aws_call returns that only once it has passed). */
			if (deadline && mono_now() >= deadline)
				break;
			if (once || !(err_is_throttle(&e) || err_is_transient(&e)))
				die_err(&e, "ListObjectsV2 s3://%s/%s", u->bucket, u->key);
			/* Throttled or failing: wait longer each time (up to 5 minutes), with full jitter. */
			double cap = interval * (double)(1u << (backoff < 10 ? backoff : 10));
			if (cap > 300)
				cap = 300;
			backoff++;
			wait = interval + (cap - interval) * (rand32() / 4294967296.0);
			failed = 1;
		}
		double now = mono_now();
		if (deadline && (last || now >= last_at))
			break;
		if (deadline && now + wait > last_at) {
			wait = last_at - now; /* one last look just before the deadline */
			last = 1;
		}
		if (failed)
			warn("%s; trying again in %.1fs", why, wait);
		sleep_sec(wait);
	}
	double rest = deadline - mono_now();
	if (rest > 0)
		sleep_sec(rest); /* --timeout means that long */
	die_code(EX_DEADLINE, "timed out after %gs: %ld of %ld object%s matched under s3://%s/%s%s%s%s", timeout, W.nm,
		 W.count, W.count == 1 ? "" : "s", u->bucket, u->key, why[0] ? " (" : "", why, why[0] ? ")" : "");
}

int
s3watch_main(int argc, char **argv)
{
	struct opt o;
	struct aws a;
	struct err e = {0};
	struct s3url u = {0};
	double timeout = 0, interval = 5;
	int once = 0;
	const char *url = parse_args(argc, argv, &o, &timeout, &interval, &once);

	if (!url)
		usage("expected s3://BUCKET/PREFIX");
	if (s3_parse_url(url, &u, &e))
		usage("%s", e.msg);
	if (W.exact && !*u.key)
		usage("--key: expected s3://BUCKET/KEY, with a key");
	if (W.exact && W.have_re)
		usage("--key and --regex do not go together (--key matches one key exactly)");
	if (W.exact && W.count != 1)
		usage("--key matches one object: --count cannot be %ld", W.count);
	if (W.max_size && W.max_size < W.min_size)
		usage("--max-size is below --min-size");
	W.m = xcalloc((size_t)W.count, sizeof *W.m);
	xaws_init(&a, &o.common);
	return watch(&a, &u, timeout, interval, once);
}
