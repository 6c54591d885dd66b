"""test_faults.py — every applet under injected faults, credentials that hang or rotate, secrets in
--debug output, secret files and interrupts: the "reliability and security" issue.

A fault proxy (faultproxy.py) on 127.0.0.1 is the endpoint of each run (AWS_ENDPOINT_URL,
AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_LAMBDA; for rdstoken, which signs locally, the container
credentials URL): it relays to moto (a) (SSM, Secrets Manager, SQS, STS), to the verifying front
before moto (b) (S3, Lambda), to the strict SSM stand-in (ssmrun's Automation) or to a container
credentials stand-in (rdstoken), and spoils what the schedule says. So every request that gets
through is still checked by botocore's signature rules upstream.

The matrix: one representative invocation per applet (its expected stdout or file checked on
success; s3cp is a download to a file, s3cp-up an upload), times each fault, on two schedules:
"once" spoils one request (the applet's main one: s3cp's GetObject, sqssend's SendMessage, else
the first; for TLS faults the first connection) and "every" spoils them all. Each run has
AWSBOX_CONNECT_TIMEOUT=1s, AWSBOX_READ_TIMEOUT=2s and AWS_MAX_ATTEMPTS=3. For each cell:
  - the exit code is the table's (0 only with the right output: stdout, file, or stored object);
  - a failure is one line on stderr, "APPLET: ..." naming the operation and the cause;
    lambdainvoke's network failures say it was not sent again;
  - no partial or corrupt output: the --output / download target keeps its old content, nothing
    else appears beside it (temporary files included); stdout is empty (lambdainvoke, which
    streams the payload, at most a prefix of it);
  - the fault was injected, and as often as the retry policy says: a fault that "once" survives
    is retried, so "every" sees it AWS_MAX_ATTEMPTS times (the container provider: twice);
    one that "once" fails on is never retried (seen once);
  - the wall time stays within what the timeouts, attempts and backoff caps allow (bound()).
The connection faults and the TLS faults run over TLS too (a test CA; AWS_CA_BUNDLE).

Expected exit codes, "once/every" (0 ok, 1 AWS or protocol error, 4 credentials, 6 network):

fault         awsid   s3cp  s3cp-up  s3watch  ssmget  secretget  lambdainvoke  sqssend  ssmrun  rdstoken
skew          0       0     0        0        0       0          0             0        0       0
500           0/1     0/1   0/1      0/1      0/1     0/1        1/1           0/1      0/1     0/4
503           0/1     0/1   0/1      0/1      0/1     0/1        0/1           0/1      0/1     0/4
throttle      0/1     0/1   0/1      0/1      0/1     0/1        0/1           0/1      0/1     4/4
429           0/1     0/1   0/1      0/1      0/1     0/1        0/1           0/1      0/1     0/4
reset-before  0/6     0/6   0/6      0/6      0/6     0/6        6/6           0/6      0/6     0/4
reset-mid     0/6     0/6   0/6      0/6      0/6     0/6        6/6           0/6      0/6     0/4
short         0/6     0/6   0/6      0/6      0/6     0/6        6/6           0/6      0/6     0/4
stall         0/6     0/6   0/6      0/6      0/6     0/6        6/6           0/6      0/6     0/4
stall-mid     0/6     0/6   0/6      0/6      0/6     0/6        6/6           0/6      0/6     0/4
trickle       0/6     0/6   0/6      0/6      0/6     0/6        6/6           0/6      0/6     0/4
trickle-body  0/6     0/6   0/6      0/6      0/6     0/6        6/6           0/6      0/6     0/4
garbage       1/1     1/1   1/1      1/1      1/1     1/1        1/1           1/1      1/1     0/4
garbage-body  1/1     1/1   0/0      1/1      1/1     1/1        0!/0!         1/1      1/1     4/4
wrong-type    0/0     0/0   0/0      0/0      0/0     0/0        0/0           0/0      0/0     0/0
html          1/1     1/1   1/1      1/1      1/1     1/1        0!/0!         1/1      1/1     4/4
tls-alert     6/6     6/6   6/6      6/6      6/6     6/6        6/6           6/6      6/6     0/4
tls-reset     0/6     0/6   0/6      0/6      0/6     0/6        0/6           0/6      0/6     0/4

Why, row by row (the faults are described in faultproxy.FAULTS):
  skew: the proxy's clock is 20 minutes ahead; awsbox takes the server's Date from the skew error
    (S3's RequestTimeTooSkewed, the other services' "Signature expired", S3 HEAD's bodiless 403),
    re-signs and succeeds; the proxy checks that every later request's x-amz-date is 20 minutes
    on from the first. rdstoken's only request, for credentials, is not signed.
  5xx, throttling, 429: retried with backoff; after AWS_MAX_ATTEMPTS an AWS error (1). Lambda
    Invoke is resent only when throttled (SlowDown and 429 count), never after a 500: the function
    may have run. A HEAD answer has no body to name ThrottlingException, so s3cp's HeadObject takes
    that 400 as final (S3 throttles with 503 SlowDown, which is retried).
  connection faults: retried as network failures, then 6; lambdainvoke never resends once the
    request went out (6 at once); the read timeout bounds the wait for a whole response head, and
    a body must come within it plus a second per KiB that came: a trickle ends too.
  garbage (not HTTP): a protocol error, not retried (1); a well-framed 200 whose body cannot be
    parsed, or a captive portal's HTML, is a protocol error too (1; s3cp: the checksum or the
    missing ETag tells). A PutObject answer has no body to spoil (0). "0!": Lambda's payload is
    opaque bytes with no checksum, so a replaced payload is passed on with exit 0 — only TLS
    protects it. wrong-type: awsbox, like botocore, does not depend on Content-Type.
  tls-alert: a fatal alert is final (6 without retry); a reset during the handshake is retried.
  rdstoken: the container credentials provider tries twice (a second later after a 5xx or 429)
    and any failure there is "no credentials" (4); a 400 is final; unparseable credentials are no
    credentials either (4).

Other tests: a metadata service that hangs (every applet: 4 in about 2 s); container credentials
that expire within 15 minutes, a new key each time, during a multipart upload with a 503 on one
part (each call re-signs with fresh keys); a connect that never completes (AWSBOX_CONNECT_TIMEOUT);
a download whose every GetObject stalls or breaks (AWS_MAX_ATTEMPTS GETs in all); bad timeout settings; --debug on every applet with container and with instance-metadata
credentials, its stderr grepped for the secret key, session token, each signature the proxy saw,
the IMDS token, the container authorization token and the secret values; --output files are 0600
whatever the umask or the old file's mode; SIGINT and SIGTERM in the middle of a download and of
secretget/ssmget --output leave no file behind.
"""
import concurrent.futures
import hashlib
import json
import os
import random
import re
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import unittest
import uuid
from urllib.parse import quote, unquote

