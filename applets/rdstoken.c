/* rdstoken.c — an RDS IAM database authentication token, byte for byte what botocore's
 * generate_db_auth_token (`aws rds generate-db-auth-token`) makes: a SigV4-presigned "connect".
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.Connecting.html */
#include "core.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_TTL 900 /* what RDS accepts and botocore signs for */

const char rdstoken_help[] =
	"Usage: rdstoken --host HOST --port PORT --user USER [--region REGION]\n"
	"       rdstoken HOST:PORT USER\n"
	"       rdstoken HOST:PORT USER [--env NAME] --exec -- CMD [ARGS...]\n\n"
	"Print an IAM authentication token for USER on the RDS or Aurora database (or RDS Proxy) at\n"
	"HOST:PORT, to give mysql or psql as the password: the token `aws rds generate-db-auth-token`\n"
	"prints, a SigV4-presigned \"connect\" for rds-db that opens connections for 15 minutes. Nothing\n"
	"is sent over the network unless the credential chain needs to.\n\n"
	"The port is signed into the token, so it is required (3306 for MySQL and MariaDB, 5432 for\n"
	"PostgreSQL). The region is --region, else the one in an RDS endpoint's name\n"
	"(NAME.ID.REGION.rds.amazonaws.com), else the configured one. Expired credentials are refused\n"
	"(exit 4); credentials that expire within 15 minutes draw a warning, as the token dies with them.\n\n"
	"Options:\n"
	"  -H, --host HOST   the database endpoint; HOST:PORT and [IPv6]:PORT work too (--hostname)\n"
	"  -p, --port PORT   the database port\n"
	"  -u, --user USER   the database user (--username)\n"
	"      --exec        after '--': run CMD with the token in its environment, as PGPASSWORD\n"
	"                    and MYSQL_PWD (replaces rdstoken: no shell needed, and a failure to\n"
	"                    make the token stops before CMD starts)\n"
	"      --env NAME    with --exec: the token in NAME only\n\n"
	"Examples:\n"
	"  PGPASSWORD=\"$(rdstoken db1.abc123.eu-west-1.rds.amazonaws.com:5432 app)\" \\\n"
	"    psql \"host=db1.abc123.eu-west-1.rds.amazonaws.com user=app dbname=app sslmode=verify-full\"\n"
	"  mysql -h \"$DB\" -u app --enable-cleartext-plugin --ssl-ca=global-bundle.pem \\\n"
	"    --password=\"$(rdstoken --host \"$DB\" --port 3306 --user app)\"\n"
	"  ENTRYPOINT [\"/awsbox\", \"rdstoken\", \"db1.abc123.eu-west-1.rds.amazonaws.com:5432\", \"app\",\n"
	"              \"--env\", \"DB_PASSWORD\", \"--exec\", \"--\", \"/app/server\"]\n";

const struct exitdoc rdstoken_exits[] = {
	{0, "ok"},
	{1, "other failure"},
	{2, "usage (no port, not a host name)"},
	{4, "no credentials, or expired ones"},
	{6, "network failure (credential chain)"},
	{-1, NULL},
};

/* A port as the AWS CLI takes it (an integer: "03306" is 3306); 0 if it is not one. */
static int
port_of(const char *s)
{
	long v = 0;

	if (!*s || strlen(s) > 5)
		return 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return 0;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : 0;
}

/* Splits "host", "host:port" or "[v6]:port" in place; *port is "" when absent. A host is a
 * DNS name or address: anything else would turn the token's "HOST:PORT/?" into another URL. */
static void
split_host(char *s, const char **port)
{
	char *colon;

	*port = "";
	if (*s == '[') {
		char *end = strchr(s, ']');
		if (!end || end == s + 1 || strspn(s + 1, "0123456789abcdefABCDEF:.") != (size_t)(end - s - 1) ||
		    (end[1] && end[1] != ':'))
			usage("'%s': expected [IPv6-ADDRESS] or [IPv6-ADDRESS]:PORT", s);
		colon = end[1] ? end + 1 : NULL;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			usage("'%s': an IPv6 address goes in brackets: [ADDRESS]:PORT", s);
		size_t n = colon ? (size_t)(colon - s) : strlen(s);
		if (!n || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != n)
			usage("'%.*s' is not a host name", (int)n, s);
	}
	if (colon) {
		*colon = 0;
		*port = colon + 1;
	}
}

