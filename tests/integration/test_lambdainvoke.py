"""test_lambdainvoke.py — lambdainvoke against moto's Lambda (lambda-simple, which echoes the event,
behind the verifying front) and against the strict stand-in (lambda_standin.py) for what moto
cannot show: function errors, the log tail, throttling, dropped connections, slow functions.
Oracles: the AWS CLI (`aws lambda invoke`), botocore's serializer and its Lambda model."""
import base64
import json
import os
import random
import time
import unittest

from botocore import serialize
from botocore.utils import percent_encode_sequence

import harness
import lambda_standin as ls
from harness import AwsboxTestCase
from lambda_standin import Reply

FN = "awsbox-li-echo"


def moto_function():
    """FN on moto (b), created once per run; its ARN."""
    with harness.S.lock:
        if not harness.S.temp.get(FN):
            harness.S.temp[FN] = harness.create_lambda(FN)
        return harness.S.temp[FN]


class MotoLambda(AwsboxTestCase):
    def setUp(self):
        super().setUp()
        self.arn = moto_function()
        harness.front().reset()

    def test_payload_to_stdout_as_the_cli_gets_it(self):
        payload = '{"a": [1, 2.5e3, "\\u00fc ü"], "b": null, "c": {"d": true}}\n'
        r = self.run("lambdainvoke", FN, payload)
        self.assertExit(r, 0)
        self.assertEqual(r.err, "")
        out = os.path.join(self.tmpdir(), "out")
        cli = self.aws("lambda", "invoke", "--function-name", FN, "--payload", payload, out)
        self.assertExit(cli, 0)
        with open(out, "rb") as f:
            self.assertEqual(r.outb, f.read())
        self.assertEqual(r.outb, payload.encode())  # lambda-simple echoes the event: no newline added
        self.assertFrontClean(2)

    def test_name_arn_partial_arn(self):
        partial = f"{harness.ACCOUNT}:function:{FN}"
        for name in (FN, self.arn, partial):
            with self.subTest(name=name):
                r = self.run("lambdainvoke", name, '{"via": "%s"}' % name)
                self.assertEqual(self.ok(r), '{"via": "%s"}' % name)
        # the front checked each signature over the raw path: ':' sent as %3A, as botocore does
        self.assertFrontClean(3)
        self.assertIn(f"/2015-03-31/functions/{harness.ACCOUNT}%3Afunction%3A{FN}/invocations",
                      [q.target for q in harness.front().requests])

    def test_payload_file_stdin_and_large(self):
        d = self.tmpdir()
        big = json.dumps({"blob": "x" * (1 << 20), "n": list(range(1000))}).encode()
        path = os.path.join(d, "event.json")
        with open(path, "wb") as f:
            f.write(big)
        self.assertEqual(self.run("lambdainvoke", FN, "--payload-file", path).outb, big)
        self.assertEqual(self.run("lambdainvoke", FN, "-", input=big).outb, big)
        self.assertEqual(self.run("lambdainvoke", "-f", "-", FN, input=b'{"in": 1}').outb, b'{"in": 1}')
        self.assertFrontClean(3)

    def test_no_payload_as_the_cli(self):
        r = self.run("lambdainvoke", FN)
        out = os.path.join(self.tmpdir(), "out")
        self.assertExit(self.aws("lambda", "invoke", "--function-name", FN, out), 0)
        with open(out, "rb") as f:
            self.assertEqual(self.ok(r).encode(), f.read())
        self.assertEqual(harness.front().requests[0].body, b"")

    def test_event_and_dryrun_print_nothing(self):
        # moto answers Event with the echoed event in a 202; Lambda sends no body; either way: nothing
        for t, status in (("Event", 202), ("DryRun", 204), ("event", 202)):
            with self.subTest(type=t):
                harness.front().reset()
                r = self.run("lambdainvoke", "--type", t, FN, '{"k": 1}')
                self.assertExit(r, 0)
                self.assertEqual((r.out, r.err), ("", ""))
                req = harness.front().requests[0]
                self.assertEqual(req.header("x-amz-invocation-type"), t.capitalize() if t == "event" else t)
                self.assertFrontClean(1)

    def test_session_credentials(self):
        creds = harness.temp_creds()
        r = self.run("lambdainvoke", FN, '{"s": 1}', env=self.env(creds=creds))
        self.assertEqual(self.ok(r), '{"s": 1}')
        self.assertFrontClean(1)
        self.assertEqual(harness.front().requests[0].header("x-amz-security-token"), creds["SessionToken"])

    def test_bad_secret_is_exit_4_and_sent_once(self):
        r = self.run("lambdainvoke", FN, "{}", env=self.env(AWS_SECRET_ACCESS_KEY="wrong" * 8))
        self.assertExit(r, 4)
        self.assertIn("403 InvalidSignatureException", r.err)
        self.assertEqual(len(harness.front().requests), 1)

    def test_invalid_json_is_usage_before_sending(self):
        d = self.tmpdir()
        bad_utf8 = os.path.join(d, "latin1.json")
        with open(bad_utf8, "wb") as f:
            f.write('{"name": "Müller"}'.encode("latin-1"))
        empty = os.path.join(d, "empty.json")
        open(empty, "w").close()
        for args in (["{a: 1}"], [""], ["{} x"], ["{'a': 1}"], ["[1,]"], ["--payload-file", bad_utf8],
                     ["--payload-file", empty], ["-"]):
            with self.subTest(args=args):
                r = self.run("lambdainvoke", FN, *args)
                self.assertExit(r, 2)
                self.assertIn("not valid JSON", r.err)
                for bad in args:  # the oracle: Python's json refuses it too
                    if bad.startswith("{") or bad.startswith("["):
                        self.assertRaises(ValueError, json.loads, bad)
        self.assertEqual(harness.front().requests, [])

    def test_usage_errors(self):
        cases = [[], ["a/b", "{}"], [FN, "{}", "--payload-file", "x"], [FN, "{}", "extra"],
                 ["--log", "--type", "Event", FN], ["--type", "Async", FN], ["--read-timeout", "0", FN],
                 ["--read-timeout", "soon", FN], ["--qualifier", "", FN]]
        for args in cases:
            with self.subTest(args=args):
                r = self.run("lambdainvoke", *args)
                self.assertExit(r, 2)
                self.assertIn("Usage: lambdainvoke", r.err)
        r = self.run("lambdainvoke", FN, "--payload-file", "/nonexistent/event.json")
        self.assertExit(r, 3)
        self.assertEqual(harness.front().requests, [])


