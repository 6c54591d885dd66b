"""test_sso.py — IAM Identity Center (SSO) profiles (core/auth/sso.c) through `whoami`, with the AWS CLI
(botocore) on the same files and cache as the oracle: legacy sso_start_url profiles and
sso-session profiles, the token cache under ~/.aws/sso/cache, GetRoleCredentials on the portal,
the SSO-OIDC CreateToken refresh written back to the cache (0600, temporary file and rename) and
read by botocore afterwards, role chains with an SSO source profile, and the exit-4 failures
that tell the user to run `aws sso login`.

The portal and SSO-OIDC are standins.SSO (AWS_ENDPOINT_URL_SSO / _SSO_OIDC); the role
credentials it hands out are real ones from moto, so whoami's GetCallerIdentity (and a chained
AssumeRole) are checked by moto's signature verification."""
import datetime
import hashlib
import json
import os
import stat

import harness
import standins
from harness import ACCOUNT, ROLE
from test_creds import HOP_ROLE, Chain, arn_of, assumed

START_URL = "https://awsbox-test.awsapps.com/start"
SSO_REGION = "eu-west-1"


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def now():
    return datetime.datetime.now(datetime.timezone.utc)


class SSO(Chain):
    def standin(self, creds=None, **kw):
        s = standins.SSO(creds or harness.temp_creds(), account=ACCOUNT, role="awsbox-sso", **kw).start()
        self.addCleanup(s.stop)
        return s

    def setup(self, config, token, key, sso, home=None):
        """A HOME with the cached token (file named as botocore names it) and the config file."""
        home = home or self.tmpdir()
        cache = os.path.join(home, ".aws", "sso", "cache")
        os.makedirs(cache, exist_ok=True)
        path = os.path.join(cache, hashlib.sha1(key.encode()).hexdigest() + ".json")
        if token is not None:
            with open(path, "w") as f:
                json.dump(token, f)
            os.chmod(path, 0o600)
        env = self.env(creds=False, HOME=home, **self.files(config), **sso.env())
        return env, path

    LEGACY = f"""
        [profile legacy]
        sso_start_url = {START_URL}
        sso_region = {SSO_REGION}
        sso_account_id = {ACCOUNT}
        sso_role_name = awsbox-sso
        """
    SESSION = f"""
        [profile dev]
        sso_session = corp
        sso_account_id = {ACCOUNT}
        sso_role_name = awsbox-sso
        [sso-session corp]
        sso_start_url = {START_URL}
        sso_region = {SSO_REGION}
        sso_registration_scopes = sso:account:access
        """

    def token(self, access, minutes, refresh=None):
        t = {"startUrl": START_URL, "region": SSO_REGION, "accessToken": access,
             "expiresAt": iso(now() + datetime.timedelta(minutes=minutes))}
        if refresh:
            t.update(refreshToken=refresh, clientId="client-1", clientSecret="client-secret-1",
                     registrationExpiresAt=iso(now() + datetime.timedelta(days=30)))
        return t

    def test_legacy_profile(self):
        creds = harness.temp_creds(session="sso-legacy")
        sso = self.standin(creds, tokens={"at-legacy"})
        env, _ = self.setup(self.LEGACY, self.token("at-legacy", 60), START_URL, sso)
        got = self.whoami("--profile", "legacy", env=env)
        self.assertEqual(got["Arn"], assumed(ROLE, "sso-legacy"))
        self.assertEqual(got, self.oracle("--profile", "legacy", env=env))
        gets = [r for r in sso.requests if r["path"].startswith("/federation/credentials")]
        self.assertTrue(gets and all(r["headers"]["x-amz-sso_bearer_token"] == "at-legacy" for r in gets))
        r = self.run("awsid", "--profile", "legacy", "--debug", env=env)
        self.assertExit(r, 0)
        self.assertIn("x-amz-sso_bearer_token: <redacted>", r.err)
        for secret in ("at-legacy", creds["SecretAccessKey"], creds["SessionToken"]):
            self.assertNotIn(secret, r.err, "--debug shows a secret")

    def test_sso_session_profile(self):
        creds = harness.temp_creds(session="sso-session")
        sso = self.standin(creds, tokens={"at-1"})
        env, _ = self.setup(self.SESSION, self.token("at-1", 60), "corp", sso)
        got = self.whoami("--profile", "dev", env=env)
        self.assertEqual(got["Arn"], assumed(ROLE, "sso-session"))
        self.assertEqual(got, self.oracle("--profile", "dev", env=env))
        self.assertNotIn(("POST", "/token"), sso.paths(), "a token valid for an hour was refreshed")

    def test_refresh_written_back(self):
        """A token 5 minutes from expiry is refreshed with CreateToken; the new one replaces the cache
        file (0600, renamed into place) with the fields botocore writes, and botocore then uses it."""
        creds = harness.temp_creds(session="sso-refresh")
        sso = self.standin(creds, tokens={"at-old"}, client=("client-1", "client-secret-1"), refresh_token="rt-0")
        old = self.token("at-old", 5, refresh="rt-0")  # the same file for awsbox and for botocore
        env, path = self.setup(self.SESSION, old, "corp", sso)
        ino = os.stat(path).st_ino
        got = self.whoami("--profile", "dev", env=env)
        self.assertEqual(got["Arn"], assumed(ROLE, "sso-refresh"))
        self.assertIn(("POST", "/token"), sso.paths())
        st = os.stat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertNotEqual(st.st_ino, ino, "the cache file was rewritten in place, not renamed over")
        self.assertEqual(os.listdir(os.path.dirname(path)), [os.path.basename(path)], "a temporary file was left")
        mine = json.load(open(path))
        self.assertNotEqual(mine["accessToken"], "at-old")
        self.assertIn(mine["accessToken"], sso.tokens)
        self.assertEqual(mine["refreshToken"], sso.refresh_token)
        gets = [r for r in sso.requests if r["path"].startswith("/federation/credentials")]
        self.assertEqual(gets[-1]["headers"]["x-amz-sso_bearer_token"], mine["accessToken"])

        # botocore refreshing the same old token writes the same fields.
        sso.refresh_token = "rt-0"
        env_b, path_b = self.setup(self.SESSION, old, "corp", sso)
        self.assertEqual(self.oracle("--profile", "dev", env=env_b), got)
        theirs = json.load(open(path_b))
        self.assertEqual(sorted(mine), sorted(theirs))
        for k in ("startUrl", "region", "clientId", "clientSecret", "registrationExpiresAt"):
            self.assertEqual(mine[k], theirs[k], k)
        delta = abs((datetime.datetime.strptime(mine["expiresAt"], "%Y-%m-%dT%H:%M:%SZ")
                     - datetime.datetime.strptime(theirs["expiresAt"], "%Y-%m-%dT%H:%M:%SZ")).total_seconds())
        self.assertLess(delta, 120)

        # botocore reads awsbox's file: no refresh, awsbox's token.
        n = len(sso.requests)
        self.assertEqual(self.oracle("--profile", "dev", env=dict(env, HOME=os.path.dirname(
            os.path.dirname(os.path.dirname(os.path.dirname(path)))))), got)
        later = sso.requests[n:]
        self.assertNotIn("/token", [r["path"] for r in later])
        self.assertEqual([r["headers"]["x-amz-sso_bearer_token"] for r in later
                          if r["path"].startswith("/federation")], [mine["accessToken"]])

    def test_role_chain_with_sso_source(self):
        """role_arn + source_profile = an SSO profile: the SSO credentials sign the AssumeRole
        (HOP_ROLE trusts only ROLE's session hop-one, which is what the portal hands out)."""
        creds = harness.temp_creds(session="hop-one")
        sso = self.standin(creds, tokens={"at-1"})
        config = self.SESSION + f"""
        [profile chained]
        role_arn = {arn_of(HOP_ROLE)}
        source_profile = dev
        role_session_name = hop-two
        """
        env, _ = self.setup(config, self.token("at-1", 60), "corp", sso)
        got = self.whoami("--profile", "chained", env=env)
        self.assertEqual(got["Arn"], assumed(HOP_ROLE, "hop-two"))
        self.assertEqual(got, self.oracle("--profile", "chained", env=env))

    def test_expired_without_refresh(self):
        """Expired legacy token, and an sso-session token whose refresh is refused: exit 4, one line
        telling the user to log in again; botocore refuses both too."""
        sso = self.standin(tokens={"at-old"}, client=("client-1", "client-secret-1"), refresh_token="rt-valid")
        cases = (("legacy", self.LEGACY, START_URL, self.token("at-old", -5)),
                 ("dev", self.SESSION, "corp", self.token("at-old", -5, refresh="rt-revoked")),
                 ("dev", self.SESSION, "corp", self.token("at-old", -5)))
        for profile, config, key, token in cases:
            with self.subTest(profile=profile, refresh="refreshToken" in token):
                env, path = self.setup(config, token, key, sso)
                before = open(path).read()
                r = self.whoami("--profile", profile, env=env, code=4)
                self.assertOneErrorLine(r, "expired", f"run aws sso login --profile {profile}")
                self.assertEqual(open(path).read(), before, "a failed refresh changed the cache")
                o = self.run(["aws", "--region", "us-east-1", "sts", "get-caller-identity", "--profile", profile],
                             env=env, timeout=60)
                self.assertNotEqual(o.rc, 0, f"botocore accepted the expired token\n{o}")
        self.assertNotIn("at-old", [r["headers"].get("x-amz-sso_bearer_token") for r in sso.requests],
                         "an expired token was sent to the portal")

    def test_missing_or_revoked_token(self):
        sso = self.standin(tokens=set())
        env, _ = self.setup(self.SESSION, None, "corp", sso)
        r = self.whoami("--profile", "dev", env=env, code=4)
        self.assertOneErrorLine(r, "no cached SSO token", "run aws sso login --profile dev")
        env, _ = self.setup(self.SESSION, self.token("at-revoked", 60), "corp", sso)
        r = self.whoami("--profile", "dev", env=env, code=4)
        self.assertOneErrorLine(r, "401", "run aws sso login --profile dev")

    def test_bad_config(self):
        sso = self.standin(tokens=set())
        for config, words in ((self.SESSION.replace("[sso-session corp]", "[sso-session other]"),
                               ('sso-session "corp" does not exist',)),
                              (self.LEGACY.replace(f"sso_region = {SSO_REGION}", ""), ("lacks sso_region",))):
            with self.subTest(words=words):
                env, _ = self.setup(config, None, "corp", sso)
                profile = "dev" if "dev" in config else "legacy"
                r = self.whoami("--profile", profile, env=env, code=2)
                self.assertOneErrorLine(r, *words)
                o = self.run(["aws", "--region", "us-east-1", "sts", "get-caller-identity", "--profile", profile],
                             env=env, timeout=60)
                self.assertNotEqual(o.rc, 0, f"botocore accepted the configuration\n{o}")
