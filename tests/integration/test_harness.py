"""test_harness.py — self-tests of the harness, with botocore as the client: the verifying front
accepts what botocore signs (S3 keys with space + % ? unicode //, presigned URLs, aws-chunked
with a trailing checksum, Lambda) and rejects each kind of tampering; moto (a) really checks
signatures; the IMDS and container stand-ins serve what botocore's own fetchers accept."""
import base64
import datetime
import hashlib
import http.client
import json
import socket
import subprocess
import sys
import time
import unittest.mock
import urllib.error
import urllib.request
import zlib

import botocore.exceptions
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import ContainerMetadataFetcher, InstanceMetadataFetcher, InstanceMetadataRegionFetcher

import front as frontmod
import harness
import standins
from faultproxy import FaultProxy
from harness import ACCOUNT, REGION, ROLE, AwsboxTestCase

BUCKET = "awsbox-harness"
KEYS_BUCKET = "awsbox-keys"
KEYS = ["plain.txt", "with space.txt", "a+b=c.txt", "100% sure", "what?.txt", "ünïcødé/日本語.txt",
        "dir//double", "tilde~,;:@$&'()*!", "/leading", "trailing/"]


def sign(method, path, body=b"", headers=None, service="s3", creds=None, when=None, context=None):
    """(method, path, [(name, value)], body) signed by botocore for the front at the given time."""
    f = harness.front()
    akid, secret = creds[:2] if creds else harness.key()
    token = creds[2] if creds and len(creds) > 2 else None
    req = AWSRequest(method=method, url=f.url + path, data=body, headers=dict(headers or {}))
    req.context.update(context or {})
    cls = S3SigV4Auth if service == "s3" else SigV4Auth
    now = when or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    with unittest.mock.patch("botocore.auth.get_current_datetime", return_value=now):
        cls(Credentials(akid, secret, token), service, REGION).add_auth(req)
    hdrs = [("Host", f.url.split("//")[1])] + list(req.headers.items())
    return method, path, hdrs, body


def send(method, path, headers, body=b"", chunked=False):
    """Sends exactly these bytes to the front; returns (status, {header: value}, body)."""
    f = harness.front()
    c = http.client.HTTPConnection("127.0.0.1", f.port, timeout=10)
    try:
        c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers:
            c.putheader(k, v.encode() if isinstance(v, str) else v)
        if not chunked and body and not any(k.lower() == "content-length" for k, _ in headers):
            c.putheader("Content-Length", str(len(body)))  # unsigned, as botocore leaves it
        if chunked:
            c.putheader("Transfer-Encoding", "chunked")
            c.endheaders()
            for i in range(0, len(body), 7):  # odd-sized HTTP chunks on purpose
                piece = body[i:i + 7]
                c.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            c.send(b"0\r\n\r\n")
        else:
            c.endheaders(body or None)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def aws_chunked(data, trailer_name, trailer_value, chunk=64):
    out = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + chunk]), data[i:i + chunk]) for i in range(0, len(data), chunk))
    return out + b"0\r\n%s:%s\r\n\r\n" % (trailer_name.encode(), trailer_value.encode())


