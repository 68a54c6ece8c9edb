"""The Backblaze B2 native API over real HTTP on 127.0.0.1, backed by b2sdk's RawSimulator.

Buckets, files, keys and large files live in Backblaze's own model (``b2sdk.v2.RawSimulator``);
this module is the HTTP adapter around it. Comments marked "Added" or "Fixed" show where it
fills a gap in the simulator. Served: ``/b2api/{v2,v3,v4}/<call>`` (GET with query parameters
or POST with JSON), upload URLs ``/b2api/vN/b2_upload_file/<bucketId>/<n>`` and
``/b2api/vN/b2_upload_part/<fileId>/<n>``, ``GET/HEAD /file/<bucket>/<name>`` and
``GET/HEAD/POST /b2api/vN/b2_download_file_by_id``. See ``B2TestServer``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import itertools
import json
import logging
import mimetypes
import re
import socket
import socketserver
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import b2sdk.v2 as b2
from b2sdk.v2 import exception as b2x

__all__ = ["B2TestServer"]

log = logging.getLogger(__name__)

_SIM_API = b2.RawSimulator.API_URL  # the simulator checks that calls name its own URL
_CHUNK = 1 << 20  # socket read size for request bodies
_DRAIN_LIMIT = 256 << 20  # unread bodies up to this size are drained to keep the connection
_MAX_UPLOAD = 5 * 10**9  # B2's limit for one b2_upload_file or one part
_FIRST_FILE_NUMBER = 10**12 - 1  # file ids count down from here, all 12 digits wide
_HEX40 = re.compile(r"[0-9a-f]{40}")
_JSON = "application/json;charset=utf-8"
_INT_PARAMS = {"maxFileCount", "maxPartCount", "startPartNumber", "maxKeyCount", "partNumber"}
_INT_PARAMS |= {"validDurationInSeconds", "ifRevisionIs"}
_BOOL_PARAMS = {"bypassGovernance", "fileLockEnabled"}
_FORBIDDEN_UPLOAD_HEADERS: tuple[str, ...] = (
    "content-disposition",
    "content-encoding",
    "content-language",
)
_FORBIDDEN_UPLOAD_HEADERS += ("content-location", "content-range", "expires")
_UNSUPPORTED_UPLOAD_HEADERS: tuple[str, ...] = (
    "x-bz-server-side-encryption-customer-",
    "x-bz-file-legal-hold",
)
_UNSUPPORTED_UPLOAD_HEADERS += ("x-bz-file-retention-",)
_DOWNLOAD_OPS = {"download_file_by_name", "b2_download_file_by_id"}
_LARGE_FILE_OPS = {"b2_finish_large_file", "b2_cancel_large_file", "b2_list_parts"}
# Calls passed straight to the simulator: (method, request fields after apiUrl and token).
_SIMPLE_OPS = {
    "b2_update_bucket": (
        "update_bucket",
        "accountId bucketId ?bucketType ?bucketInfo ?corsRules ?lifecycleRules ?ifRevisionIs",
    ),
    "b2_delete_file_version": ("delete_file_version", "fileId fileName ?bypassGovernance"),
    "b2_finish_large_file": ("finish_large_file", "fileId partSha1Array"),
    "b2_cancel_large_file": ("cancel_large_file", "fileId"),
    "b2_list_parts": ("list_parts", "fileId ?startPartNumber ?maxPartCount"),
    "b2_list_unfinished_large_files": (
        "list_unfinished_large_files",
        "bucketId ?startFileId ?maxFileCount ?namePrefix",
    ),
}
_JSON_OPS = {"b2_authorize_account", *_SIMPLE_OPS}  # and B2TestServer._op_* below
# What the simulator raises -> what the real service answers.
_ERRORS: list[tuple[type[Exception], int, str]] = [
    (b2x.FileSha1Mismatch, 400, "bad_request"),
    (b2x.PartSha1Mismatch, 400, "bad_request"),
    (b2x.UnsatisfiableRange, 416, "range_not_satisfiable"),
    (b2x.DuplicateBucketName, 400, "duplicate_bucket_name"),
    (b2x.ChecksumMismatch, 400, "part_sha1_mismatch"),
    (b2x.MissingPart, 400, "missing_part"),
    (b2x.BadJson, 400, "bad_json"),
    (b2x.Conflict, 409, "conflict"),
    (b2x.AccessDenied, 403, "access_denied"),
    (b2x.DisablingFileLockNotSupported, 400, "file_lock_conflict"),
    (b2x.SourceReplicationConflict, 400, "source_replication_conflict"),
]


class _B2Error(Exception):
    """An error response: B2's JSON body ``{"status", "code", "message"}`` with that status."""

    def __init__(self, status: int, code: str, message: str, headers: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers: dict[str, str] = headers or {}


class _ClientGone(Exception):
    """The client hung up in the middle of a request."""


class _Params(dict[str, Any]):
    """Request parameters; a missing required one is 400 bad_request."""

    def __missing__(self, key: str) -> Any:
        raise _B2Error(400, "bad_request", f"required field {key} is missing")


@dataclass
class _Fault:
    status: int
    code: str
    remaining: int
    retry_after: int | None
    operation: str | None
    message: str


@dataclass
class _Call:
    version: str
    params: _Params
    token: str
    key: Any  # the simulator's KeySimulator


class _Body:
    """A request body already read from the socket, handed to the simulator as is."""

    def __init__(self, data: bytearray) -> None:
        self.data = data


def _timestamps() -> Iterator[int]:
    last = 0
    while True:
        last = max(int(time.time() * 1000), last + 1)
        yield last


class _File(b2.FileSimulator):
    def finish(self, part_sha1_array: list[str]) -> None:
        # Added: B2's minimum part size for all parts but the last.
        parts = [part for part in self.parts if part is not None]
        if not parts:
            raise b2x.BadRequest("no parts have been uploaded", "bad_request")
        minimum = self.bucket.api.min_part_size
        for part in parts[:-1]:
            if part.content_length < minimum:
                message = f"Part number {part.part_number} is smaller than the minimum part size"
                raise b2x.BadRequest(f"{message} ({minimum} bytes)", "bad_request")
        super().finish(part_sha1_array)
        for part in parts:  # the finished file holds the joined data; don't keep it twice
            part.part_data = b""


class _Bucket(b2.BucketSimulator):
    FILE_SIMULATOR_CLASS = _File
    FIRST_FILE_NUMBER = _FIRST_FILE_NUMBER
    FIRST_FILE_ID = str(_FIRST_FILE_NUMBER)
    MAX_SIMPLE_COPY_SIZE = 5 * 10**9  # Fixed: B2's b2_copy_file limit (the simulator: 200 bytes)

    def __init__(self, api: _Simulator, *args: Any, **kwargs: Any) -> None:
        # Fixed: real buckets are unencrypted by default (the simulator defaults to SSE-B2).
        if kwargs.get("default_server_side_encryption") is None:
            kwargs["default_server_side_encryption"] = b2.SSE_NONE
        super().__init__(api, *args, **kwargs)
        # Fixed: the simulator runs out after 200 upload URLs or 4999 files per bucket, and
        # its upload timestamps start at 5000 ms; use endless counters and real milliseconds.
        self.upload_url_counter = itertools.count()
        self.upload_timestamp_counter = _timestamps()

    def _next_file_id(self) -> str:
        return str(self.api.next_file_id())  # Fixed: ids unique across buckets, not per bucket

    def _simulate_chunked_post(self, stream: Any, *args: Any, **kwargs: Any) -> Any:
        # The body came over a real socket already; don't read and copy it twice more.
        if isinstance(stream, _Body):
            return stream.data
        return super()._simulate_chunked_post(stream, *args, **kwargs)


class _Simulator(b2.RawSimulator):
    BUCKET_SIMULATOR_CLASS = _Bucket

    def __init__(self, min_part_size: int) -> None:
        super().__init__()
        self.min_part_size = min_part_size
        self.bucket_id_counter = itertools.count()  # Fixed: the simulator stops at 100 buckets
        self._file_numbers = itertools.count(_FIRST_FILE_NUMBER, -1)

    def next_file_id(self) -> str:
        return str(next(self._file_numbers))


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"not JSON serializable: {value!r}")


