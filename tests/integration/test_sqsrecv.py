"""test_sqsrecv.py — sqsrecv (and sqssend --linger) against moto.

Most tests use moto (a), IAM authentication on, so every request's signature is recomputed by
moto with botocore. The bulk tests (-j 4 on 200 messages) and the bucket notification use moto
(b), no authentication: moto's SQS under IAM auth is slow with many messages, and moto sends a
bucket's notifications only to queues on its own server. What is left in a queue is checked
with boto3 (an oracle no one here wrote): GetQueueAttributes counts and ReceiveMessage.
"""
import base64
import collections
import json
import os
import signal
import subprocess
import threading
import time
import urllib.parse

import harness
import front as frontmod
from harness import ACCOUNT, REGION, AwsboxTestCase

# a command that appends "START t", its body, "END t" to $OUT and exits with $RC (default 0)
LOG_CMD = ['sh', '-c', 'echo "START $(date +%s.%N) $SQS_MESSAGE_ID" >> "$OUT"; body=$(cat); '
           'sleep "${NAP:-0}"; echo "END $(date +%s.%N) $SQS_MESSAGE_ID $SQS_RECEIPT_COUNT ${SQS_GROUP_ID:-} $body" >> "$OUT"; '
           'case "$body" in *fail*) exit 3;; esac']


