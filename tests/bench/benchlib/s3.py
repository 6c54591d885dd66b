"""S3 throughput: 1 GiB up and down, file and stream, over HTTP and HTTPS, against the sink; the
sink alone with curl; the ceilings of the primitives and of loopback TCP."""
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from .env import E, awsbox_cmd, have, sink_req, start_sink, tool_cmd
from .measure import BUILD, GIB, MIB, SIZE, XFER_RUNS, Failed, busy, log, measure, pin, proc_cpu
from .report import R, f_cpg, f_rate, f_rss, med, ratio, spread, vars_m


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


def sink_and_source():
    """The sink, pinned to the server's CPU, and the source file of SIZE bytes in tmpfs (made, and
    tmpfs warmed, when it is missing or of another size): what every section that moves data starts with."""
    sink = start_sink()
    pin(sink.proc.pid, E.server_cpus)
    src = E.work / "src"
    if not src.exists() or src.stat().st_size != SIZE:
        log(f"making a {SIZE // MIB} MiB source file and warming tmpfs")
        make_source(src, SIZE)
        warm_tmpfs(2 * SIZE)
    return sink, src


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

    row("TLS record cipher (16 KiB records)", "AES-128-GCM (awsbox's CTR and GHASH in BearSSL's GCM)",
        got.get("awsbox-aes128-gcm"), "OpenSSL AES-256-GCM (TLS 1.3)", ossl("aes-256-gcm", 16384))
    row("", "AES-256-GCM (the same)", got.get("awsbox-aes256-gcm"), "OpenSSL AES-128-GCM", ossl("aes-128-gcm", 16384))
    row("", "AES-128-GCM, BearSSL's own (AES-NI, br_ghash_pclmul)", got.get("bearssl-aes128-gcm"), "", None)
    row("its parts", "AES-128-CTR: awsbox's (core/wire/aesctr.c, VAES where present; what TLS uses)",
        got.get("awsbox-aes128-ctr"), "", None)
    row("", "AES-128-CTR: BearSSL's (AES-NI)", got.get("bearssl-aes128-ctr"), "", None)
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
    sink, src = sink_and_source()
    # the object every download reads: uploaded by awsbox over HTTPS (CRC32C, composite, 8 MiB parts)
    measure(*awsbox_cmd("s3cp", "--endpoint-url", sink.https, str(src), "s3://bench/dl"), E.env, stdout="null")
    log("S3: the sink alone, with curl")
    alone = sink_alone(src, E.client_cpus)
    tools = ["awsbox", "awsbox-c1", "aws"] + (["rclone"] if E.rclone else [])
    res, ciphers = s3_runs(sink, src, tools)
    E.s3res = res
    rows, crows, raw, s3t = [], [], {}, {}
    for scheme in ("http", "https"):
        for kind, label in KINDS:
            rows.append(s3_row(res, scheme, kind, label, tools, raw, crows, s3t))
    for scheme, items in s3t.items():
        R.target(f"S3 CPU per GiB, {scheme.upper()}: aws ÷ awsbox", "≥ 5×",
                 ", ".join(f"{lbl} {wc / ac:.1f}× ({ac:.2f} vs {wc:.2f} s)" for lbl, ac, wc in items),
                 all(wc / ac >= 5 for _, ac, wc in items))
    s3_tables(rows, crows, ciphers, alone)
    log("S3: ceilings of the primitives and of loopback TCP")
    crow, tcp = ceilings()
    s3_ceiling_tables(crow, tcp)
    R.raw["s3"] = raw
    R.raw["ceilings"] = {"rows": crow, "tcp": tcp}


KINDS = [("up", f"file → S3 ({SIZE // MIB} MiB)"), ("down", "S3 → file"), ("sup", "stdin → S3"),
         ("sdown", "S3 → stdout")]


def s3_runs(sink, src, tools):
    """XFER_RUNS of every transfer by every tool, the tools' order rotated from run to run:
    {(scheme, kind, tool): [(M, sink CPU, sink stats) or the Failed]}, and the TLS ciphers seen."""
    res, ciphers = {}, {}
    for run in range(XFER_RUNS):
        for scheme in ("http", "https"):
            url = sink.https if scheme == "https" else sink.http
            for kind, _ in KINDS:
                order = [t for t in tools if t != "awsbox-c1" or kind in ("down", "sdown")]
                order = order[run % len(order):] + order[:run % len(order)]  # rotated: no tool always first
                for tool in order:
                    log(f"S3 run {run + 1}/{XFER_RUNS}: {tool} {kind} over {scheme}")
                    sink.ctl.reset()
                    try:
                        m, scpu = s3_transfer(tool, kind, url, "dl" if kind in ("down", "sdown") else "up", SIZE, run,
                                              E.client_cpus, src)
                    except Failed as e:
                        res.setdefault((scheme, kind, tool), []).append(e)
                        log(f"  failed: {e}")
                        continue
                    st = sink.ctl.stats()
                    if scheme == "https":
                        ciphers.setdefault(tool, set()).update(st["ciphers"])
                    res.setdefault((scheme, kind, tool), []).append((m, scpu, st))
    return res, ciphers


