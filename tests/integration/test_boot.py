"""A boot, end to end: an EC2 user-data style script with no credentials and no region in its
environment, only an instance-metadata stand-in (IMDSv2 required) holding the instance role's
credentials and the region. It fetches the app from S3 into tar, a secret into a 0600 file, runs
a command with SSM parameters in its environment, mints an RDS token and announces itself on SQS,
every applet through its symlink. Each result is checked against boto3/botocore."""
import json
import os
import shutil
import subprocess
import unittest

import harness
from harness import AwsboxTestCase

REGION = "eu-west-1"  # not the harness's: proves the region came from instance metadata

USER_DATA = r"""#!/bin/sh
set -eu
cd "$WORK"
s3cp s3://boot-deploy/releases/app.tar.gz - | tar xzf -
test "$(cat app/VERSION)" = 1.2.3
secretget boot/db --output "$WORK/db.json"
ssmget --path /boot/app/ --exec -- sh -c 'printf "%s %s\n" "$PORT" "$MODE" > "$WORK/env.txt"'
AWSBOX_NOW=2024-01-01T00:00:00Z rdstoken mydb.c1x2y3.eu-west-1.rds.amazonaws.com:5432 app_user > "$WORK/token"
sqssend boot-ready "ready $(cat app/VERSION)" > "$WORK/msgid"
echo booted
"""


# The same boot in an empty root: the binary, its links, and a static busybox for the shell
# (a script needs one); no /etc, no /proc, no CA bundle. imds gives what curl would have.
USER_DATA_SCRATCH = r"""set -eu
imds --wait 30s
id=$(imds instance-id)
name=$(imds tags/instance/Name)
mkdir -p /work && cd /work
s3cp s3://boot-deploy/releases/app.tar.gz - | tar xzf -
test "$(cat app/VERSION)" = 1.2.3
secretget boot/db --output /run/secrets/db.json
ssmget --path /boot/app/ --exec -- sh -c 'printf "%s %s\n" "$PORT" "$MODE" > /work/env.txt'
AWSBOX_NOW=2024-01-01T00:00:00Z rdstoken mydb.c1x2y3.eu-west-1.rds.amazonaws.com:5432 app_user --env DB_PASSWORD \
  --exec -- sh -c 'printf "%s" "$DB_PASSWORD" > /work/token'
awsid --format json > /work/identity.json
sqssend boot-ready "ready $id $name $(cat app/VERSION)" > /work/msgid
if imds --spot > /work/spot; then echo "spot notice"; fi
echo booted
"""


