"""Hostile input from users: every applet refuses bad command lines before anything is sent,
with exit 2, nothing on stdout and a message that starts with the applet's name (then the usage
lines). No server is needed: the environment points every endpoint at a closed port, so a
request that slipped out would fail with exit 6 instead of 2."""
import unittest

from harness import AwsboxTestCase

LONG_KEY = "k" * 1025

CASES = [
    # (argv, text the first stderr line must contain)
    (["s3cp", "s3://Bad_Bucket_Name!/k", "-"], "bucket"),
    (["s3cp", "s3://bucket name/k", "-"], "bucket"),
    (["s3cp", "s3://" + "b" * 256 + "/k", "-"], "bucket"),
    (["s3cp", "s3:///k", "-"], "bucket"),
    (["s3cp", "-", "s3://bucket/\udcff"], "UTF-8"),
    (["s3cp", "-", "s3://bucket/" + LONG_KEY], "1024"),
    (["s3cp", "-r", "--include", "(unclosed", "s3://bucket/p/", "/tmp/x/"], "--include"),
    (["s3cp", "-r", "--exclude", "a[", "s3://bucket/p/", "/tmp/x/"], "--exclude"),
    (["s3cp", "--part-size", "12Q", "-", "s3://bucket/k"], "--part-size"),
    (["s3cp", "--concurrency", "0", "-", "s3://bucket/k"], "--concurrency"),
    (["s3cp", "--checksum", "md4", "-", "s3://bucket/k"], "--checksum"),
    (["s3cp", "onlyone"], "SRC and DST"),
    (["s3watch", "--regex", "*bad", "s3://bucket/p/"], "--regex"),
    (["s3watch", "--timeout", "soon", "s3://bucket/p/"], "--timeout"),
    (["s3watch", "--timeout", "0", "s3://bucket/p/"], "--timeout must be more than 0 (leave it out"),
    (["s3watch", "--timeout", "0s", "--once", "s3://bucket/p/"], "--timeout must be more than 0"),
    (["s3watch", "--timeout", "-5s", "s3://bucket/p/"], "--timeout must be more than 0"),
    (["s3watch", "--timeout=-1", "s3://bucket/p/"], "--timeout must be more than 0"),
    (["s3watch", "--interval", "-5s", "s3://bucket/p/"], "--interval"),
    (["s3watch", "--min-size", "big", "s3://bucket/p/"], "--min-size"),
    (["s3watch", "--since", "yesterday-ish", "s3://bucket/p/"], "--since"),
    (["s3watch", "not-an-s3-url"], "s3://"),
    (["ssmget"], "no parameter"),
    (["ssmget", "--format", "yaml", "/a"], "--format"),
    (["ssmget", "-n", "/a", "/b"], "-n"),
    (["secretget", "--query", "a..b[", "x"], "--query"),
    (["secretget"], "SECRET_ID"),
    (["lambdainvoke", "fn", "{not json"], "JSON"),
    (["lambdainvoke", "fn", "{}", "--type", "Sometimes"], "--type"),
    (["lambdainvoke", "fn", "--read-timeout", "forever"], "--read-timeout"),
    (["lambdainvoke"], "FUNCTION"),
    (["sqssend", "--delay", "901", "q", "body"], "--delay"),
    (["sqssend", "--attr", "novalue", "q", "body"], "--attr"),
    (["sqssend"], "QUEUE"),
    (["ssmrun", "--timeout", "1 hour", "--document", "D"], "--timeout"),
    (["ssmrun", "--instance", "i-1"], "--command"),
    (["ssmrun"], "--document"),
    (["rdstoken", "--host", "db", "--user", "u"], "port"),
    (["rdstoken", "--host", "db", "--port", "70000", "--user", "u"], "port"),
    (["awsid", "--format", "xml"], "--format"),
    (["awsid", "extra"], "extra"),
]

COMMON = [["--region"], ["--bogus-option"], ["--profile"]]


class Usage(AwsboxTestCase):
    servers = False

    def env_closed(self):
        # every endpoint at a closed port: a request that got out would be exit 6, not 2
        return dict(self.env(), AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_REGION="us-east-1",
                    AWS_ACCESS_KEY_ID="AKIDUSAGE", AWS_SECRET_ACCESS_KEY="usage-secret", AWS_MAX_ATTEMPTS="1")

    def check(self, argv, want):
        r = self.run(argv, env=self.env_closed(), timeout=20)
        self.assertEqual(r.rc, 2, str(r))
        self.assertEqual(r.out, "", str(r))
        first = r.err.splitlines()[0] if r.err else ""
        self.assertTrue(first.startswith(argv[0] + ": "), str(r))
        self.assertIn(want.lower(), first.lower(), str(r))

    def test_bad_input_is_a_usage_error(self):
        for argv, want in CASES:
            with self.subTest(argv=argv[:4]):
                self.check(argv, want)

    def test_common_options_for_every_applet(self):
        for applet in self.run("awsbox", "--list").out.split():
            for extra in COMMON:
                with self.subTest(applet=applet, opt=extra):
                    r = self.run([applet] + extra, env=self.env_closed(), timeout=20)
                    self.assertEqual(r.rc, 2, str(r))
                    self.assertEqual(r.out, "", str(r))
                    self.assertTrue(r.err.startswith(applet + ": "), str(r))


if __name__ == "__main__":
    unittest.main()
