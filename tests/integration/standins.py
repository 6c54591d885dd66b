"""standins.py — instance-metadata (IMDS) and container-credentials stand-ins, on 127.0.0.1 in
threads of the test process.

Specs: IMDS https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html
(IMDSv2 tokens, status codes) and .../instancedata-data-retrieval.html; container credentials
https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html.

    imds = IMDS(creds, mode="v2", role="awsbox-role", region="us-east-1").start()
    imds.url; imds.env(); imds.requests; imds.creds = {...} (rotate); imds.stop()
    cc = ContainerCreds(creds, path="/v2/credentials/x", auth="Bearer t").start()
    cc.url; cc.env(); cc.requests; cc.stop()
    sso = SSO(creds, account=..., role=..., tokens={"at-1"}, client=("id", "secret"), refresh_token="rt").start()
    sso.env() (AWS_ENDPOINT_URL_SSO and _SSO_OIDC); sso.requests; sso.tokens; sso.stop()

creds is a dict with AccessKeyId, SecretAccessKey, Token (or SessionToken) and Expiration
(ISO-8601 string or epoch seconds), e.g. harness.temp_creds().

IMDS modes:
  "v2"           PUT /latest/api/token gives a token; GETs work without one (HttpTokens=optional)
                 but a token that is sent must be valid (else 401), as real IMDS does.
  "v2-required"  GETs without a valid token get 401 (HttpTokens=required).
  "v1-only"      an IMDS without the token API: PUT /latest/api/token answers put_status, 404 by
                 default — what an IMDS that predates IMDSv2 (or an emulator) says for a path it does
                 not know. AWS's own IMDS answers 403 only when it is turned off, and then GETs are
                 refused too, so 403 would not model "v1 only". botocore falls back to v1 on 403, 404
                 and 405 alike; pass put_status=403/405 to check those.
  "hang"         accepts connections, reads the request and never answers (a blackholed
                 169.254.169.254 or a hop limit of 1 in a container); connections are counted.
The token PUT needs X-aws-ec2-metadata-token-ttl-seconds in 1..21600 (else 400) and is refused
with 403 when it carries X-Forwarded-For, as real IMDS does. Tokens expire after their TTL.
"""
import base64
import datetime
import http.server
import json
import secrets
import socket
import threading
import time

IMDS_TOKEN_TTL_MAX = 21600


def _iso(t):
    if isinstance(t, datetime.datetime):
        return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(t, (int, float)):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    return t


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Standin:
    """Common part: a threaded HTTP/1.1 server on 127.0.0.1 that records what it saw."""

    def start(self):
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = outer.server_name
            sys_version = ""

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.body = self.rfile.read(n) if n else b""
                with outer.lock:
                    outer.requests.append(dict(method=self.command, path=self.path,
                                               headers={k.lower(): v for k, v in self.headers.items()}, body=body))
                status, headers, out = outer.answer(self)
                if status is None:
                    return
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

        self.lock = threading.Lock()
        self.requests = []
        self.connections = 0
        self._stopping = threading.Event()
        srv = self.server = _Server(("127.0.0.1", 0), H)
        orig = srv.process_request

        def counting(request, addr):
            with self.lock:
                self.connections += 1
            orig(request, addr)

        srv.process_request = counting
        self.port = srv.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=srv.serve_forever, args=(0.05,), name=type(self).__name__, daemon=True).start()
        return self

    def stop(self):
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def paths(self):
        return [(r["method"], r["path"]) for r in self.requests]


