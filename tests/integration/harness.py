"""harness.py — what every integration test module shares: the session environment, the moto
servers, the verifying front, the credential stand-ins and AwsboxTestCase.

Session (set up once by run.py, or lazily by AwsboxTestCase.setUpClass; setup_session()):
  a temp dir TMP holding HOME, an empty AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE; every
  AWS_*, AWSBOX_*, SSL_CERT_* and proxy variable removed from os.environ;
  AWS_EC2_METADATA_DISABLED=true; BIN = TMP/bin made by `./awsbox --install BIN`, first on PATH.
  stop_all() (run at exit) stops every server started, child processes by PID, and removes TMP
  (kept, with the moto logs, when AWSBOX_TEST_KEEP is set).

Constants: ROOT, AWSBOX (./awsbox, or $AWSBOX_BIN), REGION "us-east-1", ACCOUNT "123456789012" (moto's default
  account, where every key below lives), USER "awsbox-test", USER_ARN, ROLE "awsbox-role", ROLE_ARN.

Servers: each started once per run, on first use, and shared by all tests:
  moto_auth()   moto (a): IAM authentication on (INITIAL_NO_AUTH_ACTION_COUNT, see _bootstrap);
                every request's SigV4 signature is recomputed with botocore and a mismatch gets 403.
                Serves SSM, Secrets Manager, SQS, STS, IAM. Attributes: url, port, pid, log.
  moto_plain()  moto (b): no authentication, Lambda without Docker (invoke echoes the payload).
                Holds S3 and Lambda, reached through the front.
  front()       the verifying front (front.py) in front of moto (b): .verified, .rejected,
                .reasons, .connections, .requests, .on_request, .reset() (done in every setUp).
  key()         (akid, secret) of USER, who may do anything; valid on moto (a) and the front.
  temp_creds(session="awsbox-session", duration=3600)  STS AssumeRole of ROLE on moto (a): a dict
                with AccessKeyId, SecretAccessKey, SessionToken (and Token), Expiration (ISO-8601
                string); valid on moto (a), registered with the front (token checked).
  client(service, creds=None, direct=False, region=REGION, signature_version=None)  a boto3
                client (cached): s3 and lambda through the front (direct=True: moto (b) itself), the
                rest on moto (a); creds None is key(), or a temp_creds() dict. (boto3 presigns S3
                URLs with SigV2 unless signature_version="s3v4".)
  create_lambda(name, code=ECHO_PY)  a python3.11 function on moto (b); returns its ARN.
  S3_SERVERS    ("moto", "s3rver"): the independent S3 implementations the S3 tests run against.
  s3_front(server)  the verifying front for that S3 server: moto (b)'s front(), or a front of its
                own before s3rver (npm package, installed by scripts/deps into build/node; it
                checks no SigV4 itself, so its front does), started on first use.
  s3_key(server)    (akid, secret) valid there: key(), or s3rver's fixed S3RVER/S3RVER.

Helpers: free_port(); wait_port(port, timeout=20, proc=None); note(text) (run.py prints it under
  the test's line); applets() (what `awsbox --list` prints); base_env();
  emulated() (AWSBOX is another machine's binary, run under qemu-user); emu_rss_kib() (what the
  emulator adds to a run's peak RSS, 0 natively: memory bounds go on top of it);
  spawn(argv, log, env=None) -> Popen: a server process of your own, killed by PID at exit;
  at_exit(fn): fn() is called by stop_all() (for servers in threads of the test process).

AwsboxTestCase(unittest.TestCase):
  servers = True      class attribute; False: run()'s default env is base_env() and nothing starts
  run(applet_or_argv, *args, env=None, input=None, timeout=30, cwd=None) -> Result
        "ssmget", "a", "b" or ["ssmget", "a"]: runs BIN/ssmget (the symlink) with argv[0] "ssmget",
        as a shell would; "awsbox" is ./awsbox itself; other names are looked up on PATH.
        env defaults to self.env(). input: str or bytes (default: stdin is /dev/null).
        A timeout fails the test (the child is killed). (run(result) from unittest still runs the test.)
  Result: argv, rc, out (str), outb (bytes), err (str); str() shows all of it for failure messages.
  env(creds=True, **overrides) -> dict: base_env() plus AWS_REGION, AWS_ENDPOINT_URL (moto (a)),
        AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_LAMBDA (front), and with creds=True USER's key
        (creds=temp_creds() dict: that key and AWS_SESSION_TOKEN; creds=False: none).
        An override of None removes the variable.
  aws(*args, env=None, input=None, timeout=60, json=False): the AWS CLI as an oracle,
        `aws --endpoint-url URL --region REGION --output json ARGS`, URL chosen by service (args[0]);
        json=True asserts exit 0 and returns the parsed output.
  client(service, **kw): harness client(). imds(mode="v2", creds=None, **kw), container_creds(creds=None, **kw):
        stand-ins (standins.py) started now, stopped when the test ends; creds default temp_creds().
  tmpdir(): a fresh directory, removed when the test ends.
  assertExit(result, code), ok(result) -> result.out (asserts exit 0), assertFrontClean(min_verified=1).

Example (tests/integration/test_whoami.py):
    import harness
    from harness import AwsboxTestCase

    class Whoami(AwsboxTestCase):
        def test_arn(self):
            out = self.ok(self.run("whoami"))
            self.assertEqual(out.split("\t")[1], harness.USER_ARN)

        def test_instance_role(self):
            imds = self.imds("v2-required")
            out = self.ok(self.run("whoami", env=self.env(creds=False, **imds.env())))
            self.assertIn(f":assumed-role/{harness.ROLE}/", out)
"""
import atexit
import json as jsonlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import front as frontmod  # noqa: E402
import standins  # noqa: E402

