"""test_ssmrun.py — ssmrun: Run Command against moto with IAM authentication on (SendCommand,
ListCommands, GetCommandInvocation; checked back with the AWS CLI), and Automation plus the Run
Command cases moto cannot play (progress, failures, output, targets, late invocations) against
ssmstandin.SsmStandin, which checks every signature with botocore (front.py) and validates every
request against botocore's SSM model. The stand-in's own answers are parsed by boto3 here
(StandIn), so their shapes are botocore's, not ours.

AWSBOX_POLL_SCALE shrinks ssmrun's poll intervals (2.5 s / 5 s / 15 s) so that a test waits
milliseconds; PollSchedule measures the intervals to check the schedule itself.
"""
import json
import re
import statistics
import threading
import time

import boto3
import botocore.config
import botocore.exceptions
from botocore.validate import ParamValidator

import harness
import front as frontmod
import ssmstandin
from harness import AwsboxTestCase

I0, I1, I2 = "i-0123456789abcdef0", "i-0123456789abcdef1", "i-0123456789abcdef2"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def started_id(err, what):
    m = re.search(rf"{what} ([0-9a-f-]{{36}}) (started|sent)", err)
    assert m, f"no {what} id on stderr: {err!r}"
    return m.group(1)


class StandinCase(AwsboxTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keys = frontmod.Keys()
        keys.add(*harness.key())
        cls.ssm = ssmstandin.SsmStandin(keys).start()
        harness.at_exit(cls.ssm.stop)

    def setUp(self):
        super().setUp()
        self.ssm.rejected.clear()

    def senv(self, scale="0.02", **kw):
        return self.env(AWS_ENDPOINT_URL_SSM=self.ssm.url, AWSBOX_POLL_SCALE=scale, **kw)

    def calls(self, op, key, value):
        return [c for c in self.ssm.calls if c[0] == op and c[1].get(key) == value]

    def tearDown(self):
        self.assertEqual(self.ssm.rejected, [], "the stand-in refused requests")
        super().tearDown()


class StandIn(StandinCase):
    """The stand-in itself: botocore parses its answers; it refuses what SSM would."""

    def client(self, secret=None):
        akid, sk = harness.key()
        return boto3.client("ssm", endpoint_url=self.ssm.url, region_name=harness.REGION, aws_access_key_id=akid,
                            aws_secret_access_key=secret or sk,
                            config=botocore.config.Config(retries={"total_max_attempts": 1}))

    def check_shape(self, op, out):
        """Members and types as botocore's model has them. Not lengths: SSM's own answers have
        "" for OutputS3BucketName and CloudWatchLogGroupName, below the model's minimums."""
        model = ssmstandin._MODEL.operation_model(op).output_shape
        out = {k: v for k, v in out.items() if k != "ResponseMetadata"}
        report = ParamValidator().validate(out, model)
        errors = [l for l in report.generate_report().splitlines() if l and not l.startswith("Invalid length")]
        self.assertEqual(errors, [])

    def test_answers_parse_with_botocore(self):
        self.ssm.document("SelfTest", [(0, "Pending"), (0.05, "InProgress", "a"), (0.1, "Success")], outputs={"a.X": ["1"]})
        self.ssm.instance("i-00000000000000001", tags={"T": "self"}, stdout="out", stderr="err", code=0,
                          schedule=[(0, "Pending"), (0.05, "Success")])
        c = self.client()
        eid = c.start_automation_execution(DocumentName="SelfTest", Parameters={"P": ["v"]})["AutomationExecutionId"]
        time.sleep(0.15)
        ex = c.get_automation_execution(AutomationExecutionId=eid)
        self.check_shape("GetAutomationExecution", ex)
        ex = ex["AutomationExecution"]
        self.assertEqual((ex["AutomationExecutionStatus"], ex["Outputs"], ex["Parameters"]), ("Success", {"a.X": ["1"]}, {"P": ["v"]}))
        self.assertEqual(ex["StepExecutions"][0]["Outputs"], {"X": ["1"]})
        cmd = c.send_command(Targets=[{"Key": "tag:T", "Values": ["self"]}], DocumentName="AWS-RunShellScript",
                             Parameters={"commands": ["true"]})
        self.check_shape("SendCommand", cmd)
        cid = cmd["Command"]["CommandId"]
        time.sleep(0.1)
        lc = c.list_commands(CommandId=cid)
        self.check_shape("ListCommands", lc)
        self.assertEqual((lc["Commands"][0]["Status"], lc["Commands"][0]["TargetCount"]), ("Success", 1))
        li = c.list_command_invocations(CommandId=cid)
        self.check_shape("ListCommandInvocations", li)
        self.assertEqual([i["InstanceId"] for i in li["CommandInvocations"]], ["i-00000000000000001"])
        gi = c.get_command_invocation(CommandId=cid, InstanceId="i-00000000000000001")
        self.check_shape("GetCommandInvocation", gi)
        self.assertEqual((gi["Status"], gi["StandardOutputContent"], gi["StandardErrorContent"], gi["ResponseCode"]),
                         ("Success", "out", "err", 0))

    def test_refuses_what_ssm_refuses(self):
        c = self.client()
        for call, code in ((lambda: c.get_automation_execution(AutomationExecutionId="x" * 36), "AutomationExecutionNotFoundException"),
                           (lambda: c.start_automation_execution(DocumentName="NoSuchDoc"), "AutomationDefinitionNotFoundException"),
                           (lambda: c.get_command_invocation(CommandId="0" * 36, InstanceId="i-1"), "ValidationException"),
                           (lambda: c.send_command(InstanceIds=["i-99999999999999999"], DocumentName="AWS-RunShellScript"), "InvalidInstanceId"),
                           (lambda: c.describe_instance_information(), "UnknownOperationException")):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                call()
            self.assertEqual(cm.exception.response["Error"]["Code"], code)
        bad = self.client(secret="wrong")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            bad.get_automation_execution(AutomationExecutionId="x" * 36)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidSignatureException")
        self.assertEqual(len(self.ssm.rejected), 1)
        self.ssm.rejected.clear()


class Automation(StandinCase):
    def test_success_prints_outputs_and_status_changes(self):
        outputs = {"launch.InstanceIds": ["i-1", "i-2"], "check.State": ["running"]}
        self.ssm.document("Auto-OK", [(0, "Pending"), (0.15, "InProgress", "launch"), (0.4, "InProgress", "check"),
                                      (0.65, "Success")], outputs=outputs)
        r = self.run("ssmrun", "--document", "Auto-OK", "InstanceId=i-1,i-2", "Note=a\\,b", "Empty=", "InstanceId=i-3",
                     env=self.senv())
        self.assertEqual(json.loads(self.ok(r)), outputs)
        eid = started_id(r.err, "automation execution")
        start = self.calls("StartAutomationExecution", "DocumentName", "Auto-OK")[-1][1]
        self.assertEqual(start["Parameters"], {"InstanceId": ["i-1", "i-2", "i-3"], "Note": ["a,b"], "Empty": []})
        self.assertRegex(start["ClientToken"], UUID4)
        lines = [l[len(f"ssmrun: {eid}: "):] for l in r.err.splitlines() if l.startswith(f"ssmrun: {eid}: ")]
        self.assertEqual(lines, ["Pending", "InProgress (step launch)", "InProgress (step check)", "Success"])
        # the id comes first, before any poll
        self.assertTrue(r.err.startswith(f"ssmrun: automation execution {eid} started"))
        # the AWS CLI reads the same execution from the stand-in
        cli = self.run("aws", "--endpoint-url", self.ssm.url, "--region", harness.REGION, "--output", "json", "ssm",
                       "get-automation-execution", "--automation-execution-id", eid, env=self.senv())
        ex = json.loads(self.ok(cli))["AutomationExecution"]
        self.assertEqual((ex["AutomationExecutionStatus"], ex["Outputs"]), ("Success", json.loads(r.out)))

    def test_quiet(self):
        self.ssm.document("Auto-Quiet", [(0, "InProgress"), (0.1, "Success")])
        r = self.run("ssmrun", "--quiet", "-d", "Auto-Quiet", env=self.senv())
        self.assertEqual(self.ok(r), "{}\n")
        self.assertEqual(r.err, "")

    def test_unsuccessful_ends_exit_7(self):
        for status in ("Failed", "TimedOut", "Cancelled", "CompletedWithFailure"):
            with self.subTest(status=status):
                doc = f"Auto-{status}"
                self.ssm.document(doc, [(0, "Pending"), (0.1, "InProgress", "run"), (0.2, status, "run")],
                                  outputs={"run.Partial": ["p"]}, failure=f"Step fails when it is {status.lower()}.")
                r = self.run("ssmrun", "-d", doc, env=self.senv())
                self.assertExit(r, 7)
                eid = started_id(r.err, "automation execution")
                self.assertIn(f"ssmrun: automation execution {eid} {status}: Step fails when it is {status.lower()}.", r.err)
                self.assertEqual(json.loads(r.out), {"run.Partial": ["p"]})

    def test_service_text_is_cleaned(self):
        """The failure message SSM gives is printed on one line, with nothing that drives the terminal."""
        self.ssm.document("Auto-Esc", [(0, "InProgress", "run"), (0.1, "Failed", "run")],
                          failure="bad\x1b[2J\x1b]0;t\x07\nnext")
        r = self.run("ssmrun", "-d", "Auto-Esc", env=self.senv())
        self.assertExit(r, 7)
        self.assertNotIn("\x1b", r.err)
        self.assertRegex(r.err, r"automation execution \S+ Failed: bad\?\[2J\?\]0;t\? next\n")

    def test_timeout_exit_5_names_the_execution(self):
        self.ssm.document("Auto-Slow", [(0, "Pending"), (0.1, "InProgress", "wait"), (3600, "Success")])
        t0 = time.monotonic()
        r = self.run("ssmrun", "-d", "Auto-Slow", "--timeout", "0.6s", env=self.senv())
        took = time.monotonic() - t0
        self.assertExit(r, 5)
        eid = started_id(r.err, "automation execution")
        self.assertIn(f"timed out waiting for automation execution {eid} (InProgress)", r.err)
        self.assertEqual(r.out, "")
        self.assertLess(took, 3, "the deadline was not kept")
        self.assertGreaterEqual(took, 0.6)

    def test_timeout_cuts_off_a_hung_poll(self):
        # GetAutomationExecution never answers: the poll in flight is cut off at the deadline
        # (not after 3 x the 60 s read timeout), and it is the usual exit 5.
        self.ssm.document("Auto-Hung", [(0, "InProgress"), (3600, "Success")])
        release = threading.Event()
        self.addCleanup(release.set)

        def hook(req):
            if (req.header("x-amz-target") or "").endswith(".GetAutomationExecution"):
                release.wait(30)
                return "drop"
        self.ssm.on_request = hook
        try:
            t0 = time.monotonic()
            r = self.run("ssmrun", "-d", "Auto-Hung", "--timeout", "1.5s", env=self.senv(), timeout=20)
            took = time.monotonic() - t0
        finally:
            self.ssm.on_request = None
            release.set()
        self.assertExit(r, 5)
        eid = started_id(r.err, "automation execution")
        self.assertIn(f"timed out waiting for automation execution {eid} (status unknown)", r.err)
        self.assertTrue(1.4 < took < 3, took)

    def test_no_wait(self):
        self.ssm.document("Auto-NoWait", [(0, "Pending")])
        r = self.run("ssmrun", "-d", "Auto-NoWait", "--no-wait", env=self.senv())
        eid = self.ok(r).strip()
        self.assertRegex(eid, r"^[0-9a-f-]{36}$")
        self.assertEqual(self.calls("GetAutomationExecution", "AutomationExecutionId", eid), [])

    def test_errors(self):
        r = self.run("ssmrun", "-d", "Auto-NoSuchDocument", env=self.senv())
        self.assertExit(r, 3)
        self.assertIn("StartAutomationExecution Auto-NoSuchDocument: 400 AutomationDefinitionNotFoundException", r.err)
        self.ssm.document("Auto-Denied", [(0, "Pending")])
        self.ssm.inject("GetAutomationExecution", 400, "AccessDeniedException", "not allowed")
        r = self.run("ssmrun", "-d", "Auto-Denied", env=self.senv())
        self.assertExit(r, 4)
        self.assertIn("GetAutomationExecution", r.err)

    def test_throttled_polls_go_on(self):
        self.ssm.document("Auto-Throttled", [(0, "InProgress"), (0.2, "Success")], outputs={"o.K": ["v"]})
        self.ssm.inject("GetAutomationExecution", 400, "ThrottlingException", "Rate exceeded", count=3)
        r = self.run("ssmrun", "-d", "Auto-Throttled", env=self.senv(AWS_MAX_ATTEMPTS="2"))
        self.assertEqual(json.loads(self.ok(r)), {"o.K": ["v"]})
        self.assertIn("ThrottlingException: Rate exceeded (polling again)", r.err)

    def test_wrong_key_refused(self):
        self.ssm.document("Auto-Key", [(0, "Pending")])
        r = self.run("ssmrun", "-d", "Auto-Key", env=self.senv(AWS_SECRET_ACCESS_KEY="wrong"))
        self.assertExit(r, 4)
        self.assertIn("InvalidSignatureException", r.err)
        self.assertEqual(len(self.ssm.rejected), 1)
        self.ssm.rejected.clear()

    def test_usage(self):
        for args in ([], ["--command", "ls"], ["-d", "D", "--comment", "c"], ["-i", I0], ["-i", I0, "-t", "tag:a=b", "-c", "x"],
                     ["-d", "D", "--timeout", "0"], ["-d", "D", "noequals"], ["-d", "D", "=v"],
                     ["-t", "a=1", "-t", "b=1", "-t", "c=1", "-t", "d=1", "-t", "e=1", "-t", "f=1", "-c", "x"]):
            r = self.run("ssmrun", *args, env=self.senv())
            self.assertExit(r, 2, f"args {args}")
            self.assertIn("Usage: ssmrun", r.err)


class PollSchedule(StandinCase):
    def test_default_schedule_scaled(self):
        """2.5 s for the first 4 waits, 5 s for the next 12, then 15 s, each +-20% (scaled by 0.06);
        the wait that meets the deadline is cut short."""
        scale = 0.06
        self.ssm.document("Auto-Schedule", [(0, "InProgress"), (3600, "Success")])
        t0 = time.monotonic()
        r = self.run("ssmrun", "-d", "Auto-Schedule", "--timeout", "7s", env=self.senv(scale=str(scale)))
        took = time.monotonic() - t0
        self.assertExit(r, 5)
        eid = started_id(r.err, "automation execution")
        start = self.calls("StartAutomationExecution", "DocumentName", "Auto-Schedule")[-1][2]
        times = [start] + [c[2] for c in self.calls("GetAutomationExecution", "AutomationExecutionId", eid)]
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertGreaterEqual(len(gaps), 17, gaps)
        slack = 0.08  # a request's own time, and a busy machine
        for i, g in enumerate(gaps):
            base = (2.5 if i < 4 else 5 if i < 16 else 15) * scale
            if i < 17:
                self.assertGreaterEqual(g, 0.8 * base - 0.005, f"wait {i + 1}: {g:.3f} s")
            self.assertLessEqual(g, 1.2 * base + slack, f"wait {i + 1}: {g:.3f} s")
        self.assertGreater(statistics.pstdev(gaps[4:16]), 0.002, "no jitter")
        self.assertGreaterEqual(took, 7)
        self.assertLess(took, 8.5)


class RunCommandMoto(AwsboxTestCase):
    """Against moto (a): its Run Command finishes at once, with empty output."""

    def test_instances_and_commands(self):
        r = self.run("ssmrun", "-i", I0, "-i", I1, "-c", "echo hi", "--command", "uptime", "--comment", "awsbox test",
                     env=self.env(AWSBOX_POLL_SCALE="0.02"))
        self.ok(r)
        cid = started_id(r.err, "command")
        cmd = self.aws("ssm", "list-commands", "--command-id", cid, json=True)["Commands"][0]
        self.assertEqual(cmd["DocumentName"], "AWS-RunShellScript")
        self.assertEqual(cmd["Parameters"], {"commands": ["echo hi", "uptime"]})
        self.assertEqual(sorted(cmd["InstanceIds"]), [I0, I1])
        self.assertEqual(cmd["Comment"], "awsbox test")
        for i in (I0, I1):
            inv = self.aws("ssm", "get-command-invocation", "--command-id", cid, "--instance-id", i, json=True)
            self.assertEqual(inv["Status"], "Success")

    def test_document_parameters_and_no_wait(self):
        r = self.run("ssmrun", "-i", I0, "-d", "AWS-RunPowerShellScript", "commands=Get-Date", "workingDirectory=C:\\",
                     "--no-wait", env=self.env())
        cid = self.ok(r).strip()
        cmd = self.aws("ssm", "list-commands", "--command-id", cid, json=True)["Commands"][0]
        self.assertEqual(cmd["DocumentName"], "AWS-RunPowerShellScript")
        self.assertEqual(cmd["Parameters"], {"commands": ["Get-Date"], "workingDirectory": ["C:\\"]})

    def test_wrong_key(self):
        r = self.run("ssmrun", "-i", I0, "-c", "true", env=self.env(AWS_SECRET_ACCESS_KEY="wrong"))
        self.assertExit(r, 4)


class RunCommand(StandinCase):
    def test_one_instance_output_as_is(self):
        self.ssm.instance("i-0a000000000000001", stdout="hello\nworld", stderr="warning: x\n")
        r = self.run("ssmrun", "-i", "i-0a000000000000001", "-c", "echo hello; echo world", env=self.senv())
        self.assertEqual(self.ok(r), "hello\nworld")
        self.assertIn("warning: x\n", r.err)
        cid = started_id(r.err, "command")
        send = [c[1] for c in self.ssm.calls if c[0] == "SendCommand"][-1]
        self.assertEqual(send, {"DocumentName": "AWS-RunShellScript", "InstanceIds": ["i-0a000000000000001"],
                                "Parameters": {"commands": ["echo hello; echo world"]}})
        self.assertEqual(len(self.calls("GetCommandInvocation", "CommandId", cid)), 1)
        self.assertTrue(r.err.startswith(f"ssmrun: command {cid} sent"))

    def test_several_instances_prefixed_and_a_failure(self):
        self.ssm.instance("i-0b000000000000001", stdout="ok line 1\nok line 2\n", stderr="")
        self.ssm.instance("i-0b000000000000002", stdout="partial", stderr="boom\n", code=2,
                          schedule=[(0, "Pending"), (0.1, "InProgress"), (0.3, "Failed")])
        r = self.run("ssmrun", "-i", "i-0b000000000000001", "-i", "i-0b000000000000002", "-c", "run", env=self.senv())
        self.assertExit(r, 7)
        self.assertEqual(r.out, "i-0b000000000000001: ok line 1\ni-0b000000000000001: ok line 2\n"
                                "i-0b000000000000002: partial\n")
        self.assertIn("i-0b000000000000002: boom\n", r.err)
        self.assertIn("ssmrun: i-0b000000000000001: Success (exit 0)", r.err)
        self.assertIn("ssmrun: i-0b000000000000002: Failed (exit 2)", r.err)

    def test_details_are_cleaned(self):
        self.ssm.instance("i-0b000000000000003", stdout="", code=1, details="Failed\x1b[2J\nagain",
                          schedule=[(0, "InProgress"), (0.1, "Failed")])
        r = self.run("ssmrun", "-i", "i-0b000000000000003", "-c", "run", env=self.senv())
        self.assertExit(r, 7)
        self.assertNotIn("\x1b", r.err)
        self.assertIn("ssmrun: i-0b000000000000003: Failed (Failed?[2J again, exit 1)\n", r.err)

    def test_targets_across_pages(self):
        """55 instances by tag (ListCommandInvocations pages of 50), each one's output once."""
        ids = [f"i-0c0000000000000{n:02d}" for n in range(55)]
        for n, i in enumerate(ids):
            self.ssm.instance(i, tags={"Role": "fleet"}, stdout=f"from {n}\n", listed_after=0.05 * (n % 3),
                              schedule=[(0, "Pending"), (0.05, "InProgress"), (0.1 + 0.01 * (n % 5), "Success")])
        self.ssm.instance("i-0c999999999999999", tags={"Role": "other"}, stdout="never\n")
        r = self.run("ssmrun", "--target", "tag:Role=fleet,none", "-c", "hostname", env=self.senv(), timeout=60)
        out = self.ok(r)
        self.assertEqual(sorted(out.splitlines()), sorted(f"{i}: from {n}" for n, i in enumerate(ids)))
        send = [c[1] for c in self.ssm.calls if c[0] == "SendCommand"][-1]
        self.assertEqual(send["Targets"], [{"Key": "tag:Role", "Values": ["fleet", "none"]}])
        cid = started_id(r.err, "command")
        pages = self.calls("ListCommandInvocations", "CommandId", cid)
        self.assertEqual(len(pages), 2)
        self.assertIn("(55 of 55 instances done)", r.err)

    def test_late_invocations_tolerated(self):
        """InvalidCommandId and InvocationDoesNotExist right after SendCommand are waited out."""
        self.ssm.instance("i-0d000000000000001", stdout="late\n", appear_after=0.45,
                          schedule=[(0, "Pending"), (0.05, "Success")])
        self.ssm.inject("ListCommands", 400, "InvalidCommandId", "", count=1)
        r = self.run("ssmrun", "-i", "i-0d000000000000001", "-c", "x", env=self.senv(scale="0.04"))
        self.assertEqual(self.ok(r), "late\n")
        cid = started_id(r.err, "command")
        self.assertGreater(len(self.calls("GetCommandInvocation", "CommandId", cid)), 1)

    def test_never_invoked(self):
        self.ssm.instance("i-0d000000000000002", appear_after=3600, schedule=[(0, "Success")])
        r = self.run("ssmrun", "-i", "i-0d000000000000002", "-c", "x", env=self.senv())
        self.assertExit(r, 7)
        self.assertIn("i-0d000000000000002: NoInvocation (InvocationDoesNotExist, no exit code)", r.err)

    def test_delivery_timed_out(self):
        self.ssm.instance("i-0e000000000000001", code=-1, details="DeliveryTimedOut",
                          schedule=[(0, "Pending"), (0.1, "TimedOut")])
        r = self.run("ssmrun", "-i", "i-0e000000000000001", "-c", "x", env=self.senv())
        self.assertExit(r, 7)
        self.assertIn("ssmrun: i-0e000000000000001: TimedOut (DeliveryTimedOut, no exit code)", r.err)

    def test_truncated_output_warns(self):
        self.ssm.instance("i-0f000000000000001", stdout="é" * 30000)
        r = self.run("ssmrun", "-i", "i-0f000000000000001", "-c", "x", env=self.senv())
        self.assertEqual(self.ok(r), "é" * 24000)
        self.assertIn("stdout truncated by SSM to its first 24000 characters", r.err)

    def test_timeout(self):
        self.ssm.instance("i-0f000000000000002", schedule=[(0, "Pending"), (0.05, "InProgress"), (3600, "Success")])
        r = self.run("ssmrun", "-i", "i-0f000000000000002", "-c", "sleep 3600", "--timeout", "0.4s", env=self.senv())
        self.assertExit(r, 5)
        cid = started_id(r.err, "command")
        self.assertIn(f"timed out waiting for command {cid} (InProgress)", r.err)

    def test_no_instance_matched(self):
        r = self.run("ssmrun", "-t", "tag:Role=nothing-has-this", "-c", "x", env=self.senv())
        self.assertExit(r, 7)
        self.assertIn("no managed instance matched", r.err)

    def test_unknown_instance(self):
        r = self.run("ssmrun", "-i", "i-0fffffffffffffff9", "-c", "x", env=self.senv())
        self.assertExit(r, 3)
        self.assertIn("SendCommand AWS-RunShellScript: 400 InvalidInstanceId", r.err)
