"""test_readme.py — every shell example in README.md runs, as README has it (the blocks are read
from README.md when the test runs, never copied here), each in README's order with `sh -e`, and
every container ENTRYPOINT of a ```dockerfile block is run as its exec form.

Where they run: an empty root entered with chroot (as in scripts/scratch-check) holding a static
busybox (the shell and the usual commands), the awsbox binary with its links made by
`awsbox --install` there, jq and zstd copied from this machine with their libraries, and stubs for
what is not ours to run (make: the build and this very test are what it would start; docker: no
engine here; psql, mysql, pg_dump, systemctl, journalctl, alert, /app/server): each stub records its arguments and the
password variables it was given in /tmp/calls.log. AWS is moto and the verifying front (S3,
Lambda), the SSM stand-in for ssmrun, the IMDSv2 stand-in for imds; the buckets, parameters,
secrets, queues, functions, documents and instances the examples name are made first. Paths such
as /etc/app and /opt/app are the chroot's own."""
import gzip
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import threading
import time

import front as frontmod
import harness
import ssmstandin
import standins
from harness import AWSBOX, ROOT, AwsboxTestCase

DB_HOST = "mydb.c1x2y3.eu-west-1.rds.amazonaws.com"


SERVICES = "<!-- services: each command runs until it is stopped -->"


def blocks():
    """[(lang, heading, text)] of README's ```sh and ```dockerfile blocks, in order; lang is
    "services" for a sh block that README marks as long-running commands (SERVICES above it)."""
    text = (ROOT / "README.md").read_text()
    out, heading = [], ""
    for m in re.finditer(r"^(#{1,3} [^\n]*)$|^```(sh|dockerfile)\n(.*?)^```$", text, re.M | re.S):
        if m.group(1):
            heading = re.sub(r'<a id="[^"]*"></a>', "", m.group(1).lstrip("# ")).strip()
        else:
            before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            out.append(("services" if before == SERVICES else m.group(2), heading, m.group(3)))
    return out


def commands(text):
    """The commands of a sh block: continuation lines joined, comments and blank lines left out."""
    return [c for c in re.sub(r"\\\n", " ", text).splitlines() if c.strip() and not c.lstrip().startswith("#")]


STUB = r"""#!/bin/sh
{ printf '%s' "$(basename "$0")"; for a in "$@"; do printf ' [%s]' "$a"; done; echo
  for v in PGPASSWORD MYSQL_PWD DB_PASSWORD DB_URL PORT API_KEY PASSWORD; do
    eval "x=\${$v-}"; [ -z "$x" ] || echo "  $v=$x"; done; } >> /tmp/calls.log
case "$(basename "$0")" in
pg_dump) echo "-- a dump of $*" ;;
journalctl) printf '{"event":1}\n{"event":2}\n{"event":3}\n' ;;
esac
exit 0
"""


def copy_tool(root, path):
    """A host program and the shared libraries it needs, at the same paths under root."""
    files = [path]
    p = subprocess.run(["ldd", path], capture_output=True, text=True)
    files += re.findall(r"(/\S+) \(0x", p.stdout)
    for f in files:
        dst = os.path.join(root, f.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.realpath(f), dst)


