"""The session: credentials, the test CA, the tools measured (AWS CLI, rclone, curl) and the
servers (the stand-in, the S3 sink), started once and shared by the sections (E)."""
import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .measure import GIB, HERE, MIB, REGION, SINK, SIZE, STREAM, Failed, harness


# ---- environment: session, CA, servers ---------------------------------------------------------

class Env:
    pass


E = Env()


def setup():
    harness.setup_session()
    tmp = Path(harness.S.tmp)
    E.bin = Path(harness.S.bin)
    E.aws = shutil.which("aws")
    if E.aws:
        # pyenv puts a bash shim first on PATH: measure the AWS CLI itself, not the shim.
        real = subprocess.run(["pyenv", "which", "aws"], capture_output=True, text=True) if shutil.which("pyenv") else None
        if real and real.returncode == 0 and real.stdout.strip():
            E.aws = real.stdout.strip()
    E.aws_version = subprocess.run([E.aws, "--version"], capture_output=True, text=True).stdout.strip() if E.aws else "none"
    # Peers measured beside the AWS CLI in the same run (scripts/deps installs them): rclone
    # (Go, Debian's package) for transfers and trees; curl --aws-sigv4 as the floor of one call.
    E.rclone = shutil.which("rclone")
    E.rclone_version = (subprocess.run([E.rclone, "version"], capture_output=True, text=True).stdout.split("\n")[0].strip()
                        if E.rclone else "none")
    E.curl = shutil.which("curl")
    E.curl_version = (subprocess.run([E.curl, "--version"], capture_output=True, text=True).stdout.split("\n")[0].strip()
                      if E.curl else "none")
    E.applets = harness.applets()
    cpus = sorted(os.sched_getaffinity(0))
    E.client_cpus = {cpus[-1]}
    E.server_cpus = {cpus[0]}
    E.ncpu = len(cpus)
    # Data on tmpfs: disk speed is not what is measured.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    E.work = Path(tempfile.mkdtemp(prefix="awsbox-bench-", dir=shm))
    atexit.register(shutil.rmtree, E.work, True)
    E.env = harness.base_env()
    E.env.update(AWS_ACCESS_KEY_ID="AKIABENCHMARK0000000", AWS_SECRET_ACCESS_KEY="bench-secret-key",
                 AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION)
    make_ca(tmp)
    E.env["AWS_CA_BUNDLE"] = str(E.ca)


def make_ca(tmp):
    """A test CA and a server certificate for 127.0.0.1 and localhost (RSA 2048, as AWS uses)."""
    d = tmp / "ca"
    d.mkdir()
    E.ca, E.cert, E.key = d / "ca.pem", d / "server.pem", d / "server.key"

    def ossl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=awsbox bench test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                               "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")


def wait_ports(path, proc, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise Failed(f"server exited with {proc.returncode} before listening")
        if path.exists():
            return list(map(int, path.read_text().split()))
        time.sleep(0.05)
    raise Failed("server did not start")


class Ctl:
    """A server's control port: GET /stats, POST /reset."""

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def stats(self):
        with urllib.request.urlopen(self.base + "/stats", timeout=10) as r:
            return json.loads(r.read())

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(self.base + "/reset", data=b"", method="POST"), timeout=30).read()

    def drop(self, bucket, prefix):
        """The sink: drops bucket's objects under prefix."""
        q = urllib.parse.urlencode({"bucket": bucket, "prefix": prefix})
        urllib.request.urlopen(urllib.request.Request(f"{self.base}/drop?{q}", data=b"", method="POST"), timeout=60).read()

    def fill(self, n):
        """The stand-in's queue: n messages to receive."""
        urllib.request.urlopen(urllib.request.Request(f"{self.base}/fill?n={n}", data=b"", method="POST"),
                               timeout=30).read()


