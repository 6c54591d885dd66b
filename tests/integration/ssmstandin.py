"""ssmstandin.py — a small strict SSM stand-in for what moto cannot do: Automation executions
(moto answers StartAutomationExecution/GetAutomationExecution with HTTP 500) and Run Command
invocations that take time, fail, and print (moto's succeed at once with empty output).

Specs: the SSM API reference (https://docs.aws.amazon.com/systems-manager/latest/APIReference/),
the awsJson1_1 protocol (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html), and
botocore's SSM service model, which is what requests are validated against (types, required and
unknown members, lengths, patterns) and what responses are shaped after.

Strict like the verifying front it is built on: it subclasses front.Front, so every request's
framing and SigV4 signature are checked with botocore exactly as there (service "ssm"); errors
come back as AWS JSON errors (400 InvalidSignatureException, UnrecognizedClientException, ...).
Requests must be POST / with Content-Type application/x-amz-json-1.1, X-Amz-Target
AmazonSSM.<Operation> and a JSON object body.

    ssm = SsmStandin(keys).start()      # keys: front.Keys(); ssm.url
    ssm.document("Doc", schedule=[(0, "Pending"), (0.2, "InProgress", "step1"), (0.5, "Success")],
                 outputs={"step1.Out": ["x"]}, failure=None)
        An execution of Doc is in the state of the last schedule entry whose time (seconds since
        StartAutomationExecution) has passed: (t, status) or (t, status, current step name).
        failure: FailureMessage once the status is Failed/TimedOut/Cancelled (and on that step).
    ssm.instance("i-0123456789abcdef0", tags={"Role": "web"}, schedule=[(0, "Pending"),
                 (0.1, "InProgress"), (0.3, "Success")], stdout="", stderr="", code=0,
                 details=None, appear_after=0, listed_after=0)
        How a command sent to the instance goes: its invocation status over time, then the
        output and ResponseCode; GetCommandInvocation answers InvocationDoesNotExist until
        appear_after seconds have passed (as AWS does right after SendCommand), and
        ListCommandInvocations lists it only after listed_after. Output over 24,000 characters
        is cut there, as SSM does.
    ssm.calls        [(operation, params, monotonic time)] of the accepted requests
    ssm.inject(op, status, code, message, count=1)   answer the next count op calls with an error
    ssm.stop()

Operations: StartAutomationExecution (ClientToken idempotency), GetAutomationExecution,
SendCommand (InstanceIds or Targets: InstanceIds, tag:KEY, tag-key), ListCommands,
ListCommandInvocations (MaxResults, NextToken), GetCommandInvocation. Anything else: 400
UnknownOperationException.
"""
import datetime
import json
import re
import threading
import time
import uuid

import botocore.session
from botocore.validate import ParamValidator

import front as frontmod

_MODEL = botocore.session.get_session().get_service_model("ssm")
TERMINAL_AUTOMATION = {"Success", "Failed", "TimedOut", "Cancelled", "Rejected", "CompletedWithSuccess",
                       "CompletedWithFailure", "ChangeCalendarOverrideRejected", "Exited"}
TERMINAL_INVOCATION = {"Success", "Failed", "TimedOut", "Cancelled"}
OUTPUT_MAX = 24000
ACCOUNT = "123456789012"


class ApiError(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _constraints(shape, value, path, errors):
    """What botocore's ParamValidator leaves out and the service checks: max lengths and sizes,
    and patterns (those Python's re can compile)."""
    meta = shape.metadata
    if shape.type_name == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"Value at '{path}' failed to satisfy constraint: Member must have length less than or equal to {meta['max']}")
        pat = meta.get("pattern")
        if pat:
            try:
                ok = re.search(pat, value) is not None
            except re.error:
                ok = True
            if not ok:
                errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pat}")
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"Value at '{path}' failed to satisfy constraint: Member must have length less than or equal to {meta['max']}")
        for i, v in enumerate(value):
            _constraints(shape.member, v, f"{path}.{i + 1}.member", errors)
    elif shape.type_name == "map" and isinstance(value, dict):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"Value at '{path}' failed to satisfy constraint: Map must have at most {meta['max']} entries")
        for k, v in value.items():
            _constraints(shape.key, k, f"{path}.key", errors)
            _constraints(shape.value, v, f"{path}.{k}", errors)
    elif shape.type_name == "structure" and isinstance(value, dict):
        for k, v in value.items():
            if k in shape.members:
                _constraints(shape.members[k], v, k[:1].lower() + k[1:] if not path else f"{path}.{k}", errors)


