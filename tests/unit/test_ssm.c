/* test_ssm.c — ssmrun's requests as the SSM API reference gives them, and the wait's schedule. */
#include "unit.h"

TEST(ssm_params)
{
	struct ssm_params ps = {0};
	struct buf b = {0};
	struct err e = {0};

	CHECK_INT(ssm_param_parse(&ps, "InstanceId=i-1,i-2", &e), 0);
	CHECK_INT(ssm_param_parse(&ps, "Cmd=a\\,b,c", &e), 0);
	CHECK_INT(ssm_param_parse(&ps, "InstanceId=i-3", &e), 0); /* a KEY again adds values */
	CHECK_INT(ssm_param_parse(&ps, "Empty=", &e), 0);
	CHECK_INT(ssm_param_parse(&ps, "Q=\"x\"", &e), 0);
	ssm_params_json(&ps, &b);
	CHECK_STR(b.p, "{\"InstanceId\":[\"i-1\",\"i-2\",\"i-3\"],\"Cmd\":[\"a,b\",\"c\"],\"Empty\":[],\"Q\":[\"\\\"x\\\"\"]}");
	CHECK_INT(ssm_param_parse(&ps, "novalue", &e), -1);
	CHECK_INT(e.kind, E_USAGE);
	CHECK_INT(ssm_param_parse(&ps, "=x", &e), -1);
	CHECK_INT(ps.n, 4);
	ssm_params_free(&ps);
	CHECK_INT(ps.n, 0);
	buf_free(&b);
}

TEST(ssm_requests)
{
	struct ssm_params ps = {0}, tg = {0};
	struct buf b = {0};
	struct err e = {0};
	char *ids[] = {"i-1", "i-2"};
	struct json root, v;

	ssm_param_value(ssm_param_get(&ps, "commands", 8), "uptime", 6);
	struct ssm_command c = {"AWS-RunShellScript", NULL, "why", &ps, &tg, ids, 2};
	ssm_command_req(&c, &b);
	CHECK_STR(b.p, "{\"DocumentName\":\"AWS-RunShellScript\",\"Parameters\":{\"commands\":[\"uptime\"]},"
		       "\"InstanceIds\":[\"i-1\",\"i-2\"],\"Comment\":\"why\"}");
	buf_reset(&b);
	CHECK_INT(ssm_param_parse(&tg, "tag:Role=web,db", &e), 0);
	c = (struct ssm_command){"Doc", "3", NULL, &ps, &tg, NULL, 0};
	ssm_command_req(&c, &b);
	CHECK_STR(b.p, "{\"DocumentName\":\"Doc\",\"DocumentVersion\":\"3\",\"Parameters\":{\"commands\":[\"uptime\"]},"
		       "\"Targets\":[{\"Key\":\"tag:Role\",\"Values\":[\"web\",\"db\"]}]}");
	buf_reset(&b);
	ssm_automation_req("AWS-StartEC2Instance", NULL, &tg, &b);
	CHECK_INT(json_parse(b.p, b.len, &root), 0);
	CHECK_INT(json_get(root, "ClientToken", &v), 0);
	CHECK_INT(v.n, 38); /* a UUID, quoted */
	CHECK_INT(json_get(root, "DocumentVersion", &v), -1);
	CHECK_INT(json_get(root, "Parameters", &v), 0);
	ssm_params_free(&ps);
	ssm_params_free(&tg);
	buf_free(&b);
}

TEST(ssm_wait_schedule)
{
	struct ssm_wait w;
	struct err e = {0};

	setenv("AWSBOX_POLL_SCALE", "0", 1);
	CHECK_INT(ssm_wait_init(&w, 0, &e), -1);
	CHECK_INT(e.kind, E_USAGE);
	setenv("AWSBOX_POLL_SCALE", "0.001", 1);
	CHECK_INT(ssm_wait_init(&w, 0.5, &e), 0);
	double t0 = mono_now();
	for (int i = 0; i < 4; i++)
		CHECK_INT(ssm_wait_sleep(&w), 0);
	double first = mono_now() - t0; /* 4 polls of 2.5 ms +-20% */
	CHECK(first >= 4 * 0.002 && first < 0.4);
	int n = 4;
	while (!ssm_wait_sleep(&w))
		n++;
	CHECK(mono_now() - t0 >= 0.5); /* until the deadline, not past it by much */
	CHECK(mono_now() - t0 < 1.5);
	CHECK_INT(w.polls, n);
	unsetenv("AWSBOX_POLL_SCALE");
}
