#!/usr/bin/env python3
"""valgrind.py — valgrind memcheck on a representative call of each applet, against moto and the
verifying front of tests/integration/harness.py (https://valgrind.org/docs/manual/mc-manual.html).

Usage: AWSBOX_BIN=build/valgrind/awsbox valgrind.py [APPLET...]      (make valgrind builds it)
Every applet that `awsbox --list` prints runs its calls from CALLS under
  valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99
and must exit as the table says, with no memcheck error (reads of uninitialised or freed memory,
bad frees, definite leaks). A listed applet without an entry runs --help only, and says so; an
entry whose applet is not listed (yet) is skipped, and says so. Logs: build/valgrind/logs/.
Exits 1 if any call failed.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
import harness  # noqa: E402  (reads AWSBOX_BIN)

VALGRIND = ["valgrind", "--tool=memcheck", "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite", "--error-exitcode=99", "--track-origins=yes", "--num-callers=30"]
LOGS = harness.ROOT / "build" / "valgrind" / "logs"
P = "/memcheck"  # every fixture lives under this name ("/aws..." names are reserved in SSM)
BUCKET = "awsbox-vg"


def fixtures():
    """Creates what the calls read, once (idempotent: moto keeps it for the session)."""
    ssm = harness.client("ssm")
    ssm.put_parameter(Name=f"{P}/db-url", Value="postgres://db:5432/app", Type="String", Overwrite=True)
    ssm.put_parameter(Name=f"{P}/key", Value="s3cr\u00e9t", Type="SecureString", Overwrite=True)
    sm = harness.client("secretsmanager")
    try:
        sm.create_secret(Name=f"{P[1:]}/db", SecretString='{"user":"app","pass":{"x":["a","b"]}}')
    except sm.exceptions.ResourceExistsException:
        pass
    sqs = harness.client("sqs")
    sqs.create_queue(QueueName="awsbox-vg")
    s3 = harness.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="in/data.csv", Body=b"a,b\n1,2\n" * 1000)
    if not harness.S.temp.get("vg-fn"):
        harness.S.temp["vg-fn"] = harness.create_lambda("awsbox-vg-echo")


def ssm_standin():
    """moto has no Automation and instant Run Command: ssmrun talks to the strict stand-in."""
    s = harness.S.temp.get("vg-ssm")
    if not s:
        import front as frontmod
        import ssmstandin
        keys = frontmod.Keys()
        keys.add(*harness.key())
        s = ssmstandin.SsmStandin(keys).start()
        harness.at_exit(s.stop)
        s.document("Memcheck-Auto", [(0, "Pending"), (0.1, "InProgress", "step1"), (0.3, "Success")],
                   outputs={"step1.Out": ["x", "y"]})
        s.instance("i-0123456789abcdef0", schedule=[(0, "Pending"), (0.1, "InProgress"), (0.3, "Success")],
                   stdout="hello\n", stderr="warn\n", code=0)
        harness.S.temp["vg-ssm"] = s
    return {"AWS_ENDPOINT_URL_SSM": s.url, "AWSBOX_POLL_SCALE": "0.02"}


def upload_file():
    path = harness.S.tmp / "vg-upload.bin"
    path.write_bytes(os.urandom(300 * 1024))
    return str(path)


# applet -> [(args, stdin, expected exit[, extra env: a callable returning a dict])]; args may be
# a callable returning them.
CALLS = {
    "whoami": [(["whoami"], None, 0), (["whoami", "--format", "json"], None, 0)],
    "ssmget": [(["ssmget", f"{P}/db-url"], None, 0),
               (["ssmget", "--path", f"{P}/", "--recursive"], None, 0),
               (["ssmget", f"{P}/missing"], None, 3)],
    "secretget": [(["secretget", "--query", "pass.x[1]", f"{P[1:]}/db"], None, 0),
                  (["secretget", "--format", "env", f"{P[1:]}/db"], None, 0)],
    "sqssend": [(["sqssend", "awsbox-vg", "hello"], None, 0),
                (["sqssend", "--lines", "awsbox-vg"], "one\ntwo\nthree\n", 0)],
    "sqsrecv": [(["sqsrecv", "--max", "2", "--timeout", "10s", "awsbox-vg"], None, 0),
                (["sqsrecv", "--drain", "awsbox-vg", "--exec", "--", "true"], None, 0)],
    "lambdainvoke": [(["lambdainvoke", "awsbox-vg-echo", '{"a": [1, 2.5e3]}'], None, 0)],
    "rdstoken": [(["rdstoken", "db.example.com:5432", "app"], None, 0)],
    "s3cp": [(lambda: ["s3cp", upload_file(), f"s3://{BUCKET}/up/blob.bin"], None, 0),
             (["s3cp", f"s3://{BUCKET}/in/data.csv", "-"], None, 0)],
    "s3watch": [(["s3watch", "--timeout", "60s", f"s3://{BUCKET}/in/data.csv"], None, 0)],
    "ssmrun": [(["ssmrun", "--document", "Memcheck-Auto", "InstanceId=i-1,i-2"], None, 0, ssm_standin),
               (["ssmrun", "--instance", "i-0123456789abcdef0", "--command", "echo hello"], None, 0, ssm_standin)],
}


def memcheck(name, n, argv, stdin, want, env):
    """Runs one call under valgrind; returns a problem (str) or None."""
    log = LOGS / f"{name}.{n}.log"
    exe = str(harness.S.bin / argv[0])  # the symlink: argv[0] names the applet
    cmd = VALGRIND + [f"--log-file={log}", exe, *argv[1:]]
    try:
        p = subprocess.run(cmd, env=env, input=stdin.encode() if stdin else None,
                           stdin=None if stdin else subprocess.DEVNULL, capture_output=True, timeout=600)
    except subprocess.TimeoutExpired:
        return f"timed out: {' '.join(argv)}"
    text = log.read_text(errors="replace") if log.exists() else ""
    m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    errors = int(m.group(1)) if m else -1
    if p.returncode == 99 or errors != 0:
        where = "\n".join(l for l in text.splitlines() if re.search(r"== (   (at|by) |[A-Z].*(Invalid|uninit|definitely))", l))
        return f"memcheck errors ({errors}) in {' '.join(argv)}; log {log}\n{where[:3000]}"
    if p.returncode != want:
        return (f"exit {p.returncode}, wanted {want}: {' '.join(argv)} (update CALLS if the applet changed)\n"
                f"{p.stderr.decode(errors='replace')[-1500:]}")
    return None


def main(only):
    LOGS.mkdir(parents=True, exist_ok=True)
    for f in LOGS.glob("*.log"):
        f.unlink()
    tc = harness.AwsboxTestCase()  # for env(): moto, the front, USER's key, AWS_ENDPOINT_URL*
    failed, ran = [], 0
    try:
        harness.setup_session()
        listed = harness.applets()
        env = tc.env()
        fixtures()
        for name in listed:
            if only and name not in only:
                continue
            calls = CALLS.get(name)
            if not calls:
                print(f"note {name}: no representative call in tests/sanitize/valgrind.py; --help only")
                calls = [([name, "--help"], None, 0)]
            for n, (args, stdin, want, *extra) in enumerate(calls):
                argv = args() if callable(args) else args
                problem = memcheck(name, n, argv, stdin, want, {**env, **(extra[0]() if extra else {})})
                ran += 1
                print(f"{'FAIL' if problem else 'ok  '} {' '.join(argv)}", flush=True)
                if problem:
                    print("    " + problem.replace("\n", "\n    "))
                    failed.append(name)
        for name in sorted(set(CALLS) - set(listed)):
            print(f"skip {name}: not in `awsbox --list` yet")
    finally:
        harness.stop_all()
    print(f"valgrind: {ran} calls, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if not os.environ.get("AWSBOX_BIN"):
        # memcheck cannot see malloc in the static, stripped ./awsbox: it would check next to nothing
        print("valgrind.py: set AWSBOX_BIN to a glibc -g build (make valgrind builds build/valgrind/awsbox)",
              file=sys.stderr)
        sys.exit(2)
    sys.exit(main(set(sys.argv[1:])))
