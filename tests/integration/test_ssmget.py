"""test_ssmget.py — the ssmget applet (applets/ssmget.c, core/fmt/envout.c, core/base/file.c) against moto
with IAM authentication on. Oracles: boto3 (the values SSM holds, in the order asked), the shells
themselves (eval of --format export, in sh and bash), env(1) -0 (what --exec put in the
environment), python's json and python-dotenv (the json and dotenv formats).

Facts about moto 5.2 that shape these tests: PutParameter refuses an empty value (as AWS does:
the empty value is tested in test_secretget.py); GetParameters answers "a:1" and "a:2" with the
same Name and no Selector, and does not resolve parameter ARNs (AWS does).
Connection reuse and throttling are measured through a verifying front of our own (front.py,
here for ssm) that counts TCP connections and can answer ThrottlingException."""
import io
import json
import os
import random
import re
import shutil
import stat
import subprocess
import uuid

import harness
from harness import AwsboxTestCase
import front as frontmod

P = f"/itest/ssmget-{uuid.uuid4().hex[:8]}"  # names starting "aws" or "ssm" are reserved

# Values that break naive quoting: every format must carry them unchanged.
TRICKY = {
    "single-quote": "it's",
    "only-quotes": "''\"\"",
    "double-quote": 'say "hi"',
    "newline": "line1\nline2",
    "trailing-newlines": "ends\n\n",
    "dollar": "$HOME and ${HOME} and $(id)",
    "backtick": "`id` and \\`x\\`",
    "equals": "a=b=c",
    "unicode": "h\u00e9llo w\u00f6rld \u2713 \U0001F600",
    "backslash": "back\\slash\\n\\",
    "mixed": "'\"$`\\\n=\u00e9 #x",
    "spaces": "  padded  ",
    "hash": "#not a comment",
    "tab": "a\tb",
    "cr": "a\r\nb",
}


def envname(rel):
    """The naming rule of the issue, written independently: non-alphanumerics to '_', upper."""
    n = re.sub(r"[^A-Za-z0-9]", "_", rel).upper()
    return "_" + n if n[:1].isdigit() else n


def parse_env0(b):
    out = {}
    for entry in b.split(b"\0"):
        if entry:
            k, _, v = entry.partition(b"=")
            out[k.decode()] = v.decode()
    return out


class SsmFixture(AwsboxTestCase):
    created = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if SsmFixture.created:
            return
        ssm = harness.client("ssm")
        put = lambda n, v, t="String": ssm.put_parameter(Name=n, Value=v, Type=t, Overwrite=True)
        put(f"{P}/str/plain", "hello")
        put(f"{P}/list", "a,b,c", "StringList")
        put(f"{P}/secure", "s3cr3t-value", "SecureString")
        for k, v in TRICKY.items():
            put(f"{P}/tricky/{k}", v)
        for i in range(15):
            put(f"{P}/big/p{i:02d}", f"top {i}")
        for i in range(6):
            put(f"{P}/big/sub/q{i:02d}", f"sub {i}")
        for i in range(4):
            put(f"{P}/big/sub/deep/r{i:02d}", f"deep {i}")
        for v in ("one", "two", "three", "four"):
            put(f"{P}/ver", v)
        ssm.label_parameter_version(Name=f"{P}/ver", ParameterVersion=1, Labels=["prod"])
        ssm.label_parameter_version(Name=f"{P}/ver", ParameterVersion=3, Labels=["stage"])
        put(f"{P}/coll/db-host", "dash")
        put(f"{P}/coll/db_host", "underscore")
        SsmFixture.created = True

    def oracle(self, *names, decrypt=True):
        """Each name's value, as boto3 reads it one GetParameter at a time."""
        ssm = harness.client("ssm")
        return [ssm.get_parameter(Name=n, WithDecryption=decrypt)["Parameter"]["Value"] for n in names]

    def by_path(self, path, recursive):
        ssm = harness.client("ssm")
        out = {}
        for page in ssm.get_paginator("get_parameters_by_path").paginate(
                Path=path, Recursive=recursive, WithDecryption=True):
            for p in page["Parameters"]:
                out[p["Name"]] = p["Value"]
        return out

    def tricky_expected(self):
        vals = self.by_path(f"{P}/tricky", False)
        self.assertEqual(len(vals), len(TRICKY))
        return {envname(n[len(P) + len("/tricky/"):]): v for n, v in vals.items()}

    def own_front(self):
        """A verifying front for ssm before moto (a): counts connections, can inject errors."""
        f = frontmod.Front(harness.moto_auth().url, services=("ssm", "secretsmanager")).start()
        f.add_key(*harness.key())
        self.addCleanup(f.stop)
        return f


