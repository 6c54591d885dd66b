"""Draining a queue: sqsrecv against the AWS CLI's receive + delete loop, on the stand-in."""
from .env import E, aws_cmd, awsbox_cmd, have, start_standin
from .measure import RUNS, M, Failed, knob, log, measure, pin
from .report import R, f_rss, f_time, med, ratio, spread, vars_m


# ---- draining a queue ------------------------------------------------------------------------------

SQS_N = knob("BENCH_SQS_MESSAGES", 5000)
SQS_EXEC_N = knob("BENCH_SQS_EXEC_MESSAGES", 1000)
SQS_AWS_N = knob("BENCH_SQS_AWS_MESSAGES", 5)


def sec_sqs():
    """Messages per second drained: sqsrecv (plain, and --exec true) against the AWS CLI's
    receive-message + delete-message loop, on the stand-in's storage-less queue over HTTPS."""
    cpus = E.client_cpus
    s = start_standin()
    pin(s.proc.pid, cpus)
    R.add("### Draining a queue", "")
    if not have("sqsrecv"):
        R.add("(sqsrecv: applet missing)", "")
        return
    qurl = f"{s.https}/123456789012/bench-q"
    rows, raw = [], {}

    def drain(label, n, extra):
        A = []
        for r in range(RUNS + 1):  # run 0 warms up
            s.ctl.fill(n)
            s.ctl.reset()
            log(f"sqs: {label}, run {r}")
            m = measure(*awsbox_cmd("sqsrecv", "--endpoint-url", s.https, "--drain", qurl, *extra), E.env,
                        stdout="drain", cpus=cpus)
            st = s.ctl.stats()
            if st["ops"].get("ReceiveMessage", 0) < n // 10:
                raise Failed(f"sqsrecv made {st['ops']} for {n} messages")
            if r:
                A.append(m)
        rate = n / med([m.wall for m in A])
        rows.append([label, f"{n:,}", f"{rate:,.0f}", spread([m.wall for m in A], f_time),
                     spread([m.cpu / n for m in A], f_time), spread([m.rss for m in A], f_rss), ", ".join(
                         f"{k} {v}" for k, v in sorted(st["ops"].items()))])
        raw[label] = {"n": n, "ops": st["ops"], "runs": [vars_m(m) for m in A]}
        return rate, A

    try:
        plain, _ = drain("`sqsrecv --drain Q` (to stdout)", SQS_N, [])
        ex, _ = drain("`sqsrecv --drain Q --exec -- true`", SQS_EXEC_N, ["--exec", "--", "true"])
        ex4, _ = drain("`sqsrecv -j 4 --drain Q --exec -- true`", SQS_EXEC_N, ["-j", "4", "--exec", "--", "true"])
        # the AWS CLI: a shell loop of receive-message and delete-message, one message each
        W = []
        s.ctl.fill(10 * SQS_AWS_N)
        for i in range(SQS_AWS_N + 1):
            log(f"sqs: aws loop, message {i}")
            a = measure(*aws_cmd(s.https, "sqs", "receive-message", "--queue-url", qurl, "--query",
                                 "Messages[0].ReceiptHandle", "--output", "text"), E.env, cpus=cpus)
            rh = a.out.decode().strip()
            if not rh.startswith("rh-"):
                raise Failed(f"aws sqs receive-message printed {rh[:80]!r}")
            b = measure(*aws_cmd(s.https, "sqs", "delete-message", "--queue-url", qurl, "--receipt-handle", rh),
                        E.env, cpus=cpus)
            if i:  # the first warms up
                W.append(M(a.wall + b.wall, a.user + b.user, a.sys + b.sys, max(a.rss, b.rss), 0, 0))
        aws_rate = 1 / med([m.wall for m in W])
        rows.append(["AWS CLI: `receive-message` + `delete-message` per message", f"{SQS_AWS_N}", f"{aws_rate:,.1f}",
                     spread([m.wall for m in W], f_time) + " a message", spread([m.cpu for m in W], f_time),
                     spread([m.rss for m in W], f_rss), "2 processes a message"])
        raw["aws"] = {"runs": [vars_m(m) for m in W]}
    except Failed as e:
        R.add(f"(sqs: failed: {str(e).splitlines()[0][:200]})", "")
        return
    R.table(["what", "messages", "messages/s", "wall", "CPU a message", "peak RSS", "requests"], rows)
    R.add("Against the stand-in's queue over HTTPS (no storage: it makes up each message it hands out and "
          "accepts every delete, so the rates are the clients' own; moto, which answers every request "
          "with `Connection: close` and scans its queue for each receive, would measure itself). "
          f"Median of {RUNS} runs. `--drain` ends with one receive that finds nothing (the stand-in answers it "
          "at once). The AWS CLI loop is what a script without sqsrecv does: `aws sqs receive-message` "
          "then `aws sqs delete-message` with its receipt handle, per message.", "")
    R.sum("drain a queue to stdout: messages/s", f"{plain:,.0f}", f"{aws_rate:,.1f}", ratio(aws_rate, plain))
    R.sum("drain with `--exec -- true` (-j 1 / -j 4): messages/s", f"{ex:,.0f} / {ex4:,.0f}", f"{aws_rate:,.1f}",
          ratio(aws_rate, ex))
    R.raw["sqs"] = raw