ROOT = HERE.parent.parent
# AWSBOX_BIN: another build of awsbox to test (make check-asan, make valgrind); read here, before
# the session clears AWSBOX_*. A relative path is from the top of the tree.
AWSBOX = ROOT / os.environ.get("AWSBOX_BIN", "awsbox")
REGION = "us-east-1"
ACCOUNT = "123456789012"
USER = "awsbox-test"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{USER}"
ROLE = "awsbox-role"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
ALLOW_ALL = jsonlib.dumps({"Version": "2012-10-17",
                           "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
ECHO_PY = "def lambda_handler(event, context):\n    return event\n"
KEEP = os.environ.get("AWSBOX_TEST_KEEP")  # read before the session clears AWSBOX_*: keep TMP (logs)
PROXY_VARS = {"http_proxy", "https_proxy", "no_proxy", "all_proxy", "ftp_proxy"}


class SessionError(Exception):
    pass


class _State:
    tmp = None
    bin = None
    procs = []        # Popen objects we started: killed by PID at exit
    stoppers = []     # callables stopping in-process servers
    moto_a = moto_b = front = None
    s3rver = s3rver_front = s3rver_url = None
    key = None
    temp = {}
    clients = {}
    emulated = None
    emu_rss = None
    applets = None
    notes = []
    lock = threading.RLock()


S = _State


def note(text):
    """A line for run.py to print under the current test's result line."""
    S.notes.append(str(text))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20, proc=None):
    """Waits until 127.0.0.1:port accepts connections; fails early if proc has died."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise SessionError(f"process {proc.pid} exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SessionError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


# ---- session -------------------------------------------------------------------------------

def setup_session(install=True):
    """Idempotent: the temp HOME and AWS files, a clean environment, BIN first on PATH.
    install=False (scripts that only want moto): no ./awsbox needed, no BIN."""
    with S.lock:
        if S.tmp:
            return
        if install and not os.access(AWSBOX, os.X_OK):
            raise SessionError(f"{AWSBOX} is not built: run make")
        tmp = Path(tempfile.mkdtemp(prefix="awsbox-it-"))
        S.tmp = tmp
        atexit.register(stop_all)
        (tmp / "home").mkdir()
        (tmp / "aws-config").write_text("")
        (tmp / "aws-credentials").write_text("")
        for k in list(os.environ):
            if k.startswith(("AWS_", "AWSBOX_", "SSL_CERT_")) or k.lower() in PROXY_VARS:
                del os.environ[k]
        os.environ.update(HOME=str(tmp / "home"), AWS_CONFIG_FILE=str(tmp / "aws-config"),
                          AWS_SHARED_CREDENTIALS_FILE=str(tmp / "aws-credentials"),
                          AWS_EC2_METADATA_DISABLED="true")
        if not install:
            return
        S.bin = tmp / "bin"
        S.bin.mkdir()
        p = subprocess.run([str(AWSBOX), "--install", str(S.bin)], capture_output=True, text=True)
        if p.returncode != 0:
            raise SessionError(f"awsbox --install {S.bin} exited {p.returncode}: {p.stderr}")
        os.environ["PATH"] = f"{S.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}"


def base_env():
    setup_session()
    return dict(os.environ)


def applets():
    if S.applets is None:
        p = subprocess.run([str(AWSBOX), "--list"], capture_output=True, text=True, check=True)
        S.applets = p.stdout.split()
    return S.applets


def emulated():
    """True when AWSBOX is built for another machine than this one (make check-arm64): it, its
    applet links and the test tools then run under qemu-user (binfmt_misc)."""
    if S.emulated is None:
        with open(AWSBOX, "rb") as f:
            head = f.read(20)
        machine = {"x86_64": 62, "aarch64": 183}.get(os.uname().machine)
        S.emulated = int.from_bytes(head[18:20], "little") != machine  # ELF e_machine
    return S.emulated


def emu_rss_kib():
    """The peak RSS (KiB) the emulator itself holds, which every measured run of an emulated
    binary includes: the peak of `awsbox --version` under it; 0 natively. Memory bounds in the
    tests are on top of it."""
    if S.emu_rss is None:
        S.emu_rss = 0
        if emulated():
            p = subprocess.run(["/usr/bin/time", "-f", "maxrss=%M", str(AWSBOX), "--version"], capture_output=True,
                               text=True, check=True)
            S.emu_rss = int(p.stderr.rsplit("maxrss=", 1)[1].split()[0])
    return S.emu_rss


def spawn(argv, log, env=None):
    """Starts a server process in its own session (Ctrl-C goes to us, and we stop it by PID)."""
    with open(log, "ab") as f:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                             env=env, start_new_session=True)
    S.procs.append(p)
    return p


def at_exit(fn):
    S.stoppers.append(fn)


def stop_all():
    """Stops everything this process started. Safe to call more than once."""
    with S.lock:
        for stop in reversed(S.stoppers):
            try:
                stop()
            except Exception:
                pass
        S.stoppers = []
        for p in S.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in S.procs:
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        S.procs = []
        S.moto_a = S.moto_b = S.front = None
        S.s3rver = S.s3rver_front = None
        S.key, S.temp, S.clients = None, {}, {}
        if S.tmp and KEEP:
            print(f"AWSBOX_TEST_KEEP: kept {S.tmp}", file=sys.__stderr__)
        elif S.tmp:
            shutil.rmtree(S.tmp, ignore_errors=True)
        S.tmp = None


# ---- moto ----------------------------------------------------------------------------------

class Moto:
    """One `python3 -m moto.server` on 127.0.0.1, its output in TMP/NAME.log."""

    def __init__(self, name, env_extra=None):
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = S.tmp / f"{name}.log"
        env = dict(os.environ, **(env_extra or {}))
        self.proc = spawn([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                          self.log, env)
        self.pid = self.proc.pid

    def wait(self):
        try:
            wait_port(self.port, 30, self.proc)
        except SessionError as e:
            raise SessionError(f"{self.name}: {e}\n{self.log_tail()}") from None

    def log_tail(self, n=30):
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def api(self, path, body):
        """POSTs to moto's own API (/moto-api/...), which needs no signature and counts no action."""
        data = body if isinstance(body, bytes) else jsonlib.dumps(body).encode()
        with urllib.request.urlopen(urllib.request.Request(self.url + path, data=data, method="POST"), timeout=10) as r:
            return r.read()


# The unauthenticated calls that _bootstrap makes. moto counts, in
# ActionAuthenticatorMixin.request_count, every request that reaches an action's authorization
# step while the count is below INITIAL_NO_AUTH_ACTION_COUNT, successful or not; requests to
# /moto-api/ and TCP connects are not counted. So: exactly these calls, no retries.
BOOTSTRAP_CALLS = 3  # iam:CreateUser, iam:CreateAccessKey, iam:PutUserPolicy


def _bootstrap(m):
    import boto3
    from botocore.config import Config
    iam = boto3.client("iam", endpoint_url=m.url, region_name=REGION, aws_access_key_id="AKIABOOTSTRAP0000000",
                       aws_secret_access_key="bootstrap", config=Config(retries={"total_max_attempts": 1}))
    iam.create_user(UserName=USER)                                                       # 1
    k = iam.create_access_key(UserName=USER)["AccessKey"]                                # 2
    iam.put_user_policy(UserName=USER, PolicyName="allow-all", PolicyDocument=ALLOW_ALL)  # 3
    S.key = (k["AccessKeyId"], k["SecretAccessKey"])
    # From here on every call is checked: a wrong signature must be refused, or nothing is tested.
    bad = boto3.client("sts", endpoint_url=m.url, region_name=REGION, aws_access_key_id=S.key[0],
                       aws_secret_access_key="wrong", config=Config(retries={"total_max_attempts": 1}))
    try:
        bad.get_caller_identity()
    except bad.exceptions.ClientError as e:
        if e.response["ResponseMetadata"]["HTTPStatusCode"] == 403:
            return
    raise SessionError("moto (a) accepted a wrongly signed request: IAM authentication is not on")


def _ensure(auth=False, plain=False):
    """Starts what is missing (both at once, to overlap their start-up), then configures it.
    moto (b) comes with the front, and the front needs USER's key, so plain implies auth."""
    if not S.tmp:
        setup_session()
    auth = auth or plain
    with S.lock:
        new_a, new_b = auth and S.moto_a is None, plain and S.moto_b is None
        if new_a:
            S.moto_a = Moto("moto-auth", {"INITIAL_NO_AUTH_ACTION_COUNT": str(BOOTSTRAP_CALLS)})
        if new_b:
            S.moto_b = Moto("moto-plain")
        try:
            if new_a:
                S.moto_a.wait()
                _bootstrap(S.moto_a)
            if new_b:
                S.moto_b.wait()
                S.moto_b.api("/moto-api/config", {"lambda": {"use_docker": False}})
                f = frontmod.Front(S.moto_b.url).start()
                S.stoppers.append(f.stop)
                f.add_key(*S.key)
                S.front = f
        except Exception:
            S.moto_a = None if new_a else S.moto_a
            S.moto_b = None if new_b else S.moto_b
            raise


def moto_auth():
    _ensure(auth=True)
    return S.moto_a


def moto_plain():
    _ensure(plain=True)
    return S.moto_b


def front():
    _ensure(auth=True, plain=True)
    return S.front


def key():
    _ensure(auth=True)
    return S.key


def temp_creds(session="awsbox-session", duration=3600):
    """Temporary credentials of ROLE (allow-all) from moto (a)'s STS; also known to the front."""
    f = front()
    with S.lock:
        iam = client("iam")
        if not S.temp.get("role"):
            trust = jsonlib.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": USER_ARN}, "Action": "sts:AssumeRole"}]})
            iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=trust)
            iam.put_role_policy(RoleName=ROLE, PolicyName="allow-all", PolicyDocument=ALLOW_ALL)
            S.temp["role"] = True
    c = client("sts").assume_role(RoleArn=ROLE_ARN, RoleSessionName=session, DurationSeconds=duration)["Credentials"]
    exp = c["Expiration"]
    creds = dict(AccessKeyId=c["AccessKeyId"], SecretAccessKey=c["SecretAccessKey"], SessionToken=c["SessionToken"],
                 Token=c["SessionToken"], Expiration=standins._iso(exp))
    f.add_key(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    return creds


def client(service, creds=None, direct=False, region=REGION, signature_version=None, server="moto",
           checksums="when_supported"):
    """checksums: botocore's request_checksum_calculation ("when_required": a PutObject with no
    stored checksum, only its MD5 ETag, as older clients and most S3-compatible stores write)."""
    import boto3
    from botocore.config import Config
    via_front = service in ("s3", "lambda")
    if server != "moto":
        url = S.s3rver_url if direct and s3_front(server) else s3_front(server).url
    elif via_front:
        url = moto_plain().url if direct else front().url
    else:
        url = moto_auth().url
    akid, secret = (creds["AccessKeyId"], creds["SecretAccessKey"]) if creds else s3_key(server)
    token = creds.get("SessionToken") if creds else None
    ck = (service, akid, secret, token, direct, region, signature_version, server, checksums)
    with S.lock:
        if ck not in S.clients:
            S.clients[ck] = boto3.session.Session().client(
                service, endpoint_url=url, region_name=region, aws_access_key_id=akid,
                aws_secret_access_key=secret, aws_session_token=token,
                config=Config(s3={"addressing_style": "path"}, signature_version=signature_version,
                              request_checksum_calculation=checksums))
        return S.clients[ck]


# ---- a second, independent S3: s3rver -------------------------------------------------------

S3_SERVERS = ("moto", "s3rver")
S3RVER_JS = ROOT / "build" / "node" / "node_modules" / "s3rver" / "bin" / "s3rver.js"
S3RVER_KEY = ("S3RVER", "S3RVER")  # the one account s3rver knows


def s3_key(server="moto"):
    return key() if server == "moto" else S3RVER_KEY


def s3_front(server="moto"):
    if server == "moto":
        return front()
    if not S.tmp:
        setup_session()
    with S.lock:
        if S.s3rver_front is None:
            if not S3RVER_JS.exists():
                raise SessionError(f"{S3RVER_JS} is missing: run scripts/deps")
            port = free_port()
            # Node 20's OpenSSL 3 lacks the cipher s3rver seals continuation tokens with.
            env = dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider")
            p = spawn(["node", str(S3RVER_JS), "-d", str(S.tmp / "s3rver-data"), "-a", "127.0.0.1", "-p", str(port)],
                      S.tmp / "s3rver.log", env)
            wait_port(port, 30, p)
            S.s3rver, S.s3rver_url = p, f"http://127.0.0.1:{port}"
            f = frontmod.Front(f"http://127.0.0.1:{port}").start()
            S.stoppers.append(f.stop)
            f.add_key(*S3RVER_KEY)
            S.s3rver_front = f
        return S.s3rver_front


def create_lambda(name, code=ECHO_PY):
    """A python3.11 function named name on moto (b) (moto runs it without Docker); its ARN."""
    import io
    import zipfile
    import boto3
    with S.lock:
        if not S.temp.get("lambda-role"):  # moto checks that the role exists, in moto (b)'s IAM
            iam = boto3.client("iam", endpoint_url=moto_plain().url, region_name=REGION,
                               aws_access_key_id=key()[0], aws_secret_access_key=key()[1])
            trust = jsonlib.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
            iam.create_role(RoleName="awsbox-lambda", AssumeRolePolicyDocument=trust)
            S.temp["lambda-role"] = True
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("lambda_function.py", code)
    r = client("lambda").create_function(FunctionName=name, Runtime="python3.11", Handler="lambda_function.lambda_handler",
                                         Role=f"arn:aws:iam::{ACCOUNT}:role/awsbox-lambda", Code={"ZipFile": z.getvalue()})
    return r["FunctionArn"]


# ---- test case ----------------------------------------------------------------------------

class Result:
    def __init__(self, argv, rc, outb, errb):
        self.argv, self.rc, self.outb = argv, rc, outb
        self.out = outb.decode("utf-8", "replace")
        self.err = errb.decode("utf-8", "replace")

    def __str__(self):
        return (f"$ {' '.join(map(str, self.argv))}\nexit {self.rc}\n"
                f"--- stdout ---\n{self.out[:4000]}\n--- stderr ---\n{self.err[:4000]}")

    __repr__ = __str__


class AwsboxTestCase(unittest.TestCase):
    servers = True
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        setup_session()

    def setUp(self):
        for f in (S.front, S.s3rver_front):
            if f is not None:
                f.reset()

    def run(self, *args, **kw):
        # unittest calls run(result) to run the test; tests call run("applet", ...) for a command.
        if not kw and len(args) <= 1 and (not args or args[0] is None or hasattr(args[0], "startTest")):
            return super().run(*args)
        return self._command(*args, **kw)

    def _command(self, what, *args, env=None, input=None, timeout=30, cwd=None):
        argv = [what, *args] if isinstance(what, str) else [*what, *args]
        argv = [str(a) for a in argv]
        exe = argv[0]
        if exe == "awsbox":
            exe = str(AWSBOX)
        elif "/" not in exe and os.path.lexists(S.bin / exe):
            exe = str(S.bin / exe)
        elif "/" not in exe:
            exe = shutil.which(exe, path=(env or os.environ).get("PATH")) or exe
        if env is None:
            env = self.env() if self.servers else base_env()
        if isinstance(input, str):
            input = input.encode()
        try:
            p = subprocess.run(argv, executable=exe, env=env, input=input, capture_output=True, timeout=timeout,
                               cwd=cwd, stdin=subprocess.DEVNULL if input is None else None)
        except subprocess.TimeoutExpired as e:
            self.fail(f"timed out after {timeout}s (killed): {' '.join(argv)}\n--- stdout ---\n"
                      f"{(e.stdout or b'').decode(errors='replace')}\n--- stderr ---\n{(e.stderr or b'').decode(errors='replace')}")
        return Result(argv, p.returncode, p.stdout, p.stderr)

    def env(self, creds=True, **overrides):
        e = base_env()
        if self.servers:
            _ensure(auth=True, plain=True)
            e.update(AWS_REGION=REGION, AWS_ENDPOINT_URL=S.moto_a.url, AWS_ENDPOINT_URL_S3=S.front.url,
                     AWS_ENDPOINT_URL_LAMBDA=S.front.url)
            if creds is True:
                e.update(AWS_ACCESS_KEY_ID=S.key[0], AWS_SECRET_ACCESS_KEY=S.key[1])
            elif creds:
                e.update(AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                         AWS_SESSION_TOKEN=creds["SessionToken"])
        for k, v in overrides.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = str(v)
        return e

    def aws_url(self, service):
        return front().url if service in ("s3", "s3api", "lambda") else moto_auth().url

    def aws(self, *args, env=None, input=None, timeout=60, json=False):
        url = self.aws_url(args[0] if args else "")
        r = self._command(["aws", "--endpoint-url", url, "--region", REGION, "--output", "json", *args],
                          env=env or self.env(), input=input, timeout=timeout)
        if not json:
            return r
        self.assertExit(r, 0)
        return jsonlib.loads(r.out) if r.out.strip() else None

    def client(self, service, **kw):
        return client(service, **kw)

    def imds(self, mode="v2", creds=None, **kw):
        s = standins.IMDS(creds or temp_creds(), mode=mode, **kw).start()
        self.addCleanup(s.stop)
        return s

    def container_creds(self, creds=None, **kw):
        s = standins.ContainerCreds(creds or temp_creds(), **kw).start()
        self.addCleanup(s.stop)
        return s

    def tmpdir(self):
        setup_session()
        d = tempfile.mkdtemp(dir=S.tmp)
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def assertExit(self, result, code, msg=None):
        if result.rc != code:
            self.fail(f"exit {result.rc}, expected {code}{': ' + msg if msg else ''}\n{result}")

    def ok(self, result):
        self.assertExit(result, 0)
        return result.out

    def assertFrontClean(self, min_verified=1):
        """Every request the front saw in this test was correctly signed, and there were some."""
        f = front()
        self.assertEqual(f.rejected, [], "the front rejected requests")
        self.assertGreaterEqual(f.verified, min_verified, "the front verified too few requests")


class S3TestCase(AwsboxTestCase):
    """A test case run against each S3 server: `server` names it ("moto" here); a module makes
    one subclass per other server with per_server(). env(), aws(), client("s3") and self.front
    reach that server (behind its verifying front) with a key it knows. A test that meets a
    limitation of the server (LACKS) leaves that part out (if self.lacks(what): noted), or is
    skipped with self.limitation(what) when nothing else is left to test."""
    server = "moto"

    @property
    def front(self):
        return s3_front(self.server)

    # What s3rver (3.7) does not do as S3 does: a test leaves out only the part that needs it,
    # and says so under its result line.
    LACKS = {"s3rver": {
        "checksums": "stores no x-amz-checksum-* values, so serves none back",
        "mpu-etag": "gives a multipart object its whole MD5 as ETag (no -N suffix)",
        "if-none-match": "ignores If-None-Match",
        "acl": "ignores ACLs",
        "sse": "ignores server-side encryption",
        "upload-part-copy": "has no UploadPartCopy",
        "empty-segments": "cannot store keys with an empty path segment (a//b, /a): 404",
        "storage-class": "ignores storage classes (a copy onto itself that changes only that is refused)",
        "abort": "has no AbortMultipartUpload or ListMultipartUploads (405)",
    }}

    def lacks(self, what):
        """True (and noted) when this server lacks what; the caller leaves that part out."""
        why = self.LACKS.get(self.server, {}).get(what)
        if why:
            note(f"{self.server} {why}: not checked here")
        return bool(why)

    def once(self, why):
        """Runs the test against moto only: it measures awsbox, not the server (keeps make check short)."""
        if self.server != "moto":
            self.skipTest(f"run against moto only: {why}")

    def limitation(self, what):
        """Skips the whole test when this server lacks what (the test needs nothing else)."""
        if self.lacks(what):
            self.skipTest(f"{self.server} {self.LACKS[self.server][what]}")

    def env(self, creds=True, **overrides):
        e = super().env(creds=creds, **overrides)
        if self.server != "moto":
            if "AWS_ENDPOINT_URL_S3" not in overrides:
                e["AWS_ENDPOINT_URL_S3"] = self.front.url
            if creds is True:
                for name, value in zip(("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), S3RVER_KEY):
                    if name not in overrides:
                        e[name] = value
        return e

    def aws_url(self, service):
        return self.front.url if service in ("s3", "s3api") else super().aws_url(service)

    def client(self, service, **kw):
        if service == "s3":
            kw.setdefault("server", self.server)
        return client(service, **kw)

    def assertFrontClean(self, min_verified=1):
        self.assertEqual(self.front.rejected, [], "the front rejected requests")
        self.assertGreaterEqual(self.front.verified, min_verified, "the front verified too few requests")


def repeating_listing(prefix, key):
    """A front hook: every ListObjectsV2 under prefix answers one page holding key, truncated, with
    the same continuation token each time (a listing that would never end)."""
    def hook(req):
        if "list-type=2" not in req.target or "prefix=" + prefix.replace("/", "%2F") not in req.target:
            return None
        body = ("<?xml version='1.0' encoding='UTF-8'?><ListBucketResult><Name>b</Name>"
                f"<Prefix>{prefix}</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>"
                f"<NextContinuationToken>again</NextContinuationToken><Contents><Key>{key}</Key>"
                "<LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>\"x\"</ETag><Size>0</Size>"
                "</Contents></ListBucketResult>").encode()
        return 200, [("Content-Type", "application/xml")], body
    return hook


def per_server(cls):
    """{name: subclass}: cls again for each S3 server but moto, to put in a test module's globals."""
    out = {}
    for server in S3_SERVERS[1:]:
        name = cls.__name__ + server.capitalize()
        out[name] = type(name, (cls,), {"server": server, "__module__": cls.__module__,
                                        "__doc__": f"{cls.__name__} against {server}."})
    return out