def _query_params(query: str) -> _Params:
    params = _Params()
    for key, (value, *_) in parse_qs(query, keep_blank_values=True).items():
        try:
            if key in _INT_PARAMS:
                params[key] = int(value)
            elif key in _BOOL_PARAMS:
                params[key] = value == "true"
            else:
                params[key] = json.loads(value) if value.startswith(("[", "{")) else value
        except ValueError:
            raise _B2Error(400, "bad_request", f"bad value for {key}: {value}") from None
    return params


def _content_type(value: str | None, file_name: str) -> str:
    if not value:
        raise _B2Error(400, "bad_request", "Content-Type is required")
    if value == "b2/x-auto":  # B2 picks the type from the extension
        return mimetypes.guess_type(file_name)[0] or "application/octet-stream"
    return value


def _check_file_name(name: str) -> str:
    if (
        not 1 <= len(name.encode()) <= 1024
        or any(ord(ch) < 32 or ch == "\x7f" for ch in name)
        or name.startswith("/")
        or name.endswith("/")
        or "//" in name
        or max(len(segment.encode()) for segment in name.split("/")) > 250
    ):
        raise _B2Error(400, "bad_request", f"Invalid file name: {name!r}")
    return name


def _file_info(info: dict[str, Any] | None) -> dict[str, str]:
    info = {str(k).lower(): str(v) for k, v in (info or {}).items()}  # B2 lowercases keys
    if len(info) > 10:
        raise _B2Error(400, "bad_request", "at most 10 file info entries are allowed")
    return info


def _sse(value: dict[str, Any] | None) -> Any:
    """An encryption setting from JSON; SSE-B2 or none (SSE-C is not served here)."""
    mode = (value or {}).get("mode")
    if mode in (None, "none"):
        return None
    if mode == "SSE-B2" and value and value.get("algorithm", "AES256") == "AES256":
        return b2.SSE_B2_AES
    raise _B2Error(400, "bad_request", f"encryption {value} is not supported by this test server")


def _byte_range(value: str | None) -> tuple[int, int] | None:
    match = re.fullmatch(r"bytes=(\d+)-(\d+)", value or "")
    if value is not None and not match:
        raise _B2Error(400, "bad_request", f"invalid range: {value}")
    return (int(match[1]), int(match[2])) if match else None


def _part_number(value: Any) -> int:
    number = int(value) if str(value).isdigit() else 0
    if not 1 <= number <= 10000:
        raise _B2Error(400, "bad_request", "Part number must be in range 1 - 10000")
    return number


