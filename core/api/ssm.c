/* ssm.c — running SSM documents (ssmrun): document parameters, the requests that start an
 * Automation execution or send a Run Command, and the polls that wait for them to end.
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_StartAutomationExecution.html
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters ---- */

struct ssm_param *
ssm_param_get(struct ssm_params *ps, const char *key, size_t n)
{
	for (int i = 0; i < ps->n; i++)
		if (strlen(ps->p[i].key) == n && !strncmp(ps->p[i].key, key, n))
			return &ps->p[i];
	ps->p = xrealloc(ps->p, (size_t)(ps->n + 1) * sizeof *ps->p);
	ps->p[ps->n] = (struct ssm_param){xstrndup(key, n), {0}};
	return &ps->p[ps->n++];
}

void
ssm_param_value(struct ssm_param *p, const char *v, size_t n)
{
	if (p->vals.len)
		buf_addc(&p->vals, ',');
	json_put_str(&p->vals, v, n);
}

int
ssm_param_parse(struct ssm_params *ps, const char *arg, struct err *e)
{
	const char *eq = strchr(arg, '=');
	struct buf v = {0};

	if (!eq || eq == arg)
		return err_set(e, E_USAGE, "expected KEY=VALUE, not '%s'", arg);
	struct ssm_param *p = ssm_param_get(ps, arg, (size_t)(eq - arg));
	for (const char *s = eq + 1;; s++) {
		if (*s == '\\' && s[1] == ',') {
			buf_addc(&v, ',');
			s++;
		} else if (*s == ',' || !*s) {
			if (v.len || *s || s > eq + 1) /* "K=" is an empty list */
				ssm_param_value(p, v.p ? v.p : "", v.len);
			buf_reset(&v);
			if (!*s)
				break;
		} else {
			buf_addc(&v, *s);
		}
	}
	buf_free(&v);
	return 0;
}

void
ssm_params_json(const struct ssm_params *ps, struct buf *b)
{
	buf_addc(b, '{');
	for (int i = 0; i < ps->n; i++) {
		if (i)
			buf_addc(b, ',');
		json_put_str(b, ps->p[i].key, strlen(ps->p[i].key));
		buf_addc(b, ':');
		buf_addc(b, '[');
		buf_add(b, ps->p[i].vals.p, ps->p[i].vals.len);
		buf_addc(b, ']');
	}
	buf_addc(b, '}');
}

void
ssm_params_free(struct ssm_params *ps)
{
	for (int i = 0; i < ps->n; i++) {
		free(ps->p[i].key);
		buf_free(&ps->p[i].vals);
	}
	free(ps->p);
	memset(ps, 0, sizeof *ps);
}

/* ---- requests ---- */

/* {"DocumentName":DOC[,"DocumentVersion":V][,"Parameters":{...}] (no closing brace) */
static void
doc_start(struct buf *b, const char *doc, const char *version, const struct ssm_params *ps)
{
	buf_adds(b, "{\"DocumentName\":");
	json_put_str(b, doc, strlen(doc));
	if (version) {
		buf_adds(b, ",\"DocumentVersion\":");
		json_put_str(b, version, strlen(version));
	}
	if (ps->n) {
		buf_adds(b, ",\"Parameters\":");
		ssm_params_json(ps, b);
	}
}

void
ssm_automation_req(const char *doc, const char *version, const struct ssm_params *ps, struct buf *b)
{
	char token[37];

	uuid4(token); /* ClientToken: a retried start starts once */
	doc_start(b, doc, version, ps);
	buf_printf(b, ",\"ClientToken\":\"%s\"}", token);
}

void
ssm_command_req(const struct ssm_command *c, struct buf *b)
{
	doc_start(b, c->doc, c->version, c->ps);
	if (c->nids) {
		buf_adds(b, ",\"InstanceIds\":[");
		for (int i = 0; i < c->nids; i++) {
			if (i)
				buf_addc(b, ',');
			json_put_str(b, c->ids[i], strlen(c->ids[i]));
		}
		buf_addc(b, ']');
	} else {
		buf_adds(b, ",\"Targets\":[");
		for (int i = 0; i < c->targets->n; i++) {
			buf_adds(b, i ? ",{\"Key\":" : "{\"Key\":");
			json_put_str(b, c->targets->p[i].key, strlen(c->targets->p[i].key));
			buf_adds(b, ",\"Values\":[");
			buf_add(b, c->targets->p[i].vals.p, c->targets->p[i].vals.len);
			buf_adds(b, "]}");
		}
		buf_addc(b, ']');
	}
	if (c->comment) {
		buf_adds(b, ",\"Comment\":");
		json_put_str(b, c->comment, strlen(c->comment));
	}
	buf_addc(b, '}');
}

/* ---- waiting ---- */

int
ssm_wait_init(struct ssm_wait *w, double timeout, struct err *e)
{
	const char *s = getenv("AWSBOX_POLL_SCALE");
	char *end;

	w->polls = 0;
	w->scale = 1;
	if (s && *s) {
		w->scale = dec_parse(s, &end);
		if (*end || !(w->scale > 0) || w->scale > 100)
			return err_set(e, E_USAGE, "AWSBOX_POLL_SCALE: expected a factor such as 0.01, not '%s'", s);
	}
	w->deadline = timeout > 0 ? mono_now() + timeout : 0;
	return 0;
}

int
ssm_wait_sleep(struct ssm_wait *w)
{
	double base = w->polls < 4 ? 2.5 : w->polls < 16 ? 5 : 15;
	double d = base * w->scale * (0.8 + 0.4 * (rand32() / 4294967296.0)), now = mono_now();

	if (w->deadline) {
		if (now >= w->deadline)
			return -1;
		if (now + d > w->deadline)
			d = w->deadline - now;
	}
	w->polls++;
	sleep_sec(d);
	return 0;
}

int
ssm_poll(struct aws *a, const char *op, const char *body, double deadline, struct buf *out, struct err *e)
{
	struct aws_req t = {.deadline = deadline};

	if (!aws_json_req(a, &SVC_SSM, op, body, &t, out, e))
		return 0;
	if (deadline && mono_now() >= deadline)
		return 2;
	return err_is_throttle(e) || err_is_transient(e) ? 1 : -1;
}

int
ssm_status_in(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return 1;
	return 0;
}
