"""What both transports (urllib3 and asyncio) decide the same way, written once: the error an
error answer becomes, how long Retry-After asks to wait, which proxy serves a host (never a
metadata address), which TLS failures are worth a retry.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

from .arguments import parse_http_date
from .errors import ClientError, S3LiteError, error_class_for

__all__ = [
    "STATUS_CODES",
    "ErrorParser",
    "client_error",
    "is_metadata_address",
    "is_transient_ssl",
    "parse_retry_after",
    "proxy_for",
]

#: Reads an error body: (code, message, request id, resource, host id).
ErrorParser = Callable[[bytes, int], tuple[str | None, str, str | None, str | None, str | None]]

#: The AWS instance metadata and container credential agents' IPv6 addresses (IPv4 ones are
#: link-local, 169.254.0.0/16).
_METADATA_V6 = frozenset({"fd00:ec2::23", "fd00:ec2::254"})


def is_metadata_address(hostname: str) -> bool:
    """Whether a host is a link-local address (IPv4 169.254/16, IPv6 fe80::/10) or an AWS
    metadata / container credentials agent (fd00:ec2::23, fd00:ec2::254): no proxy can
    reach these, and none may see what is asked of them."""
    import ipaddress

    try:
        address = ipaddress.ip_address(hostname.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return address.is_link_local or str(address) in _METADATA_V6


#: The error code an error answer without a parseable body stands for.
STATUS_CODES = {
    301: "PermanentRedirect",
    304: "NotModified",
    307: "TemporaryRedirect",
    400: "BadRequest",
    401: "Unauthorized",
    403: "AccessDenied",
    404: "NoSuchKey",
    405: "MethodNotAllowed",
    408: "RequestTimeout",
    409: "Conflict",
    412: "PreconditionFailed",
    416: "InvalidRange",
    429: "TooManyRequests",
    500: "InternalError",
    501: "NotImplemented",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header (seconds or an HTTP date) asks to wait."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def client_error(
    status: int,
    reason: str,
    headers: Mapping[str, str],
    data: bytes,
    parser: ErrorParser | None,
    resource: str,
) -> ClientError:
    """The typed error for an error answer: code and message from the body when the backend's
    `parser` reads them, else from the status."""
    code: str | None = None
    message = ""
    request_id = headers.get("x-amz-request-id")
    found_resource = host_id = None
    if data and parser is not None:
        try:
            code, message, rid, found_resource, host_id = parser(data, status)
            request_id = rid or request_id
        except S3LiteError as exc:
            message = f"unparseable error body ({exc})"
    if not code:
        code = STATUS_CODES.get(status, f"HTTP{status}")
        if not message:
            message = reason
    cls = error_class_for(status, code)
    return cls(
        status,
        code,
        message,
        request_id=request_id,
        resource=found_resource or resource,
        host_id=host_id,
        retry_after=parse_retry_after(headers.get("retry-after")),
        server_date=parse_http_date(headers.get("date")),
    )


def proxy_for(scheme: str, host: str) -> str | None:
    """The proxy URL from HTTPS_PROXY/HTTP_PROXY for this host, unless NO_PROXY excludes it
    (never one for a metadata or link-local address)."""
    env = os.environ
    proxy = env.get(f"{scheme}_proxy") or env.get(f"{scheme.upper()}_PROXY")
    if not proxy:
        return None
    no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    hostname = hostname.strip("[]").lower()
    if is_metadata_address(hostname):
        return None
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return None
        entry_host = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry
        entry_host = entry_host.lstrip("*").lstrip(".")  # ".corp" and "*.corp" alike
        if hostname == entry_host or hostname.endswith("." + entry_host):
            return None
    return proxy


def is_transient_ssl(exc: BaseException) -> bool:
    """A TLS failure caused by the connection dropping (retry) rather than by a bad cert."""
    text = str(exc)
    return "EOF" in text or "reset" in text.lower()