class Values(SsmFixture):
    def test_types_in_order(self):
        names = [f"{P}/secure", f"{P}/str/plain", f"{P}/list"]
        out = self.ok(self.run("ssmget", *names))
        self.assertEqual(out, "".join(v + "\n" for v in self.oracle(*names)))
        self.assertEqual(out, "s3cr3t-value\nhello\na,b,c\n")
        # --no-decrypt: the stored form, as GetParameter without decryption gives it
        out = self.ok(self.run("ssmget", "--no-decrypt", f"{P}/secure"))
        self.assertEqual(out, self.oracle(f"{P}/secure", decrypt=False)[0] + "\n")
        self.assertNotEqual(out, "s3cr3t-value\n")

    def test_n_and_usage(self):
        self.assertEqual(self.ok(self.run("ssmget", "-n", f"{P}/str/plain")), "hello")
        self.assertEqual(self.run("ssmget", "-n", f"{P}/tricky/trailing-newlines").outb, b"ends\n\n")
        for args in (["-n", f"{P}/str/plain", f"{P}/list"], ["-n", "--path", f"{P}/big"],
                     ["-n", "--format", "env", f"{P}/list"], ["--pristine", f"{P}/list"],
                     [f"{P}/list", "--exec"], [f"{P}/list", "--exec", "--"], ["--format", "yaml", f"{P}/list"],
                     ["1X=/a"], ["A-B=/a"], ["X="], ["--recursive", f"{P}/list"], []):
            with self.subTest(args=args):
                r = self.run("ssmget", *args)
                self.assertExit(r, 2)
                self.assertEqual(r.out, "")
                self.assertTrue(r.err.startswith("ssmget: "), r)

    def test_many_names_in_batches_on_one_connection(self):
        f = self.own_front()
        names = [f"{P}/big/p{i:02d}" for i in range(15)] + [f"{P}/big/sub/q{i:02d}" for i in range(6)] + \
                [f"{P}/big/sub/deep/r{i:02d}" for i in range(4)] + [f"{P}/tricky/{k}" for k in list(TRICKY)[:5]]
        random.Random(7).shuffle(names)
        self.assertEqual(len(names), 30)
        r = self.run("ssmget", *names, env=self.env(AWS_ENDPOINT_URL_SSM=f.url))
        self.assertEqual(self.ok(r), "".join(v + "\n" for v in self.oracle(*names)))
        self.assertEqual(f.rejected, [])
        targets = [q.header("x-amz-target") for q in f.requests]
        self.assertEqual(targets, ["AmazonSSM.GetParameters"] * 3)  # 30 names, 10 a request
        self.assertEqual(f.connections, 1, "the three requests should share one connection")
        harness.note(f"30 names: {len(f.requests)} GetParameters requests on {f.connections} TCP connection")

    def test_missing(self):
        r = self.run("ssmget", f"{P}/str/plain", f"{P}/nope-1", f"{P}/list", f"{P}/nope-2")
        self.assertExit(r, 3)
        self.assertEqual(r.out, "")  # nothing half-printed for an eval to act on
        self.assertIn(f"{P}/nope-1", r.err)
        self.assertIn(f"{P}/nope-2", r.err)
        self.assertNotIn(f"{P}/list", r.err)
        r = self.run("ssmget", "--allow-missing", f"{P}/str/plain", f"{P}/nope-1", f"{P}/list")
        self.assertEqual(self.ok(r), "hello\na,b,c\n")
        self.assertIn(f"{P}/nope-1", r.err)
        r = self.run("ssmget", "--quiet", "--allow-missing", f"{P}/nope-1")
        self.assertEqual((r.rc, r.out, r.err), (0, "", ""))
        r = self.run("ssmget", "--path", f"{P}/no-such-path/")
        self.assertExit(r, 3)
        self.assertIn("no-such-path", r.err)

    def test_selectors(self):
        # one request's worth of names that all come back as Name "{P}/ver" (moto sends no
        # Selector): ssmget must not mix them up
        names = [f"{P}/ver:1", f"{P}/ver:2", f"{P}/ver:3", f"{P}/ver:prod", f"{P}/ver:stage", f"{P}/ver",
                 f"{P}/ver:4", f"{P}/list"]
        out = self.ok(self.run("ssmget", *names))
        self.assertEqual(out, "".join(v + "\n" for v in self.oracle(*names)))
        self.assertEqual(out, "one\ntwo\nthree\none\nthree\nfour\nfour\na,b,c\n")
        r = self.run("ssmget", f"{P}/ver:9")
        self.assertExit(r, 3)
        self.assertIn(f"{P}/ver:9", r.err)
        # a name asked for twice prints twice
        self.assertEqual(self.ok(self.run("ssmget", f"{P}/list", f"{P}/list")), "a,b,c\na,b,c\n")
        # explicit names keep the selector's value
        out = self.ok(self.run("ssmget", "--format", "env", f"OLD={P}/ver:1", f"NEW={P}/ver"))
        self.assertEqual(out, "OLD=one\nNEW=four\n")

    def test_debug_shows_no_secret(self):
        r = self.run("ssmget", "--debug", f"{P}/secure")
        self.assertEqual(self.ok(r), "s3cr3t-value\n")
        self.assertIn("GetParameters", r.err)
        self.assertNotIn("s3cr3t-value", r.err)

    def test_throttling_is_retried(self):
        f = self.own_front()
        seen = []

        def throttle(req):
            seen.append(req.header("x-amz-target"))
            if len(seen) <= 2:
                return (400, [("Content-Type", "application/x-amz-json-1.1")],
                        json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode())
            return None
        f.on_request = throttle
        r = self.run("ssmget", f"{P}/str/plain", env=self.env(AWS_ENDPOINT_URL_SSM=f.url))
        self.assertEqual(self.ok(r), "hello\n")
        self.assertEqual(seen, ["AmazonSSM.GetParameters"] * 3)
        # once the attempts run out, the throttling error is reported
        f.on_request = lambda req: (400, [("Content-Type", "application/x-amz-json-1.1")],
                                    json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode())
        r = self.run("ssmget", f"{P}/str/plain", env=self.env(AWS_ENDPOINT_URL_SSM=f.url, AWS_MAX_ATTEMPTS="2"))
        self.assertExit(r, 1)
        self.assertIn("ThrottlingException", r.err)


