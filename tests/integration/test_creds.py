"""test_creds.py — the credential provider chain (core/auth/creds.c, aws_creds in core/req/aws.c), through
`awsid` against moto with IAM authentication on: each provider in botocore's order, role
assumption (one and two hops, credential_source, external_id, session name, duration), web
identity, container and instance-metadata credentials, refresh before expiry, and clear failures.

References: the AWS CLI / botocore (`aws sts get-caller-identity` on the same files and
environment is the oracle for who wins and for the STS parameters sent), moto's own IAM checks
(signatures; role trust policies, including the sts:ExternalId condition and the exact
assumed-role principal), botocore's container-host rule, and the stand-ins of standins.py.

Calls whose parameters have to be seen (and web identity, which moto (a) cannot take unsigned) go
to STS through the verifying front (AWS_ENDPOINT_URL_STS), which relays to moto (b), verifies each
signature, and learns the credentials STS hands out."""
import json
import os
import stat
import textwrap
import time
import urllib.parse

import boto3
from botocore.utils import ContainerMetadataFetcher

import harness
import standins
from harness import ACCOUNT, REGION, ROLE, ROLE_ARN, USER_ARN, AwsboxTestCase

FILE_USER, CONFIG_USER = "awsbox-file", "awsbox-config"
HOP_ROLE = "awsbox-hop2"          # trusts only ROLE's session "hop-one": a second hop
EXT_ROLE = "awsbox-extid"         # trusts USER with sts:ExternalId == EXTERNAL_ID
EXTERNAL_ID = "awsbox-ext-42"
WEB_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/awsbox-web"
JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImF3c2JveCJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDphcHAifQ.c2lnbmF0dXJl"


def arn_of(role):
    return f"arn:aws:iam::{ACCOUNT}:role/{role}"


def assumed(role, session):
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"


def fixtures():
    """Users and roles on moto (a), made once per session: {user: (akid, secret)}."""
    with harness.S.lock:
        fx = harness.S.temp.get("creds-fixtures")
        if fx:
            return fx
        harness.temp_creds()  # makes ROLE, which trusts USER
        iam = harness.client("iam")
        fx = {}
        for name in (FILE_USER, CONFIG_USER):
            iam.create_user(UserName=name)
            k = iam.create_access_key(UserName=name)["AccessKey"]
            fx[name] = (k["AccessKeyId"], k["SecretAccessKey"])
        trusts = {
            HOP_ROLE: {"Effect": "Allow", "Principal": {"AWS": assumed(ROLE, "hop-one")}, "Action": "sts:AssumeRole"},
            EXT_ROLE: {"Effect": "Allow", "Principal": {"AWS": USER_ARN}, "Action": "sts:AssumeRole",
                       "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}},
        }
        for role, stmt in trusts.items():
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [stmt]}))
            iam.put_role_policy(RoleName=role, PolicyName="allow-all", PolicyDocument=harness.ALLOW_ALL)
        # Roles assumed on moto (b), through the front: made there too, so that their
        # assumed-role user ids are stable (moto makes up a new one for a role it does not know).
        iam_b = boto3.client("iam", endpoint_url=harness.moto_plain().url, region_name=REGION,
                             aws_access_key_id=harness.key()[0], aws_secret_access_key=harness.key()[1])
        for role in ("awsbox-web", "awsbox-top"):
            iam_b.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))
        harness.S.temp["creds-fixtures"] = fx
        return fx


def form(req):
    """An STS query request's parameters, as a flat dict."""
    return {k: v[0] for k, v in urllib.parse.parse_qs(req.body.decode(), keep_blank_values=True).items()}


