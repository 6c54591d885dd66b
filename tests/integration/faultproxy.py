"""faultproxy.py — a fault-injecting HTTP/1.1 proxy on 127.0.0.1 (plain or TLS) that stands as the
AWS endpoint between awsbox and its real servers (moto, the verifying front, the SSM or container
stand-ins) and spoils the requests a schedule picks.

Specs: HTTP/1.1 messages RFC 9112 (framing, 100-continue), TLS 1.2 alerts RFC 5246 7.2; the AWS
error shapes of each protocol (https://smithy.io/2.0/aws/protocols/): REST-XML <Error> (S3), query
<ErrorResponse> (STS), awsJson {"__type"} (SSM, Secrets Manager, SQS), REST-JSON with
x-amzn-ErrorType (Lambda); S3's RequestTimeTooSkewed and the "Signature expired: ... is now earlier
than ... (... - 5 min.)" message the other services send for a skewed x-amz-date.

    p = FaultProxy({"s3": front_url, "ssm": moto_url, ...}, default=url, fault="503", when=1,
                   tls=server_ssl_context, skew=0).start()
    p.url; p.log (one dict per request); p.connections; p.stop()

Routing: a request goes to routes[service], the service named in its SigV4 credential scope
(Authorization header or presigned query); an unsigned request (container credentials) goes to
default. Bytes are relayed as they came (method, target, headers, body; hop-by-hop headers and
Expect dropped, Content-Length set): the upstream checks the signature exactly as sent.

when: which requests (counted from 1, over all connections) get the fault: "every", an int (that
request only), or a collection of ints. TLS faults count connections instead of requests.

Faults (FAULTS below): error answers synthesised in the request's protocol without forwarding
(500 InternalError, 503 SlowDown, 400 ThrottlingException, a bare 429); connection faults
(reset before answering; reset or close after half of the answer's body — half of its head when it
has none; stall for ever before or after half the body; trickle the whole answer, or just its body,
one byte per second); wrong answers (bytes that are not HTTP; a well-framed 200 whose body is
replaced by as many random bytes; the real answer with Content-Type text/html; a captive portal's
200 HTML page); TLS (a fatal handshake_failure alert after the ClientHello, or a reset then).

skew=S (seconds): the proxy's clock runs S seconds ahead of real time: every answer carries that
Date, and a signed request whose x-amz-date is more than 5 minutes off the proxy's clock is
answered with the service's clock-skew error instead of being forwarded, as AWS does; requests
within the window are forwarded (moto (a) does not check the date; S3 and Lambda need a front
whose window is wide enough). log entries record each request's x-amz-date, so a test can check
that the client moved its clock by S, and that the corrected requests went through.
"""
import datetime
import email.utils
import http.client
import itertools
import json
import os
import random
import re
import select
import socket
import ssl
import struct
import threading
import time
import uuid
from urllib.parse import unquote

from listener import Listener

FAULTS = {
    "500": "500 InternalError (in the request's protocol)",
    "503": "503 SlowDown",
    "throttle": "400 ThrottlingException",
    "429": "429 with a plain-text body (no AWS error code)",
    "reset-before": "read the request, then reset the connection before any response byte",
    "reset-mid": "reset after the head and half the body (half the head if no body)",
    "short": "close after the head and half the body: fewer bytes than Content-Length",
    "stall": "read the request, then never answer",
    "stall-mid": "send the head and half the body, then never send more",
    "trickle": "send the whole answer one byte per second",
    "trickle-body": "send the head at once, then the body one byte per second",
    "garbage": "answer bytes that are not HTTP, then close",
    "garbage-body": "a well-framed answer whose body is replaced by as many random bytes",
    "wrong-type": "the real answer with Content-Type: text/html",
    "html": "a captive portal: 200 text/html with an HTML page instead of the answer",
    "tls-alert": "TLS: a fatal handshake_failure alert in answer to the ClientHello",
    "tls-reset": "TLS: reset the connection after the ClientHello",
}
TLS_FAULTS = {"tls-alert", "tls-reset"}
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "expect",
       "proxy-connection", "proxy-authorization", "proxy-authenticate", "content-length"}
SKEW_WINDOW = 300  # seconds a signature's date may be off (what AWS allows, but S3's 15 minutes)
CAPTIVE = (b"<!DOCTYPE html>\n<html><head><title>Sign in to the network</title></head>\n"
           b"<body><h1>Welcome!</h1><p>Please accept the terms to continue.</p></body></html>\n")