class Paths(SsmFixture):
    def test_path_pages_and_nesting(self):
        f = self.own_front()
        env = self.env(AWS_ENDPOINT_URL_SSM=f.url)
        for recursive, count in ((False, 15), (True, 25)):
            with self.subTest(recursive=recursive):
                f.reset()
                want = self.by_path(f"{P}/big", recursive)
                self.assertEqual(len(want), count)
                args = ["--path", f"{P}/big/"] + (["--recursive"] if recursive else [])
                out = self.ok(self.run("ssmget", *args, env=env))
                self.assertEqual(out, "".join(want[n] + "\n" for n in sorted(want)))
                pages = [q for q in f.requests if q.header("x-amz-target") == "AmazonSSM.GetParametersByPath"]
                self.assertEqual(len(pages), 2 if count <= 20 else 3)  # 10 a page
                self.assertEqual(f.connections, 1)
                env_out = self.ok(self.run("ssmget", "--format", "env", *args, env=env))
                self.assertEqual(env_out, "".join(f"{envname(n[len(P) + 5:])}={want[n]}\n" for n in sorted(want)))
        self.assertIn("SUB_DEEP_R03=deep 3\n", env_out)
        # the path's trailing slash does not matter; explicit names mix with paths, in order
        out = self.ok(self.run("ssmget", "--format", "json", f"X={P}/str/plain", "--path", f"{P}/big/sub/deep"))
        self.assertEqual(json.loads(out), {"X": "hello", "R00": "deep 0", "R01": "deep 1", "R02": "deep 2", "R03": "deep 3"})
        self.assertEqual(list(json.loads(out)), ["X", "R00", "R01", "R02", "R03"])

    def test_collision(self):
        for fmt in ("env", "export", "json", "dotenv"):
            with self.subTest(fmt=fmt):
                r = self.run("ssmget", "--format", fmt, "--path", f"{P}/coll")
                self.assertExit(r, 2)
                self.assertEqual(r.out, "")
                self.assertIn(f"{P}/coll/db-host", r.err)
                self.assertIn(f"{P}/coll/db_host", r.err)
                self.assertIn("DB_HOST", r.err)
        r = self.run("ssmget", f"{P}/coll/db-host", f"{P}/coll/db_host", "--exec", "--", "env")
        self.assertExit(r, 2)
        # plain values need no names; explicit names resolve it
        self.assertEqual(self.ok(self.run("ssmget", "--path", f"{P}/coll")), "dash\nunderscore\n")
        out = self.ok(self.run("ssmget", "--format", "env", f"A={P}/coll/db-host", f"DB_HOST={P}/coll/db_host"))
        self.assertEqual(out, "A=dash\nDB_HOST=underscore\n")


