"""test_rdstoken.py — rdstoken against botocore's generate_db_auth_token at pinned times (AWSBOX_NOW
for us, botocore.auth.get_current_datetime patched for botocore), and against the AWS CLI's
`aws rds generate-db-auth-token` at the moment it ran. No AWS service is involved: the only server
is a container-credentials stand-in for the chain test."""
import datetime
import os
import re
import unittest
from unittest import mock

import boto3
import botocore.auth

import standins
from harness import AwsboxTestCase

AKID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+a/b=c&d%e" * 4  # '+', '/', '=', '&', '%'
WHEN = datetime.datetime(2024, 2, 29, 23, 59, 58, tzinfo=datetime.timezone.utc)


def botocore_token(host, port, user, region, when=WHEN, akid=AKID, secret=SECRET, token=None):
    rds = boto3.session.Session(aws_access_key_id=akid, aws_secret_access_key=secret, aws_session_token=token,
                                region_name="us-west-1").client("rds")  # Region= overrides it, as --region does
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: when.replace(tzinfo=None)):
        return rds.generate_db_auth_token(host, port, user, Region=region)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class RdsToken(AwsboxTestCase):
    servers = False

    def tenv(self, token=None, when=WHEN, **kw):
        e = self.env(AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY=SECRET, AWSBOX_NOW=iso(when), **kw)
        if token:
            e["AWS_SESSION_TOKEN"] = token
        return e

    def token(self, *args, env=None):
        r = self.run("rdstoken", *args, env=env or self.tenv())
        self.assertExit(r, 0)
        self.assertEqual(r.err, "")
        self.assertTrue(r.out.endswith("\n") and r.out.count("\n") == 1, repr(r.out))
        return r.out[:-1]

    def test_matches_botocore(self):
        users = ["app", "jo hn", "o'brien", "a@b.c", "ü/+%=&?#", "日本", "x" * 63, "IAM_User-1.~"]
        hosts = ["db1.cluster-abc123.us-east-1.rds.amazonaws.com", "MyDB.Example.COM", "10.0.0.5", "[::1]",
                 "[FE80::1:abcd]", "proxy.proxy-xyz.cn-north-1.rds.amazonaws.com.cn", "localhost"]
        ports = [3306, 5432, 443, 1, 65535, 80]
        regions = ["us-east-1", "eu-west-2", "cn-north-1", "us-gov-west-1", "ap-southeast-2"]
        times = [WHEN, datetime.datetime(2015, 8, 30, 12, 36, 0, tzinfo=datetime.timezone.utc),
                 datetime.datetime(2038, 1, 19, 3, 14, 8, tzinfo=datetime.timezone.utc)]
        n = 0
        for i, user in enumerate(users):
            for j, host in enumerate(hosts):
                if (i + j) % 2:
                    continue
                port, when = ports[(i + 2 * j) % len(ports)], times[(i * j) % len(times)]
                region = regions[(3 * i + j) % len(regions)]
                m = re.search(r"\.([a-z0-9-]+)\.rds\.amazonaws\.com", host)
                if m:
                    region = m.group(1)  # a different --region would draw a warning (tested below)
                token = TOKEN if (i + j) % 4 == 0 else None
                with self.subTest(host=host, port=port, user=user, region=region, token=bool(token), when=when):
                    want = botocore_token(host, port, user, region, when, token=token)
                    got = self.token("--host", host, "--port", str(port), "--user", user, "--region", region,
                                     env=self.tenv(token, when))
                    self.assertEqual(got, want)
                    n += 1
        self.assertGreaterEqual(n, 25)

    def test_argument_forms(self):
        host, want = "db.example.internal", botocore_token("db.example.internal", 5432, "app", "eu-west-2")
        for args in (["--host", host, "--port", "5432", "--user", "app"], [f"{host}:5432", "app"],
                     ["--hostname", host, "--port", "5432", "--username", "app"],
                     ["-H", host, "-p", "05432", "-u", "app"],
                     ["--user", "app", f"{host}:5432"], [host, "app", "--port=5432"], [f"--host={host}:5432", "app"]):
            with self.subTest(args=args):
                self.assertEqual(self.token(*args, "--region", "eu-west-2"), want)
        self.assertEqual(self.token("[::1]:5432", "app", "--region", "eu-west-2"),
                         botocore_token("[::1]", 5432, "app", "eu-west-2"))
        # the region from the environment, as the CLI takes it
        self.assertEqual(self.token(f"{host}:5432", "app", env=self.tenv(AWS_REGION="eu-west-2")), want)

    def test_aws_cli(self):
        """`aws rds generate-db-auth-token` runs on the real clock: ours is pinned to the moment in its token."""
        for token in (None, TOKEN):
            for host, port, user, region in (("db.abc.example.com", 3306, "app user", "us-east-1"),
                                             ("Aurora.Cluster-X.example.org", 5432, "ü+/=", "ap-southeast-2")):
                with self.subTest(host=host, token=bool(token)):
                    env = self.tenv(token)
                    env.pop("AWSBOX_NOW")
                    cli = self.run("aws", "rds", "generate-db-auth-token", "--hostname", host, "--port", str(port),
                                   "--username", user, "--region", region, env=env)
                    self.assertExit(cli, 0)
                    want = cli.out.strip()
                    at = re.search(r"X-Amz-Date=(\d{8}T\d{6}Z)", want).group(1)
                    env["AWSBOX_NOW"] = datetime.datetime.strptime(at, "%Y%m%dT%H%M%SZ").strftime("%Y-%m-%dT%H:%M:%SZ")
                    self.assertEqual(self.token("--host", host, "--port", str(port), "--user", user, "--region", region,
                                                env=env), want)

    def test_region_from_rds_endpoint(self):
        host = "db1.abc123xyz.eu-west-2.rds.amazonaws.com"
        # AWS_REGION says us-east-1, but the database is in eu-west-2: the token must be for eu-west-2
        self.assertEqual(self.token(f"{host}:5432", "app", env=self.tenv(AWS_REGION="us-east-1")),
                         botocore_token(host, 5432, "app", "eu-west-2"))
        # --region wins, with a warning (the database will refuse the token)
        r = self.run("rdstoken", f"{host}:5432", "app", "--region", "us-east-1", env=self.tenv())
        self.assertExit(r, 0)
        self.assertEqual(r.out.strip(), botocore_token(host, 5432, "app", "us-east-1"))
        self.assertIn("signing for us-east-1, but", r.err)
        self.assertIn("is in eu-west-2", r.err)

    def test_exec(self):
        """--exec: the token in PGPASSWORD and MYSQL_PWD (or --env NAME only), CMD's own exit
        status; a token that cannot be made never starts CMD."""
        show = ["--exec", "--", "sh", "-c", 'printf "%s|%s|%s" "${PGPASSWORD-unset}" "${MYSQL_PWD-unset}" "${DB_PASSWORD-unset}"; exit 7']
        want = botocore_token("db.example.internal", 5432, "app", "eu-west-2")
        r = self.run("rdstoken", "db.example.internal:5432", "app", "--region", "eu-west-2", *show, env=self.tenv())
        self.assertEqual((r.rc, r.out, r.err), (7, f"{want}|{want}|unset", ""))
        r = self.run("rdstoken", "--env", "DB_PASSWORD", "db.example.internal:5432", "app", "--region", "eu-west-2",
                     *show, env=self.tenv())
        self.assertEqual((r.rc, r.out), (7, f"unset|unset|{want}"))
        marker = os.path.join(self.tmpdir(), "started")
        r = self.run("rdstoken", "h:3306", "u", "--region", "us-east-1", "--exec", "--", "touch", marker,
                     env=self.tenv(TOKEN, AWS_CREDENTIAL_EXPIRATION=iso(WHEN)))
        self.assertExit(r, 4)
        self.assertFalse(os.path.exists(marker), "CMD ran without a token")
        for bad in (["h:1", "u", "--exec"], ["h:1", "u", "--env", "X"], ["h:1", "u", "--env", "1X", "--exec", "--", "true"],
                    ["h:1", "u", "--", "true"]):
            self.assertExit(self.run("rdstoken", *bad, env=self.tenv()), 2)
        r = self.run("rdstoken", "h:1", "u", "--region", "us-east-1", "--exec", "--", "/nonexistent/cmd", env=self.tenv())
        self.assertExit(r, 127)

    def test_expired_credentials_are_refused(self):
        for exp, rc in ((WHEN - datetime.timedelta(seconds=1), 4), (WHEN, 4)):
            r = self.run("rdstoken", "h:3306", "u", "--region", "us-east-1",
                         env=self.tenv(TOKEN, AWS_CREDENTIAL_EXPIRATION=iso(exp)))
            self.assertExit(r, rc)
            self.assertEqual(r.out, "")
            self.assertIn(f"expired at {iso(exp)}", r.err)

    def test_credentials_expiring_before_the_token(self):
        soon = iso(WHEN + datetime.timedelta(minutes=10))
        env = self.tenv(TOKEN, AWS_CREDENTIAL_EXPIRATION=soon)
        r = self.run("rdstoken", "h:3306", "u", "--region", "us-east-1", env=env)
        self.assertExit(r, 0)
        self.assertEqual(r.out.strip(), botocore_token("h", 3306, "u", "us-east-1", token=TOKEN))
        self.assertIn(f"expire at {soon}, before the token would", r.err)
        r = self.run("rdstoken", "--quiet", "h:3306", "u", "--region", "us-east-1", env=env)
        self.assertEqual((r.rc, r.err), (0, ""))
        later = iso(WHEN + datetime.timedelta(minutes=16))  # outlives the token: no warning
        self.token("h:3306", "u", "--region", "us-east-1", env=self.tenv(TOKEN, AWS_CREDENTIAL_EXPIRATION=later))

    def test_credentials_from_the_chain(self):
        """Container credentials (a provider that reports an expiry): one request, then no network."""
        creds = dict(AccessKeyId="ASIACONTAINER0000001", SecretAccessKey="c" * 40, Token=TOKEN,
                     Expiration=iso(WHEN + datetime.timedelta(hours=1)))
        cc = standins.ContainerCreds(creds).start()
        self.addCleanup(cc.stop)
        env = self.env(AWSBOX_NOW=iso(WHEN), AWS_REGION="us-east-1", **cc.env())
        got = self.token("db:5432", "iam_user", env=env)
        self.assertEqual(got, botocore_token("db", 5432, "iam_user", "us-east-1", akid=creds["AccessKeyId"],
                                             secret=creds["SecretAccessKey"], token=TOKEN))
        self.assertEqual(len(cc.requests), 1)
        cc.creds = dict(creds, Expiration=iso(WHEN - datetime.timedelta(minutes=1)))
        r = self.run("rdstoken", "db:5432", "iam_user", env=env)
        self.assertExit(r, 4)
        self.assertIn("from container expired at", r.err)

    def test_usage_and_setup_errors(self):
        usage = [["h", "u"], ["h:3306"], ["h:0", "u"], ["h:65536", "u"], ["h:33o6", "u"], ["h:", "u"],
                 ["h:3306", "u", "--port", "3306"], ["--port", "1", "--port", "2", "h", "u"], ["::1:5432", "u"],
                 ["[::1", "u"], ["[::1]x", "u"], ["h/x:3306", "u"], ["h?x:3306", "u"], ["user@h:3306", "u"],
                 ["h:3306", ""], ["h:3306", "u", "extra"], ["--host", "a", "b:1", "u"], [":3306", "u"],
                 ["h" * 256 + ":3306", "u"]]
        for args in usage:
            with self.subTest(args=args):
                r = self.run("rdstoken", *args, "--region", "us-east-1", env=self.tenv())
                self.assertExit(r, 2)
                self.assertIn("Usage: rdstoken", r.err)
                self.assertEqual(r.out, "")
        r = self.run("rdstoken", "h:3306", "u", env=self.tenv(AWS_REGION=None, AWS_DEFAULT_REGION=None))
        self.assertExit(r, 2)
        self.assertIn("no region", r.err)
        r = self.run("rdstoken", "h:3306", "u", "--region", "us-east-1",
                     env=self.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None))
        self.assertExit(r, 4)
        self.assertIn("no credentials", r.err)


if __name__ == "__main__":
    unittest.main()
