"""standin.py — a trivially fast local stand-in for the API calls that make bench times (SSM
GetParameter/GetParameters, Secrets Manager GetSecretValue/BatchGetSecretValue, SQS
GetQueueUrl/SendMessage/SendMessageBatch, STS GetCallerIdentity; and an SQS queue without storage
for receiving: ReceiveMessage hands out made-up messages while a count set by POST /fill?n=N
lasts, then answers empty at once, and every delete or visibility change succeeds), over HTTP/1.1
keep-alive and HTTPS. It answers from memory in the shapes of the AWS API references (and moto), checks no
signature, and counts TCP connections, TLS handshakes and requests, so that a bench can tell
the client's own cost from a real server's latency and count connection reuse.

  python3 standin.py --ports FILE [--cert PEM --key PEM]

FILE receives "HTTP HTTPS CTL" once listening. CTL (plain HTTP, not counted) answers
GET /stats (JSON counters), POST /reset (zeroes them) and POST /fill?n=N (N messages to receive).
Shapes: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html ,
https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html ,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html ,
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
"""
import argparse
import asyncio
import hashlib
import json
import os
import ssl
import sys
import uuid
from urllib.parse import parse_qs

ACCOUNT = "123456789012"
REGION = "us-east-1"
QUEUE = {"left": 0, "seq": 0}  # messages ReceiveMessage still hands out
STATS = {"http_conns": 0, "https_conns": 0, "tls_handshakes": 0, "requests": 0, "ops": {}}
PORTS = {}


def value_of(name):
    """Every parameter and secret exists; its value is derived from its name."""
    return "value-of-" + name.strip("/").replace("/", "-")


def param(name):
    return {"Name": name, "Type": "String", "Value": value_of(name), "Version": 1, "LastModifiedDate": 1700000000.0,
            "ARN": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.lstrip('/')}", "DataType": "text"}


def secret(sid):
    name = sid.split(":secret:")[-1] if sid.startswith("arn:") else sid
    return {"ARN": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf", "Name": name,
            "VersionId": "11111111-2222-3333-4444-555555555555", "SecretString": value_of(name),
            "VersionStages": ["AWSCURRENT"], "CreatedDate": 1700000000.0}


def md5(s):
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def json_op(target, body, scheme):
    """(status, body) for a JSON-protocol call."""
    op = target.split(".")[-1]
    STATS["ops"][op] = STATS["ops"].get(op, 0) + 1
    if op == "GetParameter":
        return 200, {"Parameter": param(body["Name"])}
    if op == "GetParameters":
        return 200, {"Parameters": [param(n) for n in body["Names"]], "InvalidParameters": []}
    if op == "GetSecretValue":
        return 200, secret(body["SecretId"])
    if op == "BatchGetSecretValue":
        return 200, {"SecretValues": [secret(s) for s in body.get("SecretIdList", [])], "Errors": []}
    if op == "GetQueueUrl":
        return 200, {"QueueUrl": f"{scheme}://127.0.0.1:{PORTS[scheme]}/{ACCOUNT}/{body['QueueName']}"}
    if op == "SendMessage":
        return 200, {"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": md5(body["MessageBody"])}
    if op == "SendMessageBatch":
        return 200, {"Successful": [{"Id": e["Id"], "MessageId": str(uuid.uuid4()),
                                     "MD5OfMessageBody": md5(e["MessageBody"])} for e in body["Entries"]],
                     "Failed": []}
    if op == "ReceiveMessage":
        n = min(int(body.get("MaxNumberOfMessages", 1)), QUEUE["left"])
        QUEUE["left"] -= n
        msgs = []
        for _ in range(n):
            QUEUE["seq"] += 1
            b = f"message number {QUEUE['seq']}"
            msgs.append({"MessageId": str(uuid.uuid4()), "ReceiptHandle": f"rh-{QUEUE['seq']}-" + "x" * 150,
                         "MD5OfBody": md5(b), "Body": b,
                         "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"}})
        return 200, ({"Messages": msgs} if msgs else {})
    if op in ("DeleteMessage", "ChangeMessageVisibility"):
        return 200, {}
    if op in ("DeleteMessageBatch", "ChangeMessageVisibilityBatch"):
        return 200, {"Successful": [{"Id": e["Id"]} for e in body["Entries"]], "Failed": []}
    if op == "GetQueueAttributes":
        return 200, {"Attributes": {"VisibilityTimeout": "30"}}
    return 400, {"__type": "UnknownOperationException", "message": f"the stand-in does not answer {op}"}