class Front(AwsboxTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s3 = harness.client("s3")
        for b in (BUCKET, KEYS_BUCKET):
            try:
                s3.create_bucket(Bucket=b)
            except s3.exceptions.BucketAlreadyOwnedByYou:
                pass

    def rejected_with(self, code, status, reason_part):
        f = harness.front()
        self.assertEqual(len(f.rejected), 1, f.rejected)
        r = f.rejected[0]
        self.assertEqual((r["code"], r["status"]), (code, status), r)
        self.assertIn(reason_part, r["reason"])

    def test_s3_keys_through_front(self):
        s3 = harness.client("s3")
        for k in KEYS:
            s3.put_object(Bucket=KEYS_BUCKET, Key=k, Body=k.encode())
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=KEYS_BUCKET)["Contents"]]
        self.assertEqual(sorted(listed), sorted(KEYS))
        for k in KEYS:
            self.assertEqual(s3.get_object(Bucket=KEYS_BUCKET, Key=k)["Body"].read(), k.encode(), k)
            self.assertEqual(s3.head_object(Bucket=KEYS_BUCKET, Key=k)["ContentLength"], len(k.encode()))
        for prefix in ("ünïcødé/", "a+", "100% ", "what?", "dir//"):
            got = [o["Key"] for o in s3.list_objects_v2(Bucket=KEYS_BUCKET, Prefix=prefix)["Contents"]]
            self.assertEqual(got, [k for k in KEYS if k.startswith(prefix)], prefix)
        self.assertFrontClean(min_verified=3 * len(KEYS) + 6)
        f = harness.front()
        self.assertLess(f.connections, 3, "botocore keeps its connection alive; the front must too")
        self.assertTrue(any(r.expect_continue for r in f.requests), "botocore sends Expect: 100-continue")
        self.assertTrue(any(r.all("x-amz-checksum-crc32") for r in f.requests), "a header checksum was checked")

    def test_aws_cli_oracle(self):
        harness.client("s3").put_object(Bucket=BUCKET, Key="cli/ü+ü", Body=b"x")
        out = self.aws("s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", "cli/", json=True)
        self.assertEqual([o["Key"] for o in out["Contents"]], ["cli/ü+ü"])
        self.assertFrontClean(min_verified=2)

    def test_presigned(self):
        s3 = harness.client("s3", signature_version="s3v4")
        s3.put_object(Bucket=BUCKET, Key="pre sign+d", Body=b"presigned body")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "pre sign+d"}, ExpiresIn=60)
        with urllib.request.urlopen(url, timeout=10) as r:
            self.assertEqual(r.read(), b"presigned body")
        self.assertTrue(harness.front().requests[-1].presigned)
        bad = url[:-1] + ("0" if url[-1] != "0" else "1")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(bad, timeout=10)
        self.assertEqual(cm.exception.code, 403)
        self.assertIn(b"<Code>SignatureDoesNotMatch</Code>", cm.exception.read())
        self.rejected_with("SignatureDoesNotMatch", 403, "signature mismatch")

    def test_presigned_expired(self):
        s3 = harness.client("s3", signature_version="s3v4")
        then = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(seconds=120)
        with unittest.mock.patch("botocore.auth.get_current_datetime", return_value=then):
            url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "x"}, ExpiresIn=60)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(url, timeout=10)
        self.assertEqual(cm.exception.code, 403)
        self.rejected_with("AccessDenied", 403, "expired")

    def test_wrong_secret(self):
        s3 = harness.client("s3", creds={"AccessKeyId": harness.key()[0], "SecretAccessKey": "wrong"})
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.list_objects_v2(Bucket=BUCKET)
        self.assertEqual(cm.exception.response["Error"]["Code"], "SignatureDoesNotMatch")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.rejected_with("SignatureDoesNotMatch", 403, "signature mismatch")

    def test_tampered_header(self):
        m, p, h, b = sign("PUT", f"/{BUCKET}/tamper", b"data", {"x-amz-meta-note": "signed"})
        self.assertEqual(send(m, p, h, b)[0], 200)
        h = [(k, "changed" if k.lower() == "x-amz-meta-note" else v) for k, v in h]
        status, _, body = send(m, p, h, b)
        self.assertEqual(status, 403, body)
        self.assertEqual(harness.front().verified, 1)
        self.rejected_with("SignatureDoesNotMatch", 403, "signature mismatch")

    def test_changed_path(self):
        m, p, h, b = sign("GET", f"/{BUCKET}/a%20b")
        status, _, body = send(m, f"/{BUCKET}/a+b", h, b)
        self.assertEqual(status, 403, body)
        self.rejected_with("SignatureDoesNotMatch", 403, "signature mismatch")

    def test_changed_query(self):
        m, p, h, b = sign("GET", f"/{BUCKET}?list-type=2&prefix=a%2Bb")
        self.assertEqual(send(m, p, h, b)[0], 200)
        status, _, _ = send(m, f"/{BUCKET}?list-type=2&prefix=a%2Bc", h, b)
        self.assertEqual(status, 403)
        self.rejected_with("SignatureDoesNotMatch", 403, "signature mismatch")

    def test_body_not_matching_hash(self):
        m, p, h, _ = sign("PUT", f"/{BUCKET}/body", b"signed body")
        status, _, body = send(m, p, h, b"other body!")
        self.assertEqual(status, 400, body)
        self.rejected_with("XAmzContentSHA256Mismatch", 400, "SHA-256")

    def test_unknown_key_and_tokens(self):
        m, p, h, b = sign("GET", f"/{BUCKET}?list-type=2", creds=("AKIAUNKNOWN000000000", "secret"))
        self.assertEqual(send(m, p, h, b)[0], 403)
        self.rejected_with("InvalidAccessKeyId", 403, "unknown access key")
        harness.front().reset()
        t = harness.temp_creds()
        good = (t["AccessKeyId"], t["SecretAccessKey"], t["SessionToken"])
        self.assertEqual(send(*sign("GET", f"/{BUCKET}?list-type=2", creds=good))[0], 200)
        self.assertEqual(send(*sign("GET", f"/{BUCKET}?list-type=2", creds=good[:2] + ("forged",)))[0], 400)
        self.rejected_with("InvalidToken", 400, "wrong")

    def test_clock_skew(self):
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        ok = sign("GET", f"/{BUCKET}?list-type=2", when=now - datetime.timedelta(minutes=10))
        self.assertEqual(send(*ok)[0], 200)
        m, p, h, b = sign("GET", f"/{BUCKET}?list-type=2", when=now - datetime.timedelta(minutes=20))
        status, hdrs, body = send(m, p, h, b)
        self.assertEqual(status, 403)
        self.assertIn(b"<Code>RequestTimeTooSkewed</Code>", body)
        self.assertIn("date", hdrs, "the client needs the server's Date to fix its clock")
        self.rejected_with("RequestTimeTooSkewed", 403, "from the server's clock")

    def _chunked_put(self, key, data, trailer, value, decoded_len=None, length=True):
        enc = aws_chunked(data, trailer, value)
        hdrs = {"Content-Encoding": "aws-chunked", "X-Amz-Trailer": trailer,
                "X-Amz-Decoded-Content-Length": str(len(data) if decoded_len is None else decoded_len)}
        if length:  # signed, as our client does; without it the body goes HTTP-chunked
            hdrs["Content-Length"] = str(len(enc))
        ctx = {"checksum": {"request_algorithm": {"in": "trailer", "name": trailer, "algorithm": trailer[15:]}}}
        m, p, h, b = sign("PUT", f"/{BUCKET}/{key}", enc, hdrs, context=ctx)
        self.assertIn(("X-Amz-Content-SHA256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"), h)
        return m, p, h, b

    def test_aws_chunked_trailer(self):
        data = bytes(range(256)) * 3
        crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        m, p, h, b = self._chunked_put("chunked", data, "x-amz-checksum-crc32", crc)
        self.assertEqual(send(m, p, h, b)[0], 200)
        # The same bytes again, inside HTTP chunked transfer coding (no Content-Length).
        self.assertEqual(send(*self._chunked_put("chunked2", data, "x-amz-checksum-crc32", crc, length=False),
                              chunked=True)[0], 200)
        self.assertTrue(harness.front().requests[-1].http_chunked)
        s3 = harness.client("s3")
        for k in ("chunked", "chunked2"):
            self.assertEqual(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read(), data)
        sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
        self.assertEqual(send(*self._chunked_put("c3", data, "x-amz-checksum-sha256", sha))[0], 200)
        c32c = base64.b64encode(frontmod.crc32c(data).to_bytes(4, "big")).decode()
        self.assertEqual(send(*self._chunked_put("c4", data, "x-amz-checksum-crc32c", c32c))[0], 200)
        self.assertFrontClean(min_verified=6)

    def test_aws_chunked_bad_checksum_and_length(self):
        data = b"hello, chunks" * 20
        wrong = base64.b64encode(zlib.crc32(data + b"!").to_bytes(4, "big")).decode()
        status, _, body = send(*self._chunked_put("bad", data, "x-amz-checksum-crc32", wrong))
        self.assertEqual(status, 400, body)
        self.rejected_with("BadDigest", 400, "trailer x-amz-checksum-crc32")
        harness.front().reset()
        crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        status, _, _ = send(*self._chunked_put("bad", data, "x-amz-checksum-crc32", crc, decoded_len=len(data) + 1))
        self.assertEqual(status, 400)
        self.rejected_with("IncompleteBody", 400, "x-amz-decoded-content-length")

    def test_crc32c_rfc3720_vectors(self):
        # RFC 3720 appendix B.4 (iSCSI) CRC32C examples, as the value's integer reading.
        self.assertEqual(frontmod.crc32c(bytes(32)), 0x8A9136AA)
        self.assertEqual(frontmod.crc32c(b"\xff" * 32), 0x62A8AB43)
        self.assertEqual(frontmod.crc32c(bytes(range(32))), 0x46DD794E)
        self.assertEqual(frontmod.crc32c(bytes(range(31, -1, -1))), 0x113FDB5C)

    def _raw(self, data, read_until_close=True):
        s = socket.create_connection(("127.0.0.1", harness.front().port), timeout=10)
        s.sendall(data)
        out = b""
        while read_until_close:
            piece = s.recv(65536)
            if not piece:
                break
            out += piece
        return s, out

    def test_expect_continue(self):
        m, p, h, b = sign("PUT", f"/{BUCKET}/expect", b"x" * 1000, {"Expect": "100-continue"})
        head = f"{m} {p} HTTP/1.1\r\n".encode() + b"".join(f"{k}: {v}\r\n".encode() for k, v in h) + \
            f"Content-Length: {len(b)}\r\n\r\n".encode()
        s, _ = self._raw(head, read_until_close=False)
        self.assertEqual(s.recv(100), b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b)
        self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 200 "))
        s.close()
        # Refused on the headers alone: no 100, the answer, and the connection closed.
        h = [(k, "AWS4-HMAC-SHA256 " + v.split(" ", 1)[1].replace("Signature=", "Signature=0"))
             if k == "Authorization" else (k, v) for k, v in h]
        head = f"{m} {p} HTTP/1.1\r\n".encode() + b"".join(f"{k}: {v}\r\n".encode() for k, v in h) + \
            f"Content-Length: {len(b)}\r\n\r\n".encode()
        s, out = self._raw(head)
        self.assertTrue(out.startswith(b"HTTP/1.1 403 "), out[:100])
        self.assertIn(b"Connection: close", out)
        s.close()

    def test_keep_alive_counted(self):
        m, p, h, b = sign("GET", f"/{BUCKET}?list-type=2")
        c = http.client.HTTPConnection("127.0.0.1", harness.front().port, timeout=10)
        for _ in range(3):
            c.putrequest(m, p, skip_host=True, skip_accept_encoding=True)
            for k, v in h:
                c.putheader(k, v)
            c.endheaders()
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
        c.close()
        f = harness.front()
        self.assertEqual((f.connections, f.verified), (1, 3))
        self.assertEqual({r.conn for r in f.requests}, {f.requests[0].conn})

    def test_bad_http(self):
        _, out = self._raw(b"GET / HTTP/1.1\nHost: x\n\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "))
        self.assertIn("CRLF", harness.front().reasons[0])
        harness.front().reset()
        _, out = self._raw(b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "))
        self.assertIn("both Transfer-Encoding and Content-Length", harness.front().reasons[0])

    def test_unsigned(self):
        status, _, body = send("GET", f"/{BUCKET}?list-type=2", [("Host", "x")])
        self.assertEqual(status, 403)
        self.rejected_with("AccessDenied", 403, "unsigned")

    def test_lambda_through_front(self):
        name = f"echo-{int(time.time() * 1000)}"
        arn = harness.create_lambda(name)
        lam = harness.client("lambda")
        r = lam.invoke(FunctionName=name, Payload=b'{"hello": "world", "n": [1, 2]}')
        self.assertEqual(json.loads(r["Payload"].read()), {"hello": "world", "n": [1, 2]})
        self.assertNotIn("FunctionError", r)
        self.assertEqual(lam.get_function(FunctionName=arn)["Configuration"]["FunctionName"], name)  # a GET, by ARN
        self.assertFrontClean(min_verified=3)
        bad = harness.client("lambda", creds={"AccessKeyId": harness.key()[0], "SecretAccessKey": "wrong"})
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            bad.get_function(FunctionName=name)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidSignatureException")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.rejected_with("SignatureDoesNotMatch", 403, "signature mismatch")


class MotoAuth(AwsboxTestCase):
    def test_rejects_wrong_signature(self):
        akid, secret = harness.key()
        ssm = harness.client("ssm")
        ssm.put_parameter(Name="/harness/p", Value="v", Type="String", Overwrite=True)
        self.assertEqual(ssm.get_parameter(Name="/harness/p")["Parameter"]["Value"], "v")
        for creds in ({"AccessKeyId": akid, "SecretAccessKey": secret + "x"},
                      {"AccessKeyId": "AKIAUNKNOWN000000000", "SecretAccessKey": secret}):
            bad = harness.client("ssm", creds=creds)
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                bad.get_parameter(Name="/harness/p")
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403, creds)

    def test_identity_and_temp_creds(self):
        self.assertEqual(harness.client("sts").get_caller_identity()["Arn"], harness.USER_ARN)
        t = harness.temp_creds(session="harness-test")
        ident = harness.client("sts", creds=t).get_caller_identity()
        self.assertEqual(ident["Arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/harness-test")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            harness.client("sts", creds=dict(t, SessionToken="forged")).get_caller_identity()
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)

    def test_env(self):
        e = self.env()
        self.assertEqual(e["AWS_ACCESS_KEY_ID"], harness.key()[0])
        self.assertEqual(e["AWS_ENDPOINT_URL_S3"], harness.front().url)
        self.assertEqual(e["AWS_ENDPOINT_URL"], harness.moto_auth().url)
        self.assertEqual(e["AWS_EC2_METADATA_DISABLED"], "true")
        self.assertNotIn("AWS_ACCESS_KEY_ID", self.env(creds=False))
        self.assertNotIn("AWS_REGION", self.env(AWS_REGION=None))
        self.assertTrue(e["PATH"].startswith(str(harness.S.bin) + ":"))
        self.assertEqual(open(e["AWS_CONFIG_FILE"]).read(), "")
        self.assertTrue(e["HOME"].startswith(str(harness.S.tmp)))