class Chain(AwsboxTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fx = fixtures()

    # -- helpers ----------------------------------------------------------------------------
    def files(self, config="", credentials=""):
        """Fresh config and credentials files; the env overrides that point at them."""
        d = self.tmpdir()
        paths = {"AWS_CONFIG_FILE": os.path.join(d, "config"), "AWS_SHARED_CREDENTIALS_FILE": os.path.join(d, "credentials")}
        for var, text in (("AWS_CONFIG_FILE", config), ("AWS_SHARED_CREDENTIALS_FILE", credentials)):
            with open(paths[var], "w") as f:
                f.write(textwrap.dedent(text))
        return paths

    def keys(self, who):
        return harness.key() if who == "user" else self.fx[who]

    def section(self, who, header):
        akid, secret = self.keys(who)
        return f"[{header}]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n"

    def whoami(self, *args, env, code=0):
        """Runs awsid --format json; returns the parsed identity (exit 0) or the Result."""
        r = self.run("awsid", "--format", "json", *args, env=env)
        self.assertExit(r, code)
        return json.loads(r.out) if code == 0 else r

    def oracle(self, *args, env):
        """`aws sts get-caller-identity` (botocore) with the same environment and files."""
        r = self.run(["aws", "--region", REGION, "--output", "json", "sts", "get-caller-identity", *args], env=env, timeout=60)
        self.assertExit(r, 0, "the AWS CLI (oracle) failed")
        return json.loads(r.out)

    def assertOneErrorLine(self, r, *parts):
        lines = r.err.strip().splitlines()
        self.assertEqual(len(lines), 1, f"expected one diagnostic line\n{r}")
        self.assertTrue(lines[0].startswith("awsid: "), r)
        for p in parts:
            self.assertIn(p, lines[0], r)

    def via_front(self, **kw):
        """STS through the verifying front to moto (b); everything else as env() has it."""
        return self.env(AWS_ENDPOINT_URL_STS=harness.front().url, **kw)

    def script(self, name, text):
        d = os.path.join(self.tmpdir(), "dir with space")
        os.mkdir(d)
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, os.stat(p).st_mode | stat.S_IXUSR)
        return p


class Environment(Chain):
    def test_env_keys(self):
        self.assertEqual(self.whoami(env=self.env())["Arn"], USER_ARN)

    def test_env_session_token(self):
        t = harness.temp_creds(session="env-token")
        self.assertEqual(self.whoami(env=self.env(creds=t))["Arn"], assumed(ROLE, "env-token"))
        # The token is what makes these keys valid: without it moto refuses them.
        r = self.whoami(env=self.env(creds=t, AWS_SESSION_TOKEN=None), code=4)
        self.assertOneErrorLine(r, "GetCallerIdentity: 403")

    def test_half_set(self):
        """botocore refuses an access key without its secret (PartialCredentialsError)."""
        r = self.whoami(env=self.env(creds=False, AWS_ACCESS_KEY_ID=harness.key()[0]), code=4)
        self.assertOneErrorLine(r, "AWS_SECRET_ACCESS_KEY")

    def test_aws_profile_vs_explicit_profile(self):
        """AWS_PROFILE names a profile but the environment's keys still come first; --profile
        drops the environment provider (botocore: an explicit profile negates EnvProvider)."""
        env = self.env(**self.files(credentials=self.section(FILE_USER, "filep")))
        by_var = dict(env, AWS_PROFILE="filep")
        got = self.whoami(env=by_var)
        self.assertEqual(got["Arn"], USER_ARN)
        self.assertEqual(got, self.oracle(env=by_var))
        got = self.whoami("--profile", "filep", env=env)
        self.assertEqual(got["Arn"], f"arn:aws:iam::{ACCOUNT}:user/{FILE_USER}")
        self.assertEqual(got, self.oracle("--profile", "filep", env=env))


class Files(Chain):
    def test_credentials_file_default(self):
        env = self.env(creds=False, **self.files(credentials=self.section(FILE_USER, "default")))
        self.assertEqual(self.whoami(env=env)["Arn"], f"arn:aws:iam::{ACCOUNT}:user/{FILE_USER}")

    def test_config_file_keys(self):
        for header, profile in (("profile cfg", "cfg"), ("default", None)):
            with self.subTest(section=header):
                env = self.env(creds=False, **self.files(config=self.section(CONFIG_USER, header)))
                args = ("--profile", profile) if profile else ()
                self.assertEqual(self.whoami(*args, env=env)["Arn"], f"arn:aws:iam::{ACCOUNT}:user/{CONFIG_USER}")

    def test_credentials_file_wins_over_config(self):
        env = self.env(creds=False, AWS_PROFILE="both", **self.files(
            config=self.section(CONFIG_USER, "profile both"),
            credentials=self.section(FILE_USER, "both")))
        got = self.whoami(env=env)
        self.assertEqual(got["Arn"], f"arn:aws:iam::{ACCOUNT}:user/{FILE_USER}")
        self.assertEqual(got, self.oracle(env=env))

    def test_profile_not_found(self):
        """A profile that is not there is a usage error (2), also one written [name] in the
        config file, where botocore only reads [profile name]."""
        env = self.env(creds=False, **self.files(config=self.section(CONFIG_USER, "plain")))
        for args, extra in ((("--profile", "nope"), {}), ((), {"AWS_PROFILE": "nope"}), (("--profile", "plain"), {})):
            with self.subTest(args=args, env=extra):
                r = self.whoami(*args, env=dict(env, **extra), code=2)
                self.assertOneErrorLine(r, args[1] if args else "nope", "not found")

    def test_empty_profile_exists(self):
        """[profile empty] with no keys is a profile (as botocore reads it): the chain goes on
        past it and ends with no credentials (4), not with "not found" (2)."""
        env = self.env(creds=False, **self.files(config="[profile empty]\n# nothing yet\n"))
        r = self.whoami("--profile", "empty", env=env, code=4)
        self.assertOneErrorLine(r, "no credentials found", "profile 'empty'")
        cli = self.run(["aws", "--profile", "empty", "--region", REGION, "sts", "get-caller-identity"], env=env, timeout=60)
        self.assertNotIn("could not be found", cli.err)
        self.assertIn("Unable to locate credentials", cli.err)


