"""The memory bound: streaming to and from S3 stays within concurrency x part size."""
from .env import E, aws_cmd, awsbox_cmd, have, sink_req
from .measure import MIB, STREAM, Failed, log, measure
from .report import R, f_rss, ratio, vars_m
from .s3 import s3_transfer, sink_and_source


def sec_mem():
    if not have("s3cp"):
        R.add("### Memory bound", "", "n/a (applet missing)", "")
        return
    sink, src = sink_and_source()
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