def _download_range(header: str | None, size: int) -> tuple[int, int] | None:
    """A single ``Range: bytes=`` header, clamped to the file; anything else means all of it."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header or "")
    if not match or match.groups() == ("", ""):
        return None
    if match[1] and match[2] and int(match[2]) < int(match[1]):
        return None
    if match[1]:
        start, end = int(match[1]), min(int(match[2] or size - 1), size - 1)
    else:
        start, end = (size - int(match[2]) if int(match[2]) else size), size - 1
    if start >= size:
        message = "The range in the request is outside the size of the file"
        raise _B2Error(416, "range_not_satisfiable", message, {"Content-Range": f"bytes */{size}"})
    return max(start, 0), end


def _translate(exc: Exception, op: str) -> _B2Error:
    """Turn what the simulator raised into what the real service sends."""
    not_found = op in _DOWNLOAD_OPS or op == "b2_get_file_info"
    if isinstance(exc, _B2Error):
        return exc
    if isinstance(exc, b2x.Unauthorized):  # includes InvalidAuthToken
        code = {"auth_token_expired": "expired_auth_token"}.get(exc.code, exc.code)
        return _B2Error(401, code or "unauthorized", str(exc))
    if isinstance(exc, b2x.NonExistentBucket):
        if not_found:
            return _B2Error(404, "not_found", str(exc))
        return _B2Error(400, "bad_bucket_id", str(exc))
    if isinstance(exc, b2x.FileNotPresent | KeyError):
        if not_found:
            return _B2Error(404, "not_found", f"File not present: {exc}")
        if isinstance(exc, KeyError):
            return _B2Error(400, "bad_request", f"invalid id: {exc}")
        return _B2Error(400, "file_not_present", str(exc))
    if isinstance(exc, b2x.BadRequest):
        too_big = re.match(r"Copy source too big: \d+$", exc.message)
        return _B2Error(
            400, "source_too_large" if too_big else exc.code or "bad_request", exc.message
        )
    for cls, status, code in _ERRORS:
        if isinstance(exc, cls):
            sha1 = isinstance(exc, b2x.FileSha1Mismatch | b2x.PartSha1Mismatch)
            return _B2Error(
                status, code, "checksum did not match data received" if sha1 else str(exc)
            )
    if isinstance(exc, b2x.B2Error | AssertionError | ValueError | TypeError):
        return _B2Error(400, "bad_request", str(exc) or type(exc).__name__)
    log.exception("b2 test server: unexpected error in %s", op)
    return _B2Error(500, "internal_error", repr(exc))


class B2TestServer:
    """A threaded B2 native API server on 127.0.0.1, delegating to b2sdk's RawSimulator.

    ``recommended_part_size`` and ``absolute_minimum_part_size`` are what b2_authorize_account
    reports (real B2: 100 MB and 5 MB); b2_finish_large_file enforces the minimum for all parts
    but the last. Both can be changed at any time.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        recommended_part_size: int = 5_000_000,
        absolute_minimum_part_size: int = 5_000_000,
    ) -> None:
        self.port = port
        self.recommended_part_size = recommended_part_size
        self.simulator = _Simulator(absolute_minimum_part_size)
        self.calls: Counter[str] = Counter()
        self._lock = threading.RLock()  # guards the simulator and everything below
        self._faults: list[_Fault] = []
        self._upload_tokens: dict[str, tuple[str, str]] = {}  # -> (URL path, simulator URL)
        self._expired_upload_tokens: set[str] = set()
        self._uploads_in_flight: set[str] = set()
        self._download_tokens: dict[str, tuple[str, str, float]] = {}  # -> bucket, prefix, end
        self._serial = itertools.count(1)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._api_url = ""

    @property
    def api_url(self) -> str:
        """The realm URL to authorize against, and every apiUrl/downloadUrl handed out."""
        if not self._api_url:
            raise RuntimeError("B2TestServer is not started")
        return self._api_url

    @property
    def absolute_minimum_part_size(self) -> int:
        return int(self.simulator.min_part_size)

    @absolute_minimum_part_size.setter
    def absolute_minimum_part_size(self, value: int) -> None:
        self.simulator.min_part_size = value

    def start(self) -> B2TestServer:
        if self._httpd is None:
            self._httpd = _HTTPServer(self, self.port)
            self._api_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, args=(0.05,), name="b2-test-server", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.close_connections()
            self._httpd.server_close()
            if self._thread is not None:
                self._thread.join()
            self._httpd = self._thread = None

    def __enter__(self) -> B2TestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- test hooks ----------------------------------------------------------------------------

    def create_account(self) -> tuple[str, str]:
        """A new account: (application key id, application key) of its master key."""
        with self._lock:
            key_id, key = self.simulator.create_account()
            return str(key_id), str(key)

    def create_bucket(
        self, key_id: str, key: str, name: str, bucket_type: str = "allPrivate"
    ) -> str:
        """Create a bucket without HTTP (not counted in ``calls``); returns its id."""
        with self._lock:
            auth = self.simulator.authorize_account(_SIM_API, key_id, key)
            try:
                bucket = self._create_bucket(
                    auth["authorizationToken"], auth["accountId"], name, bucket_type
                )
            except Exception as exc:
                raise _translate(exc, "b2_create_bucket") from exc
            return str(bucket["bucketId"])

    def expire_auth_tokens(self, *, include_upload_tokens: bool = False) -> None:
        """Every account token issued so far now gets 401 expired_auth_token."""
        with self._lock:
            self.simulator.expired_auth_tokens.update(self.simulator.auth_token_to_key)
            if include_upload_tokens:
                self._expired_upload_tokens.update(self._upload_tokens)

    def inject(
        self,
        status: int,
        code: str,
        *,
        count: int = 1,
        retry_after: int | None = None,
        operation: str | None = None,
        message: str = "injected fault",
    ) -> None:
        """The next ``count`` requests (for ``operation`` only, if given) get this error.

        Operations are API call names (``b2_list_file_names``, ``b2_upload_file``,
        ``b2_upload_part``, ``b2_download_file_by_id``, …) and ``download_file_by_name``. The
        request is not executed (its body is read and dropped); it is counted in ``calls``.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(_Fault(status, code, count, retry_after, operation, message))

    def reset_counts(self) -> None:
        with self._lock:
            self.calls.clear()

    # -- plumbing --------------------------------------------------------------------------------

    def _begin(self, op: str) -> None:
        """Count a request and raise the injected fault that is due, if any."""
        with self._lock:
            self.calls[op] += 1
            fault = next((f for f in self._faults if f.operation in (None, op)), None)
            if fault is not None:
                fault.remaining -= 1
                if not fault.remaining:
                    self._faults.remove(fault)
                retry = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                raise _B2Error(fault.status, fault.code, fault.message, retry)

    def _check_token(self, auth: str) -> tuple[str, Any]:
        token, sim = auth.strip(), self.simulator
        key = sim.auth_token_to_key.get(token)
        if key is None or sim.key_id_to_key.get(key.application_key_id) is not key:
            raise _B2Error(401, "bad_auth_token", "Invalid authorization token")
        if token in sim.expired_auth_tokens:
            raise _B2Error(401, "expired_auth_token", "Authorization token has expired")
        return token, key

    def _run(self, op: str, function: Any, *args: Any) -> Any:
        """Call ``function`` holding the lock, with errors as the real service words them."""
        with self._lock:
            try:
                return function(*args)
            except Exception as exc:
                raise _translate(exc, op) from exc

    def _json_call(self, version: str, op: str, params: _Params, auth: str) -> Any:
        if op == "b2_authorize_account":
            return self._authorize(version, auth)
        call = _Call(version, params, *self._check_token(auth))
        if op in _LARGE_FILE_OPS:
            self._large_file(params["fileId"])
        if op in _SIMPLE_OPS:
            method, fields = _SIMPLE_OPS[op]
            args = [params.get(f[1:]) if f[0] == "?" else params[f] for f in fields.split()]
            return self._sim(method, call, *args)
        return getattr(self, "_op_" + op[3:])(call)

    def _sim(self, method: str, c: _Call, *args: Any) -> Any:
        return getattr(self.simulator, method)(_SIM_API, c.token, *args)

    def _assert_auth(self, token: str, bucket: Any, capability: str, name: str | None) -> None:
        self.simulator._assert_account_auth(
            _SIM_API, token, bucket.account_id, capability, bucket.bucket_id, name
        )

    def _bucket(self, bucket_id: str) -> Any:
        if bucket_id not in self.simulator.bucket_id_to_bucket:
            raise b2x.NonExistentBucket(bucket_id)
        return self.simulator.bucket_id_to_bucket[bucket_id]

    def _file(self, file_id: str, *actions: str) -> Any:
        """The file with this id (None if missing), which must have one of ``actions``."""
        bucket_id = self.simulator.file_id_to_bucket_id.get(file_id)
        bucket = self.simulator.bucket_id_to_bucket.get(bucket_id)
        file = bucket and bucket.file_id_to_file.get(file_id)
        if file and actions and file.action not in actions:
            raise _B2Error(400, "bad_request", f"Invalid fileId for this call: {file_id}")
        return file

    def _latest(self, bucket: Any, name: str) -> Any:
        """The newest version of ``name`` that is not an unfinished large file, or None."""
        ids = [i for (n, i), f in bucket.file_name_and_id_to_file.items() if n == name]
        files = [bucket.file_name_and_id_to_file[(name, i)] for i in sorted(ids)]
        return next((f for f in files if f.action != "start"), None)

    def _large_file(self, file_id: str) -> Any:
        file = self._file(file_id)
        if file is None or file.action != "start":
            raise _B2Error(400, "bad_request", f"No active upload for: {file_id}")
        return file

    # -- JSON operations -------------------------------------------------------------------------

    def _authorize(self, version: str, auth: str) -> dict[str, Any]:
        scheme, _, encoded = auth.partition(" ")
        try:
            key_id, colon, key = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            colon = ""
        if scheme != "Basic" or not colon:
            raise _B2Error(401, "bad_auth_token", "Basic authorization with keyId:key required")
        key_sim = self.simulator.key_id_to_key.get(key_id)
        expires = key_sim and key_sim.expiration_timestamp_or_none
        if expires and expires < time.time():  # Added: the simulator ignores key expiry
            raise _B2Error(401, "unauthorized", "application key has expired")
        res = self.simulator.authorize_account(self.api_url, key_id, key)
        allowed = res["apiInfo"]["storageApi"]["allowed"]  # bucketId, bucketName, capabilities, …
        storage = {
            "absoluteMinimumPartSize": self.absolute_minimum_part_size,
            "apiUrl": self.api_url,
            "downloadUrl": self.api_url,
            "recommendedPartSize": self.recommended_part_size,
            "s3ApiUrl": self.api_url,  # no S3 here, but never hand out a foreign host
        }
        head = {"accountId": res["accountId"], "authorizationToken": res["authorizationToken"]}
        if version == "v2":  # v2 had it all at the top level
            return {**head, **storage, "allowed": allowed}
        if version == "v3":
            storage.update(allowed)
        else:  # v4: a list of buckets under "allowed"
            bucket = allowed["bucketId"] and {
                "id": allowed["bucketId"],
                "name": allowed["bucketName"],
            }
            allowed = {**allowed, "buckets": [bucket] if bucket else None}
            del allowed["bucketId"], allowed["bucketName"]
            storage["allowed"] = allowed
        return {
            **head,
            "apiInfo": {"groupsApi": {}, "storageApi": {**storage, "infoType": "storageApi"}},
            "applicationKeyExpirationTimestamp": expires and expires * 1000,
        }

    def _create_bucket(self, token: str, account_id: str, name: str, kind: str, **kw: Any) -> Any:
        # Added: B2's length and reserved-prefix rules (the simulator checks characters only).
        if not 6 <= len(name) <= 63 or name.lower().startswith("b2-"):
            raise _B2Error(400, "bad_request", f"Invalid bucketName: {name}")
        return self.simulator.create_bucket(_SIM_API, token, account_id, name, kind, **kw)

    def _op_create_bucket(self, c: _Call) -> Any:
        p = c.params
        return self._create_bucket(
            c.token,
            p["accountId"],
            p["bucketName"],
            p["bucketType"],
            bucket_info=p.get("bucketInfo"),
            cors_rules=p.get("corsRules"),
            lifecycle_rules=p.get("lifecycleRules"),
            default_server_side_encryption=_sse(p.get("defaultServerSideEncryption")),
            is_file_lock_enabled=p.get("fileLockEnabled"),
        )

    def _op_list_buckets(self, c: _Call) -> Any:
        p = c.params
        res = self._sim("list_buckets", c, p["accountId"], p.get("bucketId"), p.get("bucketName"))
        if p.get("bucketTypes") and "all" not in p["bucketTypes"]:
            res["buckets"] = [b for b in res["buckets"] if b["bucketType"] in p["bucketTypes"]]
        return res

    def _op_delete_bucket(self, c: _Call) -> Any:
        bucket = self._bucket(c.params["bucketId"])
        self._assert_auth(c.token, bucket, "deleteBuckets", None)
        if bucket.file_id_to_file:  # Added: the simulator deletes non-empty buckets
            raise _B2Error(400, "cannot_delete_non_empty_bucket", "Bucket is not empty")
        return self._sim("delete_bucket", c, c.params["accountId"], bucket.bucket_id)

    def _upload_url(self, c: _Call, kind: str, owner: str, sim_url: str, n: str) -> dict[str, str]:
        """Rewrite an upload URL from the simulator's to ours, with a token of its own."""
        path = f"/b2api/{c.version}/{kind}/{owner}/{n}"
        token = f"upload-token-{next(self._serial)}"
        self._upload_tokens[token] = (path, sim_url)
        return {"uploadUrl": self.api_url + path, "authorizationToken": token}

    def _op_get_upload_url(self, c: _Call) -> Any:
        """Fixed: the simulator checks a bucket-restricted key against no bucket (so refuses
        it); the key's bucket is checked here and the bucket hands out the URL."""
        bucket_id = c.params["bucketId"]
        bucket = self._bucket(bucket_id)
        self._assert_auth(c.token, bucket, "writeFiles", None)
        sim_url = bucket.get_upload_url(c.token)["uploadUrl"]  # …/<bucket>/<n>/<token>
        n = sim_url.split("/")[4]
        return {
            "bucketId": bucket_id,
            **self._upload_url(c, "b2_upload_file", bucket_id, sim_url, n),
        }

    def _op_get_upload_part_url(self, c: _Call) -> Any:
        file_id = self._large_file(c.params["fileId"]).file_id
        bucket = self._bucket(self.simulator.file_id_to_bucket_id[file_id])
        self._assert_auth(c.token, bucket, "writeFiles", None)  # Fixed as b2_get_upload_url
        sim_url = bucket.get_upload_part_url(c.token, file_id)["uploadUrl"]
        n = str(next(self._serial))
        return {"fileId": file_id, **self._upload_url(c, "b2_upload_part", file_id, sim_url, n)}

    def _list(self, c: _Call, *, versions: bool) -> dict[str, Any]:
        """b2_list_file_names / b2_list_file_versions over the simulator's files.

        Added: ``delimiter`` (B2 returns one ``action: "folder"`` entry per common prefix; the
        simulator ignores it). Fixed: an unfinished large file no longer hides the older versions
        of its name from b2_list_file_names, and ``nextFileName``/``nextFileId`` name the next
        entry (null at the end), as B2 does.
        """
        p = c.params
        bucket = self._bucket(p["bucketId"])
        self._assert_auth(c.token, bucket, "listFiles", p.get("prefix"))
        prefix, delimiter = p.get("prefix") or "", p.get("delimiter") or ""
        start, start_id = p.get("startFileName") or "", p.get("startFileId") or ""
        count = p.get("maxFileCount") or 100
        if not isinstance(count, int) or not 1 <= count <= 10000:
            raise _B2Error(400, "bad_request", "maxFileCount must be from 1 to 10000")
        items, decided = [], None
        for name, file_id in sorted(bucket.file_name_and_id_to_file):  # newest version first
            file = bucket.file_name_and_id_to_file[(name, file_id)]
            if not name.startswith(prefix) or name < start:
                continue
            if versions:
                if not (start_id and name == start and int(file_id) < int(start_id)):
                    items.append(file)
            elif name != decided and file.action != "start":
                decided = name  # the newest finished version decides: listed, or hidden
                if file.action == "upload":
                    items.append(file)
        files: list[dict[str, Any]] = []
        following = None
        for file in items:
            cut = file.name.find(delimiter, len(prefix)) if delimiter else -1
            if cut < 0:
                entry = file.as_list_files_dict(c.token)
            elif files and files[-1]["fileName"] == file.name[: cut + len(delimiter)]:
                continue  # the folder is listed already
            else:
                entry = {**dict.fromkeys(("contentSha1", "contentType", "fileId")), "fileInfo": {}}
                entry |= {"accountId": bucket.account_id, "bucketId": bucket.bucket_id}
                entry |= {"action": "folder", "fileName": file.name[: cut + len(delimiter)]}
                entry |= {"contentLength": 0, "uploadTimestamp": 0}
            if len(files) == count:
                following = entry
                break
            files.append(entry)
        result = {"files": files, "nextFileName": following and following["fileName"]}
        if versions:
            result["nextFileId"] = following and following["fileId"]
        return result

    _op_list_file_names = functools.partialmethod(_list, versions=False)
    _op_list_file_versions = functools.partialmethod(_list, versions=True)

    def _op_get_file_info(self, c: _Call) -> Any:
        file = self._file(c.params["fileId"], "upload", "hide")
        if file is None:
            raise _B2Error(404, "not_found", f"File not present: {c.params['fileId']}")
        self._assert_auth(c.token, file.bucket, "readFiles", file.name)
        return file.as_upload_result(c.token)

    def _op_hide_file(self, c: _Call) -> Any:
        bucket, name = self._bucket(c.params["bucketId"]), c.params["fileName"]
        self._assert_auth(c.token, bucket, "writeFiles", name)
        # Added: B2 refuses to hide a missing or hidden name (the simulator doesn't check).
        latest = self._latest(bucket, name)
        if latest is None:
            raise _B2Error(400, "no_such_file", f"File not present: {name}")
        if latest.action == "hide":
            raise _B2Error(400, "already_hidden", f"File already hidden: {name}")
        return self._sim("hide_file", c, bucket.bucket_id, name)

    def _op_copy_file(self, c: _Call) -> Any:
        p = c.params
        source = self._file(p["sourceFileId"], "upload")
        if source is None:
            raise _B2Error(400, "bad_request", f"Invalid sourceFileId: {p['sourceFileId']}")
        dest = self._bucket(p.get("destinationBucketId") or source.bucket.bucket_id)
        name = _check_file_name(p["fileName"])
        mode = p.get("metadataDirective") and b2.MetadataDirectiveMode[p["metadataDirective"]]
        content_type = p.get("contentType") and _content_type(p["contentType"], name)
        info = None if p.get("fileInfo") is None else _file_info(p["fileInfo"])
        sse = _sse(p.get("destinationServerSideEncryption"))
        args = (_byte_range(p.get("range")), mode, content_type, info, dest.bucket_id, sse)
        res = self._sim("copy_file", c, source.file_id, name, *args)
        # Fixed: the simulator doesn't index the copy by id, and REPLACE without fileInfo kept
        # the source's info where B2 stores none.
        self.simulator.file_id_to_bucket_id[res["fileId"]] = dest.bucket_id
        if mode is b2.MetadataDirectiveMode.REPLACE:
            dest.file_id_to_file[res["fileId"]].file_info = res["fileInfo"] = info or {}
        return res

    def _op_start_large_file(self, c: _Call) -> Any:
        p = c.params
        name = _check_file_name(p["fileName"])
        content_type = _content_type(p.get("contentType"), name)
        args = (
            name,
            content_type,
            _file_info(p.get("fileInfo")),
            _sse(p.get("serverSideEncryption")),
        )
        return self._sim("start_large_file", c, p["bucketId"], *args)

    def _op_copy_part(self, c: _Call) -> Any:
        p = c.params
        self._large_file(p["largeFileId"])
        source = self._file(p["sourceFileId"], "upload")
        if source is None:
            raise _B2Error(400, "bad_request", f"Invalid sourceFileId: {p['sourceFileId']}")
        number, byte_range = _part_number(p["partNumber"]), _byte_range(p.get("range"))
        return self._sim("copy_part", c, source.file_id, p["largeFileId"], number, byte_range)

    def _key_out(self, version: str, key: dict[str, Any]) -> dict[str, Any]:
        if version == "v4":  # v4 keys name a list of buckets
            bucket_id = key.pop("bucketId", None)
            key["bucketIds"] = [bucket_id] if bucket_id else None
        return key

    def _op_create_key(self, c: _Call) -> Any:
        p = c.params
        bucket_ids = p.get("bucketIds") or [] if c.version == "v4" else [p.get("bucketId")]
        if len(bucket_ids) > 1:
            raise _B2Error(400, "bad_request", "this test server allows one bucket per key")
        args: tuple[Any, ...] = (p["capabilities"], p["keyName"], p.get("validDurationInSeconds"))
        args += (bucket_ids[0] if bucket_ids else None, p.get("namePrefix"))
        return self._key_out(c.version, self._sim("create_key", c, p["accountId"], *args))

    def _op_delete_key(self, c: _Call) -> Any:
        if "deleteKeys" not in c.key.capabilities:  # Added: the simulator doesn't check
            raise _B2Error(401, "unauthorized", "deleteKeys capability required")
        return self._key_out(c.version, self._sim("delete_key", c, c.params["applicationKeyId"]))

    def _op_list_keys(self, c: _Call) -> Any:
        p = c.params
        count, start = p.get("maxKeyCount") or 100, p.get("startApplicationKeyId")
        res = self._sim("list_keys", c, p["accountId"], count, start)
        res["keys"] = [self._key_out(c.version, key) for key in res["keys"]]
        return res

    def _op_get_download_authorization(self, c: _Call) -> Any:
        # Added: the simulator issues download tokens but never checks them; they are
        # recorded here and honoured (bucket, name prefix, lifetime) by downloads by name.
        p = c.params
        bucket_id, prefix, duration = (
            p["bucketId"],
            p["fileNamePrefix"],
            p["validDurationInSeconds"],
        )
        if not isinstance(duration, int) or not 1 <= duration <= 604800:
            raise _B2Error(400, "bad_request", "validDurationInSeconds must be 1 to 604800")
        res = self._sim("get_download_authorization", c, bucket_id, prefix, duration)
        res["authorizationToken"] += f"_{next(self._serial)}"
        self._download_tokens[res["authorizationToken"]] = (
            bucket_id,
            prefix,
            time.monotonic() + duration,
        )
        return res

    # -- uploads ---------------------------------------------------------------------------------

    def _claim_upload(self, op: str, token: str, path: str) -> str:
        """Check the upload token against the URL and mark it busy; the simulator's URL."""
        with self._lock:
            path_and_url = self._upload_tokens.get(token)
            if path_and_url is None or path_and_url[0] != path:
                raise _B2Error(401, "bad_auth_token", "Invalid upload authorization token")
            if token in self._expired_upload_tokens:
                raise _B2Error(401, "expired_auth_token", "Upload token has expired")
            if token in self._uploads_in_flight:  # one upload at a time per token, as B2 says
                raise _B2Error(
                    400, "auth_token_limit", f"more than one upload using auth token {token}"
                )
            if op == "b2_upload_part":
                self._large_file(path.split("/")[4])  # fail before reading the body
            self._uploads_in_flight.add(token)
            return path_and_url[1]

    def _release_upload(self, token: str) -> None:
        with self._lock:
            self._uploads_in_flight.discard(token)

    def _store_upload(self, op: str, sim_url: str, data: bytearray, sha1: str, **kw: Any) -> Any:
        if op == "b2_upload_part":
            self._large_file(sim_url.split("/")[4])  # …/part/<fileId>/…
            part = (kw["part_number"], len(data), sha1, _Body(data), kw["sse"])
            return self.simulator.upload_part(sim_url, sim_url, *part)
        args = (kw["name"], len(data), kw["content_type"], sha1, kw["info"], _Body(data))
        res = self.simulator.upload_file(sim_url, sim_url, *args, kw["sse"], None, None, kw["ts"])
        if kw["unverified"]:  # Fixed: the simulator fails on do_not_verify
            res["contentSha1"] = self._file(res["fileId"]).content_sha1 = "unverified:" + sha1
        return res

    # -- downloads -------------------------------------------------------------------------------

    def _download(self, op: str, where: str, auth: str, range_header: str | None) -> Any:
        """Find the file and check access: (status, headers, data, (start, stop))."""
        sim, by_id = self.simulator, op == "b2_download_file_by_id"
        account_token = auth and (by_id or auth in sim.auth_token_to_key)
        token = self._check_token(auth)[0] if account_token else None
        if by_id:
            file = self._file(where)
            if file is None or file.action != "upload":
                raise _B2Error(404, "not_found", f"File not present: {where}")
            bucket, name = file.bucket, file.name
        else:
            bucket_name, _, name = where.partition("/")
            bucket, file = sim.bucket_name_to_bucket.get(bucket_name), None
            if bucket is None:
                raise _B2Error(404, "not_found", f"Bucket not found: {bucket_name}")
        if bucket.bucket_type != "allPublic":
            if token is not None:
                self._assert_auth(token, bucket, "readFiles", name)
            elif not auth:
                raise _B2Error(401, "unauthorized", "authorization is required for this bucket")
            else:  # a token from b2_get_download_authorization
                grant = self._download_tokens.get(auth)
                if grant is None:
                    raise _B2Error(401, "bad_auth_token", "Invalid authorization token")
                if time.monotonic() > grant[2]:
                    raise _B2Error(401, "expired_auth_token", "Authorization token has expired")
                if grant[0] != bucket.bucket_id or not name.startswith(grant[1]):
                    raise _B2Error(401, "unauthorized", "the token does not cover this file")
        file = file or self._latest(bucket, name)
        if file is None or file.action != "upload":
            raise _B2Error(404, "not_found", f"File not present: {name}")
        size = len(file.data_bytes)
        byte_range = _download_range(range_header, size)
        headers = {
            ("X-Bz-Info-" + k[10:] if k.lower().startswith("x-bz-info-") else k.title()): v
            for k, v in file.as_download_headers(token, byte_range).items()
            if k.lower() != "content-length"
        }
        start, end = byte_range or (0, size - 1)
        status = 206 if byte_range else 200
        return status, {**headers, "Accept-Ranges": "bytes"}, file.data_bytes, (start, end + 1)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, b2_server: B2TestServer, port: int) -> None:
        self.b2 = b2_server
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip HTTPServer's reverse DNS lookup
        self.server_name, self.server_port = "127.0.0.1", int(self.server_address[1])

    def close_connections(self) -> None:
        """Hang up on kept-alive clients so that their handler threads end with the server."""
        with self.connections_lock:
            for conn in self.connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client going away is no news
            super().handle_error(request, client_address)