class ReadmeExamples(AwsboxTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.geteuid() != 0:
            raise __import__("unittest").SkipTest("needs root for chroot")
        if not os.path.exists("/bin/busybox") or "static" not in subprocess.run(
                ["file", "-L", "/bin/busybox"], capture_output=True, text=True).stdout:
            raise AssertionError("a static /bin/busybox is needed (scripts/deps installs busybox-static)")
        cls.root = root = harness.tempfile.mkdtemp(dir=harness.S.tmp, prefix="readme-root-")
        cls.chroot = shutil.which("chroot") or "/usr/sbin/chroot"
        shutil.copy2(AWSBOX, os.path.join(root, "awsbox"))
        for d in ("bin", "usr/bin", "usr/local/bin", "tmp", "opt/app", "data/outbox", "work", "srv", "root/.aws",
                  "app", "etc/rds"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        shutil.copy2("/bin/busybox", os.path.join(root, "bin", "busybox"))
        os.makedirs(os.path.join(root, "dev"))
        os.mknod(os.path.join(root, "dev", "null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        cls.sh([cls.chroot, root, "/bin/busybox", "--install", "-s", "/bin"])
        cls.sh([cls.chroot, root, "/awsbox", "--install", "/usr/local/bin"])
        for tool in ("jq", "zstd"):
            copy_tool(root, shutil.which(tool))
        for name in ("make", "docker", "psql", "mysql", "pg_dump", "systemctl", "journalctl", "alert"):
            cls.write(f"usr/bin/{name}", STUB, 0o755)
        cls.write("app/server", STUB, 0o755)
        cls.write("server", STUB, 0o755)
        for name in ("process", "work.sh", "ingest"):
            cls.write(f"srv/{name}", STUB, 0o755)
        cls.write("opt/app/process-order", STUB, 0o755)
        cls.write("var/log/orders/new.jsonl", '{"order": 1}\n{"order": 2}\n')
        os.symlink("/awsbox", os.path.join(root, "srv", "awsbox"))
        cls.write("srv/report.pdf", "%PDF-1.4 report\n")
        cls.write("srv/message.json", '{"job": 1}\n')
        with open(os.path.join(root, "srv", "events.gz"), "wb") as f:
            f.write(gzip.compress(b'{"e":1}\n{"e":2}\n'))
        cls.write("data/outbox/a.csv", "a,1\n")
        cls.write("data/outbox/b.csv", "b,2\n")
        cls.write("data/outbox/notes.txt", "not a csv\n")
        cls.write("etc/rds/global-bundle.pem", "")
        akid, secret = harness.key()
        cls.write("root/.aws/credentials", f"[default]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n")
        cls.write("root/.aws/config", f"[profile prod]\nrole_arn = {harness.ROLE_ARN}\nsource_profile = default\n")
        cls.fixtures()

    @classmethod
    def sh(cls, argv, **kw):
        p = subprocess.run(argv, env={}, capture_output=True, text=True, timeout=60, **kw)
        if p.returncode:
            raise AssertionError(f"{argv}: exit {p.returncode}: {p.stderr}")
        return p

    @classmethod
    def write(cls, rel, text, mode=0o644):
        path = os.path.join(cls.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    @classmethod
    def fixtures(cls):
        s3 = harness.client("s3")
        for b in ("deploy", "backups", "partner-in", "archive", "config", "drop", "logs"):
            try:
                s3.create_bucket(Bucket=b)
            except s3.exceptions.BucketAlreadyOwnedByYou:
                pass
        s3.put_object(Bucket="deploy", Key="app-1.4.2.tar.gz", Body=harness.targz({"VERSION": b"1.4.2\n"}))
        s3.put_object(Bucket="drop", Key="incoming/orders.csv", Body=b"id,qty\n1,2\n")  # ages from now on
        s3.put_object(Bucket="config", Key="prod/app.yaml", Body=b"port: 8080\n")
        s3.put_object(Bucket="partner-in", Key="batch-42/x.csv", Body=b"x\n")
        s3.put_object(Bucket="partner-in", Key="batch-42.fin", Body=b"")
        s3.put_object(Bucket="logs", Key="ingest/today.log", Body=b"ok\n")
        ssm = harness.client("ssm")
        for name, value in (("/app/prod/db-url", "postgres://db/app"), ("/app/prod/db/host", "db.internal"),
                            ("/app/prod/db/port", "5432")):
            ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
        for i in range(3):
            ssm.put_parameter(Name="/app/prod/api-key", Value=f"key-v{i + 1}", Type="SecureString", Overwrite=True)
        sm = harness.client("secretsmanager")
        for name, value in (("prod/tls", {"key": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"}),
                            ("prod/db", {"host": "db.internal", "user": "app", "password": "s3cr'et"}),
                            ("prod/api", {"token": "api-token"})):
            try:
                sm.create_secret(Name=name, SecretString=json.dumps(value))
            except sm.exceptions.ResourceExistsException:
                sm.put_secret_value(SecretId=name, SecretString=json.dumps(value))
        for region in (harness.REGION, "eu-west-1"):
            harness.client("sqs", region=region).create_queue(QueueName="jobs")
        sqs = harness.client("sqs")
        for q in ("events", "orders", "uploads"):
            sqs.create_queue(QueueName=q)
        dlq = sqs.create_queue(QueueName="lambda-dlq")["QueueUrl"]
        for i in range(12):
            sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"failed": i}))
        sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})
        lam = harness.client("lambda")
        have = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
        for fn in ("resize-image", "nightly-report", "db-migrate", "warm-cache"):
            if fn not in have:
                harness.create_lambda(fn)
        keys = frontmod.Keys()
        keys.add(*harness.key())
        cls.ssm = ssmstandin.SsmStandin(keys).start()
        harness.at_exit(cls.ssm.stop)
        quick = [(0, "Pending"), (0.05, "InProgress", "step1"), (0.1, "Success")]
        cls.ssm.document("AWS-StartEC2Instance", schedule=quick)
        cls.ssm.document("AWS-RestartEC2Instance", schedule=quick)
        cls.ssm.document("AWS-CreateImage", schedule=quick, outputs={"createImage.ImageId": ["ami-0123456789abcdef0"]})
        cls.ssm.instance("i-0123456789abcdef0", tags={"Role": "web"}, stdout="ok\n",
                         schedule=[(0, "Pending"), (0.05, "InProgress"), (0.1, "Success")])
        cls.imds = standins.IMDS(harness.temp_creds(), mode="v2-required").start()
        harness.at_exit(cls.imds.stop)
        cls.imds.spot_action = {"action": "terminate", "time": "2026-12-06T08:24:00Z"}

    def block_env(self, heading):
        env = self.env(HOME="/root", PATH="/usr/local/bin:/usr/bin:/bin", AWS_CONFIG_FILE="/root/.aws/config",
                       AWS_SHARED_CREDENTIALS_FILE="/root/.aws/credentials", DB_HOST=DB_HOST, ID="42",
                       ORDER_ID="o-1", ORDER_JSON='{"order": 1}', TMPDIR="/tmp", AWSBOX_POLL_SCALE="0.02")
        for k in [k for k in env if k.startswith(("SSL_", "LD_", "PYTHON"))]:
            del env[k]
        if heading.startswith("ssmrun"):
            env["AWS_ENDPOINT_URL_SSM"] = self.ssm.url
        if heading.startswith("imds"):
            env.pop("AWS_EC2_METADATA_DISABLED", None)
            env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = self.imds.url
        return env

    def calls(self):
        path = os.path.join(self.root, "tmp", "calls.log")
        return open(path).read() if os.path.exists(path) else ""

    def run_block(self, lang, heading, text):
        open(os.path.join(self.root, "tmp", "calls.log"), "w").close()
        env = self.block_env(heading)
        if lang == "services":
            return self.run_services(heading, text, env)
        if lang == "sh":
            argvs = [["/bin/sh", "-e", "-c", "cd /srv\n" + text]]
        else:
            argvs = [json.loads(m) for m in re.findall(r"^ENTRYPOINT (\[.*\])$", text, re.M)]
            self.assertTrue(argvs, f"no ENTRYPOINT in:\n{text}")
        results = []
        for argv in argvs:
            p = subprocess.run([self.chroot, self.root, *argv], env=env, capture_output=True, text=True, timeout=90,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 0, f"README example under '{heading}' failed (exit {p.returncode}):\n"
                                               f"{text}\n--- stdout ---\n{p.stdout}\n--- stderr ---\n{p.stderr}\n"
                                               f"--- calls ---\n{self.calls()}")
            results.append(p)
        return results

    def run_services(self, heading, text, env):
        """Each command of the block at once, as the separate services they are; each must still
        be running (or have ended well) after a few seconds, and stop on SIGTERM."""
        procs = [subprocess.Popen([self.chroot, self.root, "/bin/sh", "-c", "cd /srv\n" + c], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                                  stdin=subprocess.DEVNULL) for c in commands(text)]
        self.assertTrue(procs)
        time.sleep(5)
        early = [(c, p.returncode) for c, p in zip(commands(text), procs) if p.poll() not in (None, 0)]
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        outs = [p.communicate(timeout=60) for p in procs]
        self.assertEqual(early, [], f"README services under '{heading}' ended early:\n{text}\n{outs}")
        return [subprocess.CompletedProcess(p.args, p.returncode, o, e) for p, (o, e) in zip(procs, outs)]

    def test_examples(self):
        found = blocks()
        self.assertGreaterEqual(len(found), 14, "README's examples were not found")
        checked = set()
        for i, (lang, heading, text) in enumerate(found):
            with self.subTest(block=i, heading=heading):
                updater, done = None, threading.Event()
                if "--since now" in text:  # new versions keep arriving while the block runs
                    def put():
                        while not done.wait(2):
                            harness.client("s3").put_object(Bucket="config", Key="prod/app.yaml", Body=b"port: 8081\n")
                    updater = threading.Thread(target=put)
                    updater.start()
                try:
                    res = self.run_block(lang, heading, text)
                finally:
                    done.set()
                    if updater:
                        updater.join()
                out, calls = "".join(p.stdout for p in res), self.calls()
                name = heading.split(" ")[0]
                check = getattr(self, f"check_{name}", None)
                if check and lang in ("sh", "services"):
                    check(text, out, calls)
                    checked.add(name)
        self.assertGreaterEqual(checked, {"s3cp", "ssmget", "rdstoken", "imds", "awsid", "secretget"})

    # What some blocks must have done, beyond exiting 0.
    def check_s3cp(self, text, out, calls):
        self.assertEqual(open(os.path.join(self.root, "opt/app/VERSION")).read(), "1.4.2\n")
        self.assertEqual(sorted(os.listdir(os.path.join(self.root, "data/outbox"))), ["notes.txt"])
        self.assertIn("server", calls)

    def check_ssmget(self, text, out, calls):
        if "--output /etc/app/app.env" in text:
            env = os.path.join(self.root, "etc/app/app.env")
            self.assertEqual(os.stat(env).st_mode & 0o777, 0o600)
            self.assertIn('DB_URL="postgres://db/app"', open(env).read())
            self.assertIn("DB_URL=postgres://db/app", calls)
        else:
            self.assertIn("db.internal\n5432\n", out)

    def check_secretget(self, text, out, calls):
        key = os.path.join(self.root, "etc/ssl/private/app.key")
        self.assertTrue(open(key).read().startswith("-----BEGIN PRIVATE KEY-----"))
        self.assertIn("psql [-h] [db.internal]", calls)
        self.assertIn("PGPASSWORD=s3cr'et", calls)

    def check_rdstoken(self, text, out, calls):
        for var in ("PGPASSWORD", "MYSQL_PWD"):
            self.assertRegex(calls, rf"{var}={re.escape(DB_HOST)}:(5432|3306)/\?Action=connect&DBUser=app&X-Amz-")

    def check_awsid(self, text, out, calls):
        self.assertIn(harness.USER_ARN, out)
        self.assertIn(f":assumed-role/{harness.ROLE}/", out)

    def check_sqsrecv(self, text, out, calls):
        if "process-order" in text:  # the fleet: what the feeder sent, a worker ran
            self.assertIn('process-order', calls)

    def check_imds(self, text, out, calls):
        self.assertIn("i-0123456789abcdef0 in us-east-1\n", out)
        self.assertIn("interrupted\n", out)
