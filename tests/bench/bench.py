#!/usr/bin/env python3
"""bench.py — `make bench`: awsbox against the AWS CLI installed on the machine, and against rclone
(transfers, trees) and curl --aws-sigv4 (one call, the TLS handshake), measured in one run against
the same local servers: binary size, start-up, one call, many calls in one process,
S3 throughput over HTTP and HTTPS, the memory bound of streaming, and scaling with the number of
items. Prints a markdown report (also build/bench/results.md; raw numbers in results.json) with
medians, spreads (min-max) and ratios. It is a measurement, not a test: targets that are missed
are listed with their numbers.

Every command runs under tests/bench/runit (a small static launcher) which reports the command's
own wall time, CPU time (user+sys, from wait4) and peak RSS (ru_maxrss, with the launcher's few
KiB as the floor). Servers: moto (python -m moto.server, no IAM auth) for one call; standin.py
(trivially fast answers, counts TCP connections and TLS handshakes); s3sink (C, tmpfs, HTTP and
HTTPS via OpenSSL) for S3, behind a test CA made here with openssl(1).

Knobs (environment): BENCH_RUNS (5, one-call runs), BENCH_MANY_RUNS (3), BENCH_XFER_RUNS (2, per
GiB transfer), BENCH_SIZE_MIB (1024), BENCH_STREAM_MIB (2048), BENCH_SCALE_RUNS (2),
BENCH_TREE_SIZES (1,100,1000,10000: the `s3cp -r` trees, files of 1 KiB), BENCH_AWS_TREE_MAX (1000: the
AWS CLI's largest tree),
BENCH_ONLY (comma list of: size,onecall,many,sqs,s3,mem,scale), BENCH_OUT (build/bench/results.md).
"""
import argparse
import atexit
import fcntl
import glob
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BUILD = ROOT / "build" / "bench"
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import harness  # noqa: E402

RUNIT = BUILD / "runit"
SINK = BUILD / "s3sink"
MIB = 1 << 20
GIB = 1 << 30
REGION = "us-east-1"


def knob(name, default):
    return int(os.environ.get(name, default))


RUNS = knob("BENCH_RUNS", 5)
MANY_RUNS = knob("BENCH_MANY_RUNS", 3)
XFER_RUNS = knob("BENCH_XFER_RUNS", 2)
SIZE = knob("BENCH_SIZE_MIB", 1024) * MIB
STREAM = knob("BENCH_STREAM_MIB", 2048) * MIB
SCALE_RUNS = knob("BENCH_SCALE_RUNS", 2)
TREE_SIZES = [int(x) for x in os.environ.get("BENCH_TREE_SIZES", "1,100,1000,10000").split(",") if x]
# The AWS CLI's trees stop here: pinned to one CPU on a busy machine it copied 8 objects/s at 10,000.
AWS_TREE_MAX = knob("BENCH_AWS_TREE_MAX", 1000)
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
OUT_PATH = Path(os.environ.get("BENCH_OUT", BUILD / "results.md"))


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---- measuring one command -----------------------------------------------------------------

class M:
    """One measured run: wall and CPU in seconds, peak RSS in KiB."""

    def __init__(self, wall, user, sys_, rss, rc, floor, out=b"", err=b"", nout=None):
        self.wall, self.user, self.sys, self.rss, self.rc, self.floor = wall, user, sys_, rss, rc, floor
        self.cpu = user + sys_
        self.out, self.err, self.nout = out, err, nout

    def __repr__(self):
        return f"M(wall={self.wall:.4f} cpu={self.cpu:.4f} rss={self.rss} rc={self.rc})"


class Failed(Exception):
    pass


def _feed(wfd, path, total):
    """Writes total bytes of path (from the start again when it ends) into the pipe, by splice."""
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    off = 0
    try:
        while off < total:
            pos = off % size
            n = os.splice(fd, wfd, min(MIB, total - off, size - pos), offset_src=pos)
            if n <= 0:
                break
            off += n
    except OSError:
        pass  # the reader went away (the command failed): its exit status says so
    finally:
        os.close(fd)
        os.close(wfd)


def _drain(rfd, box):
    null = os.open("/dev/null", os.O_WRONLY)
    total = 0
    try:
        while True:
            n = os.splice(rfd, null, MIB)
            if n <= 0:
                break
            total += n
    finally:
        os.close(null)
        os.close(rfd)
        box.append(total)


def measure(exe, argv, env, stdin=None, stdout="capture", cpus=None, timeout=900, check=True):
    """Runs exe with argv (argv[0] as given) under runit. stdin: None (/dev/null), a path, or
    ("feed", path, nbytes): a pipe fed by splice. stdout: "capture", "null" or "drain" (a pipe
    emptied by splice, bytes counted). cpus: the CPUs the command may use."""
    tmp = Path(harness.S.tmp)
    closers, threads, box = [], [], []
    if stdin is None:
        in_fd = os.open("/dev/null", os.O_RDONLY)
    elif isinstance(stdin, tuple):
        in_fd, w = os.pipe()
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, MIB)
        threads.append(threading.Thread(target=_feed, args=(w, stdin[1], stdin[2]), daemon=True))
    else:
        in_fd = os.open(stdin, os.O_RDONLY)
    closers.append(in_fd)
    out_path = None
    if stdout == "capture":
        out_path = tmp / "bench-stdout"
        out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    elif stdout == "drain":
        r, out_fd = os.pipe()
        fcntl.fcntl(r, fcntl.F_SETPIPE_SZ, MIB)
        threads.append(threading.Thread(target=_drain, args=(r, box), daemon=True))
    else:
        out_fd = os.open("/dev/null", os.O_WRONLY)
    closers.append(out_fd)
    err_path = tmp / "bench-stderr"
    err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    closers.append(err_fd)
    res_r, res_w = os.pipe()
    closers.append(res_w)
    for t in threads:
        t.start()
    mine = os.sched_getaffinity(0)
    try:
        if cpus:
            os.sched_setaffinity(0, cpus)  # inherited by the launcher and the command
        pid = os.posix_spawn(str(RUNIT), ["runit", str(exe), *map(str, argv)], env,
                             file_actions=[(os.POSIX_SPAWN_DUP2, in_fd, 0), (os.POSIX_SPAWN_DUP2, out_fd, 1),
                                           (os.POSIX_SPAWN_DUP2, err_fd, 2), (os.POSIX_SPAWN_DUP2, res_w, 3)],
                             setsid=True)
    finally:
        os.sched_setaffinity(0, mine)
        for fd in closers:
            os.close(fd)
    end = time.monotonic() + timeout
    while True:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > end:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(res_r)
            raise Failed(f"timed out after {timeout}s: {' '.join(map(str, argv))}")
        time.sleep(0.01)
    res = os.read(res_r, 256).decode().split()
    os.close(res_r)
    for t in threads:
        t.join(60)
    if len(res) != 6:
        raise Failed(f"runit gave no result for {exe}")
    wall_ns, user_us, sys_us, rss, rc, floor = map(int, res)
    out = out_path.read_bytes() if out_path else b""
    err = err_path.read_bytes()
    m = M(wall_ns / 1e9, user_us / 1e6, sys_us / 1e6, rss, rc, floor, out, err, box[0] if box else None)
    if check and rc != 0:
        raise Failed(f"exit {rc}: {' '.join(map(str, argv))}\n{err.decode(errors='replace')[-1500:]}")
    return m


def pin(pid, cpus):
    """Pins every thread of pid (new threads inherit it from their creator)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass


def busy():
    """CPU seconds the whole machine has been busy (not idle, not waiting for I/O)."""
    f = list(map(int, Path("/proc/stat").read_text().splitlines()[0].split()[1:]))
    return (sum(f[:8]) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """CPU seconds used so far by every thread of pid, living or exited."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


# ---- statistics and formatting ---------------------------------------------------------------

def med(v):
    return statistics.median(v)


def spread(vals, fmt):
    vals = list(vals)
    if not vals:
        return "n/a"
    m = fmt(med(vals))
    if len(vals) == 1:
        return m
    return f"{m} ({fmt(min(vals))}–{fmt(max(vals))})"


def f_time(s):
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms" if s < 0.1 else f"{s * 1e3:.0f} ms"
    return f"{s:.2f} s"


def f_rss(kib):
    return f"{kib / 1024:.1f} MiB" if kib < 100 * 1024 else f"{kib / 1024:.0f} MiB"


def f_rate(mbs):
    return f"{mbs:.0f}"


def f_cpg(s):
    return f"{s:.2f}"


def ratio(a, b):
    """How many times b is a's value (b / a), e.g. aws time over awsbox time."""
    if not a or not b:
        return "n/a"
    r = b / a
    return f"{r:.0f}×" if r >= 10 else f"{r:.1f}×"


def size_str(n):
    return f"{n / 1024:.1f} KiB" if n < MIB else f"{n / MIB:.1f} MiB"


class Report:
    def __init__(self):
        self.lines = []
        self.targets = []   # (figure, target, measured, met: True/False/None, note)
        self.raw = {}
        self.summary = []
        self.size_table = []

    def add(self, *lines):
        self.lines.extend(lines)

    def table(self, header, rows):
        self.lines.append("| " + " | ".join(header) + " |")
        self.lines.append("|" + "|".join("---" if i == 0 else "--:" for i in range(len(header))) + "|")
        for r in rows:
            self.lines.append("| " + " | ".join(str(c) for c in r) + " |")
        self.lines.append("")

    def sum(self, label, awsbox, aws, ratio_):
        """A row of the short summary (build/bench/readme.md) that the README carries."""
        self.summary.append((label, awsbox, aws, ratio_))

    def target(self, figure, target, measured, met, note=""):
        self.targets.append((figure, target, measured, met, note))


R = Report()


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


# ---- binary size ---------------------------------------------------------------------------------

BEARSSL_GROUPS = [  # archive members are named src_DIR_FILE.o
    ("AES-GCM, GHASH (AES-NI/PCLMUL and constant-time)",
     r"^src_(symcipher_aes|hash_ghash|ssl_ssl_rec_gcm|ssl_ssl_engine_default_aesgcm)"),
    ("ChaCha20-Poly1305", r"^src_(symcipher_(chacha|poly1305)|ssl_ssl_rec_chapol|ssl_ssl_engine_default_chapol)"),
    ("elliptic curves, ECDSA", r"^src_(ec_|ssl_ssl_engine_default_ecdsa)"),
    ("RSA", r"^src_(rsa_|ssl_ssl_engine_default_rsavrfy)"),
    ("X.509 validation, PEM", r"^src_(x509_|codec_pemdec)"),
    ("TLS engine, handshake, PRF", r"^src_ssl_"),
    ("hashes, HMAC", r"^src_(hash_|mac_)"),
    ("big integers, encoding, RNG", r"^src_(int_|codec_|rand_)"),
]