class SqsRecvCase(AwsboxTestCase):
    plain = False  # moto (b), no authentication

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.plain:
            import boto3
            cls.sqs_url = harness.moto_plain().url
            cls.sqs = boto3.client("sqs", endpoint_url=cls.sqs_url, region_name=REGION, aws_access_key_id="AKIAPLAIN",
                                   aws_secret_access_key="plain")
        else:
            cls.sqs = harness.client("sqs")
            cls.sqs_url = harness.moto_auth().url

    def renv(self, **kw):
        return self.env(AWS_ENDPOINT_URL_SQS=self.sqs_url, **kw)

    def queue(self, name, **attrs):
        url = self.sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]
        self.addCleanup(self.sqs.delete_queue, QueueUrl=url)
        return url

    def send(self, url, bodies, **kw):
        for i in range(0, len(bodies), 10):
            entries = [dict(Id=str(k), MessageBody=b, **kw) for k, b in enumerate(bodies[i:i + 10])]
            if url.endswith(".fifo"):
                for k, e in enumerate(entries):
                    e.setdefault("MessageDeduplicationId", f"d{i + k}-{abs(hash(e['MessageBody']))}")
            r = self.sqs.send_message_batch(QueueUrl=url, Entries=entries)
            self.assertFalse(r.get("Failed"), r)

    def counts(self, url):
        a = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])

    def start(self, *args, env=None, stdin=subprocess.DEVNULL):
        """sqsrecv/sqssend in the background (its argv[0] through the installed symlink)."""
        p = subprocess.Popen([str(harness.S.bin / args[0]), *args[1:]], env=env or self.renv(), stdin=stdin,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        return p

    def log(self, path):
        """The START/END lines LOG_CMD wrote: [(kind, time, id, rest...)]."""
        out = []
        if os.path.exists(path):
            for line in open(path, encoding="utf-8"):
                f = line.rstrip("\n").split(" ", 3)
                out.append((f[0], float(f[1]), f[2], f[3] if len(f) > 3 else ""))
        return out


class Plain(SqsRecvCase):
    def test_drain_writes_and_deletes(self):
        url = self.queue("recv-plain")
        bodies = [f"message {i} wörld \U0001F600" for i in range(25)] + ["two\nlines"]
        self.send(url, bodies)
        r = self.run("sqsrecv", "--drain", "recv-plain", env=self.renv())
        self.assertEqual(sorted(self.ok(r).split("\n")[:-1]), sorted("\n".join(bodies).split("\n")))
        self.assertEqual(self.counts(url), (0, 0), "every message written was deleted")

    def test_nul_json_max_no_delete(self):
        url = self.queue("recv-formats")
        self.send(url, ["a\nb", "c"], MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
        r = self.run("sqsrecv", "-0", "--max", "2", "--no-delete", url, env=self.renv())
        self.assertEqual(sorted(self.ok(r).split("\0")), ["", "a\nb", "c"])
        self.assertEqual(self.counts(url), (0, 2), "--no-delete leaves them in flight")
        # by ARN; they come back once visible, counted as received twice
        self.sqs.purge_queue(QueueUrl=url)
        self.send(url, ["x"], MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
        r = self.run("sqsrecv", "--format", "json", "--max", "1", f"arn:aws:sqs:{REGION}:{ACCOUNT}:recv-formats",
                     env=self.renv())
        lines = self.ok(r).splitlines()
        self.assertEqual(len(lines), 1)
        m = json.loads(lines[0])
        self.assertEqual(m["Body"], "x")
        self.assertEqual(m["ApproximateReceiveCount"], 1)
        self.assertEqual(m["MessageAttributes"]["k"]["StringValue"], "v")
        self.assertTrue(m["MessageId"] and m["ReceiptHandle"])
        self.assertEqual(self.counts(url), (0, 0))

    def test_usage_and_not_found(self):
        self.assertExit(self.run("sqsrecv", "q", "--exec", env=self.renv()), 2)
        self.assertExit(self.run("sqsrecv", "-j", "2", "q", env=self.renv()), 2)
        self.assertExit(self.run("sqsrecv", "arn:aws:sqs:x", env=self.renv()), 2)
        r = self.run("sqsrecv", "--drain", "recv-no-such-queue", env=self.renv())
        self.assertExit(r, 3)
        self.assertIn("recv-no-such-queue", r.err)

    def test_linger_sends_a_partial_batch(self):
        url = self.queue("recv-linger")
        p = self.start("sqssend", "--lines", "--quiet", "recv-linger", stdin=subprocess.PIPE)
        p.stdin.write(b"first line\n")
        p.stdin.flush()
        t0 = time.monotonic()
        got = []
        while not got and time.monotonic() - t0 < 1.0:
            got = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        took = time.monotonic() - t0
        self.assertEqual([m["Body"] for m in got], ["first line"], "the line did not arrive within a second")
        self.assertLess(took, 1.0)
        self.assertIsNone(p.poll(), "the writer is still open, sqssend still running")
        p.stdin.write(b"second\n")
        p.stdin.close()
        self.assertEqual(p.wait(10), 0)
        got = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        self.assertEqual([m["Body"] for m in got], ["second"])


class Exec(SqsRecvCase):
    def test_exec_env_stdin_delete(self):
        url = self.queue("recv-exec")
        blob = bytes(range(256))
        self.send(url, ["one", "two"], MessageAttributes={
            "trace-id": {"DataType": "String", "StringValue": "t 1"},
            "n": {"DataType": "Number", "StringValue": "42"},
            "b": {"DataType": "Binary", "BinaryValue": blob}})
        d = self.tmpdir()
        r = self.run("sqsrecv", "--drain", "recv-exec", "--exec", "--", "sh", "-c",
                     'cat > "$D/$SQS_MESSAGE_ID"; env | grep -E "^(SQS_|S3_)" | sort > "$D/$SQS_MESSAGE_ID.env"',
                     env=self.renv(D=d))
        self.ok(r)
        ids = sorted(f for f in os.listdir(d) if not f.endswith(".env"))
        self.assertEqual(len(ids), 2)
        self.assertEqual(sorted(open(os.path.join(d, i)).read() for i in ids), ["one", "two"])
        env = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(d, ids[0] + ".env")))
        self.assertEqual(env["SQS_MESSAGE_ID"], ids[0])
        self.assertEqual(env["SQS_RECEIPT_COUNT"], "1")
        self.assertEqual(env["SQS_QUEUE_URL"], url)
        self.assertEqual(env["SQS_ATTR_TRACE_ID"], "t 1")
        self.assertEqual(env["SQS_ATTR_N"], "42")
        self.assertEqual(base64.b64decode(env["SQS_ATTR_B"]), blob)
        self.assertEqual(self.counts(url), (0, 0))

    def test_failure_visible_again_and_received_again(self):
        url = self.queue("recv-fail", VisibilityTimeout=60)
        self.send(url, ["please fail"])
        out = os.path.join(self.tmpdir(), "log")
        r = self.run("sqsrecv", "--max", "1", "recv-fail", "--exec", "--", *LOG_CMD, env=self.renv(OUT=out))
        self.assertExit(r, 7)
        self.assertIn("exited with 3", r.err)
        # visible again at once (the queue's timeout is 60 s): a second worker gets it now
        t0 = time.monotonic()
        r = self.run("sqsrecv", "--format", "json", "--max", "1", "--timeout", "5", "recv-fail", env=self.renv())
        self.assertLess(time.monotonic() - t0, 4)
        m = json.loads(self.ok(r))
        self.assertEqual((m["Body"], m["ApproximateReceiveCount"]), ("please fail", 2))
        self.assertEqual(self.counts(url), (0, 0))

    def test_retry_delay_and_max_receives(self):
        url = self.queue("recv-retry", VisibilityTimeout=60)
        self.send(url, ["fail a"])
        out = os.path.join(self.tmpdir(), "log")
        r = self.run("sqsrecv", "--max", "1", "--retry-delay", "3", "recv-retry", "--exec", "--", *LOG_CMD,
                     env=self.renv(OUT=out))
        self.assertExit(r, 7)
        self.assertEqual(self.counts(url), (0, 1), "invisible for --retry-delay")
        time.sleep(3.5)
        self.assertEqual(self.counts(url), (1, 0), "visible after --retry-delay")
        # received a second time: with --max-receives 2 it is left alone (for the redrive policy)
        r = self.run("sqsrecv", "--max", "1", "--max-receives", "2", "recv-retry", "--exec", "--", *LOG_CMD,
                     env=self.renv(OUT=out))
        self.assertExit(r, 7)
        self.assertIn("redrive", r.err)
        self.assertEqual(self.counts(url), (0, 1), "not made visible again")

    def test_heartbeat_keeps_a_long_job_from_a_second_worker(self):
        url = self.queue("recv-beat", VisibilityTimeout=3)
        self.send(url, ["long job"])
        out = os.path.join(self.tmpdir(), "log")
        a = self.start("sqsrecv", "--max", "1", "recv-beat", "--exec", "--", *LOG_CMD, env=self.renv(OUT=out, NAP="8"))
        time.sleep(1)
        # a second worker polls all along: without the heartbeat the message would be its after 3 s
        b = self.run("sqsrecv", "--timeout", "9", "recv-beat", env=self.renv(), timeout=30)
        self.assertEqual(self.ok(b), "", "a second worker received the message while the first ran it")
        self.assertEqual(a.wait(20), 0, a.stderr.read())
        self.assertEqual([l[0] for l in self.log(out)], ["START", "END"])
        self.assertEqual(self.counts(url), (0, 0))

    def test_exec_timeout(self):
        url = self.queue("recv-etime", VisibilityTimeout=60)
        self.send(url, ["slow"])
        out = os.path.join(self.tmpdir(), "log")
        t0 = time.monotonic()
        r = self.run("sqsrecv", "--max", "1", "--exec-timeout", "1", "recv-etime", "--exec", "--", *LOG_CMD,
                     env=self.renv(OUT=out, NAP="20"))
        self.assertExit(r, 7)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertIn("--exec-timeout", r.err)
        self.assertEqual([l[0] for l in self.log(out)], ["START"], "the command was stopped")
        self.assertEqual(self.counts(url), (1, 0), "visible again")

    def test_sigterm_grace(self):
        url = self.queue("recv-term", VisibilityTimeout=60)
        self.send(url, [f"m{i}" for i in range(10)])
        out = os.path.join(self.tmpdir(), "log")
        p = self.start("sqsrecv", "-j", "2", "recv-term", "--exec", "--", *LOG_CMD, env=self.renv(OUT=out, NAP="2"))
        for _ in range(100):
            if len(self.log(out)) >= 2:
                break
            time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(15), 0, p.stderr.read())
        log = self.log(out)
        self.assertEqual(sorted(l[0] for l in log), ["END", "END", "START", "START"], "the running two finished")
        self.assertEqual(self.counts(url), (8, 0), "two done and deleted, the rest visible again at once")
        # a command that outlives --grace is stopped; its message goes back; exit 7
        p = self.start("sqsrecv", "--grace", "1", "recv-term", "--exec", "--", *LOG_CMD, env=self.renv(OUT=out, NAP="30"))
        for _ in range(100):
            if len(self.log(out)) >= 5:
                break
            time.sleep(0.05)
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(15), 7)
        self.assertLess(time.monotonic() - t0, 8)
        self.assertIn("--grace", p.stderr.read().decode())
        self.assertEqual(len(self.log(out)), 5, "killed, no END")
        self.assertEqual(self.counts(url), (8, 0))


