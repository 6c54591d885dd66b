"""front.py — the verifying front: a strict HTTP/1.1 server that checks every raw request's SigV4
signature with botocore, then forwards it to an auth-less moto.

Specs: SigV4 https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html ; S3 aws-chunked
uploads https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html ; HTTP/1.1 RFC 9112.

Why it exists: moto's own check re-encodes what werkzeug decoded, so it is wrong for S3 keys with
+ % ? or non-ASCII, ListObjectsV2 with a prefix, and Lambda GETs. Here the canonical request is
built by botocore from the path and query exactly as they came over the wire, the header set is
exactly the client's SignedHeaders (as AWS does it), and the payload hash is the client's
x-amz-content-sha256, itself checked against the body.

    front = Front(upstream_url, keys).start()   # keys: Keys(); front.url is http://127.0.0.1:PORT
    front.verified, front.rejected, front.connections, front.requests, front.reasons
    front.reset(); front.on_request = fn   # fn(Request) -> None (go on) or (status, headers, body)
                                           # or "drop" (close without answering); after verification
    front.stop()

STS (for the credential chain's tests): every STS call must be signed, except
AssumeRoleWithWebIdentity, which AWS (and botocore) sends unsigned: a POST whose form body says
Action=AssumeRoleWithWebIdentity passes without a signature (verdict "unsigned"; not counted in
.verified). The credentials in a relayed 200 STS answer (AssumeRole*, GetSessionToken,
GetFederationToken) are learned (.learned lists their access key ids), so the calls signed with
them next are verified like any other.

Errors answered (S3: XML body; Lambda: JSON body and x-amzn-ErrorType), as AWS names them:
403 SignatureDoesNotMatch (Lambda: InvalidSignatureException), 403 InvalidAccessKeyId
(Lambda: UnrecognizedClientException), 400 InvalidToken, 403 RequestTimeTooSkewed, 403 AccessDenied
(unsigned, expired presigned URL), 400 XAmzContentSHA256Mismatch, 400 BadDigest (a checksum or
Content-MD5 that does not match), 400 IncompleteBody, 400 InvalidRequest, 400 AuthorizationHeaderMalformed.
"""
import base64
import datetime
import email.utils
import hashlib
import hmac
import http.client
import itertools
import json
import re
import socket
import socketserver
import threading
import time
import traceback
import uuid
import xml.etree.ElementTree as ET
import zlib
from urllib.parse import parse_qs, unquote

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

SKEW = 15 * 60  # seconds a signature's date may be off, as S3 allows
MAX_BODY = 512 << 20
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "expect",
       "proxy-connection", "proxy-authorization", "proxy-authenticate", "content-length"}
TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
AMZDATE = re.compile(r"^\d{8}T\d{6}Z$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T32C = _crc32c_table()


def crc32c(data, crc=0):
    """CRC-32C (Castagnoli, reflected 0x82F63B78), as in RFC 3720 appendix B.4 (vectors there)."""
    crc ^= 0xFFFFFFFF
    t = _T32C
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the catalogue "check" value for CRC-32C

# x-amz-checksum-ALG -> digest bytes (big-endian for CRCs), what S3 compares after base64.
CHECKSUMS = {
    "crc32c": lambda d: crc32c(d).to_bytes(4, "big"),
    "crc32": lambda d: zlib.crc32(d).to_bytes(4, "big"),
    "sha256": lambda d: hashlib.sha256(d).digest(),
    "sha1": lambda d: hashlib.sha1(d).digest(),
}


class Keys:
    """Known access keys: akid -> (secret, session token or None). Thread-safe."""

    def __init__(self):
        self._k, self._lock = {}, threading.Lock()

    def add(self, akid, secret, token=None):
        with self._lock:
            self._k[akid] = (secret, token)

    def get(self, akid):
        with self._lock:
            return self._k.get(akid)


class Reject(Exception):
    """A request refused: status and AWS code for the client, reason for the test's record."""

    def __init__(self, status, code, reason, extra=None):
        super().__init__(reason)
        self.status, self.code, self.reason, self.extra = status, code, reason, extra or {}


class BadRequest(Exception):
    """Malformed HTTP: answered 400 and the connection is closed."""


class Request:
    """One request as received. headers: [(name, value)] as sent (values trimmed, str)."""

    def __init__(self, conn, method, target, version, headers, head):
        self.conn, self.method, self.target, self.version = conn, method, target, version
        self.headers, self.head = headers, head
        self.path, _, self.query = target.partition("?")
        self.body = b""        # after HTTP de-chunking
        self.data = b""        # after aws-chunked decoding: what the object holds
        self.trailers = {}     # aws-chunked trailer fields
        self.http_chunked = False
        self.aws_chunked = False
        self.expect_continue = False
        self.service = None
        self.akid = None
        self.presigned = False
        self.unsigned = False  # an STS AssumeRoleWithWebIdentity let through unsigned
        self.verdict, self.reason, self.status = None, None, None

    def header(self, name, default=None):
        vals = self.all(name)
        return ",".join(vals) if vals else default

    def all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def __repr__(self):
        return f"<{self.method} {self.target} conn={self.conn} {self.verdict or ''} {self.reason or ''}>"


def _verifier(base):
    """botocore's signer with the server's view: the headers are exactly those the client named
    in SignedHeaders (botocore, as a client, would leave some out), and the payload hash is given."""

    class Verifier(base):
        def __init__(self, creds, service, region, payload_hash):
            super().__init__(creds, service, region)
            self._payload_hash = payload_hash

        def headers_to_sign(self, request):
            hm = HTTPHeaders()
            for k, v in request.headers.items():
                hm[k.lower()] = v  # appends: repeated headers stay repeated
            return hm

        def payload(self, request):
            return self._payload_hash

    return Verifier


S3Verifier, Verifier = _verifier(S3SigV4Auth), _verifier(SigV4Auth)


def _amz_time(s):
    return datetime.datetime.strptime(s, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


class Front:
    def __init__(self, upstream, keys=None, services=("s3", "lambda", "sts"), skew=SKEW):
        self.upstream = upstream.rstrip("/")
        host, port = self.upstream.split("//", 1)[1].split(":")
        self._up = (host, int(port))
        self.keys = keys or Keys()
        self.services = tuple(services)
        self.skew = skew
        self.on_request = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._socks = set()
        self.server = None
        self.reset()

    # -- counters -------------------------------------------------------------------------
    def reset(self):
        """Zeroes the counters and the request log (each test starts clean)."""
        with self._lock:
            self.verified = 0
            self.rejected = []      # dicts: reason, code, status, method, target
            self.connections = 0
            self.requests = []      # Request objects, in arrival order
            self.learned = []       # access key ids learned from STS answers
            self.on_request = None

    @property
    def reasons(self):
        return [r["reason"] for r in self.rejected]

    def add_key(self, akid, secret, token=None):
        self.keys.add(akid, secret, token)

    # -- server ---------------------------------------------------------------------------
    def start(self, port=0):
        front = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                front._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), name="front", daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            with self._lock:
                for s in list(self._socks):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            self.server = None

    def _serve(self, sock):
        conn = next(self._ids)
        with self._lock:
            self.connections += 1
            self._socks.add(sock)
        sock.settimeout(120)
        f = sock.makefile("rb")
        try:
            while self._one(sock, f, conn):
                pass
        except (OSError, ConnectionError):
            pass
        finally:
            with self._lock:
                self._socks.discard(sock)
            f.close()

    def _record(self, req, verdict, reason=None, status=None, code=None):
        req.verdict, req.reason, req.status = verdict, reason, status
        with self._lock:
            if verdict == "ok":
                self.verified += 1
            elif verdict == "rejected":
                self.rejected.append(dict(reason=reason, code=code, status=status,
                                          method=req.method, target=req.target))

    def _one(self, sock, f, conn):
        """Serves one request; returns False when the connection is to be closed."""
        try:
            req = self._read_head(f, conn)
        except BadRequest as e:
            with self._lock:
                self.rejected.append(dict(reason=f"bad HTTP: {e}", code="BadRequest", status=400,
                                          method="?", target="?"))
            self._send(sock, 400, [("Content-Type", "text/plain")], f"bad request: {e}\n".encode(), close=True)
            _linger(sock)
            return False
        if req is None:
            return False
        with self._lock:
            self.requests.append(req)
        close = req.version == "HTTP/1.0" or "close" in (req.header("connection") or "").lower()
        body_read = False
        try:
            self._check_framing(req)
            if self._unsigned_sts_candidate(req):
                self._read_body(req, f)
                body_read = True
                self._check_unsigned_sts(req)
            else:
                ctx = self._check_auth(req)
                if ctx["payload_hash"] is not None:
                    self._check_signature(req, ctx)
                if req.expect_continue:
                    sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                self._read_body(req, f)
                body_read = True
                if ctx["payload_hash"] is None:  # not S3 and no x-amz-content-sha256: hash the body
                    ctx["payload_hash"] = hashlib.sha256(req.body).hexdigest()
                    self._check_signature(req, ctx)
            self._check_payload(req)
        except BadRequest as e:
            self._record(req, "rejected", f"bad HTTP: {e}", 400, "BadRequest")
            self._send(sock, 400, [("Content-Type", "text/plain")], f"bad request: {e}\n".encode(), close=True)
            _linger(sock)
            return False
        except Reject as r:
            self._record(req, "rejected", r.reason, r.status, r.code)
            if not body_read and not req.expect_continue:  # the client sent it: read it to stay in sync
                try:
                    self._read_body(req, f)
                    body_read = True
                except (BadRequest, OSError):
                    pass
            # A body never read (refused instead of 100 Continue) leaves the connection unusable.
            keep = body_read and not close
            status, headers, body = self._error(req, r)
            self._send(sock, status, headers, body, close=not keep, head=req.method == "HEAD")
            if not keep:
                _linger(sock)
            return keep
        except OSError:  # the client went away or timed out
            return False
        except Exception as e:  # a bug here must show in the record, not as a silent hang-up
            r = Reject(500, "InternalError", f"front error: {traceback.format_exc()}")
            self._record(req, "rejected", r.reason, r.status, r.code)
            self._send(sock, 500, [("Content-Type", "text/plain")], f"front error: {e!r}\n".encode(), close=True)
            _linger(sock)
            return False
        self._record(req, "unsigned" if req.unsigned else "ok")
        if self.on_request:
            canned = self.on_request(req)
            if canned == "drop":
                return False
            if canned:
                status, headers, body = canned
                self._send(sock, status, list(headers), body, close=close, head=req.method == "HEAD")
                return not close
        status, reason, headers, body = self._forward(req)
        if req.service == "sts" and status == 200:
            self._learn(body)
        self._send(sock, status, headers, body, close=close, head=req.method == "HEAD", reason=reason)
        return not close

    # -- reading --------------------------------------------------------------------------
    @staticmethod
    def _line(f, limit=65536):
        line = f.readline(limit + 1)
        if len(line) > limit:
            raise BadRequest("line too long")
        if line and not line.endswith(b"\r\n"):
            raise BadRequest(f"line not ended by CRLF: {line[:80]!r}")
        return line

    def _read_head(self, f, conn):
        line = self._line(f)
        if not line:
            return None
        head = [line]
        parts = line[:-2].split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            raise BadRequest(f"bad request line {line[:200]!r}")
        try:
            method, target, version = (p.decode("ascii") for p in parts)
        except UnicodeDecodeError:
            raise BadRequest(f"non-ASCII request line {line[:200]!r}")
        if not target.startswith("/") or any(c <= " " or c == "\x7f" for c in target):
            raise BadRequest(f"bad request target {target!r}")
        headers = []
        while True:
            line = self._line(f)
            if not line:
                raise BadRequest("connection closed in headers")
            head.append(line)
            if line == b"\r\n":
                break
            if len(head) > 200:
                raise BadRequest("too many header lines")
            if line[:1] in (b" ", b"\t"):
                raise BadRequest("obsolete line folding")
            name, colon, value = line[:-2].partition(b":")
            if not colon or not TOKEN.match(name):
                raise BadRequest(f"bad header line {line[:200]!r}")
            try:
                headers.append((name.decode("ascii"), value.strip(b" \t").decode("utf-8")))
            except UnicodeDecodeError:
                raise BadRequest(f"header {name!r} is not UTF-8")
        req = Request(conn, method, target, version, headers, b"".join(head))
        if version == "HTTP/1.1" and len(req.all("host")) != 1:
            raise BadRequest("HTTP/1.1 needs exactly one Host header")
        req.expect_continue = (req.header("expect") or "").lower() == "100-continue"
        return req

    @staticmethod
    def _check_framing(req):
        te, cls = req.header("transfer-encoding"), req.all("content-length")
        if te is not None:
            if te.lower() != "chunked":
                raise BadRequest(f"Transfer-Encoding {te!r} (only chunked is allowed)")
            if cls:
                raise BadRequest("both Transfer-Encoding and Content-Length")
            req.http_chunked = True
        elif cls:
            if len(set(cls)) != 1 or not cls[0].isdigit():
                raise BadRequest(f"bad Content-Length {cls!r}")
            if int(cls[0]) > MAX_BODY:
                raise Reject(400, "EntityTooLarge", f"body of {cls[0]} bytes is over the front's limit")
        elif req.method in ("PUT", "POST"):
            raise Reject(411, "MissingContentLength", f"{req.method} without Content-Length or chunked body")

    def _read_body(self, req, f):
        if req.http_chunked:
            parts, total = [], 0
            while True:
                line = self._line(f, 1024)
                if not line:
                    raise BadRequest("connection closed in a chunk header")
                size = line[:-2].split(b";")[0].strip()
                if not re.fullmatch(rb"[0-9a-fA-F]{1,16}", size):
                    raise BadRequest(f"bad chunk size line {line!r}")
                n = int(size, 16)
                if n == 0:
                    while True:  # HTTP trailer section
                        line = self._line(f)
                        if line in (b"\r\n", b""):
                            break
                    break
                total += n
                if total > MAX_BODY:
                    raise BadRequest("chunked body over the front's limit")
                data = f.read(n)
                if len(data) != n or f.read(2) != b"\r\n":
                    raise BadRequest("truncated chunk or missing CRLF after chunk data")
                parts.append(data)
            req.body = b"".join(parts)
        else:
            n = int(req.header("content-length") or 0)
            req.body = f.read(n) if n else b""
            if len(req.body) != n:
                raise BadRequest(f"connection closed after {len(req.body)} of {n} body bytes")
        req.data = req.body

    # -- verification ---------------------------------------------------------------------
    @staticmethod
    def _parse_auth(req):
        """(credential, signed headers, signature, x-amz-date, token, expires) from the
        Authorization header, or from the query of a presigned URL (expires None otherwise)."""
        authz = req.header("authorization")
        qraw = dict((p.partition("=")[0], p.partition("=")[2]) for p in req.query.split("&")) if req.query else {}
        if authz is None and "X-Amz-Signature" not in qraw:
            if "Signature" in qraw or "AWSAccessKeyId" in qraw:
                raise Reject(400, "InvalidRequest", "SigV2 presigned URL (AWSAccessKeyId/Signature), not SigV4")
            raise Reject(403, "AccessDenied", "unsigned request (no Authorization, no X-Amz-Signature)")
        if authz is not None and "X-Amz-Signature" in qraw:
            raise Reject(400, "InvalidArgument", "both an Authorization header and a presigned query")
        if authz is None:
            req.presigned = True
            q = {k: unquote(v) for k, v in qraw.items()}
            if q.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
                raise Reject(400, "AuthorizationQueryParametersError", "presigned: X-Amz-Algorithm is not AWS4-HMAC-SHA256")
            missing = [p for p in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders") if p not in q]
            if missing:
                raise Reject(400, "AuthorizationQueryParametersError", f"presigned: missing {missing}")
            return (q["X-Amz-Credential"], q["X-Amz-SignedHeaders"], q["X-Amz-Signature"], q["X-Amz-Date"],
                    q.get("X-Amz-Security-Token"), q["X-Amz-Expires"])
        if not authz.startswith("AWS4-"):
            raise Reject(400, "InvalidRequest", f"not a SigV4 Authorization header: {authz.split(' ')[0]!r}")
        m = re.fullmatch(r"AWS4-HMAC-SHA256 (.*)", authz)
        fields = {}
        for item in (m.group(1).split(",") if m else []):
            k, eq, v = item.strip().partition("=")
            if not eq or k in fields:
                fields = {}
                break
            fields[k] = v
        if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
            raise Reject(400, "AuthorizationHeaderMalformed", f"cannot parse Authorization {authz!r}")
        if req.header("x-amz-date") is None:
            raise Reject(403, "AccessDenied", "no x-amz-date header (Date alone is not accepted here)")
        return (fields["Credential"], fields["SignedHeaders"], fields["Signature"], req.header("x-amz-date"),
                req.header("x-amz-security-token"), None)

    @staticmethod
    def _unsigned_sts_candidate(req):
        """A request with no signature at all that could be an STS query call: its body has to
        be read to tell (every other unsigned request is refused on its headers, as before)."""
        ctype = (req.header("content-type") or "").split(";")[0].strip().lower()
        return (req.header("authorization") is None and "X-Amz-Signature=" not in req.query and
                req.method == "POST" and req.path == "/" and not req.expect_continue and
                ctype == "application/x-www-form-urlencoded")

    @staticmethod
    def _check_unsigned_sts(req):
        """Only AssumeRoleWithWebIdentity may come unsigned (the web identity token is the proof):
        https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html"""
        try:
            form = parse_qs(req.body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            form = {}
        if (form.get("Action") != ["AssumeRoleWithWebIdentity"] or len(form.get("Version", [])) != 1 or
                req.header("x-amz-security-token") is not None):
            raise Reject(403, "AccessDenied", "unsigned request (no Authorization, no X-Amz-Signature)")
        req.service, req.unsigned = "sts", True

    def _learn(self, body):
        """Remembers the credentials an STS answer hands out (<Credentials> in its Result)."""
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            return
        local = lambda el: el.tag.rsplit("}", 1)[-1]  # noqa: E731
        for el in root.iter():
            if local(el) != "Credentials":
                continue
            f = {local(c): (c.text or "").strip() for c in el}
            if f.get("AccessKeyId") and f.get("SecretAccessKey") and f.get("SessionToken"):
                self.add_key(f["AccessKeyId"], f["SecretAccessKey"], f["SessionToken"])
                with self._lock:
                    self.learned.append(f["AccessKeyId"])

    def _check_auth(self, req):
        """Checks key, token, date and SignedHeaders; returns the context for _check_signature.
        payload_hash None in it means: hash the body once read."""
        cred, signed, sig, amzdate, token, expires = self._parse_auth(req)
        scope = cred.split("/")
        if len(scope) != 5 or scope[4] != "aws4_request" or not scope[0]:
            raise Reject(400, "AuthorizationHeaderMalformed", f"bad credential scope {cred!r}")
        akid, day, region, service, _ = scope
        req.akid, req.service = akid, service
        if service not in self.services:
            raise Reject(403, "SignatureDoesNotMatch", f"signed for service {service!r}; this front serves {self.services}")
        if not AMZDATE.match(amzdate):
            raise Reject(403, "AccessDenied", f"bad x-amz-date {amzdate!r}")
        if day != amzdate[:8]:
            raise Reject(403, "SignatureDoesNotMatch", f"credential scope date {day} is not the x-amz-date day {amzdate[:8]}")
        key = self.keys.get(akid)
        if key is None:
            raise Reject(403, "InvalidAccessKeyId", f"unknown access key {akid}")
        secret, want_token = key
        if want_token is not None and token != want_token:
            raise Reject(400, "InvalidToken", f"session token for {akid} is {'missing' if token is None else 'wrong'}")
        if want_token is None and token is not None:
            raise Reject(400, "InvalidToken", f"a session token was sent with the long-term key {akid}")
        t, now = _amz_time(amzdate), time.time()
        if req.presigned:
            if not expires.isdigit() or not 1 <= int(expires) <= 604800:
                raise Reject(400, "AuthorizationQueryParametersError", f"presigned: bad X-Amz-Expires {expires!r}")
            if t - now > self.skew:
                raise Reject(403, "AccessDenied", f"presigned: X-Amz-Date {amzdate} is in the future")
            if now > t + int(expires):
                raise Reject(403, "AccessDenied", f"presigned: expired at {amzdate} + {expires}s")
        elif abs(t - now) > self.skew:
            raise Reject(403, "RequestTimeTooSkewed",
                         f"x-amz-date {amzdate} is {t - now:+.0f}s from the server's clock",
                         {"RequestTime": amzdate, "ServerTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                          "MaxAllowedSkewMilliseconds": str(self.skew * 1000)})
        names = signed.split(";")
        if names != sorted(set(n.lower() for n in names)) or "" in names:
            raise Reject(403, "SignatureDoesNotMatch", f"SignedHeaders {signed!r} is not sorted, unique, lower case")
        if "host" not in names:
            raise Reject(403, "SignatureDoesNotMatch", "host is not among the SignedHeaders")
        absent = [n for n in names if not req.all(n)]
        if absent:
            raise Reject(403, "SignatureDoesNotMatch", f"signed headers not in the request: {absent}")
        payload_hash = req.header("x-amz-content-sha256")
        if req.presigned and "x-amz-content-sha256" not in names:
            payload_hash = "UNSIGNED-PAYLOAD" if service == "s3" else None
        elif service == "s3" and payload_hash is None:
            raise Reject(400, "InvalidRequest", "missing x-amz-content-sha256 (S3 requires it)")
        return dict(akid=akid, secret=secret, token=want_token, region=region, service=service,
                    names=names, sig=sig, amzdate=amzdate, payload_hash=payload_hash)

    def _check_signature(self, req, ctx):
        host = req.header("host")
        query = req.query
        if req.presigned:
            query = "&".join(p for p in query.split("&") if p.partition("=")[0] != "X-Amz-Signature")
        url = f"http://{host}{req.path}" + (f"?{query}" if query else "")
        areq = AWSRequest(method=req.method, url=url, headers={})
        for name, value in req.headers:
            if name.lower() in ctx["names"]:
                areq.headers[name] = value
        areq.context["timestamp"] = ctx["amzdate"]
        cls = S3Verifier if ctx["service"] == "s3" else Verifier
        auth = cls(Credentials(ctx["akid"], ctx["secret"], ctx["token"]), ctx["service"], ctx["region"],
                   ctx["payload_hash"])
        creq = auth.canonical_request(areq)
        want = auth.signature(auth.string_to_sign(areq, creq), areq)
        if not hmac.compare_digest(want.encode(), ctx["sig"].encode()):
            raise Reject(403, "SignatureDoesNotMatch",
                         f"signature mismatch; botocore's canonical request was:\n{creq}",
                         {"CanonicalRequest": creq})
        ctx["verified"] = True

    def _check_payload(self, req):
        sha = req.header("x-amz-content-sha256")
        enc = [e.strip().lower() for e in (req.header("content-encoding") or "").split(",") if e.strip()]
        if sha in ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                   "STREAMING-UNSIGNED-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
                   "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"):
            raise Reject(400, "InvalidRequest", f"x-amz-content-sha256 {sha} is not supported by this front")
        if sha == "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
            if "aws-chunked" not in enc:
                raise Reject(400, "InvalidRequest", "STREAMING-UNSIGNED-PAYLOAD-TRAILER without Content-Encoding: aws-chunked")
            self._decode_aws_chunked(req)
        elif "aws-chunked" in enc:
            raise Reject(400, "InvalidRequest", f"Content-Encoding aws-chunked with x-amz-content-sha256 {sha!r}")
        elif sha is not None and sha != "UNSIGNED-PAYLOAD":
            if not HEX64.match(sha):
                raise Reject(400, "InvalidArgument", f"x-amz-content-sha256 {sha!r} is neither a hex SHA-256 nor a known keyword")
            got = hashlib.sha256(req.body).hexdigest()
            if got != sha:
                raise Reject(400, "XAmzContentSHA256Mismatch",
                             f"x-amz-content-sha256 {sha} but the body's SHA-256 is {got}")
        if req.method != "PUT":
            return
        for name, value in req.headers:  # checksums sent as headers cover the decoded data
            alg = name.lower()[len("x-amz-checksum-"):] if name.lower().startswith("x-amz-checksum-") else None
            if alg in CHECKSUMS:
                self._check_sum(req, alg, value, "header")
        md5 = req.header("content-md5")
        if md5 is not None and base64.b64encode(hashlib.md5(req.data).digest()).decode() != md5:
            raise Reject(400, "BadDigest", f"Content-MD5 {md5} does not match the body")

    def _check_sum(self, req, alg, value, where):
        want = base64.b64encode(CHECKSUMS[alg](req.data)).decode()
        if value != want:
            raise Reject(400, "BadDigest", f"{where} x-amz-checksum-{alg} is {value}, the data's is {want}")

    def _decode_aws_chunked(self, req):
        """Unsigned aws-chunked: 'HEX\\r\\nDATA\\r\\n'... '0\\r\\n', trailer lines, '\\r\\n'."""
        b, pos, out = req.body, 0, []
        while True:
            eol = b.find(b"\r\n", pos)
            if eol < 0:
                raise Reject(400, "IncompleteBody", "aws-chunked: chunk header without CRLF")
            size = b[pos:eol]
            if not re.fullmatch(rb"[0-9a-fA-F]{1,16}", size):
                raise Reject(400, "InvalidRequest", f"aws-chunked: bad chunk header {size[:80]!r}")
            n, pos = int(size, 16), eol + 2
            if n == 0:
                break
            if b[pos + n:pos + n + 2] != b"\r\n":
                raise Reject(400, "IncompleteBody", "aws-chunked: chunk data not followed by CRLF")
            out.append(b[pos:pos + n])
            pos += n + 2
        while True:
            eol = b.find(b"\r\n", pos)
            if eol < 0:
                raise Reject(400, "IncompleteBody", "aws-chunked: trailer not ended by CRLF")
            line, pos = b[pos:eol], eol + 2
            if not line:
                break
            name, colon, value = line.partition(b":")
            if not colon:
                raise Reject(400, "InvalidRequest", f"aws-chunked: bad trailer line {line[:80]!r}")
            req.trailers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
        if pos != len(b):
            raise Reject(400, "InvalidRequest", f"aws-chunked: {len(b) - pos} bytes after the final CRLF")
        req.data, req.aws_chunked = b"".join(out), True
        dl = req.header("x-amz-decoded-content-length")
        if dl is None or not dl.isdigit() or int(dl) != len(req.data):
            raise Reject(400, "IncompleteBody", f"x-amz-decoded-content-length {dl!r} but {len(req.data)} bytes decoded")
        declared = [t.strip().lower() for t in (req.header("x-amz-trailer") or "").split(",") if t.strip()]
        if sorted(declared) != sorted(req.trailers):
            raise Reject(400, "InvalidRequest", f"x-amz-trailer names {declared} but the trailers are {sorted(req.trailers)}")
        for name, value in req.trailers.items():
            alg = name[len("x-amz-checksum-"):] if name.startswith("x-amz-checksum-") else None
            if alg not in CHECKSUMS:
                raise Reject(400, "InvalidRequest", f"trailer {name} is not a checksum this front can check")
            self._check_sum(req, alg, value, "trailer")

    # -- answering ------------------------------------------------------------------------
    def _error(self, req, r):
        rid = uuid.uuid4().hex[:16].upper()
        msg = r.reason.split("\n")[0]
        if req.service == "lambda":
            code = {"SignatureDoesNotMatch": "InvalidSignatureException", "RequestTimeTooSkewed": "InvalidSignatureException",
                    "InvalidAccessKeyId": "UnrecognizedClientException",
                    "InvalidToken": "UnrecognizedClientException"}.get(r.code, r.code)
            status = 403 if code in ("InvalidSignatureException", "UnrecognizedClientException") else r.status
            body = json.dumps({"message": msg}).encode()
            return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code),
                            ("x-amzn-RequestId", rid)], body
        extra = "".join(f"<{k}>{_xml_escape(v)}</{k}>" for k, v in r.extra.items())
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{r.code}</Code>'
                f"<Message>{_xml_escape(msg)}</Message>{extra}<RequestId>{rid}</RequestId></Error>").encode()
        return r.status, [("Content-Type", "application/xml"), ("x-amz-request-id", rid)], body

    def _forward(self, req):
        headers = []
        enc = [e.strip() for e in (req.header("content-encoding") or "").split(",")
               if e.strip() and e.strip().lower() != "aws-chunked"]
        for name, value in req.headers:
            n = name.lower()
            if n in HOP or (req.aws_chunked and n in ("x-amz-decoded-content-length", "x-amz-trailer",
                                                      "content-encoding", "x-amz-content-sha256")):
                continue
            headers.append((name, value))
        if req.aws_chunked:
            if enc:
                headers.append(("Content-Encoding", ", ".join(enc)))
            headers.append(("x-amz-content-sha256", hashlib.sha256(req.data).hexdigest()))
            headers += [(k, v) for k, v in req.trailers.items()]
        if req.data or req.method in ("PUT", "POST"):
            headers.append(("Content-Length", str(len(req.data))))
        c = http.client.HTTPConnection(*self._up, timeout=120)
        try:
            c.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                c.putheader(name, value.encode("utf-8"))
            c.endheaders(req.data or None)
            r = c.getresponse()
            body = r.read()
            out = [(k, v) for k, v in r.getheaders() if k.lower() not in HOP]
            if req.method == "HEAD":  # keep the object's length; no body follows
                out += [(k, v) for k, v in r.getheaders() if k.lower() == "content-length"]
            return r.status, r.reason, out, body
        except (OSError, http.client.HTTPException) as e:
            return 502, "Bad Gateway", [("Content-Type", "text/plain")], f"front: moto unreachable: {e}\n".encode()
        finally:
            c.close()

    @staticmethod
    def _send(sock, status, headers, body, close=False, head=False, reason=None):
        reason = reason or http.client.responses.get(status, "Unknown")
        lines = [f"HTTP/1.1 {status} {reason}"]
        names = {k.lower() for k, _ in headers}
        if "date" not in names:
            lines.append("Date: " + email.utils.formatdate(usegmt=True))
        lines += [f"{k}: {v}" for k, v in headers]
        if not (head and names & {"content-length", "transfer-encoding"}):
            lines.append(f"Content-Length: {len(body)}")
        if close:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        sock.sendall(data if head or status in (204, 304) else data + body)


def _linger(sock):
    """Closes our side, then drains what the client still sends, so that closing a socket with
    unread data does not reset the connection before the client has read our answer."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(2)
        for _ in range(1024):
            if not sock.recv(65536):
                break
    except OSError:
        pass


def _xml_escape(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