MUSL_GROUPS = [  # archive members by function, to show what pulls the most of libc in
    ("POSIX regex and wide-char classes (s3cp --include/--exclude, s3watch --regex)",
     r"^(regcomp|regexec|regerror|tre_|tre-mem|towctrans|isw|wctype|iswctype)"),
    ("printf family", r"^(vfprintf|vsnprintf|snprintf|printf|fprintf|vfwprintf|fmt_fp|dprintf|vdprintf|asprintf|vasprintf)"),
    ("scanf, strtod, strtol", r"^(vfscanf|sscanf|vsscanf|floatscan|intscan|strtod|strtol|shgetc|scalbn|copysign|fmodl|frexp)"),
    ("malloc", r"^(malloc|free|realloc|calloc|lite_malloc|memalign|aligned_alloc|donate|expand_heap|malloc_usable_size)"),
    ("resolver (getaddrinfo)", r"^(lookup_|res_|resolvconf|getaddrinfo|freeaddrinfo|dns_|inet_|gai_strerror|__dns|getnameinfo|proto)"),
    ("time, time zones, strftime", r"^(strftime|__tz|__secs_to|__tm_to|__year_to|__month_to|timegm|gmtime|localtime|mktime|time|clock|nanosleep|__map_file)"),
    ("threads", r"^(pthread_|__timedwait|__wait|sem_|__lock|__unlock|clone|synccall|membarrier|__set_thread_area|__syscall_cp)"),
]


def parse_map(path):
    """Bytes per input file in the final image, from a GNU ld map: {file: [filebytes, bssbytes]}."""
    text = Path(path).read_text(errors="replace")
    text = text.split("Linker script and memory map", 1)[1]
    sizes = {}
    out_sec = None
    pending = None
    for line in text.splitlines():
        if line and not line[0].isspace():
            out_sec = line.split()[0]
            pending = None
            continue
        if out_sec in (None, "/DISCARD/") or out_sec.startswith(".debug") or out_sec.startswith(".comment"):
            continue
        s = line.split()
        if not s:
            continue
        if s[0] == "*fill*" or s[0].startswith("*(") or s[0].startswith("*"):
            pending = None
            continue
        nobits = out_sec in (".bss", ".tbss")
        if line.startswith(" .") or line.startswith(" COMMON"):
            if len(s) >= 4 and s[1].startswith("0x") and s[2].startswith("0x"):
                _add(sizes, s[3:], int(s[2], 16), nobits)
                pending = None
            elif len(s) == 1:
                pending = s[0]
            continue
        if pending and len(s) >= 3 and s[0].startswith("0x") and s[1].startswith("0x"):
            _add(sizes, s[2:], int(s[1], 16), nobits)
            pending = None
    return sizes


def _add(sizes, fileparts, n, nobits):
    f = " ".join(fileparts)
    e = sizes.setdefault(f, [0, 0])
    e[1 if nobits else 0] += n


def classify(f):
    """(group, name) of an input file of the link."""
    m = re.match(r"build/obj/core/(?:\w+/)?(\w+)\.o$", f)
    if m:
        return "core", m.group(1) + ".c"
    m = re.match(r"build/obj/applets/(\w+)\.o$", f)
    if m:
        return "applet", m.group(1)
    if f.endswith("build/obj/ta.o"):
        return "anchors", "compiled-in trust anchors (ta.o)"
    m = re.search(r"libbearssl\.a\((\w+)\.o\)", f)
    if m:
        for name, rx in BEARSSL_GROUPS:
            if re.match(rx, m.group(1)):
                return "bearssl", name
        return "bearssl", "other"
    m = re.search(r"lib(?:c|pthread)\.a\((\w+)\.l?o\)", f)
    if m:
        for name, rx in MUSL_GROUPS:
            if re.match(rx, m.group(1)):
                return "musl", name
        return "musl", "everything else"
    return "other", "start-up files, libgcc, linker"


def sec_size(args):
    log("binary size")
    exe = ROOT / "awsbox"
    size = exe.stat().st_size
    R.add("### Binary size", "")
    objs = args.objs.split() if args.objs else None
    if not objs:
        core = sorted(glob.glob(str(ROOT / "build/obj/core/*/*.o")))
        objs = core + \
            sorted(glob.glob(str(ROOT / "build/obj/applets/*.o"))) + [str(ROOT / "build/obj/ta.o")]
        objs = [os.path.relpath(o, ROOT) for o in objs]
    libs = (args.libs or "build/bearssl-musl/libbearssl.a -lpthread").split()
    mapf, relinked = BUILD / "awsbox.map", BUILD / "awsbox-map"
    ldflags = (args.ldflags or "-static -s -Wl,--gc-sections").split()
    p = subprocess.run([args.cc or "musl-gcc", *ldflags, f"-Wl,-Map={mapf}", "-o", str(relinked), *objs, *libs],
                       cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        R.add(f"(relink for the breakdown failed: {p.stderr.strip()[:300]})", "")
        return
    rsize = relinked.stat().st_size
    sizes = parse_map(mapf)
    groups = {}
    for f, (fb, bss) in sizes.items():
        g, name = classify(f)
        e = groups.setdefault((g, name), [0, 0])
        e[0] += fb
        e[1] += bss
    total_file = sum(v[0] for v in groups.values())
    anchors = 0
    ta_c = ROOT / "build" / "ta.c"
    if ta_c.exists():
        anchors = len(re.findall(r"BR_KEYTYPE_(?:RSA|EC)", ta_c.read_text(errors="replace")))
    aws_mb, py_mb = aws_install_size()
    R.add(f"`./awsbox`: **{size:,} bytes ({size / 1024:.1f} KiB)**, static (musl), stripped, `-Os`, "
          f"`--gc-sections`, with {anchors or 'the'} compiled-in root certificates. "
          f"The AWS CLI here: {aws_mb:.1f} MB of Python packages (awscli and the packages it requires) plus a "
          f"Python 3 runtime of {py_mb:.0f} MB (interpreter, libpython and the standard library's sources, "
          f"without tests or bytecode caches): {(aws_mb + py_mb) * 1e6 / size:.0f}× awsbox.", "")
    if rsize != size:
        R.add(f"(The relinked copy used for the breakdown is {rsize:,} bytes: the tree changed between builds.)", "")
    R.target("binary size", "≤ 512 KiB (stretch 350 KiB)", f"{size / 1024:.1f} KiB",
             size <= 512 * 1024, "stretch met" if size <= 350 * 1024 else f"stretch missed by {(size - 350 * 1024) / 1024:.0f} KiB")
    order = ["applet", "core", "bearssl", "anchors", "musl", "other"]
    titles = {"applet": "applets", "core": "core modules", "bearssl": "BearSSL 0.6", "anchors": "trust anchors",
              "musl": "musl libc", "other": "other"}
    rows = []
    for g in order:
        items = sorted(((n, v) for (gg, n), v in groups.items() if gg == g), key=lambda x: -x[1][0])
        gt = sum(v[0] for _, v in items)
        gb = sum(v[1] for _, v in items)
        rows.append([f"**{titles[g]}**", f"**{gt:,}**", f"**{100 * gt / total_file:.1f}%**", f"{gb:,}"])
        if g in ("applet", "core", "bearssl", "musl"):
            for n, v in items:
                rows.append([f"  {n}", f"{v[0]:,}", f"{100 * v[0] / total_file:.1f}%", f"{v[1]:,}"])
    rows.append(["sections total (the rest of the file: ELF headers, alignment)", f"{total_file:,}", "100%",
                 f"{sum(v[1] for v in groups.values()):,}"])
    hdr = ["part (bytes in the stripped binary)", "file bytes", "share", "zeroed (.bss, not in file)"]
    R.table(hdr, rows)
    R.size_table = ["| " + " | ".join(hdr) + " |", "|---|--:|--:|--:|"] + ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    R.raw["size"] = {"binary": size, "groups": {f"{g}/{n}": v for (g, n), v in groups.items()},
                     "aws_packages_mb": aws_mb, "python_runtime_mb": py_mb}
    R.sum("install size", f"{size / 1024:.0f} KiB, one static file",
          f"{aws_mb:.0f} MB of packages + {py_mb:.0f} MB Python", f"{(aws_mb + py_mb) * 1e6 / size:.0f}×")


def aws_install_size():
    """MB of the awscli distribution and its dependency closure, and of the Python runtime."""
    code = r"""
import importlib.metadata as md, os, re, sys, sysconfig
seen, todo, total = set(), ["awscli"], 0
while todo:
    n = todo.pop()
    k = re.sub(r"[-_.]+", "-", n).lower()
    if k in seen: continue
    seen.add(k)
    try: d = md.distribution(n)
    except md.PackageNotFoundError: continue
    for f in d.files or []:
        try: total += os.path.getsize(d.locate_file(f))
        except OSError: pass
    for r in d.requires or []:
        if "extra ==" in r: continue
        todo.append(re.split(r"[ ;<>=!~\[(]", r.strip())[0])
std = sysconfig.get_paths()["stdlib"]; rt = 0
skip = {"site-packages", "test", "tests", "idle_test", "__pycache__"}
for dp, dn, fn in os.walk(std):
    dn[:] = [d for d in dn if d not in skip and not d.startswith("config-")]
    rt += sum(os.path.getsize(os.path.join(dp, f)) for f in fn if not os.path.islink(os.path.join(dp, f)))
lib = os.path.join(sysconfig.get_config_var("LIBDIR") or "", sysconfig.get_config_var("LDLIBRARY") or "")
for p in [os.path.realpath(sys.executable)] + ([os.path.realpath(lib)] if ".so" in lib else []):
    if os.path.isfile(p): rt += os.path.getsize(p)
print(total, rt)
"""
    py = Path(E.aws).read_text(errors="replace").splitlines()[0][2:].strip() if E.aws else sys.executable
    try:
        out = subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=60).stdout.split()
        return int(out[0]) / 1e6, int(out[1]) / 1e6
    except (IndexError, ValueError, OSError, subprocess.SubprocessError):
        return 0.0, 0.0


# ---- one call ------------------------------------------------------------------------------------

def moto_fixtures(url):
    import boto3
    kw = dict(endpoint_url=url, region_name=REGION, aws_access_key_id="AKIABENCHMARK0000000",
              aws_secret_access_key="bench-secret-key")
    ssm = boto3.client("ssm", **kw)
    for i in range(100):
        ssm.put_parameter(Name=f"/bench/p{i}", Value=f"value-of-bench-p{i}", Type="String")
    sm = boto3.client("secretsmanager", **kw)
    for i in range(20):
        sm.create_secret(Name=f"bench/s{i}", SecretString=f"value-of-bench-s{i}")
    return boto3.client("sqs", **kw).create_queue(QueueName="bench-q")["QueueUrl"]


