"""lambda_standin.py — a strict Lambda Invoke stand-in on 127.0.0.1, for what moto cannot show:
function errors, LogResult, throttling, dropped connections and functions slower than the client
waits. Every request goes through the verifying front (front.Front: raw request, SigV4 checked
with botocore), then is answered here instead of being forwarded.

Spec: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html ; the FunctionName,
Qualifier, InvocationType and LogType constraints are read from botocore's Lambda model.

    lam = LambdaStandin(keys).start()  # keys: front.Keys(), e.g. harness.front().keys
    lam.function("fn", handler)        # handler(inv) -> Reply; inv: Invocation (below)
    lam.url; lam.front.requests / .verified / .rejected; lam.invocations; lam.errors; lam.stop()

A handler returns Reply(payload=b"...", error=None|"Unhandled"|"Handled", log="text"), or raises
Throttle() (429 TooManyRequestsException), Fail(status, code, message) (any service error) or
Drop() (the connection is closed without an answer). It may block: stall(inv, seconds) waits
until the stand-in stops or the time runs out. Event and DryRun never call the handler.

Strict checks, answered as Lambda does (JSON body, x-amzn-ErrorType): POST
/2015-03-31/functions/{FunctionName}/invocations only (404 UnknownOperationException); the
FunctionName label percent-encoded exactly as botocore encodes it (':' as %3A, '$' as %24 —
stricter than AWS, to prove the client matches botocore; 400 InvalidRequestException); names,
qualifiers and headers per the model (400 InvalidParameterValueException, ValidationException);
a function name's qualifier that contradicts Qualifier (400); only the Qualifier query parameter;
a body that is not JSON in UTF-8 (400 InvalidRequestContentException) or over 6291456 bytes (413
RequestTooLargeException); unknown functions (404 ResourceNotFoundException).
Answers: 200 with X-Amz-Executed-Version, X-Amz-Function-Error and X-Amz-Log-Result (base64 of
the log's last 4 KB, only for X-Amz-Log-Type: Tail); 202 with no body for Event; 204 for DryRun.
"""
import base64
import json
import re
import threading
import time
import uuid
from urllib.parse import parse_qsl, quote, unquote

import botocore.session

import front as frontmod

ACCOUNT = "123456789012"
PAYLOAD_MAX = 6291456
LOG_TAIL = 4096
_MODEL = botocore.session.get_session().get_service_model("lambda").operation_model("Invoke")
_IN = _MODEL.input_shape.members


def _pattern(member):
    return re.compile(_IN[member].metadata["pattern"])


FUNCTION_NAME = _pattern("FunctionName")
QUALIFIER = _pattern("Qualifier")
INVOCATION_TYPES = _IN["InvocationType"].enum
LOG_TYPES = _IN["LogType"].enum


class Reply:
    def __init__(self, payload=b"", error=None, log=""):
        self.payload = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.error, self.log = error, log


class Throttle(Exception):
    pass


class Drop(Exception):
    pass


