"""s3cpcase.py — what the s3cp test modules share: the bucket, the part size, the checksum
encodings and S3cpCase, the base of their S3cp classes. test_s3cp_object.py has copies of one
object and streams, test_s3cp_tree.py -r and S3 -> S3 copies, test_s3cp_integrity.py checksums,
corrupted, cut and interrupted transfers and the TLS path. Each module's S3cp runs against moto
behind the verifying front (every request's SigV4 signature, payload hash, aws-chunked framing and
x-amz-checksum-* values checked with botocore / Python), and again against s3rver (S3cpS3rver,
behind a front of its own): what s3rver does not do (S3TestCase.LACKS) is left out and said; tests
that exercise only awsbox or the front run once.

Oracles: the AWS CLI (`aws s3 cp`, `aws s3api ...`) as the independent reader and writer, Python's
hashlib/zlib and the front's CRC32C (RFC 3720 vectors), botocore's AwsChunkedWrapper for the
aws-chunked encoding. Where moto falls short, the front's on_request hook plays S3's documented
part (see each test). The front's CRC32C is pure Python (~5 MB/s, holding the GIL): big objects
use --checksum crc32 so that a test measures s3cp, not the front.
"""
import base64
import hashlib
import os
import zlib

import front as frontmod
import harness

MIB = 1 << 20
PS = 5 * MIB  # the smallest part size S3 allows: keeps multipart tests small
BUCKET = "awsbox-s3cp"


def b64(b):
    return base64.b64encode(b).decode()


def crc32c_b64(data):
    return b64(frontmod.crc32c(data).to_bytes(4, "big"))


def crc32_b64(data):
    return b64(zlib.crc32(data).to_bytes(4, "big"))


class S3cpCase(harness.S3TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s3 = harness.client("s3", server=cls.server)
        try:
            s3.create_bucket(Bucket=BUCKET)
        except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            pass  # the S3cp class of another module made it on this server

    def setUp(self):
        super().setUp()
        self.s3 = self.client("s3")
        self.d = self.tmpdir()

    def path(self, name, data=None):
        p = os.path.join(self.d, name)
        if data is not None:
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        return p

    def read(self, p):
        with open(p, "rb") as f:
            return f.read()

    def cli_get(self, key):
        """The AWS CLI downloads the object: the independent reader."""
        out = self.path("cli-" + hashlib.md5(key.encode()).hexdigest())
        r = self.aws("s3", "cp", f"s3://{BUCKET}/{key}", out)
        self.assertExit(r, 0)
        return self.read(out)

    def leftovers(self, d=None):
        return [n for n in os.listdir(d or self.d) if n.endswith(".tmp")]

    def corrupt_gets(self, key):
        """Serves GETs of key with one byte flipped (headers, checksum and ETag unchanged)."""
        moto = self.client("s3", direct=True)

        def hook(req):
            if req.method != "GET" or not req.path.endswith("/" + key.split("/")[-1]):
                return None
            o = moto.get_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
            body = bytearray(o["Body"].read())
            body[len(body) // 2] ^= 1
            hdrs = [(k, v) for k, v in o["ResponseMetadata"]["HTTPHeaders"].items()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection")]
            return 200, hdrs, bytes(body)
        self.front.on_request = hook