NICE = {"sqssend": "sqssend Q", "sqssend-url": "sqssend URL"}


def one_call_rows(url, qurl, cpus, title, notes):
    cmds = [
        ("`ssmget NAME`", "ssmget", ["/bench/p0"],
         ["ssm", "get-parameter", "--name", "/bench/p0", "--with-decryption", "--query", "Parameter.Value", "--output", "text"]),
        ("`secretget ID`", "secretget", ["bench/s0"],
         ["secretsmanager", "get-secret-value", "--secret-id", "bench/s0", "--query", "SecretString", "--output", "text"]),
        ("`sqssend Q BODY`", "sqssend", ["bench-q", "hello"],
         ["sqs", "send-message", "--queue-url", qurl, "--message-body", "hello", "--query", "MessageId", "--output", "text"]),
        ("`sqssend URL BODY`", "sqssend-url", [qurl, "hello"],
         ["sqs", "send-message", "--queue-url", qurl, "--message-body", "hello", "--query", "MessageId", "--output", "text"]),
        ("`awsid`", "awsid", [], ["sts", "get-caller-identity", "--output", "text"]),
    ]
    rows, raw = [], {}
    for label, key, args, aws_args in cmds:
        applet = key.split("-")[0]
        if not have(applet):
            rows.append([label, "n/a (applet missing)"] + [""] * 8)
            continue
        log(f"one call ({title}): {applet}")
        a_exe, a_argv = awsbox_cmd(applet, "--endpoint-url", url, *args)
        w_exe, w_argv = aws_cmd(url, *aws_args)
        A, W = [], []
        try:
            # one unmeasured run each: page cache, moto's first-call set-up
            a0 = measure(a_exe, a_argv, E.env, cpus=cpus)
            w0 = measure(w_exe, w_argv, E.env, cpus=cpus)
            if applet != "sqssend" and a0.out.strip() != w0.out.strip():
                notes.append(f"{applet}: outputs differ: awsbox {a0.out[:80]!r}, aws {w0.out[:80]!r}")
            for _ in range(RUNS):
                A.append(measure(a_exe, a_argv, E.env, cpus=cpus))
                W.append(measure(w_exe, w_argv, E.env, cpus=cpus))
        except Failed as e:
            rows.append([label] + [f"failed: {str(e).splitlines()[0][:60]}"] + [""] * 8)
            notes.append(f"{applet}: {e}")
            continue
        raw[key] = {"awsbox": [vars_m(m) for m in A], "aws": [vars_m(m) for m in W]}
        rows.append(row3(label, A, W))
    return rows, raw


def curl_floor(s, cpus):
    """awsbox's awsid against curl --aws-sigv4 (one signed POST of GetCallerIdentity, OpenSSL for
    TLS) on the stand-in, over HTTP and HTTPS: the floor for one call; HTTPS minus HTTP is each
    one's TLS handshake (the same server, certificate and CA)."""
    if not E.curl or not have("awsid"):
        return None
    rows, got = [], {}
    for scheme in ("http", "https"):
        url = s.https if scheme == "https" else s.http
        a_exe, a_argv = awsbox_cmd("awsid", "--endpoint-url", url)
        c_argv = ["curl", "-sf", "--cacert", str(E.ca), "--aws-sigv4", f"aws:amz:{REGION}:sts", "--user",
                  f"{E.env['AWS_ACCESS_KEY_ID']}:{E.env['AWS_SECRET_ACCESS_KEY']}", "-d",
                  "Action=GetCallerIdentity&Version=2011-06-15", url + "/"]
        log(f"one call: awsid and curl --aws-sigv4 over {scheme}")
        A, C = [], []
        try:
            measure(a_exe, a_argv, E.env, cpus=cpus)
            c0 = measure(E.curl, c_argv, E.env, cpus=cpus)
            if b"<Account>" not in c0.out:
                raise Failed(f"curl's answer has no account: {c0.out[:120]!r}")
            for r in range(RUNS):
                pair = [(A, a_exe, a_argv), (C, E.curl, c_argv)]
                for box, exe, argv in (pair if r % 2 == 0 else pair[::-1]):
                    box.append(measure(exe, argv, E.env, cpus=cpus))
        except Failed as e:
            rows.append([f"`awsid` / `curl --aws-sigv4`", scheme.upper(), f"failed: {str(e).splitlines()[0][:60]}"] + [""] * 7)
            continue
        got[scheme] = (A, C)
        rows.append([f"`awsid` / `curl --aws-sigv4` ({scheme.upper()})"] + row3("", A, C)[1:])
    return rows, got


def vars_m(m):
    return {"wall": m.wall, "user": m.user, "sys": m.sys, "rss_kib": m.rss, "rc": m.rc}


def row3(label, A, W):
    aw, ww = [m.wall for m in A], [m.wall for m in W]
    ac, wc = [m.cpu for m in A], [m.cpu for m in W]
    ar, wr = [m.rss for m in A], [m.rss for m in W]
    return [label, spread(aw, f_time), spread(ww, f_time), ratio(med(aw), med(ww)),
            spread(ac, f_time), spread(wc, f_time), ratio(med(ac), med(wc)),
            spread(ar, f_rss), spread(wr, f_rss), ratio(med(ar), med(wr))]


HDR3 = ["command", "awsbox wall", "aws wall", "aws/awsbox", "awsbox CPU", "aws CPU", "aws/awsbox",
        "awsbox peak RSS", "aws peak RSS", "aws/awsbox"]


def sec_onecall():
    cpus = E.client_cpus  # client and server on one CPU: see the note
    R.add("### Start-up and one call", "")
    notes = []
    # Start-up alone: no request.
    log("start-up (--version)")
    A = [measure(ROOT / "awsbox", ["awsbox", "--version"], E.env, cpus=cpus) for _ in range(RUNS + 1)][1:]
    W = [measure(E.aws, ["aws", "--version"], E.env, cpus=cpus) for _ in range(RUNS + 1)][1:]
    rows = [row3("start-up only (`--version`)", A, W)]
    start = (A, W)
    # moto, one CPU with the client
    m = harness.Moto("moto-bench")
    m.wait()
    pin(m.pid, cpus)
    qurl = moto_fixtures(m.url)
    r1, raw1 = one_call_rows(m.url, qurl, cpus, "moto", notes)
    s = start_standin()
    pin(s.proc.pid, cpus)
    r2, raw2 = one_call_rows(s.http, f"{s.http}/123456789012/bench-q", cpus, "stand-in", notes)
    R.add(f"Median of {RUNS} runs (min–max), after one unmeasured run each; HTTP on 127.0.0.1. Wall, CPU "
          "(user+sys) and peak RSS are the command's own (wait4 of the command, under a 64 KiB static "
          "launcher). Client and server are pinned to the same CPU: on this VM a wake-up across CPUs "
          "adds 1–20 ms at random, which would swamp a 1 ms call.", "")
    R.add("**Against moto** (`python -m moto.server`, no IAM auth; its own latency is most of awsbox's wall time):", "")
    R.table(HDR3, rows + r1)
    R.add("**Against the stand-in** (`tests/bench/standin.py`: answers from memory, ~0.1 ms of Python per "
          "request), which shows the client's own cost:", "")
    R.table(HDR3, r2)
    floor = curl_floor(s, cpus)
    if floor:
        frows, fgot = floor
        R.add("**The floor for one call**: `curl --aws-sigv4` (one signed GetCallerIdentity POST; curl with OpenSSL) "
              "against `awsid`, on the stand-in; the same alternation and medians:", "")
        R.table(["command", "awsbox wall", "curl wall", "curl/awsbox", "awsbox CPU", "curl CPU", "curl/awsbox",
                 "awsbox peak RSS", "curl peak RSS", "curl/awsbox"], frows)
        R.raw["onecall"] = {"curl": {k: {"awsbox": [vars_m(m) for m in a], "curl": [vars_m(m) for m in c]}
                                     for k, (a, c) in fgot.items()}}
        for scheme, (a, c) in fgot.items():
            R.sum(f"one call, `awsid` against **curl --aws-sigv4** as the peer ({scheme.upper()}, stand-in): wall / CPU",
                  f"{f_time(med([m.wall for m in a]))} / {f_time(med([m.cpu for m in a]))}",
                  f"{f_time(med([m.wall for m in c]))} / {f_time(med([m.cpu for m in c]))}",
                  f"{ratio(med([m.wall for m in a]), med([m.wall for m in c]))} / "
                  f"{ratio(med([m.cpu for m in a]), med([m.cpu for m in c]))}")
        if "http" in fgot and "https" in fgot:
            ah = med([m.cpu for m in fgot["https"][0]]) - med([m.cpu for m in fgot["http"][0]])
            ch = med([m.cpu for m in fgot["https"][1]]) - med([m.cpu for m in fgot["http"][1]])
            R.target("TLS handshake CPU (one call's HTTPS − HTTP), awsbox against curl (OpenSSL), same server",
                     "≤ curl's", f"{f_time(ah)} vs {f_time(ch)}", ah <= ch)
            R.sum("TLS handshake CPU (HTTPS − HTTP of one call), against **curl** as the peer", f_time(ah), f_time(ch),
                  ratio(ah, ch) if ah > 0 else "n/a")
    R.add("`sqssend Q BODY` is given the queue's name and makes two requests (GetQueueUrl, SendMessage); "
          "`sqssend URL BODY` and `aws` are given the queue URL and make one. `ssmget NAME` is one GetParameters "
          "request; `aws` sends GetParameter.", "")
    for n in notes:
        R.add(f"- note: {n}")
    if notes:
        R.add("")
    R.raw.setdefault("onecall", {}).update({"startup": {"awsbox": [vars_m(x) for x in start[0]], "aws": [vars_m(x) for x in start[1]]},
                        "moto": raw1, "standin": raw2})

    def triple(ms):
        return (f"{f_time(med([m.wall for m in ms]))} / {f_time(med([m.cpu for m in ms]))} / "
                f"{f_rss(med([m.rss for m in ms]))}")

    def ratios(a, w):
        return " / ".join(ratio(med([getattr(m, k) for m in a]), med([getattr(m, k) for m in w]))
                          for k in ("wall", "cpu", "rss"))

    R.sum("start-up (`--version`): wall / CPU / peak RSS", triple(start[0]), triple(start[1]), ratios(*start))
    for applet, d in raw1.items():
        a = [M(x["wall"], x["user"], x["sys"], x["rss_kib"], 0, 0) for x in d["awsbox"]]
        w = [M(x["wall"], x["user"], x["sys"], x["rss_kib"], 0, 0) for x in d["aws"]]
        R.sum(f"one call against moto, `{NICE.get(applet, applet)}`: wall / CPU / peak RSS", triple(a), triple(w),
              ratios(a, w))
    if raw2:
        aw = [med([x["wall"] for x in d["awsbox"]]) for d in raw2.values()]
        ac = [med([x["user"] + x["sys"] for x in d["awsbox"]]) for d in raw2.values()]
        ww = [med([x["wall"] for x in d["aws"]]) for d in raw2.values()]
        wc = [med([x["user"] + x["sys"] for x in d["aws"]]) for d in raw2.values()]
        R.sum(f"one call against the stand-in, {len(raw2)} commands: wall / CPU",
              f"{f_time(min(aw))}–{f_time(max(aw))} / {f_time(min(ac))}–{f_time(max(ac))}",
              f"{f_time(min(ww))}–{f_time(max(ww))} / {f_time(min(wc))}–{f_time(max(wc))}",
              f"{min(w / a for w, a in zip(ww, aw)):.0f}–{max(w / a for w, a in zip(ww, aw)):.0f}× / "
              f"{min(w / a for w, a in zip(wc, ac)):.0f}–{max(w / a for w, a in zip(wc, ac)):.0f}×")
    # targets: one row per server and figure, every command in it
    for raw, where in ((raw1, "moto"), (raw2, "stand-in")):
        if not raw:
            continue
        walls, cpus_, rsss, okw, okc, okr = [], [], [], True, True, True
        for applet, d in raw.items():
            aw, ww = med([x["wall"] for x in d["awsbox"]]), med([x["wall"] for x in d["aws"]])
            ac = med([x["user"] + x["sys"] for x in d["awsbox"]])
            wc = med([x["user"] + x["sys"] for x in d["aws"]])
            rss = max(x["rss_kib"] for x in d["awsbox"])
            name = NICE.get(applet, applet)
            walls.append(f"{name} {ww / aw:.0f}×")
            cpus_.append(f"{name} {wc / ac:.0f}×")
            rsss.append(f"{name} {f_rss(rss)}")
            okw, okc, okr = okw and ww / aw >= 50, okc and wc / ac >= 100, okr and rss <= 4096
        R.target(f"one call against {where}: wall, aws ÷ awsbox", "≥ 50×", ", ".join(walls), okw,
                 "" if okw or where != "moto" else "awsbox's wall there is mostly moto's own time per request "
                 "(see its CPU, and the stand-in's rows)")
        R.target(f"one call against {where}: CPU, aws ÷ awsbox", "≥ 100×", ", ".join(cpus_), okc)
        R.target(f"one call against {where}: awsbox peak RSS", "≤ 4 MiB", ", ".join(rsss), okr)


