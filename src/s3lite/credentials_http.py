"""Requests to credential endpoints (STS, container and instance metadata) through s3lite's
transport, with its retries, and their error bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .credentials_base import CredentialSourceError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from .response import Response
    from .transport import Auth, ErrorParser, Transport

__all__ = ["brief_error", "credentials_transport", "endpoint_request", "json_error"]

#: Largest answer read from a credential endpoint (their documents are a few kilobytes).
_MAX_CREDENTIALS_BODY = 1024 * 1024


def credentials_transport(
    *, connect_timeout: float, read_timeout: float, attempts: int, profile: str | None = None
) -> Transport:
    """A small transport of its own for a credential source (its CA bundle from `profile`)."""
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


def endpoint_request(
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


def json_error(
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


def brief_error(exc: Exception) -> str:
    """An HTTP error without the request path (which may carry a credential id)."""
    from .errors import ClientError

    if isinstance(exc, ClientError):
        return f"HTTP {exc.status} {exc.code}" + (f": {exc.message}" if exc.message else "")
    return str(exc)
