"""test_s3cp_object.py — s3cp with one object: round trips of sizes 0, 1, part-1, part, part+1 and
100 MiB both ways, stdin/stdout (and a stream's peak memory), keys with spaces, + % ? unicode and
//; --move, --flag, --acl (read back with get-object-acl), SSE, metadata, --no-overwrite, missing
parent directories, a replaced file's mode; exit codes. Against moto and s3rver (S3cpS3rver); the
fronts, the oracles and what the s3cp modules share: s3cpcase.py.
"""
import hashlib
import os
import re
import stat
import time

import harness
import s3cpcase
from s3cpcase import BUCKET, MIB, PS, crc32c_b64


class S3cp(s3cpcase.S3cpCase):
    # ---- round trips -------------------------------------------------------------------------
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

    # ---- options -----------------------------------------------------------------------------
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


globals().update(harness.per_server(S3cp))
