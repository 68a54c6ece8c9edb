"""B2's native API as data: its limits, argument checks, request building and reply parsing.

Everything here is pure (no I/O, no shared state): the operations in the other `b2_*`
modules build their requests and read their answers with it, whichever driver sends them.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote_plus, urlsplit

from .errors import ClientError, MalformedResponse, NoSuchUpload
from .operation import Call
from .response import Dialect, Response
from .transport import Body, Request

if TYPE_CHECKING:
    from .listing import ObjectInfo

__all__ = [
    "API_VERSION",
    "B2_DIALECT",
    "DEFAULT_API_URL",
    "IDEMPOTENT_CALLS",
    "MAX_AUTH_AGE",
    "MAX_INFO_BYTES",
    "MAX_INFO_ENTRIES",
    "MAX_JSON_BYTES",
    "MAX_KEY_BYTES",
    "MAX_UPLOAD_BYTES",
    "Account",
    "api_call",
    "apply_file",
    "content_type_of",
    "encode_name",
    "etag_of",
    "file_info",
    "fix_etag",
    "json_int",
    "json_list",
    "json_str",
    "json_token",
    "list_item",
    "millis_datetime",
    "no_such_upload",
    "ok_download",
    "parse_authorization",
    "parse_error",
    "read_json",
    "resendable",
    "split_url",
    "upload_headers",
    "validate_bucket",
    "validate_key",
]

DEFAULT_API_URL = "https://api.backblazeb2.com"
API_VERSION = "v3"
#: An authorization is reused for at most this long (B2 tokens last up to 24 hours).
MAX_AUTH_AGE = 3600.0
#: Largest JSON response accepted (a 10000-file listing page with long names and info).
MAX_JSON_BYTES = 64 * 1024 * 1024
#: Largest single upload (b2_upload_file) and largest part.
MAX_UPLOAD_BYTES = 5_000_000_000
MAX_KEY_BYTES = 1024
#: File name plus file info must fit in this many bytes of headers.
MAX_INFO_BYTES = 7000
MAX_INFO_ENTRIES = 10

_BUCKET_RE = re.compile(r"^[A-Za-z0-9-]{6,63}$")
_INFO_NAME_RE = re.compile(r"^[A-Za-z0-9\-_.`~!#$%^&*'|+]{1,50}$")
_KEY_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

#: HTTP headers S3 callers set that B2 stores as `b2-*` file info (returned as headers).
_HEADER_INFOS = {
    "cache-control": "b2-cache-control",
    "content-disposition": "b2-content-disposition",
    "content-encoding": "b2-content-encoding",
    "content-language": "b2-content-language",
    "expires": "b2-expires",
}
#: Calls whose answer may be asked for again if its body breaks on the way.
IDEMPOTENT_CALLS = frozenset(
    {
        "b2_list_buckets",
        "b2_list_file_names",
        "b2_list_file_versions",
        "b2_list_parts",
        "b2_list_unfinished_large_files",
        "b2_get_upload_url",
        "b2_get_upload_part_url",
        "b2_get_file_info",
        "b2_get_download_authorization",
        "b2_delete_file_version",
    }
)

B2_DIALECT = Dialect(
    meta_prefix="x-bz-info-",
    version_header="x-bz-file-id",
    decode_meta=unquote_plus,
    etag_header="x-bz-content-sha1",
    mtime_header="x-bz-upload-timestamp",
)


# --- object fields -------------------------------------------------------------------------------


def etag_of(sha1: object, info: object = None) -> str | None:
    """The ETag s3lite reports for a B2 file: its content SHA-1 in hex.

    Large files have no SHA-1 of their own (B2 says "none"); their `large_file_sha1` file info
    stands in when the uploader recorded it. An `unverified:` prefix (do_not_verify uploads)
    is dropped.
    """
    if isinstance(sha1, str) and sha1 and sha1 != "none":
        return sha1[11:] if sha1.startswith("unverified:") else sha1
    if isinstance(info, Mapping):
        large = info.get("large_file_sha1")
        if isinstance(large, str) and large:
            return large
    return None


def millis_datetime(value: object) -> _dt.datetime | None:
    """Milliseconds since the epoch as an aware UTC datetime (None if it is not one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        return None  # `not > 0` also turns away NaN
    try:
        return _dt.datetime.fromtimestamp(value / 1000, tz=_dt.timezone.utc)
    except (OverflowError, OSError, ValueError):  # beyond the years datetime can hold
        return None


def fix_etag(response: Response) -> Response:
    """Large files say `none` for their SHA-1; report `large_file_sha1` (or None) instead."""
    sha1 = response.headers.get("x-bz-content-sha1")
    if sha1 is not None and (sha1 == "none" or sha1.startswith("unverified:")):
        info = response.headers.get("x-bz-info-large_file_sha1")
        response._override("etag", etag_of(sha1, {"large_file_sha1": info} if info else None))
    return response


def apply_file(response: Response, obj: Mapping[str, Any]) -> Response:
    """Give a JSON response the object fields of the file version it describes."""
    response._override("etag", etag_of(obj.get("contentSha1"), obj.get("fileInfo")))
    response._override("version_id", obj.get("fileId"))
    response._override("last_modified", millis_datetime(obj.get("uploadTimestamp")))
    return response


def list_item(entry: Mapping[str, Any]) -> ObjectInfo:
    """A listing item (key, content_length, etag, upload_timestamp) from a file entry."""
    size = entry.get("contentLength")
    return {
        "key": json_str(entry, "fileName"),
        "content_length": size if isinstance(size, int) and not isinstance(size, bool) else 0,
        "etag": etag_of(entry.get("contentSha1"), entry.get("fileInfo")),
        "upload_timestamp": millis_datetime(entry.get("uploadTimestamp")),
        "storage_class": None,
    }


def no_such_upload(exc: ClientError, upload_id: str) -> ClientError:
    """B2 answers a finished, cancelled or unknown large file id with 400 bad_request."""
    if exc.code != "bad_request":
        return exc
    return NoSuchUpload(
        exc.status, exc.code, exc.message, request_id=exc.request_id, resource=upload_id
    )


def ok_download(status: int) -> bool:
    """The statuses a download answers with: 200, or 206 for a range."""
    return status in (200, 206)


# --- errors and JSON -----------------------------------------------------------------------------


def parse_error(
    data: bytes, status: int
) -> tuple[str | None, str, str | None, str | None, str | None]:
    """(code, message, request id, resource, host id) of B2's `{"status", "code", "message"}`.

    Tolerates bodies that are not JSON, fields of the wrong type and `code`/`status` swapped;
    anything unusable leaves the code to the HTTP status.
    """
    text = data[:MAX_JSON_BYTES]
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        snippet = bytes(text[:200]).decode("utf-8", "replace").strip()
        return None, snippet, None, None, None
    if not isinstance(obj, dict):
        return None, "", None, None, None
    code, other, message = obj.get("code"), obj.get("status"), obj.get("message")
    if not isinstance(code, str) and isinstance(other, str):
        code = other  # {"code": 503, "status": "service_unavailable"}
    if not isinstance(code, str) or not _CODE_RE.match(code):
        code = None
    if message is None:
        message = ""
    elif not isinstance(message, str):
        message = str(message)
    return code, message[:2000], None, None, None


def read_json(response: Response) -> dict[str, Any]:
    """The JSON object in a response's body (bounded by the response's `max_body`); the
    response is released whatever happens."""
    try:
        data = response.data
    finally:
        response.close()
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        raise MalformedResponse(
            f"malformed JSON response: {data[:100].decode('utf-8', 'replace')!r}"
        ) from None
    if not isinstance(obj, dict):
        raise MalformedResponse(f"expected a JSON object, got {type(obj).__name__}")
    return obj


def json_str(obj: Mapping[str, Any], name: str) -> str:
    """A string field of a reply; `MalformedResponse` if it is missing or not a string."""
    value = obj.get(name)
    if not isinstance(value, str):
        raise MalformedResponse(f"B2 response field {name!r} is missing or not a string")
    return value


def json_token(obj: Mapping[str, Any], name: str) -> str:
    """A token that goes into an Authorization header: printable ASCII only (a line break
    would be refused by http.client, or split the header on a laxer stack)."""
    value = json_str(obj, name)
    if not value or not value.isascii() or not value.isprintable():
        raise MalformedResponse(f"B2 response field {name!r} is not a usable token")
    return value


def json_list(obj: Mapping[str, Any], name: str) -> list[Any]:
    """A list field (missing or null: empty); anything else is a malformed response."""
    value = obj.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedResponse(f"B2 response field {name!r} is not a list")
    return value


def json_int(obj: Mapping[str, Any], name: str, default: int | None = None) -> int:
    """An integer field (missing or null: `default`, if one is given)."""
    value = obj.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        if default is not None and value is None:
            return default
        raise MalformedResponse(f"B2 response field {name!r} is missing or not an integer")
    return value


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def split_url(url: object, what: str) -> tuple[str, str, str]:
    """(scheme, host[:port], encoded path without a trailing '/') of a URL B2 gave."""
    if not isinstance(url, str):
        raise MalformedResponse(f"b2_authorize_account gave no {what}")
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MalformedResponse(f"b2_authorize_account gave a bad {what}: {url[:100]!r}")
    return parts.scheme, parts.netloc, quote(parts.path.rstrip("/"), safe="/%")


# --- authorization -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """What one b2_authorize_account returned, with its URLs split up once."""

    account_id: str
    token: str = field(repr=False)
    api_scheme: str
    api_host: str
    api_prefix: str  # "/<base path>/b2api/v3/"
    download_url: str
    download_scheme: str
    download_host: str
    download_base: str
    min_part_size: int
    recommended_part_size: int
    allowed_bucket_id: str | None
    allowed_bucket_name: str | None
    name_prefix: str | None
    capabilities: tuple[str, ...]


def parse_authorization(obj: Mapping[str, Any]) -> tuple[Account, float]:
    """The account and how long (seconds) to keep it, from any of B2's v2/v3/v4 shapes."""
    storage = _dict(_dict(obj.get("apiInfo")).get("storageApi")) or dict(obj)  # v2: top level
    allowed = _dict(storage.get("allowed")) or storage
    bucket_id, bucket_name = allowed.get("bucketId"), allowed.get("bucketName")
    buckets = allowed.get("buckets")  # v4: a list of {id, name}
    if bucket_id is None and isinstance(buckets, list) and len(buckets) == 1:
        only = _dict(buckets[0])
        bucket_id, bucket_name = only.get("id"), only.get("name")
    capabilities = allowed.get("capabilities")
    api = split_url(storage.get("apiUrl"), "apiUrl")
    download_url = storage.get("downloadUrl")
    download = split_url(download_url, "downloadUrl")
    minimum = json_int(storage, "absoluteMinimumPartSize", 5_000_000)
    account = Account(
        account_id=json_str(obj, "accountId"),
        token=json_token(obj, "authorizationToken"),
        api_scheme=api[0],
        api_host=api[1],
        api_prefix=f"{api[2]}/b2api/{API_VERSION}/",
        download_url=str(download_url).rstrip("/"),
        download_scheme=download[0],
        download_host=download[1],
        download_base=download[2],
        min_part_size=minimum,
        recommended_part_size=json_int(storage, "recommendedPartSize", minimum),
        allowed_bucket_id=_opt_str(bucket_id),
        allowed_bucket_name=_opt_str(bucket_name),
        name_prefix=_opt_str(allowed.get("namePrefix")),
        capabilities=tuple(
            c
            for c in (capabilities if isinstance(capabilities, list) else ())
            if isinstance(c, str)
        ),
    )
    lifetime = MAX_AUTH_AGE
    key_expires = obj.get("applicationKeyExpirationTimestamp")
    if isinstance(key_expires, (int, float)) and not isinstance(key_expires, bool):
        with contextlib.suppress(OverflowError):  # an int beyond any float: no earlier expiry
            lifetime = max(0.0, min(lifetime, key_expires / 1000 - time.time() - 60))
    return account, lifetime


# --- requests ------------------------------------------------------------------------------------


def api_call(account: Account, name: str, params: Mapping[str, Any]) -> Call:
    """One JSON API call (POST the parameters to `name` on the account's API URL), its reply
    bounded by `MAX_JSON_BYTES`. Signed by the driver with the account token."""
    body = json.dumps(params, separators=(",", ":")).encode()
    request = Request(
        "POST",
        account.api_scheme,
        account.api_host,
        account.api_prefix + name,
        headers={"Content-Type": "application/json", "Content-Length": str(len(body))},
        body=Body(body),
    )
    return Call(request, max_body=MAX_JSON_BYTES)


def resendable(call: Call) -> bool:
    """Whether a call may be sent again when its answer breaks off in the body: downloads
    and the API calls that change nothing (or nothing more the second time). An upload, or
    a call like b2_copy_file, is not: its first attempt may have taken effect."""
    request = call.request
    if request.method in ("GET", "HEAD"):
        return True
    return call.auth is None and request.path.rpartition("/")[2] in IDEMPOTENT_CALLS


# --- validation ----------------------------------------------------------------------------------


def validate_key(key: object) -> str:
    """A B2 file name: 1..1024 UTF-8 bytes, no control characters or DEL, no leading or
    trailing '/', no '//', no '/'-separated part over 250 bytes."""
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, not {type(key).__name__}")
    if not key:
        raise ValueError("key must not be empty")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("key is not valid Unicode (it contains a lone surrogate)") from None
    if size > MAX_KEY_BYTES:
        raise ValueError(f"key is {size} bytes in UTF-8; B2 allows at most {MAX_KEY_BYTES}")
    bad = _KEY_BAD_CHARS.search(key)
    if bad:
        raise ValueError(
            f"key contains control character U+{ord(bad.group()):04X}, which B2 file names "
            "cannot hold"
        )
    if key[0] == "/" or key[-1] == "/" or "//" in key:
        raise ValueError(f"B2 file names cannot start or end with '/' or contain '//': {key!r}")
    if size > 250 and any(len(part.encode("utf-8")) > 250 for part in key.split("/")):
        raise ValueError("B2 allows at most 250 bytes between two '/' in a file name")
    return key


def validate_bucket(bucket: object) -> str:
    """A B2 bucket name: 6-63 letters, digits and '-', not starting with 'b2-'."""
    if not isinstance(bucket, str):
        raise TypeError(f"bucket must be a str, not {type(bucket).__name__}")
    if not _BUCKET_RE.match(bucket) or bucket[:3].lower() == "b2-":
        raise ValueError(
            f"invalid bucket name {bucket!r}: B2 bucket names have 6-63 characters, letters, "
            "digits and '-', and do not start with 'b2-'"
        )
    return bucket


def file_info(
    metadata: Mapping[str, str] | None,
    *,
    cache_control: str | None = None,
    content_disposition: str | None = None,
    content_encoding: str | None = None,
    content_language: str | None = None,
    expires: _dt.datetime | str | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """File info (names lower-cased, values as given) from metadata and HTTP-ish fields."""
    info: dict[str, str] = {}
    for name, value in (metadata or {}).items():
        if not isinstance(name, str) or not _INFO_NAME_RE.match(name):
            raise ValueError(
                f"metadata name {name!r} is not valid for B2: use up to 50 letters, digits and "
                "-_.`~!#$%^&*'|+"
            )
        if not isinstance(value, str):
            raise TypeError(
                f"metadata value for {name!r} must be a str, not {type(value).__name__}"
            )
        lowered = name.lower()
        if lowered.startswith("b2-"):
            raise ValueError(
                f"metadata name {name!r}: names starting with 'b2-' are reserved by B2; use "
                "cache_control, content_disposition, ... instead"
            )
        info[lowered] = value
    if expires is not None and not isinstance(expires, str):
        from .arguments import http_date

        expires = http_date(expires)
    fields: dict[str, str | None] = {
        "b2-cache-control": cache_control,
        "b2-content-disposition": content_disposition,
        "b2-content-encoding": content_encoding,
        "b2-content-language": content_language,
        "b2-expires": expires,
    }
    for name, value in (headers or {}).items():
        lowered = name.lower()
        if lowered in _HEADER_INFOS:
            fields[_HEADER_INFOS[lowered]] = value
        elif lowered.startswith("x-bz-info-"):
            info[lowered[10:]] = value
        else:
            raise ValueError(f"header {name!r} cannot be stored with a B2 large file")
    for name, field_value in fields.items():
        if field_value is not None:
            if not isinstance(field_value, str) or "\r" in field_value or "\n" in field_value:
                raise ValueError(f"{name[3:]} must be a str without line breaks")
            info[name] = field_value
    if len(info) > MAX_INFO_ENTRIES:
        raise ValueError(
            f"B2 stores at most {MAX_INFO_ENTRIES} file info entries (metadata plus "
            f"cache_control & co.); got {len(info)}"
        )
    return info


def encode_name(value: str) -> str:
    """Percent-encoded UTF-8, as B2 wants names and file info in headers ('/' kept)."""
    return quote(value, safe="/")


def content_type_of(value: str | None) -> str:
    """The Content-Type to store: `b2/x-auto` (B2 picks it from the name) unless given."""
    if value is None:
        return "b2/x-auto"
    if not isinstance(value, str) or not value or "\r" in value or "\n" in value:
        raise ValueError(f"invalid content_type {value!r}")
    return value


def upload_headers(key: str, info: Mapping[str, str], content_type: str | None) -> dict[str, str]:
    """b2_upload_file's name, type and file info headers, within B2's header budget."""
    name = encode_name(key)
    headers = {"X-Bz-File-Name": name, "Content-Type": content_type_of(content_type)}
    size = len(name)
    for info_name, value in info.items():
        encoded = encode_name(value)
        size += len(info_name) + len(encoded)
        headers["X-Bz-Info-" + info_name] = encoded
    if size > MAX_INFO_BYTES:
        raise ValueError(
            f"file name and file info take {size} bytes; B2 allows at most {MAX_INFO_BYTES}"
        )
    return headers