class Process(Chain):
    def process_json(self, creds, version=1):
        return json.dumps({"Version": version, "AccessKeyId": creds["AccessKeyId"],
                           "SecretAccessKey": creds["SecretAccessKey"], "SessionToken": creds["SessionToken"],
                           "Expiration": creds["Expiration"]})

    def test_credential_process(self):
        t = harness.temp_creds(session="from-process")
        log = os.path.join(self.tmpdir(), "argv")
        prog = self.script("creds helper", f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {log}\ncat <<'EOF'\n{self.process_json(t)}\nEOF\n")
        # Quoted as botocore's shlex-style split wants it; config keys of the same profile lose.
        conf = self.section(CONFIG_USER, "profile proc") + f"credential_process = \"{prog}\" --role 'a b' x\\ y\n"
        env = self.env(creds=False, AWS_PROFILE="proc", **self.files(config=conf))
        got = self.whoami(env=env)
        self.assertEqual(got["Arn"], assumed(ROLE, "from-process"))
        with open(log) as f:
            self.assertEqual(f.read().splitlines(), ["--role", "a b", "x y"])
        self.assertEqual(got, self.oracle(env=env))

    def test_expired_process_credentials(self):
        """Credentials that are expired when fetched are refused before any call (exit 4, one
        line with the time), as botocore refuses them; the AWS CLI is the oracle for the refusal."""
        t = dict(harness.temp_creds(session="stale"), Expiration="2020-01-02T03:04:05Z")
        prog = self.script("stale helper", f"#!/bin/sh\ncat <<'EOF'\n{self.process_json(t)}\nEOF\n")
        conf = self.section(CONFIG_USER, "profile stale") + f"credential_process = \"{prog}\"\n"
        env = self.env(creds=False, AWS_PROFILE="stale", **self.files(config=conf))
        r = self.whoami(env=env, code=4)
        self.assertOneErrorLine(r, "credential_process", "expired at 2020-01-02T03:04:05Z")
        cli = self.run(["aws", "--region", REGION, "sts", "get-caller-identity"], env=env, timeout=60)
        self.assertNotEqual(cli.rc, 0)
        self.assertIn("expired", cli.err)

    def test_credentials_file_wins_over_process(self):
        prog = self.script("never", "#!/bin/sh\necho should not run >&2\nexit 1\n")
        env = self.env(creds=False, AWS_PROFILE="p", **self.files(
            config=f"[profile p]\ncredential_process = \"{prog}\"\n", credentials=self.section(FILE_USER, "p")))
        self.assertEqual(self.whoami(env=env)["Arn"], f"arn:aws:iam::{ACCOUNT}:user/{FILE_USER}")

    def test_failing_process(self):
        """A process that fails, or prints no usable credentials, is a credentials failure:
        exit 4, the process's own stderr passed through, then one line naming the helper."""
        t = harness.temp_creds()
        cases = {
            "exit 3": ("#!/bin/sh\necho 'helper: session expired, log in again' >&2\nexit 3\n",
                       "helper: session expired, log in again", "failed (exit 3)"),
            "not JSON": ("#!/bin/sh\necho 'Enter MFA code:'\n", None, "not a JSON object"),
            "Version 2": (f"#!/bin/sh\ncat <<'EOF'\n{self.process_json(t, version=2)}\nEOF\n", None, "Version"),
            "no secret": ("#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAEXAMPLE\"}'\n", None, "SecretAccessKey"),
        }
        for name, (body, passthrough, why) in cases.items():
            with self.subTest(case=name):
                prog = self.script("helper", body)
                env = self.env(creds=False, AWS_PROFILE="proc",
                               **self.files(config=f"[profile proc]\ncredential_process = \"{prog}\"\n"))
                r = self.whoami(env=env, code=4)
                lines = r.err.strip().splitlines()
                if passthrough:
                    self.assertEqual(lines[0], passthrough, r)
                    lines = lines[1:]
                self.assertEqual(len(lines), 1, r)
                self.assertIn("credential_process", lines[0])
                self.assertIn(why, lines[0])
        env = self.env(creds=False, AWS_PROFILE="proc",
                       **self.files(config="[profile proc]\ncredential_process = /nonexistent/helper\n"))
        r = self.whoami(env=env, code=4)
        self.assertIn("/nonexistent/helper", r.err)


class Roles(Chain):
    def role_files(self, profiles, base="user"):
        """[profile NAME] sections from {name: {key: value}}; [base] holds static keys."""
        conf = "".join(f"[profile {n}]\n" + "".join(f"{k} = {v}\n" for k, v in kv.items()) for n, kv in profiles.items())
        return self.files(config=conf, credentials=self.section(base, "base"))

    def test_source_profile(self):
        env = self.env(creds=False, **self.role_files(
            {"r": {"role_arn": ROLE_ARN, "source_profile": "base", "role_session_name": "awsbox-r"}}))
        got = self.whoami("--profile", "r", env=env)
        self.assertEqual(got["Arn"], assumed(ROLE, "awsbox-r"))
        self.assertEqual(got, self.oracle("--profile", "r", env=env))

    def test_two_hops(self):
        """HOP_ROLE trusts only ROLE's session "hop-one" (moto checks the exact principal): the
        second AssumeRole has to be signed with the first one's credentials."""
        for hop_one, code in (("hop-one", 0), ("other-session", 4)):
            with self.subTest(first_session=hop_one):
                env = self.env(creds=False, AWS_PROFILE="a", **self.role_files({
                    "a": {"role_arn": arn_of(HOP_ROLE), "source_profile": "b", "role_session_name": "hop-two"},
                    "b": {"role_arn": ROLE_ARN, "source_profile": "base", "role_session_name": hop_one}}))
                got = self.whoami(env=env, code=code)
                if code == 0:
                    self.assertEqual(got["Arn"], assumed(HOP_ROLE, "hop-two"))
                else:
                    self.assertOneErrorLine(got, "AssumeRole", "AccessDenied")

    def test_credential_source_environment(self):
        env = self.env(**self.role_files(
            {"ce": {"role_arn": ROLE_ARN, "credential_source": "Environment", "role_session_name": "from-env"}}))
        got = self.whoami("--profile", "ce", env=env)
        self.assertEqual(got["Arn"], assumed(ROLE, "from-env"))
        self.assertEqual(got, self.oracle("--profile", "ce", env=env))
        # Through AWS_PROFILE the environment provider runs first and wins (as in botocore).
        self.assertEqual(self.whoami(env=dict(env, AWS_PROFILE="ce"))["Arn"], USER_ARN)
        r = self.whoami("--profile", "ce", env=self.env(creds=False, **self.role_files(
            {"ce": {"role_arn": ROLE_ARN, "credential_source": "Environment"}})), code=4)
        self.assertOneErrorLine(r, "credential_source Environment")

    def test_external_id(self):
        """EXT_ROLE's trust policy wants sts:ExternalId == EXTERNAL_ID, and moto checks a value
        that is sent: the right one passes, a wrong one is refused, so it was sent."""
        for ext, code in ((EXTERNAL_ID, 0), ("wrong-id", 4)):
            with self.subTest(external_id=ext):
                env = self.env(creds=False, AWS_PROFILE="x", **self.role_files({"x": {
                    "role_arn": arn_of(EXT_ROLE), "source_profile": "base", "external_id": ext,
                    "role_session_name": "with-ext"}}))
                got = self.whoami(env=env, code=code)
                if code == 0:
                    self.assertEqual(got["Arn"], assumed(EXT_ROLE, "with-ext"))
                else:
                    self.assertOneErrorLine(got, "AssumeRole", "AccessDenied")

    def test_parameters_match_botocore(self):
        """The AssumeRole calls awsbox makes, as the front saw them, are the AWS CLI's: the same
        parameters (external_id, duration_seconds, role_session_name), in the same chain, each
        hop signed with the previous hop's credentials."""
        files = self.role_files({
            "top": {"role_arn": arn_of("awsbox-top"), "source_profile": "mid", "role_session_name": "s-top",
                    "external_id": "ext-top", "duration_seconds": "1800"},
            "mid": {"role_arn": ROLE_ARN, "source_profile": "base", "role_session_name": "s-mid",
                    "duration_seconds": "900"}})
        env = self.via_front(creds=False, AWS_PROFILE="top", **files)
        f = harness.front()
        seen = {}
        for who, run in (("awsbox", lambda: self.whoami(env=env)), ("aws", lambda: self.oracle(env=env))):
            f.reset()
            ident = run()
            self.assertEqual(f.rejected, [], who)
            calls = [(form(r), r.akid) for r in f.requests]
            self.assertEqual([c["Action"] for c, _ in calls], ["AssumeRole", "AssumeRole", "GetCallerIdentity"], who)
            # Hop 1 signed with the static key, hop 2 and the call with what the hop before got.
            self.assertEqual([a for _, a in calls], [harness.key()[0]] + f.learned[:2], who)
            self.assertEqual(f.verified, 3, who)
            seen[who] = ([c for c, _ in calls[:2]], ident)
        self.assertEqual(seen["awsbox"][0], seen["aws"][0])
        self.assertEqual(seen["awsbox"][0][1]["DurationSeconds"], "1800")
        self.assertEqual(seen["awsbox"][0][1]["ExternalId"], "ext-top")
        self.assertEqual(seen["awsbox"][1]["Arn"], assumed("awsbox-top", "s-top"))
        self.assertEqual(seen["awsbox"][1], seen["aws"][1])

    def test_bad_role_configs(self):
        """Configuration errors exit 2 and say what is wrong (botocore raises for each)."""
        cases = {
            "missing source": ({"r": {"role_arn": ROLE_ARN, "source_profile": "ghost"}}, "ghost"),
            "no source": ({"r": {"role_arn": ROLE_ARN}}, "source_profile or credential_source"),
            "loop": ({"r": {"role_arn": ROLE_ARN, "source_profile": "s"},
                      "s": {"role_arn": ROLE_ARN, "source_profile": "r"}}, "loop"),
            "bad credential_source": ({"r": {"role_arn": ROLE_ARN, "credential_source": "Keyboard"}}, "Keyboard"),
        }
        for name, (profiles, why) in cases.items():
            with self.subTest(case=name):
                r = self.whoami("--profile", "r", env=self.env(creds=False, **self.role_files(profiles)), code=2)
                self.assertOneErrorLine(r, why)


class WebIdentity(Chain):
    def token_file(self, text=JWT):
        p = os.path.join(self.tmpdir(), "token")
        with open(p, "w") as f:
            f.write(text)
        return p

    def check_flow(self, env, session):
        """awsbox and the AWS CLI: one unsigned AssumeRoleWithWebIdentity with the same
        parameters, then GetCallerIdentity signed with the credentials it returned."""
        f = harness.front()
        seen = {}
        for who, run in (("awsbox", lambda: self.whoami(env=env)), ("aws", lambda: self.oracle(env=env))):
            f.reset()
            ident = run()
            self.assertEqual(f.rejected, [], who)
            self.assertEqual([r.verdict for r in f.requests], ["unsigned", "ok"], who)
            first, second = f.requests
            self.assertIsNone(first.header("authorization"), who)
            self.assertIsNone(first.header("x-amz-security-token"), who)
            self.assertEqual(form(second)["Action"], "GetCallerIdentity")
            self.assertEqual(second.akid, f.learned[0], who)
            seen[who] = (form(first), ident)
        self.assertEqual(seen["awsbox"][0], seen["aws"][0])
        self.assertEqual(seen["awsbox"][0]["WebIdentityToken"], JWT)
        self.assertEqual(seen["awsbox"][0]["RoleArn"], WEB_ROLE_ARN)
        self.assertEqual(seen["awsbox"][1]["Arn"], assumed("awsbox-web", session))
        self.assertEqual(seen["awsbox"][1], seen["aws"][1])

    def test_env_web_identity(self):
        env = self.via_front(creds=False, AWS_WEB_IDENTITY_TOKEN_FILE=self.token_file(), AWS_ROLE_ARN=WEB_ROLE_ARN,
                             AWS_ROLE_SESSION_NAME="pod-session")
        self.check_flow(env, "pod-session")

    def test_profile_web_identity(self):
        files = self.files(config=f"[profile web]\nrole_arn = {WEB_ROLE_ARN}\nweb_identity_token_file = {self.token_file()}\n"
                                  "role_session_name = profile-web\n")
        self.check_flow(self.via_front(creds=False, AWS_PROFILE="web", **files), "profile-web")

    def test_unreadable_token(self):
        env = self.via_front(creds=False, AWS_WEB_IDENTITY_TOKEN_FILE="/nonexistent/token", AWS_ROLE_ARN=WEB_ROLE_ARN)
        r = self.whoami(env=env, code=4)
        self.assertOneErrorLine(r, "web identity", "/nonexistent/token")
        self.assertEqual(harness.front().requests, [])


class FrontSTS(Chain):
    """The front's STS rules, with botocore as the client: only AssumeRoleWithWebIdentity may
    come unsigned; credentials STS hands out are learned and then checked like any other."""

    def test_rules(self):
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config
        f = harness.front()
        kw = dict(endpoint_url=f.url, region_name=REGION, config=Config(retries={"total_max_attempts": 1}))
        unsigned = boto3.client("sts", config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
                                endpoint_url=f.url, region_name=REGION)
        c = unsigned.assume_role_with_web_identity(RoleArn=WEB_ROLE_ARN, RoleSessionName="s1", WebIdentityToken=JWT)["Credentials"]
        self.assertEqual(f.learned, [c["AccessKeyId"]])
        for call in (lambda: unsigned.get_caller_identity(),
                     lambda: unsigned.assume_role(RoleArn=ROLE_ARN, RoleSessionName="s2")):
            with self.assertRaises(unsigned.exceptions.ClientError) as cm:
                call()
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertEqual(len(f.rejected), 2)
        good = boto3.client("sts", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                            aws_session_token=c["SessionToken"], **kw)
        self.assertEqual(good.get_caller_identity()["Arn"], assumed("awsbox-web", "s1"))
        self.assertEqual(f.requests[-1].verdict, "ok")
        forged = boto3.client("sts", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                              aws_session_token="forged", **kw)
        with self.assertRaises(forged.exceptions.ClientError):
            forged.get_caller_identity()
        self.assertEqual(f.rejected[-1]["code"], "InvalidToken")


class Container(Chain):
    def test_full_uri_with_token(self):
        t = harness.temp_creds(session="ecs-task")
        cc = self.container_creds(t, auth="Bearer ecs-s3cr3t")
        got = self.whoami(env=self.env(creds=False, **cc.env()))
        self.assertEqual(got["Arn"], assumed(ROLE, "ecs-task"))
        self.assertEqual([(r["method"], r["path"], r["headers"].get("authorization")) for r in cc.requests],
                         [("GET", cc.path, "Bearer ecs-s3cr3t")])
        self.assertEqual(got, self.oracle(env=self.env(creds=False, **cc.env())))

    def test_token_file_eks(self):
        """EKS Pod Identity: the token comes from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, which
        wins over AWS_CONTAINER_AUTHORIZATION_TOKEN (botocore reads the file first)."""
        t = harness.temp_creds(session="eks-pod")
        cc = self.container_creds(t, path="/v1/credentials", auth="eks-pod-identity-token", kind="eks")
        tok = os.path.join(self.tmpdir(), "eks-pod-identity-token")
        with open(tok, "w") as f:
            f.write("eks-pod-identity-token")
        env = self.env(creds=False, AWS_CONTAINER_CREDENTIALS_FULL_URI=cc.url + cc.path,
                       AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=tok, AWS_CONTAINER_AUTHORIZATION_TOKEN="stale-token")
        got = self.whoami(env=env)
        self.assertEqual(got["Arn"], assumed(ROLE, "eks-pod"))
        self.assertEqual([r["headers"].get("authorization") for r in cc.requests], ["eks-pod-identity-token"])
        self.assertEqual(got, self.oracle(env=env))

    def test_wrong_token(self):
        cc = self.container_creds(auth="Bearer right")
        env = self.env(creds=False, **dict(cc.env(), AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer wrong"))
        r = self.whoami(env=env, code=4)
        self.assertOneErrorLine(r, "container credentials", "401")
        self.assertNotIn("Bearer wrong", r.err)
        self.assertEqual(cc.requests[0]["headers"].get("authorization"), "Bearer wrong")

    def test_host_not_allowed(self):
        """Plain http only to loopback or the ECS/EKS agent addresses: botocore's rule. A host it
        refuses is refused without a connection (192.0.2.x would hang); one it allows is tried."""
        port = harness.free_port()
        refused = ["192.0.2.10", "10.0.0.1", "169.254.170.3", "127.evil.example", "127.0.0.1.nip.io", "localhost.example"]
        allowed = ["127.0.0.1", "127.9.9.9", "localhost"]
        for host in refused + allowed:
            url = f"http://{host}:{port}/creds"
            with self.subTest(host=host):
                try:
                    ContainerMetadataFetcher()._validate_allowed_url(url)
                    botocore_refuses = False
                except ValueError:
                    botocore_refuses = True
                self.assertEqual(botocore_refuses, host in refused, "the test's table disagrees with botocore")
                t0 = time.monotonic()
                r = self.whoami(env=self.env(creds=False, AWS_CONTAINER_CREDENTIALS_FULL_URI=url), code=4)
                self.assertLess(time.monotonic() - t0, 1.5, r)
                self.assertOneErrorLine(r, "container credentials")
                self.assertEqual("not an allowed host" in r.err, host in refused, r)


class InstanceMetadata(Chain):
    def test_v2_required(self):
        imds = self.imds("v2-required", harness.temp_creds(session="i-0123"))
        got = self.whoami(env=self.env(creds=False, **imds.env()))
        self.assertEqual(got["Arn"], assumed(ROLE, "i-0123"))
        reqs = imds.requests
        self.assertEqual((reqs[0]["method"], reqs[0]["path"]), ("PUT", "/latest/api/token"))
        self.assertEqual(reqs[0]["headers"].get("x-aws-ec2-metadata-token-ttl-seconds"), "21600")
        self.assertEqual([r["method"] for r in reqs[1:]], ["GET", "GET"])
        self.assertEqual([r["path"] for r in reqs[1:]], ["/latest/meta-data/iam/security-credentials/",
                                                        f"/latest/meta-data/iam/security-credentials/{ROLE}"])
        self.assertEqual(len(imds.tokens), 1)
        self.assertTrue(all(r["headers"].get("x-aws-ec2-metadata-token") in imds.tokens for r in reqs[1:]))

    def test_v1_fallback(self):
        """An IMDS without the token API: botocore goes on without a token on 403, 404 and 405."""
        for put_status in (404, 403, 405):
            with self.subTest(put_status=put_status):
                imds = self.imds("v1-only", put_status=put_status)
                got = self.whoami(env=self.env(creds=False, **imds.env()))
                self.assertIn(f":assumed-role/{ROLE}/", got["Arn"])
                self.assertEqual([r["method"] for r in imds.requests], ["PUT", "GET", "GET"])
                self.assertFalse(any("x-aws-ec2-metadata-token" in r["headers"] for r in imds.requests[1:]))

    def test_v1_disabled(self):
        imds = self.imds("v1-only")
        r = self.whoami(env=self.env(creds=False, AWS_EC2_METADATA_V1_DISABLED="true", **imds.env()), code=4)
        self.assertOneErrorLine(r, "instance metadata", "IMDSv1 is disabled")
        self.assertEqual([r["method"] for r in imds.requests], ["PUT"])

    def test_disabled(self):
        imds = self.imds("v2")
        r = self.whoami(env=self.env(creds=False, **dict(imds.env(), AWS_EC2_METADATA_DISABLED="true")), code=4)
        self.assertEqual(imds.requests, [])
        self.assertOneErrorLine(r, "no credentials found")

    def test_hang(self):
        """A metadata service that accepts and never answers: the chain gives up in ~2 s (1 s
        for the token, 1 s for IMDSv1, as botocore's defaults) and says what it tried."""
        imds = self.imds("hang")
        t0 = time.monotonic()
        r = self.whoami(env=self.env(creds=False, **imds.env()), code=4)
        took = time.monotonic() - t0
        self.assertLess(took, 2.5, r)
        self.assertGreater(took, 0.9, "gave up before a 1 s timeout could run out")
        self.assertOneErrorLine(r, "no credentials found", "instance metadata (not reachable)")

    def test_region_from_instance(self):
        imds = self.imds("v2", region="eu-west-3")
        r = self.run("awsid", "--debug", env=self.env(AWS_REGION=None, **imds.env()))
        self.assertExit(r, 0)
        self.assertEqual(r.out.split("\t")[1], USER_ARN)
        self.assertIn(("GET", "/latest/meta-data/placement/region"), imds.paths())
        self.assertRegex(r.err, r"Credential=\w+/\d{8}/eu-west-3/sts/aws4_request")
        # A region from anywhere else means no question to the instance.
        imds.requests.clear()
        self.ok(self.run("awsid", env=self.env(AWS_REGION=None, AWS_DEFAULT_REGION="us-east-1", **imds.env())))
        self.assertEqual(imds.requests, [])


class NoCredentials(Chain):
    def test_none(self):
        r = self.whoami(env=self.env(creds=False), code=4)
        self.assertOneErrorLine(r, "no credentials found", "environment", "credentials and config files",
                                "container", "instance metadata (disabled)")
        self.assertEqual(r.out, "")

    def test_none_metadata_unreachable(self):
        port = harness.free_port()
        t0 = time.monotonic()
        r = self.whoami(env=self.env(creds=False, AWS_EC2_METADATA_DISABLED=None,
                                     AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://127.0.0.1:{port}"), code=4)
        self.assertLess(time.monotonic() - t0, 1.5)
        self.assertOneErrorLine(r, "no credentials found", "instance metadata (not reachable)")


    def test_none_metadata_turned_off(self):
        """An instance with its metadata endpoint turned off answers 403: no credentials there,
        said in the one line that names every provider tried (as the AWS CLI finds none)."""
        imds = self.imds(mode="off")
        r = self.whoami(env=self.env(creds=False, **imds.env()), code=4)
        self.assertOneErrorLine(r, "no credentials found", "instance metadata (turned off: HTTP 403)")
        self.assertTrue(imds.requests)


class Refresh(Chain):
    """Temporary credentials are refreshed 15 minutes before they expire. awsid makes one call,
    but each attempt of a call asks for valid credentials: a first attempt answered 503 (by the
    front) makes a second, and that one must fetch again when the credentials expire soon."""

    def run_with_retry(self, expires_in, on_first=None, code=0):
        """whoami with container credentials A expiring in expires_in seconds, STS through the
        front, whose first GetCallerIdentity gets 503 after on_first(container stand-in, B)."""
        f = harness.front()
        a = dict(harness.temp_creds(session="first"), Expiration=standins._iso(time.time() + expires_in))
        b = dict(harness.temp_creds(session="second"), Expiration=standins._iso(time.time() + 3600))
        cc = self.container_creds(a, auth="tok")
        attempts = []

        def hook(req):
            attempts.append(req.akid)
            if len(attempts) == 1:
                if on_first:
                    on_first(cc, b)
                return 503, [("Content-Type", "text/xml")], (
                    b"<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"
                    b"<Message>try again</Message></Error></ErrorResponse>")
            return None

        f.on_request = hook
        r = self.run("awsid", env=self.via_front(creds=False, **cc.env()))
        self.assertExit(r, code)
        self.assertEqual(f.rejected, [])
        return a, b, cc, attempts, r

    @staticmethod
    def rotate(cc, b):
        cc.creds = b

    def test_expiring_soon_refetched(self):
        a, b, cc, attempts, _ = self.run_with_retry(10 * 60, self.rotate)
        self.assertEqual(len(cc.requests), 2, "credentials expiring in 10 minutes were not fetched again")
        self.assertEqual(attempts, [a["AccessKeyId"], b["AccessKeyId"]])

    def test_long_lived_not_refetched(self):
        a, b, cc, attempts, _ = self.run_with_retry(60 * 60, self.rotate)
        self.assertEqual(len(cc.requests), 1)
        self.assertEqual(attempts, [a["AccessKeyId"], a["AccessKeyId"]])

    def test_failed_refresh(self):
        """A refresh that fails is not fatal while the credentials in hand have minutes left (12:
        botocore's advisory window); it is when they are about to expire (4: its mandatory one)."""
        def break_endpoint(cc, b):
            cc.auth = "rotated-away"  # the next fetch gets 401

        a, b, cc, attempts, _ = self.run_with_retry(12 * 60, break_endpoint)
        self.assertEqual(len(cc.requests), 2)
        self.assertEqual(attempts, [a["AccessKeyId"], a["AccessKeyId"]])
        a, b, cc, attempts, r = self.run_with_retry(4 * 60, break_endpoint, code=4)
        self.assertEqual(len(cc.requests), 2)
        self.assertEqual(attempts, [a["AccessKeyId"]])
        self.assertIn("container credentials", r.err)
