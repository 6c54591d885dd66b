"""test_sqssend.py — sqssend against moto with IAM authentication on (every signature recomputed
by moto with botocore), through a verifying front (front.py, service "sqs") that also records the
raw requests. Messages are received back with the AWS CLI (or, for the 25,000-line stream, with
boto3 while it runs) and compared byte for byte: nothing lost, nothing duplicated.

Why the 25,000-line test drains the queue as it goes: moto computes the queue's attributes
(scanning every message) for each message sent, so a send costs O(queue length) and 25,000
messages left in one queue would take hours. The front's hook receives and deletes (boto3,
directly on moto) what is in the queue before passing on each SendMessageBatch.

Partial failures are made by the front's hook: it answers SendMessageBatch itself, sending the
entries it lets through to moto with boto3 (so the queue holds exactly what the answer says was
sent) and reporting the others as Failed (SenderFault true or false), absent, or refusing the
whole batch.
"""
import base64
import collections
import json
import os
import re
import subprocess
import time
import unittest

import harness
import front as frontmod
from harness import ACCOUNT, REGION, AwsboxTestCase

MIB = 1024 * 1024


class SqsCase(AwsboxTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        m = harness.moto_auth()
        keys = frontmod.Keys()
        keys.add(*harness.key())
        # a front for SQS: the raw requests are checked and recorded, then go to moto (a),
        # which checks the signature again
        cls.sqsfront = frontmod.Front(m.url, keys, services=("sqs",)).start()
        harness.at_exit(cls.sqsfront.stop)
        cls.sqs = harness.client("sqs")

    def setUp(self):
        super().setUp()
        self.sqsfront.reset()

    def senv(self, **kw):
        return self.env(AWS_ENDPOINT_URL_SQS=self.sqsfront.url, **kw)

    def queue(self, name, **attrs):
        url = self.sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]
        self.addCleanup(self.sqs.delete_queue, QueueUrl=url)
        return url

    def receive(self, url, expect, delete=False):
        """All messages of the queue, with the AWS CLI; then checks that nothing more comes."""
        got = []
        for _ in range(expect // 10 + 6):
            out = self.aws("sqs", "receive-message", "--queue-url", url, "--max-number-of-messages", "10",
                           "--visibility-timeout", "600", "--attribute-names", "All",
                           "--message-attribute-names", "All", json=True)
            msgs = (out or {}).get("Messages", [])
            got += msgs
            if delete and msgs:  # FIFO: a group is locked until its received messages are gone
                entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)]
                self.aws("sqs", "delete-message-batch", "--queue-url", url, "--entries", json.dumps(entries), json=True)
            if not msgs and len(got) >= expect:
                break
        self.assertEqual(len(got), expect, f"received {len(got)} messages, expected {expect}")
        return got

    def batches(self):
        """The SendMessageBatch requests the front passed on: their decoded JSON bodies."""
        return [json.loads(r.body) for r in self.sqsfront.requests
                if r.header("x-amz-target") == "AmazonSQS.SendMessageBatch" and r.verdict == "ok"]

    def assertClean(self):
        self.assertEqual(self.sqsfront.rejected, [], "the front rejected requests")


