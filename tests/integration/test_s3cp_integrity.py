"""test_s3cp_integrity.py — what keeps s3cp's output whole: checksums (CRC32C, CRC32, composite,
an MD5 ETag, objects that cannot be verified), corrupted and cut downloads, a refused piece that
stops the others' retries, uploads and downloads killed midway (no multipart upload, no file
left), and the production path over TLS. Against moto and s3rver (S3cpS3rver); the fronts, the
oracles and what the s3cp modules share: s3cpcase.py.

Where moto falls short, the front's on_request hook plays S3's documented part:
  - moto computes CRC32C as CRC32 when the crc32c module is missing (it is, here), so the checksums
    it derives for multipart CRC32C uploads are wrong, and it does not serve ?partNumber=N GETs of
    multipart objects. Composite-checksum verification is therefore tested against S3's behaviour
    emulated in the hook (values computed here with zlib), and downloads of multipart objects
    from moto itself cannot be verified (s3cp says so under --debug, as the AWS CLI never does).
  - The production path over TLS (UNSIGNED-PAYLOAD, aws-chunked with a trailing checksum) is run
    through a TLS relay in front of the front (test_tls_streaming_trailer).
"""
import datetime
import hashlib
import io
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
import zlib

import harness
import s3cpcase
from harness import ROOT
from listener import Listener
from s3cpcase import BUCKET, MIB, PS, crc32_b64, crc32c_b64

TOOL = ROOT / (os.environ.get("AWSBOX_TOOLS") or "build/tools") / "s3chunk"
SLOW = 3 if harness.AWSBOX.parent.name in ("tsan", "asan", "valgrind", "aarch64") else 1  # sanitizers, qemu


def asked(entry, size):
    """The first and last byte a GET in a fault proxy's log asked for (all size bytes without a Range)."""
    if not entry["range"]:
        return 0, size - 1
    return tuple(map(int, re.fullmatch(r"bytes=(\d+)-(\d+)", entry["range"]).groups()))


