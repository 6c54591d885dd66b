"""test_chain_botocore.py — the credential chain's corner cases where awsbox used to choose
differently from botocore, each run through `whoami` and `aws sts get-caller-identity` (the AWS CLI,
botocore) on the same environment and files: which profile AWS_DEFAULT_PROFILE and AWS_PROFILE
name, profile section names as botocore splits them ([profile "q r"], extra spaces, [default]
beside [profile default]), an explicit --profile against the web identity variables, and a
profile's web_identity_token_file with AWS_ROLE_ARN."""
import os

import harness
from harness import ACCOUNT, USER_ARN
from test_creds import CONFIG_USER, FILE_USER, JWT, WEB_ROLE_ARN, Chain, assumed, form


def user_arn(name):
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


class Oracle(Chain):
    def same(self, *args, env, want):
        got = self.whoami(*args, env=env)
        self.assertEqual(got["Arn"], want)
        self.assertEqual(got, self.oracle(*args, env=env))

    def test_default_profile_over_profile(self):
        """botocore reads AWS_DEFAULT_PROFILE before AWS_PROFILE."""
        files = self.files(config=self.section(FILE_USER, "profile a") + self.section(CONFIG_USER, "profile b"))
        env = self.env(creds=False, AWS_PROFILE="a", AWS_DEFAULT_PROFILE="b", **files)
        self.same(env=env, want=user_arn(CONFIG_USER))
        env.pop("AWS_DEFAULT_PROFILE")
        self.same(env=env, want=user_arn(FILE_USER))

    def test_section_names_split_as_shell_words(self):
        config = (self.section(FILE_USER, 'profile "q r"') + self.section(CONFIG_USER, "profile   spaced  ")
                  + self.section("user", "profile a b"))
        env = self.env(creds=False, **self.files(config=config))
        self.same("--profile", "q r", env=env, want=user_arn(FILE_USER))
        self.same("--profile", "spaced", env=env, want=user_arn(CONFIG_USER))
        # [profile a b] is three words: no profile at all, for botocore and awsbox.
        r = self.whoami("--profile", "a b", env=env, code=2)
        self.assertOneErrorLine(r, "not found")
        o = self.run(["aws", "sts", "get-caller-identity", "--profile", "a b"], env=env, timeout=60)
        self.assertEqual(o.rc, 255, o)

    def test_default_and_profile_default(self):
        """Both sections: the later one in the file is the default profile, wholly."""
        first, second = self.section(FILE_USER, "default"), self.section(CONFIG_USER, "profile default")
        for config, who in ((first + second, CONFIG_USER), (second + first, FILE_USER),
                            (first + "[profile default]\nregion = us-east-1\n", None)):
            with self.subTest(config=config.replace("\n", " ")[:60]):
                env = self.env(creds=False, **self.files(config=config))
                if who:
                    self.same(env=env, want=user_arn(who))
                else:  # [profile default] without keys replaces [default] and its keys
                    r = self.whoami(env=env, code=4)
                    self.assertOneErrorLine(r, "no credentials")
                    o = self.run(["aws", "sts", "get-caller-identity"], env=env, timeout=60)
                    self.assertNotEqual(o.rc, 0, o)

    def token_file(self):
        p = os.path.join(self.tmpdir(), "token")
        with open(p, "w") as f:
            f.write(JWT)
        return p

    def test_explicit_profile_beats_web_identity_variables(self):
        files = self.files(credentials=self.section(FILE_USER, "p"))
        env = self.env(creds=False, AWS_WEB_IDENTITY_TOKEN_FILE=self.token_file(), AWS_ROLE_ARN=WEB_ROLE_ARN,
                       **files)
        self.same("--profile", "p", env=env, want=user_arn(FILE_USER))

    def test_profile_token_file_with_env_role(self):
        """The profile's web_identity_token_file and AWS_ROLE_ARN combine (each setting from the
        environment when set there, else the profile), as botocore combines them."""
        files = self.files(config=f"[profile web]\nweb_identity_token_file = {self.token_file()}\n"
                                  "role_session_name = combined\n")
        env = self.via_front(creds=False, AWS_PROFILE="web", AWS_ROLE_ARN=WEB_ROLE_ARN, **files)
        seen = []
        for run in (lambda: self.whoami(env=env), lambda: self.oracle(env=env)):
            harness.front().reset()
            ident = run()
            calls = [form(r) for r in harness.front().requests]
            self.assertEqual(calls[0]["Action"], "AssumeRoleWithWebIdentity")
            seen.append((calls[0], ident))
        self.assertEqual(seen[0], seen[1])
        self.assertEqual(seen[0][1]["Arn"], assumed("awsbox-web", "combined"))

    def test_web_identity_profile_with_source_profile(self):
        """role_arn + web_identity_token_file + source_profile: botocore's assume-role provider
        leaves the profile to web identity; awsbox used the source profile."""
        files = self.files(config=f"[profile web]\nrole_arn = {WEB_ROLE_ARN}\nweb_identity_token_file = "
                                  f"{self.token_file()}\nsource_profile = base\nrole_session_name = wi\n"
                                  + self.section("user", "profile base"))
        env = self.via_front(creds=False, AWS_PROFILE="web", **files)
        self.same(env=env, want=assumed("awsbox-web", "wi"))
        self.assertNotEqual(USER_ARN, assumed("awsbox-web", "wi"))

    def test_bad_metadata_endpoint_mode(self):
        """An invalid AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE fails the chain, whatever provider would
        answer (botocore checks it as it builds the chain); IPv4/ipv6 in any case are fine."""
        for mode, code in (("IPv5", 2), ("", 0), ("ipv4", 0), ("IPV6", 0)):
            with self.subTest(mode=mode):
                env = self.env(AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=mode)
                r = self.whoami(env=env, code=code)
                o = self.run(["aws", "sts", "get-caller-identity"], env=env, timeout=60)
                if code:
                    self.assertOneErrorLine(r, "endpoint mode", mode)
                    self.assertNotEqual(o.rc, 0, o)
                    self.assertIn("Invalid EC2 Instance Metadata endpoint mode", o.err)
                else:
                    self.assertEqual(r["Arn"], USER_ARN)
