"""make bench's "tls" section: awsbox's user CPU per GiB for S3 uploads and downloads
over HTTPS against the cipher's own cost on the same CPU (issue 18: within 1.25x).

On a shared 2-vCPU machine a ratio of two figures taken minutes apart means little, so the two are
taken side by side: BENCH_TLS_ROUNDS rounds (7), each the floor then an upload and a download of
BENCH_SIZE_MIB, the transfer's order alternating from round to round, all pinned to the same CPU;
medians of each, and the ratio of the medians.
- The floor: `primspeed --hot` (AES-128-CTR and GHASH as TLS uses them, on 16 KiB records of a 1 MiB
  buffer in cache, where a record is when the cipher runs), timed by the thread's own CPU clock, so
  a pass that other work preempts is not counted slower. Beside it BearSSL's own pair (its AES-NI
  CTR and br_ghash_pclmul), the cost issue 18 was written against.
- The transfer: user time from wait4. The kernel splits a process's CPU time into user and system
  by its timer ticks (CONFIG_HZ, 250 here), so one run's user time is off by a few hundredths of a
  second: medians over the rounds, not minima (the smallest user time is a lucky split, not a
  quiet run). user+sys is exact and shown beside it.
Then, where perf(1) is installed, one more upload and download of an unstripped awsbox (relinked
from make's objects) under `perf record -e cpu-clock:u`: the share of user time inside AES-CTR and
GHASH in that same run gives a second ratio that other load cannot skew (it divides like by
like), and the functions that make up the rest.
"""
import re
import shutil
import subprocess

from .env import E, awsbox_cmd, have, sink_req
from .measure import BUILD, GIB, MIB, SIZE, knob, log, measure
from .report import R, med
from .s3 import s3_transfer, sink_and_source
from .size import relink

# The cipher's functions in a profile: awsbox's AES-CTR (core/wire/aesctr.c, VAES) or BearSSL's AES-NI one,
# awsbox's GHASH (core/wire/ghash.c: the eight-block or the 512-bit variant) or BearSSL's.
CIPHER = {"vaes_run", "vaes2_run", "br_aes_x86ni_ctr_run", "ghash_clmul", "ghash_wide", "br_ghash_pclmul"}

ROUNDS = knob("BENCH_TLS_ROUNDS", 7)


def sec_tls(args):
    if not have("s3cp"):
        R.add("### HTTPS against the cipher's floor", "", "n/a (applet missing)", "")
        return
    sink, src = sink_and_source()
    cpu = min(E.client_cpus)
    measure(*awsbox_cmd("s3cp", "--endpoint-url", sink.https, str(src), "s3://bench/tls-dl"), E.env, stdout="null",
            cpus={cpu})
    got = rounds(sink, src, cpu)
    prof = profile(args, sink, src, cpu)
    sink_req("DELETE", "/bench/tls-dl")
    report(got, prof)


def rounds(sink, src, cpu):
    """ROUNDS rounds of the floor, an upload and a download: per-GiB figures in lists."""
    got = {"floor": [], "bearssl": [], "gcm": [], "ciphers": set()}
    for kind in ("up", "down"):
        got[kind] = {"user": [], "cpu": [], "others": []}
    prim = [str(BUILD / "primspeed"), "--hot", "1024", "awsbox-aes128-ctr", "awsbox-ghash", "awsbox-aes128-gcm",
            "bearssl-aes128-ctr", "bearssl-ghash"]
    for r in range(ROUNDS):
        log(f"TLS floor round {r + 1}/{ROUNDS}")
        out = subprocess.run(["taskset", "-c", str(cpu), *prim], capture_output=True, text=True, check=True).stdout
        speed = {k: GIB / (float(v) * 1e6) for k, v in (ln.split() for ln in out.splitlines() if len(ln.split()) == 2)}
        got["floor"].append(speed["awsbox-aes128-ctr"] + speed["awsbox-ghash"])
        got["bearssl"].append(speed["bearssl-aes128-ctr"] + speed["bearssl-ghash"])
        got["gcm"].append(speed["awsbox-aes128-gcm"])
        for kind in ("up", "down") if r % 2 == 0 else ("down", "up"):
            sink.ctl.reset()
            m, _ = s3_transfer("awsbox", kind, sink.https, "tls-dl" if kind == "down" else "tls-up", SIZE, r, {cpu},
                               src)
            got["ciphers"].update(sink.ctl.stats()["ciphers"])
            got[kind]["user"].append(m.user / (SIZE / GIB))
            got[kind]["cpu"].append(m.cpu / (SIZE / GIB))
            got[kind]["others"].append(m.others)
    return got