class Single(SqsCase):
    def test_name_url_arn_and_stdin(self):
        url = self.queue("awsbox-single")
        sent = {}
        body = "hello wörld \U0001F600 <tag> & \"quotes\"\ttab"
        r = self.run("sqssend", "awsbox-single", body, env=self.senv())
        sent[self.ok(r).strip()] = body
        raw = "first line\r\nsecond line\n\n"  # stdin is sent as it is, newlines and all
        r = self.run("sqssend", url, input=raw.encode(), env=self.senv())
        sent[self.ok(r).strip()] = raw
        r = self.run("sqssend", f"arn:aws:sqs:{REGION}:{ACCOUNT}:awsbox-single", "by arn", env=self.senv())
        sent[self.ok(r).strip()] = "by arn"
        r = self.run("sqssend", "--quiet", "awsbox-single", "quiet one", env=self.senv())
        self.assertEqual(self.ok(r), "")
        got = self.receive(url, 4)
        self.assertEqual({m["MessageId"]: m["Body"] for m in got if m["Body"] != "quiet one"}, sent)
        self.assertEqual(sorted(m["Body"] for m in got), sorted(list(sent.values()) + ["quiet one"]))
        # GetQueueUrl once for a name or ARN, none for a URL; one SendMessage each
        targets = [r.header("x-amz-target") for r in self.sqsfront.requests]
        self.assertEqual(targets.count("AmazonSQS.GetQueueUrl"), 3)
        self.assertEqual(targets.count("AmazonSQS.SendMessage"), 4)
        self.assertClean()

    def test_attributes(self):
        url = self.queue("awsbox-attrs")
        blob = bytes(range(256))
        args = ["-a", "s=String:hello wörld", "-a", "n=Number:-42.5e3", "-a", f"b=Binary:{base64.b64encode(blob).decode()}",
                "-a", "c=String.custom:x", "--attr", "eq=String:a=b:c"]
        self.ok(self.run("sqssend", "awsbox-attrs", "with attributes", *args, env=self.senv()))
        self.ok(self.run("sqssend", "--lines", "awsbox-attrs", *args, input="l1\nl2\n", env=self.senv()))
        got = self.receive(url, 3)
        self.assertEqual(sorted(m["Body"] for m in got), ["l1", "l2", "with attributes"])
        for m in got:
            a = m["MessageAttributes"]
            self.assertEqual(a["s"], {"DataType": "String", "StringValue": "hello wörld"})
            self.assertEqual(a["n"], {"DataType": "Number", "StringValue": "-42.5e3"})
            self.assertEqual(a["c"], {"DataType": "String.custom", "StringValue": "x"})
            self.assertEqual(a["eq"], {"DataType": "String", "StringValue": "a=b:c"})
            self.assertEqual(a["b"]["DataType"], "Binary")
            self.assertEqual(base64.b64decode(a["b"]["BinaryValue"]), blob)
        self.assertClean()

    def test_dash_bodies(self):
        """- as BODY is stdin (as everywhere); after -- a body may start with a dash."""
        url = self.queue("awsbox-dash")
        self.ok(self.run("sqssend", "awsbox-dash", "-", input=b"from stdin", env=self.senv()))
        self.ok(self.run("sqssend", "awsbox-dash", "--", "-5 degrees", env=self.senv()))
        self.ok(self.run("sqssend", "--", "awsbox-dash", "--lines?", env=self.senv()))
        self.assertEqual(sorted(m["Body"] for m in self.receive(url, 3)), ["--lines?", "-5 degrees", "from stdin"])

    def test_queue_url_region(self):
        """A queue URL names its region, in the current form and the legacy ones; the call goes
        there, whatever the configured region (no endpoint set: the --debug line tells)."""
        for url, region in (("https://sqs.eu-west-1.amazonaws.com/1/q", "eu-west-1"),
                            ("https://ap-south-1.queue.amazonaws.com/1/q", "ap-south-1"),
                            ("https://queue.amazonaws.com/1/q", "us-east-1")):
            with self.subTest(url=url):
                env = self.env(AWS_ENDPOINT_URL=None, AWS_ENDPOINT_URL_SQS=None, AWS_REGION="eu-central-1",
                               AWS_MAX_ATTEMPTS="1", AWSBOX_CONNECT_TIMEOUT="1", HTTPS_PROXY="http://127.0.0.1:9")
                r = self.run("sqssend", "--debug", url, "x", env=env)
                self.assertNotEqual(r.rc, 0)
                self.assertIn(f"the queue is in {region}", r.err)
                self.assertIn(f"sqs.{region}.amazonaws.com", r.err)

    def test_delay(self):
        url = self.queue("awsbox-delay")
        self.ok(self.run("sqssend", "--delay", "2", "awsbox-delay", "later", env=self.senv()))
        sends = [json.loads(r.body) for r in self.sqsfront.requests if r.header("x-amz-target") == "AmazonSQS.SendMessage"]
        self.assertEqual(sends[0]["DelaySeconds"], 2)
        out = self.aws("sqs", "receive-message", "--queue-url", url, json=True)
        self.assertFalse((out or {}).get("Messages"), "a delayed message came at once")
        time.sleep(2.2)
        self.assertEqual([m["Body"] for m in self.receive(url, 1)], ["later"])

    def test_errors(self):
        self.queue("awsbox-err")
        r = self.run("sqssend", "awsbox-no-such-queue", "x", env=self.senv())
        self.assertExit(r, 3)
        self.assertIn("GetQueueUrl awsbox-no-such-queue", r.err)
        r = self.run("sqssend", f"http://127.0.0.1:{self.sqsfront.port}/{ACCOUNT}/awsbox-no-such-queue", "x", env=self.senv())
        self.assertExit(r, 3)
        for args in (["awsbox-err", "x", "-a", "noequals"], ["awsbox-err", "x", "-a", "n=Text:1"],
                     ["awsbox-err", "x", "-a", "n=String:"], ["awsbox-err", "x", "-a", "b=Binary:!!notbase64"],
                     ["awsbox-err", "x", "-a", "n=String.:1"], ["--lines", "awsbox-err", "body"],
                     ["--delay", "901", "awsbox-err", "x"], ["--delay", "1.5", "awsbox-err", "x"], [],
                     ["q.fifo", "x"], ["q.fifo", "--group-id", "g", "--delay", "1", "x"], ["awsbox-err", "x", "y"],
                     ["awsbox-err", "x", *sum((["-a", f"a{i}=String:v"] for i in range(11)), [])],
                     ["awsbox-err", "x", "-a", "a=String:1", "-a", "a=Number:2"], ["--region", "", "awsbox-err", "x"]):
            r = self.run("sqssend", *args, env=self.senv())
            self.assertExit(r, 2, f"args {args}")
            self.assertIn("Usage: sqssend", r.err)
        for body, why in (("", "empty message"), ("a\x00b", "U+0000"), ("\ufffe", "U+FFFE")):
            r = self.run("sqssend", "awsbox-err", input=body.encode(), env=self.senv())
            self.assertExit(r, 1)
            self.assertIn(why, r.err)
        r = self.run("sqssend", "awsbox-err", input=b"\xc3\x28", env=self.senv())
        self.assertExit(r, 1)
        self.assertIn("not valid UTF-8", r.err)
        r = self.run("sqssend", "awsbox-err", input=b"x" * (MIB + 1), env=self.senv())
        self.assertExit(r, 1)
        self.assertIn("over SQS's limit", r.err)
        self.assertEqual(self.batches(), [])
        sends = [r for r in self.sqsfront.requests if r.header("x-amz-target") == "AmazonSQS.SendMessage"]
        self.assertEqual(len(sends), 1, "only the one to the queue that does not exist")

    def test_wrong_key_is_refused(self):
        self.queue("awsbox-badkey")
        r = self.run("sqssend", "awsbox-badkey", "x", env=self.senv(AWS_SECRET_ACCESS_KEY="wrong"))
        self.assertExit(r, 4)