def _iso_ms(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _Execution:
    def __init__(self, doc, spec, params, token):
        self.id = str(uuid.uuid4())
        self.doc, self.spec, self.params, self.token = doc, spec, params, token
        self.t0, self.wall0 = time.monotonic(), time.time()
        self.end = None

    def state(self):
        el = time.monotonic() - self.t0
        cur = self.spec["schedule"][0]
        for entry in self.spec["schedule"]:
            if entry[0] <= el:
                cur = entry
        status, step = cur[1], (cur[2] if len(cur) > 2 else None)
        if status in TERMINAL_AUTOMATION and self.end is None:
            self.end = self.wall0 + cur[0]
        return status, step


class _Invocation:
    def __init__(self, cmd, iid, spec):
        self.cmd, self.iid, self.spec = cmd, iid, spec

    def elapsed(self):
        return time.monotonic() - self.cmd.t0

    def status(self):
        el, cur = self.elapsed(), self.spec["schedule"][0]
        for entry in self.spec["schedule"]:
            if entry[0] <= el:
                cur = entry
        return cur[1]

    def end_time(self):
        for t, s in self.spec["schedule"]:
            if s in TERMINAL_INVOCATION:
                return self.cmd.wall0 + t
        return None


class _Command:
    def __init__(self, params, instances, specs):
        self.id = str(uuid.uuid4())
        self.params = params
        self.t0, self.wall0 = time.monotonic(), time.time()
        self.invocations = [_Invocation(self, i, specs[i]) for i in instances]

    def status(self):
        st = [inv.status() for inv in self.invocations]
        if not st:
            return "Success"
        if not all(s in TERMINAL_INVOCATION for s in st):
            return "Pending" if all(s == "Pending" for s in st) else "InProgress"
        for s in ("Failed", "TimedOut", "Cancelled"):
            if s in st:
                return s
        return "Success"


class SsmStandin(frontmod.Front):
    def __init__(self, keys, region="us-east-1"):
        super().__init__("http://127.0.0.1:9", keys, services=("ssm",))
        self.region = region
        self.docs, self.instances = {}, {}
        self.executions, self.commands = {}, {}
        self.calls = []
        self._inject = []
        self._state = threading.Lock()

    # -- what the test sets up -------------------------------------------------------------
    def document(self, name, schedule, outputs=None, failure=None):
        with self._state:
            self.docs[name] = dict(schedule=list(schedule), outputs=outputs or {}, failure=failure)

    def instance(self, iid, tags=None, schedule=((0, "Pending"), (0.1, "InProgress"), (0.3, "Success")),
                 stdout="", stderr="", code=0, details=None, appear_after=0, listed_after=0):
        with self._state:
            self.instances[iid] = dict(tags=dict(tags or {}), schedule=list(schedule), stdout=stdout, stderr=stderr,
                                       code=code, details=details, appear_after=appear_after,
                                       listed_after=listed_after)

    def inject(self, op, status, code, message, count=1):
        with self._state:
            self._inject.append([op, status, code, message, count])

    def ops(self, name=None):
        return [c for c in self.calls if name is None or c[0] == name]

    # -- protocol ---------------------------------------------------------------------------
    def _error(self, req, r):
        """AWS JSON errors, as SSM sends them for what the front refuses."""
        code = {"SignatureDoesNotMatch": "InvalidSignatureException", "InvalidAccessKeyId": "UnrecognizedClientException",
                "InvalidToken": "UnrecognizedClientException", "AccessDenied": "MissingAuthenticationTokenException",
                "RequestTimeTooSkewed": "InvalidSignatureException"}.get(r.code, r.code)
        msg = r.reason.split("\n")[0]
        if r.code == "RequestTimeTooSkewed":
            msg = f"Signature expired: {r.extra.get('RequestTime')} is now earlier than {r.extra.get('ServerTime')}"
        status = 400 if r.status in (400, 403) else r.status
        return status, self._json_headers(code), json.dumps({"__type": code, "message": msg}).encode()

    @staticmethod
    def _json_headers(code=None):
        h = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", str(uuid.uuid4()))]
        if code:
            h.append(("x-amzn-ErrorType", code))
        return h

    def _forward(self, req):
        try:
            op, params = self._parse(req)
            with self._state:
                for inj in self._inject:
                    if inj[0] == op and inj[4] > 0:
                        inj[4] -= 1
                        raise ApiError(inj[2], inj[3], inj[1])
                self.calls.append((op, params, time.monotonic()))
                out = getattr(self, "_op_" + op)(params)
            return 200, "OK", self._json_headers(), json.dumps(out).encode()
        except ApiError as e:
            body = json.dumps({"__type": e.code, "message": e.message}).encode()
            return e.status, None, self._json_headers(e.code), body

    def _parse(self, req):
        if req.method != "POST" or req.path != "/":
            raise ApiError("UnknownOperationException", f"{req.method} {req.path}: SSM takes POST /", 404)
        ctype = req.header("content-type") or ""
        if ctype.split(";")[0].strip() != "application/x-amz-json-1.1":
            raise ApiError("SerializationException", f"Content-Type {ctype!r} is not application/x-amz-json-1.1")
        target = req.header("x-amz-target") or ""
        svc, dot, op = target.partition(".")
        if svc != "AmazonSSM" or not dot or op not in _MODEL.operation_names:
            raise ApiError("UnknownOperationException", f"X-Amz-Target {target!r}")
        if not hasattr(self, "_op_" + op):
            raise ApiError("UnknownOperationException", f"{op} is not served by this stand-in")
        try:
            params = json.loads(req.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise ApiError("SerializationException", f"body is not JSON: {e}")
        if not isinstance(params, dict):
            raise ApiError("SerializationException", "body is not a JSON object")
        shape = _MODEL.operation_model(op).input_shape
        report = ParamValidator().validate(params, shape)
        errors = [report.generate_report()] if report.has_errors() else []
        _constraints(shape, params, "", errors)
        if errors:
            raise ApiError("ValidationException", f"{len(errors)} validation error(s) detected: " + "; ".join(errors))
        return op, params

    # -- Automation -------------------------------------------------------------------------
    def _op_StartAutomationExecution(self, p):
        doc = p["DocumentName"]
        if doc not in self.docs:
            raise ApiError("AutomationDefinitionNotFoundException", f"Automation definition {doc} was not found.")
        params = p.get("Parameters", {})
        token = p.get("ClientToken")
        if token:
            for ex in self.executions.values():
                if ex.token == token:
                    if ex.doc != doc or ex.params != params:
                        raise ApiError("IdempotentParameterMismatch", "The same ClientToken was used with other parameters.")
                    return {"AutomationExecutionId": ex.id}
        ex = _Execution(doc, self.docs[doc], params, token)
        self.executions[ex.id] = ex
        return {"AutomationExecutionId": ex.id}

    def _op_GetAutomationExecution(self, p):
        ex = self.executions.get(p["AutomationExecutionId"])
        if ex is None:
            raise ApiError("AutomationExecutionNotFoundException",
                           f"Automation Execution id {p['AutomationExecutionId']} does not exist.")
        status, step = ex.state()
        spec = ex.spec
        steps = []
        names = []
        for entry in spec["schedule"]:
            if len(entry) > 2 and entry[2] not in names:
                names.append(entry[2])
        for name in names:
            # a step is Success once a later one has begun, or with the execution's end
            first = min(e[0] for e in spec["schedule"] if len(e) > 2 and e[2] == name)
            if time.monotonic() - ex.t0 < first:
                continue
            st = "InProgress" if name == step else "Success"
            if status in TERMINAL_AUTOMATION:
                st = status if name == step else "Success"
            se = {"StepName": name, "Action": "aws:executeAwsApi", "ExecutionStartTime": ex.wall0 + first,
                  "StepStatus": st, "Inputs": {}, "StepExecutionId": str(uuid.uuid5(uuid.NAMESPACE_OID, ex.id + name)),
                  "OverriddenParameters": {}, "IsEnd": name == names[-1], "IsCritical": True}
            if st in TERMINAL_AUTOMATION:
                se["ExecutionEndTime"] = ex.end or time.time()
                se["Outputs"] = {k.split(".", 1)[1]: v for k, v in spec["outputs"].items() if k.startswith(name + ".")}
            if st in ("Failed", "TimedOut", "Cancelled") and spec["failure"]:
                se["FailureMessage"] = spec["failure"]
                se["FailureDetails"] = {"FailureStage": "Invocation", "FailureType": "Action", "Details": {}}
            steps.append(se)
        out = {"AutomationExecutionId": ex.id, "DocumentName": ex.doc, "DocumentVersion": "1",
               "ExecutionStartTime": ex.wall0, "AutomationExecutionStatus": status, "StepExecutions": steps,
               "StepExecutionsTruncated": False, "Parameters": ex.params, "Mode": "Auto",
               "ExecutedBy": f"arn:aws:iam::{ACCOUNT}:user/awsbox-test", "Targets": [],
               "ResolvedTargets": {"ParameterValues": [], "Truncated": False}}
        if status in TERMINAL_AUTOMATION:
            out["ExecutionEndTime"] = ex.end
            out["Outputs"] = spec["outputs"]
            if status not in ("Success", "CompletedWithSuccess") and spec["failure"]:
                out["FailureMessage"] = spec["failure"]
        elif step:
            out["CurrentStepName"] = step
            out["CurrentAction"] = "aws:executeAwsApi"
        return {"AutomationExecution": out}

    # -- Run Command ------------------------------------------------------------------------
    def _targets(self, targets):
        """Instances matching every target key (AWS ANDs them)."""
        found = None
        for t in targets:
            key, values = t["Key"], t["Values"]
            if key == "InstanceIds":
                ids = [i for i in values if i in self.instances]
            elif key.startswith("tag:"):
                ids = [i for i, s in self.instances.items() if s["tags"].get(key[4:]) in values]
            elif key == "tag-key":
                ids = [i for i, s in self.instances.items() if any(v in s["tags"] for v in values)]
            else:
                raise ApiError("InvalidTarget", f"target key {key} is not supported by this stand-in")
            found = ids if found is None else [i for i in found if i in ids]
        return found or []

    def _op_SendCommand(self, p):
        ids, targets = p.get("InstanceIds"), p.get("Targets")
        if bool(ids) == bool(targets):
            raise ApiError("ValidationException", "Exactly one of InstanceIds and Targets must be given.")
        if ids:
            if len(set(ids)) != len(ids):
                raise ApiError("DuplicateInstanceId", "Duplicate instance ids.")
            unknown = [i for i in ids if i not in self.instances]
            if unknown:
                raise ApiError("InvalidInstanceId", f"Instances {unknown} not in a valid state for account {ACCOUNT}")
            chosen = list(ids)
        else:
            chosen = self._targets(targets)
        cmd = _Command(p, chosen, self.instances)
        self.commands[cmd.id] = cmd
        return {"Command": self._command_view(cmd, sent=True)}

    def _command_view(self, cmd, sent=False):
        p = cmd.params
        st = "Pending" if sent else cmd.status()
        done = [i for i in cmd.invocations if i.status() in TERMINAL_INVOCATION]
        return {"CommandId": cmd.id, "DocumentName": p["DocumentName"], "DocumentVersion": p.get("DocumentVersion", "$DEFAULT"),
                "Comment": p.get("Comment", ""), "ExpiresAfter": cmd.wall0 + 3600 + 3600,
                "Parameters": p.get("Parameters", {}), "InstanceIds": p.get("InstanceIds", []),
                "Targets": p.get("Targets", []), "RequestedDateTime": cmd.wall0, "Status": st, "StatusDetails": st,
                "OutputS3Region": self.region, "OutputS3BucketName": "", "OutputS3KeyPrefix": "",
                "MaxConcurrency": p.get("MaxConcurrency", "50"), "MaxErrors": p.get("MaxErrors", "0"),
                # AWS counts 0 in SendCommand's answer; the real counts come with ListCommands
                "TargetCount": 0 if sent else len(cmd.invocations), "CompletedCount": 0 if sent else len(done),
                "ErrorCount": 0 if sent else len([i for i in done if i.status() != "Success"]),
                "DeliveryTimedOutCount": 0, "ServiceRole": "",
                "NotificationConfig": {"NotificationArn": "", "NotificationEvents": [], "NotificationType": ""},
                "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
                "TimeoutSeconds": p.get("TimeoutSeconds", 3600)}

    def _command(self, cid):
        cmd = self.commands.get(cid)
        if cmd is None:
            raise ApiError("InvalidCommandId", "")
        return cmd

    def _op_ListCommands(self, p):
        if "CommandId" not in p:
            raise ApiError("ValidationException", "this stand-in lists one command: give CommandId")
        return {"Commands": [self._command_view(self._command(p["CommandId"]))]}

    def _op_ListCommandInvocations(self, p):
        cmd = self._command(p.get("CommandId", ""))
        invs = [i for i in cmd.invocations if i.elapsed() >= i.spec["listed_after"]]
        start = int(p.get("NextToken", "0") or 0) if str(p.get("NextToken", "0")).isdigit() else None
        if start is None:
            raise ApiError("InvalidNextToken", "The specified token is not valid.")
        n = p.get("MaxResults", 50)
        page = invs[start:start + n]
        out = {"CommandInvocations": [{
            "CommandId": cmd.id, "InstanceId": i.iid, "InstanceName": "", "Comment": cmd.params.get("Comment", ""),
            "DocumentName": cmd.params["DocumentName"], "DocumentVersion": "$DEFAULT", "RequestedDateTime": cmd.wall0,
            "Status": i.status(), "StatusDetails": i.status(), "TraceOutput": "", "StandardOutputUrl": "",
            "StandardErrorUrl": "", "CommandPlugins": [], "ServiceRole": "",
            "NotificationConfig": {"NotificationArn": "", "NotificationEvents": [], "NotificationType": ""},
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False}}
            for i in page]}
        if start + n < len(invs):
            out["NextToken"] = str(start + n)
        return out

    def _op_GetCommandInvocation(self, p):
        cmd = self._command(p["CommandId"])
        inv = next((i for i in cmd.invocations if i.iid == p["InstanceId"]), None)
        if inv is None or inv.elapsed() < inv.spec["appear_after"]:
            raise ApiError("InvocationDoesNotExist", "")
        if p.get("PluginName") not in (None, "aws:runShellScript"):
            raise ApiError("InvalidPluginName", "")
        st, spec = inv.status(), inv.spec
        done = st in TERMINAL_INVOCATION
        end = inv.end_time()
        return {"CommandId": cmd.id, "InstanceId": inv.iid, "Comment": cmd.params.get("Comment", ""),
                "DocumentName": cmd.params["DocumentName"], "DocumentVersion": "$DEFAULT",
                "PluginName": "aws:runShellScript", "ResponseCode": spec["code"] if done else -1,
                "ExecutionStartDateTime": _iso_ms(cmd.wall0), "ExecutionElapsedTime": f"PT{inv.elapsed():.3f}S",
                "ExecutionEndDateTime": _iso_ms(end) if done and end else "",
                "Status": st, "StatusDetails": (spec["details"] or st) if done else st,
                "StandardOutputContent": spec["stdout"][:OUTPUT_MAX] if done else "", "StandardOutputUrl": "",
                "StandardErrorContent": spec["stderr"][:OUTPUT_MAX] if done else "", "StandardErrorUrl": "",
                "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False}}
