"""test_secretget.py — the secretget applet (applets/secretget.c, core/fmt/jquery.c, core/fmt/envout.c,
core/base/file.c) against moto with IAM authentication on. Oracles: boto3 (what the secret holds),
python's json (the value a query path names, computed by indexing the parsed document in Python,
and the JSON text a number, boolean, object or array must print as), the shells (eval of
--format export), env(1) -0 (--exec), python-dotenv (--format dotenv).
Connection reuse is counted by a verifying front of our own (front.py) before moto."""
import io
import json
import os
import stat
import uuid

import harness
from harness import AwsboxTestCase
import front as frontmod

S = f"itest/secretget-{uuid.uuid4().hex[:8]}"

DOC = {
    "foo": {"bar": ["a", "b"]},
    "key.with.dots": {"x": [1, {"y": "deep"}], "a.b": {"c": "dotted"}},
    "n": 42, "f": -3.25, "t": True, "fa": False, "z": None,
    "arr": [[0, 1], {"k": "v", "e": []}],
    "uni": "h\u00e9llo \u2713 \U0001F600",
    "user name": "spaced",
    "empty": "",
    "quote'd": "it's \"quoted\"",
}

TRICKY = {
    "single-quote": "it's", "double-quote": 'say "hi"', "newline": "line1\nline2", "trailing": "ends\n\n",
    "dollar": "$HOME and ${HOME} and $(id)", "backtick": "`id`", "equals": "a=b=c",
    "unicode": "h\u00e9llo \u2713 \U0001F600", "backslash": "C:\\dir\\", "mixed": "'\"$`\\\n=\u00e9 #x",
    "empty": "", "spaces": "  padded  ", "cr": "a\r\nb",
}

BINARY = bytes(range(256)) * 3 + b"\n\0\r\n"


def envname(key):
    import re
    n = re.sub(r"[^A-Za-z0-9]", "_", key).upper()
    return "_" + n if n[:1].isdigit() else n


def jtext(v):
    """What a query prints: a string raw, anything else as compact JSON text."""
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


def parse_env0(b):
    out = {}
    for entry in b.split(b"\0"):
        if entry:
            k, _, v = entry.partition(b"=")
            out[k.decode()] = v.decode()
    return out


class SecretFixture(AwsboxTestCase):
    created = False
    ids = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if SecretFixture.created:
            return
        sm = harness.client("secretsmanager")
        ids = SecretFixture.ids
        mk = lambda name, **kw: ids.__setitem__(name, sm.create_secret(Name=f"{S}/{name}", **kw))
        mk("plain", SecretString="hunter2 it's \"q\"")
        mk("doc", SecretString=json.dumps(DOC, indent=2))  # whitespace that compaction must drop
        mk("binary", SecretBinary=BINARY)
        mk("tricky", SecretString=json.dumps(TRICKY))
        mk("tricky-dotenv", SecretString=json.dumps({k: v for k, v in TRICKY.items() if "${" not in v}))
        mk("extra", SecretString=json.dumps({"x-y": "1", "nested": {"a": [1, "two"]}, "num": 5}))
        mk("c1", SecretString=json.dumps({"db-host": "a"}))
        mk("c2", SecretString=json.dumps({"DB_HOST": "b"}))
        mk("self-collide", SecretString=json.dumps({"a-b": "1", "a_b": "2"}))
        mk("ver", SecretString="v1")
        SecretFixture.v1 = ids["ver"]["VersionId"]
        sm.put_secret_value(SecretId=f"{S}/ver", SecretString="v2")
        for i in range(5):
            mk(f"many{i}", SecretString=json.dumps({f"k{i}": f"value {i}"}))
        SecretFixture.created = True

    def value(self, name, **kw):
        r = harness.client("secretsmanager").get_secret_value(SecretId=f"{S}/{name}", **kw)
        return r.get("SecretString", r.get("SecretBinary"))

    def own_front(self):
        f = frontmod.Front(harness.moto_auth().url, services=("ssm", "secretsmanager")).start()
        f.add_key(*harness.key())
        self.addCleanup(f.stop)
        return f