class Boot(AwsboxTestCase):
    def setUp(self):
        super().setUp()
        self.creds = harness.temp_creds(session="i-0boot")
        s3 = self.client("s3", region=REGION)
        try:
            s3.create_bucket(Bucket="boot-deploy", CreateBucketConfiguration={"LocationConstraint": REGION})
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        s3.put_object(Bucket="boot-deploy", Key="releases/app.tar.gz", Body=harness.targz({"app/VERSION": b"1.2.3\n"}))
        sm = self.client("secretsmanager", region=REGION)
        self.secret = {"user": "app", "password": "p'w$d\"`x"}
        try:
            sm.create_secret(Name="boot/db", SecretString=json.dumps(self.secret))
        except sm.exceptions.ResourceExistsException:
            sm.put_secret_value(SecretId="boot/db", SecretString=json.dumps(self.secret))
        ssm = self.client("ssm", region=REGION)
        ssm.put_parameter(Name="/boot/app/port", Value="8080", Type="String", Overwrite=True)
        ssm.put_parameter(Name="/boot/app/mode", Value="prod", Type="SecureString", Overwrite=True)
        self.queue = self.client("sqs", region=REGION).create_queue(QueueName="boot-ready")["QueueUrl"]

    def test_user_data_script(self):
        imds = self.imds("v2-required", creds=self.creds, region=REGION)
        work = self.tmpdir()
        env = self.env(creds=False, AWS_REGION=None, WORK=work, **imds.env())
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
            self.assertNotIn(k, env)
        r = self.run("sh", "-c", USER_DATA, env=env, timeout=120)
        self.assertEqual(r.rc, 0, str(r))
        self.assertEqual(r.out.strip(), "booted")

        # the secret: exact, 0600
        path = os.path.join(work, "db.json")
        self.assertEqual(json.loads(open(path).read()), self.secret)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        # the parameters reached the exec'd command's environment (SecureString decrypted)
        self.assertEqual(open(os.path.join(work, "env.txt")).read(), "8080 prod\n")
        # the token: botocore's, for the instance role's credentials, the region in the host name
        import botocore.auth
        import botocore.session
        from datetime import datetime, timezone
        from unittest import mock
        sess = botocore.session.get_session()
        sess.set_credentials(self.creds["AccessKeyId"], self.creds["SecretAccessKey"], self.creds["SessionToken"])
        with mock.patch.object(botocore.auth, "get_current_datetime",
                               return_value=datetime(2024, 1, 1, tzinfo=timezone.utc).replace(tzinfo=None)):
            want = sess.create_client("rds", region_name=REGION).generate_db_auth_token(
                "mydb.c1x2y3.eu-west-1.rds.amazonaws.com", 5432, "app_user")
        self.assertEqual(open(os.path.join(work, "token")).read().strip(), want)
        # the ready message, under the MessageId sqssend printed
        msgid = open(os.path.join(work, "msgid")).read().strip()
        msgs = self.client("sqs", region=REGION).receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10,
                                                                 WaitTimeSeconds=1).get("Messages", [])
        self.assertIn((msgid, "ready 1.2.3"), [(m["MessageId"], m["Body"]) for m in msgs])

        # credentials and region came from the metadata service, over IMDSv2
        paths = imds.paths()
        self.assertIn(("PUT", "/latest/api/token"), paths)
        self.assertIn(("GET", "/latest/meta-data/placement/region"), paths)
        self.assertIn(("GET", "/latest/meta-data/iam/security-credentials/awsbox-role"), paths)
        # S3 was signed with the role's temporary key, for the metadata's region
        self.assertFrontClean(min_verified=1)
        signed = [q for q in harness.front().requests
                  if q.akid == self.creds["AccessKeyId"] and f"/{REGION}/s3/" in (q.header("authorization") or "")]
        self.assertTrue(signed, "the front saw no S3 request signed with the instance role's key for " + REGION)


    def test_user_data_in_an_empty_root(self):
        if os.geteuid() != 0:
            self.skipTest("needs root for chroot")
        imds = self.imds("v2-required", creds=self.creds, region=REGION, tags={"Name": "web-1"})
        root = self.tmpdir()
        shutil.copy2(harness.AWSBOX, os.path.join(root, "awsbox"))
        os.mkdir(os.path.join(root, "bin"))
        shutil.copy2("/bin/busybox", os.path.join(root, "bin", "busybox"))
        chroot = shutil.which("chroot") or "/usr/sbin/chroot"
        for argv in (["/bin/busybox", "--install", "-s", "/bin"], ["/awsbox", "--install", "/bin"]):
            p = subprocess.run([chroot, root, *argv], env={}, capture_output=True, text=True)
            self.assertEqual((p.returncode, p.stderr), (0, ""), argv)
        self.assertEqual(sorted(e for e in os.listdir(root)), ["awsbox", "bin"], "the root holds more than it should")
        for name in harness.applets():
            self.assertEqual(os.readlink(os.path.join(root, "bin", name)), "/awsbox")
        self.assertFalse(os.path.lexists(os.path.join(root, "bin", "whoami")) and
                         os.readlink(os.path.join(root, "bin", "whoami")) == "/awsbox")
        env = {"PATH": "/bin", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url,
               "AWS_ENDPOINT_URL": harness.moto_auth().url, "AWS_ENDPOINT_URL_S3": harness.front().url}
        p = subprocess.run([chroot, root, "/bin/sh", "-c", USER_DATA_SCRATCH], env=env, capture_output=True,
                           text=True, timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "booted\n", ""))
        self.assertFalse(os.path.exists(os.path.join(root, "etc")) or os.path.exists(os.path.join(root, "proc")))
        work = os.path.join(root, "work")
        path = os.path.join(root, "run", "secrets", "db.json")
        self.assertEqual(json.loads(open(path).read()), self.secret)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        self.assertEqual(open(os.path.join(work, "env.txt")).read(), "8080 prod\n")
        self.assertTrue(open(os.path.join(work, "token")).read().startswith(
            "mydb.c1x2y3.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app_user&"))
        self.assertIn(":assumed-role/", json.loads(open(os.path.join(work, "identity.json")).read())["Arn"])
        msgid = open(os.path.join(work, "msgid")).read().strip()
        msgs = self.client("sqs", region=REGION).receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10,
                                                                 WaitTimeSeconds=1).get("Messages", [])
        self.assertIn((msgid, "ready i-0123456789abcdef0 web-1 1.2.3"), [(m["MessageId"], m["Body"]) for m in msgs])
        # over IMDSv2 only, one token for each process that asked
        self.assertTrue(all(q["headers"].get("x-aws-ec2-metadata-token") in imds.tokens
                            for q in imds.requests if q["method"] == "GET"))
        self.assertIn(("GET", "/latest/meta-data/tags/instance/Name"), imds.paths())
        self.assertFrontClean(min_verified=1)


if __name__ == "__main__":
    unittest.main()
