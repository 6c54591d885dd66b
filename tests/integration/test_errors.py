"""test_errors.py — error messages that say what to do, against moto, the verifying front and
the binary alone: a typo'd region named as a region that does not exist (not a DNS error), a
download's "not found" saying whether the bucket or the key is missing, a '*' in an S3 URL said
not to be expanded, a 403 that keeps the service's message (the denied action), an unknown
applet's nearest name (test_dispatch), and "no credentials found" ending with the fix."""
import json
import os
import shutil
import subprocess

import harness
from harness import AWSBOX, AwsboxTestCase


class Errors(AwsboxTestCase):
    def one_line(self, r, code):
        self.assertExit(r, code)
        self.assertEqual(len(r.err.splitlines()), 1, r)
        return r.err.rstrip("\n")

    def setUp(self):
        super().setUp()
        s3 = self.client("s3")
        try:
            s3.create_bucket(Bucket="errs")
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        s3.put_object(Bucket="errs", Key="logs/a.txt", Body=b"a")

    def test_typo_region_is_not_a_dns_error(self):
        """In an empty root whose resolver answers nothing (no network reached), eu-wset-1's
        endpoint does not resolve: the region is named, with the nearest real one; exit 2 at
        once, no retries."""
        if os.geteuid() != 0:
            self.skipTest("needs root for chroot")
        root = self.tmpdir()
        shutil.copy2(AWSBOX, os.path.join(root, "awsbox"))
        os.makedirs(os.path.join(root, "etc"))
        with open(os.path.join(root, "etc", "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x", "AWS_EC2_METADATA_DISABLED": "true"}
        chroot = shutil.which("chroot") or "/usr/sbin/chroot"
        for argv, want in ((["ssmget", "--region", "eu-wset-1", "/app/x"], "eu-west-1"),
                           (["secretget", "--region", "us-est-1", "db"], "us-east-1")):
            p = subprocess.run([chroot, root, "/awsbox", *argv], env=env, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, p)
            self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
            self.assertIn(f"region '{argv[2]}' does not exist (did you mean '{want}'?)", p.stderr)
            self.assertNotIn("resolve", p.stderr)
        # a real region that does not resolve here stays a network failure
        p = subprocess.run([chroot, root, "/awsbox", "ssmget", "--region", "eu-west-1", "/app/x"], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 6, p)
        self.assertIn("resolve ssm.eu-west-1.amazonaws.com", p.stderr)

    def test_download_not_found_says_bucket_or_key(self):
        d = self.tmpdir()
        err = self.one_line(self.run("s3cp", "s3://errs/logs/b.txt", os.path.join(d, "b")), 3)
        self.assertEqual(err, "s3cp: HeadObject s3://errs/logs/b.txt: 404 NoSuchKey: no such key 'logs/b.txt' in bucket errs")
        err = self.one_line(self.run("s3cp", "s3://no-such-errs/logs/a.txt", "-"), 3)
        self.assertEqual(err, "s3cp: HeadObject s3://no-such-errs/logs/a.txt: 404 NoSuchBucket: no such bucket 'no-such-errs'")
        self.assertEqual(os.listdir(d), [])

    def test_wildcard_is_not_expanded(self):
        d = self.tmpdir()
        err = self.one_line(self.run("s3cp", "s3://errs/logs/*.txt", d + "/"), 3)
        self.assertIn("no such key 'logs/*.txt' in bucket errs; wildcards are not expanded", err)
        self.assertIn("s3cp -r --include", err)
        err = self.one_line(self.run("s3cp", "-r", "s3://errs/logs/*", d + "/"), 3)
        self.assertEqual(err, "s3cp: nothing under s3://errs/logs/*: wildcards are not expanded; use s3cp -r "
                              "--include REGEX s3://errs/logs/")
        # a key that really holds a '*' is still copied
        self.client("s3").put_object(Bucket="errs", Key="odd/*.txt", Body=b"star")
        self.assertEqual(self.ok(self.run("s3cp", "s3://errs/odd/*.txt", "-")), "star")

    def test_403_keeps_the_services_message(self):
        iam = self.client("iam")
        try:
            iam.create_user(UserName="errs-limited")
        except iam.exceptions.EntityAlreadyExistsException:
            pass
        iam.put_user_policy(UserName="errs-limited", PolicyName="only-identity", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity",
                                                     "Resource": "*"}]}))
        k = iam.create_access_key(UserName="errs-limited")["AccessKey"]
        env = self.env(AWS_ACCESS_KEY_ID=k["AccessKeyId"], AWS_SECRET_ACCESS_KEY=k["SecretAccessKey"])
        self.ok(self.run("awsid", env=env))
        for argv, action in ((["ssmget", "/app/x"], "ssm:GetParameters"),
                             (["secretget", "db"], "secretsmanager:GetSecretValue")):
            err = self.one_line(self.run(*argv, env=env), 4)
            self.assertIn(f"403 AccessDenied: User: arn:aws:iam::{harness.ACCOUNT}:user/errs-limited is not "
                          f"authorized to perform: {action}", err)
        # S3's HEAD answers a refusal with no body: its words come from a one-byte GET
        err = self.one_line(self.run("s3cp", "s3://errs/logs/a.txt", "-", env=env), 4)
        self.assertRegex(err, r"^s3cp: HeadObject s3://errs/logs/a.txt: 403 \w+: \S")
        self.assertNotIn("403 Forbidden", err)

    def test_no_credentials_ends_with_the_fix(self):
        err = self.one_line(self.run("awsid", env=self.env(creds=False)), 4)
        self.assertIn("no credentials found (tried: environment", err)
        self.assertTrue(err.endswith("; to fix: export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... "
                                     "(or AWS_PROFILE=NAME, or run on an instance with a role)"), err)
