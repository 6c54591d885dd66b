"""Many calls in one process: one connection reused, against the AWS CLI's processes."""
from .env import E, aws_cmd, awsbox_cmd, have, start_standin
from .measure import MANY_RUNS, M, Failed, log, measure, pin
from .report import R, f_rss, f_time, med, ratio, spread, vars_m


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