class Fifo(SqsCase):
    def test_group_dedup_order(self):
        url = self.queue("awsbox-order.fifo", FifoQueue="true")
        r = self.run("sqssend", "awsbox-order.fifo", "no group", env=self.senv())
        self.assertExit(r, 2)
        self.ok(self.run("sqssend", "awsbox-order.fifo", "--group-id", "g1", "--dedup-id", "d1", "first", env=self.senv()))
        self.ok(self.run("sqssend", "awsbox-order.fifo", "-g", "g1", "-d", "d1", "first again", env=self.senv()))
        lines = "".join(f"order {i}\n" for i in range(1, 26))
        self.ok(self.run("sqssend", "--lines", "awsbox-order.fifo", "-g", "g2", "-d", "run1", input=lines, env=self.senv()))
        # the same run again: every line has the same deduplication id, so nothing new
        self.ok(self.run("sqssend", "--lines", "awsbox-order.fifo", "-g", "g2", "-d", "run1", input=lines, env=self.senv()))
        got = self.receive(url, 26, delete=True)
        g1 = [m for m in got if m["Attributes"]["MessageGroupId"] == "g1"]
        g2 = [m for m in got if m["Attributes"]["MessageGroupId"] == "g2"]
        self.assertEqual([m["Body"] for m in g1], ["first"])
        self.assertEqual(g1[0]["Attributes"]["MessageDeduplicationId"], "d1")
        self.assertEqual([m["Body"] for m in g2], [f"order {i}" for i in range(1, 26)])
        self.assertEqual([m["Attributes"]["MessageDeduplicationId"] for m in g2], [f"run1-{i}" for i in range(1, 26)])
        for b in self.batches():
            self.assertTrue(all(e["MessageGroupId"] == "g2" for e in b["Entries"]))
        self.assertClean()

    def test_content_based_dedup(self):
        url = self.queue("awsbox-cbd.fifo", FifoQueue="true", ContentBasedDeduplication="true")
        self.ok(self.run("sqssend", "--lines", "awsbox-cbd.fifo", "-g", "g", input="a\nb\n", env=self.senv()))
        self.assertEqual([m["Body"] for m in self.receive(url, 2, delete=True)], ["a", "b"])
        self.assertTrue(all("MessageDeduplicationId" not in e for b in self.batches() for e in b["Entries"]))

    def test_no_dedup_is_one_line(self):
        """A FIFO queue without content-based deduplication, and no --dedup-id: one usage line
        (2) before anything is sent, not one error per message."""
        url = self.queue("awsbox-nodedup.fifo", FifoQueue="true")
        for args, data in ((["--lines"], "a\nb\nc\n"), ([], "one")):
            with self.subTest(args=args):
                r = self.run("sqssend", *args, "awsbox-nodedup.fifo", "-g", "g", input=data, env=self.senv())
                self.assertExit(r, 2)
                self.assertIn("no content-based deduplication: give --dedup-id", r.err)
                self.assertEqual(r.err.count("sqssend: "), 1, r.err)
        targets = [q.header("x-amz-target") for q in self.sqsfront.requests]
        self.assertNotIn("AmazonSQS.SendMessage", targets)
        self.assertNotIn("AmazonSQS.SendMessageBatch", targets)
        self.assertEqual(self.receive(url, 0), [])


