"""Credentials and the providers that supply them: the AWS credential chain.

A provider's `get()` returns the credentials to sign the next request with (or None: the
source has none); temporary credentials renew themselves before they expire
(`RefreshingCredentials`). A session without keys uses `default_provider()`, which tries,
in order: the environment, web identity (`AWS_WEB_IDENTITY_TOKEN_FILE`), the shared
credentials/config files (static keys, assumed roles, `credential_process`), the container
credentials endpoint (ECS/EKS) and EC2 instance metadata (IMDSv2).

A source that is configured but broken raises `CredentialSourceError` rather than letting
the chain fall through to the next one. Secrets (secret keys, session tokens, web identity
and container tokens) never appear in a repr, str, log line or exception.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import NoCredentialsError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from .config import SharedConfig
    from .response import Response
    from .transport import Auth, ErrorParser, Transport

__all__ = [
    "AssumeRoleCredentials",
    "ChainProvider",
    "ContainerCredentials",
    "CredentialSourceError",
    "Credentials",
    "CredentialsProvider",
    "EnvironmentCredentials",
    "InstanceMetadataCredentials",
    "ProcessCredentials",
    "ProfileCredentials",
    "RefreshingCredentials",
    "StaticCredentials",
    "WebIdentityCredentials",
    "b2_credentials_from_env",
    "default_provider",
]

log = logging.getLogger("s3lite.credentials")


class CredentialSourceError(NoCredentialsError):
    """A credential source is configured but broken: a malformed profile, a failing
    `credential_process`, an STS error, a metadata endpoint that answers nonsense.

    The message names the source and what is wrong, never a secret.
    """


class Credentials:
    """An access key id, its secret, and a session token for temporary credentials.

    Immutable; the secret and the token never appear in its repr or str.
    """

    __slots__ = ("access_key", "expires_at", "secret_key", "token")

    access_key: str
    secret_key: str
    token: str | None
    #: Unix time after which these credentials no longer work (None: long-term keys).
    expires_at: float | None

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        token: str | None = None,
        expires_at: float | None = None,
    ) -> None:
        if not isinstance(access_key, str) or not access_key:
            raise ValueError("access key id must be a non-empty string")
        if not isinstance(secret_key, str) or not secret_key:
            raise ValueError("secret access key must be a non-empty string")
        set_ = object.__setattr__
        set_(self, "access_key", access_key)
        set_(self, "secret_key", secret_key)
        set_(self, "token", token)
        set_(self, "expires_at", expires_at)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Credentials are immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self.access_key, self.secret_key, self.token, self.expires_at) == (
            other.access_key, other.secret_key, other.token, other.expires_at,
        )  # fmt: skip

    def __hash__(self) -> int:
        return hash((self.access_key, self.secret_key, self.token, self.expires_at))

    def __repr__(self) -> str:
        return f"Credentials(access_key={self.access_key!r}, expires_at={self.expires_at!r})"

    def __str__(self) -> str:
        return repr(self)


@runtime_checkable
class CredentialsProvider(Protocol):
    """Anything that hands out current credentials (or None for anonymous access)."""

    def get(self) -> Credentials | None: ...


class StaticCredentials:
    """Credentials fixed at construction (or None: anonymous, unsigned requests)."""

    def __init__(self, credentials: Credentials | None) -> None:
        self._credentials = credentials

    def get(self) -> Credentials | None:
        return self._credentials

    def __repr__(self) -> str:
        return f"StaticCredentials({self._credentials!r})"


class EnvironmentCredentials:
    """AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, read on every `get()`.

    One of the two keys without the other is an error, not "no credentials".
    """

    #: Why the last `get()` found nothing (for the chain's error message).
    unavailable: str | None = None

    def get(self) -> Credentials | None:
        key = os.environ.get("AWS_ACCESS_KEY_ID")
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
        if not key and not secret:
            self.unavailable = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"
            return None
        if not key or not secret:
            present, missing = (
                ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
                if key
                else ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
            )
            raise CredentialSourceError(f"{self!r}: {present} is set but {missing} is not")
        return Credentials(key, secret, os.environ.get("AWS_SESSION_TOKEN") or None)

    def __repr__(self) -> str:
        return "EnvironmentCredentials()"


def b2_credentials_from_env() -> tuple[str, str] | None:
    """(key id, key) from B2_APPLICATION_KEY_ID / B2_APPLICATION_KEY, or None if unset.

    One without the other raises `CredentialSourceError`.
    """
    key_id = os.environ.get("B2_APPLICATION_KEY_ID")
    key = os.environ.get("B2_APPLICATION_KEY")
    if not key_id and not key:
        return None
    if not key_id or not key:
        present, missing = (
            ("B2_APPLICATION_KEY_ID", "B2_APPLICATION_KEY")
            if key_id
            else ("B2_APPLICATION_KEY", "B2_APPLICATION_KEY_ID")
        )
        raise CredentialSourceError(f"{present} is set but {missing} is not")
    return key_id, key


# --- refreshing temporary credentials ---------------------------------------------------------

_FRESH, _ADVISORY, _MANDATORY = 0, 1, 2


class RefreshingCredentials:
    """Temporary credentials that renew themselves before they expire. Thread-safe.

    Subclasses implement `_fetch()`. `get()` hands out the current credentials without
    locking while they have more than `advisory_refresh` seconds left. Inside that advisory
    window one thread refreshes while the others carry on with the still-valid credentials;
    a failed advisory refresh keeps them (logged at DEBUG). Inside the `mandatory_refresh`
    window, or once expired, callers wait for the refresh; if it fails while the current
    credentials still work they are used (logged at WARNING), once they have expired the
    error is raised. After an attempt, the next waits `retry_interval` seconds unless the
    credentials have expired. `refresh()` forces a refresh (after an `ExpiredToken` error).
    """

    #: Seconds before expiry when one thread starts refreshing in the background of others.
    advisory_refresh: float = 15 * 60
    #: Seconds before expiry when every caller waits for fresh credentials.
    mandatory_refresh: float = 2 * 60

    def __init__(
        self, *, advisory_refresh: float | None = None, mandatory_refresh: float | None = None
    ) -> None:
        if advisory_refresh is not None:
            self.advisory_refresh = advisory_refresh
        if mandatory_refresh is not None:
            self.mandatory_refresh = mandatory_refresh
        if not 0 <= self.mandatory_refresh <= self.advisory_refresh:
            raise ValueError("need 0 <= mandatory_refresh <= advisory_refresh")
        self.retry_interval = max(
            0.1, min(30.0, (self.advisory_refresh - self.mandatory_refresh) / 4)
        )
        self._lock = threading.Lock()
        self._credentials: Credentials | None = None
        self._next_attempt = 0.0  # time.monotonic() before which no refresh is attempted
        #: Why the source had no credentials at the last attempt (for the chain's message).
        self.unavailable: str | None = None

    def _fetch(self) -> Credentials | None:
        """Fetch new credentials; None if the source is not configured or not present."""
        raise NotImplementedError

    def _urgency(self, creds: Credentials | None) -> int:
        if creds is None:
            return _MANDATORY
        if creds.expires_at is None:
            return _FRESH
        remaining = creds.expires_at - time.time()
        if remaining <= 0:
            return _MANDATORY
        if remaining > self.advisory_refresh or time.monotonic() < self._next_attempt:
            return _FRESH
        return _ADVISORY if remaining > self.mandatory_refresh else _MANDATORY

    def get(self) -> Credentials | None:
        creds = self._credentials
        urgency = self._urgency(creds)
        if urgency == _FRESH:
            return creds
        if urgency == _ADVISORY:
            if not self._lock.acquire(blocking=False):
                return creds  # another thread is refreshing; these still work
            try:
                if self._urgency(self._credentials) == _ADVISORY:
                    self._refresh_locked(advisory=True)
                return self._credentials
            finally:
                self._lock.release()
        with self._lock:
            urgency = self._urgency(self._credentials)
            if urgency != _FRESH:  # unless another thread refreshed while we waited
                self._refresh_locked(advisory=urgency == _ADVISORY)
            return self._credentials

    def refresh(self) -> None:
        """Fetch new credentials now (the service said the current ones expired).

        Callers that waited while another thread refreshed do not refresh again.
        """
        seen = self._credentials
        with self._lock:
            if self._credentials is not seen:
                return
            try:
                new = self._fetch_checked()
            finally:
                self._next_attempt = time.monotonic() + self.retry_interval
            if new is None:
                raise CredentialSourceError(
                    f"{self!r}: no credentials on refresh ({self.unavailable})"
                )
            self._credentials = new

    def _fetch_checked(self) -> Credentials | None:
        new = self._fetch()
        if new is not None and new.expires_at is not None and new.expires_at <= time.time():
            raise CredentialSourceError(f"{self!r}: the source returned expired credentials")
        return new

    def _refresh_locked(self, *, advisory: bool) -> None:
        old = self._credentials
        try:
            new = self._fetch_checked()
            if new is None and old is not None:
                raise CredentialSourceError(
                    f"{self!r}: the source no longer has credentials ({self.unavailable})"
                )
        except Exception as exc:
            self._next_attempt = time.monotonic() + self.retry_interval
            remaining = (
                None if old is None or old.expires_at is None else old.expires_at - time.time()
            )
            if old is not None and (remaining is None or remaining > 0):
                log.log(
                    logging.DEBUG if advisory else logging.WARNING,
                    "refreshing credentials from %r failed; still using the current ones "
                    "(they expire in %.0f s): %s",
                    self, remaining or 0.0, exc,
                )  # fmt: skip
                return
            raise
        # Set only now: while a refresh is in flight, callers in the mandatory window wait.
        self._next_attempt = time.monotonic() + self.retry_interval
        self._credentials = new
        if new is not None:
            log.debug("%r: new credentials %r", self, new)


# --- helpers: HTTP through s3lite's transport, JSON, timestamps ---------------------------------


#: Largest answer read from a credential endpoint (their documents are a few kilobytes).
_MAX_CREDENTIALS_BODY = 1024 * 1024


def _make_transport(
    *, connect_timeout: float, read_timeout: float, attempts: int, profile: str | None = None
) -> Transport:
    from . import config
    from .retries import RetryPolicy
    from .transport import Transport

    try:
        verify = config.ca_bundle(profile) or True
    except config.ConfigError as exc:
        raise CredentialSourceError(str(exc)) from None
    return Transport(
        max_pool_connections=4,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        verify=verify,
        retry=RetryPolicy(attempts, backoff_base=0.2, max_backoff=2.0),
    )


def _http(
    transport: Transport,
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    ok: Callable[[int], bool] | None = None,
    body: bytes | None = None,
    auth: Auth | None = None,
    error_parser: ErrorParser | None = None,
    direct: bool = False,
) -> Response:
    """One request to a credential endpoint through s3lite's transport (with its retries).

    `direct`: never through a proxy (instance and container metadata, whose tokens no proxy
    may see). The answer is a small document: a body over `_MAX_CREDENTIALS_BODY` bytes is
    refused while it is read (`MalformedResponse`)."""
    import hashlib
    from urllib.parse import urlsplit

    from .transport import Body, Request

    parts = urlsplit(url)
    request = Request(
        method,
        parts.scheme,
        parts.netloc,
        parts.path or "/",
        parts.query,
        headers={"Host": parts.netloc, **headers},
        body=Body(body),
        payload_hash=hashlib.sha256(body or b"").hexdigest(),
        direct=direct,
    )
    return transport.send(
        request, auth, ok=ok, error_parser=error_parser, max_body=_MAX_CREDENTIALS_BODY
    )


def _json_error(
    data: bytes, status: int
) -> tuple[str | None, str, str | None, str | None, str | None]:
    """(code, message) of a JSON error body ({"code": ..., "message": ...}) if it is one."""
    import json

    try:
        doc = json.loads(data)
    except ValueError:
        return None, "", None, None, None
    if not isinstance(doc, dict):
        return None, "", None, None, None
    code = doc.get("code") or doc.get("Code")
    message = doc.get("message") or doc.get("Message") or ""
    return (str(code)[:100] if code else None), str(message)[:300], None, None, None


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    import json

    try:
        doc = json.loads(data)
    except ValueError:  # also UnicodeDecodeError; never quote the document: it holds secrets
        raise CredentialSourceError(f"{what}: the response is not valid JSON") from None
    if not isinstance(doc, dict):
        raise CredentialSourceError(f"{what}: the response is not a JSON object")
    return doc


def _timestamp(value: object, what: str) -> float:
    from .errors import MalformedResponse
    from .s3xml import parse_timestamp

    if not isinstance(value, str) or not value.strip():
        raise CredentialSourceError(f"{what}: Expiration is not an ISO 8601 timestamp")
    try:
        parsed = parse_timestamp(value)
    except MalformedResponse:
        parsed = None
    if parsed is None:
        raise CredentialSourceError(f"{what}: unparseable Expiration {value[:40]!r}")
    return parsed.timestamp()


def _credentials_from(
    doc: Mapping[str, Any],
    what: str,
    *,
    session_field: str,
    expiration_required: bool,
) -> Credentials:
    """Credentials from a JSON document with AccessKeyId, SecretAccessKey, a token field
    and Expiration."""
    missing = [f for f in ("AccessKeyId", "SecretAccessKey") if not doc.get(f)]
    if expiration_required and not doc.get("Expiration"):
        missing.append("Expiration")
    if missing:
        raise CredentialSourceError(f"{what}: the response has no {', '.join(missing)}")
    key, secret, token = doc["AccessKeyId"], doc["SecretAccessKey"], doc.get(session_field)
    if not isinstance(key, str) or not isinstance(secret, str):
        raise CredentialSourceError(f"{what}: AccessKeyId and SecretAccessKey must be strings")
    if token is not None and not isinstance(token, str):
        raise CredentialSourceError(f"{what}: {session_field} must be a string")
    expiration = doc.get("Expiration")
    expires_at = _timestamp(expiration, what) if expiration else None
    return Credentials(key, secret, token or None, expires_at)


# --- STS: AssumeRole and AssumeRoleWithWebIdentity ----------------------------------------------

_STS_VERSION = "2011-06-15"


class _Sts:
    """A minimal STS Query API client on s3lite's transport (endpoint and region lazily)."""

    def __init__(
        self,
        *,
        region: str | None,
        endpoint_url: str | None,
        profile: str | None,
        transport: Transport | None,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.profile = profile
        self._transport = transport

    def _resolve(self) -> tuple[str, str]:
        """(signing region, endpoint URL)."""
        from . import config

        region = self.region or config.region(self.profile)
        endpoint = self.endpoint_url or config.endpoint_url("sts", self.profile)
        if not endpoint:
            if region:
                suffix = ".cn" if region.startswith("cn-") else ""
                endpoint = f"https://sts.{region}.amazonaws.com{suffix}"
            else:
                endpoint = "https://sts.amazonaws.com"  # the global endpoint signs as us-east-1
        return region or "us-east-1", endpoint.rstrip("/")

    def call(
        self, action: str, params: Mapping[str, str], source: CredentialsProvider | None, what: str
    ) -> Credentials:
        """Call `action` (signed with `source`'s credentials, or unsigned) and return the
        credentials in its result."""
        from urllib.parse import urlencode

        from . import s3xml
        from .config import ConfigError
        from .errors import ClientError, MalformedResponse, TransportError

        try:
            region, endpoint = self._resolve()
        except ConfigError as exc:
            raise CredentialSourceError(f"{what}: {exc}") from None
        if self._transport is None:
            self._transport = _make_transport(
                connect_timeout=5.0, read_timeout=15.0, attempts=3, profile=self.profile
            )
        auth = None
        if source is not None:
            from .signing import SigV4Auth

            if source.get() is None:
                raise CredentialSourceError(f"{what}: the source credentials are missing")
            auth = SigV4Auth(source, region, "sts")
        body = urlencode({"Action": action, "Version": _STS_VERSION, **params}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        try:
            response = _http(
                self._transport, "POST", endpoint + "/", headers, body=body, auth=auth,
                error_parser=s3xml.parse_error,
            )  # fmt: skip
            root = s3xml._root(response.data)
        except (ClientError, TransportError, MalformedResponse) as exc:
            raise CredentialSourceError(f"{what}: STS {action} failed: {exc}") from None
        node = root.find(f"{action}Result/Credentials")
        if node is None:
            node = root.find(".//Credentials")
        if node is None:
            raise CredentialSourceError(f"{what}: STS {action} returned no Credentials")
        doc = {child.tag: (child.text or "").strip() for child in node}
        return _credentials_from(
            doc, f"{what}: STS {action}", session_field="SessionToken", expiration_required=True
        )


def _session_name(name: str | None) -> str:
    return name or f"s3lite-{int(time.time())}"


class WebIdentityCredentials(RefreshingCredentials):
    """A role assumed with a web identity token (EKS IRSA, GitHub OIDC...): STS
    `AssumeRoleWithWebIdentity`, an unsigned call; the token file is re-read on each refresh.

    Without arguments, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN and AWS_ROLE_SESSION_NAME
    configure it (read when it runs); with neither set it has no credentials, with one of
    the two it is an error.
    """

    def __init__(
        self,
        role_arn: str | None = None,
        token_file: str | None = None,
        session_name: str | None = None,
        *,
        duration_seconds: int | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        transport: Transport | None = None,
        advisory_refresh: float | None = None,
        mandatory_refresh: float | None = None,
    ) -> None:
        super().__init__(advisory_refresh=advisory_refresh, mandatory_refresh=mandatory_refresh)
        self._from_env = role_arn is None and token_file is None
        if not self._from_env and (not role_arn or not token_file):
            raise ValueError("pass both role_arn and token_file, or neither (environment)")
        self.role_arn = role_arn
        self.token_file = token_file
        self.session_name = session_name
        self.duration_seconds = duration_seconds
        self._sts = _Sts(
            region=region, endpoint_url=endpoint_url, profile=profile, transport=transport
        )

    def _fetch(self) -> Credentials | None:
        role_arn, token_file, session_name = self.role_arn, self.token_file, self.session_name
        if self._from_env:
            role_arn = os.environ.get("AWS_ROLE_ARN") or None
            token_file = os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE") or None
            session_name = os.environ.get("AWS_ROLE_SESSION_NAME") or None
            if not role_arn and not token_file:
                self.unavailable = "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set"
                return None
            if not role_arn or not token_file:
                present, missing = (
                    ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")
                    if role_arn
                    else ("AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")
                )
                raise CredentialSourceError(f"{self!r}: {present} is set but {missing} is not")
        assert role_arn is not None and token_file is not None
        what = f"web identity for role {role_arn}"
        try:
            with open(os.path.expanduser(token_file), encoding="utf-8") as f:
                token = f.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise CredentialSourceError(
                f"{what}: cannot read the token file {token_file}: {reason or type(exc).__name__}"
            ) from None
        if not token:
            raise CredentialSourceError(f"{what}: the token file {token_file} is empty")
        params = {
            "RoleArn": role_arn,
            "RoleSessionName": _session_name(session_name),
            "WebIdentityToken": token,
        }
        if self.duration_seconds:
            params["DurationSeconds"] = str(self.duration_seconds)
        return self._sts.call("AssumeRoleWithWebIdentity", params, None, what)

    def __repr__(self) -> str:
        if self._from_env:
            return "WebIdentityCredentials(environment)"
        return f"WebIdentityCredentials(role_arn={self.role_arn!r}, token_file={self.token_file!r})"


class AssumeRoleCredentials(RefreshingCredentials):
    """A role assumed with STS `AssumeRole`, signed (SigV4, service `sts`) with the
    credentials of `source` (static keys, another role, a process...)."""

    def __init__(
        self,
        role_arn: str,
        source: CredentialsProvider,
        *,
        session_name: str | None = None,
        external_id: str | None = None,
        duration_seconds: int | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        transport: Transport | None = None,
        advisory_refresh: float | None = None,
        mandatory_refresh: float | None = None,
    ) -> None:
        super().__init__(advisory_refresh=advisory_refresh, mandatory_refresh=mandatory_refresh)
        if not role_arn:
            raise ValueError("role_arn must be a non-empty string")
        self.role_arn = role_arn
        self.source = source
        self.session_name = session_name
        self.external_id = external_id
        self.duration_seconds = duration_seconds
        self.profile = profile
        self._sts = _Sts(
            region=region, endpoint_url=endpoint_url, profile=profile, transport=transport
        )

    def _fetch(self) -> Credentials | None:
        params = {"RoleArn": self.role_arn, "RoleSessionName": _session_name(self.session_name)}
        if self.external_id:
            params["ExternalId"] = self.external_id
        if self.duration_seconds:
            params["DurationSeconds"] = str(self.duration_seconds)
        return self._sts.call("AssumeRole", params, self.source, f"assume role {self.role_arn}")

    def __repr__(self) -> str:
        profile = f", profile={self.profile!r}" if self.profile else ""
        return f"AssumeRoleCredentials(role_arn={self.role_arn!r}{profile}, source={self.source!r})"


# --- credential_process ---------------------------------------------------------------------


class ProcessCredentials(RefreshingCredentials):
    """Credentials printed by an external program (`credential_process`).

    The command is split with shlex and run without a shell; it must exit 0 and print JSON
    `{"Version": 1, "AccessKeyId": ..., "SecretAccessKey": ..., "SessionToken": ...,
    "Expiration": ...}` (the last two optional; without Expiration the credentials are
    kept until a service rejects them). Errors quote the program's name and the end of its
    stderr, never its output or its arguments.
    """

    def __init__(
        self,
        command: str,
        *,
        profile: str | None = None,
        timeout: float | None = None,
        advisory_refresh: float | None = None,
        mandatory_refresh: float | None = None,
    ) -> None:
        super().__init__(advisory_refresh=advisory_refresh, mandatory_refresh=mandatory_refresh)
        if not isinstance(command, str) or not command.strip():
            raise ValueError("credential_process needs a command")
        self._command = command
        self.profile = profile
        self.timeout = timeout

    @property
    def _program(self) -> str:
        return self._command.split(None, 1)[0].strip("'\"")

    def _fetch(self) -> Credentials | None:
        import shlex
        import subprocess

        where = f" of profile {self.profile!r}" if self.profile else ""
        what = f"credential_process{where} (program {self._program!r})"
        try:
            argv = shlex.split(self._command, posix=os.name != "nt")
        except ValueError:
            raise CredentialSourceError(
                f"{what}: the command line cannot be split (unbalanced quotes?)"
            ) from None
        if not argv:
            raise CredentialSourceError(f"{what}: the command is empty")
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError:
            raise CredentialSourceError(f"{what}: program not found") from None
        except subprocess.TimeoutExpired:
            raise CredentialSourceError(f"{what}: no answer within {self.timeout} s") from None
        except OSError as exc:
            raise CredentialSourceError(
                f"{what}: cannot run it: {exc.strerror or type(exc).__name__}"
            ) from None
        if done.returncode != 0:
            stderr = done.stderr.decode("utf-8", "replace").strip().splitlines()
            detail = f": {stderr[-1][:300]}" if stderr else ""
            raise CredentialSourceError(f"{what}: exited with status {done.returncode}{detail}")
        doc = _json_object(done.stdout, f"{what}: output")
        if doc.get("Version") != 1:
            raise CredentialSourceError(f"{what}: the output is not Version 1")
        return _credentials_from(doc, what, session_field="SessionToken", expiration_required=False)

    def __repr__(self) -> str:
        profile = f", profile={self.profile!r}" if self.profile else ""
        return f"ProcessCredentials(program={self._program!r}{profile})"


# --- container credentials (ECS task roles, EKS Pod Identity) -----------------------------------

_ECS_HOST = "169.254.170.2"
_CONTAINER_HOSTS = frozenset({"169.254.170.2", "169.254.170.23", "fd00:ec2::23"})


def _allowed_container_url(url: str) -> bool:
    """https anywhere; http only to loopback or the ECS/EKS link-local agents."""
    import ipaddress
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    if parts.scheme != "http" or not parts.hostname:
        return False
    host = parts.hostname
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)
        except OSError:
            return False
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    return bool(addresses) and all(a.is_loopback or str(a) in _CONTAINER_HOSTS for a in addresses)


class ContainerCredentials(RefreshingCredentials):
    """Credentials from the container credentials endpoint (ECS task roles, EKS Pod Identity).

    Without arguments: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on http://169.254.170.2), else
    AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to loopback / the ECS and EKS agents);
    the Authorization header comes from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read on
    each refresh), else AWS_CONTAINER_AUTHORIZATION_TOKEN.
    """

    def __init__(
        self,
        full_uri: str | None = None,
        *,
        auth_token: str | None = None,
        auth_token_file: str | None = None,
        transport: Transport | None = None,
        timeout: float = 2.0,
        attempts: int = 3,
        advisory_refresh: float | None = None,
        mandatory_refresh: float | None = None,
    ) -> None:
        super().__init__(advisory_refresh=advisory_refresh, mandatory_refresh=mandatory_refresh)
        self._full_uri = full_uri
        self._auth_token = auth_token
        self._auth_token_file = auth_token_file
        self._transport = transport
        self._timeout = timeout
        self._attempts = attempts

    def _endpoint(self) -> tuple[str, str | None, str | None] | None:
        """(url, token, token file), or None when not configured."""
        if self._full_uri is not None:
            return self._full_uri, self._auth_token, self._auth_token_file
        env = os.environ
        relative = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        if relative:
            url = f"http://{_ECS_HOST}{relative if relative.startswith('/') else '/' + relative}"
        else:
            url = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") or ""
            if not url:
                return None
        return (
            url,
            env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN") or None,
            env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") or None,
        )

    def _fetch(self) -> Credentials | None:
        from urllib.parse import urlsplit

        from .errors import ClientError, MalformedResponse, TransportError

        endpoint = self._endpoint()
        if endpoint is None:
            self.unavailable = (
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI "
                "are not set"
            )
            return None
        url, token, token_file = endpoint
        host = urlsplit(url).netloc
        what = f"container credentials from {host}"
        is_ecs = url == f"http://{_ECS_HOST}" or url.startswith(f"http://{_ECS_HOST}/")
        if not is_ecs and not _allowed_container_url(url):
            raise CredentialSourceError(
                f"{what}: the full URI must be https, or http to a loopback address or "
                "the ECS/EKS agent (169.254.170.2, 169.254.170.23, fd00:ec2::23)"
            )
        if token_file:
            try:
                with open(os.path.expanduser(token_file), encoding="utf-8") as f:
                    token = f.read().strip()
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                raise CredentialSourceError(
                    f"{what}: cannot read the authorization token file {token_file}: "
                    f"{reason or type(exc).__name__}"
                ) from None
        headers = {"Accept": "application/json"}
        if token:
            if "\r" in token or "\n" in token:
                raise CredentialSourceError(f"{what}: the authorization token has a line break")
            headers["Authorization"] = token
        if self._transport is None:
            self._transport = _make_transport(
                connect_timeout=self._timeout, read_timeout=self._timeout,
                attempts=self._attempts,
            )  # fmt: skip
        try:
            response = _http(
                self._transport, "GET", url, headers, error_parser=_json_error, direct=True
            )
        except (ClientError, TransportError, MalformedResponse) as exc:
            raise CredentialSourceError(f"{what}: {_brief(exc)}") from None
        doc = _json_object(response.data, what)
        return _credentials_from(doc, what, session_field="Token", expiration_required=False)

    def __repr__(self) -> str:
        if self._full_uri is None:
            return "ContainerCredentials(environment)"
        from urllib.parse import urlsplit

        return f"ContainerCredentials(host={urlsplit(self._full_uri).netloc!r})"


def _brief(exc: Exception) -> str:
    """An HTTP error without the request path (which may carry a credential id)."""
    from .errors import ClientError

    if isinstance(exc, ClientError):
        return f"HTTP {exc.status} {exc.code}" + (f": {exc.message}" if exc.message else "")
    return str(exc)


# --- EC2 instance metadata (IMDSv2) ------------------------------------------------------------

_IMDS_ENDPOINT = "http://169.254.169.254"
_IMDS_ENDPOINT_V6 = "http://[fd00:ec2::254]"
_IMDS_ROLE_PATH = "/latest/meta-data/iam/security-credentials/"


class InstanceMetadataCredentials(RefreshingCredentials):
    """The EC2 instance's role credentials from the instance metadata service (IMDSv2).

    `PUT /latest/api/token` (TTL header) for a session token, then the role name and its
    credentials with the token; if the token request is answered 404/405 (an old IMDS), the
    plain IMDSv1 requests are used unless AWS_EC2_METADATA_V1_DISABLED=true. Endpoint: the
    argument, AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6,
    else http://169.254.169.254. AWS_EC2_METADATA_DISABLED=true turns the default one off.
    Timeouts are short (1 s) and attempts few: it is the chain's last resort, and not on EC2
    it finds nothing.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        token_ttl: int = 21600,
        timeout: float = 1.0,
        attempts: int = 2,
        transport: Transport | None = None,
        advisory_refresh: float | None = None,
        mandatory_refresh: float | None = None,
    ) -> None:
        super().__init__(advisory_refresh=advisory_refresh, mandatory_refresh=mandatory_refresh)
        self._endpoint = endpoint
        self.token_ttl = token_ttl
        self._timeout = timeout
        self._attempts = attempts
        self._transport = transport

    def _resolve_endpoint(self) -> str | None:
        from . import config

        if self._endpoint is not None:
            return self._endpoint.rstrip("/")
        env = os.environ
        if config._true(env.get("AWS_EC2_METADATA_DISABLED")):
            self.unavailable = "disabled by AWS_EC2_METADATA_DISABLED"
            return None
        endpoint = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        if not endpoint:
            mode = (env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE") or "").lower()
            endpoint = _IMDS_ENDPOINT_V6 if mode == "ipv6" else _IMDS_ENDPOINT
        return endpoint.rstrip("/")

    def _fetch(self) -> Credentials | None:
        from urllib.parse import quote

        from . import config
        from .errors import ClientError, MalformedResponse, TransportError

        endpoint = self._resolve_endpoint()
        if endpoint is None:
            return None
        if self._transport is None:
            self._transport = _make_transport(
                connect_timeout=self._timeout, read_timeout=self._timeout,
                attempts=self._attempts,
            )  # fmt: skip
        transport = self._transport
        what = f"instance metadata at {endpoint}"
        # 1. the session token (IMDSv2)
        try:
            response = _http(
                transport, "PUT", endpoint + "/latest/api/token",
                {"X-aws-ec2-metadata-token-ttl-seconds": str(self.token_ttl)},
                ok=lambda status: status < 500, direct=True,
            )  # fmt: skip
        except MalformedResponse as exc:
            raise CredentialSourceError(f"{what}: {exc}") from None
        except (ClientError, TransportError) as exc:
            self.unavailable = f"no instance metadata service at {endpoint} ({_brief(exc)})"
            return None
        headers: dict[str, str] = {}
        if response.status == 200:
            token = response.data.decode("ascii", "replace").strip()
            if not token or "\r" in token or "\n" in token:
                raise CredentialSourceError(f"{what}: the token response is malformed")
            headers["X-aws-ec2-metadata-token"] = token
        elif response.status in (404, 405) and not config._true(
            os.environ.get("AWS_EC2_METADATA_V1_DISABLED")
        ):
            log.debug("%s: no IMDSv2 token (HTTP %d), using IMDSv1", what, response.status)
        else:
            self.unavailable = f"{what} refused a session token (HTTP {response.status})"
            return None
        # 2. the role name, 3. its credentials
        try:
            response = _http(
                transport, "GET", endpoint + _IMDS_ROLE_PATH, headers,
                ok=lambda status: 200 <= status < 300 or status == 404, direct=True,
            )  # fmt: skip
            if response.status == 404:
                self.unavailable = f"{what}: no IAM role is attached to this instance"
                return None
            lines = response.data.decode("utf-8", "replace").split()
            if not lines:
                self.unavailable = f"{what}: no IAM role is attached to this instance"
                return None
            role = lines[0]
            what = f"{what} (role {role!r})"
            response = _http(
                transport, "GET", endpoint + _IMDS_ROLE_PATH + quote(role), headers, direct=True
            )
        except (ClientError, TransportError, MalformedResponse) as exc:
            raise CredentialSourceError(f"{what}: {_brief(exc)}") from None
        doc = _json_object(response.data, what)
        code = doc.get("Code", "Success")
        if code != "Success":
            raise CredentialSourceError(f"{what}: the credentials response says {str(code)[:60]!r}")
        return _credentials_from(doc, what, session_field="Token", expiration_required=False)

    def __repr__(self) -> str:
        if self._endpoint is None:
            return "InstanceMetadataCredentials()"
        return f"InstanceMetadataCredentials(endpoint={self._endpoint!r})"


# --- the shared credentials and config files ---------------------------------------------------

_SSO_KEYS = ("sso_session", "sso_start_url", "sso_account_id", "sso_role_name")


def _static_from(settings: Mapping[str, str], name: str) -> Credentials | None:
    key = settings.get("aws_access_key_id")
    secret = settings.get("aws_secret_access_key")
    if not key and not secret:
        return None
    if not key or not secret:
        present, missing = (
            ("aws_access_key_id", "aws_secret_access_key")
            if key
            else ("aws_secret_access_key", "aws_access_key_id")
        )
        raise CredentialSourceError(f"profile {name!r} has {present} but no {missing}")
    return Credentials(key, secret, settings.get("aws_session_token") or None)


def _duration(settings: Mapping[str, str], name: str) -> int | None:
    value = settings.get("duration_seconds")
    if not value:
        return None
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if not 900 <= seconds <= 43200:
        raise CredentialSourceError(
            f"profile {name!r}: duration_seconds must be a whole number from 900 to 43200"
        )
    return seconds


def _profile_provider(
    shared: SharedConfig,
    name: str,
    visited: tuple[str, ...],
    transport: Transport | None,
) -> CredentialsProvider | None:
    """The provider a profile describes, following source_profile chains; None when the
    profile has no credential settings."""
    settings = shared.profile(name)
    if settings is None:
        raise CredentialSourceError(
            f"profile {visited[-1]!r} names source_profile {name!r}, which is not in "
            f"{shared.describe()}"
        )
    role_arn = settings.get("role_arn")
    if role_arn:
        if settings.get("mfa_serial"):
            raise CredentialSourceError(
                f"profile {name!r}: roles that need an MFA code (mfa_serial) are not supported"
            )
        source_profile = settings.get("source_profile")
        credential_source = settings.get("credential_source")
        token_file = settings.get("web_identity_token_file")
        if source_profile and credential_source:
            raise CredentialSourceError(
                f"profile {name!r} has both source_profile and credential_source"
            )
        options: dict[str, Any] = {
            "session_name": settings.get("role_session_name") or None,
            "duration_seconds": _duration(settings, name),
            "profile": name,
            "transport": transport,
        }
        if source_profile or credential_source:
            source: CredentialsProvider | None
            if source_profile == name:
                static = _static_from(settings, name)
                if static is None:
                    raise CredentialSourceError(
                        f"profile {name!r} is its own source_profile but has no "
                        "aws_access_key_id/aws_secret_access_key"
                    )
                source = StaticCredentials(static)
            elif source_profile:
                if source_profile in visited or source_profile == name:
                    loop = " -> ".join((*visited, name, source_profile))
                    raise CredentialSourceError(f"source_profile loop: {loop}")
                source = _profile_provider(shared, source_profile, (*visited, name), transport)
                if source is None:
                    raise CredentialSourceError(
                        f"profile {name!r}: its source_profile {source_profile!r} has no "
                        "credentials"
                    )
            else:
                assert credential_source is not None
                source = _credential_source(credential_source, name)
            return AssumeRoleCredentials(
                role_arn, source, external_id=settings.get("external_id") or None, **options
            )
        if token_file:
            return WebIdentityCredentials(role_arn, token_file, **options)
        raise CredentialSourceError(
            f"profile {name!r} has role_arn but no source_profile, credential_source or "
            "web_identity_token_file"
        )
    static = _static_from(settings, name)
    if static is not None:
        return StaticCredentials(static)
    command = settings.get("credential_process")
    if command:
        return ProcessCredentials(command, profile=name)
    if any(settings.get(k) for k in _SSO_KEYS):
        raise CredentialSourceError(
            f"profile {name!r} uses IAM Identity Center (SSO), which s3lite does not support; "
            f"set `credential_process = aws configure export-credentials --profile {name} "
            "--format process` in another profile and use that one"
        )
    return None


def _credential_source(value: str, name: str) -> CredentialsProvider:
    if value == "Environment":
        return _Required(EnvironmentCredentials(), f"profile {name!r}: credential_source")
    if value == "EcsContainer":
        return _Required(ContainerCredentials(), f"profile {name!r}: credential_source")
    if value == "Ec2InstanceMetadata":
        return _Required(InstanceMetadataCredentials(), f"profile {name!r}: credential_source")
    raise CredentialSourceError(
        f"profile {name!r}: credential_source must be Environment, EcsContainer or "
        f"Ec2InstanceMetadata, not {value[:40]!r}"
    )


class _Required:
    """A provider whose missing credentials are an error (a role's credential_source)."""

    def __init__(self, provider: CredentialsProvider, what: str) -> None:
        self.provider = provider
        self.what = what

    def get(self) -> Credentials:
        creds = self.provider.get()
        if creds is None:
            reason = getattr(self.provider, "unavailable", None) or "no credentials"
            raise CredentialSourceError(f"{self.what} {self.provider!r}: {reason}")
        return creds

    def refresh(self) -> None:
        refresh = getattr(self.provider, "refresh", None)
        if callable(refresh):
            refresh()

    def __repr__(self) -> str:
        return repr(self.provider)


class ProfileCredentials:
    """The credentials a profile of the shared files describes: static keys, a role assumed
    from a source profile / credential_source / web identity token file (chains followed,
    loops refused), or `credential_process`.

    The profile is the argument, else AWS_PROFILE, else `default`. A profile named
    explicitly (argument or AWS_PROFILE) must exist; a missing `default` profile, or one
    without credential settings, just has no credentials. The files are read on first use.
    """

    def __init__(self, profile: str | None = None, *, transport: Transport | None = None) -> None:
        self.profile = profile
        self._transport = transport
        self._delegate: CredentialsProvider | None = None
        self._lock = threading.Lock()
        self.unavailable: str | None = None

    def _resolve(self) -> CredentialsProvider | None:
        from . import config

        name = config.profile_name(self.profile)
        explicit = name != "default" or self.profile is not None
        try:
            shared = config.load()
        except config.ConfigError as exc:
            raise CredentialSourceError(f"{self!r}: {exc}") from None
        if not shared.has_profile(name):
            if explicit:
                raise CredentialSourceError(f"profile {name!r} not found in {shared.describe()}")
            self.unavailable = f"no profile {name!r} in {shared.describe()}"
            return None
        provider = _profile_provider(shared, name, (), self._transport)
        if provider is None:
            self.unavailable = f"profile {name!r} has no credentials"
        return provider

    def get(self) -> Credentials | None:
        delegate = self._delegate
        if delegate is None:
            with self._lock:
                if self._delegate is None:
                    self._delegate = self._resolve()
                    if self._delegate is None:
                        return None
                delegate = self._delegate
        return delegate.get()

    def refresh(self) -> None:
        refresh = getattr(self._delegate, "refresh", None)
        if callable(refresh):
            refresh()

    def __repr__(self) -> str:
        if self._delegate is not None:
            return f"ProfileCredentials({self.profile!r}, using={self._delegate!r})"
        return f"ProfileCredentials({self.profile!r})" if self.profile else "ProfileCredentials()"


# --- the chain -----------------------------------------------------------------------------


class ChainProvider:
    """The first provider in a list that has credentials; looked up once, on first use.

    A provider that is configured but broken (raises `CredentialSourceError`) stops the
    lookup: the error names it and the sources tried before it. When none has credentials,
    `NoCredentialsError` names every source tried and why each had none.
    """

    def __init__(self, providers: list[CredentialsProvider]) -> None:
        self._providers = providers
        self._found: CredentialsProvider | None = None
        self._lock = threading.Lock()

    @property
    def provider(self) -> CredentialsProvider | None:
        """The provider that had credentials (None before the first lookup)."""
        return self._found

    def get(self) -> Credentials | None:
        found = self._found
        if found is None:
            with self._lock:
                if self._found is None:
                    return self._lookup()
                found = self._found
        return found.get()

    def _lookup(self) -> Credentials:
        tried: list[str] = []
        for provider in self._providers:
            try:
                creds = provider.get()
            except CredentialSourceError as exc:
                before = f" (tried before it: {'; '.join(tried)})" if tried else ""
                raise CredentialSourceError(f"{exc}{before}") from None
            if creds is not None:
                self._found = provider
                log.debug("credentials from %r", provider)
                return creds
            reason = getattr(provider, "unavailable", None)
            tried.append(f"{provider!r}: {reason}" if reason else repr(provider))
        raise NoCredentialsError(
            f"no credentials found; tried: {'; '.join(tried)}. Pass access_key_id and "
            "access_key, or anonymous=True for public buckets"
        )

    def refresh(self) -> None:
        """Refresh the provider in use (after the service called its credentials expired)."""
        refresh = getattr(self._found, "refresh", None)
        if callable(refresh):
            refresh()

    def __repr__(self) -> str:
        if self._found is not None:
            return f"ChainProvider(using={self._found!r})"
        return f"ChainProvider({self._providers!r})"


def default_provider(profile: str | None = None) -> ChainProvider:
    """The chain a session without explicit keys uses.

    Environment keys, web identity from the environment, the profile (`profile`, else
    AWS_PROFILE, else `default`), container credentials, EC2 instance metadata. A profile
    passed explicitly replaces the environment sources: its credentials win.
    """
    providers: list[CredentialsProvider] = []
    if profile is None:
        providers += [EnvironmentCredentials(), WebIdentityCredentials()]
    providers += [
        ProfileCredentials(profile),
        ContainerCredentials(),
        InstanceMetadataCredentials(),
    ]
    return ChainProvider(providers)
