"""The response type every backend returns: status, headers, object fields and the body,
either read whole (`data`) or streamed (`read`, `iter_chunks`) with the connection always
handed back to the pool."""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import logging
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .errors import ChecksumMismatch, MalformedResponse, S3LiteError, transport_error_class

if TYPE_CHECKING:
    from urllib3 import BaseHTTPResponse
    from urllib3._collections import HTTPHeaderDict

__all__ = ["Dialect", "Response"]

log = logging.getLogger("s3lite")

#: Below this many unread bytes, close() drains the body to keep the connection alive.
_DRAIN_LIMIT = 64 * 1024
#: A resumed body that delivers at least this much before breaking again earns back its
#: resume budget; one that breaks sooner counts against it (else a server that cuts every
#: answer after a few bytes would be asked again without end).
_RESUME_PROGRESS = 64 * 1024
DEFAULT_CHUNK = 1024 * 1024


def decode_rfc2047(value: str) -> str:
    """Decode an RFC 2047 `=?UTF-8?B?...?=` / `=?UTF-8?Q?...?=` header value (S3 metadata)."""
    if not (value.startswith("=?") and value.endswith("?=")):
        return value
    try:
        charset, encoding, text = value[2:-2].split("?", 2)
        if encoding.upper() == "B":
            return base64.b64decode(text).decode(charset)
        if encoding.upper() == "Q":
            raw = text.replace("_", " ")
            return unquote(raw.replace("=", "%"), encoding=charset, errors="strict")
    except (ValueError, LookupError):
        pass
    return value


def encode_rfc2047(value: str) -> str:
    """Encode a metadata value that an HTTP header would not carry back verbatim: non-ASCII,
    control characters, leading or trailing whitespace (trimmed by every HTTP stack), or text
    that reads as an encoded word itself (it would be decoded on the way back). S3's
    convention; plain values are sent as they are."""
    if (
        value.isascii()
        and value == value.strip(" \t")
        and all(" " <= ch < "\x7f" or ch == "\t" for ch in value)
        and not (value.startswith("=?") and value.endswith("?="))
    ):
        return value
    return "=?UTF-8?B?" + base64.b64encode(value.encode()).decode() + "?="


class Dialect:
    """How a backend spells object fields in its headers."""

    __slots__ = ("decode_meta", "etag_header", "meta_prefix", "mtime_header", "version_header")

    def __init__(
        self,
        meta_prefix: str,
        version_header: str,
        decode_meta: Callable[[str], str],
        etag_header: str = "etag",
        mtime_header: str = "last-modified",
    ) -> None:
        self.meta_prefix = meta_prefix
        self.version_header = version_header
        self.decode_meta = decode_meta
        self.etag_header = etag_header
        self.mtime_header = mtime_header


S3_DIALECT = Dialect("x-amz-meta-", "x-amz-version-id", decode_rfc2047)

#: Called with the number of body bytes delivered so far; returns a fresh raw response
#: that continues from there (a ranged GET conditional on the same ETag).
Resumer = Callable[[int], "BaseHTTPResponse"]

_READ_ERRORS: tuple[type[BaseException], ...] = ()


def _read_errors() -> tuple[type[BaseException], ...]:
    global _READ_ERRORS  # noqa: PLW0603 - filled once, lazily (keeps urllib3 out of import)
    if not _READ_ERRORS:
        from http.client import HTTPException

        from urllib3.exceptions import HTTPError

        _READ_ERRORS = (HTTPError, HTTPException, OSError)
    return _READ_ERRORS


