"""tinys3's and minis3's arguments in s3lite's terms: endpoints, cache lifetimes, header and
metadata spellings, listing entries."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_ENDPOINT",
    "ENTITY_HEADERS",
    "ONE_YEAR",
    "configured_endpoint",
    "either_spelling",
    "endpoint_and_region",
    "is_seekable",
    "list_item",
    "lower_headers",
    "max_age",
    "split_metadata",
]

DEFAULT_ENDPOINT = "s3.amazonaws.com"
#: `expires='max'`: cacheable for a year.
ONE_YEAR = 365 * 24 * 3600
#: Headers of an object (besides Content-Type) that a metadata update keeps unless given.
ENTITY_HEADERS = (
    "cache-control", "content-disposition", "content-encoding", "content-language", "expires",
)  # fmt: skip
#: s3.REGION.amazonaws.com, s3-REGION.amazonaws.com, s3.dualstack.REGION.amazonaws.com
_AWS_REGION_HOST = re.compile(r"^s3[.-](?:dualstack\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com$")


def either_spelling(name: str, value: Any, alias: str, alias_value: Any) -> Any:
    """One setting spelled two ways (tinys3 `ssl`/`default`, minis3 `tls`/`default_bucket`)."""
    if value is not None and alias_value is not None and value != alias_value:
        raise ValueError(f"{name}={value!r} and {alias}={alias_value!r} disagree; pass one")
    return value if value is not None else alias_value


def endpoint_and_region(
    endpoint: str, tls: bool | None, region: str | None
) -> tuple[str, str | None]:
    """(endpoint URL, signing region) from a bare `host[:port]` (scheme from `tls`) or a URL."""
    if not isinstance(endpoint, str) or not endpoint:
        raise TypeError(f"endpoint must be a host[:port] or a URL, got {endpoint!r}")
    if "://" in endpoint:
        https = endpoint.split("://", 1)[0].lower() == "https"
        if tls is not None and bool(tls) != https:
            raise ValueError(f"endpoint {endpoint!r} contradicts tls={tls!r}")
        url = endpoint
    else:
        if endpoint == DEFAULT_ENDPOINT and region:
            endpoint = f"s3.{region}.amazonaws.com"
        url = f"{'http' if tls is False else 'https'}://{endpoint}"
    if region is None:
        match = _AWS_REGION_HOST.match(urlsplit(url).hostname or "")
        region = match.group(1) if match else None
    return url, region


def configured_endpoint(profile: str | None) -> str | None:
    """The endpoint S3Session would use when none is given (environment, then profile)."""
    from . import config

    return config.endpoint_url("s3", profile)


def max_age(expires: int | str | _dt.timedelta) -> int:
    """Seconds of caching for tinys3's `expires`: seconds, 'max' (a year) or a timedelta."""
    if expires == "max":
        return ONE_YEAR
    if isinstance(expires, _dt.timedelta):
        seconds = int(expires.total_seconds())
    elif isinstance(expires, int) and not isinstance(expires, bool):
        seconds = expires
    else:
        raise TypeError(f"expires must be seconds, 'max' or a timedelta, not {expires!r}")
    if seconds < 0:
        raise ValueError(f"expires must not be negative, got {expires!r}")
    return seconds


def lower_headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """Headers keyed by lower-case name, so a caller's spelling never doubles a header."""
    out: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"header {name!r}: names and values must be str, got {value!r}")
        out[name.lower()] = value
    return out


def split_metadata(metadata: Mapping[str, Any] | None) -> tuple[dict[str, str], dict[str, str]]:
    """tinys3's `metadata` dict as (user metadata, headers).

    `x-amz-meta-NAME` and plain names are user metadata; `Content-Type`, the other standard
    object headers and any other `x-amz-*` header (storage class, ACL, encryption) are headers.
    """
    user: dict[str, str] = {}
    headers: dict[str, str] = {}
    for name, value in lower_headers(metadata).items():
        if name.startswith("x-amz-meta-"):
            user[name[len("x-amz-meta-") :]] = value
        elif name == "content-type" or name in ENTITY_HEADERS or name.startswith("x-amz-"):
            headers[name] = value
        else:
            user[name] = value
    return user, headers


def list_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A listing entry as tinys3/minis3 gave it (last_modified naive UTC, as they parsed it)."""
    modified = item.get("upload_timestamp")
    if modified is not None:
        modified = modified.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return {
        "key": item["key"],
        "size": item["content_length"],
        "last_modified": modified,
        "etag": item["etag"],
        "storage_class": item.get("storage_class") or "STANDARD",
    }


def is_seekable(f: Any) -> bool:
    """Whether a file object can seek (False for pipes, sockets and what has no `seekable`)."""
    try:
        return bool(f.seekable())
    except (AttributeError, OSError, ValueError):
        return False