class Lines(SqsCase):
    def test_bad_lines_are_reported_and_the_rest_sent(self):
        url = self.queue("awsbox-badlines")
        data = (b"ok1\n"                      # 1
                b"\n"                         # 2: empty, skipped
                b"bad\x01ctl\n"               # 3: U+0001
                b"ok2\n"                      # 4
                b"\xff\xfe\n"                 # 5: not UTF-8
                b"\xed\xa0\x80\n"             # 6: a UTF-16 surrogate: not UTF-8
                b"\xef\xbf\xbe\n"             # 7: U+FFFE
                + b"y" * (MIB + 1) + b"\n" +  # 8: over 1 MiB
                b"ok3")                       # 9: no final newline
        r = self.run("sqssend", "--lines", "awsbox-badlines", input=data, env=self.senv())
        self.assertExit(r, 7)
        for line, why in ((3, "U+0001"), (5, "not valid UTF-8"), (6, "not valid UTF-8"), (7, "U+FFFE"),
                          (8, f"{MIB + 1} bytes")):
            self.assertRegex(r.err, rf"sqssend: line {line}: .*{re.escape(why)}")
        self.assertNotIn("line 2:", r.err)
        self.assertIn("5 of 8 messages not sent", r.err)
        self.assertEqual(sorted(m["Body"] for m in self.receive(url, 3)), ["ok1", "ok2", "ok3"])

    def test_batches_within_limits(self):
        """Up to 10 entries and 256 KiB a batch; a larger line goes alone; 1 MiB is the most."""
        url = self.queue("awsbox-big")
        k60 = 60 * 1024
        lines = [chr(ord("a") + i) * k60 for i in range(10)]  # 4 fit in 256 KiB, 5 do not
        lines += ["S" * 300 * 1024, "t", "u", "M" * MIB, "v"]
        lines += [f"small {i}" for i in range(23)]
        data = "\n".join(lines) + "\n"
        r = self.run("sqssend", "--lines", url, input=data, env=self.senv(), timeout=60)
        self.ok(r)
        sizes = [[len(e["MessageBody"]) for e in b["Entries"]] for b in self.batches()]
        for s in sizes:
            self.assertLessEqual(len(s), 10)
            self.assertTrue(sum(s) <= 256 * 1024 or len(s) == 1, f"batch of {sum(s)} bytes: {s}")
        self.assertEqual(sizes[:3], [[k60] * 4, [k60] * 4, [k60] * 2])
        self.assertIn([300 * 1024], sizes)
        self.assertIn([MIB], sizes)
        got = self.receive(url, len(lines))
        self.assertEqual(collections.Counter(m["Body"] for m in got), collections.Counter(lines))
        self.assertClean()