class Raw(SecretFixture):
    def test_string_and_n(self):
        want = self.value("plain")
        self.assertEqual(self.ok(self.run("secretget", f"{S}/plain")), want + "\n")
        self.assertEqual(self.ok(self.run("secretget", "-n", f"{S}/plain")), want)
        arn = self.ids["plain"]["ARN"]
        self.assertEqual(self.ok(self.run("secretget", arn)), want + "\n")
        r = self.run("secretget", "--debug", f"{S}/plain")
        self.assertEqual(self.ok(r), want + "\n")
        self.assertIn("GetSecretValue", r.err)
        self.assertNotIn("hunter2", r.err)

    def test_binary_byte_identical(self):
        self.assertEqual(self.value("binary"), BINARY)
        r = self.run("secretget", f"{S}/binary")
        self.assertExit(r, 0)
        self.assertEqual(r.outb, BINARY)
        d = self.tmpdir()
        path = os.path.join(d, "key.bin")
        self.assertEqual(self.ok(self.run("secretget", f"{S}/binary", "--output", path)), "")
        with open(path, "rb") as fh:
            self.assertEqual(fh.read(), BINARY)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(os.listdir(d), ["key.bin"])
        r = self.run("secretget", "--format", "env", f"{S}/binary")
        self.assertExit(r, 1)
        self.assertIn("binary", r.err)

    def test_output_replaces_atomically(self):
        d = self.tmpdir()
        path = os.path.join(d, "pw")
        with open(path, "w") as fh:
            fh.write("old")
        os.chmod(path, 0o644)
        self.ok(self.run("secretget", f"{S}/plain", "-o", path))
        with open(path) as fh:
            self.assertEqual(fh.read(), self.value("plain") + "\n")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        r = self.run("secretget", f"{S}/nope", "-o", path)  # a failure leaves it alone
        self.assertExit(r, 3)
        with open(path) as fh:
            self.assertEqual(fh.read(), self.value("plain") + "\n")
        self.assertEqual(os.listdir(d), ["pw"])
        self.assertEqual(self.run("secretget", f"{S}/plain", "-o", "-").out, self.value("plain") + "\n")

    def test_versions(self):
        self.assertEqual(self.ok(self.run("secretget", f"{S}/ver")), "v2\n")
        r = self.run("secretget", "--version-stage", "AWSPREVIOUS", f"{S}/ver")
        self.assertEqual(self.ok(r), self.value("ver", VersionStage="AWSPREVIOUS") + "\n")
        self.assertEqual(r.out, "v1\n")
        self.assertEqual(self.ok(self.run("secretget", "--version-id", self.v1, f"{S}/ver")), "v1\n")

    def test_missing_and_usage(self):
        r = self.run("secretget", f"{S}/nope")
        self.assertExit(r, 3)
        self.assertIn(f"{S}/nope", r.err)
        self.assertIn("ResourceNotFoundException", r.err)
        for args in ([], [f"{S}/plain", f"{S}/doc"], ["-n", "--format", "env", f"{S}/doc"],
                     ["--pristine", f"{S}/plain"], [f"{S}/plain", "--exec", "--"], ["--format", "xml", f"{S}/plain"],
                     ["--query", "foo[", f"{S}/doc"], ["--query", "", f"{S}/doc"],
                     ["--exec", "--format", "env", f"{S}/doc", "--", "env"]):
            with self.subTest(args=args):
                r = self.run("secretget", *args)
                self.assertExit(r, 2)
                self.assertEqual(r.out, "")
                self.assertTrue(r.err.startswith("secretget: "), r)

    def test_five_secrets_one_connection(self):
        f = self.own_front()
        ids = [f"{S}/many{i}" for i in range(5)]
        r = self.run("secretget", "--format", "json", *ids, env=self.env(AWS_ENDPOINT_URL_SECRETS_MANAGER=f.url))
        self.assertEqual(json.loads(self.ok(r)), {f"K{i}": f"value {i}" for i in range(5)})
        self.assertEqual(f.rejected, [])
        self.assertEqual([q.header("x-amz-target") for q in f.requests], ["secretsmanager.GetSecretValue"] * 5)
        self.assertEqual(f.connections, 1)
        harness.note(f"5 secrets: {len(f.requests)} GetSecretValue requests on {f.connections} TCP connection")


