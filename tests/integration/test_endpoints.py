"""test_endpoints.py — where awsbox sends each call, against what the installed botocore client
actually contacts on the same environment and files: every partition of botocore's partitions
data (plain, FIPS, dual-stack, both) for the six services awsbox calls, and botocore's endpoint
conformance suite (../shared/endpoint-tests, read from there; see its README).

awsbox's side is build/tools/endpoint (core's endpoint_resolve on the same flags, environment and
files); botocore's side is a real client whose request is stopped at before-send, its URL and its
signature's credential scope read. A case agrees when both give the same URL (scheme, authority,
base path and, for S3, the bucket in the path or not) and signing region, or when both refuse it.
Cases outside what awsbox does (S3 Express, Outposts, Object Lambda, multi-region access points,
Accelerate, calls without a bucket or without a region) are counted as not applicable, by reason."""
import collections
import json
import os
import subprocess
import tempfile
import unittest
import urllib.parse
from pathlib import Path
from unittest import mock

import botocore
import botocore.config
import botocore.session
import botocore.utils

import harness
from listener import Listener

ROOT = Path(__file__).resolve().parents[2]
TOOL = Path(os.environ.get("AWSBOX_TOOLS", ROOT / "build" / "tools")) / "endpoint"
SUITE = ROOT.parent / "shared" / "endpoint-tests"
if not SUITE.is_dir():
    SUITE = Path("/work/shared/endpoint-tests")
SERVICES = ("sts", "ssm", "secretsmanager", "sqs", "lambda", "s3")
ENV_NAME = {"sts": "STS", "ssm": "SSM", "secretsmanager": "SECRETS_MANAGER", "sqs": "SQS", "lambda": "LAMBDA",
            "s3": "S3"}
OPS = {"sts": ("get_caller_identity", {}), "ssm": ("get_parameter", {"Name": "x"}),
       "secretsmanager": ("get_secret_value", {"SecretId": "x"}), "sqs": ("list_queues", {}),
       "lambda": ("list_functions", {}), "s3": ("head_object", {"Key": "k"}),
       "sso": ("get_role_credentials", {"roleName": "r", "accountId": "123456789012", "accessToken": "t"}),
       "sso-oidc": ("create_token", {"clientId": "c", "clientSecret": "s", "grantType": "refresh_token"})}
# What follows the base URL in each operation's request, stripped from botocore's URL.
TAIL = {"lambda": "/2015-03-31/functions", "s3": "/k", "sso": "/federation/credentials", "sso-oidc": "/token"}


class _Stop(Exception):
    pass


class Oracle:
    """botocore clients sharing one loader (service models are read once)."""

    def __init__(self):
        self.loader = botocore.session.Session().get_component("data_loader")
        self.sessions = {}

    def resolve(self, service, env, bucket=None):
        """(url, signing region) botocore's client would contact, or ("error", text)."""
        with mock.patch.dict(os.environ, env, clear=True):
            # A session keeps some settings once read (the s3 block): one per environment but
            # for the region, which each client reads afresh.
            key = frozenset((k, v) for k, v in env.items() if k != "AWS_DEFAULT_REGION")
            s = self.sessions.get(key)
            if s is None:
                s = self.sessions[key] = botocore.session.Session()
                s.register_component("data_loader", self.loader)
            try:
                c = s.create_client(service, aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                                    config=botocore.config.Config(retries={"max_attempts": 1}))
            except Exception as e:  # botocore refuses the settings
                return "error", f"{type(e).__name__}: {e}"
            seen = []

            def hook(request, **kw):
                seen.append((request.url, request.headers.get("Authorization", b"")))
                raise _Stop()

            c.meta.events.register("before-send", hook)
            op, args = OPS[service]
            if bucket is not None:
                args = dict(args, Bucket=bucket)
            try:
                getattr(c, op)(**args)
            except _Stop:
                pass
            except Exception as e:
                return "error", f"{type(e).__name__}: {e}"
        url, auth = seen[0]
        if isinstance(auth, bytes):
            auth = auth.decode()
        scope = auth.split("Credential=")[1].split("/")[2] if "Credential=" in auth else None
        u = urllib.parse.urlsplit(url)
        path = u.path.rstrip("/")
        tail = TAIL.get(service)
        if tail and path.endswith(tail):
            path = path[: -len(tail)]
        return f"{u.scheme}://{u.netloc}{path.rstrip('/')}", scope


