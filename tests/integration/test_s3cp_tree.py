"""test_s3cp_tree.py — s3cp -r and S3 -> S3: trees up, down and across with filters, symbolic
links, 200 small files and a multipart one, listings past 1,000 keys or repeating their token,
--progress, one object failing among the others, a missing bucket; server-side copies (CopyObject
and UploadPartCopy) and what they carry over or change. Against moto and s3rver (S3cpS3rver); the
fronts, the oracles and what the s3cp modules share: s3cpcase.py.
"""
import os
import time
from concurrent.futures import ThreadPoolExecutor

import harness
import s3cpcase
from s3cpcase import BUCKET, MIB, PS


class S3cp(s3cpcase.S3cpCase):
    # ---- recursion ---------------------------------------------------------------------------
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

    # ---- server-side copies ------------------------------------------------------------------
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


globals().update(harness.per_server(S3cp))
