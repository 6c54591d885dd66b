"""Statistics and formatting of the figures, and the report the sections add to (R)."""
import statistics

from .measure import MIB


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
