"""test_s3cp.py — s3cp against moto behind the verifying front (every request's SigV4 signature,
payload hash, aws-chunked framing and x-amz-checksum-* values checked with botocore / Python), and
the same tests against s3rver (S3cpS3rver, behind a front of its own): what s3rver does not do
(S3TestCase.LACKS) is left out and said; tests that exercise only awsbox or the front run once.

Oracles: the AWS CLI (`aws s3 cp`, `aws s3api ...`) as the independent reader and writer, Python's
hashlib/zlib and the front's CRC32C (RFC 3720 vectors), botocore's AwsChunkedWrapper for the
aws-chunked encoding. Sizes 0, 1, part-1, part, part+1 and 100 MiB; keys with spaces, + % ? unicode
and //; stdin/stdout; -r with filters; --move, --flag, --acl (read back with get-object-acl),
SSE, metadata; --no-overwrite; server-side copies (CopyObject and UploadPartCopy); exit codes;
uploads and downloads killed midway (no multipart upload, no file left); corrupted downloads.

Where moto falls short, the front's on_request hook plays S3's documented part (see each test):
  - moto computes CRC32C as CRC32 when the crc32c module is missing (it is, here), so the checksums
    it derives for multipart CRC32C uploads are wrong, and it does not serve ?partNumber=N GETs of
    multipart objects. Composite-checksum verification is therefore tested against S3's behaviour
    emulated in the hook (values computed here with zlib), and downloads of multipart objects
    from moto itself cannot be verified (s3cp says so under --debug, as the AWS CLI never does).
  - The front's CRC32C is pure Python (~5 MB/s, holding the GIL): big objects use --checksum crc32
    so that the test measures s3cp, not the front.
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
import stat
import subprocess
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import harness
import s3cpcase
from harness import ROOT
from s3cpcase import BUCKET, MIB, PS, crc32_b64, crc32c_b64

TOOL = ROOT / (os.environ.get("AWSBOX_TOOLS") or "build/tools") / "s3chunk"
SLOW = 3 if harness.AWSBOX.parent.name in ("tsan", "asan", "valgrind", "aarch64") else 1  # sanitizers, qemu


class S3cp(s3cpcase.S3cpCase):
    # ---- round trips ---------------------------------------------------------------------
    def test_round_trip_sizes(self):
        for n in (0, 1, PS - 1, PS, PS + 1):
            with self.subTest(size=n):
                data = os.urandom(n)
                src = self.path(f"up-{n}", data)
                key = f"sizes/obj-{n}"
                self.ok(self.run("s3cp", "--part-size", "5M", src, f"s3://{BUCKET}/{key}"))
                self.assertEqual(self.cli_get(key), data)
                h = self.aws("s3api", "head-object", "--bucket", BUCKET, "--key", key, "--checksum-mode", "ENABLED",
                             json=True)
                self.assertEqual(h["ContentLength"], n)
                if n <= PS and not self.lacks("checksums"):  # one PutObject carrying the CRC32C S3 verified
                    self.assertEqual(h.get("ChecksumCRC32C"), crc32c_b64(data))
                if not self.lacks("mpu-etag"):
                    self.assertEqual(h["ETag"].endswith('-2"'), n > PS, h["ETag"])
                # The other direction: the AWS CLI writes, s3cp reads.
                self.ok(self.run("aws", "--endpoint-url", self.front.url, "s3", "cp", src,
                                 f"s3://{BUCKET}/{key}.cli"))
                out = self.path(f"down-{n}")
                self.ok(self.run("s3cp", f"s3://{BUCKET}/{key}.cli", out))
                self.assertEqual(self.read(out), data)
                self.assertEqual(self.run("s3cp", f"s3://{BUCKET}/{key}", "-").outb, data)
        self.assertFrontClean()
        # Multipart parts went with the checksum (header over plain HTTP, as botocore does).
        parts = [r for r in self.front.requests if "partNumber=" in r.target and r.method == "PUT"]
        self.assertTrue(parts and all(r.header("x-amz-checksum-crc32c") for r in parts if "uploadId" in r.target))

    def test_large_object(self):
        self.once("100 MiB throughput")
        data = os.urandom(100 * MIB + 12345)
        src = self.path("big", data)
        want = hashlib.sha256(data).hexdigest()
        t0 = time.monotonic()
        self.ok(self.run("s3cp", "--checksum", "crc32", src, f"s3://{BUCKET}/big", timeout=120))
        up = time.monotonic() - t0
        self.assertEqual(hashlib.sha256(self.cli_get("big")).hexdigest(), want)
        t0 = time.monotonic()
        out = self.path("big.out")
        r = self.run("s3cp", "--debug", f"s3://{BUCKET}/big", out, timeout=120)
        down = time.monotonic() - t0
        self.assertExit(r, 0)
        self.assertEqual(hashlib.sha256(self.read(out)).hexdigest(), want)
        self.assertEqual(self.leftovers(), [])
        harness.note(f"100 MiB over loopback HTTP to moto: up {100 / up:.0f} MiB/s, down {100 / down:.0f} MiB/s "
                     f"(moto and the Python front are the bottleneck)")
        # The AWS CLI's own multipart upload (CRC32 parts), read back by s3cp to stdout.
        self.assertExit(self.aws("s3", "cp", src, f"s3://{BUCKET}/big.cli", timeout=120), 0)
        r = self.run("s3cp", f"s3://{BUCKET}/big.cli", "-", timeout=120)
        self.assertExit(r, 0)
        self.assertEqual(hashlib.sha256(r.outb).hexdigest(), want)
        self.assertFrontClean()

    def test_download_cut_midway_fetches_the_piece_again(self):
        """A piece's GET cut off after half its body (megabytes in: several of the batches a file
        download writes, and half of a stream's piece buffer) is fetched again; the file and
        stdout still get exactly the object, whose full-object CRC32 the pieces' CRCs combine to.
        A fault proxy (faultproxy.py) between s3cp and the front spoils the first GetObject."""
        from faultproxy import FaultProxy
        data = os.urandom(3 * PS + 777)
        key = "cut/obj"
        # one PutObject: a full-object checksum that a ranged download can check
        self.ok(self.run("s3cp", "--part-size", "64M", "--checksum", "crc32", self.path("cut", data),
                         f"s3://{BUCKET}/{key}"))
        for fault, dest in (("reset-mid", self.path("cut.out")), ("short", "-")):
            with self.subTest(fault=fault, dest=dest):
                proxy = FaultProxy({"s3": self.front.url}, fault=fault, when=2).start()
                self.addCleanup(proxy.stop)
                r = self.run("s3cp", "--debug", "--part-size", "5M", f"s3://{BUCKET}/{key}", dest, timeout=120,
                             env=self.env(AWS_ENDPOINT_URL_S3=proxy.url))
                self.assertExit(r, 0)
                got = r.outb if dest == "-" else self.read(dest)
                self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())
                self.assertIn("verified: md5" if self.lacks("checksums") else "verified: crc32", r.err)
                gets = [e for e in proxy.log if e["method"] == "GET" and key in e["target"]]
                self.assertEqual([e["n"] for e in gets if e["fault"]], [2])
                self.assertEqual(len(gets), 5, "four pieces and one piece again")
                self.assertEqual(self.leftovers(), [])

    def maxrss_kib(self, args, input=None):
        r = self.run("/usr/bin/time", "-f", "maxrss=%M", str(harness.AWSBOX), *args, input=input, timeout=120)
        self.assertExit(r, 0)
        return r, int(re.search(r"maxrss=(\d+)", r.err).group(1))

    def test_stream_memory_bounded(self):
        """stdin and stdout streams of 60 MiB with 2 x 8 MiB in flight stay within 2 x 8 + 8 MiB."""
        self.once("awsbox's peak memory")
        data = os.urandom(60 * MIB)
        args = ["--concurrency", "2", "--part-size", "8M", "--checksum", "crc32"]
        r, up = self.maxrss_kib(["s3cp", *args, "-", f"s3://{BUCKET}/stream"], input=data)
        self.assertEqual(self.cli_get("stream"), data)
        r, down = self.maxrss_kib(["s3cp", *args, f"s3://{BUCKET}/stream", "-"])
        self.assertEqual(r.outb, data)
        harness.note(f"peak RSS for 60 MiB: stdin upload {up // 1024} MiB, stdout download {down // 1024} MiB")
        self.assertLess(up, (2 * 8 + 8) * 1024 + harness.emu_rss_kib())
        self.assertLess(down, (2 * 8 + 8) * 1024 + harness.emu_rss_kib())

    def test_stdin_stdout(self):
        for n in (0, 7, PS, 2 * PS + 3):
            with self.subTest(size=n):
                data = os.urandom(n)
                key = f"stdin/{n}.bin"
                self.ok(self.run("s3cp", "--part-size", "5M", "-", f"s3://{BUCKET}/{key}", input=data))
                self.assertEqual(self.cli_get(key), data)
                etag = self.s3.head_object(Bucket=BUCKET, Key=key)["ETag"]
                # exactly one part size from a stream is still one PutObject (one byte of look-ahead)
                if not self.lacks("mpu-etag"):
                    self.assertEqual("-" in etag, n > PS, etag)
                self.assertEqual(self.run("s3cp", f"s3://{BUCKET}/{key}", "-").outb, data)
        r = self.run("s3cp", "-", f"s3://{BUCKET}/dir/", input=b"x")
        self.assertExit(r, 2)
        self.assertFrontClean()

    def test_keys(self):
        keys = ["with space.txt", "plus+sign", "a+b/c+d.txt", "per%25cent%", "question?mark", "hash#tag",
                "unicode-\u00e9\u4e2d\U0001F600", "double//slash", "/leading", "a&b=c;d", "tilde~x", "comma,x",
                "apos'trophe", "mix +%#?&=~;,' \u00e9"]
        if self.lacks("empty-segments"):
            keys = [k for k in keys if "//" not in k and not k.startswith("/")]
        for i, k in enumerate(keys):
            data = f"{i}:{k}".encode()
            src = self.path(f"k{i}", data)
            self.ok(self.run("s3cp", src, f"s3://{BUCKET}/keys/{k}"))
            self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key=f"keys/{k}")["Body"].read(), data)
            self.assertEqual(self.run("s3cp", f"s3://{BUCKET}/keys/{k}", "-").outb, data)
        listed = [o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET, Prefix="keys/")["Contents"]]
        self.assertEqual(sorted(listed), sorted(f"keys/{k}" for k in keys))
        # A recursive download decodes every listed key (encoding-type=url) back to a path.
        out = os.path.join(self.d, "tree")
        self.ok(self.run("s3cp", "-r", f"s3://{BUCKET}/keys/", out))
        for i, k in enumerate(keys):
            self.assertEqual(self.read(os.path.join(out, k.lstrip("/"))), f"{i}:{k}".encode())
        self.assertFrontClean()

    # ---- recursion, options ------------------------------------------------------------------
    def test_recursive_filters(self):
        tree = {"a.csv": b"a", "b.txt": b"b", "sub/c.csv": b"c", "sub/d.log": b"d", "sub/deep/e.csv": b"e"}
        src = os.path.join(self.d, "src")
        for rel, data in tree.items():
            self.path(f"src/{rel}", data)
        self.ok(self.run("s3cp", "-r", "--include", r"\.csv$", "--exclude", "^sub/deep/", src, f"s3://{BUCKET}/rec"))
        got = sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET, Prefix="rec/").get("Contents", []))
        self.assertEqual(got, ["rec/a.csv", "rec/sub/c.csv"])
        # S3 -> local: the contents of the prefix go under the directory.
        out = os.path.join(self.d, "out")
        self.ok(self.run("s3cp", "-r", f"s3://{BUCKET}/rec/", out))
        self.assertEqual(self.read(os.path.join(out, "sub/c.csv")), b"c")
        self.assertEqual(sorted(os.listdir(out)), ["a.csv", "sub"])
        # S3 -> S3, with a filter on the relative path.
        self.ok(self.run("s3cp", "-r", "--exclude", "^a", f"s3://{BUCKET}/rec", f"s3://{BUCKET}/rec2/"))
        got = sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET, Prefix="rec2/").get("Contents", []))
        self.assertEqual(got, ["rec2/sub/c.csv"])
        # The AWS CLI agrees on where `cp --recursive` puts a tree.
        self.assertExit(self.aws("s3", "cp", "--recursive", src, f"s3://{BUCKET}/cli-rec"), 0)
        self.ok(self.run("s3cp", "-r", src, f"s3://{BUCKET}/our-rec"))
        ours = sorted(o["Key"][len("our-rec/"):] for o in self.s3.list_objects_v2(Bucket=BUCKET, Prefix="our-rec/")["Contents"])
        cli = sorted(o["Key"][len("cli-rec/"):] for o in self.s3.list_objects_v2(Bucket=BUCKET, Prefix="cli-rec/")["Contents"])
        self.assertEqual(ours, cli)
        self.assertFrontClean()

    def test_recursive_failed_object_leaves_next_alone(self):
        """-r: one object's download fails at once while its other pieces are still in flight;
        the next object is written only by its own pieces (a stuck piece of the first must not
        land in the second's file, which then passes its checks on the bytes it received)."""
        self.once("the failure and its timing come from the front's hook")
        data = {n: os.urandom(2 * PS + 1000) for n in ("a.bin", "b.bin")}
        for n, d in data.items():
            self.ok(self.run("s3cp", "--part-size", "5M", "--checksum", "crc32", self.path(n, d),
                             f"s3://{BUCKET}/orphan/{n}", timeout=60))

        def first_piece(req):
            return "partNumber=1" in req.query or (req.header("range") or "").startswith("bytes=0-")

        def hook(req):
            if req.method != "GET" or "/orphan/" not in req.path:
                return None
            if req.path.endswith("/a.bin"):
                if first_piece(req):
                    return 403, [("Content-Type", "application/xml")], (
                        b"<Error><Code>AccessDenied</Code><Message>denied</Message></Error>")
                time.sleep(4)  # the other pieces of a.bin answer late, and correctly
            elif first_piece(req):
                time.sleep(3)  # b.bin's first piece keeps its file open past that moment
            return None
        self.front.on_request = hook
        try:
            out = os.path.join(self.d, "orphan-out")
            r = self.run("s3cp", "-r", "--part-size", "5M", f"s3://{BUCKET}/orphan/", out, timeout=120)
        finally:
            self.front.on_request = None
        self.assertExit(r, 4)
        self.assertIn("a.bin", r.err)
        self.assertFalse(os.path.exists(os.path.join(out, "a.bin")))
        self.assertEqual(self.read(os.path.join(out, "b.bin")), data["b.bin"])
        self.assertEqual(self.leftovers(out), [])

    def test_recursive_follows_symlinks(self):
        """-r follows symbolic links as the AWS CLI does (same keys for a linked directory and
        file); a link back to a directory being copied is skipped with a warning, as is a FIFO;
        a broken link fails the run (exit 3, named) while everything else is still copied."""
        top = os.path.join(self.d, "links")
        self.path("links/sub/a.txt", b"a")
        self.path("links/b.txt", b"b")
        os.symlink("sub", os.path.join(top, "linkdir"))
        os.symlink("b.txt", os.path.join(top, "linkfile"))
        self.assertExit(self.aws("s3", "cp", "--recursive", "--quiet", top, f"s3://{BUCKET}/links-cli"), 0)
        cli = sorted(o["Key"][len("links-cli/"):] for o in self.s3.list_objects_v2(Bucket=BUCKET, Prefix="links-cli/")["Contents"])
        self.ok(self.run("s3cp", "-r", top, f"s3://{BUCKET}/links-ok"))
        ours = sorted(o["Key"][len("links-ok/"):] for o in self.s3.list_objects_v2(Bucket=BUCKET, Prefix="links-ok/")["Contents"])
        self.assertEqual(ours, cli)
        self.assertIn("linkdir/a.txt", ours)
        os.symlink("..", os.path.join(top, "sub", "up"))
        os.symlink("/nonexistent/awsbox", os.path.join(top, "broken"))
        os.mkfifo(os.path.join(top, "fifo"))
        r = self.run("s3cp", "-r", top, f"s3://{BUCKET}/links-bad")
        self.assertExit(r, 3)
        self.assertIn(f"{top}/broken: a symbolic link to nothing", r.err)
        self.assertIn(f"skipping {top}/fifo: not a regular file", r.err)
        self.assertIn("a link back to a directory already being copied", r.err)
        got = sorted(o["Key"][len("links-bad/"):] for o in self.s3.list_objects_v2(Bucket=BUCKET, Prefix="links-bad/")["Contents"])
        self.assertEqual(got, cli)

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

    def test_move_from_stdin_is_a_usage_error(self):
        """--move with stdin as SRC: there is nothing to remove (a file named - in the working
        directory is not it), so it is a usage error before anything is sent, with or without --flag."""
        d = self.tmpdir()
        with open(os.path.join(d, "-"), "w") as f:
            f.write("keep me")
        for flag in ([], ["--flag", f"s3://{BUCKET}/stdin/done.fin"]):
            with self.subTest(flag=flag):
                n = len(self.front.requests)
                r = self.run("s3cp", "--move", *flag, "-", f"s3://{BUCKET}/stdin/obj", input=b"from stdin", cwd=d)
                self.assertExit(r, 2)
                self.assertIn("--move", r.err)
                self.assertEqual(self.front.requests[n:], [])
        self.assertTrue(os.path.exists(os.path.join(d, "-")))
        self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket=BUCKET, Prefix="stdin/"))

    def test_copy_many_metadata_keys(self):
        """A source with many user metadata keys (S3 allows 2 KB of them) is copied with all of
        them, by CopyObject with a changed Content-Type and by a multipart copy."""
        meta = {f"k{i:02d}": f"v{i}" for i in range(36)}
        self.s3.put_object(Bucket=BUCKET, Key="mm/src", Body=os.urandom(6 * MIB), Metadata=meta)
        for mp in (False, True):
            if mp and self.lacks("upload-part-copy"):
                continue
            with self.subTest(multipart=mp):
                env = self.env(AWSBOX_S3_COPY_THRESHOLD=str(5 * MIB)) if mp else None
                self.ok(self.run("s3cp", "--part-size", "5M", "--content-type", "text/x-mm", f"s3://{BUCKET}/mm/src",
                                 f"s3://{BUCKET}/mm/dst", env=env))
                h = self.s3.head_object(Bucket=BUCKET, Key="mm/dst")
                self.assertEqual((h["Metadata"], h["ContentType"]), (meta, "text/x-mm"))

    def test_recursive_many(self):
        """200 small files and one multipart one: small objects go concurrently, the big one in
        parallel parts; up, down and S3 -> S3 all complete. One corrupted object fails the run
        (exit 1) without stopping the others, and then no --flag is written."""
        src = os.path.join(self.d, "many")
        tree = {f"d{i % 7}/f{i:03d}.txt": os.urandom(100 + i) for i in range(200)}
        tree["big/blob.bin"] = os.urandom(PS + 99)
        for rel, data in tree.items():
            self.path(f"many/{rel}", data)
        t0 = time.monotonic()
        self.ok(self.run("s3cp", "-r", "--part-size", "5M", "--checksum", "crc32", src, f"s3://{BUCKET}/many", timeout=120))
        ours = time.monotonic() - t0
        t0 = time.monotonic()
        self.assertExit(self.aws("s3", "cp", "--recursive", "--quiet", src, f"s3://{BUCKET}/many-cli", timeout=120), 0)
        cli = time.monotonic() - t0
        harness.note(f"-r upload of 201 files: s3cp {ours:.1f}s, aws s3 cp {cli:.1f}s")
        out = os.path.join(self.d, "many-out")
        n0 = len(self.front.requests)
        self.ok(self.run("s3cp", "-r", f"s3://{BUCKET}/many/", out, timeout=120))
        # The listing gave each object's size and ETag: a single-part object is one GET, no
        # HeadObject (only a multipart one, whose check may need its parts, has its HEAD first).
        sent = self.front.requests[n0:]
        self.assertEqual([q.path for q in sent if q.method == "HEAD" and not q.path.endswith("/big/blob.bin")], [])
        self.assertEqual(len({q.path for q in sent if q.method == "GET" and "/many/" in q.path}), len(tree))
        self.ok(self.run("s3cp", "-r", f"s3://{BUCKET}/many/", f"s3://{BUCKET}/many-copy/", timeout=120))
        for rel, data in tree.items():
            self.assertEqual(self.read(os.path.join(out, rel)), data, rel)
        copied = self.s3.list_objects_v2(Bucket=BUCKET, Prefix="many-copy/")["KeyCount"]
        self.assertEqual(copied, len(tree))
        self.corrupt_gets("many/d3/f010.txt")
        out2 = os.path.join(self.d, "many-out2")
        r = self.run("s3cp", "-r", "--flag", f"s3://{BUCKET}/many-flag.fin", f"s3://{BUCKET}/many/", out2, timeout=120)
        self.front.on_request = None
        self.assertExit(r, 1)
        self.assertIn("checksum mismatch", r.err)
        self.assertFalse(os.path.exists(os.path.join(out2, "d3/f010.txt")))
        self.assertTrue(os.path.exists(os.path.join(out2, "d3/f017.txt")))
        self.assertEqual([n for _, _, fs in os.walk(out2) for n in fs if n.endswith(".tmp")], [])
        self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket=BUCKET, Prefix="many-flag"))

    def test_recursive_lists_past_1000_keys(self):
        """-r walks a listing of more than 1,000 keys (a second page, asked for with the
        continuation token): a filter that keeps only the last key still finds it."""
        direct = self.client("s3", direct=True)  # set-up straight into the server: quicker, not under test
        keys = [f"thousand/k{i:04d}" for i in range(1001)]
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda k: direct.put_object(Bucket=BUCKET, Key=k, Body=k.encode()), keys))
        out = os.path.join(self.d, "thousand")
        self.ok(self.run("s3cp", "-r", "--include", "k1000$", f"s3://{BUCKET}/thousand/", out, timeout=60))
        self.assertEqual(os.listdir(out), ["k1000"])
        self.assertEqual(self.read(os.path.join(out, "k1000")), b"thousand/k1000")
        lists = [r for r in self.front.requests if "list-type=2" in r.target]
        self.assertTrue(any("continuation-token=" in r.target for r in lists), "no second page was asked for")

    def test_recursive_progress(self):
        """-r --progress: the main thread draws the bar of each large object while the file-level
        workers copy the small ones, up and down (make check-tsan runs this under ThreadSanitizer:
        the workers once set the bar's label and freed it under the main thread's feet)."""
        src = os.path.join(self.d, "prog")
        tree = {f"a{i:02d}.txt": os.urandom(3000 + i) for i in range(60)}
        tree.update({"z1.bin": os.urandom(PS + 1), "z2.bin": os.urandom(PS + 2)})
        for rel, data in tree.items():
            self.path(f"prog/{rel}", data)
        r = self.run("s3cp", "-r", "--progress", "--part-size", "5M", "--checksum", "crc32", src, f"s3://{BUCKET}/prog",
                     timeout=120)
        self.assertExit(r, 0)
        self.assertIn("z1.bin", r.err)  # the bar named the large object
        out = os.path.join(self.d, "prog-out")
        r = self.run("s3cp", "-r", "--progress", "--part-size", "5M", f"s3://{BUCKET}/prog/", out, timeout=120)
        self.assertExit(r, 0)
        for rel, data in tree.items():
            self.assertEqual(self.read(os.path.join(out, rel)), data, rel)

    def test_move_flag_acl(self):
        src = self.path("batch.csv", b"id,v\n1,2\n")
        self.ok(self.run("s3cp", "--move", "--acl", "bucket-owner-full-control", "--flag", f"s3://{BUCKET}/out/batch.fin",
                         src, f"s3://{BUCKET}/out/"))
        self.assertFalse(os.path.exists(src), "--move left the source")
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="out/batch.csv")["Body"].read(), b"id,v\n1,2\n")
        self.assertEqual(self.s3.head_object(Bucket=BUCKET, Key="out/batch.fin")["ContentLength"], 0)
        # The ACL read back equals what the AWS CLI sets for the same canned ACL.
        if not self.lacks("acl"):
            ref = self.path("ref", b"r")
            self.assertExit(self.aws("s3", "cp", "--acl", "bucket-owner-full-control", ref, f"s3://{BUCKET}/out/ref"), 0)
            ours = self.aws("s3api", "get-object-acl", "--bucket", BUCKET, "--key", "out/batch.csv", json=True)
            cli = self.aws("s3api", "get-object-acl", "--bucket", BUCKET, "--key", "out/ref", json=True)
            self.assertEqual(ours["Grants"], cli["Grants"])
            self.ok(self.run("s3cp", "--acl", "public-read", ref, f"s3://{BUCKET}/out/public"))
            g = self.aws("s3api", "get-object-acl", "--bucket", BUCKET, "--key", "out/public", json=True)["Grants"]
            self.assertIn("http://acs.amazonaws.com/groups/global/AllUsers", [x["Grantee"].get("URI") for x in g])
        # --move from S3: the object goes once the file is complete.
        out = self.path("back.csv")
        self.ok(self.run("s3cp", "--move", f"s3://{BUCKET}/out/batch.csv", out))
        self.assertEqual(self.read(out), b"id,v\n1,2\n")
        r = self.aws("s3api", "head-object", "--bucket", BUCKET, "--key", "out/batch.csv")
        self.assertNotEqual(r.rc, 0)
        # No flag when the copy fails.
        r = self.run("s3cp", "--flag", "out/never.fin", self.path("nope"), f"s3://{BUCKET}/out/x")
        self.assertExit(r, 3)
        self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket=BUCKET, Prefix="out/never"))
        # A flag that cannot be written fails the job and keeps the source, to run it again;
        # from S3 the same.
        again = self.path("again.csv", b"again")
        r = self.run("s3cp", "--move", "--flag", "s3://awsbox-no-such-bucket/x.fin", again, f"s3://{BUCKET}/out/")
        self.assertExit(r, 3)
        self.assertTrue(os.path.exists(again), "the source went although the flag failed")
        r = self.run("s3cp", "--move", "--flag", "s3://awsbox-no-such-bucket/x.fin", f"s3://{BUCKET}/out/again.csv",
                     self.path("again.out"))
        self.assertExit(r, 3)
        self.assertEqual(self.s3.head_object(Bucket=BUCKET, Key="out/again.csv")["ContentLength"], 5)
        self.assertFrontClean()

    def test_sse_metadata(self):
        src = self.path("doc.json", b'{"a":1}')
        self.ok(self.run("s3cp", "--sse", "AES256", "--metadata", "Team=data", "--metadata", "run=42",
                         "--cache-control", "max-age=60", "--storage-class", "STANDARD_IA", src, f"s3://{BUCKET}/meta/"))
        h = self.aws("s3api", "head-object", "--bucket", BUCKET, "--key", "meta/doc.json", json=True)
        if not self.lacks("sse"):
            self.assertEqual(h["ServerSideEncryption"], "AES256")
        self.assertEqual(h["Metadata"], {"team": "data", "run": "42"})
        self.assertEqual(h["ContentType"], "application/json")  # guessed from the extension
        self.assertEqual(h["CacheControl"], "max-age=60")
        if not self.lacks("storage-class"):
            self.assertEqual(h["StorageClass"], "STANDARD_IA")
        # Multipart: the same settings travel on CreateMultipartUpload.
        big = self.path("big.bin", os.urandom(PS + 10))
        self.ok(self.run("s3cp", "--part-size", "5M", "--checksum", "crc32", "--sse", "aws:kms", "--sse-kms-key-id",
                         "alias/awsbox", "--content-type", "application/x-test", "--metadata", "k=v", big,
                         f"s3://{BUCKET}/meta/big.bin"))
        h = self.aws("s3api", "head-object", "--bucket", BUCKET, "--key", "meta/big.bin", json=True)
        if not self.lacks("sse"):
            self.assertEqual(h["ServerSideEncryption"], "aws:kms")
            self.assertIn("awsbox", h.get("SSEKMSKeyId", ""))
        self.assertEqual(h["ContentType"], "application/x-test")
        self.assertEqual(h["Metadata"], {"k": "v"})
        self.assertFrontClean()

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

    def test_download_makes_parent_directories(self):
        """Missing directories above a download are made, as the AWS CLI makes them; one that
        cannot be made is named in the one error line."""
        self.ok(self.run("s3cp", self.path("pd", b"parents"), f"s3://{BUCKET}/pd/a/b.txt"))
        out = os.path.join(self.d, "pd-new", "deep", "file")
        self.ok(self.run("s3cp", f"s3://{BUCKET}/pd/a/b.txt", out))
        self.assertEqual(self.read(out), b"parents")
        tree = os.path.join(self.d, "pd-tree", "x")
        self.ok(self.run("s3cp", "-r", f"s3://{BUCKET}/pd/", tree))
        self.assertEqual(self.read(os.path.join(tree, "a", "b.txt")), b"parents")
        blocker = self.path("pd-file", b"a file where a directory should be")
        for args in (["s3cp", f"s3://{BUCKET}/pd/a/b.txt", os.path.join(blocker, "sub", "f")],
                     ["s3cp", "-r", f"s3://{BUCKET}/pd/", os.path.join(blocker, "sub")]):
            with self.subTest(args=args[1]):
                r = self.run(*args)
                self.assertExit(r, 1)
                self.assertIn(f"mkdir {blocker}/sub: Not a directory", r.err)
                self.assertEqual(len(r.err.strip().splitlines()), 1, r.err)

    def test_replaced_file_keeps_mode(self):
        """A download over an existing file keeps its permissions, as cp does: a private key
        stays 0600 (the temporary file that replaces it is made so before any byte is written)."""
        self.ok(self.run("s3cp", self.path("km", b"new contents"), f"s3://{BUCKET}/keepmode"))
        for mode in (0o600, 0o755):
            with self.subTest(mode=oct(mode)):
                out = self.path(f"km.{mode:o}", b"old")
                os.chmod(out, mode)
                self.ok(self.run("s3cp", f"s3://{BUCKET}/keepmode", out))
                self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), mode)
                with open(out, "rb") as f:
                    self.assertEqual(f.read(), b"new contents")

    def test_no_overwrite(self):
        a, b = self.path("a", b"first"), self.path("b", b"second")
        self.ok(self.run("s3cp", "--no-overwrite", a, f"s3://{BUCKET}/noover/x"))
        inm = not self.lacks("if-none-match")
        if inm:  # one PutObject: S3 refuses it (412)
            r = self.run("s3cp", "--no-overwrite", b, f"s3://{BUCKET}/noover/x")
            self.assertExit(r, 1)
            self.assertIn("exists", r.err)
        # multipart: a HeadObject first, so that no part is sent for nothing ...
        big = self.path("big", os.urandom(PS + 1))
        n = len(self.front.requests)
        r = self.run("s3cp", "--no-overwrite", "--part-size", "5M", "--checksum", "crc32", big, f"s3://{BUCKET}/noover/x")
        self.assertExit(r, 1)
        self.assertIn("exists", r.err)
        self.assertEqual([q.method for q in self.front.requests[n:]], ["HEAD"])
        # ... and If-None-Match on CompleteMultipartUpload for an object that appears meanwhile
        # (here: a HeadObject answered 404 although it is there).
        if inm:
            self.front.on_request = lambda q: (404, [], b"") if q.method == "HEAD" and q.path.endswith("/noover/x") else None
            try:
                r = self.run("s3cp", "--no-overwrite", "--part-size", "5M", "--checksum", "crc32", big,
                             f"s3://{BUCKET}/noover/x")
            finally:
                self.front.on_request = None
            self.assertExit(r, 1)
            self.assertIn("exists", r.err)
            self.assertEqual(self.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []), [])
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="noover/x")["Body"].read(), b"first")
        # A write-only bucket answers HeadObject of a missing key 403: the upload goes on,
        # guarded by If-None-Match.
        self.front.on_request = lambda q: (403, [], b"") if q.method == "HEAD" and q.path.endswith("/noover/wo") else None
        try:
            r = self.run("s3cp", "--no-overwrite", "--part-size", "5M", big, f"s3://{BUCKET}/noover/wo")
        finally:
            self.front.on_request = None
        self.assertExit(r, 0)
        self.assertEqual(self.s3.head_object(Bucket=BUCKET, Key="noover/wo")["ContentLength"], PS + 1)
        # ... and a local file is not replaced.
        r = self.run("s3cp", "--no-overwrite", f"s3://{BUCKET}/noover/x", b)
        self.assertExit(r, 1)
        self.assertEqual(self.read(b), b"second")
        r = self.run("s3cp", "--no-overwrite", a, f"s3://{BUCKET}/noover/x2")
        self.assertExit(r, 0)
        self.assertEqual(self.leftovers(), [])

    def test_server_side_copy(self):
        data = os.urandom(11 * MIB)
        self.s3.put_object(Bucket=BUCKET, Key="cp/src.bin", Body=data, ContentType="application/x-src",
                           Metadata={"origin": "test"}, CacheControl="no-cache")
        n = len(self.front.requests)
        self.ok(self.run("s3cp", f"s3://{BUCKET}/cp/src.bin", f"s3://{BUCKET}/cp/dst/"))
        self.assertEqual(self.cli_get("cp/dst/src.bin"), data)
        ops = [r for r in self.front.requests[n:] if r.method == "PUT"]
        self.assertEqual(len(ops), 1)
        self.assertTrue(ops[0].header("x-amz-copy-source"))  # CopyObject: no bytes through us
        # Above the threshold (lowered here: S3's is 5 GiB), UploadPartCopy in parallel, the
        # source's metadata carried over as CopyObject would.
        env = self.env(AWSBOX_S3_COPY_THRESHOLD=str(5 * MIB))
        if self.lacks("upload-part-copy"):
            env = None  # a CopyObject, for the source of what follows
        self.ok(self.run("s3cp", "--part-size", "5M", f"s3://{BUCKET}/cp/src.bin", f"s3://{BUCKET}/cp/mp.bin", env=env))
        self.assertEqual(self.cli_get("cp/mp.bin"), data)
        h = self.s3.head_object(Bucket=BUCKET, Key="cp/mp.bin")
        if env:
            self.assertTrue(h["ETag"].endswith('-3"'), h["ETag"])
        self.assertEqual((h["ContentType"], h["Metadata"], h.get("CacheControl")),
                         ("application/x-src", {"origin": "test"}, "no-cache"))
        # --metadata replaces; --move deletes the source afterwards.
        self.ok(self.run("s3cp", "--move", "--metadata", "new=1", f"s3://{BUCKET}/cp/mp.bin", f"s3://{BUCKET}/cp/moved"))
        self.assertEqual(self.s3.head_object(Bucket=BUCKET, Key="cp/moved")["Metadata"], {"new": "1"})
        self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket=BUCKET, Prefix="cp/mp.bin"))
        self.assertFrontClean()

    def test_copy_changes_only_what_is_asked(self):
        """A copy with --metadata, --content-type or --cache-control changes that and keeps the
        source's other content headers and metadata (S3's REPLACE directive alone would reset
        them), by CopyObject and by a multipart copy. The AWS CLI is no oracle here: it ignores
        --content-type and --cache-control on S3 -> S3 copies and drops Cache-Control and
        Content-Disposition with --metadata (checked below, so that a change there shows)."""
        src = {"ContentType": "application/json", "CacheControl": "max-age=60", "ContentDisposition": "inline",
               "Metadata": {"origin": "test"}}
        self.s3.put_object(Bucket=BUCKET, Key="cph/src.json", Body=os.urandom(6 * MIB), **src)
        for args, change in ((["--metadata", "extra=1"], {"Metadata": {"extra": "1"}}),
                             (["--content-type", "text/x-new"], {"ContentType": "text/x-new"}),
                             (["--cache-control", "no-store"], {"CacheControl": "no-store"})):
            for mp in (False, True):
                if mp and self.lacks("upload-part-copy"):
                    continue
                with self.subTest(args=args, multipart=mp):
                    env = self.env(AWSBOX_S3_COPY_THRESHOLD=str(5 * MIB)) if mp else None
                    self.ok(self.run("s3cp", "--part-size", "5M", *args, f"s3://{BUCKET}/cph/src.json",
                                     f"s3://{BUCKET}/cph/ours", env=env))
                    h = self.s3.head_object(Bucket=BUCKET, Key="cph/ours")
                    if not self.lacks("mpu-etag"):
                        self.assertEqual(h["ETag"].endswith('-2"'), mp)
                    self.assertEqual({f: h.get(f) for f in src}, dict(src, **change))
        self.assertExit(self.aws("s3", "cp", "--metadata", "extra=1", f"s3://{BUCKET}/cph/src.json", f"s3://{BUCKET}/cph/cli"), 0)
        h = self.s3.head_object(Bucket=BUCKET, Key="cph/cli")
        self.assertEqual((h.get("CacheControl"), h["ContentType"]), (None, "application/json"))

    def test_copy_onto_itself_to_change_it(self):
        """An object copied onto itself changes what was asked (metadata, storage class), the
        rest kept, as `aws s3 cp` does with a metadata directive; with nothing to change, or with
        --move, it is refused (2) and the object is untouched."""
        self.s3.put_object(Bucket=BUCKET, Key="self/o.json", Body=b"{}", ContentType="application/json",
                           Metadata={"v": "1"})
        url = f"s3://{BUCKET}/self/o.json"
        for args in ([], ["--move", "--metadata", "v=2"]):
            with self.subTest(args=args):
                r = self.run("s3cp", *args, url, url)
                self.assertExit(r, 2)
                self.assertIn("same object", r.err)
        self.assertEqual(self.s3.head_object(Bucket=BUCKET, Key="self/o.json")["Metadata"], {"v": "1"})
        self.ok(self.run("s3cp", "--metadata", "v=2", url, url))
        h = self.s3.head_object(Bucket=BUCKET, Key="self/o.json")
        self.assertEqual((h["Metadata"], h["ContentType"]), ({"v": "2"}, "application/json"))
        if not self.lacks("storage-class"):
            self.ok(self.run("s3cp", "--storage-class", "STANDARD_IA", url, url))
            h = self.s3.head_object(Bucket=BUCKET, Key="self/o.json")
            self.assertEqual((h.get("StorageClass"), h["Metadata"]), ("STANDARD_IA", {"v": "2"}))
        self.assertEqual(self.s3.get_object(Bucket=BUCKET, Key="self/o.json")["Body"].read(), b"{}")

    def test_recursive_to_missing_bucket_says_it_once(self):
        """-r into a bucket that is not there: one NoSuchBucket line and a count of every other
        object not copied (all of them: those queued, in flight, and not yet reached), exit 3, and
        no more objects are started. From a directory and from a prefix."""
        n = 600
        for i in range(n):
            self.path(f"nb/f{i:03d}", b"x")
        self.ok(self.run("s3cp", "-r", os.path.join(self.d, "nb"), f"s3://{BUCKET}/nb/", timeout=120))
        for src in (os.path.join(self.d, "nb"), f"s3://{BUCKET}/nb/"):
            with self.subTest(src=src):
                self.front.reset()
                r = self.run("s3cp", "-r", src, "s3://awsbox-no-such-bucket/p/", timeout=60)
                self.assertExit(r, 3)
                lines = r.err.strip().splitlines()
                self.assertEqual(sum("NoSuchBucket" in l for l in lines), 1, r.err)
                self.assertEqual(len(lines), 2, r.err)
                self.assertEqual(lines[1], f"s3cp: {n - 1} more objects not copied for the same reason")
                tried = [q for q in self.front.requests if q.method in ("PUT", "HEAD") and "awsbox-no-such-bucket" in q.path]
                self.assertLess(len(tried), n // 2, "every object was still tried")

    def test_exit_codes(self):
        self.assertExit(self.run("s3cp", f"s3://{BUCKET}/no/such/key", self.path("x")), 3)
        self.assertExit(self.run("s3cp", "s3://awsbox-no-such-bucket/k", "-"), 3)
        self.assertExit(self.run("s3cp", self.path("missing"), f"s3://{BUCKET}/x"), 3)
        r = self.run("s3cp", self.path("f", b"1"), "s3://awsbox-no-such-bucket/k")
        self.assertExit(r, 3)
        self.assertIn("NoSuchBucket", r.err)
        for bad in (["a", "b"], ["s3://b/k"], ["s3://b b/k", "x"], ["--checksum", "md5", "x", "s3://b/k"],
                    ["--part-size", "1M", "x", "s3://b/k"], ["-r", "-", "s3://b/k"], ["s3://b/prefix/", "x"],
                    ["--acl", "bogus", "x", "s3://b/k"], ["--metadata", "novalue", "x", "s3://b/k"],
                    ["-r", self.path("f"), f"s3://{BUCKET}/t/"]):
            with self.subTest(args=bad):
                r = self.run("s3cp", *bad)
                self.assertExit(r, 2)
                self.assertIn("Usage: s3cp", r.err)
        bad = self.env(AWS_SECRET_ACCESS_KEY="wrong")
        self.assertExit(self.run("s3cp", f"s3://{BUCKET}/x", "-", env=bad), 4)
        self.assertExit(self.run("s3cp", f"s3://{BUCKET}/x", "-", env=self.env(creds=False)), 4)
        self.assertEqual(self.leftovers(), [])

    # ---- integrity ---------------------------------------------------------------------------
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

    def test_listing_repeats_its_token(self):
        """A listing that answers IsTruncated with the continuation token it was given loops
        forever unless caught: s3cp -r fails with one clear line (exit 1)."""
        self.once("the front's hook answers")
        self.front.on_request = harness.repeating_listing("loop/", "loop/nothing/")
        try:
            r = self.run("s3cp", "-r", f"s3://{BUCKET}/loop/", os.path.join(self.d, "loop"), timeout=15)
        finally:
            self.front.on_request = None
        self.assertExit(r, 1)
        self.assertIn("repeated a continuation token", r.err)

    # ---- the TLS path: UNSIGNED-PAYLOAD with an aws-chunked trailer -----------------------------
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
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.alive = True

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        self.alive = False
        self.sock.close()

    def _accept(self):
        while self.alive:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

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