class StandinLambda(AwsboxTestCase):
    """The strict stand-in, on its own port, knowing the same keys as the front."""

    def setUp(self):
        super().setUp()
        self.lam = ls.LambdaStandin(harness.front().keys).start()
        self.addCleanup(self.lam.stop)

    def li(self, *args, env=None, **kw):
        return self.run("lambdainvoke", *args, env=env or self.lenv(), **kw)

    def lenv(self, **kw):
        return self.env(AWS_ENDPOINT_URL_LAMBDA=self.lam.url, **kw)

    def cli(self, *args):
        """The AWS CLI's `aws lambda invoke ARGS OUTFILE` on the stand-in: (its JSON answer, OUTFILE's bytes)."""
        out = os.path.join(self.tmpdir(), "cli-out")
        r = self.run("aws", "--endpoint-url", self.lam.url, "--region", harness.REGION, "--output", "json",
                     "lambda", "invoke", *args, out, env=self.lenv())
        self.assertExit(r, 0)
        with open(out, "rb") as f:
            return json.loads(r.out), f.read()

    def assertClean(self, requests):
        f = self.lam.front
        self.assertEqual(f.rejected, [], "the stand-in's front rejected requests")
        self.assertEqual(len(f.requests), requests, f"requests: {f.requests}")
        self.assertEqual(f.verified, requests)

    def test_function_error(self):
        err = {"errorMessage": "boom\nsecond line", "errorType": "ValueError",
               "stackTrace": ['  File "/var/task/f.py", line 2, in handler\n']}
        body = json.dumps(err).encode()
        for kind in ("Unhandled", "Handled"):
            with self.subTest(kind=kind):
                self.lam.function("fails", lambda inv: Reply(body, error=kind))
                r = self.li("fails", "{}")
                self.assertExit(r, 7)
                self.assertEqual(r.outb, body)  # the error payload, byte for byte
                self.assertEqual(r.err, f"lambdainvoke: fails: function error ({kind}): ValueError: boom second line\n")
        r = self.li("fails", "{}", "--quiet")  # the summary is the failure message: --quiet keeps it
        self.assertExit(r, 7)
        self.assertIn("function error", r.err)
        answer, data = self.cli("--function-name", "fails", "--payload", "{}")
        self.assertEqual((answer["FunctionError"], data), ("Handled", body))
        self.lam.function("odd", lambda inv: Reply(b"not json", error="Unhandled"))
        r = self.li("odd")
        self.assertExit(r, 7)
        self.assertEqual((r.outb, r.err), (b"not json", "lambdainvoke: odd: function error (Unhandled)\n"))
        self.assertClean(5)

    def test_log_tail(self):
        log = "".join(f"START line {i}\n" for i in range(400))  # > 4 KB: the stand-in keeps the tail
        tail = log.encode()[-ls.LOG_TAIL:]
        self.lam.function("logs", lambda inv: Reply(b'"ok"', log=log))
        r = self.li("--log", "logs", "{}")
        self.assertEqual(self.ok(r), '"ok"')
        self.assertEqual(r.err.encode(), tail)
        self.assertEqual(self.lam.invocations[-1].log_type, "Tail")
        answer, _ = self.cli("--function-name", "logs", "--log-type", "Tail")
        self.assertEqual(base64.b64decode(answer["LogResult"]).decode(), r.err)  # the CLI decodes it the same
        r = self.li("logs", "{}")
        self.assertEqual((self.ok(r), r.err), ('"ok"', ""))
        self.assertIsNone(self.lam.invocations[-1].log_type)
        self.lam.function("logfail", lambda inv: Reply(b'{"errorMessage":"x","errorType":"E"}', "Unhandled",
                                                       log="trace\n"))
        r = self.li("-l", "logfail")
        self.assertExit(r, 7)
        self.assertEqual(r.err, "trace\nlambdainvoke: logfail: function error (Unhandled): E: x\n")
        self.assertClean(4)

    def test_large_binary_response_byte_for_byte(self):
        data = random.Random(7).randbytes(6 * 1024 * 1024)  # every byte value, no trailing newline
        self.lam.function("big", lambda inv: Reply(data))
        r = self.li("big", "{}")
        self.assertExit(r, 0)
        self.assertEqual(len(r.outb), len(data))
        self.assertTrue(r.outb == data, "the payload changed on its way to stdout")
        self.assertTrue(self.cli("--function-name", "big")[1] == r.outb, "the AWS CLI got other bytes")

    def test_payload_limit(self):
        self.lam.function("echo", lambda inv: Reply(inv.event))
        at_limit = ('"' + "a" * (ls.PAYLOAD_MAX - 2) + '"').encode()
        r = self.li("echo", "-", input=at_limit)
        self.assertExit(r, 0)
        self.assertTrue(r.outb == at_limit)
        r = self.li("echo", "-", input=b" " + at_limit)
        self.assertExit(r, 2)
        self.assertIn("6291456", r.err)
        self.assertClean(1)

    def test_stalled_function_times_out_and_is_sent_once(self):
        self.lam.function("stuck", lambda inv: ls.stall(inv, 120) or Reply(b'"late"'))
        t0 = time.monotonic()
        r = self.li("--read-timeout", "1.5s", "stuck", '{"once": true}', env=self.lenv(AWS_MAX_ATTEMPTS=5))
        took = time.monotonic() - t0
        self.assertExit(r, 6)
        self.assertEqual(r.out, "")
        self.assertIn("lambdainvoke: Invoke stuck: timed out after 1.5 s", r.err)
        self.assertIn("not sent again", r.err)
        self.assertLess(took, 10)
        self.assertGreaterEqual(took, 1.4)
        time.sleep(0.3)  # anything resent would have arrived by now
        self.assertClean(1)
        self.assertEqual(self.lam.front.connections, 1)
        self.assertEqual(len(self.lam.invocations), 1)

    def test_dropped_connection_is_not_resent(self):
        def drop(inv):
            raise ls.Drop()
        self.lam.function("dropper", drop)
        r = self.li("dropper", "{}", env=self.lenv(AWS_MAX_ATTEMPTS=5))
        self.assertExit(r, 6)
        self.assertIn("not sent again", r.err)
        time.sleep(0.3)
        self.assertClean(1)

    def test_slow_function_within_read_timeout(self):
        self.lam.function("slow", lambda inv: ls.stall(inv, 2.5) or Reply(b'{"done":1}'))
        r = self.li("--read-timeout", "10", "slow", "{}")
        self.assertEqual(self.ok(r), '{"done":1}')
        self.assertClean(1)

    @unittest.skipUnless(os.environ.get("AWSBOX_SLOW_TESTS"), "set AWSBOX_SLOW_TESTS=1 (takes 65 s)")
    def test_default_timeout_outlasts_60s(self):
        self.lam.function("minute", lambda inv: ls.stall(inv, 65) or Reply(b'"after 65 s"'))
        r = self.li("minute", "{}", timeout=120)
        self.assertEqual(self.ok(r), '"after 65 s"')
        self.assertClean(1)

    def test_throttling_is_retried(self):
        calls = []

        def throttled(inv):
            calls.append(1)
            if len(calls) < 3:
                raise ls.Throttle()
            return Reply(b'"third time"')
        self.lam.function("busy", throttled)
        r = self.li("busy", "{}", env=self.lenv(AWS_MAX_ATTEMPTS=3))
        self.assertEqual(self.ok(r), '"third time"')
        self.assertClean(3)

    def test_service_error_is_not_retried(self):
        def broken(inv):
            raise ls.Fail(500, "ServiceException", "internal error")
        self.lam.function("broken", broken)
        r = self.li("broken", "{}", env=self.lenv(AWS_MAX_ATTEMPTS=5))
        self.assertExit(r, 1)
        self.assertIn("Invoke broken: 500 ServiceException: internal error", r.err)
        time.sleep(0.3)
        self.assertClean(1)

    def test_request_is_what_botocore_sends(self):
        """Path label, Qualifier and headers as botocore's serializer makes them for the same call."""
        self.lam.function("fn", lambda inv: Reply(b"{}"))
        model = ls._MODEL
        arn = f"arn:aws:lambda:us-east-1:{harness.ACCOUNT}:function:fn"
        cases = [("fn", None), ("fn:prod", None), ("fn", "prod"), ("fn", "$LATEST"), ("fn", "7"),
                 (f"{harness.ACCOUNT}:function:fn", None), (arn, None), (arn + ":$LATEST", None), (arn, "v_2-x")]
        for i, (name, qual) in enumerate(cases):
            for itype, log in (("RequestResponse", True), ("DryRun", False)):
                args = [name, "{}", "--type", itype] + (["--qualifier", qual] if qual else [])
                args += ["--log"] if log else []
                with self.subTest(args=args):
                    self.assertExit(self.li(*args), 0)
                    inv = self.lam.invocations[-1]
                    params = {"FunctionName": name, "Payload": b"{}", "InvocationType": itype}
                    if qual:
                        params["Qualifier"] = qual
                    if log:
                        params["LogType"] = "Tail"
                    want = serialize.create_serializer("rest-json").serialize_to_request(params, model)
                    qs = percent_encode_sequence(want["query_string"]) if want["query_string"] else ""
                    self.assertEqual(inv.target, want["url_path"] + ("?" + qs if qs else ""))
                    got = {k.lower(): v for k, v in inv.headers if k.lower().startswith("x-amz-") and
                           k.lower() not in ("x-amz-date", "x-amz-security-token", "x-amz-content-sha256")}
                    self.assertEqual(got, {k.lower(): v for k, v in want["headers"].items()})
                    self.assertEqual(inv.event, b"{}")
        self.assertClean(2 * len(cases))

    def test_not_found(self):  # moto's lambda-simple answers any name
        r = self.li("awsbox-no-such-fn", "{}")
        self.assertExit(r, 3)
        self.assertEqual(r.err, "lambdainvoke: Invoke awsbox-no-such-fn: 404 ResourceNotFoundException: Function not "
                         f"found: arn:aws:lambda:us-east-1:{harness.ACCOUNT}:function:awsbox-no-such-fn\n")
        self.assertEqual(r.out, "")
        self.assertClean(1)

    def test_conflicting_qualifier(self):
        self.lam.function("fn", lambda inv: Reply(b"{}"))
        r = self.li("fn:prod", "--qualifier", "7", "{}")
        self.assertExit(r, 1)
        self.assertIn("400 InvalidParameterValueException", r.err)

    def test_debug_shows_no_secret(self):
        creds = harness.temp_creds()
        self.lam.function("fn", lambda inv: Reply(b'{"r": 1}'))
        r = self.li("--debug", "fn", "{}", env=self.lenv(AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
                                                        AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                                                        AWS_SESSION_TOKEN=creds["SessionToken"]))
        self.assertEqual(self.ok(r), '{"r": 1}')
        self.assertNotIn(creds["SecretAccessKey"], r.err)
        self.assertNotIn(creds["SessionToken"], r.err)
        sig = self.lam.front.requests[0].header("authorization").rsplit("=", 1)[1]
        self.assertNotIn(sig, r.err)


if __name__ == "__main__":
    unittest.main()