def start_standin():
    if getattr(E, "standin", None):
        return E.standin
    tmp = Path(harness.S.tmp)
    pf = tmp / "standin.ports"
    p = harness.spawn([sys.executable, str(HERE / "standin.py"), "--ports", str(pf), "--cert", str(E.cert),
                       "--key", str(E.key)], tmp / "standin.log")
    http, https, ctl = wait_ports(pf, p)
    s = Env()
    s.proc, s.http, s.https, s.ctl = p, f"http://127.0.0.1:{http}", f"https://127.0.0.1:{https}", Ctl(ctl)
    E.standin = s
    return s


def start_sink():
    if getattr(E, "sink", None):
        return E.sink
    tmp = Path(harness.S.tmp)
    pf = tmp / "sink.ports"
    prealloc = (max(SIZE, STREAM) + SIZE) // MIB + 256
    # The sink's pool, the object downloads read, the source and a downloaded copy, all in tmpfs.
    need = (prealloc + 1024) * MIB + 3 * SIZE
    avail = int(re.search(r"MemAvailable:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) * 1024
    st = os.statvfs(E.work)
    if avail < need or st.f_bavail * st.f_frsize < need:
        raise Failed(f"the S3 figures need {need / GIB:.1f} GiB of free memory and room in {E.work}; "
                     f"{avail / GIB:.1f} GiB available (BENCH_SIZE_MIB, BENCH_STREAM_MIB make them smaller)")
    p = harness.spawn([str(SINK), "--dir", str(E.work), "--http", "0", "--https", "0", "--ctl", "0", "--cert",
                       str(E.cert), "--key", str(E.key), "--ports", str(pf), "--prealloc", str(prealloc),
                       "--pool", str(prealloc + 1024), "--null-bucket", "null"], tmp / "sink.log")
    http, https, ctl = wait_ports(pf, p, timeout=120)
    s = Env()
    s.proc, s.http, s.https, s.ctl, s.port = p, f"http://127.0.0.1:{http}", f"https://127.0.0.1:{https}", Ctl(ctl), http
    E.sink = s
    return s


def sink_req(method, path):
    """An unsigned request to the sink's plain port (setup and clean-up, not measured)."""
    req = urllib.request.Request(f"{E.sink.http}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def have(applet):
    return applet in E.applets


def awsbox_cmd(applet, *args):
    return E.bin / applet, [applet, *args]


def aws_cmd(url, *args):
    return E.aws, ["aws", "--endpoint-url", url, *args]


def rclone_env(url):
    """rclone's remote `bench:` on url, from the environment (no config file). Its AWS SDK would
    take AWS_CA_BUNDLE and refuse it with a custom transport: the CA goes in --ca-cert instead.
    The sink lists with ListObjectsV2 only (rclone's v1 default for other providers is not there),
    and without delimiters: rclone's --fast-list (its advice for S3) lists that way."""
    env = {k: v for k, v in E.env.items() if k != "AWS_CA_BUNDLE"}
    env.update(RCLONE_CONFIG="/dev/null", RCLONE_CONFIG_BENCH_TYPE="s3", RCLONE_CONFIG_BENCH_PROVIDER="Other",
               RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=E.env["AWS_ACCESS_KEY_ID"],
               RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=E.env["AWS_SECRET_ACCESS_KEY"],
               RCLONE_CONFIG_BENCH_REGION=REGION, RCLONE_CONFIG_BENCH_ENDPOINT=url, RCLONE_CONFIG_BENCH_LIST_VERSION="2",
               RCLONE_FAST_LIST="true")
    return env


def rclone_cmd(*args):
    return E.rclone, ["rclone", "--ca-cert", str(E.ca), *args]


def tool_cmd(tool, url, s3cp=None, aws=None, rclone=None):
    """(exe, argv, env) of one tool's command: awsbox's s3cp args, aws's args, rclone's args."""
    if tool == "awsbox":
        return (*awsbox_cmd("s3cp", "--endpoint-url", url, *s3cp), E.env)
    if tool == "awsbox-c1":
        return (*awsbox_cmd("s3cp", "--concurrency", "1", "--endpoint-url", url, *s3cp), E.env)
    if tool == "aws":
        return (*aws_cmd(url, *aws), E.env)
    return (*rclone_cmd(*rclone), rclone_env(url))