# Run in a process of its own: it reuses a descriptor number and restarts blocked system calls.
STOLEN = r"""
import os, signal, socket, threading, time
from faultproxy import FaultProxy

def fd_of(port):
    for name in os.listdir("/proc/self/fd"):
        try:
            d = os.dup(int(name))
        except OSError:
            continue
        try:
            with socket.socket(fileno=d) as s:
                if s.getsockname()[1] == port:
                    return int(name)
        except (OSError, IndexError, TypeError):
            pass

p = FaultProxy({}).start()
fd = fd_of(p.port)
time.sleep(0.2)  # its thread waits in accept()
p.stop()
n = socket.socket()
n.bind(("127.0.0.1", 0))
n.listen(4)
os.dup2(n.fileno(), fd)  # the stopped proxy's descriptor number now names another listening socket
signal.signal(signal.SIGUSR1, lambda *a: None)
signal.siginterrupt(signal.SIGUSR1, False)  # SA_RESTART, as a stop and continue would do
for t in threading.enumerate():
    if t is not threading.main_thread():
        signal.pthread_kill(t.ident, signal.SIGUSR1)
time.sleep(0.2)
c = socket.create_connection(n.getsockname())
time.sleep(0.5)
n.setblocking(False)
try:
    n.accept()
    print("ours")
except BlockingIOError:
    print("taken by the stopped proxy")
"""


