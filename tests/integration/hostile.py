#!/usr/bin/env python3
"""hostile.py — a hostile HTTP/1.1 server on 127.0.0.1 for test_hostile.py: run as its own process
(`hostile.py PORT MODE LOG`), started and stopped by PID by the test that needs it.

Every connection's request bytes, and anything sent on the connection after them, are appended to
LOG (so a test can see what reached the server: stray debug lines, object data). It answers every
request the same way, by MODE:

  continue        "HTTP/1.1 100 Continue" as fast as they go, for ever (RFC 9110 15.2.1 allows any
                  number of 1xx answers; a client must bound the wait for the final one)
  chunked-trickle 200 with Transfer-Encoding: chunked, then a one-byte chunk every 100 ms, for ever
  huge-length     200 with Content-Length: 999999999999999999, then one byte every 100 ms
  endless         200 with Transfer-Encoding: chunked and 64 KiB chunks as fast as they go, for ever
  escape          400 in the JSON protocol whose message holds ESC, BEL, DEL and C1 (escaped, and UTF-8)
  escape-xml      403 in S3's XML whose message holds them as raw bytes, a C1 byte that is not UTF-8 too
  redirect301     301 Moved Permanently as S3 says it (PermanentRedirect, x-amz-bucket-region: eu-west-1)
  redirect307     307 Temporary Redirect as S3 says it (TemporaryRedirect, Location)
  s3object        a 200 object "A" * 100000 for GET (and its head for HEAD) with a multipart ETag
                  and no checksum, so that awsbox warns that it cannot verify it
  imds-MALFORMED  instance metadata whose credentials are malformed: MALFORMED is crlf (CR LF inside
                  the secret), garbage (not JSON) or empty ({}); the token and role paths answer
                  as IMDS does
  container-MALFORMED  the same as a container credentials endpoint (any path)
"""
import socket
import sys
import threading
import time

# JSON: ESC, BEL, DEL and C1 (CSI U+009B, NEL U+0085) escaped as JSON allows, and a UTF-8 C1 raw.
ESCAPE_JSON = (b'{"__type":"ValidationException","message":"bad \\u001b[2J\\u001b]0;owned\\u0007 '
               b'C1:\xc2\x9b31m \\u0085nel del:\\u007f tab:\\t end"}')
# XML (S3): the same as raw bytes, a raw C1 byte that is not UTF-8 (0x9b) among them.
ESCAPE_XML = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>bad '
              b'\x1b[2J\x1b]0;owned\x07 C1:\xc2\x9b31m raw:\x9b\x85 del:\x7f end</Message></Error>')
S3_301 = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket '
          b'you are attempting to access must be addressed using the specified endpoint. Please send all '
          b'future requests to this endpoint.</Message><Endpoint>b.s3.eu-west-1.amazonaws.com</Endpoint>'
          b'<Bucket>b</Bucket><RequestId>0000</RequestId></Error>')
S3_307 = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>TemporaryRedirect</Code><Message>Please '
          b're-send this request to the specified temporary endpoint. Continue to use the original request '
          b'endpoint for future requests.</Message><Endpoint>b.s3-eu-west-1.amazonaws.com</Endpoint>'
          b'<Bucket>b</Bucket><RequestId>0000</RequestId></Error>')
OBJECT = b"A" * 100000
CREDS = {
    "crlf": b'{"Code":"Success","AccessKeyId":"AKIAEXAMPLE","SecretAccessKey":"abc",'
            b'"Token":"tok\\r\\nX-Injected: 1","Expiration":"2099-01-01T00:00:00Z"}',
    "garbage": b'{"Code":"Success","AccessKeyId":"AKIA<html>\x00\xff',
    "empty": b"{}",
}


def log_bytes(path, data, lock=threading.Lock()):
    with lock, open(path, "ab") as f:
        f.write(data)


def read_request(conn, log):
    """The request head and a Content-Length body; None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            log_bytes(log, data)
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v.strip())
    if b"expect: 100-continue" not in head.lower():
        while len(rest) < n:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
    log_bytes(log, data if len(rest) <= n else head + b"\r\n\r\n" + rest)
    return head.split(b"\r\n")[0].decode("latin-1"), head.lower()


def answer(conn, status, headers, body=b"", head_only=False):
    h = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    h += f"Content-Length: {len(body)}\r\n\r\n"
    conn.sendall(h.encode() + (b"" if head_only else body))


def serve(conn, mode, log):
    while True:
        req = read_request(conn, log)
        if req is None:
            return
        line, head = req
        method, target = line.split(" ")[:2]
        if mode == "continue":
            flood = b"HTTP/1.1 100 Continue\r\n\r\n" * 1000
            while True:
                conn.sendall(flood)
        elif mode == "chunked-trickle":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            while True:
                conn.sendall(b"1\r\n \r\n")
                time.sleep(0.1)
        elif mode == "huge-length":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 999999999999999999\r\n\r\n")
            while True:
                conn.sendall(b" ")
                time.sleep(0.1)
        elif mode == "endless":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n" % 65536 + b"x" * 65536 + b"\r\n"
            while True:
                conn.sendall(chunk)
        elif mode == "escape":
            answer(conn, "400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"),
                                             ("x-amzn-RequestId", "0000")], ESCAPE_JSON)
        elif mode == "escape-xml":
            answer(conn, "403 Forbidden", [("Content-Type", "application/xml")], ESCAPE_XML, method == "HEAD")
        elif mode == "redirect301":
            answer(conn, "301 Moved Permanently", [("Content-Type", "application/xml"),
                                                   ("x-amz-bucket-region", "eu-west-1")],
                   S3_301, method == "HEAD")
        elif mode == "redirect307":
            answer(conn, "307 Temporary Redirect", [("Content-Type", "application/xml"),
                                                    ("Location", "https://b.s3-eu-west-1.amazonaws.com/k"),
                                                    ("x-amz-bucket-region", "eu-west-1")],
                   S3_307, method == "HEAD")
        elif mode == "s3object":
            answer(conn, "200 OK", [("Content-Type", "application/octet-stream"),
                                    ("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"),
                                    ("ETag", '"0123456789abcdef0123456789abcdef-2"'),
                                    ("Accept-Ranges", "bytes")], OBJECT, method == "HEAD")
        elif mode.startswith("imds-"):
            path = target.split("?")[0].rstrip("/")
            text = [("Content-Type", "text/plain")]
            if path == "/latest/api/token":
                answer(conn, "200 OK", text + [("X-aws-ec2-metadata-token-ttl-seconds", "21600")], b"t" * 56)
            elif path == "/latest/meta-data/iam/security-credentials":
                answer(conn, "200 OK", text, b"role")
            elif path == "/latest/meta-data/iam/security-credentials/role":
                answer(conn, "200 OK", text, CREDS[mode[5:]])
            else:
                answer(conn, "404 Not Found", text, b"")
        elif mode.startswith("container-"):
            answer(conn, "200 OK", [("Content-Type", "application/json")], CREDS[mode[10:]])
        else:
            raise SystemExit(f"hostile.py: unknown mode {mode}")


def handle(conn, mode, log):
    try:
        serve(conn, mode, log)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    port, mode, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn, mode, log), daemon=True).start()


if __name__ == "__main__":
    main()