STS_XML = ('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
           f'<Arn>arn:aws:iam::{ACCOUNT}:user/bench</Arn><UserId>AIDABENCHUSER0000000</UserId>'
           f'<Account>{ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>'
           '01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata></GetCallerIdentityResponse>')


def answer(method, path, headers, body, scheme):
    target = headers.get("x-amz-target")
    if target:
        try:
            req = json.loads(body or b"{}")
            status, out = json_op(target, req, scheme)
        except (KeyError, ValueError, TypeError) as e:
            status, out = 400, {"__type": "ValidationException", "message": f"bad request: {e!r}"}
        ctype = headers.get("content-type", "application/x-amz-json-1.1")
        return status, ctype, json.dumps(out).encode()
    form = parse_qs(body.decode("utf-8", "replace")) if body else {}
    if form.get("Action") == ["GetCallerIdentity"]:
        STATS["ops"]["GetCallerIdentity"] = STATS["ops"].get("GetCallerIdentity", 0) + 1
        return 200, "text/xml", STS_XML.encode()
    return 400, "text/xml", b"<ErrorResponse><Error><Code>InvalidAction</Code><Message>not in the stand-in</Message></Error></ErrorResponse>"


async def read_request(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    if headers.get("expect", "").lower() == "100-continue" and n:
        return method, path, headers, None
    body = await reader.readexactly(n) if n else b""
    return method, path, headers, body


async def serve(reader, writer, scheme):
    if scheme == "ctl":
        counted = False
    else:
        counted = True
        STATS[f"{scheme}_conns"] += 1
        if scheme == "https":
            STATS["tls_handshakes"] += 1  # the handshake completed before the callback runs
    try:
        while True:
            try:
                method, path, headers, body = await read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                break
            if body is None:  # Expect: 100-continue
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = await reader.readexactly(int(headers["content-length"]))
            if counted:
                STATS["requests"] += 1
                status, ctype, out = answer(method, path, headers, body, scheme)
            elif path == "/stats":
                status, ctype, out = 200, "application/json", json.dumps(STATS).encode()
            elif path.startswith("/fill?n=") and method == "POST":
                QUEUE["left"] = int(path.split("=", 1)[1])
                status, ctype, out = 200, "text/plain", b"ok\n"
            elif path == "/reset" and method == "POST":
                STATS.update(http_conns=0, https_conns=0, tls_handshakes=0, requests=0, ops={})
                status, ctype, out = 200, "text/plain", b"ok\n"
            else:
                status, ctype, out = 404, "text/plain", b"no\n"
            writer.write(b"HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\nx-amzn-RequestId: %s\r\n\r\n"
                         % (status, ctype.encode(), len(out), str(uuid.uuid4()).encode()) + out)
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    servers = []
    for scheme in ("http", "https", "ctl"):
        ctx = None
        if scheme == "https":
            if not a.cert:
                PORTS["https"] = 0
                continue
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(a.cert, a.key)
        s = await asyncio.start_server(lambda r, w, sc=scheme: serve(r, w, sc), "127.0.0.1", 0, ssl=ctx)
        PORTS[scheme] = s.sockets[0].getsockname()[1]
        servers.append(s)
    tmp = a.ports + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{PORTS['http']} {PORTS['https']} {PORTS['ctl']}\n")
    os.rename(tmp, a.ports)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