# ---- many calls in one process -------------------------------------------------------------------

def sec_many():
    cpus = E.client_cpus
    s = start_standin()
    pin(s.proc.pid, cpus)
    R.add("### Many calls in one process", "")
    names = [f"/bench/p{i}" for i in range(100)]
    ids = [f"bench/s{i}" for i in range(20)]
    cases = [
        ("`ssmget` 100 names", "ssmget", names, 100,
         [["ssm", "get-parameters", "--names", *names[i:i + 10], "--query", "Parameters[].Value", "--output", "text"]
          for i in range(0, 100, 10)], "10 × `aws ssm get-parameters` (10 names each, the API's limit)"),
        ("`secretget` 20 IDs", "secretget", ["--format", "env", *ids], 20,
         [["secretsmanager", "batch-get-secret-value", "--secret-id-list", *ids, "--query", "SecretValues[].SecretString",
           "--output", "text"]], "1 × `aws secretsmanager batch-get-secret-value` (20 IDs)"),
    ]
    rows, raw = [], {}
    for label, applet, args, nout, aws_calls, aws_label in cases:
        if not have(applet):
            rows.append([label, "n/a (applet missing)"] + [""] * 6)
            continue
        for scheme in ("https", "http"):
            url = s.https if scheme == "https" else s.http
            log(f"many calls: {applet} over {scheme}")
            A, W, ast, wst = [], [], None, None
            try:
                for r in range(MANY_RUNS + 1):  # run 0 warms up awsbox; aws is warm from the one-call runs
                    s.ctl.reset()
                    a = measure(*awsbox_cmd(applet, "--endpoint-url", url, *args), E.env, cpus=cpus)
                    st = s.ctl.stats()
                    if len(a.out.splitlines()) != nout:
                        raise Failed(f"{applet} printed {len(a.out.splitlines())} lines, not {nout}")
                    if r:
                        A.append(a)
                    ast = st
                    if scheme == "https" and r:
                        s.ctl.reset()
                        ws = [measure(*aws_cmd(url, *c), E.env, cpus=cpus) for c in aws_calls]
                        st = s.ctl.stats()
                        W.append(M(sum(x.wall for x in ws), sum(x.user for x in ws), sum(x.sys for x in ws),
                                   max(x.rss for x in ws), 0, 0))
                        wst = st
            except Failed as e:
                rows.append([label, scheme, f"failed: {str(e).splitlines()[0][:80]}"] + [""] * 5)
                continue
            conns = ast[f"{scheme}_conns"]
            rows.append([f"{label}: awsbox, 1 process", scheme.upper(), ast["requests"], conns,
                         ast["tls_handshakes"] if scheme == "https" else "–",
                         spread([m.wall for m in A], f_time), spread([m.cpu for m in A], f_time),
                         spread([m.rss for m in A], f_rss)])
            raw[f"{applet}/{scheme}/awsbox"] = {"stats": ast, "runs": [vars_m(m) for m in A]}
            if scheme == "https":
                R.target(f"{label}: connections", "one connection reused", f"{conns} TCP, {ast['tls_handshakes']} TLS "
                         f"handshake(s) for {ast['requests']} requests", conns == 1 and ast["tls_handshakes"] == 1)
                if W:
                    R.sum(f"{label} over HTTPS: wall / CPU / TLS handshakes",
                          f"{f_time(med([m.wall for m in A]))} / {f_time(med([m.cpu for m in A]))} / {ast['tls_handshakes']}",
                          f"{f_time(med([m.wall for m in W]))} / {f_time(med([m.cpu for m in W]))} / {wst['tls_handshakes']}"
                          f" ({len(aws_calls)} process{'es' if len(aws_calls) > 1 else ''})",
                          f"{ratio(med([m.wall for m in A]), med([m.wall for m in W]))} / "
                          f"{ratio(med([m.cpu for m in A]), med([m.cpu for m in W]))}")
                    rows.append([f"{label}: {aws_label}", "HTTPS", wst["requests"], wst["https_conns"], wst["tls_handshakes"],
                                 spread([m.wall for m in W], f_time), spread([m.cpu for m in W], f_time),
                                 spread([m.rss for m in W], f_rss)])
                    raw[f"{applet}/aws"] = {"stats": wst, "runs": [vars_m(m) for m in W]}
    R.add(f"Against the stand-in (connections and handshakes counted by the server), median of {MANY_RUNS} runs; "
          "for `aws`, the sum over its processes (peak RSS: the largest).", "")
    R.table(["what", "scheme", "requests", "TCP connections", "TLS handshakes", "wall", "CPU", "peak RSS"], rows)
    R.add("moto answers every request with `Connection: close`, so against moto each request costs a new "
          "connection whatever the client does; the stand-in keeps connections alive as AWS does.", "")
    R.raw["many"] = raw



# ---- draining a queue ------------------------------------------------------------------------------

SQS_N = knob("BENCH_SQS_MESSAGES", 5000)
SQS_EXEC_N = knob("BENCH_SQS_EXEC_MESSAGES", 1000)
SQS_AWS_N = knob("BENCH_SQS_AWS_MESSAGES", 5)


def sec_sqs():
    """Messages per second drained: sqsrecv (plain, and --exec true) against the AWS CLI's
    receive-message + delete-message loop, on the stand-in's storage-less queue over HTTPS."""
    cpus = E.client_cpus
    s = start_standin()
    pin(s.proc.pid, cpus)
    R.add("### Draining a queue", "")
    if not have("sqsrecv"):
        R.add("(sqsrecv: applet missing)", "")
        return
    qurl = f"{s.https}/123456789012/bench-q"
    rows, raw = [], {}

    def drain(label, n, extra):
        A = []
        for r in range(RUNS + 1):  # run 0 warms up
            s.ctl.fill(n)
            s.ctl.reset()
            log(f"sqs: {label}, run {r}")
            m = measure(*awsbox_cmd("sqsrecv", "--endpoint-url", s.https, "--drain", qurl, *extra), E.env,
                        stdout="drain", cpus=cpus)
            st = s.ctl.stats()
            if st["ops"].get("ReceiveMessage", 0) < n // 10:
                raise Failed(f"sqsrecv made {st['ops']} for {n} messages")
            if r:
                A.append(m)
        rate = n / med([m.wall for m in A])
        rows.append([label, f"{n:,}", f"{rate:,.0f}", spread([m.wall for m in A], f_time),
                     spread([m.cpu / n for m in A], f_time), spread([m.rss for m in A], f_rss), ", ".join(
                         f"{k} {v}" for k, v in sorted(st["ops"].items()))])
        raw[label] = {"n": n, "ops": st["ops"], "runs": [vars_m(m) for m in A]}
        return rate, A

    try:
        plain, _ = drain("`sqsrecv --drain Q` (to stdout)", SQS_N, [])
        ex, _ = drain("`sqsrecv --drain Q --exec -- true`", SQS_EXEC_N, ["--exec", "--", "true"])
        ex4, _ = drain("`sqsrecv -j 4 --drain Q --exec -- true`", SQS_EXEC_N, ["-j", "4", "--exec", "--", "true"])
        # the AWS CLI: a shell loop of receive-message and delete-message, one message each
        W = []
        s.ctl.fill(10 * SQS_AWS_N)
        for i in range(SQS_AWS_N + 1):
            log(f"sqs: aws loop, message {i}")
            a = measure(*aws_cmd(s.https, "sqs", "receive-message", "--queue-url", qurl, "--query",
                                 "Messages[0].ReceiptHandle", "--output", "text"), E.env, cpus=cpus)
            rh = a.out.decode().strip()
            if not rh.startswith("rh-"):
                raise Failed(f"aws sqs receive-message printed {rh[:80]!r}")
            b = measure(*aws_cmd(s.https, "sqs", "delete-message", "--queue-url", qurl, "--receipt-handle", rh),
                        E.env, cpus=cpus)
            if i:  # the first warms up
                W.append(M(a.wall + b.wall, a.user + b.user, a.sys + b.sys, max(a.rss, b.rss), 0, 0))
        aws_rate = 1 / med([m.wall for m in W])
        rows.append(["AWS CLI: `receive-message` + `delete-message` per message", f"{SQS_AWS_N}", f"{aws_rate:,.1f}",
                     spread([m.wall for m in W], f_time) + " a message", spread([m.cpu for m in W], f_time),
                     spread([m.rss for m in W], f_rss), "2 processes a message"])
        raw["aws"] = {"runs": [vars_m(m) for m in W]}
    except Failed as e:
        R.add(f"(sqs: failed: {str(e).splitlines()[0][:200]})", "")
        return
    R.table(["what", "messages", "messages/s", "wall", "CPU a message", "peak RSS", "requests"], rows)
    R.add("Against the stand-in's queue over HTTPS (no storage: it makes up each message it hands out and "
          "accepts every delete, so the rates are the clients' own; moto, which answers every request "
          "with `Connection: close` and scans its queue for each receive, would measure itself). "
          f"Median of {RUNS} runs. `--drain` ends with one receive that finds nothing (the stand-in answers it "
          "at once). The AWS CLI loop is what a script without sqsrecv does: `aws sqs receive-message` "
          "then `aws sqs delete-message` with its receipt handle, per message.", "")
    R.sum("drain a queue to stdout: messages/s", f"{plain:,.0f}", f"{aws_rate:,.1f}", ratio(aws_rate, plain))
    R.sum("drain with `--exec -- true` (-j 1 / -j 4): messages/s", f"{ex:,.0f} / {ex4:,.0f}", f"{aws_rate:,.1f}",
          ratio(aws_rate, ex))
    R.raw["sqs"] = raw