def awsbox(service, env, bucket=None):
    argv = [str(TOOL), service] + ([bucket] if bucket is not None else [])
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=10)
    if p.returncode:
        return "error", p.stderr.strip()
    url, region = p.stdout.strip().rsplit(" ", 1)
    return url.rstrip("/"), region


class Endpoints(unittest.TestCase):
    oracle = None

    @classmethod
    def setUpClass(cls):
        if not TOOL.exists():
            raise unittest.SkipTest(f"{TOOL} not built (make build/tools/endpoint)")
        harness.setup_session(install=False)
        if Endpoints.oracle is None:
            Endpoints.oracle = Oracle()
        cls.dir = tempfile.mkdtemp(dir=harness.S.tmp)

    def env(self, region, config="", **kw):
        path = os.path.join(self.dir, f"config-{abs(hash(config))}")
        with open(path, "w") as f:
            f.write(config)
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir, "AWS_CONFIG_FILE": path,
             "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.dir, "none"), "AWS_EC2_METADATA_DISABLED": "true"}
        if region is not None:
            e["AWS_DEFAULT_REGION"] = region
        e.update({k: v for k, v in kw.items() if v is not None})
        return e

    def compare(self, service, env, bucket=None):
        want = self.oracle.resolve(service, env, bucket)
        got = awsbox(service, env, bucket)
        if want[0] == "error" or got[0] == "error":
            return want[0] == got[0], want, got
        if want[1] is None:  # unsigned (the SSO portal and SSO-OIDC): the URL is all there is
            return want[0] == got[0], want, got
        return want == got, want, got

    def test_every_partition(self):
        """Each region of botocore's partitions data, and one more per partition that only its pattern
        names, for each service: plain, FIPS, dual-stack and both."""
        data = json.load(open(os.path.join(os.path.dirname(botocore.__file__), "data", "partitions.json")))
        made_up = {"aws": "us-north-9", "aws-cn": "cn-south-7", "aws-us-gov": "us-gov-north-3",
                   "aws-iso": "us-iso-north-4", "aws-iso-b": "us-isob-north-4", "aws-iso-e": "eu-isoe-south-2",
                   "aws-iso-f": "us-isof-west-5", "aws-eusc": "eusc-de-west-2"}
        counts, bad, refused = collections.Counter(), [], collections.Counter()
        seen = set()
        for p in data["partitions"]:
            seen.add(p["id"])
            regions = list(p["regions"])
            if p["id"] == "aws":  # its 30-odd regions are alike: a few, and the special ones
                regions = [r for r in regions if r in ("us-east-1", "us-west-2", "eu-west-1", "ap-south-1",
                                                       "aws-global")]
            for region in regions + [made_up[p["id"]]]:
                for svc in SERVICES + ("sso", "sso-oidc"):
                    for fips, dual in ((0, 0), (1, 0), (0, 1), (1, 1)):
                        env = self.env(region, AWS_USE_FIPS_ENDPOINT="true" if fips else None,
                                       AWS_USE_DUALSTACK_ENDPOINT="true" if dual else None)
                        want = self.oracle.resolve(svc, env, "bucket" if svc == "s3" else None)
                        if want[0] == "error" and "EndpointVariantError" in want[1]:
                            # botocore's client checks its older endpoints data first and refuses
                            # dual-stack there; the rule set (and awsbox) would give a host.
                            refused[p["id"]] += 1
                            continue
                        ok, want, got = self.compare(svc, env, "bucket" if svc == "s3" else None)
                        counts["agreed" if ok else "disagreed"] += 1
                        if not ok:
                            bad.append(f"{p['id']} {region} {svc} fips={fips} dual={dual}: botocore {want}, awsbox {got}")
        harness.note(f"partitions {sorted(seen)}: {counts['agreed']} agreed, {counts['disagreed']} disagreed; "
                     f"not applicable (botocore's client refuses dual-stack from its older endpoints data): "
                     f"{dict(refused)}")
        self.assertEqual(seen, {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f",
                                "aws-eusc"}, "botocore's partitions changed: update core/req/endpoint.c's table")
        self.assertEqual(bad, [], "\n".join(bad[:40]))
        self.assertGreater(counts["agreed"], 400)

    def not_applicable(self, service, params):
        arn = str(params.get("Bucket", ""))
        if "Region" not in params:
            return "no region (awsbox needs one)"
        if params.get("Accelerate"):
            return "S3 Accelerate"
        if params.get("UseObjectLambdaEndpoint") or ":s3-object-lambda:" in arn:
            return "S3 Object Lambda"
        if (params.get("UseS3ExpressControlEndpoint") or "DisableS3ExpressSessionAuth" in params
                or arn.endswith(("--x-s3", "--xa-s3")) or "--op-s3" in arn):
            return "S3 Express / directory buckets"
        if ":s3-outposts:" in arn:
            return "S3 Outposts"
        if arn.startswith("arn:") and arn.split(":")[3:4] == [""]:
            return "multi-region access points"
        if params.get("DisableAccessPoints") or "DisableMultiRegionAccessPoints" in params:
            return "access point switches awsbox has no setting for"
        if any(k in params for k in ("Key", "Prefix", "CopySource")):
            return "S3 control-plane parameters"
        if service == "s3" and "Bucket" not in params:
            return "S3 calls without a bucket (awsbox makes none)"
        return None

    def case_env(self, service, params):
        config = ""
        if params.get("ForcePathStyle"):
            config = "[default]\ns3 =\n  addressing_style = path\n"
        kw = {}
        if params.get("UseFIPS"):
            kw["AWS_USE_FIPS_ENDPOINT"] = "true"
        if params.get("UseDualStack"):
            kw["AWS_USE_DUALSTACK_ENDPOINT"] = "true"
        if "Endpoint" in params:
            kw[f"AWS_ENDPOINT_URL_{ENV_NAME[service]}"] = params["Endpoint"]
        if "UseGlobalEndpoint" in params:
            var = "AWS_STS_REGIONAL_ENDPOINTS" if service == "sts" else "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT"
            kw[var] = "legacy" if params["UseGlobalEndpoint"] else "regional"
        if "UseArnRegion" in params:
            kw["AWS_S3_USE_ARN_REGION"] = "true" if params["UseArnRegion"] else "false"
        return self.env(params.get("Region"), config, **kw)

    def test_conformance_suite(self):
        if not SUITE.is_dir():
            self.skipTest(f"{SUITE} not present")
        counts, na, bad = collections.Counter(), collections.Counter(), []
        for service in SERVICES:
            cases = json.load(open(SUITE / f"{service}.json"))["testCases"]
            for case in cases:
                params = case.get("params", {})
                reason = self.not_applicable(service, params)
                if reason:
                    na[reason] += 1
                    continue
                ok, want, got = self.compare(service, self.case_env(service, params), params.get("Bucket"))
                counts[service] += 1
                counts["agreed"] += ok
                if not ok:
                    bad.append(f"{service}: {case.get('documentation')} {params}: botocore {want}, awsbox {got}")
        applicable = sum(counts[s] for s in SERVICES)
        harness.note(f"conformance: {applicable} applicable ({', '.join(f'{s} {counts[s]}' for s in SERVICES)}), "
                     f"{counts['agreed']} agreed; not applicable {sum(na.values())}: "
                     + "; ".join(f"{r} {n}" for r, n in na.most_common()))
        self.assertEqual(bad, [], f"{len(bad)} of {applicable} disagree:\n" + "\n".join(bad[:40]))
        self.assertGreater(applicable, 300)


    def test_no_proxy_as_botocore(self):
        """Whether a call goes through HTTPS_PROXY/HTTP_PROXY, for NO_PROXY forms people write
        (curl's "*.domain" and "host:port" included), as botocore decides it (urllib's rules)."""
        values = ["*", "*.amazonaws.com", ".amazonaws.com", "amazonaws.com", "sts.us-east-1.amazonaws.com:443",
                  "sts.us-east-1.amazonaws.com", "localhost:4566", "localhost", "127.0.0.1", "127.0.0.1:4566",
                  "example.com, amazonaws.com", "x,*", ".S3.EU-WEST-1.AMAZONAWS.COM", "[::1]", "[::1]:4566", ""]
        targets = [("sts", None, None), ("s3", "bucket", None), ("sts", None, "https://localhost:4566"),
                   ("sqs", None, "http://127.0.0.1:4566"), ("ssm", None, "http://[::1]:4566"),
                   ("s3", "bucket", "https://localhost")]
        bad, n = [], 0
        for no_proxy in values:
            for svc, bucket, endpoint in targets:
                env = self.env("eu-west-1", HTTPS_PROXY="http://proxy.example:3128",
                               HTTP_PROXY="http://proxy.example:8080", NO_PROXY=no_proxy,
                               **{f"AWS_ENDPOINT_URL_{ENV_NAME[svc]}": endpoint})
                url = self.oracle.resolve(svc, env, bucket)[0]
                with mock.patch.dict(os.environ, env, clear=True):
                    proxies = botocore.utils.get_environ_proxies(url)
                    want = proxies.get(urllib.parse.urlsplit(url).scheme)
                want = f"proxy {urllib.parse.urlsplit(want).netloc}" if want else "direct"
                p = subprocess.run([str(TOOL), "--proxy", svc] + ([bucket] if bucket else []), env=env,
                                   capture_output=True, text=True, timeout=10)
                got = p.stdout.strip() or p.stderr.strip()
                n += 1
                if got != want:
                    bad.append(f"NO_PROXY={no_proxy!r} {url}: botocore {want}, awsbox {got}")
        harness.note(f"NO_PROXY: {n - len(bad)} of {n} routes agree with botocore")
        self.assertEqual(bad, [], "\n".join(bad))


