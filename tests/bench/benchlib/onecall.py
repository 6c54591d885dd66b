"""Start-up and one call: awsbox's applets against the AWS CLI on moto and the stand-in, and
awsid against curl --aws-sigv4 (the floor of one call; HTTPS minus HTTP is the TLS handshake)."""
from .env import E, aws_cmd, awsbox_cmd, have, start_standin
from .measure import REGION, RUNS, ROOT, M, Failed, harness, log, measure, pin
from .report import HDR3, R, f_rss, f_time, med, ratio, row3, vars_m


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
    onecall_floor(s, cpus)
    R.add("`sqssend Q BODY` is given the queue's name and makes two requests (GetQueueUrl, SendMessage); "
          "`sqssend URL BODY` and `aws` are given the queue URL and make one. `ssmget NAME` is one GetParameters "
          "request; `aws` sends GetParameter.", "")
    for n in notes:
        R.add(f"- note: {n}")
    if notes:
        R.add("")
    R.raw.setdefault("onecall", {}).update({"startup": {"awsbox": [vars_m(x) for x in start[0]], "aws": [vars_m(x) for x in start[1]]},
                        "moto": raw1, "standin": raw2})
    onecall_summary(start, raw1, raw2)
    onecall_targets(raw1, raw2)


def onecall_floor(s, cpus):
    """The table, summary rows and handshake target of awsid against curl --aws-sigv4."""
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


def triple(ms):
    return (f"{f_time(med([m.wall for m in ms]))} / {f_time(med([m.cpu for m in ms]))} / "
            f"{f_rss(med([m.rss for m in ms]))}")


def ratios(a, w):
    return " / ".join(ratio(med([getattr(m, k) for m in a]), med([getattr(m, k) for m in w]))
                      for k in ("wall", "cpu", "rss"))


def onecall_summary(start, raw1, raw2):
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


def onecall_targets(raw1, raw2):
    """One row per server and figure, every command in it."""
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
