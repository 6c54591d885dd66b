"""test_whoami.py — the whoami applet (applets/whoami.c) against moto with IAM authentication on:
its text and JSON output equal the AWS CLI's `aws sts get-caller-identity` (the oracle) for the
same credentials, failures exit with the documented codes in one line, and --debug never shows a
secret: each actual secret value (secret key, session token, signature, IMDS token, container
token, web identity token, credentials STS handed out) is looked for in the trace.
The credential chain itself is tested provider by provider in test_creds.py."""
import json
import os
import re

import harness
from harness import ACCOUNT, REGION, ROLE, ROLE_ARN, USER_ARN, AwsboxTestCase

SIG = re.compile(r"Signature=([0-9a-f]{64})")


class Output(AwsboxTestCase):
    def cli(self, *args, env):
        r = self.run(["aws", "--region", REGION, *args, "sts", "get-caller-identity"], env=env, timeout=60)
        self.assertExit(r, 0, "the AWS CLI (oracle) failed")
        return r.out

    def test_text_and_json_match_cli(self):
        t = harness.temp_creds(session="whoami-json")
        for name, env, arn in (("long-term key", self.env(), USER_ARN),
                               ("session credentials", self.env(creds=t),
                                f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/whoami-json")):
            with self.subTest(creds=name):
                text = self.ok(self.run("whoami", env=env))
                # `aws --output text` prints the fields tab-separated, in the same order.
                self.assertEqual(text, self.cli("--output", "text", env=env))
                got = json.loads(self.ok(self.run("whoami", "--format", "json", env=env)))
                self.assertEqual(list(got), ["UserId", "Account", "Arn"])
                self.assertEqual(got, json.loads(self.cli("--output", "json", env=env)))
                self.assertEqual((got["Account"], got["Arn"]), (ACCOUNT, arn))

    def test_format_option(self):
        r = self.run("whoami", "--format=text")
        self.assertEqual(self.ok(r).split("\t")[1], harness.USER_ARN)
        self.assertEqual(json.loads(self.ok(self.run("whoami", "-f", "json")))["Arn"], USER_ARN)
        for bad in (["--format", "xml"], ["extra-arg"], ["--format"]):
            with self.subTest(args=bad):
                r = self.run("whoami", *bad)
                self.assertExit(r, 2)
                self.assertEqual(r.out, "")
                self.assertTrue(r.err.startswith("whoami: "), r)


class Failures(AwsboxTestCase):
    def one_line(self, r, code, *parts):
        self.assertExit(r, code)
        self.assertEqual(r.out, "")
        lines = r.err.strip().splitlines()
        self.assertEqual(len(lines), 1, r)
        self.assertTrue(lines[0].startswith("whoami: GetCallerIdentity: ") or code == 2, r)
        for p in parts:
            self.assertIn(p, lines[0], r)

    def test_wrong_secret(self):
        akid, secret = harness.key()
        r = self.run("whoami", env=self.env(AWS_SECRET_ACCESS_KEY=secret[:-1] + ("x" if secret[-1] != "x" else "y")))
        self.one_line(r, 4, "403", "SignatureDoesNotMatch")

    def test_unknown_key(self):
        r = self.run("whoami", env=self.env(AWS_ACCESS_KEY_ID="AKIAAWSBOXUNKNOWN000"))
        self.one_line(r, 4, "403", "InvalidClientTokenId")

    def test_no_credentials(self):
        r = self.run("whoami", env=self.env(creds=False))
        self.one_line(r, 4, "no credentials found", "environment", "instance metadata")

    def test_profile_not_found(self):
        for args, extra in ((("--profile", "no-such"), {}), ((), {"AWS_PROFILE": "no-such"})):
            with self.subTest(args=args, env=extra):
                self.one_line(self.run("whoami", *args, env=self.env(**extra)), 2, "no-such")


class Debug(AwsboxTestCase):
    """--debug traces requests and responses, and no secret in them: every secret the run used
    is known here (from the test's own setup, or as the front and stand-ins saw it on the wire)
    and is looked for verbatim in stderr."""

    def traced(self, env, secrets=()):
        f = harness.front()
        f.reset()
        r = self.run("whoami", "--debug", env=dict(env, AWS_ENDPOINT_URL_STS=f.url))
        self.assertExit(r, 0)
        self.assertEqual(f.rejected, [])
        self.assertIn("authorization: AWS4-HMAC-SHA256 Credential=", r.err, "no trace: the check would be empty")
        found = list(secrets)
        for req in f.requests:  # the signatures, and the credentials STS handed out on the way
            m = SIG.search(req.header("authorization") or "")
            if req.verdict == "ok":
                self.assertTrue(m, req)
                found.append(m.group(1))
        for akid in f.learned:
            secret, token = f.keys.get(akid)
            found += [secret, token]
            self.assertIn(akid, r.err)  # ids are fine to show, and show the trace covers these calls
        self.assertGreater(len(found), len(secrets), "no signature was seen")
        self.assertNoSecrets(r, found)
        return r

    def assertNoSecrets(self, r, secrets):
        self.assertTrue(secrets)
        for s in secrets:
            self.assertTrue(s and len(s) >= 16, f"not a real secret value: {s!r}")
            self.assertNotIn(s, r.err, f"--debug printed a secret ({s[:6]}...)")

    def test_env_session_credentials(self):
        t = harness.temp_creds(session="debug-env")
        self.traced(self.env(creds=t), [t["SecretAccessKey"], t["SessionToken"]])

    def test_long_term_key(self):
        self.traced(self.env(), [harness.key()[1]])

    def test_instance_metadata(self):
        t = harness.temp_creds(session="debug-imds")
        imds = self.imds("v2-required", t)
        r = self.traced(self.env(creds=False, **imds.env()), [t["SecretAccessKey"], t["SessionToken"]])
        self.assertNoSecrets(r, list(imds.tokens))  # the token(s) this run was given

    def test_container(self):
        t = harness.temp_creds(session="debug-ecs")
        cc = self.container_creds(t, auth="Bearer debug-container-token-0123456789")
        self.traced(self.env(creds=False, **cc.env()), [t["SecretAccessKey"], t["SessionToken"], cc.auth])
        self.assertEqual(len(cc.requests), 1)

    def test_role_and_web_identity(self):
        d = self.tmpdir()
        akid, secret = harness.key()
        token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkZWJ1ZyJ9.ZGVidWctd2ViLWlkZW50aXR5LXRva2Vu"
        with open(os.path.join(d, "token"), "w") as f:
            f.write(token)
        with open(os.path.join(d, "config"), "w") as f:
            f.write(f"[profile r]\nrole_arn = {ROLE_ARN}\nsource_profile = base\n"
                    f"[profile base]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n"
                    f"[profile web]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/awsbox-web\n"
                    f"web_identity_token_file = {d}/token\n")
        for profile, secrets in (("r", [secret]), ("web", [token])):
            with self.subTest(profile=profile):
                r = self.traced(self.env(creds=False, AWS_PROFILE=profile, AWS_CONFIG_FILE=f"{d}/config"), secrets)
                self.assertEqual(len(harness.front().learned), 1, r)