def report(got, prof):
    fl, bfl, rows = med(got["floor"]), med(got["bearssl"]), []
    for kind, label in (("up", "file → S3, HTTPS"), ("down", "S3 → file, HTTPS")):
        k = got[kind]
        u = med(k["user"])
        per = [x / f for x, f in zip(k["user"], got["floor"])]
        rows.append([label, f"{u:.3f} ({min(k['user']):.3f}–{max(k['user']):.3f})", f"{med(k['cpu']):.3f}",
                     f"{fl:.3f}", f"{u / fl:.2f}×", f"{min(per):.2f}–{max(per):.2f}×", f"{u / bfl:.2f}×",
                     f"{100 * max(k['others']):.0f}%"])
        note = f"other load up to {100 * max(k['others']):.0f}%"
        if kind in prof:
            note += (f"; user time ÷ its own AES-CTR + GHASH in a profiled run: {prof[kind][1]} (the rest: "
                     f"{', '.join(prof[kind][2][:4])}; % of user time)")
        R.target(f"S3 HTTPS {'upload' if kind == 'up' else 'download'}: awsbox user CPU per GiB ÷ the cipher's own "
                 "(AES-128-CTR + GHASH on 16 KiB records in cache, primspeed; medians of rounds taken side by side)",
                 "≤ 1.25×", f"{u / fl:.2f}× ({u:.3f} vs {fl:.3f} s/GiB)", u / fl <= 1.25, note)
    R.add("### HTTPS against the cipher's floor", "")
    R.add(f"awsbox's user CPU per GiB ({SIZE // MIB} MiB over HTTPS to the sink) against the cost of the "
          "cipher alone on the same CPU: AES-128-CTR + GHASH as TLS uses them, on 16 KiB records in cache, timed by "
          f"`primspeed --hot` on the thread's CPU clock. {ROUNDS} rounds side by side, each the floor then an upload "
          "and a download (order alternating), all pinned to one CPU; medians (min–max). User time is the kernel's "
          "tick-sampled split of the exact user+sys, hence medians. Other work on the machine (*other load*, as in the "
          "S3 table) slows the transfer, which goes through memory, more than the floor, which stays in cache: a "
          "loaded run's ratio is an upper bound. Negotiated: "
          f"{', '.join(sorted(got['ciphers'])) or '?'}; the floor's AES-128-GCM pass as one: "
          f"{med(got['gcm']):.3f} s/GiB. The floor is awsbox's AES-CTR (VAES where the CPU has it) and GHASH; "
          f"BearSSL's own (its AES-NI CTR + br_ghash_pclmul, what issue 18 was measured against): {bfl:.3f} s/GiB.", "")
    R.table(["transfer", "user s/GiB", "user+sys s/GiB", "floor s/GiB", "user ÷ floor", "per round",
             "user ÷ BearSSL's", "other load"], rows)
    R.raw["tls"] = dict(got, ciphers=sorted(got["ciphers"]), profile=prof)
    if prof:
        R.add("Profile of awsbox's user time in one more transfer each way (`perf record -e cpu-clock:u`, 10 kHz, "
              "awsbox relinked unstripped from the same objects): the share inside AES-CTR and GHASH, user time ÷ that "
              "share's time (like divided by like in one run, so other load does not skew it), and the functions "
              "taking the rest, in % of user time (sccp: musl's system call, the return from the kernel).", "")
        R.table(["transfer", "AES-CTR + GHASH", "user ÷ cipher (same run)", "the rest, by function"],
                [[label, *prof[kind][:2], ", ".join(prof[kind][2])] for kind, label in
                 (("up", "file → S3, HTTPS"), ("down", "S3 → file, HTTPS")) if kind in prof])


def profile(args, sink, src, cpu):
    """kind: (cipher's share, user ÷ cipher, the rest by function) of one upload and one download under perf;
    {} without perf."""
    perf = shutil.which("perf")
    exe, bindir = BUILD / "awsbox-sym", BUILD / "sym-bin"
    if not perf or subprocess.run([perf, "stat", "-e", "cpu-clock:u", "true"], capture_output=True).returncode:
        return {}
    if relink(args, exe, strip=False).returncode:
        return {}
    shutil.rmtree(bindir, ignore_errors=True)
    bindir.mkdir()
    subprocess.run([str(exe), "--install", str(bindir), str(exe)], check=True, capture_output=True)
    prof = {}
    for kind, a, b in (("up", str(src), "s3://bench/tls-prof"), ("down", "s3://bench/tls-dl", str(E.work / "tls-prof"))):
        log(f"TLS floor: profile of the {kind}load")
        data = BUILD / f"tls-{kind}.perf"
        sink.ctl.reset()
        measure(perf, ["perf", "record", "-q", "-o", str(data), "-e", "cpu-clock:u", "-c", "100000", "--",
                       str(bindir / "s3cp"), "--endpoint-url", sink.https, a, b], E.env, stdout="null", cpus={cpu})
        rep = subprocess.run([perf, "report", "-i", str(data), "--stdio", "--no-children", "--sort", "sym"],
                             capture_output=True, text=True).stdout
        got = [(float(m[1]), m[2]) for m in re.finditer(r"^\s*([\d.]+)%\s+\[\.\]\s+(\S+)", rep, re.M)]
        share = sum(pct for pct, sym in got if sym in CIPHER)
        if share:
            prof[kind] = (f"{share:.1f}%", f"{100 / share:.2f}×",
                          [f"{sym} {pct:.1f}" for pct, sym in got if sym not in CIPHER][:8])
    (E.work / "tls-prof").unlink(missing_ok=True)
    sink_req("DELETE", "/bench/tls-prof")
    return prof
