"""Binary size: the stripped binary, and what each part of it weighs (from a relink's map)."""
import glob
import os
import re
import subprocess
import sys
from pathlib import Path

from .env import E
from .measure import BUILD, ROOT, log
from .report import R


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


def relink(args, out, *extra, strip=True):
    """Links awsbox again from make's objects (args: --cc, --ldflags, --objs, --libs) into out."""
    objs = args.objs.split() if args.objs else None
    if not objs:
        core = sorted(glob.glob(str(ROOT / "build/obj/core/*/*.o")))
        objs = core + \
            sorted(glob.glob(str(ROOT / "build/obj/applets/*.o"))) + [str(ROOT / "build/obj/ta.o")]
        objs = [os.path.relpath(o, ROOT) for o in objs]
    libs = (args.libs or "build/bearssl-musl/libbearssl.a -lpthread").split()
    ldflags = [f for f in (args.ldflags or "-static -s -Wl,--gc-sections").split() if strip or f != "-s"]
    return subprocess.run([args.cc or "musl-gcc", *ldflags, *extra, "-o", str(out), *objs, *libs],
                          cwd=ROOT, capture_output=True, text=True)


def sec_size(args):
    log("binary size")
    exe = ROOT / "awsbox"
    size = exe.stat().st_size
    R.add("### Binary size", "")
    mapf, relinked = BUILD / "awsbox.map", BUILD / "awsbox-map"
    p = relink(args, relinked, f"-Wl,-Map={mapf}")
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