class Formats(SsmFixture):
    def test_value_env_json(self):
        want = self.tricky_expected()
        base = ["ssmget", "--path", f"{P}/tricky"]
        # value and env: the bytes, in name order (sorted by parameter name)
        names = sorted(f"{P}/tricky/{k}" for k in TRICKY)
        vals = dict(zip(names, self.oracle(*names)))
        self.assertEqual(self.run(*base).outb, "".join(vals[n] + "\n" for n in names).encode())
        self.assertEqual(self.run(*base, "--format", "env").outb,
                         "".join(f"{envname(n.rsplit('/', 1)[1])}={vals[n]}\n" for n in names).encode())
        got = json.loads(self.ok(self.run(*base, "--format", "json")))
        self.assertEqual(got, want)

    def test_export_eval_in_shells(self):
        want = self.tricky_expected()
        dump = "import json, os, sys; print(json.dumps({k: os.environ.get(k) for k in sys.argv[1:]}))"
        for shell in ("sh", "bash", "dash"):
            if not shutil.which(shell):
                continue
            with self.subTest(shell=shell):
                script = f'eval "$(ssmget --format export --path {P}/tricky)" && exec python3 -c "$0" "$@"'
                r = self.run(shell, "-c", script, dump, *want)
                self.assertEqual(json.loads(self.ok(r)), want)

    def dotenv_names(self):
        """The tricky parameters dotenv can hold: python-dotenv replaces ${...} whatever the quoting."""
        return [f"{P}/tricky/{k}" for k, v in TRICKY.items() if "${" not in v]

    def test_dotenv_with_python_dotenv(self):
        from dotenv import dotenv_values
        want = {k: v for k, v in self.tricky_expected().items() if "${" not in v}
        out = self.ok(self.run("ssmget", "--format", "dotenv", *self.dotenv_names()))
        for interpolate in (False, True):
            with self.subTest(interpolate=interpolate):
                self.assertEqual(dict(dotenv_values(stream=io.StringIO(out), interpolate=interpolate)), want)
        # a value python-dotenv would change is refused, by name, before anything is written
        r = self.run("ssmget", "--format", "dotenv", "--path", f"{P}/tricky")
        self.assertExit(r, 2)
        self.assertEqual(r.out, "")
        self.assertIn("DOLLAR", r.err)
        self.assertIn("${...}", r.err)

    def test_output_file(self):
        d = self.tmpdir()
        path = os.path.join(d, "app.env")
        with open(path, "w") as fh:
            fh.write("old")
        os.chmod(path, 0o644)
        r = self.run("ssmget", "--format", "dotenv", "--output", path, *self.dotenv_names())
        self.assertEqual(self.ok(r), "")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as fh:
            text = fh.read()
        self.assertEqual(text, self.ok(self.run("ssmget", "--format", "dotenv", *self.dotenv_names())))
        self.assertEqual(sorted(os.listdir(d)), ["app.env"])
        # a failure leaves the old file alone and no temporary file behind
        r = self.run("ssmget", "--output", path, f"{P}/nope")
        self.assertExit(r, 3)
        with open(path) as fh:
            self.assertEqual(fh.read(), text)
        self.assertEqual(sorted(os.listdir(d)), ["app.env"])


class Exec(SsmFixture):
    def test_exec_env(self):
        want = self.tricky_expected()
        env = self.env(AWSBOX_MARK="inherited", NEWLINE="overridden")
        r = self.run("ssmget", "--path", f"{P}/tricky", "--exec", "--", "env", "-0", env=env)
        got = parse_env0(r.outb)
        self.assertExit(r, 0)
        for k, v in want.items():
            self.assertEqual(got.get(k), v, k)
        self.assertEqual(got.get("AWSBOX_MARK"), "inherited")
        self.assertEqual(r.outb.count(b"\0NEWLINE=") + r.outb.startswith(b"NEWLINE="), 1)
        # --pristine: nothing but the fetched values
        r = self.run("ssmget", "--pristine", "--path", f"{P}/tricky", "--exec", "--", "env", "-0", env=env)
        self.assertExit(r, 0)
        self.assertEqual(parse_env0(r.outb), want)
        # --format env prints what env(1) shows of the same environment
        r = self.run("ssmget", "--pristine", f"H={P}/str/plain", f"L={P}/list", "--exec", "--", "env", env=env)
        self.assertEqual(self.ok(r), self.ok(self.run("ssmget", "--format", "env", f"H={P}/str/plain", f"L={P}/list")))

    def test_exec_replaces_the_process(self):
        env = self.env()
        argv = [str(harness.S.bin / "ssmget"), f"{P}/str/plain", "--exec", "--", "sh", "-c", 'echo "$$ $PLAIN"']
        p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out.decode(), f"{p.pid} hello\n")  # the same process: exec, not fork
        r = self.run("ssmget", f"{P}/str/plain", "--exec", "--", "sh", "-c", "exit 7")
        self.assertEqual(r.rc, 7)
        r = self.run("ssmget", f"{P}/str/plain", "--exec", "--", "sh", "-c", "kill -TERM $$")
        self.assertEqual(r.rc, -15)
        r = self.run("ssmget", f"{P}/str/plain", "--exec", "--", "awsbox-no-such-command")
        self.assertExit(r, 127)
        self.assertIn("awsbox-no-such-command", r.err)
        # nothing runs when a value is missing
        r = self.run("ssmget", f"{P}/nope", "--exec", "--", "sh", "-c", "echo ran")
        self.assertExit(r, 3)
        self.assertEqual(r.out, "")
