"""Checks and encodings of the arguments both backends take (dates, ranges, ETags, page
sizes, endpoints, session options, presign lifetimes), each written once.

Every check raises TypeError/ValueError naming the argument and what was wrong with it.
"""

from __future__ import annotations

import datetime as _dt
import re
import time
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

__all__ = [
    "MAX_PRESIGN_SECONDS",
    "check_endpoint",
    "check_session_args",
    "http_date",
    "netloc_key",
    "page_size",
    "parse_http_date",
    "presign_seconds",
    "query_fields",
    "quoted_etag",
    "range_header",
]

#: The longest a presigned URL may live: 7 days (SigV4's limit; B2's too).
MAX_PRESIGN_SECONDS = 7 * 24 * 3600

_REGION_RE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"


def http_date(value: _dt.datetime | str) -> str:
    """An HTTP date (`Expires`, `If-Modified-Since`) from an aware datetime; strings pass."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware (e.g. datetime.now(timezone.utc))")
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", value.utctimetuple())


def parse_http_date(value: str | None) -> float | None:
    """Seconds since the epoch of an HTTP date header, or None if absent or unreadable."""
    if not value:
        return None
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def quoted_etag(etag: str) -> str:
    """An ETag as conditional headers carry it: quoted, unless weak or `*`."""
    return etag if etag.startswith(('"', "W/")) or etag == "*" else f'"{etag}"'


def range_header(start: int | None, end: int | None) -> str | None:
    """`bytes=start-end` of the inclusive range (None when neither end is given)."""
    if start is None and end is None:
        return None
    for name, value in (("range_start", start), ("range_end", end)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise TypeError(f"{name} must be an int")
        if value is not None and value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")
    first = start or 0
    if end is not None and end < first:
        raise ValueError(f"range_end ({end}) is before range_start ({first})")
    return f"bytes={first}-{'' if end is None else end}"


def page_size(max_keys: object, size: object, most: int, default: int | None = None) -> int:
    """The listing page size from `max_keys` or its alias `page_size` (1..`most`)."""
    if max_keys is not None and size is not None and max_keys != size:
        raise ValueError("max_keys and page_size are the same setting (the page size); pass one")
    value = max_keys if max_keys is not None else size
    if value is None:
        return default or most
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_keys (the page size) must be an int >= 1, got {value!r}")
    return min(value, most)


def presign_seconds(expires_in: object) -> int:
    """`expires_in` (seconds, or a `datetime.timedelta`) as whole seconds, checked to be
    1 s .. 7 days; TypeError/ValueError naming the problem otherwise."""
    if isinstance(expires_in, _dt.timedelta):
        seconds: float = expires_in.total_seconds()
    elif isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
        seconds = expires_in
    else:
        raise TypeError(
            "expires_in must be seconds (int) or a datetime.timedelta, "
            f"not {type(expires_in).__name__}"
        )
    if not seconds > 0:
        raise ValueError(f"expires_in must be positive (1 second to 7 days), got {expires_in!r}")
    if seconds > MAX_PRESIGN_SECONDS:
        raise ValueError(
            f"expires_in must be at most 7 days ({MAX_PRESIGN_SECONDS} seconds), got {expires_in!r}"
        )
    if seconds != int(seconds):
        raise ValueError(f"expires_in must be a whole number of seconds, got {expires_in!r}")
    return int(seconds)


def check_endpoint(value: object, name: str) -> None:
    """An `http(s)://host[:port]` URL, or a bare host[:port]; never a region name or a path."""
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name} must be a URL string, not {type(value).__name__}")
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{name} must be http(s)://host[:port], got {value!r}")
        return
    host = value.split("/", 1)[0]
    if re.match(_REGION_RE, host) and host != "localhost":
        raise ValueError(
            f"{name}={value!r} is not a URL (is it a region? The 4th positional argument is "
            "endpoint_url, the 5th region, as in s3func; pass region=... by keyword)"
        )
    if not host or " " in value:
        raise ValueError(f"{name} must be http(s)://host[:port], got {value!r}")


def _positive(name: str, value: object, kind: type | tuple[type, ...]) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:  # type: ignore[operator]
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def check_session_args(
    *,
    region: object,
    max_pool_connections: object,
    max_attempts: object,
    retry_mode: object,
    read_timeout: object,
    stream: object,
    connect_timeout: object,
) -> None:
    """Type and range checks shared by S3Session and B2Session, naming the bad argument."""
    if region is not None and (not isinstance(region, str) or not re.match(_REGION_RE, region)):
        url = isinstance(region, str) and "/" in region
        hint = " (a URL belongs in endpoint_url)" if url else ""
        raise ValueError(f"region must be a region name such as 'us-east-1', got {region!r}{hint}")
    _positive("max_pool_connections", max_pool_connections, int)
    if max_attempts is not None:  # None: from the environment or the profile
        _positive("max_attempts", max_attempts, int)
    if retry_mode is not None and retry_mode not in ("standard", "adaptive", "legacy"):
        raise ValueError(f"retry_mode must be 'standard' or 'adaptive', got {retry_mode!r}")
    _positive("read_timeout", read_timeout, (int, float))
    _positive("connect_timeout", connect_timeout, (int, float))
    if not isinstance(stream, bool):
        raise TypeError(f"stream must be True or False, got {stream!r}")


def netloc_key(scheme: str, netloc: str) -> str:
    """host[:port] without the scheme's default port, for comparing endpoints."""
    default = ":443" if scheme == "https" else ":80"
    return netloc[: -len(default)] if netloc.endswith(default) else netloc


def query_fields(
    fields: Mapping[str, str | int | None] | Iterable[tuple[str, str]] | None,
) -> list[tuple[str, str]]:
    """Query parameters from a mapping or pairs; None or "" is a bare name (`?tagging`)."""
    if fields is None:
        return []
    pairs = fields.items() if isinstance(fields, Mapping) else fields
    out: list[tuple[str, str]] = []
    for name, raw in pairs:
        if not isinstance(name, str) or not name:
            raise ValueError(f"query parameter names must be non-empty str, got {name!r}")
        if raw is None:
            value = ""
        elif isinstance(raw, int) and not isinstance(raw, bool):
            value = str(raw)
        elif isinstance(raw, str):
            value = raw
        else:
            raise TypeError(f"query parameter {name!r} must be a str, int or None")
        out.append((name, value))
    return out