class IMDS(_Standin):
    server_name = "EC2ws"
    MODES = ("v2", "v2-required", "v1-only", "hang", "off")

    def __init__(self, creds, mode="v2", role="awsbox-role", region="us-east-1", put_status=404):
        if mode not in self.MODES:
            raise ValueError(f"IMDS mode {mode!r} not in {self.MODES}")
        self.creds, self.mode, self.role, self.region, self.put_status = creds, mode, role, region, put_status
        self.tokens = {}  # token -> expiry (epoch)
        self.account = "123456789012"

    def env(self):
        """Environment overrides for a run that should find credentials here."""
        return {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": self.url}

    def credentials_json(self):
        c, now = self.creds, time.time()
        # Key order, spacing and fields as real IMDS prints them.
        return ("{\n"
                '  "Code" : "Success",\n'
                f'  "LastUpdated" : "{_iso(now)}",\n'
                '  "Type" : "AWS-HMAC",\n'
                f'  "AccessKeyId" : "{c["AccessKeyId"]}",\n'
                f'  "SecretAccessKey" : "{c["SecretAccessKey"]}",\n'
                f'  "Token" : "{c.get("Token") or c.get("SessionToken")}",\n'
                f'  "Expiration" : "{_iso(c["Expiration"])}"\n'
                "}")

    def answer(self, h):
        text = [("Content-Type", "text/plain")]
        if self.mode == "hang":
            self._stopping.wait()
            h.close_connection = True
            return None, None, None
        if self.mode == "off":  # an instance with its metadata endpoint turned off answers 403 to all
            return 403, text, b""
        # Real IMDS ignores a trailing slash (botocore asks for .../availability-zone/).
        path = h.path.split("?")[0].rstrip("/") or "/"
        if path == "/latest/api/token":
            if h.command != "PUT":
                return 405, text, b""
            if self.mode == "v1-only":
                return self.put_status, [("Content-Type", "text/html")], b"<html><body>Not Found</body></html>"
            if h.headers.get("X-Forwarded-For") is not None:
                return 403, text, b""
            ttl = h.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= IMDS_TOKEN_TTL_MAX:
                return 400, text, b""
            tok = base64url(secrets.token_bytes(42))
            with self.lock:
                self.tokens[tok] = time.time() + int(ttl)
            return 200, text + [("X-aws-ec2-metadata-token-ttl-seconds", ttl)], tok.encode()
        if h.command != "GET":
            return 405, text, b""
        if self.mode != "v1-only":
            tok = h.headers.get("X-aws-ec2-metadata-token")
            valid = tok is not None and self.tokens.get(tok, 0) > time.time()
            if (tok is not None and not valid) or (self.mode == "v2-required" and not valid):
                return 401, text, b""
        base = "/latest/meta-data/iam/security-credentials"
        if path == base:
            return 200, text, self.role.encode()
        if path == f"{base}/{self.role}":
            return 200, text, self.credentials_json().encode()
        if path == "/latest/meta-data/placement/region":
            return 200, text, self.region.encode()
        if path == "/latest/meta-data/placement/availability-zone":
            return 200, text, (self.region + "a").encode()
        if path == "/latest/dynamic/instance-identity/document":
            doc = {"accountId": self.account, "region": self.region, "availabilityZone": self.region + "a",
                   "instanceId": "i-0123456789abcdef0", "instanceType": "t3.micro", "architecture": "x86_64"}
            return 200, [("Content-Type", "application/json")], json.dumps(doc, indent=2).encode()
        return 404, [("Content-Type", "text/html")], b"<html><body>Not Found</body></html>"


class ContainerCreds(_Standin):
    """ECS task role / EKS Pod Identity credentials at one path; kind "eks" adds AccountId."""
    server_name = "ecs-agent"

    def __init__(self, creds, path="/v2/credentials/awsbox", auth=None, kind="ecs",
                 role_arn="arn:aws:iam::123456789012:role/awsbox-role"):
        self.creds, self.path, self.auth, self.kind, self.role_arn = creds, path, auth, kind, role_arn

    def env(self):
        e = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.url + self.path}
        if self.auth is not None:
            e["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = self.auth
        return e

    def answer(self, h):
        js = [("Content-Type", "application/json")]
        if h.command != "GET" or h.path != self.path:
            return 404, js, json.dumps({"code": "NotFound", "message": "no such path"}).encode()
        if self.auth is not None and h.headers.get("Authorization") != self.auth:
            return 401, js, json.dumps({"code": "AccessDenied", "message": "Authorization header missing or wrong"}).encode()
        c = self.creds
        doc = {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
               "Token": c.get("Token") or c.get("SessionToken"), "Expiration": _iso(c["Expiration"])}
        if self.kind == "eks":
            doc["AccountId"] = self.role_arn.split(":")[4]
        else:
            doc["RoleArn"] = self.role_arn
        return 200, js, json.dumps(doc).encode()


class SSO(_Standin):
    """The IAM Identity Center portal (GetRoleCredentials) and SSO-OIDC (CreateToken refresh) on one
    server: point AWS_ENDPOINT_URL_SSO and AWS_ENDPOINT_URL_SSO_OIDC at .url (env()).

    Strict as the services are: requests must be unsigned (no Authorization), GetRoleCredentials
    needs a valid x-amz-sso_bearer_token (else 401 UnauthorizedException) and the account and role
    it was configured with (else 403 ForbiddenException); CreateToken needs grantType
    refresh_token and the registered client and refresh token (else 400 InvalidGrantException),
    and then issues a new access token (valid expires_in s) and a new refresh token.
    Specs: https://docs.aws.amazon.com/singlesignon/latest/PortalAPIReference/API_GetRoleCredentials.html
    https://docs.aws.amazon.com/singlesignon/latest/OIDCAPIReference/API_CreateToken.html"""
    server_name = "sso"

    def __init__(self, creds, account="123456789012", role="awsbox-role", tokens=(), client=None,
                 refresh_token=None, expires_in=3600):
        self.creds, self.account, self.role = creds, account, role
        self.tokens = set(tokens)
        self.client = client              # (clientId, clientSecret) of the registration, or None
        self.refresh_token = refresh_token
        self.expires_in = expires_in
        self.refusals = []

    def env(self):
        return {"AWS_ENDPOINT_URL_SSO": self.url, "AWS_ENDPOINT_URL_SSO_OIDC": self.url}

    def _err(self, status, kind, msg):
        self.refusals.append(kind)
        return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", kind)], json.dumps(
            {"message": msg} if kind != "InvalidGrantException" else {"error": "invalid_grant",
                                                                      "error_description": msg}).encode()

    def answer(self, h):
        import urllib.parse
        js = [("Content-Type", "application/json")]
        if "authorization" in {k.lower() for k in h.headers.keys()}:
            return self._err(400, "InvalidRequestException", "requests to this service are not signed")
        u = urllib.parse.urlsplit(h.path)
        if h.command == "GET" and u.path == "/federation/credentials":
            q = dict(urllib.parse.parse_qsl(u.query))
            if h.headers.get("x-amz-sso_bearer_token") not in self.tokens:
                return self._err(401, "UnauthorizedException", "Session token not found or invalid")
            if q.get("account_id") != self.account or q.get("role_name") != self.role:
                return self._err(403, "ForbiddenException", "No access")
            c = self.creds
            exp = c["Expiration"]
            if isinstance(exp, str):
                exp = datetime.datetime.strptime(exp, "%Y-%m-%dT%H:%M:%SZ").replace(
                    tzinfo=datetime.timezone.utc).timestamp()
            doc = {"roleCredentials": {"accessKeyId": c["AccessKeyId"], "secretAccessKey": c["SecretAccessKey"],
                                       "sessionToken": c.get("SessionToken") or c.get("Token"),
                                       "expiration": int(exp * 1000)}}
            return 200, js, json.dumps(doc).encode()
        if h.command == "POST" and u.path == "/token":
            try:
                body = json.loads(h.body)
            except ValueError:
                return self._err(400, "InvalidRequestException", "body is not JSON")
            if (body.get("grantType") != "refresh_token" or self.client is None
                    or (body.get("clientId"), body.get("clientSecret")) != tuple(self.client)
                    or body.get("refreshToken") != self.refresh_token):
                return self._err(400, "InvalidGrantException", "refresh token or client not valid")
            access, self.refresh_token = "at-" + secrets.token_hex(8), "rt-" + secrets.token_hex(8)
            self.tokens.add(access)
            return 200, js, json.dumps({"accessToken": access, "expiresIn": self.expires_in,
                                        "refreshToken": self.refresh_token, "tokenType": "Bearer"}).encode()
        return 404, js, json.dumps({"message": "no such operation"}).encode()


def base64url(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def port_is_closed(port):
    """True when nothing listens on 127.0.0.1:port (for tests that want a refused connection)."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0