import harness
import front as frontmod
import ssmstandin
import standins
from faultproxy import FAULTS, TLS_FAULTS, FaultProxy, make_tls
from harness import AwsboxTestCase

# The read timeout is above the trickle's one-second gaps: only the response deadline can end it.
T_CONNECT, T_READ, ATTEMPTS = 1.0, 2.0, 3
CC_TIMEOUT, CC_TRIES = 2.0, 2          # the container provider's own timeout and attempts (creds.c)
SKEW = 1200                            # the proxy's clock: 20 minutes ahead
SLACK = 3.0                            # start-up, moto, a loaded machine
PARALLEL = 32
TIMING = {"stall", "stall-mid", "trickle", "trickle-body"}
CONNECTION = {"reset-before", "reset-mid", "short"} | TIMING
TAG = uuid.uuid4().hex[:8]


def parse_table(doc):
    """{(applet, fault): (once, every)} from the module docstring's table; "0!" is ("0!", ...)."""
    lines = doc[doc.index("\nfault "):].strip("\n").splitlines()
    cols = lines[0].split()[1:]
    out = {}
    for line in lines[1:]:
        if not line.strip():
            break
        f, *cells = line.split()
        assert len(cells) == len(cols), line
        for a, c in zip(cols, cells):
            once, _, every = c.partition("/")
            out[a, f] = (once, every or None)
    return out


TABLE = parse_table(__doc__)
FAULT_ROWS = sorted({f for _, f in TABLE}, key=lambda f: (["skew"] + list(FAULTS)).index(f))
# Where a cell's exit code does not say how often the fault was met (see the table notes).
HITS = {("s3cp", "throttle"): 1}
NOOP = {("s3cp-up", "garbage-body")}  # nothing to spoil: the proxy leaves the answer alone
# What the one line must say about the cause.
REASON = {
    "500": r"\b500\b", "503": r"\b503\b", "throttle": r"\b400\b", "429": r"\b429\b",
    "reset-before": r"reset by peer|closed", "reset-mid": r"reset by peer|closed", "short": r"closed",
    "stall": r"timed out", "stall-mid": r"timed out", "trickle": r"timed out", "trickle-body": r"timed out",
    "garbage": r"malformed status line", "garbage-body": r"unexpected response|not a JSON|checksum mismatch",
    "html": r"unexpected response|not a JSON|no ETag|bytes announced", "tls-alert": r"TLS handshake .*alert 40",
    "tls-reset": r"reset by peer",
}


# ---- the world every run shares --------------------------------------------------------------