class Query(SecretFixture):
    CASES = [
        ("foo.bar[1]", DOC["foo"]["bar"][1]),
        ("foo.bar.[1]", DOC["foo"]["bar"][1]),
        ("foo.bar[0]", DOC["foo"]["bar"][0]),
        ("foo.bar[-1]", DOC["foo"]["bar"][-1]),
        ("foo.bar", DOC["foo"]["bar"]),
        ("foo", DOC["foo"]),
        ('["key.with.dots"]', DOC["key.with.dots"]),
        ('["key.with.dots"].x[1].y', DOC["key.with.dots"]["x"][1]["y"]),
        ('["key.with.dots"].x.[1].y', DOC["key.with.dots"]["x"][1]["y"]),
        ('["key.with.dots"]["a.b"].c', DOC["key.with.dots"]["a.b"]["c"]),
        ("['key.with.dots'].x[0]", DOC["key.with.dots"]["x"][0]),
        ("n", DOC["n"]), ("f", DOC["f"]), ("t", DOC["t"]), ("fa", DOC["fa"]), ("z", DOC["z"]),
        ("arr", DOC["arr"]), ("arr[1].e", DOC["arr"][1]["e"]), ("arr[0][1]", DOC["arr"][0][1]),
        ("uni", DOC["uni"]), ("user name", DOC["user name"]), ("empty", DOC["empty"]),
        ("['quote\\'d']", DOC["quote'd"]), ('["quote\'d"]', DOC["quote'd"]),
    ]

    def test_every_form(self):
        self.assertEqual(json.loads(self.value("doc")), DOC)
        for path, want in self.CASES:
            with self.subTest(query=path):
                r = self.run("secretget", "--query", path, f"{S}/doc")
                self.assertEqual(self.ok(r), jtext(want) + "\n")
                if not isinstance(want, str):
                    self.assertEqual(json.loads(r.out), want)
        self.assertEqual(self.ok(self.run("secretget", "-n", "-q", "foo.bar[1]", f"{S}/doc")), "b")
        # the whole document, compact
        self.assertEqual(self.ok(self.run("secretget", "-q", ".", f"{S}/doc")), json.dumps(DOC, separators=(",", ":")) + "\n")

    def test_not_there_and_not_json(self):
        for path in ("foo.bar[2]", "foo.baz", "foo.bar.x", "n.x", '["key.with.dots"].x[5]', "nope"):
            with self.subTest(query=path):
                r = self.run("secretget", "--query", path, f"{S}/doc")
                self.assertExit(r, 3)
                self.assertEqual(r.out, "")
                self.assertIn(path, r.err)
        r = self.run("secretget", "--query", "a", f"{S}/plain")
        self.assertExit(r, 1)
        self.assertIn("not JSON", r.err)
        self.assertNotIn("hunter2", r.err)