# ---- S3 throughput ---------------------------------------------------------------------------------

def make_source(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 64 * MIB)
            f.write(os.urandom(n))
            left -= n


def warm_tmpfs(nbytes):
    """Touches nbytes of fresh tmpfs pages once: on this VM the first touch of guest memory is
    2-3x slower than later ones, which would otherwise land on whichever figure comes first."""
    p = E.work / "warm"
    with open(p, "wb") as f:
        block = b"\0" * (16 * MIB)
        for _ in range(nbytes // len(block)):
            f.write(block)
    p.unlink()


def s3_transfer(tool, kind, url, key_base, size, run, cpus, srcfile):
    """One measured transfer; returns (M, sink CPU seconds). kind: up, down, sup (stdin), sdown (stdout)."""
    bucket = "bench"
    sink = E.sink
    dl = E.work / f"dl-{tool}"
    if kind == "up":
        src, dst, stdin, stdout = str(srcfile), f"s3://{bucket}/{key_base}-{tool}", None, "null"
    elif kind == "sup":
        src, dst, stdin, stdout = "-", f"s3://{bucket}/{key_base}-{tool}", ("feed", str(srcfile), size), "null"
    elif kind == "down":
        src, dst, stdin, stdout = f"s3://{bucket}/{key_base}", str(dl), None, "null"
    else:
        src, dst, stdin, stdout = f"s3://{bucket}/{key_base}", "-", None, "drain"
    obj = f"bench:{bucket}/{key_base}" + (f"-{tool}" if kind in ("up", "sup") else "")
    rc = {"up": ["copyto", src, obj], "down": ["copyto", obj, dst], "sup": ["rcat", obj], "sdown": ["cat", obj]}[kind]
    exe, argv, env = tool_cmd(tool, url, s3cp=[src, dst], aws=["s3", "cp", "--only-show-errors", src, dst], rclone=rc)
    c0, b0 = proc_cpu(sink.proc.pid), busy()
    m = measure(exe, argv, env, stdin=stdin, stdout=stdout, cpus=cpus)
    scpu = proc_cpu(sink.proc.pid) - c0
    # CPU that neither the client nor the sink used meanwhile: other work on the machine
    m.others = max(0.0, busy() - b0 - m.cpu - scpu) / (E.ncpu * m.wall)
    if kind in ("up", "sup"):
        st, h = sink_req("HEAD", f"/{bucket}/{key_base}-{tool}")
        if st != 200 or int(h.get("Content-Length", -1)) != size:
            raise Failed(f"{tool} {kind}: the object is not there or has the wrong size ({st}, {h.get('Content-Length')})")
        sink_req("DELETE", f"/{bucket}/{key_base}-{tool}")
    elif kind == "down":
        if dl.stat().st_size != size:
            raise Failed(f"{tool} down: {dl.stat().st_size} bytes, not {size}")
        if run == 0 and subprocess.run(["cmp", "-s", str(srcfile), str(dl)]).returncode != 0:
            raise Failed(f"{tool} down: the downloaded file differs from the source")
        dl.unlink()
    elif m.nout != size:
        raise Failed(f"{tool} stream down: {m.nout} bytes on stdout, not {size}")
    return m, scpu


def sink_alone(srcfile, cpus):
    """curl against the sink, to show that it is not the bottleneck."""
    rows = []
    curl = shutil.which("curl")
    if not curl:
        return rows
    for scheme in ("http", "https"):
        base = E.sink.https if scheme == "https" else E.sink.http
        with urllib.request.urlopen(urllib.request.Request(f"{E.sink.http}/bench/curl?uploads", method="POST")) as r:
            uid = re.search(rb"<UploadId>([^<]+)</UploadId>", r.read()).group(1).decode()
        for what, argv in (
                ("PUT (stored as a part)", [curl, "-sf", "--cacert", str(E.ca), "-T", str(srcfile), "-o", "/dev/null",
                                            f"{base}/bench/curl?partNumber=1&uploadId={uid}"]),
                ("GET", [curl, "-sf", "--cacert", str(E.ca), "-o", "/dev/null", f"{base}/bench/dl"])):
            c0 = proc_cpu(E.sink.proc.pid)
            m = measure(curl, ["curl", *argv[1:]], E.env, cpus=cpus)
            scpu = proc_cpu(E.sink.proc.pid) - c0
            rows.append([f"curl {what}", scheme.upper(), f_rate(SIZE / m.wall / 1e6), f_cpg(m.cpu / (SIZE / GIB)),
                         f_cpg(scpu / (SIZE / GIB))])
        sink_req("DELETE", f"/bench/curl?uploadId={uid}")
    return rows


TCP_PROBE = r"""
import os, socket, sys, time
n, bs, rcpu, scpu = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
pid = os.fork()
if pid == 0:
    os.sched_setaffinity(0, {rcpu}); c, _ = srv.accept(); mv = memoryview(bytearray(1 << 20)); got = 0
    while got < n:
        k = c.recv_into(mv)
        if not k: break
        got += k
    os._exit(0)
os.sched_setaffinity(0, {scpu})
s = socket.create_connection(srv.getsockname()); data = os.urandom(bs); sent = 0; t0 = time.perf_counter()
while sent < n:
    s.sendall(data); sent += bs
s.close(); os.waitpid(pid, 0)
print(n / (time.perf_counter() - t0) / 1e6)
"""


def ceilings():
    """One-core speeds of the primitives, and loopback TCP, on this machine: the floor under the
    CPU per GiB of each tool (awsbox: BearSSL and core/base/sum.c; aws: OpenSSL and zlib via Python)."""
    rows = []
    prim = BUILD / "primspeed"
    got = {}
    if prim.exists():
        out = subprocess.run(["taskset", "-c", str(min(E.client_cpus)), str(prim), "256"], capture_output=True,
                             text=True).stdout
        got = {k: float(v) for k, v in (l.split() for l in out.splitlines() if len(l.split()) == 2)}
    E.prim = got

    def ossl(alg, nbytes):
        p = subprocess.run(["taskset", "-c", str(min(E.client_cpus)), "openssl", "speed", "-evp", alg, "-bytes",
                            str(nbytes), "-seconds", "1", "-mr"], capture_output=True, text=True)
        m = re.findall(r"^\+F:\d+:[^:]+:([\d.]+)", p.stdout, re.M)
        return float(m[-1]) / 1e6 if m else None

    py = Path(E.aws).read_text(errors="replace").splitlines()[0][2:].strip()
    pyspeed = {}
    code = ("import zlib, hashlib, os, time\nb = os.urandom(1 << 20)\n"
            "for name, f in (('zlib-crc32', lambda: zlib.crc32(b)), ('hashlib-sha256', lambda: hashlib.sha256(b).digest())):\n"
            "    t = time.perf_counter()\n    for _ in range(256): f()\n"
            "    print(name, 256 * (1 << 20) / (time.perf_counter() - t) / 1e6)\n")
    out = subprocess.run(["taskset", "-c", str(min(E.client_cpus)), py, "-c", code], capture_output=True, text=True).stdout
    pyspeed = {k: float(v) for k, v in (l.split() for l in out.splitlines() if len(l.split()) == 2)}

    def row(what, a_name, a, w_name, w):
        rows.append([what, a_name, f"{a:.0f}" if a else "n/a", f"{GIB / a / 1e6:.2f}" if a else "",
                     w_name, f"{w:.0f}" if w else "n/a", f"{GIB / w / 1e6:.2f}" if w else ""])

    row("TLS record cipher (16 KiB records)", "BearSSL AES-128-GCM", got.get("bearssl-aes128-gcm"),
        "OpenSSL AES-256-GCM (TLS 1.3)", ossl("aes-256-gcm", 16384))
    row("", "BearSSL AES-256-GCM", got.get("bearssl-aes256-gcm"), "OpenSSL AES-128-GCM", ossl("aes-128-gcm", 16384))
    row("its parts", "AES-128-CTR (BearSSL, AES-NI)", got.get("bearssl-aes128-ctr"), "", None)
    row("", "GHASH: awsbox's (core/wire/ghash.c, what TLS uses)", got.get("awsbox-ghash"), "", None)
    row("", "GHASH: BearSSL's br_ghash_pclmul", got.get("bearssl-ghash"), "", None)
    row("payload SHA-256 (plain HTTP)", "awsbox SHA-256 (SHA extensions when present)", got.get("awsbox-sha256"),
        "Python hashlib (OpenSSL)", pyspeed.get("hashlib-sha256"))
    row("", "BearSSL SHA-256 (the fallback)", got.get("bearssl-sha256"), "", None)
    row("upload checksum", "awsbox CRC32C (SSE4.2, three streams)", got.get("awsbox-crc32c"), "Python zlib CRC32",
        pyspeed.get("zlib-crc32"))
    row("CRC32 (reading objects others wrote)", "awsbox CRC32 (carry-less multiply)", got.get("awsbox-crc32"), "", None)
    row("CRC-64/NVME (S3's default checksum)", "awsbox CRC-64/NVME (carry-less multiply)", got.get("awsbox-crc64nvme"),
        "", None)
    row("MD5 (single-part ETag)", "BearSSL MD5", got.get("bearssl-md5"), "", None)
    row("memory", "memcpy", got.get("memcpy"), "", None)
    tcp = []
    for same in (False, True):
        r, srv = min(E.client_cpus), (min(E.client_cpus) if same else min(E.server_cpus))
        best = 0.0
        for _ in range(3):
            p = subprocess.run([sys.executable, "-c", TCP_PROBE, str(GIB), "16384", str(srv), str(r)],
                               capture_output=True, text=True, timeout=120)
            try:
                best = max(best, float(p.stdout.strip()))
            except ValueError:
                pass
        if best:
            tcp.append((16384, same, best))
    return rows, tcp


def sec_s3():
    if not have("s3cp"):
        R.add("### S3 throughput", "", "n/a (applet missing)", "")
        return
    sink = start_sink()
    pin(sink.proc.pid, E.server_cpus)
    src = E.work / "src"
    log(f"S3: making a {SIZE // MIB} MiB source file and warming tmpfs")
    make_source(src, SIZE)
    warm_tmpfs(2 * SIZE)
    cpus = E.client_cpus
    # the object every download reads: uploaded by awsbox over HTTPS (CRC32C, composite, 8 MiB parts)
    measure(*awsbox_cmd("s3cp", "--endpoint-url", sink.https, str(src), "s3://bench/dl"), E.env, stdout="null")
    log("S3: the sink alone, with curl")
    alone = sink_alone(src, cpus)
    kinds = [("up", f"file → S3 ({SIZE // MIB} MiB)"), ("down", "S3 → file"), ("sup", "stdin → S3"),
             ("sdown", "S3 → stdout")]
    res = {}
    ciphers = {}
    tools = ["awsbox", "awsbox-c1", "aws"] + (["rclone"] if E.rclone else [])
    for run in range(XFER_RUNS):
        for scheme in ("http", "https"):
            url = sink.https if scheme == "https" else sink.http
            for kind, _ in kinds:
                order = [t for t in tools if t != "awsbox-c1" or kind in ("down", "sdown")]
                order = order[run % len(order):] + order[:run % len(order)]  # rotated: no tool always first
                for tool in order:
                    log(f"S3 run {run + 1}/{XFER_RUNS}: {tool} {kind} over {scheme}")
                    sink.ctl.reset()
                    try:
                        m, scpu = s3_transfer(tool, kind, url, "dl" if kind in ("down", "sdown") else "up", SIZE, run,
                                              cpus, src)
                    except Failed as e:
                        res.setdefault((scheme, kind, tool), []).append(e)
                        log(f"  failed: {e}")
                        continue
                    st = sink.ctl.stats()
                    if scheme == "https":
                        ciphers.setdefault(tool, set()).update(st["ciphers"])
                    res.setdefault((scheme, kind, tool), []).append((m, scpu, st))
    gib = SIZE / GIB
    rows, crows = [], []
    raw = {}
    s3t = {}
    E.s3res = res

    def ok_of(scheme, kind, tool):
        return [x for x in res.get((scheme, kind, tool), []) if not isinstance(x, Exception)]

    def rate(ok):
        return [SIZE / m.wall / 1e6 for m, _, _ in ok]

    def cpg(ok):
        return [m.cpu / gib for m, _, _ in ok]

    def fail(scheme, kind, tool):
        bad = [x for x in res.get((scheme, kind, tool), []) if isinstance(x, Exception)]
        return f"failed: {str(bad[0]).splitlines()[0][:50]}" if bad else "n/a"

    for scheme in ("http", "https"):
        for kind, label in kinds:
            ok = {t: ok_of(scheme, kind, t) for t in tools}
            for t in tools:
                if ok[t] or res.get((scheme, kind, t)):
                    raw[f"{scheme}/{kind}/{t}"] = [dict(vars_m(m), sink_cpu=c, others=m.others) for m, c, _ in ok[t]]
            a_ok, w_ok, r_ok = ok["awsbox"], ok["aws"], ok.get("rclone", [])
            cells = [label, scheme.upper()]
            cells += [spread(rate(a_ok), f_rate) if a_ok else fail(scheme, kind, "awsbox"),
                      spread(cpg(a_ok), f_cpg) if a_ok else "",
                      f_cpg(med([m.user / gib for m, _, _ in a_ok])) if a_ok else "",
                      spread([m.rss for m, _, _ in a_ok], f_rss) if a_ok else ""]
            for t, o in (("aws", w_ok), ("rclone", r_ok)):
                if t == "rclone" and not E.rclone:
                    cells += ["not installed", "", ""]
                    continue
                cells += [spread(rate(o), f_rate) if o else fail(scheme, kind, t), spread(cpg(o), f_cpg) if o else "",
                          ratio(med(cpg(a_ok)), med(cpg(o))) if a_ok and o else "n/a"]
            cells += [" / ".join(f"{med([c / gib for _, c, _ in o]):.2f}" if o else "–" for o in (a_ok, w_ok, r_ok)),
                      f"{100 * max(m.others for m, _, _ in a_ok + w_ok + r_ok):.0f}%" if a_ok + w_ok + r_ok else ""]
            rows.append(cells)
            short = label.split(" (")[0]
            if a_ok and w_ok:
                ac, wc = med(cpg(a_ok)), med(cpg(w_ok))
                s3t.setdefault(scheme, []).append((short, ac, wc))
                R.sum(f"S3 {short}, {SIZE // MIB} MiB, {scheme.upper()}: MB/s / CPU s per GiB / peak RSS",
                      f"{med(rate(a_ok)):.0f} / {ac:.2f} / {f_rss(med([m.rss for m, _, _ in a_ok]))}",
                      f"{med(rate(w_ok)):.0f} / {wc:.2f} / {f_rss(med([m.rss for m, _, _ in w_ok]))}",
                      f"{ratio(med(rate(w_ok)), med(rate(a_ok)))} / {ratio(ac, wc)} / "
                      f"{ratio(med([m.rss for m, _, _ in a_ok]), med([m.rss for m, _, _ in w_ok]))}")
            if a_ok and r_ok:
                ac, rc_ = med(cpg(a_ok)), med(cpg(r_ok))
                R.sum(f"S3 {short}, {scheme.upper()}, **rclone** as the peer: MB/s / CPU s per GiB / peak RSS",
                      f"{med(rate(a_ok)):.0f} / {ac:.2f} / {f_rss(med([m.rss for m, _, _ in a_ok]))}",
                      f"{med(rate(r_ok)):.0f} / {rc_:.2f} / {f_rss(med([m.rss for m, _, _ in r_ok]))}",
                      f"{ratio(med(rate(r_ok)), med(rate(a_ok)))} / {ratio(ac, rc_)} / "
                      f"{ratio(med([m.rss for m, _, _ in a_ok]), med([m.rss for m, _, _ in r_ok]))}")
                if kind == "down":
                    fast = med(rate(a_ok)) >= 0.95 * med(rate(r_ok))
                    R.target(f"S3 download to a file, {scheme.upper()}: rclone ÷ awsbox CPU per GiB, no loss of throughput",
                             "≥ 1.5×, MB/s ≥ rclone's", f"{rc_ / ac:.2f}× ({ac:.2f} vs {rc_:.2f} s/GiB); "
                             f"{med(rate(a_ok)):.0f} vs {med(rate(r_ok)):.0f} MB/s", rc_ / ac >= 1.5 and fast,
                             "" if rc_ / ac >= 1.5 else "see the profile note in README")
            c1 = ok.get("awsbox-c1", [])
            if a_ok and c1:
                d, one = med(cpg(a_ok)), med(cpg(c1))
                crows.append([label, scheme.upper(), spread(rate(a_ok), f_rate), spread(cpg(a_ok), f_cpg),
                              spread(rate(c1), f_rate), spread(cpg(c1), f_cpg), f"{d / one:.2f}"])
                R.target(f"{short}, {scheme.upper()}: CPU of the default concurrency ÷ `--concurrency 1`", "≤ 1.00",
                         f"{d / one:.2f} ({d:.2f} vs {one:.2f} s/GiB)", d <= one,
                         "" if d <= one else f"within the noise of the runs" if d <= 1.05 * one else "")
            if scheme == "https" and kind == "up" and a_ok:
                r, c = med(rate(a_ok)), med(cpg(a_ok))
                cpu_ok = GIB / c / 1e9 >= 1
                R.target("S3 HTTPS upload on one core", "≥ 1 GB/s",
                         f"{r / 1000:.2f} GB/s wall; {GIB / c / 1e9:.2f} GB/s per core of awsbox's CPU ({c:.2f} s/GiB)",
                         True if r >= 1000 else f"by CPU {'yes' if cpu_ok else 'no'}; by wall no",
                         "" if r >= 1000 else "the wall time is bound by the loopback across the two vCPUs and the "
                         "sink (see the ceilings), not by awsbox's CPU")
    for scheme, items in s3t.items():
        R.target(f"S3 CPU per GiB, {scheme.upper()}: aws ÷ awsbox", "≥ 5×",
                 ", ".join(f"{lbl} {wc / ac:.1f}× ({ac:.2f} vs {wc:.2f} s)" for lbl, ac, wc in items),
                 all(wc / ac >= 5 for _, ac, wc in items))
    R.add("### S3 throughput", "")
    R.add(f"{SIZE // MIB} MiB over loopback against `tests/bench/s3sink` (C; data in tmpfs; HTTPS by OpenSSL with "
          f"the test CA), median of {XFER_RUNS} runs (min–max), the tools' order rotated from run to run. The client "
          "is pinned to one CPU and the sink to the other. MB/s = 10⁶ bytes/s of object data; CPU = the client's "
          "user+sys per GiB (awsbox's user time alone beside it: the part the cipher is in); the sink's CPU per GiB "
          "(awsbox / aws / rclone) shows where the other core went. Defaults of every tool "
          "(awsbox: 8 MiB parts, 8 at a time, CRC32C; aws: 8 MiB parts, 10 threads, CRC32; rclone: `copyto`, `rcat`, "
          "`cat` with its defaults, 5 MiB parts 4 at a time, 4 streams for downloads over 250 MiB, MD5 of each upload "
          "as metadata). Every upload's size is checked on the sink, every download's bytes counted, the first file "
          "download compared with the source; awsbox also checks the composite CRC32C of each download. *Other "
          "load*: the most CPU that other work on the machine took during one of these transfers, as a share of "
          "all CPUs.", "")
    R.table(["transfer", "scheme", "awsbox MB/s", "awsbox CPU s/GiB", "awsbox user s/GiB", "awsbox peak RSS",
             "aws MB/s", "aws CPU s/GiB", "aws/awsbox CPU", "rclone MB/s", "rclone CPU s/GiB", "rclone/awsbox CPU",
             "sink CPU s/GiB", "other load"], rows)
    if crows:
        R.add("awsbox's downloads with the default concurrency (8) against `--concurrency 1`, same runs:", "")
        R.table(["transfer", "scheme", "default MB/s", "default CPU s/GiB", "`-c 1` MB/s", "`-c 1` CPU s/GiB",
                 "default ÷ `-c 1` CPU"], crows)
    if ciphers:
        R.add("TLS negotiated with the sink (OpenSSL 3, default settings): " +
              "; ".join(f"{t}: {', '.join(sorted(c))}" for t, c in ciphers.items()) + ".", "")
    if alone:
        R.add("The sink alone, with curl (OpenSSL) as the client, on the same CPUs:", "")
        R.table(["client", "scheme", "MB/s", "curl CPU s/GiB", "sink CPU s/GiB"], alone)
    log("S3: ceilings of the primitives and of loopback TCP")
    crow, tcp = ceilings()
    gcm = getattr(E, "prim", {}).get("bearssl-aes128-gcm")
    for kind in ("up", "down"):
        a = [m for m, _, _ in ok_of("https", kind, "awsbox")]
        if gcm and a:
            floor, user = GIB / (gcm * 1e6), med([m.user / gib for m in a])
            R.target(f"S3 HTTPS {'upload' if kind == 'up' else 'download'}: awsbox user CPU per GiB ÷ the cipher's own "
                     "(AES-128-GCM on 16 KiB records, primspeed)", "≤ 1.25×",
                     f"{user / floor:.2f}× ({user:.2f} vs {floor:.2f} s/GiB)", user / floor <= 1.25,
                     "" if user / floor <= 1.25 else "the rest: CRC32C of the data, record framing and copies (README)")
    R.add("What the machine allows, one core each (MB/s and the CPU seconds per GiB it costs): the primitives "
          "as each tool uses them (awsbox: the BearSSL it links, built `-Os` by scripts/bearssl, and core/base/sum.c, "
          "measured by `tests/bench/primspeed`; aws: `openssl speed` and Python's zlib/hashlib), and loopback TCP.", "")
    R.table(["work", "awsbox uses", "MB/s", "s/GiB", "aws uses", "MB/s", "s/GiB"], crow)
    if tcp:
        R.add("Loopback TCP alone (Python sockets, 1 GiB, best of 3): " + "; ".join(
            f"{bs // 1024} KiB writes {'on one CPU' if same else 'across the two CPUs'}: {v:.0f} MB/s"
            for bs, same, v in tcp) + ". On this VM a wake-up across CPUs is slow, so a sender and a receiver on "
            "different CPUs leave both partly idle.", "")
    R.raw["s3"] = raw
    R.raw["ceilings"] = {"rows": crow, "tcp": tcp}


def sec_mem():
    if not have("s3cp"):
        R.add("### Memory bound", "", "n/a (applet missing)", "")
        return
    sink = start_sink()
    pin(sink.proc.pid, E.server_cpus)
    src = E.work / "src"
    if not src.exists():
        make_source(src, SIZE)
    cpus = E.client_cpus
    raw = {}
    bound = 8 * 8 * MIB + 8 * MIB
    labels = {"sup": f"stdin → S3 ({STREAM // MIB} MiB)", "sdown": f"S3 → stdout ({STREAM // MIB} MiB)"}
    cells = {k: {} for k in labels}
    for tool in ("awsbox", "aws"):  # each tool reads back what it wrote
        for kind in ("sup", "sdown"):
            log(f"memory bound: {tool} {kind}")
            try:
                if kind == "sup":
                    m, _ = s3_transfer_stream_up(tool, sink.https, src, cpus)
                else:
                    m, _ = s3_transfer(tool, "sdown", sink.https, "big", STREAM, 1, cpus, src)
            except Failed as e:
                cells[kind][tool] = [f"failed: {str(e).splitlines()[0][:60]}", ""]
                continue
            cells[kind][tool] = [f_rss(m.rss), f"{STREAM / m.wall / 1e6:.0f} MB/s"]
            raw[f"{kind}/{tool}"] = vars_m(m)
            if tool == "aws" and f"{kind}/awsbox" in raw:
                R.sum(f"streaming {labels[kind]}, HTTPS: peak RSS", f_rss(raw[f"{kind}/awsbox"]["rss_kib"]), f_rss(m.rss),
                      ratio(raw[f"{kind}/awsbox"]["rss_kib"], m.rss))
            if tool == "awsbox":
                R.target(f"memory, {labels[kind]}", f"peak RSS ≤ 8 × 8 MiB + 8 MiB = {bound // MIB} MiB", f_rss(m.rss),
                         m.rss * 1024 <= bound)
    rows = [[labels[k]] + cells[k].get("awsbox", ["n/a", ""]) + cells[k].get("aws", ["n/a", ""]) for k in labels]
    sink_req("DELETE", "/bench/big")
    R.add("### Memory bound", "")
    R.add(f"Streaming {STREAM // MIB} MiB over HTTPS with the defaults (awsbox: concurrency 8 × part size 8 MiB; "
          "bound = 8 × 8 MiB + 8 MiB = 72 MiB), one run.", "")
    R.table(["stream", "awsbox peak RSS", "awsbox rate", "aws peak RSS", "aws rate"], rows)
    R.raw["mem"] = raw


def s3_transfer_stream_up(tool, url, src, cpus):
    """STREAM bytes from stdin to s3://bench/big (kept for the download that follows)."""
    dst = "s3://bench/big"
    if tool == "awsbox":
        exe, argv = awsbox_cmd("s3cp", "--endpoint-url", url, "-", dst)
    else:
        exe, argv = aws_cmd(url, "s3", "cp", "--only-show-errors", "-", dst)
    m = measure(exe, argv, E.env, stdin=("feed", str(src), STREAM), stdout="null", cpus=cpus)
    st, h = sink_req("HEAD", "/bench/big")
    if st != 200 or int(h.get("Content-Length", -1)) != STREAM:
        raise Failed(f"{tool}: the streamed object is missing or has the wrong size")
    return m, 0


# ---- scaling ----------------------------------------------------------------------------------------

def sec_scale():
    cpus = E.client_cpus
    R.add("### Scaling", "")
    rows, raw = [], {}
    if have("s3cp"):
        sink = start_sink()
        pin(sink.proc.pid, cpus)  # request/response: one CPU, as for one call
        tools = ["awsbox", "aws"] + (["rclone"] if E.rclone else [])
        for n in TREE_SIZES:
            tree = E.work / f"tree-{n}"
            for i in range(n):
                p = tree / f"d{i // 100:03d}" / f"f{i:05d}.txt"
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(b"x" * 1024)
            for direction in ("up", "down"):
                these = [t for t in tools if t != "aws" or n <= AWS_TREE_MAX]
                res = {t: [] for t in these}
                for run in range(SCALE_RUNS):
                    for tool in these[run % len(these):] + these[:run % len(these)]:
                        log(f"scaling: s3cp -r {direction} {n} objects, {tool}, run {run + 1}")
                        # each upload to a prefix of its own (rclone would skip what is there already);
                        # the downloads read the first run's
                        key = f"bench/tree-{n}-{tool}-{run if direction == 'up' else 0}/"
                        prefix = f"s3://{key}"
                        out = E.work / f"down-{n}-{tool}"
                        if direction == "up":
                            src, dst = str(tree) + "/", prefix
                        else:
                            src, dst = prefix, str(out) + "/"
                        rc = ["copy"] + ([src, f"bench:{key}"] if direction == "up" else [f"bench:{key}", dst])
                        exe, argv, env = tool_cmd(tool, sink.https, s3cp=["-r", src, dst],
                                                  aws=["s3", "cp", "--recursive", "--only-show-errors", src, dst], rclone=rc)
                        try:
                            m = measure(exe, argv, env, cpus=cpus, timeout=1800)
                            if direction == "down":
                                got = sum(len(f) for _, _, f in os.walk(out))
                                shutil.rmtree(out, True)
                                if got != n:
                                    raise Failed(f"{got} files downloaded, not {n}")
                            res[tool].append(m)
                        except Failed as e:
                            res[tool].append(e)
                rows.append(scale_row(f"`s3cp -r` {direction}, {n:,} × 1 KiB", n, res))
                raw[f"s3cp-r/{direction}/{n}"] = {t: [vars_m(m) for m in v if isinstance(m, M)] for t, v in res.items()}
        pin(sink.proc.pid, E.server_cpus)
    else:
        rows.append(["`s3cp -r`", "n/a (applet missing)"] + [""] * 8)
    if have("sqssend"):
        s = start_standin()
        pin(s.proc.pid, cpus)
        for n in (1000, 10000, 100000):
            lines = E.work / f"lines-{n}"
            lines.write_text("".join(f"message number {i}\n" for i in range(n)))
            res = {"awsbox": [], "aws": []}
            for run in range(SCALE_RUNS):
                log(f"scaling: sqssend --lines {n}, run {run + 1}")
                s.ctl.reset()
                try:
                    m = measure(*awsbox_cmd("sqssend", "--lines", "--endpoint-url", s.https, "bench-q"), E.env,
                                stdin=str(lines), cpus=cpus)
                    st = s.ctl.stats()
                    if st["ops"].get("SendMessageBatch", 0) != (n + 9) // 10:
                        raise Failed(f"{st['ops']} for {n} lines")
                    res["awsbox"].append(m)
                except Failed as e:
                    res["awsbox"].append(e)
            rows.append(scale_row(f"`sqssend --lines`, {n:,} lines", n, res, aws_per_item=aws_batch_cost(s, cpus)))
            raw[f"sqssend/{n}"] = {"awsbox": [vars_m(m) for m in res["awsbox"] if isinstance(m, M)]}
    else:
        rows.append(["`sqssend --lines`", "n/a (applet missing)"] + [""] * 8)
    R.add(f"HTTPS, client and server on one CPU, median of {SCALE_RUNS} runs. Per item = wall or CPU ÷ items. "
          "`aws s3 cp --recursive` is the AWS CLI's equivalent of `s3cp -r`, and `rclone copy` rclone's (with `--fast-list`, as for all of rclone's runs here) "
          "(each upload to a prefix of its own, so rclone finds nothing to skip); the tools' order rotates; the AWS CLI has nothing that streams "
          "lines into SQS, so its per-line figure is that of `aws sqs send-message-batch` with 10 entries "
          "(one process per 10 lines, measured 5 times) — what a shell loop over `split -l 10` would pay.", "")
    R.table(["what", "awsbox wall", "awsbox CPU", "awsbox peak RSS", "awsbox per item (wall / CPU)",
             "aws wall", "aws peak RSS", "aws per item (wall / CPU)", "rclone wall", "rclone per item (wall / CPU)"], rows)
    R.raw["scale"] = raw
    # flatness: per-item CPU of the largest against the middle size
    for prefix in ("`s3cp -r` up", "`s3cp -r` down", "`sqssend --lines`"):
        pts = [(n, v) for (lbl, n, v) in SCALE_PTS if lbl.startswith(prefix)]
        if len(pts) >= 2:
            (n1, c1), (n2, c2) = pts[-2], pts[-1]
            R.target(f"scaling {prefix}: CPU per item", "flat", f"{c1 * 1e3:.3f} ms at {n1:,}, {c2 * 1e3:.3f} ms at {n2:,}",
                     c2 <= 1.5 * c1)


SCALE_PTS = []
_AWS_BATCH = {}


def aws_batch_cost(s, cpus):
    if "v" not in _AWS_BATCH:
        entries = [f"Id={i},MessageBody=message number {i}" for i in range(10)]
        ms = []
        for _ in range(5):
            try:
                ms.append(measure(*aws_cmd(s.https, "sqs", "send-message-batch", "--queue-url",
                                           f"{s.https}/123456789012/bench-q", "--entries", *entries), E.env, cpus=cpus))
            except Failed:
                pass
        _AWS_BATCH["v"] = ms
    return _AWS_BATCH["v"]


def scale_row(label, n, res, aws_per_item=None):
    cells = [label]
    a_ok = [m for m in res["awsbox"] if isinstance(m, M)]
    w_ok = aws_per_item if aws_per_item is not None else [m for m in res.get("aws", []) if isinstance(m, M)]
    per = 10 if aws_per_item is not None else n
    if a_ok and w_ok and n in (1000, 10000, 100000):
        aw, ac = med([m.wall for m in a_ok]) / n, med([m.cpu for m in a_ok]) / n
        ww, wc = med([m.wall for m in w_ok]) / per, med([m.cpu for m in w_ok]) / per
        R.sum(f"{label}: per item wall / CPU; peak RSS", f"{f_time(aw)} / {f_time(ac)}; {f_rss(med([m.rss for m in a_ok]))}",
              f"{f_time(ww)} / {f_time(wc)}; {f_rss(med([m.rss for m in w_ok]))}" +
              (" (`send-message-batch` of 10)" if aws_per_item is not None else ""),
              f"{ratio(aw, ww)} / {ratio(ac, wc)}")
    a = [m for m in res["awsbox"] if isinstance(m, M)]
    if a:
        w, c = med([m.wall for m in a]), med([m.cpu for m in a])
        cells += [spread([m.wall for m in a], f_time), spread([m.cpu for m in a], f_time),
                  spread([m.rss for m in a], f_rss), f"{f_time(w / n)} / {f_time(c / n)}"]
        SCALE_PTS.append((label, n, c / n))
    else:
        err = next((str(m) for m in res["awsbox"] if not isinstance(m, M)), "n/a")
        cells += [f"failed: {err.splitlines()[0][:60]}", "", "", ""]
    if aws_per_item is not None:
        if aws_per_item:
            w, c = med([m.wall for m in aws_per_item]) / 10, med([m.cpu for m in aws_per_item]) / 10
            cells += [f"≈ {f_time(w * n)} (extrapolated)", spread([m.rss for m in aws_per_item], f_rss),
                      f"{f_time(w)} / {f_time(c)}"]
        else:
            cells += ["failed", "", ""]
        return cells + ["–", "–"]
    w_ = [m for m in res.get("aws", []) if isinstance(m, M)]
    if "aws" not in res:
        cells += [f"not run (above BENCH_AWS_TREE_MAX={AWS_TREE_MAX})", "", ""]
    elif w_:
        w, c = med([m.wall for m in w_]), med([m.cpu for m in w_])
        cells += [spread([m.wall for m in w_], f_time), spread([m.rss for m in w_], f_rss),
                  f"{f_time(w / n)} / {f_time(c / n)}"]
    else:
        err = next((str(m) for m in res["aws"] if not isinstance(m, M)), "n/a")
        cells += [f"failed: {err.splitlines()[0][:60]}", "", ""]
    r_ = [m for m in res.get("rclone", []) if isinstance(m, M)]
    if r_:
        w, c = med([m.wall for m in r_]), med([m.cpu for m in r_])
        cells += [spread([m.wall for m in r_], f_time), f"{f_time(w / n)} / {f_time(c / n)}"]
        if a and n >= 1000:
            aw, ac = med([m.wall for m in a]), med([m.cpu for m in a])
            R.target(f"{label}: objects per second against rclone", "ahead of rclone",
                     f"{n / aw:.0f} vs {n / w:.0f} objects/s (CPU {f_time(ac / n)} vs {f_time(c / n)} per object)", aw < w)
            R.sum(f"{label}, **rclone** as the peer: objects/s; CPU per object", f"{n / aw:.0f}; {f_time(ac / n)}",
                  f"{n / w:.0f}; {f_time(c / n)}", f"{ratio(aw, w)} / {ratio(ac, c)}")
    elif "rclone" in res:
        err = next((str(m) for m in res["rclone"] if not isinstance(m, M)), "n/a")
        cells += [f"failed: {err.splitlines()[0][:60]}", ""]
    else:
        cells += ["–", "–"]
    return cells


# ---- the report -------------------------------------------------------------------------------------

def machine():
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    flags = Path("/proc/cpuinfo").read_text()
    feats = [f for f in ("aes", "pclmulqdq", "sse4_2", "avx2", "vaes", "sha_ni") if re.search(rf"\b{f}\b", flags)]
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // 1024
    osr = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    hyp = "VM" if re.search(r"\bhypervisor\b", flags) else "bare metal"
    ver = subprocess.run([str(ROOT / "awsbox"), "--version"], capture_output=True, text=True).stdout.strip().replace("\n", ", ")
    return (f"{cpu}, {E.ncpu} vCPUs ({hyp}; {', '.join(feats)}), {mem / 1024:.0f} GiB RAM, "
            f"{osr.get('PRETTY_NAME', '?').strip(chr(34))}, Linux {os.uname().release}. "
            f"awsbox: {ver}. AWS CLI: {E.aws_version} — the AWS CLI v1 (Python), as installed here. "
            f"Peers: {E.rclone_version} (Debian's package); {E.curl_version}.")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objs")
    ap.add_argument("--libs")
    ap.add_argument("--cc")
    ap.add_argument("--ldflags")
    args = ap.parse_args()
    t0 = time.monotonic()
    for need in (RUNIT, SINK):
        if not need.exists():
            sys.exit(f"bench: {need} is missing: run `make bench`")
    if os.geteuid() == 0:
        # Ahead of whatever else shares the machine (builds, fuzzers at nice 5): inherited by
        # every command and server started here.
        os.setpriority(os.PRIO_PROCESS, 0, -10)
    load0 = os.getloadavg()[0]
    setup()
    if not E.aws:
        sys.exit("bench: no `aws` on PATH: the AWS CLI is what awsbox is measured against")
    sections = [("size", lambda: sec_size(args)), ("onecall", sec_onecall), ("many", sec_many), ("sqs", sec_sqs), ("s3", sec_s3),
                ("mem", sec_mem), ("scale", sec_scale)]
    for name, fn in sections:
        if ONLY and name not in ONLY:
            continue
        try:
            fn()
        except Exception as e:  # one section's failure must not hide the others' numbers
            R.add(f"({name}: failed: {type(e).__name__}: {e})", "")
            log(f"{name} failed: {type(e).__name__}: {e}")
    elapsed = time.monotonic() - t0
    load1 = os.getloadavg()[0]
    busy = ""
    if load0 > 0.7:
        busy = (f"**The machine was not idle** (load average {load0:.1f} when the bench started, {load1:.1f} at the "
                "end, from other work): wall times and rates are pessimistic; CPU times and peak RSS are each "
                "process's own and hold better. ")
    head = ["## Performance", "",
            f"Machine: {machine()}", "", busy + f"Every command and server ran at nice {os.getpriority(os.PRIO_PROCESS, 0)}.", "",
            "Reproduce: `make bench` (about {:.0f} minutes here; `BENCH_RUNS`, `BENCH_XFER_RUNS`, `BENCH_SIZE_MIB`, "
            "`BENCH_TREE_SIZES`, `BENCH_ONLY=size,onecall,many,sqs,s3,mem,scale` adjust it). Every tool runs in the "
            "same session against the same local servers on 127.0.0.1, with the same credentials, region and CA bundle; the AWS CLI is run "
            "as its Python entry point (not the pyenv shim).".format(elapsed / 60), ""]
    tg = ["### Targets", "", "| figure | target | measured | met |", "|---|---|---|---|"]
    for fig, target, meas, met, note in R.targets:
        mark = met if isinstance(met, str) else "yes" if met else ("no" if met is False else "–")
        tg.append(f"| {fig} | {target} | {meas} | {mark}{' — ' + note if note else ''} |")
    tg.append("")
    text = "\n".join(head + R.lines + tg) + "\n"
    short = head + ["| figure | awsbox | peer: AWS CLI v1 unless named | peer ÷ awsbox |", "|---|--:|--:|--:|"]
    short += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in R.summary]
    short += ["", "Medians; ratios are how many times the peer's figure is awsbox's (for MB/s and objects/s: "
              "awsbox's over the peer's). The full report, with spreads, the size breakdown, the sink's own figures and "
              "the speed of each primitive, is `build/bench/results.md`.", ""] + tg
    if R.size_table:
        short += ["### Binary size by part", "", f"`./awsbox` is {(ROOT / 'awsbox').stat().st_size:,} bytes; "
                  "from the link map of the same objects (`-Wl,-Map`):", ""] + R.size_table + [""]
    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    (OUT_PATH.parent / "readme.md").write_text("\n".join(short) + "\n")
    print(text)
    OUT_PATH.write_text(text)
    (OUT_PATH.parent / "results.json").write_text(json.dumps(R.raw, indent=1, default=str))
    log(f"done in {elapsed:.0f} s; report in {OUT_PATH}")


if __name__ == "__main__":
    main()