GARBAGE = b"\x15\x03\x03\x00\x02\x02\x50SSH-2.0-not-http \xff\xfe\x00garbage\r\n\r\n"
ALERT_HANDSHAKE_FAILURE = b"\x15\x03\x03\x00\x02\x02\x28"  # fatal (2), handshake_failure (40)


class _Req:
    def __init__(self, method, target, version, headers):
        self.method, self.target, self.version, self.headers = method, target, version, headers
        self.path, _, self.query = target.partition("?")
        self.body = b""
        self.service = self.akid = self.amzdate = self.signature = None

    def header(self, name):
        n = name.lower()
        vals = [v for k, v in self.headers if k.lower() == n]
        return ",".join(vals) if vals else None


def _amz_epoch(s):
    return datetime.datetime.strptime(s, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def _amz(t):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


class FaultProxy:
    def __init__(self, routes, default=None, fault=None, when="every", tls=None, skew=0, rate=1.0):
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        self.routes, self.default = dict(routes), default
        self.fault, self.when, self.tls, self.skew, self.rate = fault, when, tls, skew, rate
        self.log = []
        self.connections = 0
        self._n = itertools.count(1)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._socks = set()
        self._rand = random.Random(4242)

    # -- server ---------------------------------------------------------------------------
    def start(self):
        self._listener = Listener(self._conn, backlog=64)
        self.port = self._listener.port
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        return self

    def stop(self):
        self._stop.set()
        self._listener.stop()
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _hits(self, n):
        w = self.when
        if w == "every":
            return True
        if isinstance(w, int):
            return n == w
        return n in w

    def _conn(self, sock):
        with self._lock:
            self.connections += 1
            m = self.connections
            self._socks.add(sock)
        try:
            sock.settimeout(120)
            if self.tls:
                if self.fault in TLS_FAULTS and self._hits(m):
                    self._tls_fault(sock, m)
                    return
                raw = sock
                try:
                    sock = self.tls.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                with self._lock:  # the wrapped socket owns the descriptor now: stop() shuts it
                    self._socks.discard(raw)
                    self._socks.add(sock)
            f = sock.makefile("rb")
            while not self._stop.is_set():
                req = self._read(sock, f)
                if req is None:
                    break
                if not self._answer(sock, req, m):
                    break
        except (OSError, ValueError):
            pass
        finally:
            with self._lock:
                self._socks.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    def _tls_fault(self, sock, m):
        sock.settimeout(5)
        try:
            hello = sock.recv(16384)
        except OSError:
            hello = b""
        with self._lock:
            self.log.append(dict(n=None, conn=m, method=None, target=None, service=None, akid=None, amzdate=None,
                                 signature=None, fault=self.fault, hello=len(hello)))
        if self.fault == "tls-alert":
            try:
                sock.sendall(ALERT_HANDSHAKE_FAILURE)
            except OSError:
                pass
            sock.close()
        else:
            _reset(sock)

    # -- reading a request ----------------------------------------------------------------
    @staticmethod
    def _read(sock, f):
        line = f.readline(65537)
        if not line:
            return None
        parts = line.rstrip(b"\r\n").split(b" ")
        if len(parts) != 3:
            return None
        method, target, version = (p.decode("latin-1") for p in parts)
        headers = []
        while True:
            h = f.readline(65537)
            if not h:
                return None
            if h in (b"\r\n", b"\n"):
                break
            k, _, v = h.decode("latin-1").rstrip("\r\n").partition(":")
            headers.append((k, v.strip()))
        req = _Req(method, target, version, headers)
        if (req.header("expect") or "").lower() == "100-continue":
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if (req.header("transfer-encoding") or "").lower() == "chunked":
            parts = []
            while True:
                size = int(f.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while f.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(f.read(size))
                f.read(2)
            req.body = b"".join(parts)
        else:
            n = int(req.header("content-length") or 0)
            req.body = f.read(n) if n else b""
            if len(req.body) != n:
                return None
        FaultProxy._auth(req)
        return req

    @staticmethod
    def _auth(req):
        """Service, key, date and signature, from the Authorization header or a presigned query."""
        authz = req.header("authorization") or ""
        m = re.match(r"AWS4-HMAC-SHA256 Credential=([^,]+), *SignedHeaders=[^,]+, *Signature=([0-9a-f]+)", authz)
        if m:
            cred, req.signature, req.amzdate = m.group(1), m.group(2), req.header("x-amz-date")
        else:
            q = dict(p.partition("=")[::2] for p in req.query.split("&")) if req.query else {}
            if "X-Amz-Credential" not in q:
                return
            cred, req.signature, req.amzdate = unquote(q["X-Amz-Credential"]), q.get("X-Amz-Signature"), q.get("X-Amz-Date")
        scope = cred.split("/")
        if len(scope) == 5:
            req.akid, req.service = scope[0], scope[3]

    # -- answering ------------------------------------------------------------------------
    def _answer(self, sock, req, conn):
        n = next(self._n)
        fault = self.fault if self.fault not in TLS_FAULTS and self._hits(n) else None
        entry = dict(n=n, conn=conn, method=req.method, target=req.target, service=req.service, akid=req.akid,
                     amzdate=req.amzdate, signature=req.signature, fault=fault, skewed=False, status=None,
                     range=req.header("range"))
        with self._lock:
            self.log.append(entry)
        head_only = req.method == "HEAD"
        if self.skew and req.amzdate:
            now = time.time() + self.skew
            if abs(_amz_epoch(req.amzdate) - now) > SKEW_WINDOW:
                entry["skewed"] = True
                st, hs, body = self._skew_error(req, now)
                entry["status"] = st
                return self._send(sock, st, "", hs, body, head_only)
        if fault in ("500", "503", "throttle"):
            status, code = {"500": (500, "InternalError"), "503": (503, "SlowDown"),
                            "throttle": (400, "ThrottlingException")}[fault]
            st, hs, body = self._error(req, status, code, f"injected fault: {FAULTS[fault]}")
            entry["status"] = st
            return self._send(sock, st, "", hs, body, head_only)
        if fault == "429":
            entry["status"] = 429
            return self._send(sock, 429, "Too Many Requests", [("Content-Type", "text/plain")], b"Too Many Requests\n",
                              head_only)
        if fault == "reset-before":
            _reset(sock)
            return False
        if fault == "stall":
            self._stall(sock)
            return False
        if fault == "garbage":
            _sendall(sock, GARBAGE)
            _close(sock)
            return False
        if fault == "html":
            entry["status"] = 200
            return self._send(sock, 200, "OK", [("Content-Type", "text/html; charset=utf-8")], CAPTIVE, head_only)
        status, reason, headers, body = self._forward(req)
        entry["status"] = status
        if fault == "garbage-body":
            if not body:  # nothing to spoil (a HEAD, an empty PutObject answer): not a fault
                entry["fault"] = fault = None
            body = bytes(self._rand.getrandbits(8) for _ in range(len(body)))
        if fault == "wrong-type":
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"] + [("Content-Type", "text/html")]
        if fault not in ("reset-mid", "short", "stall-mid", "trickle", "trickle-body"):
            return self._send(sock, status, reason, headers, body, head_only)
        head = self._head(status, reason, headers, body, head_only)
        payload = b"" if head_only else body
        if payload:
            first, rest = head + payload[:len(payload) // 2], payload[len(payload) // 2:]
            head_at_once, body_part = head, payload
        else:  # no body: the head is what gets cut
            first, rest = head[:len(head) // 2], head[len(head) // 2:]
            head_at_once, body_part = head[:len(head) // 2], head[len(head) // 2:]
        if fault == "reset-mid":
            _sendall(sock, first)
            time.sleep(0.05)
            _reset(sock)
            return False
        if fault == "short":
            _sendall(sock, first)
            _close(sock)
            return False
        if fault == "stall-mid":
            _sendall(sock, first)
            self._stall(sock)
            return False
        if fault == "trickle":
            return self._trickle(sock, head + payload)
        _sendall(sock, head_at_once)  # trickle-body
        return self._trickle(sock, body_part)

    def _forward(self, req):
        up = self.routes.get(req.service, self.default) if req.service else self.default
        if up is None:
            return 502, "Bad Gateway", [("Content-Type", "text/plain")], f"no route for {req.service}\n".encode()
        host, port = up.split("//", 1)[1].rstrip("/").split(":")
        headers = [(k, v) for k, v in req.headers if k.lower() not in HOP]
        if req.body or req.method in ("PUT", "POST"):
            headers.append(("Content-Length", str(len(req.body))))
        c = http.client.HTTPConnection(host, int(port), timeout=120)
        try:
            c.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
            for k, v in headers:
                c.putheader(k, v.encode("latin-1"))
            c.endheaders(req.body or None)
            r = c.getresponse()
            body = r.read()
            out = [(k, v) for k, v in r.getheaders() if k.lower() not in HOP]
            if req.method == "HEAD":
                out += [(k, v) for k, v in r.getheaders() if k.lower() == "content-length"]
            return r.status, r.reason, out, body
        except (OSError, http.client.HTTPException) as e:
            return 502, "Bad Gateway", [("Content-Type", "text/plain")], f"faultproxy: upstream {up}: {e}\n".encode()
        finally:
            c.close()

    def _head(self, status, reason, headers, body, head_only):
        reason = reason or http.client.responses.get(status, "Unknown")
        names = {k.lower() for k, _ in headers}
        lines = [f"HTTP/1.1 {status} {reason}"]
        date = email.utils.formatdate(time.time() + self.skew, usegmt=True)
        lines += [f"{k}: {date if k.lower() == 'date' else v}" for k, v in headers]
        if "date" not in names:
            lines.append(f"Date: {date}")
        if not (head_only and "content-length" in names):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(self, sock, status, reason, headers, body, head_only):
        data = self._head(status, reason, headers, body, head_only)
        if not head_only and status not in (204, 304):
            data += body
        return _sendall(sock, data)

    def _stall(self, sock):
        """Holds the connection without a word until the client gives up or the proxy stops."""
        while not self._stop.is_set():
            try:
                r, _, _ = select.select([sock], [], [], 0.2)
                if r and not sock.recv(65536):
                    return
            except (OSError, ValueError):
                return

    def _trickle(self, sock, data):
        for i in range(len(data)):
            if self._stop.wait(1.0 / self.rate) or not _sendall(sock, data[i:i + 1]):
                return False
        return True

    # -- error answers, in the request's protocol ------------------------------------------
    @staticmethod
    def _protocol(req):
        if req.service == "s3":
            return "restxml"
        if req.service == "lambda":
            return "restjson"
        if req.service == "sts" or (req.header("content-type") or "").startswith("application/x-www-form-urlencoded"):
            return "query"
        return "json"

    def _error(self, req, status, code, message):
        rid = str(uuid.uuid4())
        proto = self._protocol(req)
        if proto == "restxml":
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                    f"<RequestId>{rid[:16].upper()}</RequestId></Error>").encode()
            return status, [("Content-Type", "application/xml"), ("x-amz-request-id", rid[:16].upper())], body
        if proto == "query":
            body = (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                    f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{rid}</RequestId>"
                    "</ErrorResponse>").encode()
            return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], body
        if proto == "restjson":
            return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code),
                            ("x-amzn-RequestId", rid)], json.dumps({"Type": "User", "message": message}).encode()
        return status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", rid)], \
            json.dumps({"__type": code, "message": message}).encode()

    def _skew_error(self, req, now):
        t = _amz_epoch(req.amzdate)
        if self._protocol(req) == "restxml":
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>RequestTimeTooSkewed</Code><Message>The '
                    "difference between the request time and the current time is too large.</Message>"
                    f"<RequestTime>{req.amzdate}</RequestTime><ServerTime>{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now))}"
                    "</ServerTime><MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds></Error>").encode()
            return 403, [("Content-Type", "application/xml")], body
        if t < now:
            msg = (f"Signature expired: {req.amzdate} is now earlier than {_amz(now - SKEW_WINDOW)} "
                   f"({_amz(now)} - 5 min.)")
        else:
            msg = (f"Signature not yet current: {req.amzdate} is still later than {_amz(now + SKEW_WINDOW)} "
                   f"({_amz(now)} + 5 min.)")
        proto = self._protocol(req)
        if proto == "query":
            return self._error(req, 403, "SignatureDoesNotMatch", msg)
        if proto == "restjson":
            return self._error(req, 403, "InvalidSignatureException", msg)
        return self._error(req, 400, "InvalidSignatureException", msg)


def _sendall(sock, data):
    try:
        sock.sendall(data)
        return True
    except (OSError, ValueError):
        return False


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_WR)
    except (OSError, ValueError):
        pass
    try:
        sock.close()
    except OSError:
        pass


def _reset(sock):
    """Closes with SO_LINGER 0: the peer gets a TCP RST, not a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except (OSError, ValueError):
        pass
    try:
        sock.close()
    except OSError:
        pass


# ---- a test CA and a server certificate for 127.0.0.1 -------------------------------------

def make_tls(directory):
    """(server SSLContext, CA bundle path): a CA made now and a leaf for 127.0.0.1 and localhost."""
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    name = lambda cn: x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])  # noqa: E731
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("awsbox fault CA")).issuer_name(name("awsbox fault CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=7))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    ca_path, cert_path, key_path = (os.path.join(directory, n) for n in ("ca.pem", "leaf.pem", "leaf.key"))
    with open(ca_path, "wb") as f:
        f.write(ca.public_bytes(pem))
    with open(cert_path, "wb") as f:
        f.write(leaf.public_bytes(pem))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_path, key_path)
    return ctx, ca_path