/* The region of an RDS endpoint name (NAME.ID.REGION.rds.amazonaws.com[.cn]), else NULL. */
static char *
host_region(const char *host)
{
	static const char *const suffixes[] = {".rds.amazonaws.com", ".rds.amazonaws.com.cn"};
	size_t n = strlen(host);

	if (n && host[n - 1] == '.')
		n--;
	for (size_t i = 0; i < COUNT(suffixes); i++) {
		size_t sl = strlen(suffixes[i]), start;
		if (n <= sl || strncasecmp(host + n - sl, suffixes[i], sl))
			continue;
		for (start = n - sl; start && host[start - 1] != '.'; start--)
			;
		size_t len = n - sl - start;
		if (start && len && len < 40 && memchr(host + start, '-', len)) {
			char *r = xstrndup(host + start, len);
			for (char *p = r; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			return r;
		}
	}
	return NULL;
}

/* sigv4_presign gives the canonical (sorted) query; botocore's token has the operation's
 * parameters, then the X-Amz-* ones in the order it adds them (the token after SignedHeaders). */
static void
botocore_order(const char *q, struct buf *out)
{
	static const char *const order[] = {"Action", "DBUser", "X-Amz-Algorithm", "X-Amz-Credential",
					    "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
					    "X-Amz-Security-Token", "X-Amz-Signature"};
	int first = 1;

	for (size_t i = 0; i < COUNT(order); i++) {
		size_t kl = strlen(order[i]);
		for (const char *p = q; p && *p;) {
			const char *amp = strchr(p, '&');
			size_t n = amp ? (size_t)(amp - p) : strlen(p);
			if (n > kl && p[kl] == '=' && !memcmp(p, order[i], kl)) {
				if (!first)
					buf_addc(out, '&');
				buf_add(out, p, n);
				first = 0;
			}
			p = amp ? amp + 1 : NULL;
		}
	}
}

/* What the command line asks for. */
struct args {
	char **cmd;
	size_t ncmd;
	int exec, port;
	const char *envname, *user;
	char *host; /* without the port */
};

/* The options, checked: usage() on anything wrong. */
static void
parse_args(struct opt *o, struct args *r)
{
	const char *portarg = NULL, *hostport = "";
	struct err e = {0};
	int c;

	while ((c = opt_next(o)) != OPT_END) {
		if (c == OPT_POS && o->after_dashdash) {
			r->cmd[r->ncmd++] = (char *)o->arg;
		} else if (c == 'x') {
			r->exec = 1;
		} else if (c == 'e') {
			if (!envout_name_valid(o->arg))
				usage("--env: '%s' is not a valid environment variable name", o->arg);
			r->envname = o->arg;
		} else if (c == 'H' || (c == OPT_POS && !r->host)) {
			if (r->host)
				usage("more than one host");
			r->host = xstrdup(o->arg);
		} else if (c == 'p') {
			if (portarg)
				usage("more than one port");
			portarg = o->arg;
		} else if (c == 'u' || (c == OPT_POS && !r->user)) {
			if (r->user)
				usage("more than one user");
			r->user = o->arg;
		} else if (c == OPT_POS) {
			usage("unexpected argument '%s'", o->arg);
		}
	}
	if (!r->host)
		usage("no host: give --host HOST or HOST:PORT");
	split_host(r->host, &hostport);
	if (strlen(r->host) > 255)
		usage("host name too long");
	if (*hostport && portarg)
		usage("the port is given twice ('%s' and --port %s)", hostport, portarg);
	if (!*hostport && !portarg)
		usage("no port: it is part of the signed token (3306 MySQL/MariaDB, 5432 PostgreSQL)");
	r->port = port_of(portarg ? portarg : hostport);
	if (!r->port)
		usage("bad port '%s' (1 to 65535)", portarg ? portarg : hostport);
	if (!r->user || !*r->user)
		usage("no user: give --user USER");
	if (envout_check_exec(r->exec, r->ncmd, 0, NULL, 0, 0, &e))
		usage("%s", e.msg);
	if (r->ncmd && !r->exec)
		usage("a command after -- needs --exec");
	if (r->envname && !r->exec)
		usage("--env is for --exec");
}

/* The region to sign for (xmalloc'd): --region, else the one in the endpoint's name, else the
 * context's. */
static char *
sign_region(struct aws *a, const char *host, const char *flag)
{
	char *region, *from_host = host_region(host);
	struct err e = {0};

	if (flag && *flag) {
		region = xstrdup(flag);
		if (from_host && strcmp(from_host, region))
			warn("signing for %s, but %s is in %s: the database will refuse the token", region, host,
			     from_host);
	} else if (from_host) {
		region = xstrdup(from_host);
		dbg("region %s from the endpoint name", region);
	} else {
		const char *r = aws_region(a, &e);
		if (!r)
			die_err(&e, "region");
		region = xstrdup(r);
	}
	free(from_host);
	return region;
}

/* The token for r's host, port and user, signed with cr at now, into token. */
static void
make_token(const struct creds *cr, const char *region, const struct args *r, time_t now, struct buf *token)
{
	char amzdate[17], signed_host[300];
	struct buf query = {0};

	/* What botocore signs as the host: lower case, without the port when it is https's 443. */
	snprintf(signed_host, sizeof signed_host, r->port == 443 ? "%s" : "%s:%d", r->host, r->port);
	for (char *p = signed_host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	struct kv qp[] = {{"Action", "connect"}, {"DBUser", r->user}};
	struct kv hd[] = {{"host", signed_host}};
	struct sigv4_req sr = {"GET", "/", qp, 2, hd, 1, NULL, 0};
	time_amz(now, amzdate);
	sigv4_presign(cr, &sr, amzdate, region, "rds-db", TOKEN_TTL, &query);
	buf_printf(token, "%s:%d/?", r->host, r->port);
	botocore_order(query.p, token);
	buf_free(&query);
}

/* --exec: CMD with the token in its environment (PGPASSWORD and MYSQL_PWD, or --env's NAME). */
static NORETURN void
run_with(struct aws *a, const struct args *r, const struct buf *token)
{
	struct envout env = {0};
	struct err e = {0};
	const char *names[] = {r->envname ? r->envname : "PGPASSWORD", r->envname ? NULL : "MYSQL_PWD"};

	for (size_t i = 0; i < COUNT(names) && names[i]; i++)
		if (envout_add(&env, names[i], "rdstoken", token->p, token->len, &e))
			die_err(&e, "%s", "");
	aws_free(a); /* no sockets or credentials into the command */
	fflush(stdout);
	int code = envout_exec(&env, r->cmd, 0, &e);
	die_code(code, "%s", e.msg);
}

int
rdstoken_main(int argc, char **argv)
{
	static const struct optdef defs[] = {
		{"host", 'H', 1, 'H'}, {"hostname", 0, 1, 'H'}, {"port", 'p', 1, 'p'},
		{"user", 'u', 1, 'u'}, {"username", 0, 1, 'u'}, {"exec", 0, 0, 'x'}, {"env", 0, 1, 'e'},
		{NULL, 0, 0, 0},
	};
	struct args r = {.cmd = xcalloc((size_t)argc + 1, sizeof *r.cmd)};
	char when[21];
	struct opt o;
	struct aws a;
	struct err e = {0};
	struct creds cr = {0};
	struct buf token = {0};

	opt_init(&o, argc, argv, defs, rdstoken_help);
	parse_args(&o, &r);
	xaws_init(&a, &o.common);
	char *region = sign_region(&a, r.host, o.common.region);
	if (aws_creds(&a, &cr, &e)) /* expired ones are refused there */
		die_err(&e, "signing");
	time_t now = clock_now();
	if (cr.expires && cr.expires < now + TOKEN_TTL) {
		time_iso8601(cr.expires, when);
		warn("the credentials (from %s) expire at %s, before the token would: it stops working then",
		     cr.source ? cr.source : "the credential chain", when);
	}
	make_token(&cr, region, &r, now, &token);
	if (r.exec)
		run_with(&a, &r, &token);
	puts(token.p);
	if (fflush(stdout) || ferror(stdout))
		die("writing the token: output error");

	buf_free(&token);
	creds_free(&cr);
	free(r.host);
	free(r.cmd);
	free(region);
	aws_free(&a);
	return 0;
}