class Fail(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Invocation:
    """One Invoke as received: raw label, resolved function, qualifier, type, log type, event."""

    def __init__(self, req, label, name, qualifier, itype, log_type, event):
        self.req, self.label, self.name, self.qualifier = req, label, name, qualifier
        self.type, self.log_type, self.event = itype, log_type, event
        self.target, self.akid, self.at = req.target, req.akid, time.time()
        self.headers = req.headers


def stall(inv, seconds):
    """Blocks like a function that runs for seconds (cut short when the stand-in stops)."""
    inv.standin.stopping.wait(seconds)


class _LambdaFront(frontmod.Front):
    def __init__(self, standin, keys):
        super().__init__("http://127.0.0.1:9", keys, services=("lambda",))
        self.standin = standin

    def _forward(self, req):
        status, headers, body = self.standin.answer(req)
        return status, None, headers, body

    def _one(self, sock, f, conn):
        try:
            return super()._one(sock, f, conn)
        except Drop:
            return False


class LambdaStandin:
    def __init__(self, keys, region="us-east-1", account=ACCOUNT):
        self.region, self.account = region, account
        self.functions = {}
        self.invocations = []
        self.errors = []  # (status, code, message) answered by the stand-in itself
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.front = _LambdaFront(self, keys)

    def start(self):
        self.front.start()
        self.url = self.front.url
        return self

    def stop(self):
        self.stopping.set()
        self.front.stop()

    def function(self, name, handler):
        self.functions[name] = handler
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"

    # -- answering ----------------------------------------------------------------------
    def _err(self, status, code, message, extra=None):
        with self.lock:
            self.errors.append((status, code, message))
        body = dict(Type="User", message=message, **(extra or {}))
        return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code),
                        ("x-amzn-RequestId", str(uuid.uuid4()))], json.dumps(body).encode()

    def _resolve(self, name):
        """(function name, qualifier from the name or None) for a name, partial ARN or ARN."""
        parts = name.split(":")
        if parts[0] == "arn":
            if len(parts) not in (7, 8) or parts[2] != "lambda" or parts[5] != "function":
                return None, None
            if parts[3] != self.region or parts[4] != self.account:
                return None, None
            return parts[6], parts[7] if len(parts) == 8 else None
        if len(parts) in (3, 4) and parts[1] == "function":
            if parts[0] != self.account:
                return None, None
            return parts[2], parts[3] if len(parts) == 4 else None
        if len(parts) in (1, 2):
            return parts[0], parts[1] if len(parts) == 2 else None
        return None, None

    def answer(self, req):
        m = re.fullmatch(r"/2015-03-31/functions/([^/]+)/invocations", req.path)
        if req.method != "POST" or not m:
            return self._err(404, "UnknownOperationException", f"no such operation: {req.method} {req.path}")
        label = m.group(1)
        name = unquote(label)
        if quote(name, safe="-_.~") != label:
            return self._err(400, "InvalidRequestException",
                             f"FunctionName label {label!r} is not encoded as botocore encodes it "
                             f"({quote(name, safe='-_.~')!r})")
        if not 1 <= len(name) <= _IN["FunctionName"].metadata["max"] or not FUNCTION_NAME.fullmatch(name):
            return self._err(400, "ValidationException", f"1 validation error detected: Value '{name}' at "
                             "'functionName' failed to satisfy constraint: Member must satisfy regular "
                             "expression pattern")
        query = parse_qsl(req.query, keep_blank_values=True, strict_parsing=bool(req.query))
        if any(k != "Qualifier" for k, _ in query) or len(query) > 1:
            return self._err(400, "InvalidParameterValueException", f"unexpected query {req.query!r}")
        qualifier = query[0][1] if query else None
        if qualifier is not None and (not 1 <= len(qualifier) <= 128 or not QUALIFIER.fullmatch(qualifier)):
            return self._err(400, "ValidationException", f"Value '{qualifier}' at 'qualifier' failed to satisfy "
                             "constraint: Member must satisfy regular expression pattern")
        itype = req.header("x-amz-invocation-type")
        if itype is not None and itype not in INVOCATION_TYPES:
            return self._err(400, "InvalidParameterValueException", f"bad X-Amz-Invocation-Type {itype!r}")
        log_type = req.header("x-amz-log-type")
        if log_type is not None and log_type not in LOG_TYPES:
            return self._err(400, "InvalidParameterValueException", f"bad X-Amz-Log-Type {log_type!r}")
        if len(req.body) > PAYLOAD_MAX:
            return self._err(413, "RequestTooLargeException",
                             f"Request must be smaller than {PAYLOAD_MAX} bytes for the InvokeFunction operation")
        if req.body:
            try:
                json.loads(req.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                return self._err(400, "InvalidRequestContentException", f"Could not parse request body into json: {e}")
        fname, from_name = self._resolve(name)
        if from_name is not None and qualifier is not None and from_name != qualifier:
            return self._err(400, "InvalidParameterValueException",
                             "The derived qualifier from the function name does not match the specified qualifier.")
        arn = f"arn:aws:lambda:{self.region}:{self.account}:function:{fname}"
        if fname is None or fname not in self.functions:
            return self._err(404, "ResourceNotFoundException", f"Function not found: {arn}")
        inv = Invocation(req, label, fname, from_name or qualifier, itype or "RequestResponse", log_type, req.body)
        inv.standin = self
        with self.lock:
            self.invocations.append(inv)
        rid = [("x-amzn-RequestId", str(uuid.uuid4()))]
        if inv.type == "DryRun":
            return 204, rid, b""
        if inv.type == "Event":
            return 202, rid, b""
        try:
            rep = self.functions[fname](inv)
        except Throttle:
            return self._err(429, "TooManyRequestsException", "Rate Exceeded.",
                             {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"})
        except Fail as f:
            return self._err(f.status, f.code, f.message)
        headers = rid + [("Content-Type", "application/json"),
                         ("X-Amz-Executed-Version", inv.qualifier if inv.qualifier and inv.qualifier.isdigit()
                          else "$LATEST")]
        if rep.error:
            headers.append(("X-Amz-Function-Error", rep.error))
        if log_type == "Tail":
            headers.append(("X-Amz-Log-Result", base64.b64encode(rep.log.encode()[-LOG_TAIL:]).decode()))
        return 200, headers, rep.payload