class World:
    """Made once: data on moto and behind the front, the stand-ins, a TLS CA and certificate."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="faults-", dir=harness.S.tmp)
        self.front, self.moto = harness.front(), harness.moto_auth()
        self.bucket = f"awsbox-faults-{TAG}"
        self.data = random.Random(7).randbytes(3 * 1024)  # a trickled body may take 1 s per KiB
        s3 = harness.client("s3")
        s3.create_bucket(Bucket=self.bucket)
        s3.put_object(Bucket=self.bucket, Key="obj.bin", Body=self.data)
        s3.put_object(Bucket=self.bucket, Key="watch/ready.flag", Body=b"")
        self.param, self.param_value = f"/itest/faults-{TAG}/param", f"param-{uuid.uuid4().hex}"
        harness.client("ssm").put_parameter(Name=self.param, Value=self.param_value, Type="SecureString")
        self.secret, self.secret_value = f"itest/faults-{TAG}/secret", f"secret-{uuid.uuid4().hex}"
        harness.client("secretsmanager").create_secret(Name=self.secret, SecretString=self.secret_value)
        self.function = f"awsbox-faults-{TAG}"
        harness.create_lambda(self.function)
        self.queue = f"awsbox-faults-{TAG}"
        harness.client("sqs").create_queue(QueueName=self.queue)
        self.ssm_keys = frontmod.Keys()
        self.ssm_keys.add(*harness.key())
        self.ssm = ssmstandin.SsmStandin(self.ssm_keys).start()
        harness.at_exit(self.ssm.stop)
        # The stand-in still checks every signature; the clock is the proxy's to judge (skew).
        self.ssm.skew = 3 * SKEW
        self.ssm.document("Faults-Doc", [(0, "InProgress", "s"), (0.05, "Success")], outputs={"s.Out": ["ok"]})
        self.cc_creds = harness.temp_creds("awsbox-faults-cc")
        self.cc_path = "/v2/credentials/faults"
        self.cc = standins.ContainerCreds(self.cc_creds, path=self.cc_path).start()
        harness.at_exit(self.cc.stop)
        # S3 and Lambda behind a front that takes a 20-minute skew (moto (a) checks no dates).
        self.lenient = frontmod.Front(harness.moto_plain().url, keys=self.front.keys, skew=3 * SKEW).start()
        harness.at_exit(self.lenient.stop)
        self.tls, self.ca = make_tls(self.tmp)
        # PARALLEL runs open a connection upstream per request: the servers' accept queues (5,
        # socketserver's default) must not overflow, or a dropped SYN costs a second.
        for srv in (self.front.server, self.ssm.server, self.cc.server, self.lenient.server):
            srv.socket.listen(128)

    def routes(self, applet, skew=False):
        r = {"s3": self.front.url, "lambda": self.front.url, "ssm": self.moto.url, "secretsmanager": self.moto.url,
             "sqs": self.moto.url, "sts": self.moto.url}
        if applet.name == "ssmrun":
            r["ssm"] = self.ssm.url
        if skew:
            r["s3"] = r["lambda"] = self.lenient.url
        return r


_world, _world_lock = None, threading.Lock()


def world():
    global _world
    with _world_lock:
        if _world is None:
            _world = World()
        return _world


# ---- the applets' representative runs ----------------------------------------------------------

class Applet:
    name = prog = None
    once = 1          # the request the "once" schedule spoils
    out = None        # the output file's name in the run's directory
    ops = ""          # a regex: the operation the error line must name
    streams = False   # stdout is written as the answer arrives
    body = 1.0        # KiB: the largest answer body (a body of N KiB may take N s more than the head)

    def argv(self, w, d):
        raise NotImplementedError

    def debug_argv(self, w, d):
        return self.argv(w, d)

    def env(self, w, proxy):
        return {}

    def check(self, w, d, out):
        """None when the run did what it should; else what is wrong."""
        raise NotImplementedError


class Whoami(Applet):
    name, ops = "awsid", "GetCallerIdentity"

    def argv(self, w, d):
        return ["awsid"]

    def check(self, w, d, out):
        return None if out.rstrip("\n").split("\t")[:2] == [harness.ACCOUNT, harness.USER_ARN] else f"stdout {out!r}"


class S3Get(Applet):
    name, once, out, ops, body = "s3cp", 2, "obj.bin", "HeadObject|GetObject", 3.0

    def argv(self, w, d):
        return ["s3cp", f"s3://{w.bucket}/obj.bin", os.path.join(d, self.out)]

    def check(self, w, d, out):
        with open(os.path.join(d, self.out), "rb") as f:
            return None if f.read() == w.data and out == "" else "the downloaded file differs from the object"


class S3Put(Applet):
    name, prog, ops = "s3cp-up", "s3cp", "PutObject"

    def key(self, d):
        return f"up/{os.path.basename(d)}.bin"

    def argv(self, w, d):
        with open(os.path.join(d, "up.bin"), "wb") as f:
            f.write(w.data)
        return ["s3cp", os.path.join(d, "up.bin"), f"s3://{w.bucket}/{self.key(d)}"]

    def check(self, w, d, out):
        got = harness.client("s3").get_object(Bucket=w.bucket, Key=self.key(d))["Body"].read()
        return None if got == w.data and out == "" else "the stored object differs from the file"


class S3Watch(Applet):
    name, ops = "s3watch", "ListObjectsV2"

    def argv(self, w, d):
        return ["s3watch", "--once", f"s3://{w.bucket}/watch/"]

    def check(self, w, d, out):
        return None if out == f"s3://{w.bucket}/watch/ready.flag\n" else f"stdout {out!r}"


class SsmGet(Applet):
    name, out, ops = "ssmget", "param.txt", "GetParameters"

    def argv(self, w, d):
        return ["ssmget", "--output", os.path.join(d, self.out), w.param]

    def debug_argv(self, w, d):
        return ["ssmget", w.param]

    def check(self, w, d, out):
        p = os.path.join(d, self.out)
        with open(p) as f:
            if f.read() != w.param_value + "\n" or out != "":
                return "the output file is wrong"
        return None if stat.S_IMODE(os.stat(p).st_mode) == 0o600 else f"mode {os.stat(p).st_mode:o}, not 0600"


class SecretGet(Applet):
    name, out, ops = "secretget", "secret.txt", "GetSecretValue"

    def argv(self, w, d):
        return ["secretget", "--output", os.path.join(d, self.out), w.secret]

    def debug_argv(self, w, d):
        return ["secretget", w.secret]

    def check(self, w, d, out):
        p = os.path.join(d, self.out)
        with open(p) as f:
            if f.read() != w.secret_value + "\n" or out != "":
                return "the output file is wrong"
        return None if stat.S_IMODE(os.stat(p).st_mode) == 0o600 else f"mode {os.stat(p).st_mode:o}, not 0600"


class LambdaInvoke(Applet):
    name, ops, streams = "lambdainvoke", "Invoke", True
    payload = '{"fault": "test", "n": [1, 2, 3]}'

    def argv(self, w, d):
        return ["lambdainvoke", w.function, self.payload]

    def check(self, w, d, out):
        return None if out == self.payload else f"stdout {out!r}"


class SqsSend(Applet):
    name, once, ops = "sqssend", 2, "GetQueueUrl|SendMessage"

    def argv(self, w, d):
        return ["sqssend", w.queue, "fault test"]

    def check(self, w, d, out):
        return None if re.fullmatch(r"[0-9a-f-]{36}\n", out) else f"stdout {out!r}"


class SsmRun(Applet):
    name, ops = "ssmrun", "StartAutomationExecution|GetAutomationExecution"

    def argv(self, w, d):
        return ["ssmrun", "--quiet", "-d", "Faults-Doc"]

    def env(self, w, proxy):
        return {"AWSBOX_POLL_SCALE": "0.02"}

    def check(self, w, d, out):
        try:
            ok = json.loads(out) == {"s.Out": ["ok"]} and out.endswith("}\n")
        except ValueError:
            ok = False
        return None if ok else f"stdout {out!r}"


class RdsToken(Applet):
    """Signs locally: its one request is for container credentials, through the proxy."""
    name, ops = "rdstoken", "container credentials"

    def argv(self, w, d):
        return ["rdstoken", "db.example.com:5432", "app"]

    def env(self, w, proxy):
        return {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": proxy.url + w.cc_path}

    def check(self, w, d, out):
        ok = (out.startswith("db.example.com:5432/?Action=connect&DBUser=app&") and out.endswith("\n") and
              f"X-Amz-Security-Token={quote(w.cc_creds['SessionToken'], safe='')}" in out)
        return None if ok else f"stdout {out!r}"


APPLETS = [Whoami(), S3Get(), S3Put(), S3Watch(), SsmGet(), SecretGet(), LambdaInvoke(), SqsSend(), SsmRun(), RdsToken()]
APPLET = {a.name: a for a in APPLETS}
for _a in APPLETS:
    _a.prog = _a.prog or _a.name
assert set(TABLE) == {(a, f) for a in APPLET for f in ["skew", *FAULTS]}, "the table must cover every cell"


def bound(applet, fault, when, once_rc):
    """Seconds the cell may take: attempts x the time a fault can hold one attempt (the read
    timeout bounds a head; a small body gets a second more) + the backoff caps (1 s, 2 s, ...)."""
    retried = once_rc == "0" and fault not in ("skew", "wrong-type")
    if applet.name == "rdstoken":  # 2 s per attempt; a second's pause before retrying a 5xx or 429
        hold = CC_TIMEOUT + 1 if fault in TIMING else 0
        tries = (CC_TRIES if retried else 1) if when == "every" else 1
        return tries * hold + 1 + SLACK
    hold = T_READ + applet.body + 0.5 if fault in TIMING else 0
    if when == "every":
        tries = HITS.get((applet.name, fault), ATTEMPTS if retried else 1)
        backoff = sum(min(2 ** i, 20) for i in range(tries - 1))
    else:
        tries, backoff = 1, 1 if retried else 0
    return tries * hold + backoff + SLACK


# ---- running one cell ------------------------------------------------------------------------

class Cell:
    pass


def cell_env(w, proxy, applet, tls, **extra):
    e = harness.base_env()
    e.update(AWS_REGION=harness.REGION, AWS_ACCESS_KEY_ID=harness.key()[0], AWS_SECRET_ACCESS_KEY=harness.key()[1],
             AWS_ENDPOINT_URL=proxy.url, AWS_ENDPOINT_URL_S3=proxy.url, AWS_ENDPOINT_URL_LAMBDA=proxy.url,
             AWSBOX_CONNECT_TIMEOUT=f"{T_CONNECT}s", AWSBOX_READ_TIMEOUT=f"{T_READ}s", AWS_MAX_ATTEMPTS=str(ATTEMPTS))
    if tls:
        e["AWS_CA_BUNDLE"] = w.ca
    for k, v in dict(applet.env(w, proxy), **extra).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = str(v)
    return e


def run_cell(applet, fault, when, tls=False):
    """Runs applet's invocation through a proxy injecting fault on schedule when ("once", "every")."""
    w = world()
    d = tempfile.mkdtemp(dir=w.tmp, prefix=f"{applet.name}-{fault}-{when}-{'tls' if tls else 'http'}-")
    skew = fault == "skew"
    target = 1 if fault in TLS_FAULTS else applet.once
    proxy = FaultProxy(w.routes(applet, skew), default=w.cc.url, fault=None if skew else fault,
                       when="every" if when == "every" else target, tls=w.tls if tls else None,
                       skew=SKEW if skew else 0).start()
    c = Cell()
    c.applet, c.fault, c.when, c.tls, c.d = applet.name, fault, when, tls, d
    try:
        argv = applet.argv(w, d)
        if applet.out:
            with open(os.path.join(d, applet.out), "w") as f:
                f.write("old\n")
        c.before = sorted(os.listdir(d))
        c.wall = time.time()
        t0 = time.monotonic()
        p = subprocess.Popen(argv, executable=str(harness.S.bin / applet.prog), env=cell_env(w, proxy, applet, tls),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        c.took = time.monotonic() - t0
    finally:
        proxy.stop()
    c.argv, c.rc, c.outb = argv, p.returncode, out
    c.out, c.err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    c.after = sorted(os.listdir(d))
    c.log = list(proxy.log)
    c.problem = None
    if c.rc == 0:
        try:
            c.problem = applet.check(w, d, c.out)
        except Exception as e:  # noqa: BLE001 - what the check could not even read is a finding
            c.problem = f"check failed: {e!r}"
    if applet.out:
        with open(os.path.join(d, applet.out), "rb") as f:
            c.target = f.read()
    return c


def describe(c):
    log = "\n".join(f"  {e}" for e in c.log[:12])
    return (f"{c.applet} / {c.fault} / {c.when} / {'tls' if c.tls else 'http'}: $ {' '.join(c.argv)}\n"
            f"exit {c.rc} in {c.took:.1f}s\n--- stdout ---\n{c.out[:1000]}\n--- stderr ---\n{c.err[:2000]}\n"
            f"--- dir before {c.before} after {c.after}\n--- proxy log ---\n{log}")


# ---- the matrix ------------------------------------------------------------------------------

_cells, _cells_lock = None, threading.Lock()


def matrix():
    """Every cell, run once per session, PARALLEL at a time (most of a cell's time is waiting)."""
    global _cells
    with _cells_lock:
        if _cells is not None:
            return _cells
        world()
        jobs = []
        for a in APPLETS:
            for f in FAULT_ROWS:
                for when in (("once",) if f == "skew" else ("once", "every")):
                    if f not in TLS_FAULTS:
                        jobs.append((a, f, when, False))
                    if f in TLS_FAULTS or f in CONNECTION or f == "skew":
                        jobs.append((a, f, when, True))
        with concurrent.futures.ThreadPoolExecutor(PARALLEL) as ex:
            futs = [ex.submit(run_cell, *j) for j in jobs]
            _cells = {(c.applet, c.fault, c.when, c.tls): c for c in (f.result() for f in futs)}
        return _cells


class FaultCase(AwsboxTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        world()


class Matrix(FaultCase):
    """One test per applet; a subtest per (fault, schedule, transport)."""

    def check_applet(self, name):
        a = APPLET[name]
        cells = [c for k, c in sorted(matrix().items(), key=lambda kv: (FAULT_ROWS.index(kv[0][1]), kv[0][2:]))
                 if k[0] == name]
        self.assertTrue(cells)
        for c in cells:
            with self.subTest(fault=c.fault, when=c.when, tls=c.tls):
                self.check_cell(a, c)

    def check_cell(self, a, c):
        once, every = TABLE[a.name, c.fault]
        want = once if c.when == "once" else every
        why = describe(c)
        self.assertEqual(c.rc, int(want[0]), f"exit code, table says {want}\n{why}")
        faulted = [e for e in c.log if e["fault"]]
        if c.fault == "skew":
            self.check_skew(a, c, why)
        elif c.when == "once":
            n = 0 if (a.name, c.fault) in NOOP else 1
            self.assertEqual(len(faulted), n, f"the fault was not injected {n} time(s)\n{why}")
        elif want != "0":
            retried = once == "0"
            hits = HITS.get((a.name, c.fault), (CC_TRIES if a.name == "rdstoken" else ATTEMPTS) if retried else 1)
            self.assertEqual(len(faulted), hits, f"met the fault {len(faulted)} times, not {hits}\n{why}")
        self.assertLess(c.took, bound(a, c.fault, c.when, once), f"took too long\n{why}")
        if want == "0!":  # passed on as it came: see the table notes
            self.assertNotEqual(c.out, LambdaInvoke.payload, why)
            self.assertEqual(c.err, "", why)
            return
        if want == "0":
            self.assertIsNone(c.problem, why)
            self.assertEqual(c.err, "", f"a success says nothing\n{why}")
            return
        # A failure: one line naming the operation and the cause, and no output.
        lines = c.err.splitlines()
        self.assertEqual(len(lines), 1, f"not one line on stderr\n{why}")
        self.assertTrue(lines[0].startswith(f"{a.prog}: "), why)
        self.assertRegex(lines[0], a.ops, f"the line does not name the operation\n{why}")
        self.assertRegex(lines[0], REASON[c.fault], f"the line does not say why\n{why}")
        if a.name == "lambdainvoke" and c.fault in CONNECTION:
            self.assertIn("not sent again: the function may have run", lines[0], why)
        if a.streams:
            self.assertTrue(LambdaInvoke.payload.startswith(c.out), f"stdout is not a prefix of the payload\n{why}")
        else:
            self.assertEqual(c.out, "", f"output on failure\n{why}")
        self.assertEqual(c.after, c.before, f"files appeared or vanished\n{why}")
        if a.out:
            self.assertEqual(c.target, b"old\n", f"the old output file was changed\n{why}")

    def check_skew(self, a, c, why):
        signed = [e for e in c.log if e["amzdate"]]
        skewed = [e for e in c.log if e.get("skewed")]
        if a.name == "rdstoken":
            self.assertEqual(signed, [], why)
            return
        self.assertEqual(len(skewed), 1, f"the skew error was not answered exactly once\n{why}")
        self.assertIs(signed[0], skewed[0], why)
        first = frontmod._amz_time(signed[0]["amzdate"])
        self.assertLess(abs(first - c.wall), 300, why)
        self.assertGreater(len(signed), 1, why)
        for e in signed[1:]:  # every later request signed on the server's clock
            self.assertLess(abs(frontmod._amz_time(e["amzdate"]) - first - SKEW), 60, f"{e}\n{why}")
            self.assertFalse(e["skewed"], why)


for _a in APPLETS:
    setattr(Matrix, f"test_{_a.name.replace('-', '_')}", lambda self, _n=_a.name: self.check_applet(_n))


# ---- credentials -----------------------------------------------------------------------------

class Rotating(standins.ContainerCreds):
    """Container credentials that expire in 10 minutes (within awsbox's 15-minute refresh margin,
    so every call fetches again), a new key each time."""

    def __init__(self, pool, path):
        super().__init__(pool[0], path=path)
        self.pool, self.handed, self._mint = pool, [], threading.Lock()

    def answer(self, h):
        with self._mint:
            c = self.pool[min(len(self.handed), len(self.pool) - 1)]
            self.handed.append(c["AccessKeyId"])
            self.creds = dict(c, Expiration=standins._iso(time.time() + 600))
            return super().answer(h)


class Credentials(FaultCase):
    def test_hanging_metadata_service(self):
        """No credentials but an instance metadata service that accepts and never answers:
        every applet gives up in about 2 s (1 s for the token, 1 s for IMDSv1), exit 4."""
        w = world()
        creds = harness.temp_creds()

        def one(a):
            d = tempfile.mkdtemp(dir=w.tmp)
            imds = standins.IMDS(creds, mode="hang").start()  # one each: its accept queue is short
            proxy = FaultProxy(w.routes(a)).start()
            try:
                env = cell_env(w, proxy, a, False, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                               AWS_CONTAINER_CREDENTIALS_FULL_URI=None, AWS_METADATA_SERVICE_TIMEOUT="1",
                               **imds.env())
                t0 = time.monotonic()
                p = subprocess.run(a.argv(w, d), executable=str(harness.S.bin / a.prog), env=env,
                                   stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
                return a, p, time.monotonic() - t0, list(proxy.log), imds.paths()
            finally:
                proxy.stop()
                imds.stop()

        with concurrent.futures.ThreadPoolExecutor(len(APPLETS)) as ex:
            for a, p, took, log, asked in ex.map(one, APPLETS):
                with self.subTest(applet=a.name):
                    err = p.stderr.decode()
                    self.assertEqual(p.returncode, 4, err)
                    self.assertEqual(len(err.splitlines()), 1, err)
                    self.assertRegex(err, rf"^{a.prog}: .*no credentials found.*instance metadata \(not reachable\)")
                    self.assertEqual(p.stdout, b"")
                    self.assertEqual(log, [], "a request went out without credentials")
                    self.assertEqual(asked, [("PUT", "/latest/api/token"),
                                             ("GET", "/latest/meta-data/iam/security-credentials/")])
                    self.assertLess(took, 2 * 1 + SLACK)
                    self.assertGreater(took, 1.9, "gave up before the two 1 s timeouts ran out")

    def test_expiring_credentials_refreshed_during_multipart_upload(self):
        """A 16 MiB upload in four parts, two at a time, with container credentials that always
        expire within 15 minutes and a new key each time, and a 503 on one UploadPart: every call
        (and the part's retry) is signed with fresh keys, the upload completes, the object is
        the file, and the front (botocore) verified every request."""
        w = world()
        pool = [harness.temp_creds(f"rot-{TAG}-{i}") for i in range(16)]
        cc = Rotating(pool, "/v2/credentials/rotating").start()
        self.addCleanup(cc.stop)
        proxy = FaultProxy(w.routes(APPLET["s3cp-up"]), fault="503", when=3).start()
        self.addCleanup(proxy.stop)
        d = self.tmpdir()
        data = random.Random(11).randbytes(16 << 20)
        path = os.path.join(d, "big.bin")
        with open(path, "wb") as f:
            f.write(data)
        key = f"rotating/{TAG}.bin"
        env = cell_env(w, proxy, APPLET["s3cp-up"], False, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                       AWS_CONTAINER_CREDENTIALS_FULL_URI=cc.url + cc.path, AWSBOX_READ_TIMEOUT="30s")
        r = self.run("s3cp", "--part-size", "5M", "--concurrency", "2", path, f"s3://{w.bucket}/{key}", env=env,
                     timeout=120)
        self.assertExit(r, 0)
        self.assertEqual(r.err, "")
        mine = [q for q in harness.front().requests if key in q.target]
        got = harness.client("s3").get_object(Bucket=w.bucket, Key=key)["Body"].read()
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())
        ops = [e for e in proxy.log if key in e["target"]]
        self.assertEqual([e["n"] for e in ops if e["fault"]], [3])
        self.assertEqual(len([e for e in ops if "uploadId=" in e["target"] and "partNumber=" in e["target"]]), 5,
                         "four parts and one retry")
        self.assertEqual(len(mine), len(ops) - 1, "every request but the spoiled one reached the front")
        self.assertTrue(all(q.verdict == "ok" for q in mine), [q.reason for q in mine])
        keys = [q.akid for q in mine]
        self.assertTrue(set(keys) <= set(cc.handed))
        self.assertGreaterEqual(len(set(keys)), 4, f"the keys did not change: {keys}")
        self.assertGreaterEqual(len(cc.handed), len(ops), "not every call fetched fresh credentials")


class Timeouts(FaultCase):
    def test_connect_timeout(self):
        """A server whose accept queue is full never completes the TCP handshake: each attempt
        gives up after AWSBOX_CONNECT_TIMEOUT, then exit 6 naming the operation."""
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(0)
        self.addCleanup(lsock.close)
        port = lsock.getsockname()[1]
        filler = socket.create_connection(("127.0.0.1", port))  # fills the queue: later SYNs are dropped
        self.addCleanup(filler.close)
        url = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        r = self.run("ssmget", "/x", env=self.env(AWS_ENDPOINT_URL=url, AWSBOX_CONNECT_TIMEOUT="0.5s",
                                                  AWS_MAX_ATTEMPTS="2"))
        took = time.monotonic() - t0
        self.assertExit(r, 6)
        self.assertRegex(r.err, rf"^ssmget: GetParameters /x: timed out after 0\.5 s connecting to 127\.0\.0\.1:{port}\n$")
        self.assertGreater(took, 2 * 0.5)
        self.assertLess(took, 2 * 0.5 + 1 + SLACK)

    def test_download_attempts_stay_within_max_attempts(self):
        """HeadObject answers, then every GetObject stalls, or is cut mid-body (which aws_call does
        not resend, the download's piece loop does): AWS_MAX_ATTEMPTS GETs in all, then exit 6."""
        w = world()
        a = APPLET["s3cp"]

        def one(fault):
            proxy = FaultProxy(w.routes(a), fault=fault, when=set(range(2, 1000))).start()
            try:
                d = tempfile.mkdtemp(dir=w.tmp)
                t0 = time.monotonic()
                p = subprocess.run(a.argv(w, d), executable=str(harness.S.bin / a.prog), env=cell_env(w, proxy, a, False),
                                   stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
                return fault, p, time.monotonic() - t0, list(proxy.log), os.listdir(d)
            finally:
                proxy.stop()

        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            for fault, p, took, log, files in ex.map(one, ("stall", "reset-mid")):
                with self.subTest(fault=fault):
                    err = p.stderr.decode()
                    self.assertEqual(p.returncode, 6, err)
                    self.assertRegex(err, r"^s3cp: GetObject s3://\S+: [^\n]*(timed out|reset by peer)[^\n]*\n$")
                    self.assertEqual(len([e for e in log if e["method"] == "GET"]), ATTEMPTS, log)
                    hold = T_READ + a.body + 0.5 if fault in TIMING else 0
                    self.assertLess(took, ATTEMPTS * hold + 3 + SLACK)
                    self.assertEqual(files, [])

    def test_bad_settings(self):
        for var in ("AWSBOX_CONNECT_TIMEOUT", "AWSBOX_READ_TIMEOUT"):
            for bad in ("soon", "-1", "0", "25h"):
                with self.subTest(var=var, value=bad):
                    r = self.run("awsid", env=self.env(**{var: bad}))
                    self.assertExit(r, 2)
                    self.assertEqual(r.err, f"awsid: invalid {var} '{bad}' (a duration from 1ms to 24h, such as 5s)\n")


# ---- secrets ---------------------------------------------------------------------------------

class Secrets(FaultCase):
    def test_debug_shows_no_secret(self):
        """--debug on every applet, with container credentials (an authorization token) and with
        IMDSv2 credentials (a session token): stderr holds none of the secret key, the session
        token, the signatures the proxy saw, the IMDS token, the container token or the secret
        values; stdout only what was asked for. The trace itself is there (it is not empty)."""
        w = world()
        creds = harness.temp_creds(f"awsbox-faults-debug-{TAG}")
        w.ssm_keys.add(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        auth = f"Bearer cc-{uuid.uuid4().hex}"
        cc = standins.ContainerCreds(creds, path="/v2/credentials/debug", auth=auth).start()
        self.addCleanup(cc.stop)
        imds = self.imds("v2-required", creds=creds)

        def one(job):
            a, source = job
            d = tempfile.mkdtemp(dir=w.tmp)
            proxy = FaultProxy(w.routes(a)).start()
            try:
                src = ({"AWS_CONTAINER_CREDENTIALS_FULL_URI": cc.url + cc.path, "AWS_CONTAINER_AUTHORIZATION_TOKEN": auth}
                       if source == "container" else dict(imds.env(), AWS_CONTAINER_CREDENTIALS_FULL_URI=None))
                env = cell_env(w, proxy, a, False, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, **src)
                argv = a.debug_argv(w, d)
                argv = [argv[0], "--debug", *argv[1:]]
                p = subprocess.run(argv, executable=str(harness.S.bin / a.prog), env=env, stdin=subprocess.DEVNULL,
                                   capture_output=True, timeout=60)
                return a, source, p, list(proxy.log)
            finally:
                proxy.stop()

        jobs = [(a, s) for a in APPLETS for s in ("container", "imds")]
        with concurrent.futures.ThreadPoolExecutor(PARALLEL) as ex:
            results = list(ex.map(one, jobs))
        imds_tokens = list(imds.tokens)
        self.assertTrue(imds_tokens, "no IMDS token was handed out")
        for a, source, p, log in results:
            with self.subTest(applet=a.name, source=source):
                err, out = p.stderr.decode("utf-8", "replace"), p.stdout.decode("utf-8", "replace")
                self.assertEqual(p.returncode, 0, err[-3000:])
                secrets = {"secret access key": creds["SecretAccessKey"], "session token": creds["SessionToken"],
                           "container token": auth.split()[1], "secret value": w.secret_value,
                           "SecureString value": w.param_value}
                secrets.update({f"IMDS token {i}": t for i, t in enumerate(imds_tokens)})
                sigs = [e["signature"] for e in log if e["signature"]]
                if a.name == "rdstoken":
                    sigs.append(unquote(re.search(r"X-Amz-Signature=([0-9a-f]{64})", out).group(1)))
                secrets.update({f"signature {i}": s for i, s in enumerate(sigs)})
                allowed = {"secretget": {"secret value"}, "ssmget": {"SecureString value"},
                           "rdstoken": {"session token"}}.get(a.name, set())
                for what, value in secrets.items():
                    for piece in {value, value[:16], value[-16:]}:
                        self.assertNotIn(piece, err, f"{what} on stderr")
                        if what not in allowed and not (a.name == "rdstoken" and what.startswith("signature")):
                            self.assertNotIn(piece, out, f"{what} on stdout")
                # The trace is there, the signatures in it redacted.
                self.assertRegex(err, r"> (GET|PUT|POST) ", "no trace on stderr")
                if a.name != "rdstoken":
                    self.assertTrue(sigs, "the proxy saw no signature")
                    self.assertIn("Signature=<redacted>", err)
                if a.name == "secretget":
                    self.assertEqual(out, w.secret_value + "\n")
                if a.name == "ssmget":
                    self.assertEqual(out, w.param_value + "\n")


# ---- files -----------------------------------------------------------------------------------

class Files(FaultCase):
    def test_output_files_are_0600(self):
        """Whatever the umask, and over an old file that was world-readable."""
        w = world()
        for a in (APPLET["ssmget"], APPLET["secretget"]):
            for umask in (0o000, 0o022, 0o077):
                with self.subTest(applet=a.name, umask=oct(umask)):
                    d = self.tmpdir()
                    target = os.path.join(d, a.out)
                    with open(target, "w") as f:
                        f.write("old\n")
                    os.chmod(target, 0o644)
                    proxy = FaultProxy(w.routes(a)).start()
                    self.addCleanup(proxy.stop)
                    p = subprocess.run(a.argv(w, d), executable=str(harness.S.bin / a.prog),
                                       env=cell_env(w, proxy, a, False), capture_output=True, umask=umask, timeout=30)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertIsNone(a.check(w, d, p.stdout.decode()))
                    self.assertEqual(stat.S_IMODE(os.stat(target).st_mode), 0o600)
                    self.assertEqual(os.listdir(d), [a.out])

    def test_interrupt_leaves_no_file(self):
        """SIGINT or SIGTERM while the answer stalls: s3cp mid-download (its temporary file
        exists then), secretget and ssmget --output: the process dies of the signal and the
        directory holds the old target, unchanged, and nothing else."""
        w = world()

        def one(job):
            a, sig = job
            d = tempfile.mkdtemp(dir=w.tmp)
            proxy = FaultProxy(w.routes(a), fault="stall", when=a.once).start()
            try:
                argv = a.argv(w, d)
                target = os.path.join(d, a.out)
                with open(target, "w") as f:
                    f.write("old\n")
                env = cell_env(w, proxy, a, False, AWSBOX_READ_TIMEOUT="60s")
                # A suite started as a shell's background job inherits SIGINT ignored, and awsbox
                # leaves an ignored signal ignored (as nohup expects): give the child the default.
                p = subprocess.Popen(argv, executable=str(harness.S.bin / a.prog), env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
                end = time.monotonic() + 20
                while not any(e["fault"] for e in proxy.log) and time.monotonic() < end:
                    time.sleep(0.05)
                time.sleep(0.3)
                during = sorted(os.listdir(d))
                t0 = time.monotonic()
                p.send_signal(sig)
                out, err = p.communicate(timeout=20)
                took = time.monotonic() - t0
                with open(target, "rb") as f:
                    content = f.read()
                return a, sig, p.returncode, err.decode(), during, sorted(os.listdir(d)), content, took, list(proxy.log)
            finally:
                proxy.stop()

        jobs = [(APPLET[n], s) for n in ("s3cp", "secretget", "ssmget") for s in (signal.SIGINT, signal.SIGTERM)]
        with concurrent.futures.ThreadPoolExecutor(len(jobs)) as ex:
            for a, sig, rc, err, during, after, content, took, log in ex.map(one, jobs):
                with self.subTest(applet=a.name, signal=sig.name):
                    self.assertTrue(any(e["fault"] for e in log), "the stall was never reached")
                    self.assertEqual(rc, -sig, f"did not die of {sig.name}: {err}")
                    if a.name == "s3cp":
                        self.assertEqual(len(during), 2, f"no temporary file beside the target mid-download: {during}")
                    self.assertEqual(after, [a.out], err)
                    self.assertEqual(content, b"old\n")
                    self.assertLess(took, 5, "took too long to stop")


if __name__ == "__main__":
    unittest.main()
