"""test_s3watch.py — s3watch against moto and against s3rver (S3watchS3rver), each behind a
verifying front: found at once, found after an
upload made while it waits, size and age conditions, --since, regex, --count, --key (one exact key,
not longer ones that start with it), JSON output (checked
against `aws s3api list-objects-v2`), --once, timeout (exit 5) kept while a request hangs or the
connection is refused, more than 1,000 keys (pagination), and backing off while S3 throttles (503
SlowDown answered by the front's hook)."""
import json
import os
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import harness

BUCKET = "awsbox-s3watch"


class S3watch(harness.S3TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        harness.client("s3", server=cls.server).create_bucket(Bucket=BUCKET)

    def setUp(self):
        super().setUp()
        self.s3 = self.client("s3")

    def put(self, key, data=b"x"):
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)

    def spawn(self, *args):
        exe = str(harness.S.bin / "s3watch")
        return subprocess.Popen(["s3watch", *args], executable=exe, env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def test_found_at_once(self):
        self.put("now/a.csv", b"1,2\n")
        self.put("now/b.txt")
        out = self.ok(self.run("s3watch", f"s3://{BUCKET}/now/"))
        self.assertIn(out, (f"s3://{BUCKET}/now/a.csv\n", f"s3://{BUCKET}/now/b.txt\n"))
        # JSON lines agree with the AWS CLI's listing.
        out = self.ok(self.run("s3watch", "--format", "json", "--count", "2", f"s3://{BUCKET}/now/"))
        got = sorted((json.loads(l) for l in out.splitlines()), key=lambda o: o["Key"])
        ref = self.aws("s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", "now/", json=True)["Contents"]
        self.assertEqual([o["Key"] for o in got], ["now/a.csv", "now/b.txt"])
        for g, r in zip(got, ref):
            self.assertEqual((g["Key"], g["Size"], g["ETag"]), (r["Key"], r["Size"], r["ETag"]))
            self.assertEqual(g["LastModified"][:19], r["LastModified"][:19])
        self.assertFrontClean()

    def test_found_after_upload(self):
        p = self.spawn("--interval", "0.3", "--timeout", "30", "--regex", r"\.done$", f"s3://{BUCKET}/later/")
        time.sleep(1.0)
        self.put("later/ignored.txt")
        time.sleep(0.6)
        self.assertIsNone(p.poll(), "s3watch ended before the object existed")
        t0 = time.monotonic()
        self.put("later/job.done")
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out.decode(), f"s3://{BUCKET}/later/job.done\n")
        self.assertLess(time.monotonic() - t0, 5)
        self.assertFrontClean()

    def test_size_conditions(self):
        self.put("size/small", b"x" * 10)
        self.put("size/mid", b"x" * 3000)
        self.put("size/big", b"x" * 5000)
        run = lambda *a: self.run("s3watch", "--once", "--count", "3", *a, f"s3://{BUCKET}/size/")  # noqa: E731
        r = self.run("s3watch", "--once", "--count", "1", "--min-size", "2K", "--max-size", "4K", f"s3://{BUCKET}/size/")
        self.assertEqual(self.ok(r), f"s3://{BUCKET}/size/mid\n")
        self.assertExit(run("--min-size", "1K"), 3)  # only two are that big
        self.assertEqual(len(self.ok(run("--max-size", "5000")).splitlines()), 3)
        self.assertExit(self.run("s3watch", "--min-size", "2K", "--max-size", "1K", f"s3://{BUCKET}/size/"), 2)

    def test_age_and_since(self):
        self.put("age/old")
        # Just written: not yet 2 s old; s3watch waits until it is (ages on S3's clock).
        t0 = time.monotonic()
        out = self.ok(self.run("s3watch", "--min-age", "2s", "--interval", "0.3", "--timeout", "20", f"s3://{BUCKET}/age/"))
        self.assertEqual(out, f"s3://{BUCKET}/age/old\n")
        self.assertGreater(time.monotonic() - t0, 0.9)
        self.assertEqual(self.ok(self.run("s3watch", "--once", "--max-age", "1h", f"s3://{BUCKET}/age/")),
                         f"s3://{BUCKET}/age/old\n")
        time.sleep(1.1)
        self.assertExit(self.run("s3watch", "--once", "--max-age", "1s", f"s3://{BUCKET}/age/"), 3)
        # --since now: only what is written from now on (an update of an existing key counts).
        time.sleep(1.0)  # LastModified has whole seconds
        p = self.spawn("--since", "now", "--interval", "0.3", "--timeout", "20", f"s3://{BUCKET}/age/")
        time.sleep(1.2)
        self.assertIsNone(p.poll(), "--since now matched an older object")
        self.put("age/old", b"updated")
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out.decode(), f"s3://{BUCKET}/age/old\n")
        self.assertExit(self.run("s3watch", "--once", "--since", "2000-01-01T00:00:00Z", f"s3://{BUCKET}/age/"), 0)
        self.assertExit(self.run("s3watch", "--once", "--since", "2999-01-01T00:00:00Z", f"s3://{BUCKET}/age/"), 3)

    def test_regex_and_count(self):
        for k in ("rx/in/a.csv", "rx/in/b.csv", "rx/in/c.json", "rx/other.csv"):
            self.put(k)
        # The regex sees the key without the prefix: "^a" matches rx/in/a.csv.
        self.assertEqual(self.ok(self.run("s3watch", "--once", "--regex", "^a", f"s3://{BUCKET}/rx/in/")),
                         f"s3://{BUCKET}/rx/in/a.csv\n")
        out = self.ok(self.run("s3watch", "--once", "--count", "2", "--regex", r"\.csv$", f"s3://{BUCKET}/rx/in/"))
        self.assertEqual(sorted(out.splitlines()), [f"s3://{BUCKET}/rx/in/a.csv", f"s3://{BUCKET}/rx/in/b.csv"])
        self.assertExit(self.run("s3watch", "--once", "--count", "3", "--regex", r"\.csv$", f"s3://{BUCKET}/rx/in/"), 3)
        self.assertExit(self.run("s3watch", "--regex", "(", f"s3://{BUCKET}/rx/"), 2)

    def test_key_matches_exactly(self):
        self.put("flag/batch-42.fin.tmp")
        self.put("flag/batch-42.fin.tmp2")
        url = f"s3://{BUCKET}/flag/batch-42.fin"
        # As a prefix it matches the longer key; as a key, only itself (as s3api wait object-exists).
        self.assertEqual(self.ok(self.run("s3watch", "--once", url)), f"{url}.tmp\n")
        self.assertExit(self.run("s3watch", "--once", "--key", url), 3)
        lists = [r for r in self.front.requests if "list-type=2" in r.target]
        self.assertIn("max-keys=1", lists[-1].target)  # one key is enough to know
        p = self.spawn("-k", "--interval", "0.3", "--timeout", "30", url)
        time.sleep(1.0)
        self.put("flag/batch-42.fin.tmp3")
        time.sleep(0.6)
        self.assertIsNone(p.poll(), "--key matched a longer key")
        self.put("flag/batch-42.fin", b"done")
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out.decode(), f"{url}\n")
        # It combines with the other conditions.
        self.assertEqual(self.ok(self.run("s3watch", "-k", "--once", "--min-size", "4", url)), f"{url}\n")
        self.assertExit(self.run("s3watch", "-k", "--once", "--min-size", "5", url), 3)
        self.assertExit(self.run("s3watch", "-k", "--once", "--since", "2999-01-01T00:00:00Z", url), 3)
        out = self.ok(self.run("s3watch", "-k", "--once", "--max-age", "1h", "--format", "json", url))
        self.assertEqual((json.loads(out)["Key"], json.loads(out)["Size"]), ("flag/batch-42.fin", 4))
        self.assertExit(self.run("s3watch", "-k", "--once", f"s3://{BUCKET}/flag/nothing"), 3)
        # What --key cannot mean.
        for args in (["-k", f"s3://{BUCKET}/"], ["-k", "--regex", "x", url], ["-k", "--count", "2", url]):
            r = self.run("s3watch", *args)
            self.assertExit(r, 2, str(args))
            self.assertIn("--key", r.err.splitlines()[0])
        self.assertFrontClean()

    def test_keys_as_stored(self):
        """Listed keys come out as stored, whether the server URL-encodes the listing (moto, S3)
        or ignores encoding-type (s3rver): + stays +, a % escape is not decoded, and --key finds
        such a key."""
        keys = ["sym/a+b.txt", "sym/per%25cent", "sym/sp ace+", "sym/\u00e9#?&=~;,'"]
        for k in keys:
            self.put(k)
        out = self.ok(self.run("s3watch", "--once", "--count", str(len(keys)), f"s3://{BUCKET}/sym/"))
        self.assertEqual(sorted(out.splitlines()), sorted(f"s3://{BUCKET}/{k}" for k in keys))
        for k in keys:
            self.assertEqual(self.ok(self.run("s3watch", "--once", "--key", f"s3://{BUCKET}/{k}")), f"s3://{BUCKET}/{k}\n")

    def test_timeout_and_errors(self):
        t0 = time.monotonic()
        r = self.run("s3watch", "--timeout", "1.5", "--interval", "0.4", f"s3://{BUCKET}/never/")
        took = time.monotonic() - t0
        self.assertExit(r, 5)
        self.assertIn("timed out", r.err)
        self.assertTrue(1.4 < took < 6, took)
        self.assertExit(self.run("s3watch", "--once", f"s3://{BUCKET}/never/"), 3)
        self.assertExit(self.run("s3watch", "--once", "s3://awsbox-no-such-bucket/x"), 3)
        self.assertExit(self.run("s3watch", "--once", f"s3://{BUCKET}/x", env=self.env(AWS_SECRET_ACCESS_KEY="bad")), 4)
        self.assertExit(self.run("s3watch", "not-a-url"), 2)

    def test_timeout_cuts_off_a_hung_request(self):
        self.once("a socket that never answers stands in for the server")
        # A server that accepts connections (the kernel does, from the backlog) and never answers:
        # the request in flight is cut off at the deadline, not after 3 x the 60 s read timeout.
        hung = socket.socket()
        self.addCleanup(hung.close)
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        url = f"http://127.0.0.1:{hung.getsockname()[1]}"
        for extra in ([], ["--once"]):
            t0 = time.monotonic()
            r = self.run("s3watch", "--endpoint-url", url, "--timeout", "2s", *extra, "s3://bkt/a.txt", timeout=20)
            took = time.monotonic() - t0
            self.assertExit(r, 5)
            self.assertIn("s3watch: timed out after 2s: 0 of 1 object matched under s3://bkt/a.txt", r.err)
            self.assertIn("cut off at the deadline", r.err)
            self.assertTrue(1.9 < took < 3, took)
        # Connection refused: retries and their backoff stop at the deadline too.
        refused = socket.socket()
        self.addCleanup(refused.close)
        refused.bind(("127.0.0.1", 0))  # bound, never listening
        url = f"http://127.0.0.1:{refused.getsockname()[1]}"
        t0 = time.monotonic()
        r = self.run("s3watch", "--endpoint-url", url, "--timeout", "2s", "--interval", "0.5", "s3://bkt/a.txt",
                     env=self.env(AWS_MAX_ATTEMPTS="20"), timeout=20)
        took = time.monotonic() - t0
        self.assertExit(r, 5)
        self.assertIn("timed out after 2s", r.err)
        self.assertIn("Connection refused", r.err)
        self.assertTrue(1.9 < took < 3, took)

    def test_more_than_1000_keys(self):
        direct = self.client("s3", direct=True)  # set-up straight into moto: quicker, not under test
        keys = [f"many/k{i:05d}" for i in range(1100)]
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda k: direct.put_object(Bucket=BUCKET, Key=k, Body=b"."), keys))
        # The last key sorts on the second page of the listing.
        self.assertEqual(self.ok(self.run("s3watch", "--once", "--regex", "k01099$", f"s3://{BUCKET}/many/")),
                         f"s3://{BUCKET}/many/k01099\n")
        out = self.ok(self.run("s3watch", "--once", "--count", "1100", f"s3://{BUCKET}/many/"))
        self.assertEqual(sorted(out.splitlines()), [f"s3://{BUCKET}/{k}" for k in keys])
        self.assertExit(self.run("s3watch", "--once", "--count", "1101", f"s3://{BUCKET}/many/"), 3)
        lists = [r for r in self.front.requests if "list-type=2" in r.target]
        self.assertTrue(any("continuation-token=" in r.target for r in lists), "no second page was asked for")
        self.assertFrontClean()

    def test_listing_repeats_its_token(self):
        """A listing that answers IsTruncated with the continuation token it was given: one clear
        line and exit 1, not a loop that never ends."""
        self.once("the front's hook answers")
        self.front.on_request = harness.repeating_listing("loop/", "loop/a")
        try:
            r = self.run("s3watch", "--once", "--regex", "never$", f"s3://{BUCKET}/loop/", timeout=15)
        finally:
            self.front.on_request = None
        self.assertExit(r, 1)
        self.assertIn("repeated a continuation token", r.err)

    def test_backs_off_while_throttled(self):
        self.once("the front's hook answers")
        self.put("thr/x")
        f = self.front
        seen = []

        def hook(req):
            if "list-type=2" in req.target:
                seen.append(time.monotonic())
                if len(seen) <= 5:
                    return 503, [("Content-Type", "application/xml")], (
                        b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")
        f.on_request = hook
        env = self.env(AWS_MAX_ATTEMPTS="2")
        r = self.run("s3watch", "--interval", "0.2", "--timeout", "60", f"s3://{BUCKET}/thr/", env=env, timeout=60)
        f.on_request = None
        self.assertExit(r, 0)
        self.assertEqual(r.out, f"s3://{BUCKET}/thr/x\n")
        self.assertIn("SlowDown", r.err)  # it said why it waited
        self.assertGreaterEqual(len(seen), 6)
        # Without throttling it would poll every 0.2 s; backing off spaces the later tries out.
        self.assertGreater(seen[-1] - seen[0], 0.6)


globals().update(harness.per_server(S3watch))