class Response:
    """A service response: object fields from the headers, and the body.

    Use it as a context manager (or call `close()`) when streaming, so the connection goes
    back to the pool; reading the body to the end does that too.
    """

    def __init__(
        self,
        raw: BaseHTTPResponse,
        dialect: Dialect = S3_DIALECT,
        *,
        preload: bool = False,
        resume: Resumer | None = None,
        max_resumes: int = 3,
        expected_length: int | None = None,
        max_body: int | None = None,
    ) -> None:
        self._raw = raw
        #: Largest body `data` (and a preload) reads into memory; None: no bound.
        self.max_body = max_body
        self._dialect = dialect
        self.status: int = raw.status
        self.headers: HTTPHeaderDict = raw.headers
        self._data: bytes | None = None
        self._pos = 0  # body bytes received from the network
        self._cursor = 0  # read position in `_data` once the body is held in memory
        self._closed = False
        self._resume = resume
        self._max_resumes = max_resumes
        self._failures = 0  # breaks since the body last made real progress
        self._progress = 0  # bytes received since the last resume
        self._expected = expected_length if expected_length is not None else self.content_length
        self._metadata: dict[str, str] | None = None
        self._overrides: dict[str, Any] = {}
        #: The URL the request went to (set by the session that sent it; no credentials).
        self.url: str | None = None
        #: How many times the request was sent to get this response (set by the transport).
        self.attempts = 1
        if preload:
            self._data = self._read_all()

    # --- fields ------------------------------------------------------------------------------
    @property
    def metadata(self) -> dict[str, str]:
        """User metadata, names lower-cased and without the backend's prefix."""
        if self._metadata is None:
            prefix = self._dialect.meta_prefix
            n = len(prefix)
            decode = self._dialect.decode_meta
            self._metadata = {
                k.lower()[n:]: decode(v)
                for k, v in self.headers.items()
                if k.lower().startswith(prefix)
            }
        return self._metadata

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        # isdigit() alone accepts '²' (a Latin-1 byte on the wire), which int() refuses.
        return int(value) if value is not None and value.isascii() and value.isdigit() else None

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def _override(self, name: str, value: Any) -> None:
        """Set a field (etag, last_modified, version_id) from the response body over the
        header's (e.g. CopyObject's ETag, or the file a B2 JSON response describes)."""
        self._overrides[name] = value

    @property
    def etag(self) -> str | None:
        """The entity tag without its quotes."""
        if "etag" in self._overrides:
            return self._overrides["etag"]  # type: ignore[no-any-return]
        value = self.headers.get(self._dialect.etag_header)
        return value.strip('"') if value else None

    @property
    def last_modified(self) -> _dt.datetime | None:
        """Last-Modified as an aware UTC datetime."""
        if "last_modified" in self._overrides:
            return self._overrides["last_modified"]  # type: ignore[no-any-return]
        value = self.headers.get(self._dialect.mtime_header)
        if not value:
            return None
        if value.isascii() and value.isdigit():  # B2: milliseconds since the epoch
            try:
                return _dt.datetime.fromtimestamp(int(value) / 1000, tz=_dt.timezone.utc)
            except (OverflowError, OSError, ValueError):  # beyond the years datetime holds
                return None
        from email.utils import parsedate_to_datetime

        try:
            return parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None

    @property
    def version_id(self) -> str | None:
        if "version_id" in self._overrides:
            return self._overrides["version_id"]  # type: ignore[no-any-return]
        return self.headers.get(self._dialect.version_header)

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-amz-request-id")

    # --- body ----------------------------------------------------------------------------------
    @property
    def data(self) -> bytes:
        """The body: all of it when preloaded, else the part not yet read (read now)."""
        if self._data is None:
            self._data = self._read_all()
            self._cursor = len(self._data)
        return self._data

    def _read_all(self) -> bytes:
        return self.read_limited(self.max_body)

    def read_limited(self, limit: int | None) -> bytes:
        """All of the rest of the body, refused as `MalformedResponse` as soon as it is known to
        exceed `limit` bytes: a declared length is checked before reading, and an undeclared
        (chunked) body stops being read at the limit, so a hostile server cannot make it
        grow without end. A refused body's connection is closed, never reused."""
        if self._data is not None:  # already in memory: the part not yet read
            rest = self.read()
            if limit is not None and len(rest) > limit:
                raise MalformedResponse(f"response body too large: more than {limit} bytes")
            return rest
        if limit is not None:
            declared = self._expected
            if declared is not None and declared - self._pos > limit:
                self._abandon()
                raise MalformedResponse(
                    f"response body too large: {declared - self._pos} bytes declared, "
                    f"at most {limit} accepted"
                )
        parts: list[bytes] = []
        total = 0
        while True:
            want = DEFAULT_CHUNK if limit is None else min(DEFAULT_CHUNK, limit - total + 1)
            chunk = self._read_raw(want)
            if not chunk:
                break
            total += len(chunk)
            if limit is not None and total > limit:
                parts.clear()
                self._abandon()
                raise MalformedResponse(
                    f"response body too large: more than {limit} bytes (reading stopped there)"
                )
            parts.append(chunk)
        return b"".join(parts) if len(parts) != 1 else parts[0]

    def read(self, amt: int | None = None) -> bytes:
        """Read up to `amt` bytes (all that is left when None); b'' at the end."""
        if self._data is not None:
            end = len(self._data) if amt is None or amt < 0 else self._cursor + amt
            out = self._data[self._cursor : end]
            self._cursor += len(out)
            return out
        if amt is None or amt < 0:
            return self._read_all()
        return self._read_raw(amt)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Read into a writable buffer; returns the number of bytes read (0 at the end)."""
        chunk = self.read(len(buffer))
        n = len(chunk)
        memoryview(buffer)[:n] = chunk
        return n

    def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        """Yield the body in chunks of at most `chunk_size` bytes, then release the connection."""
        try:
            while True:
                chunk = self.read(chunk_size)
                if not chunk:
                    return
                yield chunk
        finally:
            self.close()

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_chunks()

    def readable(self) -> bool:
        return True

    def _read_raw(self, amt: int) -> bytes:
        if self._closed:
            return b""
        while True:
            want = amt
            if self._expected is not None and 0 < self._expected - self._pos < amt:
                # Ask for no more than is left: http.client allocates the whole request size
                # up front, which for a small object would be a megabyte per read.
                want = self._expected - self._pos
            try:
                chunk = self._raw.read(want, decode_content=False)
            except _read_errors() as exc:
                self._failures += 1
                if self._resume is None or self._failures > self._max_resumes:
                    self._abandon()
                    if isinstance(exc, S3LiteError):
                        raise
                    raise transport_error_class(exc)(
                        f"connection failed while reading the body after {self._pos} bytes: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                self._reconnect(exc)
                continue
            if chunk:
                self._pos += len(chunk)
                self._progress += len(chunk)
                if self._progress >= _RESUME_PROGRESS:
                    self._failures = 0
                return chunk
            # End of body: make sure it was all there.
            if self._expected is not None and self._pos != self._expected:
                if self._resume is not None and self._failures < self._max_resumes:
                    self._failures += 1
                    self._reconnect(None)
                    continue
                self._abandon()
                raise ChecksumMismatch(f"body ended after {self._pos} of {self._expected} bytes")
            self._finish()
            return b""

    def _reconnect(self, exc: BaseException | None) -> None:
        """Replace the broken raw response by one that continues at the current position."""
        assert self._resume is not None
        log.debug("resuming body at byte %d after %r", self._pos, exc)
        self._abandon(keep_open=True)
        self._progress = 0
        self._raw = self._resume(self._pos)

    def _finish(self) -> None:
        self._raw.release_conn()
        self._closed = True

    def _abandon(self, *, keep_open: bool = False) -> None:
        try:
            self._raw.close()
        finally:
            self._raw.release_conn()
            if not keep_open:
                self._closed = True

    def close(self) -> None:
        """Release the connection: drain a short remainder (keeps it alive) or drop it."""
        if self._closed:
            return
        self._closed = True
        remaining = None if self._expected is None else self._expected - self._pos
        if self._data is None and remaining is not None and 0 <= remaining <= _DRAIN_LIMIT:
            self._raw.drain_conn()
            self._raw.release_conn()
        else:
            self._raw.close()
            self._raw.release_conn()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Response:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            with contextlib.suppress(Exception):  # best effort, also at interpreter teardown
                self.close()

    def json(self, **kwargs: Any) -> Any:
        """The body parsed as JSON."""
        import json

        return json.loads(self.data, **kwargs)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (or the charset the server named)."""
        charset = "utf-8"
        ctype = self.content_type or ""
        if "charset=" in ctype:
            charset = ctype.split("charset=", 1)[1].split(";")[0].strip() or charset
        return self.data.decode(charset, errors="replace")

    # --- s3func-style names ---------------------------------------------------------------------
    @property
    def stream(self) -> Response:
        """The body as a file object (s3func's `resp.stream.read()`): the response itself."""
        return self

    @property
    def error(self) -> None:
        """Always None: a failed request raises its typed error instead (s3func put it here)."""
        return None

    # --- requests-style names, for code written against requests.Response --------------------
    @property
    def status_code(self) -> int:
        """The HTTP status (`status`)."""
        return self.status

    @property
    def ok(self) -> bool:
        """True for a status below 400 (always, since error statuses raise typed errors)."""
        return self.status < 400

    @property
    def content(self) -> bytes:
        """The body (`data`)."""
        return self.data

    def raise_for_status(self) -> None:
        """Raise the typed error for a 4xx/5xx status. Error responses already raise when the
        request is made, so this returns quietly for every response a request returned."""
        if self.status >= 400:
            from .errors import error_class_for

            cls = error_class_for(self.status, None)
            raise cls(self.status, f"HTTP{self.status}", resource=self.url)

    def __repr__(self) -> str:
        return f"<Response [{self.status}]>"
