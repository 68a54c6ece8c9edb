"""B2Session: Backblaze B2's native API behind S3Session's interface, on the shared transport.

The same `Transport`, `Response`, `Listing`, `DeleteResult` and error classes as S3; what is
B2-specific stays in this module:

* **Authorization.** `b2_authorize_account` is cached process-wide per (realm, key id, key)
  for at most an hour (less if the key expires sooner), shared by every session using that
  key, and done once even when many threads need it at the same moment. A request that gets
  `expired_auth_token`/`bad_auth_token` re-authorizes (once, whatever the number of threads
  that saw it) and is retried through the transport's `Auth.refresh` hook.
* **Uploads.** Upload URLs (`b2_get_upload_url`, and `b2_get_upload_part_url` per large file)
  are pooled: an upload takes one, no other upload uses it meanwhile, and it goes back to the
  pool when the upload succeeded. Every *retry* of an upload (after a 401/408/429/5xx or a
  broken connection) goes to a fresh upload URL, as B2 requires; the transport re-targets the
  request when it signs the new attempt. Every upload carries `X-Bz-Content-Sha1`: the hex
  digest for in-memory bodies, `hex_digits_at_end` for streams (the 40 digits follow the body,
  so a stream is read once).
* **Object fields.** `Response.version_id` is the B2 file id, `etag` the content SHA-1 in hex
  (for a large file, which has no SHA-1 of its own, the `large_file_sha1` file info when the
  uploader recorded one, else None), `last_modified` the upload timestamp (the time B2 stored
  the version, as S3's Last-Modified; a source file's mtime, `src_last_modified_millis`, stays
  in `metadata`), `metadata` the `X-Bz-Info-*` file info, percent-decoded.
* **Deleting.** B2 keeps every version of a name. `delete_object(key)` deletes all of them
  (or one, with `version_id`); `hide_object(key)` is B2's "delete marker". Hidden names are
  left out of `list_objects` and show up as delete markers in `list_object_versions`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Literal, cast
from urllib.parse import quote, unquote_plus, urlsplit

from .credentials import Credentials, StaticCredentials
from .deletes import DeleteResult, delete_entries
from .errors import (
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    ChecksumMismatch,
    ClientError,
    InvalidRequest,
    MalformedResponse,
    NoCredentialsError,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    ObjectChanged,
    PreconditionFailed,
    TransportError,
)
from .listing import Listing, ObjectInfo, UploadInfo, VersionInfo
from .multipart import PartData, PartResult
from .response import Dialect, Response
from .retries import RetryMode, RetryPolicy
from .s3xml import ListPage
from .transfer import TransferMixin
from .transport import Attempt, Body, BodyLike, Request, Transport, _remaining_length, _tell

if TYPE_CHECKING:
    import urllib3

    from .lock import DistributedLock, LockProtocol

__all__ = ["B2AppKey", "B2Session", "clear_auth_cache", "parse_error"]

DEFAULT_API_URL = "https://api.backblazeb2.com"
API_VERSION = "v3"
#: An authorization is reused for at most this long (B2 tokens last up to 24 hours).
MAX_AUTH_AGE = 3600.0
#: Upload URLs and their tokens last 24 hours; stop handing one out a while before that.
UPLOAD_URL_AGE = 23 * 3600.0
#: Idle upload URLs kept per bucket / large file.
MAX_IDLE_UPLOAD_URLS = 64
#: Largest JSON response accepted (a 10000-file listing page with long names and info).
MAX_JSON_BYTES = 64 * 1024 * 1024
#: Largest single upload (b2_upload_file) and largest part.
MAX_UPLOAD_BYTES = 5_000_000_000
MAX_KEY_BYTES = 1024
#: File name plus file info must fit in this many bytes of headers.
MAX_INFO_BYTES = 7000
MAX_INFO_ENTRIES = 10
#: Bodies of unknown length are spooled (and hashed) to learn their length; this much in memory.
SPOOL_MEMORY = 8 * 1024 * 1024
_SHA1_TRAILER = 40

_BUCKET_RE = re.compile(r"^[A-Za-z0-9-]{6,63}$")
_INFO_NAME_RE = re.compile(r"^[A-Za-z0-9\-_.`~!#$%^&*'|+]{1,50}$")
_KEY_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_CAPABILITY_RE = re.compile(r"^[A-Za-z]{1,64}$")
_KEY_NAME_RE = re.compile(r"^[A-Za-z0-9-]{1,100}$")

#: HTTP headers S3 callers set that B2 stores as `b2-*` file info (returned as headers).
_HEADER_INFOS = {
    "cache-control": "b2-cache-control",
    "content-disposition": "b2-content-disposition",
    "content-encoding": "b2-content-encoding",
    "content-language": "b2-content-language",
    "expires": "b2-expires",
}
#: Error codes after which an account token must be renewed; "Unauthorized" is what a
#: bodiless 401 (HEAD) becomes, where B2 cannot say why.
_TOKEN_CODES = frozenset({"expired_auth_token", "bad_auth_token", "Unauthorized"})
#: Upload errors that mean "this upload URL/token is no good: get another one".
_UPLOAD_TOKEN_CODES = frozenset({"expired_auth_token", "bad_auth_token", "auth_token_limit"})
#: Calls whose response may be asked for again if its body breaks on the way.
_IDEMPOTENT = frozenset(
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


def _etag_of(sha1: object, info: object = None) -> str | None:
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


def _ms(value: object) -> _dt.datetime | None:
    """Milliseconds since the epoch as an aware UTC datetime (None if it is not one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        return None  # `not > 0` also turns away NaN
    try:
        return _dt.datetime.fromtimestamp(value / 1000, tz=_dt.timezone.utc)
    except (OverflowError, OSError, ValueError):  # beyond the years datetime can hold
        return None


B2_DIALECT = Dialect(
    meta_prefix="x-bz-info-",
    version_header="x-bz-file-id",
    decode_meta=unquote_plus,
    etag_header="x-bz-content-sha1",
    mtime_header="x-bz-upload-timestamp",
)


def _fix_etag(response: Response) -> Response:
    """Large files say `none` for their SHA-1; report `large_file_sha1` (or None) instead."""
    sha1 = response.headers.get("x-bz-content-sha1")
    if sha1 is not None and (sha1 == "none" or sha1.startswith("unverified:")):
        info = response.headers.get("x-bz-info-large_file_sha1")
        response._override("etag", _etag_of(sha1, {"large_file_sha1": info} if info else None))
    return response


def _apply_file(response: Response, obj: Mapping[str, Any]) -> Response:
    """Give a JSON response the object fields of the file version it describes."""
    response._override("etag", _etag_of(obj.get("contentSha1"), obj.get("fileInfo")))
    response._override("version_id", obj.get("fileId"))
    response._override("last_modified", _ms(obj.get("uploadTimestamp")))
    return response


# --- errors and JSON ---------------------------------------------------------------------------


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


def _read_json(response: Response) -> dict[str, Any]:
    """The JSON object in a (streamed) response body: bounded, and always released."""
    try:
        data = response.read_limited(MAX_JSON_BYTES)
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


def _str(obj: Mapping[str, Any], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str):
        raise MalformedResponse(f"B2 response field {name!r} is missing or not a string")
    return value


def _token(obj: Mapping[str, Any], name: str) -> str:
    """A token that goes into an Authorization header: printable ASCII only (a line break
    would be refused by http.client, or split the header on a laxer stack)."""
    value = _str(obj, name)
    if not value or not value.isascii() or not value.isprintable():
        raise MalformedResponse(f"B2 response field {name!r} is not a usable token")
    return value


def _list(obj: Mapping[str, Any], name: str) -> list[Any]:
    """A list field (missing or null: empty); anything else is a malformed response."""
    value = obj.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedResponse(f"B2 response field {name!r} is not a list")
    return value


def _int(obj: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = obj.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        if default is not None and value is None:
            return default
        raise MalformedResponse(f"B2 response field {name!r} is missing or not an integer")
    return value


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


def _file_info(
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


def _encode(value: str) -> str:
    """Percent-encoded UTF-8, as B2 wants names and file info in headers ('/' kept)."""
    return quote(value, safe="/")


def _content_type(value: str | None) -> str:
    if value is None:
        return "b2/x-auto"  # B2 picks the type from the file name's extension
    if not isinstance(value, str) or not value or "\r" in value or "\n" in value:
        raise ValueError(f"invalid content_type {value!r}")
    return value


# --- credentials, authorization cache ---------------------------------------------------------


def _credentials_from_env() -> tuple[str, str] | None:
    """B2_APPLICATION_KEY_ID / B2_APPLICATION_KEY (None if unset; one alone is an error)."""
    from .credentials import b2_credentials_from_env

    return b2_credentials_from_env()


@dataclass(frozen=True)
class _Account:
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


def _split_url(url: object, what: str) -> tuple[str, str, str]:
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


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _parse_authorization(obj: Mapping[str, Any]) -> tuple[_Account, float]:
    """The account and how long (seconds) to keep it, from any of B2's v2/v3/v4 shapes."""
    storage = _dict(_dict(obj.get("apiInfo")).get("storageApi")) or dict(obj)  # v2: top level
    allowed = _dict(storage.get("allowed")) or storage
    bucket_id, bucket_name = allowed.get("bucketId"), allowed.get("bucketName")
    buckets = allowed.get("buckets")  # v4: a list of {id, name}
    if bucket_id is None and isinstance(buckets, list) and len(buckets) == 1:
        only = _dict(buckets[0])
        bucket_id, bucket_name = only.get("id"), only.get("name")
    capabilities = allowed.get("capabilities")
    api = _split_url(storage.get("apiUrl"), "apiUrl")
    download_url = storage.get("downloadUrl")
    download = _split_url(download_url, "downloadUrl")
    minimum = _int(storage, "absoluteMinimumPartSize", 5_000_000)
    account = _Account(
        account_id=_str(obj, "accountId"),
        token=_token(obj, "authorizationToken"),
        api_scheme=api[0],
        api_host=api[1],
        api_prefix=f"{api[2]}/b2api/{API_VERSION}/",
        download_url=str(download_url).rstrip("/"),
        download_scheme=download[0],
        download_host=download[1],
        download_base=download[2],
        min_part_size=minimum,
        recommended_part_size=_int(storage, "recommendedPartSize", minimum),
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


@dataclass
class _UploadTarget:
    """An upload URL and its own token (from b2_get_upload_url / b2_get_upload_part_url)."""

    scheme: str
    host: str
    path: str
    token: str = field(repr=False)
    expires: float  # time.monotonic() after which it is not handed out again


class _AuthSlot:
    """The process-wide state for one key: its authorization, bucket ids and upload URLs."""

    def __init__(self, realm: str, key_id: str, key: str) -> None:
        self.realm = realm
        self.key_id = key_id
        self._key = key
        self._lock = threading.Lock()
        self._account: _Account | None = None
        self._expires = 0.0
        self.authorizations = 0  # how many b2_authorize_account calls this slot made
        self.bucket_ids: dict[str, str] = {}
        self._uploads: dict[str, list[_UploadTarget]] = {}
        self._uploads_lock = threading.Lock()

    def current(self, authorize: Callable[[str, str, str], tuple[_Account, float]]) -> _Account:
        """The cached account, authorizing first (once, whatever the number of threads) if
        there is none or it is too old."""
        account = self._account
        if account is not None and time.monotonic() < self._expires:
            return account
        with self._lock:
            account = self._account
            if account is not None and time.monotonic() < self._expires:
                return account
            account, lifetime = authorize(self.realm, self.key_id, self._key)
            self.authorizations += 1
            self._account = account
            self._expires = time.monotonic() + lifetime
            if account.allowed_bucket_id and account.allowed_bucket_name:
                self.bucket_ids[account.allowed_bucket_name] = account.allowed_bucket_id
            return account

    def invalidate(self, token: str | None) -> None:
        """The service refused `token`: drop it, unless another thread has renewed it already."""
        with self._lock:
            if self._account is not None and (token is None or self._account.token == token):
                self._account = None

    def take_upload(self, pool: str) -> _UploadTarget | None:
        now = time.monotonic()
        with self._uploads_lock:
            idle = self._uploads.get(pool)
            while idle:
                target = idle.pop()
                if now < target.expires:
                    return target
        return None

    def give_upload(self, pool: str, target: _UploadTarget) -> None:
        with self._uploads_lock:
            idle = self._uploads.setdefault(pool, [])
            if len(idle) < MAX_IDLE_UPLOAD_URLS:
                idle.append(target)

    def drop_uploads(self, pool: str) -> None:
        with self._uploads_lock:
            self._uploads.pop(pool, None)

    def __repr__(self) -> str:
        return f"<B2 authorization for key {self.key_id!r} at {self.realm}>"


_SLOTS: dict[tuple[str, str, str], _AuthSlot] = {}
_SLOTS_LOCK = threading.Lock()


def _slot_for(realm: str, key_id: str, key: str) -> _AuthSlot:
    # The key's digest is part of the cache key: a session with a wrong key never borrows the
    # authorization another session got with the right one.
    cache_key = (realm, key_id, hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest())
    with _SLOTS_LOCK:
        slot = _SLOTS.get(cache_key)
        if slot is None:
            slot = _SLOTS[cache_key] = _AuthSlot(realm, key_id, key)
        return slot


def clear_auth_cache() -> None:
    """Forget every cached B2 authorization, bucket id and upload URL in this process.

    Sessions created earlier keep working: they authorize again on their next request.
    """
    with _SLOTS_LOCK:
        slots = list(_SLOTS.values())
        _SLOTS.clear()
    for slot in slots:
        slot.invalidate(None)


# --- Auth objects for the transport -------------------------------------------------------------


class _TokenAuth:
    """Signs one request with the account token; after `expired_auth_token` or
    `bad_auth_token` drops that token so the retry re-authorizes (once per token)."""

    __slots__ = ("_session", "token")

    def __init__(self, session: B2Session) -> None:
        self._session = session
        self.token: str | None = None

    def sign(self, attempt: Attempt) -> None:
        token = self._session._account().token
        self.token = token
        attempt.headers["Authorization"] = token

    def refresh(self, error: ClientError) -> bool:
        if error.code not in _TOKEN_CODES or (error.code == "Unauthorized" and error.status != 401):
            return False
        self._session._slot.invalidate(self.token)
        return True


class _UploadAuth:
    """Signs one upload with an upload URL's token. Every attempt after the first goes to a
    fresh upload URL (B2: an upload that failed with 401/408/429/5xx or a broken connection
    must be retried elsewhere), so `sign` re-targets the request to it."""

    __slots__ = ("_fetch", "attempts", "target")

    def __init__(self, first: _UploadTarget, fetch: Callable[[], _UploadTarget]) -> None:
        self.target = first
        self._fetch = fetch
        self.attempts = 0

    def sign(self, attempt: Attempt) -> None:
        if self.attempts:
            self.target = self._fetch()
        self.attempts += 1
        target = self.target
        request = attempt.request
        request.scheme, request.host, request.path = target.scheme, target.host, target.path
        attempt.headers["Authorization"] = target.token

    def refresh(self, error: ClientError) -> bool:
        return error.code in _UPLOAD_TOKEN_CODES


# --- upload bodies --------------------------------------------------------------------------------


class _Sha1Trailer:
    """A file's next `length` bytes followed by their SHA-1 in 40 hex digits, as a file object
    (B2's `hex_digits_at_end`). Seeking back to the start (a retry) starts the hash afresh."""

    def __init__(self, f: IO[bytes], length: int, start: int) -> None:
        self._f = f
        self._length = length
        self._start = start
        self._pos = 0
        self._sha = hashlib.sha1()  # noqa: S324 - B2's integrity check, not security
        self._tail = b""
        self._tail_pos = 0

    def seekable(self) -> bool:
        return self._start >= 0

    def tell(self) -> int:
        return self._pos + self._tail_pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset != 0 or whence != 0 or self._start < 0:
            raise OSError("only a rewind to the start is supported")
        self._f.seek(self._start)
        self._pos = self._tail_pos = 0
        self._sha = hashlib.sha1()  # noqa: S324
        self._tail = b""
        return 0

    def read(self, n: int = -1) -> bytes:
        remaining = self._length - self._pos
        if remaining > 0:
            chunk = self._f.read(remaining if n is None or n < 0 else min(n, remaining))
            if not chunk:
                raise ValueError(
                    f"upload body ended {remaining} bytes short of its declared length"
                )
            self._pos += len(chunk)
            self._sha.update(chunk)
            return chunk
        if not self._tail:
            self._tail = self._sha.hexdigest().encode("ascii")
        end = len(self._tail) if n is None or n < 0 else self._tail_pos + n
        out = self._tail[self._tail_pos : end]
        self._tail_pos += len(out)
        return out


def _sha1_trailer_chunks(chunks: Iterable[bytes], length: int) -> Iterator[bytes]:
    """An iterable's chunks (exactly `length` bytes) followed by their SHA-1 in hex."""
    sha = hashlib.sha1()  # noqa: S324
    sent = 0
    for chunk in chunks:
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"body iterator yielded {type(chunk).__name__}, not bytes")
        if not chunk:
            continue
        sent += len(chunk)
        if sent > length:
            raise ValueError(f"upload body is longer than its declared length ({length})")
        sha.update(chunk)
        yield bytes(chunk) if not isinstance(chunk, bytes) else chunk
    if sent != length:
        raise ValueError(f"upload body ended {length - sent} bytes short of its declared length")
    yield sha.hexdigest().encode("ascii")


def _prepare_upload(body: BodyLike, content_length: int | None) -> tuple[Body, str]:
    """The body to send and its X-Bz-Content-Sha1: the hex digest up front for bytes (and
    for streams of unknown length, spooled once), else `hex_digits_at_end`."""
    if content_length is not None and (
        not isinstance(content_length, int)
        or isinstance(content_length, bool)
        or content_length < 0
    ):
        raise ValueError(f"content_length must be a non-negative int, got {content_length!r}")
    if body is None:
        body = b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body) if isinstance(body, bytearray) else body
        _check_size(len(data) if isinstance(data, bytes) else memoryview(data).nbytes)
        return Body(data), hashlib.sha1(data).hexdigest()  # noqa: S324
    if hasattr(body, "read"):
        f: IO[bytes] = body  # type: ignore[assignment]
        start = _tell(f)
        length = content_length
        if length is None and start >= 0:
            length = _remaining_length(f, start)
        if length is None:
            return _spool(_file_chunks(f))
        _check_size(length)
        reader = cast("IO[bytes]", _Sha1Trailer(f, length, start))
        return Body(reader, length + _SHA1_TRAILER), "hex_digits_at_end"
    if isinstance(body, Iterable):
        if content_length is None:
            return _spool(iter(body))
        _check_size(content_length)
        return (
            Body(_sha1_trailer_chunks(body, content_length), content_length + _SHA1_TRAILER),
            "hex_digits_at_end",
        )
    raise TypeError(
        f"body must be bytes, str, a binary file object or an iterable of bytes, "
        f"not {type(body).__name__}"
    )


def _check_size(length: int) -> None:
    if length > MAX_UPLOAD_BYTES:
        raise ValueError(
            f"a single B2 upload holds at most {MAX_UPLOAD_BYTES} bytes ({length} given); use "
            "a multipart (large file) upload"
        )


def _file_chunks(f: IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = f.read(1024 * 1024)
        if not chunk:
            return
        yield chunk


def _spool(chunks: Iterator[bytes]) -> tuple[Body, str]:
    """Read a stream of unknown length once into a temporary file, hashing on the way."""
    import tempfile

    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
    sha = hashlib.sha1()  # noqa: S324
    for chunk in chunks:
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"body iterator yielded {type(chunk).__name__}, not bytes")
        spool.write(chunk)
        sha.update(chunk)
    size = spool.tell()
    _check_size(size)
    spool.seek(0)
    return Body(spool, size), sha.hexdigest()


def _ok_get(status: int) -> bool:
    return status in (200, 206)


def _synthetic(status: int, headers: Mapping[str, str]) -> Response:
    """A response for an operation that made several requests (or none)."""
    import urllib3

    raw = urllib3.HTTPResponse(
        body=b"", headers=dict(headers), status=status, preload_content=False
    )
    return Response(raw, B2_DIALECT, preload=True)


@dataclass(frozen=True)
class B2AppKey:
    """A new application key (`create_app_key`); the secret is left out of repr."""

    application_key_id: str
    application_key: str = field(repr=False)
    key_name: str
    capabilities: tuple[str, ...]
    bucket_id: str | None = None
    name_prefix: str | None = None
    expires: _dt.datetime | None = None

    def __str__(self) -> str:
        return repr(self)


# --- the session -------------------------------------------------------------------------------


class B2Session(TransferMixin):
    """A connection to Backblaze B2 (native API) with an optional default bucket.

    Same methods, arguments, responses, listings and errors as `S3Session` wherever B2 has the
    notion. Thread-safe. Keys come from the arguments or from `B2_APPLICATION_KEY_ID` /
    `B2_APPLICATION_KEY`. Nothing is sent until the first call.
    """

    #: Largest part of a large file, and most parts (smallest: `multipart_min_part_size`).
    multipart_max_part_size: int = MAX_UPLOAD_BYTES
    multipart_max_parts: int = 10000
    #: download_file pins its ranged GETs by file id (B2 has no If-Match).
    supports_if_match = False
    #: upload_file records a large file's SHA-1 as its `large_file_sha1` file info.
    records_large_file_sha1 = True
    max_info_entries = MAX_INFO_ENTRIES

    def __init__(
        self,
        access_key_id: str | None = None,
        access_key: str | None = None,
        bucket: str | None = None,
        max_pool_connections: int = 10,
        max_attempts: int | None = None,
        read_timeout: float = 60.0,
        download_url: str | None = None,
        stream: bool = True,
        *,
        api_url: str = DEFAULT_API_URL,
        max_connections: int | None = None,
        retry_mode: RetryMode | None = None,
        connect_timeout: float = 10.0,
        verify: bool | str = True,
        pool_manager: urllib3.PoolManager | None = None,
        transport: Transport | None = None,
        backoff_base: float = 1.0,
        max_backoff: float = 20.0,
        user_agent: str | None = None,
    ) -> None:
        """Open a session (nothing is sent until the first call).

        Positional arguments follow s3func's order: `(access_key_id, access_key, bucket,
        max_pool_connections, max_attempts, read_timeout, download_url, stream)`; the rest are
        keyword-only. Every argument is checked here, so a value in the wrong position fails
        now.

        `access_key_id`, `access_key`: the application key id and key (default
        `B2_APPLICATION_KEY_ID` / `B2_APPLICATION_KEY`). `bucket`: the default bucket of every
        call; without it, a key restricted to one bucket uses that bucket (its authorization
        names it). `api_url`: where b2_authorize_account is (default Backblaze's).
        `download_url`: another download host (a CDN or proxy) instead of the one the
        authorization gives.

        `max_pool_connections` (s3func's `max_connections` too): connections kept per host;
        `connect_timeout`, `read_timeout`: seconds; `verify`: False, True or a CA bundle path.
        `max_attempts`, `retry_mode` ('standard' or 'adaptive'; default from `AWS_MAX_ATTEMPTS` /
        `AWS_RETRY_MODE`, then 5 and 'standard'), `backoff_base`, `max_backoff`: retries
        (full-jitter exponential backoff, in seconds). `stream`: whether `get_object` streams
        by default. `pool_manager`: a urllib3 PoolManager to share; `transport`: a whole
        `Transport` to share (then the connection and retry arguments are unused).
        `user_agent`: the User-Agent header (default `s3lite/<version>`).
        """
        from .arguments import check_endpoint, check_session_args

        if max_connections is not None:
            if max_pool_connections not in (max_connections, 10):
                raise ValueError("max_connections is max_pool_connections; pass one")
            max_pool_connections = max_connections
        check_session_args(
            region=None, max_pool_connections=max_pool_connections, max_attempts=max_attempts,
            retry_mode=retry_mode, read_timeout=read_timeout, stream=stream,
            connect_timeout=connect_timeout,
        )  # fmt: skip
        check_endpoint(api_url, "api_url")
        self._download: tuple[str, str, str] | None = None
        self._download_url: str | None = None
        if download_url is not None:
            check_endpoint(download_url, "download_url")
            if "://" not in download_url:
                download_url = "https://" + download_url
            try:
                self._download = _split_url(download_url, "download_url")
            except MalformedResponse:
                raise ValueError(f"download_url must be http(s)://host[:port], got "
                                 f"{download_url!r}") from None  # fmt: skip
            self._download_url = download_url.rstrip("/")
        if (access_key_id is None) != (access_key is None):
            raise ValueError("pass both access_key_id and access_key, or neither")
        if access_key_id is None or access_key is None:
            found = _credentials_from_env()
            if found is None:
                raise NoCredentialsError(
                    "no B2 credentials: pass access_key_id and access_key, or set "
                    "B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY"
                )
            access_key_id, access_key = found
        if not isinstance(access_key_id, str) or not access_key_id:
            raise ValueError("access_key_id must be a non-empty string")
        if not isinstance(access_key, str) or not access_key:
            raise ValueError("access_key must be a non-empty string")
        if bucket is not None:
            validate_bucket(bucket)
        parts = urlsplit(api_url if "://" in api_url else "https://" + api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError(f"api_url must be http(s)://host[:port], got {api_url!r}")
        self.api_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.access_key_id = access_key_id
        self.credentials = StaticCredentials(Credentials(access_key_id, access_key))
        self.bucket = bucket
        self.stream = stream
        self._slot = _slot_for(self.api_url, access_key_id, access_key)
        self._min_part_size: int | None = None
        if transport is None:
            from .config import retry_settings  # AWS_MAX_ATTEMPTS / AWS_RETRY_MODE; no profile

            attempts, mode = retry_settings(
                max_attempts, retry_mode, default_attempts=5, use_profile=False
            )
            transport = Transport(
                max_pool_connections=max_pool_connections,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                verify=verify,
                retry=RetryPolicy(
                    attempts, mode, backoff_base=backoff_base, max_backoff=max_backoff
                ),
                pool_manager=pool_manager,
                user_agent=user_agent,
            )
        self.transport = transport

    # --- authorization -----------------------------------------------------------------------
    def _account(self) -> _Account:
        return self._slot.current(self._authorize)

    def _authorize(self, realm: str, key_id: str, key: str) -> tuple[_Account, float]:
        import base64

        parts = urlsplit(realm)
        basic = base64.b64encode(f"{key_id}:{key}".encode()).decode("ascii")
        request = Request(
            "GET",
            parts.scheme,
            parts.netloc,
            f"{quote(parts.path, safe='/%')}/b2api/{API_VERSION}/b2_authorize_account",
            headers={"Authorization": "Basic " + basic, "Accept": "application/json"},
        )
        response = self.transport.send(
            request, None, stream=True, dialect=B2_DIALECT, error_parser=parse_error
        )
        return _parse_authorization(_read_json(response))

    @property
    def multipart_min_part_size(self) -> int:
        """B2's smallest part (all but the last): b2_authorize_account's
        absoluteMinimumPartSize, unless set on the session."""
        if self._min_part_size is not None:
            return self._min_part_size
        return self._account().min_part_size

    @multipart_min_part_size.setter
    def multipart_min_part_size(self, value: int) -> None:
        self._min_part_size = value

    @property
    def multipart_recommended_part_size(self) -> int:
        """The part size B2 recommends, from b2_authorize_account."""
        return self._account().recommended_part_size

    # --- plumbing -------------------------------------------------------------------------------
    def _bucket(self, bucket: str | None) -> str:
        if bucket is None:
            if self.bucket is None:
                # A key restricted to one bucket: its authorization names that bucket.
                account = self._account()
                if account.allowed_bucket_name is None:
                    raise ValueError("no bucket given and the session has no default bucket")
                if account.allowed_bucket_id is not None:
                    self._slot.bucket_ids[account.allowed_bucket_name] = account.allowed_bucket_id
                self.bucket = account.allowed_bucket_name
            return self.bucket
        return validate_bucket(bucket)

    def _call(self, op: str, params: Mapping[str, Any]) -> tuple[Response, dict[str, Any]]:
        """One JSON API call: POST the parameters, return the response and its JSON object."""
        account = self._account()
        body = json.dumps(params, separators=(",", ":")).encode()
        request = Request(
            "POST",
            account.api_scheme,
            account.api_host,
            account.api_prefix + op,
            headers={"Content-Type": "application/json", "Content-Length": str(len(body))},
            body=Body(body),
        )
        broken = 0
        while True:
            try:
                response = self.transport.send(
                    request, _TokenAuth(self), stream=True, dialect=B2_DIALECT,
                    error_parser=parse_error,
                )  # fmt: skip
            except NoSuchBucket:
                bucket_id = params.get("bucketId")
                if isinstance(bucket_id, str):
                    self._forget_bucket_id(bucket_id)
                raise
            try:
                return response, _read_json(response)
            except TransportError:
                # The body broke on the way: ask again if asking again is harmless.
                broken += 1
                if op not in _IDEMPOTENT or broken >= self.transport.retry.max_attempts:
                    raise

    def _bucket_id(self, bucket: str) -> str:
        bucket_id = self._slot.bucket_ids.get(bucket)
        if bucket_id is None:
            self._find_bucket(bucket)
            bucket_id = self._slot.bucket_ids[bucket]
        return bucket_id

    def _find_bucket(self, bucket: str) -> Response:
        """b2_list_buckets for one name; caches its id, or raises NoSuchBucket."""
        account = self._account()
        response, obj = self._call(
            "b2_list_buckets", {"accountId": account.account_id, "bucketName": bucket}
        )
        for entry in _list(obj, "buckets"):
            if (
                isinstance(entry, dict)
                and entry.get("bucketName") == bucket
                and entry.get("accountId", account.account_id) == account.account_id
            ):
                self._slot.bucket_ids[bucket] = _str(entry, "bucketId")
                return response
        raise NoSuchBucket(
            404, "NoSuchBucket", "The specified bucket does not exist (or the key cannot see it)",
            resource=bucket,
        )  # fmt: skip

    def _forget_bucket_id(self, bucket_id: str) -> None:
        ids = self._slot.bucket_ids
        for name, known in list(ids.items()):
            if known == bucket_id:
                ids.pop(name, None)
        self._slot.drop_uploads("b:" + bucket_id)

    def _download_request(
        self, method: str, bucket: str, key: str, version_id: str | None, headers: dict[str, str]
    ) -> Request:
        account = self._account()
        if version_id:
            if not isinstance(version_id, str):
                raise TypeError("version_id must be a str (a B2 file id)")
            path = f"{account.download_base}/b2api/{API_VERSION}/b2_download_file_by_id"
            query = "fileId=" + quote(version_id, safe="")
        else:
            path = f"{account.download_base}/file/{bucket}/{quote(key, safe='/')}"
            query = ""
        if self._download is not None:
            path = self._download[2] + path[len(account.download_base) :]
            return Request(method, self._download[0], self._download[1], path, query, headers)
        return Request(method, account.download_scheme, account.download_host, path, query, headers)

    def _send_upload(
        self, request: Request, pool: str, fetch: Callable[[], _UploadTarget]
    ) -> tuple[Response, dict[str, Any]]:
        """Send an upload on a pooled upload URL (fresh ones on retries); the URL that worked
        goes back to the pool."""
        target = self._slot.take_upload(pool) or fetch()
        auth = _UploadAuth(target, fetch)
        request.scheme, request.host, request.path = target.scheme, target.host, target.path
        try:
            response = self.transport.send(
                request, auth, stream=True, dialect=B2_DIALECT, error_parser=parse_error
            )
            obj = _read_json(response)
        except ClientError as exc:
            # A plain refusal of the one upload attempt (bad name, no capability...): the URL
            # itself is fine. After a retry the error may be about fetching a new URL.
            if auth.attempts == 1 and exc.status < 500 and exc.status not in (401, 408, 429):
                self._slot.give_upload(pool, auth.target)
            raise
        self._slot.give_upload(pool, auth.target)
        return response, obj

    def _upload_url(self, bucket_id: str) -> _UploadTarget:
        _, obj = self._call("b2_get_upload_url", {"bucketId": bucket_id})
        return self._target(obj)

    def _part_url(self, file_id: str) -> _UploadTarget:
        try:
            _, obj = self._call("b2_get_upload_part_url", {"fileId": file_id})
        except InvalidRequest as exc:
            raise _no_such_upload(exc, file_id) from None
        return self._target(obj)

    @staticmethod
    def _target(obj: Mapping[str, Any]) -> _UploadTarget:
        scheme, host, path = _split_url(obj.get("uploadUrl"), "uploadUrl")
        return _UploadTarget(
            scheme, host, path, _token(obj, "authorizationToken"),
            time.monotonic() + UPLOAD_URL_AGE,
        )  # fmt: skip

    # --- objects -------------------------------------------------------------------------------
    def put_object(
        self,
        key: str,
        body: BodyLike,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        *,
        bucket: str | None = None,
        cache_control: str | None = None,
        content_disposition: str | None = None,
        content_encoding: str | None = None,
        content_language: str | None = None,
        expires: _dt.datetime | str | None = None,
        headers: Mapping[str, str] | None = None,
        content_length: int | None = None,
    ) -> Response:
        """Upload one file (b2_upload_file; at most 5 GB).

        `body` is bytes, str, a binary file object or an iterable of bytes. Streams are read
        once: their SHA-1 follows the body (`hex_digits_at_end`); a stream of unknown length
        (no `content_length`, not seekable) is spooled to a temporary file first. The content
        type is `b2/x-auto` (B2 picks it from the name) unless given; `cache_control` & co.
        are stored as B2's `b2-*` file info and come back as headers on download. Retries
        (each on a fresh upload URL) need a replayable body: bytes or a seekable file.

        `key`: the file name. `bucket`: the bucket (default the session's). `metadata`: file info
        (`x-bz-info-*`). `content_type`: default `b2/x-auto`. `cache_control`,
        `content_disposition`, `content_encoding`, `content_language`, `expires` (a datetime or HTTP
        date): stored as `b2-*` file info. `headers`: extra upload headers. `content_length`: the
        size of a stream of unknown length, so it is not spooled.
        """
        validate_key(key)
        bucket = self._bucket(bucket)
        info = _file_info(
            metadata, cache_control=cache_control, content_disposition=content_disposition,
            content_encoding=content_encoding, content_language=content_language,
            expires=expires,
        )  # fmt: skip
        name = _encode(key)
        hdrs: dict[str, str] = {"X-Bz-File-Name": name, "Content-Type": _content_type(content_type)}
        size = len(name)
        for info_name, value in info.items():
            encoded = _encode(value)
            size += len(info_name) + len(encoded)
            hdrs["X-Bz-Info-" + info_name] = encoded
        if size > MAX_INFO_BYTES:
            raise ValueError(
                f"file name and file info take {size} bytes; B2 allows at most {MAX_INFO_BYTES}"
            )
        if headers:
            hdrs.update(headers)
        prepared, sha1 = _prepare_upload(body, content_length)
        hdrs["X-Bz-Content-Sha1"] = sha1
        assert prepared.length is not None
        hdrs["Content-Length"] = str(prepared.length)
        bucket_id = self._bucket_id(bucket)
        request = Request("POST", "https", "", "", headers=hdrs, body=prepared)
        try:
            response, obj = self._send_upload(
                request, "b:" + bucket_id, lambda: self._upload_url(bucket_id)
            )
        except NoSuchBucket:
            self._forget_bucket_id(bucket_id)
            raise
        if sha1 != "hex_digits_at_end" and obj.get("contentSha1") not in (sha1, None):
            raise ChecksumMismatch(f"B2 stored SHA-1 {obj.get('contentSha1')}, sent {sha1}")
        return _apply_file(response, obj)

    def get_object(
        self,
        key: str,
        version_id: str | None = None,
        range_start: int | None = None,
        range_end: int | None = None,
        *,
        bucket: str | None = None,
        stream: bool | None = None,
        headers: Mapping[str, str] | None = None,
        resume: bool = True,
        max_size: int | None = None,
    ) -> Response:
        """Download a file by name (its latest version) or, with `version_id`, by file id;
        optionally the inclusive byte range `range_start`..`range_end`.

        Streamed by default (see the session's `stream`); close it or use `with`. If the
        connection breaks mid-body, the stream resumes where it stopped with a ranged download
        of the same file id, so two versions are never spliced.

        `key`: the file name. `bucket`: the bucket (default the session's). `stream`: leave the body
        unread (default: the session's `stream`). `headers`: extra request headers. `resume`:
        resume a broken stream (True) or raise `TransportError`.
        `max_size`: with `stream=False`, the largest body read into memory (a larger one is
        refused as `MalformedResponse` while it is read); default no bound.
        """
        validate_key(key)
        bucket = self._bucket(bucket)
        from .arguments import range_header

        hdrs: dict[str, str] = {}
        byte_range = range_header(range_start, range_end)
        if byte_range:
            hdrs["Range"] = byte_range
        if headers:
            hdrs.update(headers)
        request = self._download_request("GET", bucket, key, version_id, hdrs)
        stream = self.stream if stream is None else stream
        if not stream or not resume:
            response = self.transport.send(
                request, _TokenAuth(self), stream=stream, dialect=B2_DIALECT,
                error_parser=parse_error, ok=_ok_get, max_body=max_size,
            )  # fmt: skip
            return _fix_etag(response)
        raw = self.transport.send_raw(
            request, _TokenAuth(self), error_parser=parse_error, ok=_ok_get
        )
        resumer = self._resumer(bucket, raw, range_start or 0, range_end)
        return _fix_etag(
            Response(raw, B2_DIALECT, resume=resumer, max_resumes=self.transport.retry.max_attempts)
        )

    def _resumer(self, bucket: str, first: Any, start: int, end: int | None) -> Any:
        """A function that downloads the rest of a broken body from the same file id."""
        file_id = first.headers.get("x-bz-file-id")
        if not file_id:
            return None

        def resume(delivered: int) -> Any:
            at = start + delivered
            hdrs = {"Range": f"bytes={at}-{'' if end is None else end}"}
            request = self._download_request("GET", bucket, "", file_id, hdrs)
            try:
                raw = self.transport.send_raw(
                    request, _TokenAuth(self), error_parser=parse_error, ok=_ok_get
                )
            except NoSuchKey as exc:
                raise ObjectChanged(
                    f"file version {file_id} was deleted while it was being read; stopped "
                    f"after {delivered} bytes"
                ) from exc
            content_range = raw.headers.get("content-range", "")
            if (
                raw.status != 206
                or raw.headers.get("x-bz-file-id") != file_id
                or not content_range.startswith(f"bytes {at}-")
            ):
                raw.close()
                raw.release_conn()
                raise ObjectChanged(
                    f"resumed download did not continue file {file_id} at byte {at} "
                    f"(status {raw.status}, Content-Range {content_range!r})"
                )
            return raw

        return resume

    def head_object(
        self,
        key: str,
        version_id: str | None = None,
        *,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """The file's headers (size, type, SHA-1, file id, file info) without its body.

        `key`: the file name. `bucket`: the bucket (default the session's). `version_id`: one
        version (its file id).
        `headers`: extra request headers (B2's download headers).
        """
        validate_key(key)
        bucket = self._bucket(bucket)
        request = self._download_request("HEAD", bucket, key, version_id, dict(headers or {}))
        response = self.transport.send(
            request, _TokenAuth(self), dialect=B2_DIALECT, error_parser=parse_error
        )
        return _fix_etag(response)

    def hide_object(self, key: str, *, bucket: str | None = None) -> Response:
        """Hide a file name (b2_hide_file): B2's delete marker. The versions stay; the name
        drops out of `list_objects` and downloads by name. `NoSuchKey` if nothing is visible.

        `key`: the file name. `bucket`: the bucket (default the session's).
        """
        validate_key(key)
        bucket_id = self._bucket_id(self._bucket(bucket))
        try:
            response, obj = self._call("b2_hide_file", {"bucketId": bucket_id, "fileName": key})
        except ClientError as exc:
            if exc.code == "already_hidden":
                raise NoSuchKey(
                    exc.status, exc.code, exc.message, request_id=exc.request_id, resource=key
                ) from None
            raise
        return _apply_file(response, obj)

    def delete_object(
        self, key: str, version_id: str | None = None, *, bucket: str | None = None
    ) -> Response:
        """Delete one version (`version_id`, a file id) or every version of a file name,
        hide markers included. Deleting what is not there succeeds, as on S3.

        The response is the same for both (B2 has no single "delete" call): status 204, with
        `X-Bz-File-Id` of the last version deleted.

        `key`: the file name. `bucket`: the bucket (default the session's). `version_id`: delete
        only that version (file id).
        """
        validate_key(key)
        bucket = self._bucket(bucket)
        if version_id is not None:
            deleted = [version_id] if self._delete_version(key, version_id) else []
        else:
            deleted = [
                vid for vid in self._version_ids(bucket, key) if self._delete_version(key, vid)
            ]
        headers = {"X-Bz-File-Name": _encode(key)}
        if deleted:
            headers["X-Bz-File-Id"] = deleted[-1]
        return _synthetic(204, headers)

    def _delete_version(self, key: str, version_id: str) -> bool:
        """b2_delete_file_version; False if the version was not there."""
        if not isinstance(version_id, str) or not version_id:
            raise ValueError(
                f"version_id must be a non-empty str (a B2 file id), got {version_id!r}"
            )
        try:
            self._call("b2_delete_file_version", {"fileId": version_id, "fileName": key})
        except NoSuchKey:
            return False
        return True

    def _version_ids(self, bucket: str, key: str) -> list[str]:
        """The ids of every version (and hide marker) of exactly `key`."""
        bucket_id = self._bucket_id(bucket)
        ids: list[str] = []
        start_id: str | None = None
        while True:
            params: dict[str, Any] = {
                "bucketId": bucket_id, "startFileName": key, "prefix": key, "maxFileCount": 1000,
            }  # fmt: skip
            if start_id:
                params["startFileId"] = start_id
            _, obj = self._call("b2_list_file_versions", params)
            for entry in _list(obj, "files"):
                if not isinstance(entry, dict) or entry.get("fileName") != key:
                    continue
                if entry.get("action") in ("upload", "hide", "copy"):
                    ids.append(_str(entry, "fileId"))
            next_name, next_id = obj.get("nextFileName"), obj.get("nextFileId")
            if next_name != key or not isinstance(next_id, str) or next_id == start_id:
                return ids
            start_id = next_id

    def delete_objects(
        self,
        keys: Iterable[str | tuple[str, str | None] | Mapping[str, Any]] | None = None,
        prefix: str | None = None,
        purge: bool = True,
        *,
        bucket: str | None = None,
        raise_errors: bool = True,
    ) -> DeleteResult:
        """Delete many files in parallel.

        - `keys`: strings, `(key, version_id)` pairs or dicts with `key` (and `version_id`),
          such as listing items. Exclusive with `prefix`.
        - `prefix`: every file under it (`''`: the whole bucket).
        - `purge` (default True, as B2's `delete_object`): every version, hide markers
          included, of each key given without a version. False hides the names instead
          (b2_hide_file, B2's delete marker): the versions stay, recoverable.
        - `bucket`: default the session's.
        - `raise_errors`: every key is attempted, then `DeleteObjectsError` names the keys
          that failed; with False they are only reported in `DeleteResult.errors`.

        B2 has no batch delete: each version is one b2_delete_file_version, up to
        `max_pool_connections` at a time. `deleted` lists each version deleted (a key that
        had none is reported once, without a version id).
        """
        if (keys is None) == (prefix is None):
            raise ValueError("pass either keys or prefix")
        bucket = self._bucket(bucket)
        source: Iterable[tuple[str, str | None]]
        if prefix is not None:
            if not isinstance(prefix, str):
                raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
            source = (
                ((item["key"], item["version_id"]) for item in self.list_object_versions(
                    prefix, bucket=bucket))
                if purge
                else ((item["key"], None) for item in self.list_objects(prefix, bucket=bucket))
            )  # fmt: skip
        else:
            source = delete_entries(keys, validate_key)
        result = DeleteResult()
        workers = max(1, min(16, self.transport.max_pool_connections))
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers, thread_name_prefix="s3lite-b2-delete") as pool:
            batch: list[tuple[str, str | None]] = []
            for entry in source:
                batch.append(entry)
                if len(batch) == 1000:
                    self._delete_batch(pool, bucket, batch, result)
                    batch = []
            if batch:
                self._delete_batch(pool, bucket, batch, result, purge)
        return result.raise_errors() if raise_errors else result

    def _delete_batch(
        self,
        pool: Any,
        bucket: str,
        batch: list[tuple[str, str | None]],
        result: DeleteResult,
        purge: bool = True,
    ) -> None:
        def one(
            entry: tuple[str, str | None],
        ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
            key, version = entry
            try:
                if version is None and not purge:
                    try:
                        hidden = self.hide_object(key, bucket=bucket)
                    except NoSuchKey:
                        return [{"key": key, "version_id": None, "delete_marker": False}], None
                    marker = {"key": key, "version_id": hidden.version_id, "delete_marker": True}
                    return [marker], None
                if version is not None:
                    self._delete_version(key, version)
                    return [{"key": key, "version_id": version, "delete_marker": False}], None
                versions = self._version_ids(bucket, key)
                done = [
                    {"key": key, "version_id": vid, "delete_marker": False}
                    for vid in versions
                    if self._delete_version(key, vid)
                ]
                return done or [{"key": key, "version_id": None, "delete_marker": False}], None
            except (ClientError, TransportError) as exc:
                code = getattr(exc, "code", None) or type(exc).__name__
                message = getattr(exc, "message", None) or str(exc)
                return [], {"key": key, "version_id": version, "code": code,
                            "message": message}  # fmt: skip

        for deleted, error in pool.map(one, batch):
            result.deleted.extend(deleted)
            if error is not None:
                result.errors.append(error)

    # --- listings ----------------------------------------------------------------------------
    def list_objects(
        self,
        prefix: str = "",
        start_after: str | None = None,
        delimiter: str | None = None,
        max_keys: int | None = None,
        *,
        bucket: str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
    ) -> Listing[ObjectInfo]:
        """List file names (b2_list_file_names; hidden ones are left out), following every
        page lazily. Items are dicts with key, content_length, etag (the SHA-1),
        upload_timestamp and storage_class (None on B2); `iter_prefixes()` gives the "folders"
        when `delimiter` is given.

        `prefix`: only names starting with it. `start_after`: begin after this name.
        `delimiter`: group names into common prefixes. `max_keys` (alias `page_size`): names
        per API call (default 1000, at most 10,000), as in s3func: every name is still listed.
        `limit`: the most items in all. `bucket`: the bucket (default the session's).
        """
        from .arguments import page_size as listing_page_size

        bucket = self._bucket(bucket)
        page_size = listing_page_size(max_keys, page_size, 10000, default=1000)
        size = min(page_size, limit) if limit else page_size
        base: dict[str, Any] = {"maxFileCount": size}
        if prefix:
            base["prefix"] = prefix
        if delimiter:
            base["delimiter"] = delimiter

        def fetch(marker: str | None, _unused: str | None) -> ListPage[ObjectInfo]:
            params = {"bucketId": self._bucket_id(bucket), **base}
            skip = None
            if marker is not None:
                params["startFileName"] = marker
            elif start_after:
                params["startFileName"] = skip = start_after  # B2 starts at it, S3 after it
            _, obj = self._call("b2_list_file_names", params)
            items: list[ObjectInfo] = []
            prefixes: list[str] = []
            for entry in _list(obj, "files"):
                if not isinstance(entry, dict):
                    continue
                action = entry.get("action")
                if action == "folder":
                    prefixes.append(_str(entry, "fileName"))
                elif action == "upload" and entry.get("fileName") != skip:
                    items.append(_list_item(entry))
            next_name = obj.get("nextFileName")
            next_name = next_name if isinstance(next_name, str) and next_name else None
            return ListPage(items, prefixes, next_name is not None, next_name)

        return Listing(fetch, limit)

    def list_object_versions(
        self,
        prefix: str = "",
        key_marker: str | None = None,
        delimiter: str | None = None,
        max_keys: int | None = None,
        *,
        bucket: str | None = None,
        version_id_marker: str | None = None,
        limit: int | None = None,
        page_size: int | None = None,
    ) -> Listing[VersionInfo]:
        """List every version (b2_list_file_versions), newest first within a name; hide
        markers are items with `delete_marker=True`. Items add version_id (the file id),
        is_latest and delete_marker. `key_marker` (with `version_id_marker`) starts after
        that key (version), as on S3.

        `prefix`: only names starting with it. `delimiter`: group names into common prefixes
        (`iter_prefixes()`). `max_keys` (alias `page_size`): items per API call (default 1000,
        at most 10,000); `limit`: stop after this many items. `bucket`: the bucket (default the
        session's).
        """
        from .arguments import page_size as listing_page_size

        bucket = self._bucket(bucket)
        page_size = listing_page_size(max_keys, page_size, 10000, default=1000)
        size = min(page_size, limit) if limit else page_size
        base: dict[str, Any] = {"maxFileCount": size}
        if prefix:
            base["prefix"] = prefix
        if delimiter:
            base["delimiter"] = delimiter
        # The name of the version listed last: the first version of a name is its latest.
        # Per thread, so that two threads may iterate the same Listing.
        state = threading.local()

        def fetch(marker: str | None, version_marker: str | None) -> ListPage[VersionInfo]:
            params = {"bucketId": self._bucket_id(bucket), **base}
            skip_name = skip_id = None
            if marker is None and version_marker is None:
                # A fresh pass over the listing: start from the caller's markers, if any.
                state.last = key_marker if version_id_marker else None
                if key_marker:
                    params["startFileName"] = key_marker
                    if version_id_marker:
                        params["startFileId"] = skip_id = version_id_marker
                    else:
                        skip_name = key_marker
            else:
                if marker is not None:
                    params["startFileName"] = marker
                if version_marker is not None:
                    params["startFileId"] = version_marker
            _, obj = self._call("b2_list_file_versions", params)
            items: list[VersionInfo] = []
            prefixes: list[str] = []
            for entry in _list(obj, "files"):
                if not isinstance(entry, dict):
                    continue
                action = entry.get("action")
                name = entry.get("fileName")
                if action == "folder":
                    prefixes.append(_str(entry, "fileName"))
                    continue
                if action not in ("upload", "hide") or name == skip_name:
                    continue
                if skip_id is not None and entry.get("fileId") == skip_id:
                    continue
                item: VersionInfo = {
                    **_list_item(entry),
                    "version_id": _str(entry, "fileId"),
                    "is_latest": name != getattr(state, "last", None),
                    "delete_marker": action == "hide",
                }
                if action == "hide":
                    item["etag"] = None
                state.last = name
                items.append(item)
            next_name, next_id = obj.get("nextFileName"), obj.get("nextFileId")
            next_name = next_name if isinstance(next_name, str) and next_name else None
            next_id = next_id if isinstance(next_id, str) and next_id else None
            return ListPage(items, prefixes, next_name is not None, next_name, next_id)

        return Listing(fetch, limit)

    def list_multipart_uploads(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> Listing[UploadInfo]:
        """Unfinished large files (b2_list_unfinished_large_files) as dicts with key,
        upload_id (the large file's id) and initiated.

        `prefix`: only names starting with it. `bucket`: the bucket (default the session's).
        """
        bucket = self._bucket(bucket)

        def fetch(_unused: str | None, start_id: str | None) -> ListPage[UploadInfo]:
            params: dict[str, Any] = {"bucketId": self._bucket_id(bucket), "maxFileCount": 100}
            if prefix:
                params["namePrefix"] = prefix
            if start_id:
                params["startFileId"] = start_id
            _, obj = self._call("b2_list_unfinished_large_files", params)
            items: list[UploadInfo] = [
                {
                    "key": _str(entry, "fileName"),
                    "upload_id": _str(entry, "fileId"),
                    "initiated": _ms(entry.get("uploadTimestamp")),
                    "storage_class": None,
                }
                for entry in _list(obj, "files")
                if isinstance(entry, dict)
            ]
            next_id = obj.get("nextFileId")
            next_id = next_id if isinstance(next_id, str) and next_id else None
            return ListPage(items, [], next_id is not None, None, next_id)

        return Listing(fetch)

    def abort_multipart_uploads(
        self,
        prefix: str = "",
        *,
        bucket: str | None = None,
        older_than: _dt.timedelta | float | None = None,
    ) -> int:
        """Cancel the unfinished large files under `prefix` (b2_cancel_large_file; only those
        started more than `older_than` ago, a timedelta or seconds, when given); returns how
        many.

        `bucket`: the bucket (default the session's).
        """
        bucket = self._bucket(bucket)
        if isinstance(older_than, (int, float)):
            older_than = _dt.timedelta(seconds=older_than)
        cutoff = _dt.datetime.now(_dt.timezone.utc) - older_than if older_than else None
        stale = [
            u
            for u in self.list_multipart_uploads(prefix, bucket=bucket)
            if cutoff is None or (u["initiated"] is not None and u["initiated"] < cutoff)
        ]
        for upload in stale:
            with contextlib.suppress(NoSuchUpload):  # finished or cancelled meanwhile
                self._mp_abort(bucket, upload["key"], upload["upload_id"])
        return len(stale)

    # --- copy ----------------------------------------------------------------------------------
    def copy_object(
        self,
        source_key: str,
        dest_key: str,
        source_version_id: str | None = None,
        source_bucket: str | None = None,
        dest_bucket: str | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        *,
        metadata_directive: Literal["COPY", "REPLACE"] | None = None,
        cache_control: str | None = None,
        content_disposition: str | None = None,
        content_encoding: str | None = None,
        content_language: str | None = None,
        expires: _dt.datetime | str | None = None,
        if_match: str | None = None,
    ) -> Response:
        """Copy a file server-side (b2_copy_file, up to 5 GB), within or between buckets.

        The source is its latest version, or `source_version_id`. File info and content type
        are copied unless `metadata` or `content_type` is given (then they are replaced by
        what is given: `metadata_directive='REPLACE'`). `if_match` is checked against the
        SHA-1 of the very version that is then copied (`PreconditionFailed` otherwise).

        Positional order as s3func's S3Session: `source_key`, `dest_key`: the names;
        `source_version_id`: copy that version (file id); `source_bucket`, `dest_bucket`: their
        buckets (default the session's); `metadata`, `content_type`; then keyword-only:
        `metadata_directive`: see above; `cache_control`, `content_disposition`,
        `content_encoding`, `content_language`, `expires`: set on the copy (its file info is
        then replaced).
        """
        validate_key(source_key)
        validate_key(dest_key)
        src_bucket = self._bucket(source_bucket)
        dst_bucket = self._bucket(dest_bucket)
        if metadata_directive is None:
            metadata_directive = (
                "REPLACE" if metadata is not None or content_type is not None else "COPY"
            )
        if metadata_directive not in ("COPY", "REPLACE"):
            raise ValueError("metadata_directive must be 'COPY' or 'REPLACE'")
        params: dict[str, Any] = {"fileName": dest_key, "metadataDirective": metadata_directive}
        if metadata_directive == "REPLACE":
            params["contentType"] = _content_type(content_type)
            params["fileInfo"] = _file_info(
                metadata, cache_control=cache_control, content_disposition=content_disposition,
                content_encoding=content_encoding, content_language=content_language,
                expires=expires,
            )  # fmt: skip
        file_id = source_version_id
        if file_id is None or if_match is not None:
            head = self.head_object(source_key, bucket=src_bucket, version_id=source_version_id)
            file_id = head.version_id
            if not file_id:
                raise MalformedResponse("download response has no X-Bz-File-Id")
            if if_match is not None and head.etag != if_match.strip('"'):
                raise PreconditionFailed(
                    412, "PreconditionFailed",
                    f"the source's SHA-1 is {head.etag}, not {if_match}",
                    resource=source_key,
                )  # fmt: skip
        params["sourceFileId"] = file_id
        if dst_bucket != src_bucket:
            params["destinationBucketId"] = self._bucket_id(dst_bucket)
        try:
            response, obj = self._call("b2_copy_file", params)
        except InvalidRequest as exc:
            if source_version_id is not None and "sourceFileId" in exc.message:
                raise NoSuchKey(
                    exc.status, exc.code, exc.message, request_id=exc.request_id,
                    resource=source_key,
                ) from None  # fmt: skip
            raise
        return _apply_file(response, obj)

    # --- buckets -------------------------------------------------------------------------------
    def create_bucket(
        self,
        bucket: str | None = None,
        *,
        acl: str | None = None,
        bucket_type: str | None = None,
        object_lock: bool = False,
    ) -> Response:
        """Create a bucket: private unless `bucket_type='allPublic'` (or `acl='public-read'`).

        `bucket`: its name (default the session's bucket); `acl`: 'public-read' or 'private';
        `bucket_type`: B2's 'allPrivate' or 'allPublic'; `object_lock`: enable Object Lock (file
        retention) on it.
        """
        bucket = self._bucket(bucket)
        if bucket_type is None:
            if acl in (None, "private"):
                bucket_type = "allPrivate"
            elif acl == "public-read":
                bucket_type = "allPublic"
            else:
                raise ValueError(f"B2 buckets are private or public-read, not {acl!r}")
        account = self._account()
        params: dict[str, Any] = {
            "accountId": account.account_id, "bucketName": bucket, "bucketType": bucket_type,
        }  # fmt: skip
        if object_lock:
            params["fileLockEnabled"] = True
        try:
            response, obj = self._call("b2_create_bucket", params)
        except BucketAlreadyExists as exc:
            owned = True
            try:
                self._find_bucket(bucket)
            except NoSuchBucket:
                owned = False
            if owned:
                raise BucketAlreadyOwnedByYou(
                    exc.status, exc.code, exc.message, request_id=exc.request_id,
                    resource=bucket,
                ) from None  # fmt: skip
            raise
        self._slot.bucket_ids[bucket] = _str(obj, "bucketId")
        return response

    def delete_bucket(self, bucket: str | None = None) -> Response:
        """Delete an empty bucket (`BucketNotEmpty` while it holds any file version).

        `bucket`: the bucket (default the session's).
        """
        bucket = self._bucket(bucket)
        bucket_id = self._bucket_id(bucket)
        account = self._account()
        try:
            response, _ = self._call(
                "b2_delete_bucket", {"accountId": account.account_id, "bucketId": bucket_id}
            )
        finally:
            self._forget_bucket_id(bucket_id)
        return response

    def head_bucket(self, bucket: str | None = None) -> Response:
        """Check that a bucket exists and the key can see it (`NoSuchBucket` otherwise).

        `bucket`: the bucket (default the session's).
        """
        return self._find_bucket(self._bucket(bucket))

    def set_bucket_versioning(self, enabled: bool, bucket: str | None = None) -> None:
        """B2 buckets always keep versions: `True` is accepted (nothing to do); turning it off
        is not possible (use lifecycle rules to expire old versions).

        `enabled`: must be True on B2. `bucket`: the bucket (default the session's).
        """
        self._bucket(bucket)
        if not enabled:
            raise ValueError("B2 buckets always keep every version; versioning cannot be suspended")

    def list_buckets(self) -> list[dict[str, Any]]:
        """The buckets the key can see, as dicts with name, creation_date (None: B2 does not
        say), bucket_id and bucket_type."""
        account = self._account()
        params: dict[str, Any] = {"accountId": account.account_id}
        if account.allowed_bucket_id:
            params["bucketId"] = account.allowed_bucket_id
        _, obj = self._call("b2_list_buckets", params)
        buckets = []
        for entry in _list(obj, "buckets"):
            if isinstance(entry, dict) and entry.get("accountId", account.account_id) == (
                account.account_id
            ):
                name, bucket_id = _str(entry, "bucketName"), _str(entry, "bucketId")
                self._slot.bucket_ids[name] = bucket_id
                buckets.append(
                    {"name": name, "creation_date": None, "bucket_id": bucket_id,
                     "bucket_type": entry.get("bucketType")}
                )  # fmt: skip
        return buckets

    # --- keys and shared URLs -----------------------------------------------------------------
    def create_app_key(
        self,
        capabilities: Iterable[str],
        key_name: str,
        *,
        duration: int | None = None,
        bucket: str | None = None,
        prefix: str | None = None,
    ) -> B2AppKey:
        """Create an application key (b2_create_key) with these capabilities, optionally
        restricted to one bucket (and a file name prefix in it) and expiring after `duration`
        seconds.

        `capabilities`: B2 capability names such as 'listFiles', 'readFiles'; `key_name`: the key's
        name; `duration`: seconds until it expires (default never); `bucket`: restrict it to this
        bucket; `prefix`: and to names starting with this.
        """
        caps = [capabilities] if isinstance(capabilities, str) else list(capabilities)
        if not caps or not all(isinstance(c, str) and _CAPABILITY_RE.match(c) for c in caps):
            raise ValueError(f"capabilities must be a non-empty list of names, got {caps!r}")
        if not isinstance(key_name, str) or not _KEY_NAME_RE.match(key_name):
            raise ValueError("key_name must be 1-100 letters, digits and '-'")
        if duration is not None and (
            not isinstance(duration, int) or not 1 <= duration <= 1000 * 24 * 3600
        ):
            raise ValueError("duration must be between 1 and 86400000 seconds")
        if prefix is not None and bucket is None:
            raise ValueError("a name prefix needs a bucket")
        account = self._account()
        params: dict[str, Any] = {
            "accountId": account.account_id, "capabilities": caps, "keyName": key_name,
        }  # fmt: skip
        if duration is not None:
            params["validDurationInSeconds"] = duration
        if bucket is not None:
            params["bucketId"] = self._bucket_id(validate_bucket(bucket))
        if prefix is not None:
            params["namePrefix"] = prefix
        _, obj = self._call("b2_create_key", params)
        bucket_ids = obj.get("bucketIds")
        bucket_id = obj.get("bucketId")
        if bucket_id is None and isinstance(bucket_ids, list) and bucket_ids:
            bucket_id = bucket_ids[0]
        return B2AppKey(
            application_key_id=_str(obj, "applicationKeyId"),
            application_key=_str(obj, "applicationKey"),
            key_name=_str(obj, "keyName"),
            capabilities=tuple(c for c in obj.get("capabilities") or () if isinstance(c, str)),
            bucket_id=bucket_id if isinstance(bucket_id, str) else None,
            name_prefix=obj.get("namePrefix") if isinstance(obj.get("namePrefix"), str) else None,
            expires=_ms(obj.get("expirationTimestamp")),
        )

    def delete_app_key(self, application_key_id: str) -> None:
        """Delete an application key (b2_delete_key).

        `application_key_id`: the id of the key to delete.
        """
        if not isinstance(application_key_id, str) or not application_key_id:
            raise ValueError("application_key_id must be a non-empty str")
        self._call("b2_delete_key", {"applicationKeyId": application_key_id})

    def presign(
        self,
        method: str,
        key: str,
        expires_in: int | _dt.timedelta = 3600,
        *,
        bucket: str | None = None,
        prefix: str | None = None,
    ) -> str:
        """A download URL for `key` that works without credentials for `expires_in` (seconds
        or a timedelta, 1 s .. 7 days): the file's URL with a download-authorization token
        (b2_get_download_authorization) for the name prefix `prefix` (default: the key itself,
        so it also opens names that start with the key). GET and HEAD only.

        `method`: 'GET' or 'HEAD'. `bucket`: the bucket (default the session's).
        """
        method = method.upper()
        if method not in ("GET", "HEAD"):
            raise ValueError(f"B2 presigns downloads only (GET, HEAD), not {method!r}")
        validate_key(key)
        bucket = self._bucket(bucket)
        from .arguments import presign_seconds

        expires_in = presign_seconds(expires_in)
        if prefix is None:
            prefix = key
        elif not isinstance(prefix, str) or not key.startswith(prefix):
            raise ValueError("the key must start with prefix")
        _, obj = self._call(
            "b2_get_download_authorization",
            {"bucketId": self._bucket_id(bucket), "fileNamePrefix": prefix,
             "validDurationInSeconds": expires_in},
        )  # fmt: skip
        token = _str(obj, "authorizationToken")
        account = self._account()
        return (
            f"{self._download_url or account.download_url}/file/{bucket}/{quote(key, safe='/')}"
            f"?Authorization={quote(token, safe='')}"
        )

    # --- multipart (large files): the primitives of multipart.MultipartBackend ---------------
    def _mp_start(
        self,
        bucket: str,
        key: str,
        *,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
    ) -> str:
        """b2_start_large_file; the large file's id is the upload id."""
        validate_key(key)
        bucket_id = self._bucket_id(self._bucket(bucket))
        info = _file_info(metadata, headers=headers)
        from .multipart import abort_strays, start_was_ambiguous

        started, clock = self.transport.now(), time.monotonic()
        try:
            response, obj = self._call(
                "b2_start_large_file",
                {"bucketId": bucket_id, "fileName": key, "contentType": _content_type(content_type),
                 "fileInfo": info},
            )  # fmt: skip
            upload_id = _str(obj, "fileId")
        except BaseException as exc:
            if start_was_ambiguous(exc):
                abort_strays(self, bucket, key, None, started, time.monotonic() - clock)
            raise
        if response.attempts > 1:  # an earlier attempt may have started a large file too
            abort_strays(self, bucket, key, upload_id, started, time.monotonic() - clock)
        return upload_id

    def _mp_upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, data: PartData
    ) -> PartResult:
        """b2_upload_part on a part URL pooled for this large file; the SHA-1 is sent and
        returned for b2_finish_large_file. A file section is read once, as it is sent, with
        its SHA-1 appended (`hex_digits_at_end`)."""
        from .multipart import FileSection

        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 10000:
            raise ValueError(f"part number must be 1..10000, got {number!r}")
        size = len(data) if not isinstance(data, memoryview) else data.nbytes
        if size > MAX_UPLOAD_BYTES:
            raise ValueError(f"a B2 part holds at most {MAX_UPLOAD_BYTES} bytes")
        sha1: str | None
        if isinstance(data, FileSection):
            reader = cast("IO[bytes]", _Sha1Trailer(cast("IO[bytes]", data), size, 0))
            body, sha1, sent = Body(reader, size + _SHA1_TRAILER), None, "hex_digits_at_end"
        else:
            sha1 = hashlib.sha1(data).hexdigest()  # noqa: S324
            body, sent = Body(data), sha1
        hdrs = {
            "Content-Length": str(body.length),
            "X-Bz-Part-Number": str(number),
            "X-Bz-Content-Sha1": sent,
        }
        request = Request("POST", "https", "", "", headers=hdrs, body=body)
        try:
            _, obj = self._send_upload(request, "p:" + upload_id, lambda: self._part_url(upload_id))
        except InvalidRequest as exc:
            raise _no_such_upload(exc, upload_id) from None
        stored = obj.get("contentSha1")
        if sha1 is None:
            if not isinstance(stored, str) or len(stored) != 40:
                raise ChecksumMismatch(f"B2 did not return the SHA-1 of part {number}")
            sha1 = stored
        elif stored is not None and stored != sha1:
            raise ChecksumMismatch(f"B2 stored part {number} with SHA-1 {stored}, sent {sha1}")
        return PartResult(number, size, sha1=sha1)

    def _mp_complete(
        self, bucket: str, key: str, upload_id: str, parts: list[PartResult]
    ) -> Response:
        """b2_finish_large_file with the parts' SHA-1s in part order."""
        ordered = sorted(parts, key=lambda p: p.number)
        if any(p.sha1 is None for p in ordered):
            raise ValueError("every part needs its SHA-1 to finish a B2 large file")
        try:
            response, obj = self._call(
                "b2_finish_large_file",
                {"fileId": upload_id, "partSha1Array": [p.sha1 for p in ordered]},
            )
        except InvalidRequest as exc:
            return self._finished_already(exc, upload_id)
        finally:
            self._slot.drop_uploads("p:" + upload_id)
        return _apply_file(response, obj)

    def _finished_already(self, exc: InvalidRequest, upload_id: str) -> Response:
        """After b2_finish_large_file said bad_request: if the large file is a finished file
        now (an earlier attempt went through, only its response was lost), that file;
        `NoSuchUpload` if it is gone; else the original error (e.g. a part too small)."""
        try:
            response, obj = self._call("b2_get_file_info", {"fileId": upload_id})
        except NoSuchKey:
            raise _no_such_upload(exc, upload_id) from None
        except ClientError:
            raise exc from None  # still unfinished: the request itself was refused
        if obj.get("action") != "upload":
            raise exc
        return _apply_file(response, obj)

    def _mp_abort(self, bucket: str, key: str, upload_id: str) -> None:
        """b2_cancel_large_file: the parts are deleted."""
        self._slot.drop_uploads("p:" + upload_id)
        try:
            self._call("b2_cancel_large_file", {"fileId": upload_id})
        except InvalidRequest as exc:
            raise _no_such_upload(exc, upload_id) from None

    def _mp_list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartResult]:
        """Every part uploaded so far (b2_list_parts, all pages)."""
        parts: list[PartResult] = []
        start: int | None = None
        while True:
            params: dict[str, Any] = {"fileId": upload_id, "maxPartCount": 1000}
            if start is not None:
                params["startPartNumber"] = start
            try:
                _, obj = self._call("b2_list_parts", params)
            except InvalidRequest as exc:
                raise _no_such_upload(exc, upload_id) from None
            for entry in _list(obj, "parts"):
                if isinstance(entry, dict):
                    parts.append(
                        PartResult(
                            _int(entry, "partNumber"),
                            _int(entry, "contentLength"),
                            sha1=entry.get("contentSha1"),
                        )
                    )
            following = obj.get("nextPartNumber")
            if isinstance(following, bool) or not isinstance(following, int) or following == start:
                return parts
            start = following

    # --- locks ---------------------------------------------------------------------------------
    def lock(
        self,
        key: str,
        lock_id: str | None = None,
        *,
        ttl: float = 60.0,
        prefix: str | None = None,
        protocol: LockProtocol = "auto",
        exclusive: bool = True,
        bucket: str | None = None,
        heartbeat: float | None = None,
        clock_skew: float = 5.0,
    ) -> DistributedLock:
        """A distributed lock named `key`, kept in files under `prefix` (default
        ``"<key>.lock/"``), with `threading.Lock`'s methods; see `s3lite.lock`. B2 has no
        conditional writes: 'auto' means the two-object sequential protocol.

        `protocol`: 'auto' or 'sequential' ('conditional' is refused on B2). `ttl`: seconds a holder
        keeps the lock without renewing it; `exclusive`: False for a shared (reader) lock; `bucket`:
        where the lock files live (default the session's); `heartbeat`: seconds between renewals
        (default `ttl` / 3); `clock_skew`: seconds of clock difference between hosts to
        tolerate. `lock_id`: re-attach to the entries of an existing lock id (`ValueError` if
        none).
        """
        from .lock import DistributedLock

        return DistributedLock(
            self, key, ttl=ttl, prefix=prefix, protocol=protocol, exclusive=exclusive,
            bucket=bucket, heartbeat=heartbeat, clock_skew=clock_skew, lock_id=lock_id,
        )  # fmt: skip

    # --- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the session's pooled connections (the process-wide authorization stays)."""
        self.transport.close()

    def __enter__(self) -> B2Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"B2Session(api_url={self.api_url!r}, bucket={self.bucket!r}, "
            f"access_key_id={self.access_key_id!r})"
        )

    # --- any native API call ---------------------------------------------------------------------
    def request(
        self,
        api_name: str,
        params: Mapping[str, Any] | None = None,
        *,
        bucket: str | None = None,
    ) -> dict[str, Any]:
        """Call any B2 native API operation that s3lite does not wrap and return its JSON
        reply as a dict; errors are typed as for every other call.

        `api_name`: the operation, e.g. ``"b2_get_bucket_notification_rules"`` (sent to the
        API URL of this account's authorization, with its token). `params`: the JSON
        parameters. `bucket`: a bucket name whose id is added as ``bucketId`` (the one
        most operations need); `session.account_id` gives ``accountId``.
        """
        if not isinstance(api_name, str) or not re.match(r"^b2_[a-z0-9_]+$", api_name):
            raise ValueError(
                f"api_name must be a B2 operation such as 'b2_list_buckets', got {api_name!r}"
            )
        payload = dict(params or {})
        if bucket is not None:
            payload.setdefault("bucketId", self._bucket_id(self._bucket(bucket)))
        _, obj = self._call(api_name, payload)
        return obj

    @property
    def account_id(self) -> str:
        """The account id of this session's key (from b2_authorize_account)."""
        return self._account().account_id


def _list_item(entry: Mapping[str, Any]) -> ObjectInfo:
    size = entry.get("contentLength")
    return {
        "key": _str(entry, "fileName"),
        "content_length": size if isinstance(size, int) and not isinstance(size, bool) else 0,
        "etag": _etag_of(entry.get("contentSha1"), entry.get("fileInfo")),
        "upload_timestamp": _ms(entry.get("uploadTimestamp")),
        "storage_class": None,
    }


def _no_such_upload(exc: ClientError, upload_id: str) -> ClientError:
    """B2 answers a finished, cancelled or unknown large file id with 400 bad_request."""
    if exc.code != "bad_request":
        return exc
    return NoSuchUpload(
        exc.status, exc.code, exc.message, request_id=exc.request_id, resource=upload_id
    )