def ok_of(res, scheme, kind, tool):
    return [x for x in res.get((scheme, kind, tool), []) if not isinstance(x, Exception)]


def rate(ok):
    return [SIZE / m.wall / 1e6 for m, _, _ in ok]


def cpg(ok):
    return [m.cpu / (SIZE / GIB) for m, _, _ in ok]


def fail(res, scheme, kind, tool):
    bad = [x for x in res.get((scheme, kind, tool), []) if isinstance(x, Exception)]
    return f"failed: {str(bad[0]).splitlines()[0][:50]}" if bad else "n/a"


def s3_row(res, scheme, kind, label, tools, raw, crows, s3t):
    """The table's row of one transfer; its summary rows and targets (crows, s3t: the concurrency
    table's rows and the AWS CLI ratios, filled for the caller)."""
    gib = SIZE / GIB
    ok = {t: ok_of(res, scheme, kind, t) for t in tools}
    for t in tools:
        if ok[t] or res.get((scheme, kind, t)):
            raw[f"{scheme}/{kind}/{t}"] = [dict(vars_m(m), sink_cpu=c, others=m.others) for m, c, _ in ok[t]]
    a_ok, w_ok, r_ok = ok["awsbox"], ok["aws"], ok.get("rclone", [])
    cells = [label, scheme.upper()]
    cells += [spread(rate(a_ok), f_rate) if a_ok else fail(res, scheme, kind, "awsbox"),
              spread(cpg(a_ok), f_cpg) if a_ok else "",
              f_cpg(med([m.user / gib for m, _, _ in a_ok])) if a_ok else "",
              spread([m.rss for m, _, _ in a_ok], f_rss) if a_ok else ""]
    for t, o in (("aws", w_ok), ("rclone", r_ok)):
        if t == "rclone" and not E.rclone:
            cells += ["not installed", "", ""]
            continue
        cells += [spread(rate(o), f_rate) if o else fail(res, scheme, kind, t), spread(cpg(o), f_cpg) if o else "",
                  ratio(med(cpg(a_ok)), med(cpg(o))) if a_ok and o else "n/a"]
    cells += [" / ".join(f"{med([c / gib for _, c, _ in o]):.2f}" if o else "–" for o in (a_ok, w_ok, r_ok)),
              f"{100 * max(m.others for m, _, _ in a_ok + w_ok + r_ok):.0f}%" if a_ok + w_ok + r_ok else ""]
    short = label.split(" (")[0]
    if a_ok and w_ok:
        ac, wc = med(cpg(a_ok)), med(cpg(w_ok))
        s3t.setdefault(scheme, []).append((short, ac, wc))
        R.sum(f"S3 {short}, {SIZE // MIB} MiB, {scheme.upper()}: MB/s / CPU s per GiB / peak RSS",
              f"{med(rate(a_ok)):.0f} / {ac:.2f} / {f_rss(med([m.rss for m, _, _ in a_ok]))}",
              f"{med(rate(w_ok)):.0f} / {wc:.2f} / {f_rss(med([m.rss for m, _, _ in w_ok]))}",
              f"{ratio(med(rate(w_ok)), med(rate(a_ok)))} / {ratio(ac, wc)} / "
              f"{ratio(med([m.rss for m, _, _ in a_ok]), med([m.rss for m, _, _ in w_ok]))}")
    s3_peer_rows(scheme, kind, label, short, a_ok, r_ok, ok.get("awsbox-c1", []), crows)
    return cells


def s3_peer_rows(scheme, kind, label, short, a_ok, r_ok, c1, crows):
    """The rows and targets of one transfer against rclone and against `--concurrency 1`."""
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


def s3_tables(rows, crows, ciphers, alone):
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


def s3_ceiling_tables(crow, tcp):
    R.add("What the machine allows, one core each (MB/s and the CPU seconds per GiB it costs): the primitives "
          "as each tool uses them (awsbox: the BearSSL it links, built `-Os` by scripts/bearssl, and core/base/sum.c, "
          "measured by `tests/bench/primspeed`; aws: `openssl speed` and Python's zlib/hashlib), and loopback TCP.", "")
    R.table(["work", "awsbox uses", "MB/s", "s/GiB", "aws uses", "MB/s", "s/GiB"], crow)
    if tcp:
        R.add("Loopback TCP alone (Python sockets, 1 GiB, best of 3): " + "; ".join(
            f"{bs // 1024} KiB writes {'on one CPU' if same else 'across the two CPUs'}: {v:.0f} MB/s"
            for bs, same, v in tcp) + ". On this VM a wake-up across CPUs is slow, so a sender and a receiver on "
            "different CPUs leave both partly idle.", "")