_API_PATH = re.compile(r"/b2api/(v[234])/(b2_[a-z_]+)(?:/(.*))?")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120
    server: _HTTPServer
    _body_left: int | None  # unread request body; None if unknown (chunked)

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        length = (self.headers.get("Content-Length") or "0").strip()
        chunked = "Transfer-Encoding" in self.headers
        self._body_left = None if chunked or not length.isdigit() else int(length)
        url = urlsplit(self.path)
        try:
            try:
                self._dispatch(url.path, url.query)
                self._finish_body()  # a body nobody asked for must not poison the connection
            except _B2Error as err:
                self._finish_body()
                body = {"status": err.status, "code": err.code, "message": err.message}
                # HEAD gets the same headers (Content-Length too) but no body.
                self._send(
                    err.status, {"Content-Type": _JSON, **err.headers}, json.dumps(body).encode()
                )
        except (_ClientGone, OSError):
            self.close_connection = True

    do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _dispatch(self, path: str, query: str) -> None:
        b2_server, match = self.server.b2, _API_PATH.fullmatch(path)
        op, rest = (match[2], match[3]) if match else ("", None)
        allowed: tuple[str, ...]
        if path.startswith("/file/") and "/" in path[6:]:
            op, allowed = "download_file_by_name", ("GET", "HEAD")
        elif op in ("b2_upload_file", "b2_upload_part") and rest:
            allowed = ("POST",)
        elif op == "b2_download_file_by_id" and rest is None:
            allowed = ("GET", "HEAD", "POST")
        elif rest is None and (op in _JSON_OPS or hasattr(b2_server, "_op_" + op[3:])):
            allowed = ("GET", "POST")
        else:
            raise _B2Error(404, "not_found", f"unknown path {path}")
        if self.command not in allowed:
            raise _B2Error(405, "method_not_allowed", f"{self.command} is not allowed for {op}")
        b2_server._begin(op)
        if op in _DOWNLOAD_OPS:
            params = self._params(query)
            where = b2.b2_url_decode(path[6:]) if match is None else params["fileId"]
            auth = self.headers.get("Authorization") or str(params.get("Authorization") or "")
            status, headers, data, (start, stop) = b2_server._run(
                op, b2_server._download, op, where, auth, self.headers.get("Range")
            )
            self._send(status, headers, memoryview(data)[start:stop])
        elif op in ("b2_upload_file", "b2_upload_part"):
            self._upload(op, path)
        else:
            auth, params = self.headers.get("Authorization", ""), self._params(query)
            version = match[1] if match else "v3"
            self._send_json(b2_server._run(op, b2_server._json_call, version, op, params, auth))

    def _read(self, size: int) -> bytearray:
        buf, pos = bytearray(size), 0
        view = memoryview(buf)
        try:
            while pos < size:
                got = self.rfile.readinto(view[pos : pos + _CHUNK])
                if not got:
                    raise _ClientGone
                pos += got
        except OSError as exc:
            raise _ClientGone from exc
        if self._body_left:
            self._body_left -= size
        return buf

    def _finish_body(self) -> None:
        """Drop the rest of the request body, or give up on the connection."""
        left = self._body_left
        if left is None or left > _DRAIN_LIMIT:
            self.close_connection = True
            return
        while left > 0:
            chunk = self.rfile.read(min(left, _CHUNK))
            if not chunk:
                raise _ClientGone
            left -= len(chunk)
        self._body_left = 0

    def _params(self, query: str) -> _Params:
        if self.command != "POST":
            return _query_params(query)
        if self._body_left is None or self._body_left > 10 << 20:
            raise _B2Error(400, "bad_request", "a JSON body needs a Content-Length up to 10 MiB")
        raw = bytes(self._read(self._body_left))
        try:
            obj = json.loads(raw) if raw.strip() else {}
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            raise _B2Error(400, "bad_json", "the request body is not a JSON object")
        return _Params(obj)

    def _send(self, status: int, headers: dict[str, str], body: Any = b"") -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and len(body):
            self.wfile.write(body)

    def _send_json(self, obj: Any) -> None:
        self._send(200, {"Content-Type": _JSON}, json.dumps(obj, default=_json_default).encode())

    def _upload(self, op: str, path: str) -> None:
        b2_server, headers, size = self.server.b2, self.headers, self._body_left
        if size is None:
            raise _B2Error(400, "bad_request", "Content-Length is required (no chunked encoding)")
        token = headers.get("Authorization", "")
        sim_url = b2_server._claim_upload(op, token, path)
        try:
            kw = self._upload_headers(op)
            sha1 = (headers.get("X-Bz-Content-Sha1") or "").strip().lower()
            trailer = 40 if sha1 == "hex_digits_at_end" else 0
            if sha1 not in ("hex_digits_at_end", "do_not_verify") and not _HEX40.fullmatch(sha1):
                raise _B2Error(400, "bad_request", "X-Bz-Content-Sha1 must be a 40-digit SHA1")
            if not trailer <= size <= _MAX_UPLOAD + trailer:
                raise _B2Error(400, "bad_request", f"Content-Length out of range: {size}")
            data = self._read(size - trailer)
            if trailer:  # the SHA1 follows the data, and Content-Length covers it
                sha1 = self._read(trailer).decode("ascii", "replace").lower()
                if not _HEX40.fullmatch(sha1):
                    raise _B2Error(400, "bad_request", "the trailing SHA1 is not 40 hex digits")
            kw["unverified"] = sha1 == "do_not_verify"
            if kw["unverified"]:
                sha1 = b2.hex_sha1_of_bytes(data)
            result = b2_server._run(
                op, lambda: b2_server._store_upload(op, sim_url, data, sha1, **kw)
            )
        finally:
            b2_server._release_upload(token)
        self._send_json(result)

    def _upload_headers(self, op: str) -> dict[str, Any]:
        headers = self.headers
        lower = [name.lower() for name in headers]
        if any(name.startswith(_UNSUPPORTED_UPLOAD_HEADERS) for name in lower):
            raise _B2Error(400, "bad_request", "SSE-C and Object Lock are not served here")
        sse = headers.get("X-Bz-Server-Side-Encryption")
        kw: dict[str, Any] = {"sse": sse and _sse({"mode": "SSE-B2", "algorithm": sse})}
        if op == "b2_upload_part":
            return kw | {"part_number": _part_number(headers.get("X-Bz-Part-Number"))}
        if any(name in _FORBIDDEN_UPLOAD_HEADERS for name in lower):
            raise _B2Error(400, "bad_request", "Content-Disposition & co. are not allowed here")
        encoded = headers.get("X-Bz-File-Name")
        if encoded is None:
            raise _B2Error(400, "bad_request", "X-Bz-File-Name is required")
        name = _check_file_name(b2.b2_url_decode(encoded))
        info = {
            k[10:]: b2.b2_url_decode(v)
            for k, v in headers.items()
            if k.lower().startswith("x-bz-info-")
        }
        if len(encoded) + sum(len(k) + len(v) for k, v in info.items()) > 7000:
            raise _B2Error(400, "bad_request", "file name and file info exceed 7000 bytes")
        stamp = headers.get("X-Bz-Custom-Upload-Timestamp") or ""
        return kw | {
            "name": name,
            "content_type": _content_type(headers.get("Content-Type"), name),
            "info": _file_info(info),
            "ts": int(stamp) if stamp.isdigit() else None,
        }
