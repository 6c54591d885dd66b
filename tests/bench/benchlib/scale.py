"""Scaling: `s3cp -r` trees against the AWS CLI and rclone; `sqssend --lines` against
send-message-batch."""
import os
import shutil

from .env import E, aws_cmd, awsbox_cmd, have, start_sink, start_standin, tool_cmd
from .measure import AWS_TREE_MAX, SCALE_RUNS, TREE_SIZES, M, Failed, log, measure, pin
from .report import R, f_rss, f_time, med, ratio, spread, vars_m


# ---- scaling ----------------------------------------------------------------------------------------

def sec_scale():
    cpus = E.client_cpus
    R.add("### Scaling", "")
    rows, raw = [], {}
    scale_trees(cpus, rows, raw)
    scale_sqssend(cpus, rows, raw)
    R.add(f"HTTPS, client and server on one CPU, median of {SCALE_RUNS} runs. Per item = wall or CPU ÷ items. "
          "`aws s3 cp --recursive` is the AWS CLI's equivalent of `s3cp -r`, and `rclone copy` rclone's (with `--fast-list`, as for all of rclone's runs here) "
          "(each upload to a prefix of its own, so rclone finds nothing to skip; the sink drops each size's objects before the next); the tools' order rotates; the AWS CLI has nothing that streams "
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


def scale_trees(cpus, rows, raw):
    """`s3cp -r` up and down, a tree of each size in TREE_SIZES, against the AWS CLI and rclone."""
    if not have("s3cp"):
        rows.append(["`s3cp -r`", "n/a (applet missing)"] + [""] * 8)
        return
    sink = start_sink()
    pin(sink.proc.pid, cpus)  # request/response: one CPU, as for one call
    tools = ["awsbox", "aws"] + (["rclone"] if E.rclone else [])
    for n in TREE_SIZES:
        tree = make_tree(n)
        for direction in ("up", "down"):
            these = [t for t in tools if t != "aws" or n <= AWS_TREE_MAX]
            res = {t: [] for t in these}
            for run in range(SCALE_RUNS):
                for tool in these[run % len(these):] + these[:run % len(these)]:
                    log(f"scaling: s3cp -r {direction} {n} objects, {tool}, run {run + 1}")
                    try:
                        res[tool].append(tree_copy(sink, tool, direction, n, run, tree, cpus))
                    except Failed as e:
                        res[tool].append(e)
            rows.append(scale_row(f"`s3cp -r` {direction}, {n:,} × 1 KiB", n, res))
            raw[f"s3cp-r/{direction}/{n}"] = {t: [vars_m(m) for m in v if isinstance(m, M)] for t, v in res.items()}
        # this size's objects go (every tool's, every run's): the next size starts from an empty bucket
        sink.ctl.drop("bench", f"tree-{n}-")
        shutil.rmtree(tree, True)
    pin(sink.proc.pid, E.server_cpus)


def make_tree(n):
    """n files of 1 KiB, 100 to a directory."""
    tree = E.work / f"tree-{n}"
    for i in range(n):
        p = tree / f"d{i // 100:03d}" / f"f{i:05d}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x" * 1024)
    return tree


def tree_copy(sink, tool, direction, n, run, tree, cpus):
    """One measured `s3cp -r` (or the peer's copy) of the tree up, or of the first run's upload down;
    a download's file count is checked."""
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
    shutil.rmtree(out, True)  # nothing left from a failed run
    m = measure(exe, argv, env, cpus=cpus, timeout=1800)
    if direction == "down":
        got = sum(len(f) for _, _, f in os.walk(out))
        shutil.rmtree(out, True)
        if got != n:
            raise Failed(f"{got} files downloaded, not {n}")
    return m


def scale_sqssend(cpus, rows, raw):
    """`sqssend --lines` of 1,000 to 100,000 lines, against `aws sqs send-message-batch`."""
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