class Failures(SqsCase):
    """The front's hook plays the service: entries refused, failed on the service's side,
    missing from the answer; whole batches refused."""

    def hook(self, url, plan, text=""):
        """plan(line, attempt) -> "ok", "retry" (SenderFault false), "fail" (SenderFault true),
        "drop" (in neither list), or ("batch", status, code) to refuse the whole request.
        text ends every message the service gives."""
        sqs = harness.client("sqs")
        attempts = collections.Counter()

        def on_request(req):
            if req.header("x-amz-target") != "AmazonSQS.SendMessageBatch":
                return None
            entries = json.loads(req.body)["Entries"]
            decisions = []
            for e in entries:
                line = int(e["Id"])
                attempts[line] += 1
                decisions.append(plan(line, attempts[line], len(entries)))
            for d in decisions:
                if isinstance(d, tuple):
                    _, status, code = d
                    body = json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": f"{code} (injected){text}"})
                    return status, [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-query-error", f"{code};Sender")], body.encode()
            ok = [e for e, d in zip(entries, decisions) if d == "ok"]
            res = {"Successful": [], "Failed": []}
            if ok:
                r = sqs.send_message_batch(QueueUrl=url, Entries=ok)
                res["Successful"] = r.get("Successful", [])
                res["Failed"] = r.get("Failed", [])
            for e, d in zip(entries, decisions):
                if d in ("retry", "fail"):
                    res["Failed"].append({"Id": e["Id"], "SenderFault": d == "fail",
                                          "Code": "InternalError" if d == "retry" else "InvalidParameterValue",
                                          "Message": f"{d} (injected){text}"})
            return 200, [("Content-Type", "application/x-amz-json-1.0")], json.dumps(res).encode()

        self.sqsfront.on_request = on_request
        return attempts

    def test_partial_failures(self):
        url = self.queue("awsbox-partial")

        def plan(line, attempt, n):
            if line == 2 and attempt == 1:
                return "retry"                     # the service's fault once: resent, then sent
            if line == 3:
                return "fail"                      # the sender's fault: reported, not resent
            if line == 5:
                return "retry"                     # always the service's fault: given up after 2
            if line == 6:
                return "drop"                      # no answer for it: reported, not resent
            return "ok"

        attempts = self.hook(url, plan)
        data = "".join(f"msg {i}\n" for i in range(1, 25))
        r = self.run("sqssend", "--lines", "awsbox-partial", input=data, env=self.senv(AWS_MAX_ATTEMPTS="2"))
        self.assertExit(r, 7)
        self.assertRegex(r.err, r"line 3: InvalidParameterValue: fail \(injected\)")
        self.assertRegex(r.err, r"line 5: InternalError: retry \(injected\) \(after 2 attempts\)")
        self.assertRegex(r.err, r"line 6: the response has no result")
        self.assertNotIn("line 2:", r.err)
        self.assertIn("3 of 24 messages not sent", r.err)
        self.assertEqual(attempts[2], 2)
        self.assertEqual(attempts[3], 1)
        self.assertEqual(attempts[5], 2)
        self.assertEqual(attempts[6], 1)
        self.assertEqual([e["Id"] for e in self.batches()[1]["Entries"]], ["2", "5"], "the retry resends only those")
        want = [f"msg {i}" for i in range(1, 25) if i not in (3, 5, 6)]
        self.assertEqual(sorted(m["Body"] for m in self.receive(url, len(want))), sorted(want))

    def test_batch_refused_is_split_to_find_the_line(self):
        url = self.queue("awsbox-split")

        def plan(line, attempt, n):
            return ("batch", 400, "InvalidMessageContents") if line == 7 else "ok"

        self.hook(url, plan)
        data = "".join(f"msg {i}\n" for i in range(1, 16))
        r = self.run("sqssend", "--lines", "awsbox-split", input=data, env=self.senv())
        self.assertExit(r, 7)
        self.assertRegex(r.err, r"line 7: InvalidMessageContents")
        self.assertEqual(r.err.count("sqssend: line "), 1)
        sizes = [len(b["Entries"]) for b in self.batches()]
        self.assertEqual(sizes, [10] + [1] * 10 + [5])
        want = [f"msg {i}" for i in range(1, 16) if i != 7]
        self.assertEqual(sorted(m["Body"] for m in self.receive(url, len(want))), sorted(want))

    def test_service_text_is_cleaned(self):
        """What the service says about a line is printed on one line, with nothing in it that
        drives the terminal (an entry's Message, and a whole batch's error for a line alone)."""
        url = self.queue("awsbox-esc")

        def plan(line, attempt, n):
            return "fail" if line == 2 else ("batch", 400, "InvalidMessageContents") if line == 3 else "ok"

        self.hook(url, plan, text="\x1b[2J\x1b]0;t\x07\nnext")
        r = self.run("sqssend", "--lines", "awsbox-esc", input="a\nb\nc\nd\n", env=self.senv())
        self.assertExit(r, 7)
        self.assertNotIn("\x1b", r.err)
        self.assertIn("line 2: InvalidParameterValue: fail (injected)?[2J?]0;t? next\n", r.err)
        self.assertIn("line 3: InvalidMessageContents: InvalidMessageContents (injected)?[2J?]0;t? next\n", r.err)

    def test_error_for_every_message_stops(self):
        url = self.queue("awsbox-allbad")
        self.hook(url, lambda line, attempt, n: ("batch", 400, "InvalidParameterValue"))
        r = self.run("sqssend", "--lines", "awsbox-allbad", input="".join(f"m{i}\n" for i in range(30)), env=self.senv())
        self.assertExit(r, 1)
        self.assertIn("SendMessageBatch (lines 1-10): 400 InvalidParameterValue", r.err)
        self.assertEqual(len(self.batches()), 11, "one batch, then its lines one by one, then stop")

    def test_access_denied_stops_and_says_where(self):
        url = self.queue("awsbox-denied")
        self.hook(url, lambda line, attempt, n: ("batch", 400, "AccessDenied") if line > 10 else "ok")
        r = self.run("sqssend", "--lines", "awsbox-denied", input="".join(f"m{i}\n" for i in range(1, 31)), env=self.senv())
        self.assertExit(r, 4)
        self.assertIn("10 messages sent; not sent: line 11 and after", r.err)
        self.assertIn("SendMessageBatch (lines 11-20): 400 AccessDenied", r.err)
        self.assertEqual(len(self.receive(url, 10)), 10)


class Stream(SqsCase):
    def run_measured(self, argv, data, env):
        """Runs argv with data on stdin; (exit code, stderr, peak RSS in KiB). GNU time measures:
        a child's ru_maxrss as seen from here would include the RSS of this Python process,
        which the child had between fork and exec."""
        tmp = self.tmpdir()
        rss_file = os.path.join(tmp, "rss")
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file, str(harness.S.bin / argv[0]), *argv[1:]],
                           input=data, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
        with open(rss_file) as f:
            rss = int(f.read().split()[-1])
        return p.returncode, p.stderr.decode(errors="replace"), rss

    @unittest.skipUnless(os.access("/usr/bin/time", os.X_OK), "needs GNU time (/usr/bin/time) to measure memory")
    def test_25000_lines_streamed(self):
        url = self.queue("awsbox-stream")
        sqs = harness.client("sqs")
        got = collections.Counter()
        state = {"forwarded": 0, "received": 0}

        def drain():
            empty = 0
            while state["received"] < state["forwarded"] and empty < 3:
                msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=900).get("Messages", [])
                if not msgs:
                    empty += 1
                    continue
                for m in msgs:
                    got[m["Body"]] += 1
                sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                                for i, m in enumerate(msgs)])
                state["received"] += len(msgs)

        def on_request(req):
            if req.header("x-amz-target") == "AmazonSQS.SendMessageBatch":
                drain()
                state["forwarded"] += len(json.loads(req.body)["Entries"])
            return None

        self.sqsfront.on_request = on_request
        n = 25000
        lines = [f"{i:05d} " + "abcdefghij" * (i % 7) for i in range(1, n + 1)]
        data = ("\n".join(lines) + "\n").encode()
        t0 = time.monotonic()
        rc, err, rss_big = self.run_measured(["sqssend", "--lines", "awsbox-stream"], data, self.senv())
        took = time.monotonic() - t0
        self.assertEqual(rc, 0, err)
        drain()
        self.assertEqual(got, collections.Counter(lines), "lost or duplicated messages")
        sizes = [len(b["Entries"]) for b in self.batches()]
        self.assertEqual(len(sizes), n // 10)
        self.assertTrue(all(s == 10 for s in sizes))
        self.assertEqual(self.sqsfront.connections, 1, "one connection for all requests")
        self.assertClean()
        # memory: the same as for a 100-line input, give or take a little
        self.sqsfront.on_request = None
        small = ("\n".join(lines[:100]) + "\n").encode()
        rc, err, rss_small = self.run_measured(["sqssend", "--lines", "awsbox-stream"], small, self.senv())
        self.assertEqual(rc, 0, err)
        harness.note(f"25,000 lines in {took:.1f} s; peak RSS {rss_big} KiB (100 lines: {rss_small} KiB)")
        self.assertLess(rss_big, 16 * 1024 + harness.emu_rss_kib())
        self.assertLess(rss_big - rss_small, 1024, "memory grew with the input")