class Listeners(unittest.TestCase):
    """A stopped raw-socket test server (fault proxy, CONNECT proxy, TLS relay: listener.py) leaves
    no thread in accept(): such a thread, restarted, took one connection meant for the front
    (a bare 403 or a closed connection in whichever test came next)."""

    def test_stopped_proxy_leaves_nothing_listening(self):
        p = FaultProxy({}).start()
        with socket.create_connection(("127.0.0.1", p.port)):
            pass
        time.sleep(0.1)  # its thread is back in accept()
        p.stop()
        self.assertTrue(standins.port_is_closed(p.port), "the stopped fault proxy's socket still listens")
        r = subprocess.run([sys.executable, "-c", STOLEN], cwd=harness.HERE, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.stdout.strip(), "ours", r.stderr)


class StandIns(AwsboxTestCase):
    def _get(self, url, headers=None, method="GET"):
        req = urllib.request.Request(url, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def test_imds_token_flow(self):
        imds = self.imds("v2")
        self.assertEqual(self._get(imds.url + "/latest/api/token", method="PUT")[0], 400)
        self.assertEqual(self._get(imds.url + "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "0"},
                                   "PUT")[0], 400)
        status, tok = self._get(imds.url + "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"}, "PUT")
        self.assertEqual(status, 200)
        path = "/latest/meta-data/iam/security-credentials/"
        self.assertEqual(self._get(imds.url + path, {"X-aws-ec2-metadata-token": tok}), (200, ROLE))
        self.assertEqual(self._get(imds.url + path, {"X-aws-ec2-metadata-token": "forged"})[0], 401)
        self.assertEqual(self._get(imds.url + path), (200, ROLE))  # v2 with tokens optional
        status, doc = self._get(imds.url + path + ROLE, {"X-aws-ec2-metadata-token": tok})
        doc = json.loads(doc)
        self.assertEqual(doc["Code"], "Success")
        self.assertEqual(doc["AccessKeyId"], imds.creds["AccessKeyId"])
        self.assertEqual(("PUT", "/latest/api/token"), imds.paths()[0])

        req = self.imds("v2-required")
        self.assertEqual(self._get(req.url + path)[0], 401)
        old = self.imds("v1-only")
        self.assertEqual(self._get(old.url + "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60"},
                                   "PUT")[0], 404)
        self.assertEqual(self._get(old.url + path), (200, ROLE))

    def test_imds_botocore_oracle(self):
        """botocore's own IMDS client gets the credentials and the region in each answering mode,
        and those credentials work on moto (a)."""
        for mode in ("v2", "v2-required", "v1-only"):
            with self.subTest(mode=mode):
                imds = self.imds(mode, region="eu-west-3")
                kw = dict(timeout=2, num_attempts=1, base_url=imds.url, env={})
                c = InstanceMetadataFetcher(**kw).retrieve_iam_role_credentials()
                self.assertEqual((c["access_key"], c["token"]), (imds.creds["AccessKeyId"], imds.creds["Token"]))
                self.assertEqual(InstanceMetadataRegionFetcher(**kw).retrieve_region(), "eu-west-3")
                self.assertEqual([m for m, _ in imds.paths()][:3], ["PUT", "GET", "GET"])
                creds = {"AccessKeyId": c["access_key"], "SecretAccessKey": c["secret_key"], "SessionToken": c["token"]}
                arn = harness.client("sts", creds=creds).get_caller_identity()["Arn"]
                self.assertIn(f":assumed-role/{ROLE}/", arn)

    def test_imds_hang(self):
        imds = self.imds("hang")
        t0 = time.monotonic()
        with self.assertRaises((socket.timeout, urllib.error.URLError)):
            urllib.request.urlopen(imds.url + "/latest/meta-data/", timeout=0.5)
        self.assertLess(time.monotonic() - t0, 3)
        self.assertEqual(imds.connections, 1)

    def test_container_creds(self):
        cc = self.container_creds(auth="Bearer s3cr3t")
        f = ContainerMetadataFetcher()
        got = f.retrieve_full_uri(cc.url + cc.path, headers={"Authorization": "Bearer s3cr3t"})
        self.assertEqual(got["AccessKeyId"], cc.creds["AccessKeyId"])
        self.assertEqual(self._get(cc.url + cc.path)[0], 401)
        self.assertEqual(self._get(cc.url + cc.path, {"Authorization": "Bearer wrong"})[0], 401)
        self.assertEqual(cc.env()["AWS_CONTAINER_AUTHORIZATION_TOKEN"], "Bearer s3cr3t")
