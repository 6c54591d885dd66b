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
BENCH_TREE_SIZES (1,100,1000,10000: the `s3cp -r` trees, files of 1 KiB), BENCH_AWS_TREE_MAX (10000: the
AWS CLI's largest tree),
BENCH_TLS_ROUNDS (7: HTTPS against the cipher's floor, benchlib/tls.py),
BENCH_ONLY (comma list of: size,onecall,many,sqs,s3,tls,mem,scale), BENCH_OUT (build/bench/results.md).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from benchlib.env import E, setup
from benchlib.many import sec_many
from benchlib.measure import ONLY, OUT_PATH, ROOT, RUNIT, SINK, log
from benchlib.mem import sec_mem
from benchlib.onecall import sec_onecall
from benchlib.report import R
from benchlib.s3 import sec_s3
from benchlib.scale import sec_scale
from benchlib.size import sec_size
from benchlib.sqs import sec_sqs
from benchlib.tls import sec_tls


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
                ("tls", lambda: sec_tls(args)), ("mem", sec_mem), ("scale", sec_scale)]
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
            "`BENCH_TREE_SIZES`, `BENCH_ONLY=size,onecall,many,sqs,s3,tls,mem,scale` adjust it). Every tool runs in the "
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