class ConnectRecorder:
    """A proxy that records each CONNECT target and refuses it: where a client would go, with no
    traffic leaving 127.0.0.1."""

    def __init__(self):
        self.targets = []
        self.listener = Listener(self.serve)
        self.port = self.listener.port

    def serve(self, c):
        with c:
            c.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    d = c.recv(4096)
                    if not d:
                        break
                    head += d
                line = head.split(b"\r\n", 1)[0].decode(errors="replace")
                if line.startswith("CONNECT "):
                    self.targets.append(line.split()[1])
                c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass

    def stop(self):
        self.listener.stop()


class AccessPointCalls(harness.AwsboxTestCase):
    servers = False

    def test_s3cp_goes_where_the_aws_cli_goes(self):
        """s3cp and `aws s3 cp` with an access point ARN as the bucket ask the proxy for the same host
        (the ARN's region with use_arn_region, FIPS and dual-stack variants)."""
        arn = "arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap"
        for extra in ({}, {"AWS_USE_FIPS_ENDPOINT": "true"}, {"AWS_USE_DUALSTACK_ENDPOINT": "true"},
                      {"AWS_S3_USE_ARN_REGION": "false", "AWS_DEFAULT_REGION": "us-west-2"},
                      {"AWS_S3_USE_ARN_REGION": "false"}):  # the client's region is not the ARN's: refused
            with self.subTest(**extra):
                p = ConnectRecorder()
                self.addCleanup(p.stop)
                env = dict(harness.base_env(), HTTPS_PROXY=f"http://127.0.0.1:{p.port}", AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
                           AWS_SECRET_ACCESS_KEY="secret", AWS_DEFAULT_REGION="eu-west-1", AWS_MAX_ATTEMPTS="1")
                env.update(extra)
                r = self.run("s3cp", f"s3://{arn}/dir/key.txt", "-", env=env)
                self.assertNotEqual(r.rc, 0)
                mine = list(p.targets)
                o = self.run(["aws", "s3", "cp", f"s3://{arn}/dir/key.txt", "-"], env=env, timeout=60)
                self.assertNotEqual(o.rc, 0)
                theirs = p.targets[len(mine):]
                if extra.get("AWS_S3_USE_ARN_REGION") == "false" and "AWS_DEFAULT_REGION" not in extra:
                    self.assertEqual((mine, theirs), ([], []), f"{r}\n{o}")
                    self.assertIn("use_arn_region", r.err)
                    self.assertEqual(r.rc, 2, r)
                    continue
                self.assertTrue(mine and theirs, f"{mine} {theirs}\n{r}\n{o}")
                self.assertEqual(set(mine), set(theirs))
                self.assertTrue(mine[0].startswith("my-ap-123456789012.s3-accesspoint"), mine)


if __name__ == "__main__":
    unittest.main()