class S3cp(s3cpcase.S3cpCase):
    # ---- checksums and corrupted downloads ---------------------------------------------------
    def test_unverifiable_download_says_so(self):
        """An object whose checksum cannot be checked here (moto serves no part checksums for a
        composite one; a multipart ETag is no MD5) downloads, with one warning line saying it
        was not verified; --quiet drops the warning, --checksum none asks for none."""
        self.limitation("mpu-etag")  # there, a multipart object's ETag is its MD5: verified
        data = os.urandom(PS + 10)
        self.ok(self.run("s3cp", "--part-size", "5M", self.path("uv", data), f"s3://{BUCKET}/uv/obj"))
        r = self.run("s3cp", f"s3://{BUCKET}/uv/obj", self.path("uv.out"))
        self.assertExit(r, 0)
        self.assertEqual(self.read(self.path("uv.out")), data)
        self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)
        self.assertIn(f"s3://{BUCKET}/uv/obj: not verified", r.err)
        for args in (["--quiet"], ["--checksum", "none"]):
            with self.subTest(args=args):
                r = self.run("s3cp", *args, f"s3://{BUCKET}/uv/obj", "-")
                self.assertEqual((r.rc, r.err), (0, ""))
                self.assertEqual(r.outb, data)

    def test_md5_etag_only_above_part_size(self):
        """An object above the part size written by one PutObject with no stored checksum (as
        before S3 stored checksums by default, and as most S3-compatible stores keep them): it
        is fetched in ranges to a file, then checked against its MD5 ETag; alone and with -r."""
        data = os.urandom(2 * PS + 4321)
        key = "md5only/big.bin"
        self.client("s3", checksums="when_required").put_object(Bucket=BUCKET, Key=key, Body=data)
        h = self.s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        self.assertEqual([k for k in h if k.startswith("Checksum")], [], "the object has a stored checksum")
        self.assertEqual(h["ETag"], '"%s"' % hashlib.md5(data).hexdigest())
        out = self.path("md5only.out")
        r = self.run("s3cp", "--debug", "--part-size", "5M", f"s3://{BUCKET}/{key}", out)
        self.assertExit(r, 0)
        self.assertEqual(self.read(out), data)
        self.assertIn("verified: md5", r.err)
        tree = os.path.join(self.d, "md5tree")
        self.ok(self.run("s3cp", "-r", "--part-size", "5M", f"s3://{BUCKET}/md5only/", tree))
        self.assertEqual(self.read(os.path.join(tree, "big.bin")), data)
        self.assertEqual(self.leftovers(), [])
        self.assertEqual(self.leftovers(tree), [])

    def test_head_without_length(self):
        """A HeadObject answer with no Content-Length (chunked, as no S3 sends it) gives no size to
        fetch and check against: exit 1 with a line saying so, never an empty file and exit 0."""
        self.once("the front's hook answers")
        key = "nolength/obj"
        self.ok(self.run("s3cp", self.path("nl", os.urandom(3000)), f"s3://{BUCKET}/{key}"))

        def hook(req):
            if req.method == "HEAD" and req.path.endswith("/obj"):
                return 200, [("ETag", '"0123456789abcdef0123456789abcdef-2"'), ("Transfer-Encoding", "chunked")], b""
            return None
        self.front.on_request = hook
        try:
            for dst in (self.path("nl.out"), "-"):
                with self.subTest(dst=dst):
                    r = self.run("s3cp", f"s3://{BUCKET}/{key}", dst)
                    self.assertExit(r, 1)
                    self.assertIn("no Content-Length", r.err)
                    self.assertEqual(r.outb, b"")
            self.assertFalse(os.path.exists(self.path("nl.out")))
            self.assertEqual(self.leftovers(), [])
        finally:
            self.front.on_request = None

    def test_corrupted_download(self):
        for name, args in (("crc", []), ("md5", ["--checksum", "none"])):
            with self.subTest(checksum=name):
                key = f"corrupt/{name}"
                self.ok(self.run("s3cp", *args, self.path(name, os.urandom(1000)), f"s3://{BUCKET}/{key}"))
                self.corrupt_gets(key)
                out = self.path(name + ".out")
                r = self.run("s3cp", f"s3://{BUCKET}/{key}", out)
                self.front.on_request = None
                self.assertExit(r, 1)
                self.assertIn("checksum mismatch", r.err)
                self.assertFalse(os.path.exists(out))
                self.assertEqual(self.leftovers(), [])
        # --checksum none on a download skips the check (and gets the corrupt bytes).
        self.corrupt_gets("corrupt/crc")
        r = self.run("s3cp", "--checksum", "none", f"s3://{BUCKET}/corrupt/crc", "-")
        self.front.on_request = None
        self.assertExit(r, 0)

    def test_composite_checksum(self):
        """S3's composite checksums, verified part by part with ?partNumber=N GETs. moto can serve
        neither the parts nor a correct composite value here, so the hook answers as S3 documents:
        HEAD/GET give the composite "B64-N" and type COMPOSITE; GET/HEAD ?partNumber=N give 206,
        Content-Range, x-amz-mp-parts-count and the part's own checksum (computed here with zlib)."""
        self.once("the front's hook plays S3's part")
        sizes = [PS, PS, 1234]
        parts = [os.urandom(n) for n in sizes]
        data = b"".join(parts)
        key = "composite/obj"
        self.ok(self.run("s3cp", "--part-size", "5M", "--checksum", "crc32", self.path("c", data), f"s3://{BUCKET}/{key}"))
        etag = self.s3.head_object(Bucket=BUCKET, Key=key)["ETag"]
        composite = crc32_b64(b"".join(zlib.crc32(p).to_bytes(4, "big") for p in parts)) + "-3"
        served = {"bad": None}

        def hook(req):
            if not req.path.endswith("/" + key):
                return None
            q = dict(p.split("=", 1) for p in req.query.split("&") if "=" in p)
            base = [("ETag", etag), ("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"), ("Accept-Ranges", "bytes")]
            if "partNumber" not in q:
                if req.method == "GET":
                    return 500, [], b""  # the checker must not fall back to a whole GET
                return 200, base + [("Content-Length", str(len(data))), ("x-amz-checksum-crc32", composite),
                                    ("x-amz-checksum-type", "COMPOSITE")], b""
            n = int(q["partNumber"])
            off = sum(sizes[:n - 1])
            body = parts[n - 1]
            h = base + [("Content-Range", f"bytes {off}-{off + len(body) - 1}/{len(data)}"),
                        ("x-amz-mp-parts-count", "3"), ("x-amz-checksum-crc32", crc32_b64(body))]
            if served["bad"] == n:
                body = bytes([body[0] ^ 1]) + body[1:]
            if req.method == "HEAD":
                return 206, h + [("Content-Length", str(len(body)))], b""
            return 206, h, body

        self.front.on_request = hook
        out = self.path("c.out")
        r = self.run("s3cp", "--debug", f"s3://{BUCKET}/{key}", out)
        self.assertExit(r, 0)
        self.assertIn("verified: composite crc32", r.err)
        self.assertEqual(self.read(out), data)
        r = self.run("s3cp", "--debug", f"s3://{BUCKET}/{key}", "-")
        self.assertExit(r, 0)
        self.assertEqual(r.outb, data)
        served["bad"] = 2
        r = self.run("s3cp", f"s3://{BUCKET}/{key}", self.path("c.bad"))
        self.assertExit(r, 1)
        self.assertIn("checksum mismatch in part 2", r.err)
        self.assertFalse(os.path.exists(self.path("c.bad")))
        # To stdout each part is checked before it is written: a bad part never reaches the reader
        # (the parts before it may have).
        for bad in (1, 2):
            with self.subTest(bad_part=bad, dest="-"):
                served["bad"] = bad
                r = self.run("s3cp", f"s3://{BUCKET}/{key}", "-")
                self.assertExit(r, 1)
                self.assertIn(f"checksum mismatch in part {bad}", r.err)
                self.assertTrue(r.outb in (b"", b"".join(parts[:bad - 1])), f"{len(r.outb)} bytes reached stdout")
        self.front.on_request = None

    def test_download_cut_midway_resumes(self):
        """A piece's GET cut off after half its body (megabytes in: several of the batches a file
        download writes, and, to stdout, bytes its worker has written out already) resumes where
        it stopped: the next GET asks for the rest of the piece only, and the file and stdout still
        get exactly the object, whose full-object CRC32 the pieces' CRCs combine to. A fault proxy
        (faultproxy.py) between s3cp and the front spoils the first GetObject; "short" closes after
        exactly half the body, "reset-mid" resets then (bytes in flight may be lost to the reset)."""
        from faultproxy import FaultProxy
        data = os.urandom(3 * PS + 777)
        key = "cut/obj"
        # one PutObject: a full-object checksum that a ranged download can check
        self.ok(self.run("s3cp", "--part-size", "64M", "--checksum", "crc32", self.path("cut", data),
                         f"s3://{BUCKET}/{key}"))
        cases = [("reset-mid", self.path("cut.out"), "5M"), ("short", "-", "5M"), ("short", self.path("cut2.out"), "5M"),
                 ("reset-mid", "-", "5M"), ("short", "-", "64M"), ("short", self.path("cut3.out"), "64M")]
        for fault, dest, ps in cases:  # 64M: one GET, without a Range until it resumes
            with self.subTest(fault=fault, dest=dest, part_size=ps):
                proxy = FaultProxy({"s3": self.front.url}, fault=fault, when=2).start()
                self.addCleanup(proxy.stop)
                r = self.run("s3cp", "--debug", "--part-size", ps, f"s3://{BUCKET}/{key}", dest, timeout=120,
                             env=self.env(AWS_ENDPOINT_URL_S3=proxy.url))
                self.assertExit(r, 0)
                got = r.outb if dest == "-" else self.read(dest)
                self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())
                self.assertIn("verified: md5" if self.lacks("checksums") else "verified: crc32", r.err)
                gets = [e for e in proxy.log if e["method"] == "GET" and key in e["target"]]
                self.assertEqual([e["n"] for e in gets if e["fault"]], [2])
                self.assertEqual(len(gets), 5 if ps == "5M" else 2, "the pieces and the rest of one")
                a, b = asked(next(e for e in gets if e["fault"]), len(data))
                rest = [e for e in gets if not e["fault"] and e["range"] and asked(e, len(data))[1] == b]
                self.assertEqual(len(rest), 1, gets)  # the cut piece's resumption
                c = asked(rest[0], len(data))[0]
                half = (b - a + 1) // 2
                if fault == "short":
                    self.assertEqual(c - a, half, gets)
                else:
                    self.assertTrue(0 <= c - a <= half, gets)
                self.assertEqual(self.leftovers(), [])

    def test_cuts_that_bring_data_do_not_use_up_attempts(self):
        """Three GETs in a row cut off after half their body, with AWS_MAX_ATTEMPTS=2: each brought
        megabytes that the next one keeps, so none counts against the attempts (a stream's reader
        that pauses for minutes may cost its connection each time), and the download completes
        from four GETs, each asking for the rest."""
        from faultproxy import FaultProxy
        data = os.urandom(PS + 4321)
        key = "cuts/obj"
        self.ok(self.run("s3cp", "--part-size", "64M", "--checksum", "crc32", self.path("cuts", data),
                         f"s3://{BUCKET}/{key}"))
        for dest in ("-", self.path("cuts.out")):
            with self.subTest(dest=dest):
                proxy = FaultProxy({"s3": self.front.url}, fault="short", when={2, 3, 4}).start()
                self.addCleanup(proxy.stop)
                r = self.run("s3cp", "--part-size", "64M", f"s3://{BUCKET}/{key}", dest, timeout=120,
                             env=self.env(AWS_ENDPOINT_URL_S3=proxy.url, AWS_MAX_ATTEMPTS="2"))
                self.assertExit(r, 0)
                got = r.outb if dest == "-" else self.read(dest)
                self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())
                gets = [e for e in proxy.log if e["method"] == "GET" and key in e["target"]]
                starts = [asked(e, len(data))[0] for e in gets]
                n, want = len(data), [0]
                for _ in range(3):
                    want.append(want[-1] + (n - want[-1]) // 2)
                self.assertEqual(starts, want, gets)

    def test_failed_piece_stops_the_others_retries(self):
        """One piece of a download is refused (403) while another is being retried (503): the
        failure stops those retries, so the run ends at once, not after every backoff."""
        self.once("the front's hook answers")
        self.ok(self.run("s3cp", "--part-size", "5M", self.path("st", os.urandom(2 * PS)), f"s3://{BUCKET}/stop/obj"))

        def hook(req):
            if req.method != "GET" or not req.path.endswith("/stop/obj"):
                return None
            if (req.header("range") or "").startswith("bytes=0-") or "partNumber=1" in req.query:
                time.sleep(0.5)  # the other piece is in its retries by then
                return 403, [("Content-Type", "application/xml")], b"<Error><Code>AccessDenied</Code><Message>no</Message></Error>"
            return 503, [("Content-Type", "application/xml")], b"<Error><Code>SlowDown</Code><Message>later</Message></Error>"
        self.front.on_request = hook
        try:
            t0 = time.monotonic()
            r = self.run("s3cp", "--part-size", "5M", f"s3://{BUCKET}/stop/obj", self.path("st.out"),
                         env=self.env(AWS_MAX_ATTEMPTS="10"), timeout=120)
            took = time.monotonic() - t0
        finally:
            self.front.on_request = None
        self.assertExit(r, 4)
        self.assertLess(took, 8, f"took {took:.1f} s: the retries went on")
        self.assertFalse(os.path.exists(self.path("st.out")))

    # ---- interrupted transfers ---------------------------------------------------------------
    def spawn(self, *args, **kw):
        exe = str(harness.S.bin / "s3cp")
        return subprocess.Popen(["s3cp", *args], executable=exe, env=self.env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, **kw)

    def wait_for(self, cond, what, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return
            time.sleep(0.02)
        self.fail(f"timed out waiting for {what}")

    def test_interrupted_upload_is_aborted(self):
        f = self.front
        slow = threading.Event()

        def hook(req):  # hold parts for a while, so that the upload is surely midway
            if req.method == "PUT" and "partNumber=" in req.target:
                slow.set()
                time.sleep(0.5)
        src = self.path("int.bin", os.urandom(40 * MIB))
        for sig, how in ((signal.SIGTERM, "file"), (signal.SIGINT, "stdin")):
            with self.subTest(signal=sig.name, source=how):
                slow.clear()
                f.on_request = hook
                if how == "file":
                    p = self.spawn("--part-size", "5M", "--checksum", "crc32", src, f"s3://{BUCKET}/int/{how}")
                else:
                    p = self.spawn("--part-size", "5M", "--checksum", "crc32", "-", f"s3://{BUCKET}/int/{how}",
                                   stdin=open(src, "rb"))
                self.wait_for(slow.is_set, "an UploadPart")
                time.sleep(0.2)
                p.send_signal(sig)
                err = p.communicate(timeout=20)[1]
                f.on_request = None
                self.assertEqual(p.returncode, -sig, err)  # it dies of the signal, after cleaning up
                if not self.lacks("abort"):
                    ups = self.aws("s3api", "list-multipart-uploads", "--bucket", BUCKET, json=True) or {}
                    self.assertEqual(ups.get("Uploads", []), [], "a multipart upload was left behind")
                self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"int/{how}"))
                aborts = [r for r in f.requests if r.method == "DELETE" and "uploadId=" in r.target]
                self.assertTrue(aborts, "no AbortMultipartUpload was sent")

    def test_interrupted_download_leaves_nothing(self):
        data = os.urandom(30 * MIB)
        self.s3.put_object(Bucket=BUCKET, Key="intdl/obj", Body=data)
        f = self.front
        started = threading.Event()

        def hook(req):
            if req.method == "GET" and req.path.endswith("/intdl/obj"):
                started.set()
                time.sleep(0.5)
        d = os.path.join(self.d, "dl")
        os.mkdir(d)
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig.name):
                started.clear()
                f.on_request = hook
                p = self.spawn("--part-size", "5M", f"s3://{BUCKET}/intdl/obj", os.path.join(d, "obj"))
                self.wait_for(started.is_set, "a GetObject")
                time.sleep(0.1)
                p.send_signal(sig)
                err = p.communicate(timeout=20)[1]
                f.on_request = None
                self.assertEqual(p.returncode, -sig, err)
                self.assertEqual(os.listdir(d), [], "a partial file was left")
        # -r: small objects on the file-level workers, interrupted while several are in flight.
        for i in range(40):
            self.s3.put_object(Bucket=BUCKET, Key=f"intdl/tree/f{i:02d}", Body=os.urandom(1000))
        started.clear()

        def slow(req):
            if req.method == "GET" and "/intdl/tree/" in req.path:
                started.set()
                time.sleep(0.3)
        f.on_request = slow
        p = self.spawn("-r", f"s3://{BUCKET}/intdl/tree/", os.path.join(d, "tree"))
        self.wait_for(started.is_set, "a GetObject")
        time.sleep(0.5)
        p.send_signal(signal.SIGTERM)
        err = p.communicate(timeout=20)[1]
        f.on_request = None
        self.assertEqual(p.returncode, -signal.SIGTERM, err)
        left = [n for _, _, fs in os.walk(d) for n in fs if n.endswith(".tmp")]
        self.assertEqual(left, [], "temporary files were left")
        done = [n for _, _, fs in os.walk(d) for n in fs]
        self.assertLess(len(done), 40, "the interrupt came too late to test anything")

    def test_interrupted_quiet_stdin(self):
        """producer | s3cp - s3://b/k, interrupted while stdin is quiet: s3cp stops within about
        200 ms, sends no PutObject or CompleteMultipartUpload (even when stdin then ends, as it
        does when the producer dies of the same signal), aborts a multipart upload it began, and
        dies of the signal; the object that was there is untouched. Also TERM then KILL after
        3 s (docker stop, with a shorter grace): the upload is aborted before the KILL."""
        f = self.front
        key = "quiet/obj"
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=b"good")
        took_all = []
        self.addCleanup(lambda: harness.note(f"signal to exit (ms): {', '.join(took_all)}"))
        for sig, size, kill in ((signal.SIGTERM, 1000, False), (signal.SIGINT, 1000, False),
                                (signal.SIGINT, PS + 1000, False), (signal.SIGTERM, PS + 1000, True)):
            with self.subTest(signal=sig.name, size=size, kill=kill):
                n = len(f.requests)
                rfd, wfd = os.pipe()
                p = self.spawn("--part-size", "5M", "-", f"s3://{BUCKET}/{key}", stdin=rfd)
                os.close(rfd)
                with os.fdopen(wfd, "wb") as w:
                    w.write(os.urandom(size))
                    w.flush()
                    if size > PS:
                        self.wait_for(lambda: any(q.method == "POST" and "?uploads" in q.target
                                                  for q in f.requests[n:]), "CreateMultipartUpload")
                    time.sleep(0.5)  # stdin is quiet
                    t0 = time.monotonic()
                    p.send_signal(sig)
                    try:
                        p.wait(3)
                    except subprocess.TimeoutExpired:
                        pass
                    took = time.monotonic() - t0
                # stdin has ended now (the producer is gone)
                if kill and p.poll() is None:
                    p.kill()
                err = p.communicate(timeout=20)[1].decode()
                self.assertEqual(p.returncode, -sig, err)
                took_all.append(f"{took * 1000:.0f}")
                # about 200 ms: stop at once, wait at most 200 ms for a part still in flight, abort
                # (a margin here for a busy machine; the times are noted)
                self.assertLess(took, 1.0 * SLOW, f"took {took:.2f} s to stop")
                ours = f.requests[n:]
                self.assertEqual([q.method for q in ours if q.method == "PUT" and "uploadId=" not in q.target], [],
                                 "a PutObject was sent")
                self.assertEqual([q.target for q in ours if q.method == "POST" and "uploadId=" in q.target], [],
                                 "a CompleteMultipartUpload was sent")
                self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read(), b"good")
                if size > PS:
                    self.assertTrue([q for q in ours if q.method == "DELETE" and "uploadId=" in q.target],
                                    "no AbortMultipartUpload was sent")
                if not self.lacks("abort"):
                    ups = self.aws("s3api", "list-multipart-uploads", "--bucket", BUCKET, json=True) or {}
                    self.assertEqual(ups.get("Uploads", []), [], "a multipart upload was left behind")

    # ---- the TLS path: UNSIGNED-PAYLOAD with an aws-chunked trailer --------------------------
    def test_tls_streaming_trailer(self):
        self.once("the TLS relay and the front decode aws-chunked: no server sees it")
        relay = TlsRelay(self.front.port, self.d).start()
        self.addCleanup(relay.stop)
        env = self.env(AWS_ENDPOINT_URL_S3=f"https://localhost:{relay.port}", AWS_CA_BUNDLE=relay.ca)
        f = self.front
        for n in (0, 1000, PS + 7):
            with self.subTest(size=n):
                data = os.urandom(n)
                src = self.path(f"tls-{n}", data)
                k = len(f.requests)
                self.ok(self.run("s3cp", "--part-size", "5M", src, f"s3://{BUCKET}/tls/{n}", env=env))
                self.assertEqual(self.cli_get(f"tls/{n}"), data)
                puts = [r for r in f.requests[k:] if r.method == "PUT"]
                for r in puts:
                    if n:  # a streamed file over TLS: not hashed, CRC32C in an aws-chunked trailer
                        self.assertEqual(r.header("x-amz-content-sha256"), "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
                        self.assertEqual(r.header("x-amz-trailer"), "x-amz-checksum-crc32c")
                        self.assertTrue(r.aws_chunked)
                self.ok(self.run("s3cp", "--part-size", "5M", "-", f"s3://{BUCKET}/tls/{n}.stdin", input=data, env=env))
                self.assertEqual(self.cli_get(f"tls/{n}.stdin"), data)
                r = self.run("s3cp", f"s3://{BUCKET}/tls/{n}", "-", env=env)
                self.assertExit(r, 0)
                self.assertEqual(r.outb, data)
        self.assertFrontClean()

    def test_checksum_settings_when_required(self):
        """request_checksum_calculation / response_checksum_validation = when_required (from the
        environment or the profile, any case), as botocore reads them: over TLS an upload is one
        UNSIGNED-PAYLOAD body with no aws-chunked framing and no checksum (stores that do not know
        aws-chunked keep the framing in the object), and reads send no x-amz-checksum-mode; an
        explicit --checksum still asks for one. botocore, configured the same, is the oracle."""
        self.once("what is checked is the requests, at the front")
        relay = TlsRelay(self.front.port, self.d).start()
        self.addCleanup(relay.stop)
        cfg = self.path("ck-config", b"[default]\nrequest_checksum_calculation = WHEN_REQUIRED\n"
                                     b"response_checksum_validation = when_required\n")
        tls = dict(AWS_ENDPOINT_URL_S3=f"https://localhost:{relay.port}", AWS_CA_BUNDLE=relay.ca)
        f = self.front

        def cks(reqs):
            return sorted({h.lower() for r in reqs for h, _ in r.headers
                           if h.lower().startswith(("x-amz-checksum", "x-amz-sdk-checksum", "x-amz-trailer"))
                           or (h.lower() == "content-encoding")})
        # botocore, when_required: no checksum header on PutObject, no x-amz-checksum-mode on reads
        k = len(f.requests)
        plain = self.client("s3", checksums="when_required")
        plain.put_object(Bucket=BUCKET, Key="ckset/boto", Body=b"x" * 1000)
        self.assertEqual(cks(f.requests[k:]), [])
        for env in (dict(AWS_REQUEST_CHECKSUM_CALCULATION="when_required",
                         AWS_RESPONSE_CHECKSUM_VALIDATION="When_Required"), dict(AWS_CONFIG_FILE=cfg)):
            for n in (1000, PS + 7):
                with self.subTest(env=sorted(env), size=n):
                    data = os.urandom(n)
                    src = self.path(f"ck-{n}", data)
                    e = self.env(**tls, **env)
                    k = len(f.requests)
                    self.ok(self.run("s3cp", "--part-size", "5M", src, f"s3://{BUCKET}/ckset/{n}", env=e))
                    self.ok(self.run("s3cp", "--part-size", "5M", "-", f"s3://{BUCKET}/ckset/{n}.in", input=data, env=e))
                    puts = [r for r in f.requests[k:] if r.method in ("PUT", "POST")]
                    self.assertEqual(cks(puts), [])
                    self.assertEqual({r.header("x-amz-content-sha256") for r in puts if r.method == "PUT"},
                                     {"UNSIGNED-PAYLOAD"})
                    self.assertEqual(self.cli_get(f"ckset/{n}"), data)
                    k = len(f.requests)
                    r = self.run("s3cp", "--part-size", "5M", f"s3://{BUCKET}/ckset/{n}", "-", env=e)
                    self.assertEqual(r.outb, data)
                    self.assertNotIn("not verified", r.err)
                    self.assertEqual([q.header("x-amz-checksum-mode") for q in f.requests[k:]
                                      if q.header("x-amz-checksum-mode")], [])
                    # asked for: a checksum goes, and is asked for back
                    k = len(f.requests)
                    self.ok(self.run("s3cp", "--checksum", "crc32", src, f"s3://{BUCKET}/ckset/{n}.ck", env=e))
                    self.ok(self.run("s3cp", "--checksum", "crc32", f"s3://{BUCKET}/ckset/{n}.ck", "-", env=e))
                    self.assertTrue(any(r.trailers.get("x-amz-checksum-crc32") or r.header("x-amz-checksum-crc32")
                                        for r in f.requests[k:] if r.method == "PUT"))
                    self.assertTrue(any(q.header("x-amz-checksum-mode") for q in f.requests[k:]))
        r = self.run("s3cp", src, f"s3://{BUCKET}/ckset/bad", env=self.env(AWS_REQUEST_CHECKSUM_CALCULATION="never"))
        self.assertExit(r, 2)
        self.assertIn("request_checksum_calculation", r.err)
        self.assertFrontClean()

    def test_aws_chunked_matches_botocore(self):
        """The encoder byte for byte against botocore's AwsChunkedWrapper (64 KiB chunks)."""
        self.once("the encoder against botocore, no server")
        from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum, Sha256Checksum
        if not TOOL.exists():
            self.skipTest(f"{TOOL} not built (make build/tools/s3chunk)")
        for n in (0, 1, 65535, 65536, 65537, 300001):
            data = os.urandom(n)
            for alg, cls in (("crc32", Crc32Checksum), ("sha256", Sha256Checksum)):
                ours = subprocess.run([str(TOOL), alg], input=data, capture_output=True, check=True).stdout
                ref = AwsChunkedWrapper(io.BytesIO(data), checksum_cls=cls, checksum_name=f"x-amz-checksum-{alg}",
                                        chunk_size=65536).read()
                self.assertEqual(ours, ref, f"{alg}, {n} bytes")
            ours = subprocess.run([str(TOOL), "crc32c"], input=data, capture_output=True, check=True).stdout
            self.assertTrue(ours.endswith(f"0\r\nx-amz-checksum-crc32c:{crc32c_b64(data)}\r\n\r\n".encode()))


class TlsRelay:
    """TLS on 127.0.0.1 (a certificate for localhost from a test CA), relayed as plain TCP to a
    port: the front sees exactly the bytes s3cp sends over TLS."""

    def __init__(self, port, d):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        now = datetime.datetime.now(datetime.timezone.utc)
        name = lambda cn: x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])  # noqa: E731
        ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        ca = (x509.CertificateBuilder().subject_name(name("awsbox test CA")).issuer_name(name("awsbox test CA"))
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .sign(ca_key, hashes.SHA256()))
        leaf = (x509.CertificateBuilder().subject_name(name("localhost")).issuer_name(ca.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        self.ca = os.path.join(d, "relay-ca.pem")
        pem = os.path.join(d, "relay.pem")
        with open(self.ca, "wb") as f:
            f.write(ca.public_bytes(serialization.Encoding.PEM))
        with open(pem, "wb") as f:
            f.write(leaf.public_bytes(serialization.Encoding.PEM))
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pem)
        self.up = port

    def start(self):
        self.listener = Listener(self._serve)
        self.port = self.listener.port
        return self

    def stop(self):
        self.listener.stop()

    def _serve(self, c):
        try:
            t = self.ctx.wrap_socket(c, server_side=True)
            u = socket.create_connection(("127.0.0.1", self.up))
        except (OSError, ssl.SSLError):
            c.close()
            return

        def pump(a, b):
            try:
                while True:
                    d = a.recv(65536)
                    if not d:
                        break
                    b.sendall(d)
            except OSError:
                pass
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        threading.Thread(target=pump, args=(u, t), daemon=True).start()
        pump(t, u)


globals().update(harness.per_server(S3cp))