class Bulk(SqsRecvCase):
    plain = True

    def test_jobs_4_on_200_messages(self):
        url = self.queue("recv-bulk")
        bodies = [f"job {i}" for i in range(200)]
        self.send(url, bodies)
        out = os.path.join(self.tmpdir(), "log")
        t0 = time.monotonic()
        r = self.run("sqsrecv", "-j", "4", "--drain", "recv-bulk", "--exec", "--", *LOG_CMD,
                     env=self.renv(OUT=out, NAP="0.1"), timeout=120)
        self.ok(r)
        took = time.monotonic() - t0
        log = self.log(out)
        ends = [l for l in log if l[0] == "END"]
        self.assertEqual(sorted(l[3].split(" ", 2)[2] for l in ends), sorted(bodies), "each exactly once")
        # concurrency: at most 4 commands at a time, and more than one
        ev = sorted([(t, 1) for k, t, *_ in log if k == "START"] + [(t, -1) for k, t, *_ in log if k == "END"],
                    key=lambda x: (x[0], x[1]))
        cur = peak = 0
        for _, d in ev:
            cur += d
            peak = max(peak, cur)
        self.assertLessEqual(peak, 4)
        self.assertGreater(peak, 1)
        self.assertEqual(self.counts(url), (0, 0))
        harness.note(f"200 messages, -j 4, 0.1 s each: {took:.1f} s (serial would be >= 20 s); peak {peak} at once")

    def test_fifo_group_order(self):
        url = self.queue("recv-order.fifo", FifoQueue="true", VisibilityTimeout=30)
        groups = {"g1": [f"g1-{i}" for i in range(8)], "g2": [f"g2-{i}" for i in range(8)]}
        for g, bodies in groups.items():
            self.send(url, bodies, MessageGroupId=g)
        out = os.path.join(self.tmpdir(), "log")
        r = self.run("sqsrecv", "-j", "4", "--drain", "recv-order.fifo", "--exec", "--", *LOG_CMD,
                     env=self.renv(OUT=out, NAP="0.05"), timeout=120)
        self.ok(r)
        log = self.log(out)
        ends = [l for l in log if l[0] == "END"]
        for g, bodies in groups.items():
            got = [l[3].split(" ", 2)[2] for l in ends if l[3].split(" ")[1] == g]
            self.assertEqual(got, bodies, f"group {g} in order")
        # one message of a group at a time: a group's START never falls inside another of its runs
        running = {}
        for k, t, mid, rest in log:
            g = next(l[3].split(" ")[1] for l in ends if l[2] == mid)
            if k == "START":
                self.assertNotIn(g, running, f"two messages of {g} at once")
                running[g] = mid
            else:
                running.pop(g)
        self.assertEqual(self.counts(url), (0, 0))

    def test_s3_event_formats(self):
        url = self.queue("recv-s3")
        keys = ["dir/a b.txt", "c+d.txt", "ünï cødé/€.bin", "100%.csv"]
        quoted = [urllib.parse.quote_plus(k, safe="/") for k in keys]

        def record(key, name="ObjectCreated:Put"):
            return {"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": name,
                    "s3": {"bucket": {"name": "bkt"}, "object": {"key": key, "size": 7}}}
        direct = json.dumps({"Records": [record(quoted[0]), record(quoted[1])]})
        sns = json.dumps({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:t",
                          "Message": json.dumps({"Records": [record(quoted[2])]})})
        # EventBridge carries the key as it is (moto's own EventBridge event below shows it too)
        eb = json.dumps({"version": "0", "detail-type": "Object Created", "source": "aws.s3",
                         "detail": {"bucket": {"name": "bkt"}, "object": {"key": keys[3], "size": 9}}})
        test = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "bkt"})
        self.send(url, [direct, sns, eb, test])
        r = self.run("sqsrecv", "--s3-events", "--drain", "recv-s3", env=self.renv())
        self.assertEqual(sorted(self.ok(r).splitlines()), sorted(f"s3://bkt/{k}" for k in keys))
        self.assertEqual(self.counts(url), (0, 0), "the test event is deleted too")
        # --exec: once per object, with S3_* set; a message that is no S3 event is left, exit 7
        self.send(url, [direct, eb, test, "not an event"])
        d = self.tmpdir()
        r = self.run("sqsrecv", "--s3-events", "--drain", "recv-s3", "--exec", "--", "sh", "-c",
                     'printf "%s|%s|%s|%s|%s" "$S3_URL" "$S3_BUCKET" "$S3_KEY" "$S3_SIZE" "$S3_EVENT" > "$D/$(date +%s%N)"',
                     env=self.renv(D=d))
        self.assertExit(r, 7)
        self.assertIn("not an S3 event", r.err)
        got = sorted(open(os.path.join(d, f), encoding="utf-8").read() for f in os.listdir(d))
        self.assertEqual(got, sorted([f"s3://bkt/{keys[0]}|bkt|{keys[0]}|7|ObjectCreated:Put",
                                      f"s3://bkt/{keys[1]}|bkt|{keys[1]}|7|ObjectCreated:Put",
                                      f"s3://bkt/{keys[3]}|bkt|{keys[3]}|9|Object Created"]))
        self.assertEqual(self.counts(url), (0, 1), "only the message that is not an event is left")

    def test_moto_bucket_notification(self):
        url = self.queue("recv-notify")
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3 = harness.client("s3", direct=True)
        s3.create_bucket(Bucket="recv-notify-bucket")
        s3.put_bucket_notification_configuration(Bucket="recv-notify-bucket", NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
        key = "in coming/a+b ü.txt"
        s3.put_object(Bucket="recv-notify-bucket", Key=key, Body=b"hello")
        d = self.tmpdir()
        r = self.run("sqsrecv", "--s3-events", "--drain", "recv-notify", "--exec", "--", "sh", "-c",
                     'printf "%s" "$S3_KEY" > "$D/key"; printf "%s" "$S3_SIZE $S3_EVENT" > "$D/rest"',
                     env=self.renv(D=d))
        self.ok(r)
        self.assertEqual(open(os.path.join(d, "key"), encoding="utf-8").read(), key)
        self.assertEqual(open(os.path.join(d, "rest")).read(), "5 ObjectCreated:Put")
        self.assertEqual(self.counts(url), (0, 0), "the test event and the record are deleted")


    def test_moto_eventbridge_notification(self):
        """S3 -> EventBridge -> SQS, each step moto's own: the key arrives unencoded and is used as it is."""
        url = self.queue("recv-eb")
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3 = harness.client("s3", direct=True)
        import boto3
        events = boto3.client("events", endpoint_url=harness.moto_plain().url, region_name=REGION,
                              aws_access_key_id="AKIAPLAIN", aws_secret_access_key="plain")
        s3.create_bucket(Bucket="recv-eb-bucket")
        s3.put_bucket_notification_configuration(Bucket="recv-eb-bucket", NotificationConfiguration={
            "EventBridgeConfiguration": {}})
        events.put_rule(Name="recv-eb", EventPattern=json.dumps({"source": ["aws.s3"]}))
        self.addCleanup(events.delete_rule, Name="recv-eb")
        events.put_targets(Rule="recv-eb", Targets=[{"Id": "q", "Arn": arn}])
        self.addCleanup(events.remove_targets, Rule="recv-eb", Ids=["q"])
        key = "x/a+b c%41:1 ü.txt"
        s3.put_object(Bucket="recv-eb-bucket", Key=key, Body=b"hello!")
        d = self.tmpdir()
        r = self.run("sqsrecv", "--s3-events", "--drain", "recv-eb", "--exec", "--", "sh", "-c",
                     'printf "%s|%s" "$S3_KEY" "$S3_SIZE" > "$D/$S3_EVENT"', env=self.renv(D=d))
        self.ok(r)
        self.assertIn("Object Created", os.listdir(d))
        for event in os.listdir(d):  # moto also sends "Object Tags Added" for the same object
            self.assertEqual(open(os.path.join(d, event), encoding="utf-8").read(), f"{key}|6", event)


class Failures(SqsRecvCase):
    """A verifying front (front.py) before moto (a) plays the service for DeleteMessageBatch."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keys = frontmod.Keys()
        keys.add(*harness.key())
        cls.front = frontmod.Front(harness.moto_auth().url, keys, services=("sqs",)).start()
        harness.at_exit(cls.front.stop)

    def setUp(self):
        super().setUp()
        self.front.reset()

    def test_failed_delete_entries_are_reported(self):
        url = self.queue("recv-delfail", VisibilityTimeout=60)
        self.send(url, ["a", "b", "c"])
        seen = collections.Counter()
        refused = []

        def on_request(req):
            if req.header("x-amz-target") != "AmazonSQS.DeleteMessageBatch":
                return None
            entries = json.loads(req.body)["Entries"]
            res = {"Successful": [], "Failed": []}
            for i, e in enumerate(entries):
                seen[e["ReceiptHandle"]] += 1
                if not refused and i == 0:
                    refused.append(e["ReceiptHandle"])
                if e["ReceiptHandle"] in refused:  # the sender's fault: reported, not resent
                    res["Failed"].append({"Id": e["Id"], "SenderFault": True, "Code": "ReceiptHandleIsInvalid",
                                          "Message": "refused (injected)"})
                elif seen[e["ReceiptHandle"]] == 1 and i == 1:  # the service's fault once: resent
                    res["Failed"].append({"Id": e["Id"], "SenderFault": False, "Code": "InternalError",
                                          "Message": "once (injected)"})
                else:
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=e["ReceiptHandle"])
                    res["Successful"].append({"Id": e["Id"]})
            return 200, [("Content-Type", "application/x-amz-json-1.0")], json.dumps(res).encode()

        self.front.on_request = on_request
        r = self.run("sqsrecv", "--drain", "recv-delfail", env=self.env(AWS_ENDPOINT_URL_SQS=self.front.url))
        self.assertExit(r, 7)
        self.assertEqual(sorted(r.out.split()), ["a", "b", "c"])
        lines = [l for l in r.err.splitlines() if "DeleteMessageBatch" in l]
        self.assertEqual(len(lines), 1, r.err)
        self.assertRegex(lines[0], r"^sqsrecv: message [0-9a-f-]{36}: DeleteMessageBatch: ReceiptHandleIsInvalid: refused")
        self.assertEqual(sorted(seen.values()), [1, 1, 2], "the service's failure resent once, the refusal not")
        self.assertEqual(self.counts(url), (0, 1), "the refused one is still there")
        self.assertEqual(self.front.rejected, [])

    def test_command_that_cannot_run(self):
        url = self.queue("recv-nocmd", VisibilityTimeout=60)
        self.send(url, ["x"])
        r = self.run("sqsrecv", "--drain", "recv-nocmd", "--exec", "--", "/nonexistent/cmd", env=self.renv())
        self.assertExit(r, 1)
        self.assertIn("cannot run /nonexistent/cmd", r.err)
        self.assertEqual(self.counts(url), (1, 0), "the message is visible again")
