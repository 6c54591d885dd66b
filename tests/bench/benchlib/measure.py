"""Measuring one command under runit: wall, CPU (user+sys from wait4) and peak RSS; the knobs,
paths and constants every section shares; pinning and the machine's and a process's CPU."""
import fcntl
import os
import signal
import sys
import threading
import time
from pathlib import Path


HERE = Path(__file__).resolve().parent.parent  # tests/bench
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
# The AWS CLI's largest tree (about 6 ms an object here: its 10,000-object runs take minutes).
AWS_TREE_MAX = knob("BENCH_AWS_TREE_MAX", 10000)
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
