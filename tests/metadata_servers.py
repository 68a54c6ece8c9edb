"""Small threaded HTTP servers on 127.0.0.1 that follow AWS's credential endpoint protocols.

- `ImdsServer`: EC2 instance metadata with IMDSv2: `PUT /latest/api/token` needs the
  `X-aws-ec2-metadata-token-ttl-seconds` header (1..21600); GETs need a live token in
  `X-aws-ec2-metadata-token`, else 401. `/latest/meta-data/iam/security-credentials/` lists the
  role, `.../<role>` returns its credentials JSON.
- `ContainerServer`: the ECS/EKS container credentials endpoint: checks the Authorization
  header, returns `AccessKeyId`/`SecretAccessKey`/`Token`/`Expiration` JSON.
- `FakeSts`: an STS Query API endpoint that records requests and answers AssumeRole /
  AssumeRoleWithWebIdentity with XML (or a chosen error), for what moto cannot show.

Every server issues new keys on each credentials request, with an `Expiration` `lifetime`
seconds ahead (adjustable), can be slowed down with `delay`, and counts the requests.
Secrets it issues start with `SECRET_PREFIX` / `TOKEN_PREFIX` so tests can look for leaks.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl

S = TypeVar("S", bound="MetadataServer")

SECRET_PREFIX = "SeCrEt-leak-marker-"
TOKEN_PREFIX = "ToKeN-leak-marker-"


def iso(ts: float) -> str:
    """ISO 8601 UTC with milliseconds, as STS writes it (so short lifetimes stay exact)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Issued:
    access_key: str
    secret_key: str
    token: str
    expires_at: float


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        owner = self.server.owner
        rec = Recorded(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        with owner.lock:
            owner.requests.append(rec)
        if owner.delay:
            time.sleep(owner.delay)
        status, headers, payload = owner.respond(rec)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: MetadataServer


class MetadataServer:
    """Base: a threaded HTTP server on a free loopback port, started as a context manager."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.issued: list[Issued] = []
        self.delay = 0.0
        self.lifetime = 3600.0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self: S) -> S:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def respond(self, rec: Recorded) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    def issue(self) -> Issued:
        n = len(self.issued) + 1
        creds = Issued(
            f"ASIA{n:04d}{secrets.token_hex(4).upper()}",
            SECRET_PREFIX + secrets.token_hex(8),
            TOKEN_PREFIX + secrets.token_hex(16),
            time.time() + self.lifetime,
        )
        self.issued.append(creds)
        return creds

    def count(self, method: str | None = None, path_prefix: str = "") -> int:
        with self.lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method) and r.path.startswith(path_prefix)
            )

    @staticmethod
    def json(status: int, doc: object) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(doc).encode()

    @staticmethod
    def text(status: int, text: str) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "text/plain"}, text.encode()


class ImdsServer(MetadataServer):
    """EC2 instance metadata, IMDSv2 (tokens required unless `v1` is set)."""

    ROLE_PATH = "/latest/meta-data/iam/security-credentials/"

    def __init__(self, role: str | None = "s3lite-test-role") -> None:
        super().__init__()
        self.role = role
        #: token -> expiry (time.time())
        self.tokens: dict[str, float] = {}
        self.ttls: list[int] = []
        #: answer the token PUT with this status instead (404: an IMDSv1-only service)
        self.token_status: int | None = None
        self.v1 = False
        self.code = "Success"

    def credential_calls(self) -> int:
        return self.count("GET", self.ROLE_PATH + (self.role or "-"))

    def respond(self, rec: Recorded) -> tuple[int, dict[str, str], bytes]:
        if rec.method == "PUT" and rec.path == "/latest/api/token":
            if self.token_status is not None:
                return self.text(self.token_status, "")
            if "x-forwarded-for" in rec.headers:
                return self.text(403, "Forbidden")
            ttl_text = rec.headers.get("x-aws-ec2-metadata-token-ttl-seconds", "")
            if not ttl_text.isdigit() or not 1 <= int(ttl_text) <= 21600:
                return self.text(400, "Bad Request: X-aws-ec2-metadata-token-ttl-seconds")
            ttl = int(ttl_text)
            token = "imds-" + secrets.token_urlsafe(24)
            with self.lock:
                self.tokens[token] = time.time() + ttl
                self.ttls.append(ttl)
            return 200, {"X-aws-ec2-metadata-token-ttl-seconds": str(ttl)}, token.encode()
        if rec.method != "GET":
            return self.text(405, "Method Not Allowed")
        if not self.v1:
            token = rec.headers.get("x-aws-ec2-metadata-token", "")
            expiry = self.tokens.get(token)
            if expiry is None or expiry < time.time():
                return self.text(401, "Unauthorized")
        if rec.path == self.ROLE_PATH:
            if self.role is None:
                return self.text(404, "Not Found")
            return self.text(200, self.role)
        if self.role is not None and rec.path == self.ROLE_PATH + self.role:
            with self.lock:
                creds = self.issue()
            return self.json(
                200,
                {
                    "Code": self.code,
                    "LastUpdated": iso(time.time()),
                    "Type": "AWS-HMAC",
                    "AccessKeyId": creds.access_key,
                    "SecretAccessKey": creds.secret_key,
                    "Token": creds.token,
                    "Expiration": iso(creds.expires_at),
                },
            )
        return self.text(404, "Not Found")


class ContainerServer(MetadataServer):
    """The ECS/EKS container credentials endpoint at `path`, checking Authorization."""

    def __init__(self, path: str = "/v2/credentials/task-1234", token: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.token = token
        self.broken = False
        self.authorizations: list[str | None] = []

    def respond(self, rec: Recorded) -> tuple[int, dict[str, str], bytes]:
        if rec.method != "GET" or rec.path != self.path:
            return self.json(404, {"code": "NotFound", "message": "no such credentials"})
        got = rec.headers.get("authorization")
        with self.lock:
            self.authorizations.append(got)
        if self.token is not None and got != self.token:
            return self.json(401, {"code": "AccessDenied", "message": "bad authorization token"})
        if self.broken:
            return 200, {"Content-Type": "application/json"}, b'{"AccessKeyId": "AK", "Secr'
        with self.lock:
            creds = self.issue()
        return self.json(
            200,
            {
                "RoleArn": "arn:aws:iam::123456789012:role/task",
                "AccessKeyId": creds.access_key,
                "SecretAccessKey": creds.secret_key,
                "Token": creds.token,
                "Expiration": iso(creds.expires_at),
            },
        )


class FakeSts(MetadataServer):
    """An STS endpoint that records each call's parameters and answers with XML."""

    def __init__(self) -> None:
        super().__init__()
        #: (status, code, message) to answer with instead of credentials
        self.error: tuple[int, str, str] | None = None
        #: put a DTD in the answer (which the client must refuse)
        self.dtd = False
        self.calls: list[dict[str, str]] = []

    def respond(self, rec: Recorded) -> tuple[int, dict[str, str], bytes]:
        params = dict(parse_qsl(rec.body.decode()))
        with self.lock:
            self.calls.append(params)
        xml = {"Content-Type": "text/xml"}
        if self.error is not None:
            status, code, message = self.error
            body = (
                '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                "</Error><RequestId>req-1</RequestId></ErrorResponse>"
            )
            return status, xml, body.encode()
        action = params.get("Action", "")
        with self.lock:
            creds = self.issue()
        doctype = '<!DOCTYPE x [<!ENTITY e "boom">]>' if self.dtd else ""
        body = (
            f'<?xml version="1.0"?>{doctype}'
            f'<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<{action}Result><Credentials>"
            f"<AccessKeyId>{creds.access_key}</AccessKeyId>"
            f"<SecretAccessKey>{creds.secret_key}</SecretAccessKey>"
            f"<SessionToken>{creds.token}</SessionToken>"
            f"<Expiration>{iso(creds.expires_at)}</Expiration>"
            f"</Credentials><AssumedRoleUser><Arn>{params.get('RoleArn', '')}</Arn>"
            f"<AssumedRoleId>AROA:{params.get('RoleSessionName', '')}</AssumedRoleId>"
            f"</AssumedRoleUser></{action}Result>"
            f"<ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata>"
            f"</{action}Response>"
        )
        return 200, xml, body.encode()