class Formats(SecretFixture):
    def want_tricky(self):
        return {envname(k): v for k, v in json.loads(self.value("tricky")).items()}

    def test_json_env_and_several(self):
        want = self.want_tricky()
        self.assertEqual(json.loads(self.ok(self.run("secretget", "--format", "json", f"{S}/tricky"))), want)
        env = self.run("secretget", "--format", "env", f"{S}/tricky")
        self.assertEqual(env.outb, "".join(f"{envname(k)}={v}\n" for k, v in TRICKY.items()).encode())
        extra = json.loads(self.value("extra"))
        got = json.loads(self.ok(self.run("secretget", "--format", "json", f"{S}/tricky", f"{S}/extra", f"{S}/plain")))
        both = dict(want, **{envname(k): jtext(v) for k, v in extra.items()}, PLAIN=self.value("plain"))
        self.assertEqual(got, both)
        self.assertEqual(got["NESTED"], '{"a":[1,"two"]}')
        self.assertEqual(got["NUM"], "5")
        # --query picks a sub-object to spread
        out = self.ok(self.run("secretget", "--format", "env", "--query", '["key.with.dots"]', f"{S}/doc"))
        self.assertEqual(out, 'X=[1,{"y":"deep"}]\nA_B={"c":"dotted"}\n')

    def test_export_eval_in_shells(self):
        import shutil
        want = self.want_tricky()
        dump = "import json, os, sys; print(json.dumps({k: os.environ.get(k) for k in sys.argv[1:]}))"
        for shell in ("sh", "bash", "dash"):
            if not shutil.which(shell):
                continue
            with self.subTest(shell=shell):
                script = f'eval "$(secretget --format export {S}/tricky)" && exec python3 -c "$0" "$@"'
                self.assertEqual(json.loads(self.ok(self.run(shell, "-c", script, dump, *want))), want)

    def test_dotenv(self):
        """python-dotenv reads back every value, with interpolation on or off; a secret holding
        ${...}, which python-dotenv would replace whatever the quoting, is refused by name."""
        from dotenv import dotenv_values
        tricky = self.want_tricky()
        self.assertTrue(any("${" in v for v in tricky.values()))
        r = self.run("secretget", "--format", "dotenv", f"{S}/tricky")
        self.assertExit(r, 2)
        self.assertEqual(r.out, "")
        self.assertIn("${...}", r.err)
        want = {envname(k): v for k, v in TRICKY.items() if "${" not in v}
        out = self.ok(self.run("secretget", "--format", "dotenv", f"{S}/tricky-dotenv"))
        for interpolate in (False, True):
            with self.subTest(interpolate=interpolate):
                self.assertEqual(dict(dotenv_values(stream=io.StringIO(out), interpolate=interpolate)), want)

    def test_collisions(self):
        r = self.run("secretget", "--format", "env", f"{S}/c1", f"{S}/c2")
        self.assertExit(r, 2)
        self.assertEqual(r.out, "")
        for part in (f"{S}/c1", f"{S}/c2", "db-host", "DB_HOST"):
            self.assertIn(part, r.err)
        r = self.run("secretget", "--format", "json", f"{S}/self-collide")
        self.assertExit(r, 2)
        self.assertIn('"a-b"', r.err)
        self.assertIn('"a_b"', r.err)

    def test_exec(self):
        want = self.want_tricky()
        env = self.env(AWSBOX_MARK="inherited")
        r = self.run("secretget", f"{S}/tricky", f"{S}/plain", "--exec", "--", "env", "-0", env=env)
        self.assertExit(r, 0)
        got = parse_env0(r.outb)
        for k, v in want.items():
            self.assertEqual(got.get(k), v, k)
        self.assertEqual(got["PLAIN"], self.value("plain"))
        self.assertEqual(got["AWSBOX_MARK"], "inherited")
        r = self.run("secretget", "--pristine", f"{S}/tricky", "--exec", "--", "env", "-0", env=env)
        self.assertExit(r, 0)
        self.assertEqual(parse_env0(r.outb), want)
        r = self.run("secretget", f"{S}/plain", "--exec", "--", "sh", "-c", 'test "$PLAIN" = "$0"', self.value("plain"))
        self.assertExit(r, 0)
        r = self.run("secretget", f"{S}/plain", "--exec", "--", "sh", "-c", "exit 9")
        self.assertEqual(r.rc, 9)
