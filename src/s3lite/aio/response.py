"""The async response: the sync `Response`'s header-derived fields, and the body either read
whole (`data`, `await read()`) or streamed (`async for chunk in resp.iter_chunks()`), with the
connection always handed back to its pool or closed."""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from ..errors import MalformedResponse, transport_error_class
from ..response import DEFAULT_CHUNK, S3_DIALECT, Dialect, Response

if TYPE_CHECKING:
    from urllib3 import BaseHTTPResponse, HTTPHeaderDict

    from .http import Connection

__all__ = ["AsyncResponse", "AsyncResumer"]

log = logging.getLogger("s3lite")

#: Below this many unread bytes, `aclose()` reads the rest to keep the connection alive.
DRAIN_LIMIT = 64 * 1024
#: A resumed body that delivers at least this much before breaking again earns back its
#: resume budget; one that breaks sooner counts against it (as on the sync `Response`).
RESUME_PROGRESS = 64 * 1024

#: Called with the number of body bytes delivered so far; returns a fresh streamed response
#: that continues from there (a ranged GET conditional on the same ETag).
AsyncResumer = Callable[[int], Awaitable["AsyncResponse"]]


class _Head:
    """What `Response` needs of a raw answer to give its header fields: status and headers."""

    __slots__ = ("headers", "status")

    def __init__(self, status: int, headers: HTTPHeaderDict) -> None:
        self.status = status
        self.headers = headers


class AsyncResponse:
    """A service response on the async API: status, headers, the object fields the sync
    `Response` derives from them, and the body.

    Streamed: `async with` it (or `await aclose()`), so the connection goes back to the pool;
    reading the body to the end does that too.
    """

    def __init__(
        self,
        status: int,
        headers: HTTPHeaderDict | list[tuple[str, str]],
        dialect: Dialect = S3_DIALECT,
        *,
        reason: str = "",
        conn: Connection | None = None,
        release: Callable[[Connection], None] | None = None,
        data: bytes | None = None,
        read_timeout: float | None = None,
        max_body: int | None = None,
        resume: AsyncResumer | None = None,
        max_resumes: int = 3,
    ) -> None:
        self.status = status
        # The pairs as received; the case-insensitive mapping is built on first use.
        self._pairs: list[tuple[str, str]] | None = None
        self._headers: HTTPHeaderDict | None = None
        if isinstance(headers, list):
            self._pairs = headers
        else:
            self._headers = headers
        self.reason = reason
        self._dialect = dialect
        self._conn = conn
        self._release = release
        self._data = data
        self._cursor = 0
        self._read_timeout = read_timeout
        #: Largest body `read()` of the whole rest accepts; None: no bound.
        self.max_body = max_body
        self._fields: Response | None = None
        self._pos = 0  # body bytes delivered (over every resumed connection)
        self._resume = resume
        self._max_resumes = max_resumes
        self._failures = 0  # breaks since the body last made real progress
        self._progress = 0  # bytes received since the last resume
        #: The URL the request went to (set by the session that sent it; no credentials).
        self.url: str | None = None
        #: How many times the request was sent to get this response (set by the transport).
        self.attempts = 1

    def resume_with(self, resume: AsyncResumer | None, max_resumes: int = 3) -> None:
        """Continue a broken body with `resume(delivered)` (a fresh streamed response from
        there), at most `max_resumes` times in a row without real progress."""
        self._resume = resume
        self._max_resumes = max_resumes

    # --- fields, as the sync Response derives them ---------------------------------------------
    @property
    def headers(self) -> HTTPHeaderDict:
        """The headers, case-insensitive, repeated ones joined (as on the sync `Response`)."""
        headers = self._headers
        if headers is None:
            from urllib3 import HTTPHeaderDict

            headers = self._headers = HTTPHeaderDict()
            for name, value in self._pairs or ():
                headers.add(name, value)
        return headers

    def header(self, name: str) -> str | None:
        """One header's value (the first, if repeated), read without building `headers`."""
        if self._headers is not None or self._pairs is None:
            return self.headers.get(name)
        name = name.lower()
        for key, value in self._pairs:
            if len(key) == len(name) and key.lower() == name:
                return value
        return None

    def _declared_length(self) -> int | None:
        """Content-Length, read from the pairs without building the mapping (the hot path)."""
        if self._headers is not None or self._pairs is None:
            return self.content_length
        for name, value in self._pairs:
            if len(name) == 14 and name.lower() == "content-length":
                return int(value) if value.isascii() and value.isdigit() else None
        return None

    @property
    def fields(self) -> Response:
        """A sync `Response` over the same status and headers (no body): every header-derived
        field is computed by the very code the sync API uses."""
        fields = self._fields
        if fields is None:
            raw = cast("BaseHTTPResponse", _Head(self.status, self.headers))
            fields = self._fields = Response(raw, self._dialect, expected_length=0)
        return fields

    def _override(self, name: str, value: Any) -> None:
        """Set a field from the body over the header's, as operations do on `Response`."""
        self.fields._override(name, value)

    @property
    def metadata(self) -> dict[str, str]:
        """User metadata, names lower-cased and without the backend's prefix."""
        return self.fields.metadata

    @property
    def content_length(self) -> int | None:
        return self.fields.content_length

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def etag(self) -> str | None:
        """The entity tag without its quotes."""
        return self.fields.etag

    @property
    def last_modified(self) -> _dt.datetime | None:
        """Last-Modified as an aware UTC datetime."""
        return self.fields.last_modified

    @property
    def version_id(self) -> str | None:
        return self.fields.version_id

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-amz-request-id")

    # --- body ----------------------------------------------------------------------------------
    @property
    def data(self) -> bytes:
        """The body, once read (`await read()`; a response not streamed is read already)."""
        if self._data is None:
            raise RuntimeError("the body of a streamed response is not read yet: await read()")
        return self._data

    @property
    def loaded(self) -> bool:
        """Whether the whole body is in memory (`data`)."""
        return self._data is not None

    async def read(self, amt: int | None = None) -> bytes:
        """Up to `amt` bytes (all that is left when None, bounded by `max_body`); b'' at the
        end."""
        if self._data is not None:
            end = len(self._data) if amt is None or amt < 0 else self._cursor + amt
            out = self._data[self._cursor : end]
            self._cursor += len(out)
            return out
        if amt is None or amt < 0:
            data = await self.read_limited(self.max_body)
            self._data, self._cursor = data, len(data)
            return data
        # As the sync `Response.read(n)`: n bytes unless the body ends first.
        first = await self._read_raw(amt)
        if len(first) >= amt or not first:
            return first
        parts = [first]
        got = len(first)
        while got < amt:
            more = await self._read_raw(amt - got)
            if not more:
                break
            parts.append(more)
            got += len(more)
        return b"".join(parts)

    async def load(self) -> bytes:
        """Read the whole body into `data` (bounded by `max_body`), left to be read from its
        start, as the sync `Response` preloads a body that is not streamed."""
        if self._data is None:
            self._data = await self.read_limited(self.max_body)
            self._cursor = 0
        return self._data

    async def readinto(self, buffer: bytearray | memoryview) -> int:
        """Read into a writable buffer; returns the number of bytes read (0 at the end)."""
        chunk = await self.read(len(buffer))
        memoryview(buffer)[: len(chunk)] = chunk
        return len(chunk)

    async def read_limited(self, limit: int | None) -> bytes:
        """All of the rest of the body, refused as `MalformedResponse` as soon as it is known
        to exceed `limit` bytes (a declared length is checked before reading; an undeclared
        one stops being read at the limit). A refused body's connection is closed."""
        conn = self._conn
        if self._data is not None or conn is None:
            rest = await self.read()
            if limit is not None and len(rest) > limit:
                raise MalformedResponse(f"response body too large: more than {limit} bytes")
            return rest
        if limit is not None:
            declared = self._declared_length()
            if declared is not None and declared - self._pos > limit:
                self.close()
                raise MalformedResponse(
                    f"response body too large: {declared - self._pos} bytes declared, "
                    f"at most {limit} accepted"
                )
        whole = conn.take_buffered() if self._pos == 0 else None
        if whole is not None and (limit is None or len(whole) <= limit):
            self._pos = len(whole)
            self._finish()
            return whole
        parts = [whole] if whole else []
        total = len(whole) if whole else 0
        while True:
            want = DEFAULT_CHUNK if limit is None else min(DEFAULT_CHUNK, limit - total + 1)
            chunk = await self._read_raw(want)
            if not chunk:
                break
            total += len(chunk)
            if limit is not None and total > limit:
                self.close()
                raise MalformedResponse(
                    f"response body too large: more than {limit} bytes (reading stopped there)"
                )
            parts.append(chunk)
        return b"".join(parts) if len(parts) != 1 else parts[0]

    async def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK) -> AsyncIterator[bytes]:
        """Yield the body in chunks of at most `chunk_size` bytes, then release the connection."""
        try:
            while True:
                chunk = await self.read(chunk_size)
                if not chunk:
                    return
                yield chunk
        finally:
            await self.aclose()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.iter_chunks()

    async def _read_raw(self, amt: int) -> bytes:
        while True:
            conn = self._conn
            if conn is None:
                return b""
            try:
                chunk = await conn.read(amt, self._read_timeout)
            except (OSError, TimeoutError) as exc:
                self._failures += 1
                if self._resume is None or self._failures > self._max_resumes:
                    self.close()
                    raise transport_error_class(exc)(
                        f"connection failed while reading the body after {self._pos} bytes: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                await self._reconnect(exc)
                continue
            if not chunk:
                self._finish()
                return b""
            self._pos += len(chunk)
            self._progress += len(chunk)
            if self._progress >= RESUME_PROGRESS:
                self._failures = 0
            return chunk

    async def _reconnect(self, exc: BaseException) -> None:
        """Go on reading from a fresh response that continues at the current position."""
        assert self._resume is not None
        log.debug("resuming body at byte %d after %r", self._pos, exc)
        self.close()
        self._progress = 0
        fresh = await self._resume(self._pos)
        self._conn, self._release = fresh._conn, fresh._release
        fresh._conn = None  # adopted: the fresh response no longer releases it

    def _finish(self) -> None:
        """The body ended whole: the connection goes back to its pool."""
        conn, self._conn = self._conn, None
        if conn is not None and self._release is not None:
            self._release(conn)

    def close(self) -> None:
        """Release the connection now: back to the pool if the body was read to its end, else
        closed (`aclose()` reads a short remainder instead, keeping the connection)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if not conn.complete:
            conn.close()
        if self._release is not None:
            self._release(conn)

    async def aclose(self) -> None:
        """Release the connection: read a short remainder (keeps it alive) or close it."""
        conn = self._conn
        if conn is None:
            return
        declared = self._declared_length()
        if declared is not None and 0 <= declared - self._pos <= DRAIN_LIMIT:
            try:
                while await conn.read(DRAIN_LIMIT, self._read_timeout):
                    pass
            except (OSError, TimeoutError):
                pass
        self.close()

    def __del__(self) -> None:
        # A streamed response dropped unclosed: its connection is closed and handed back on
        # its loop (from whichever thread collects it), so the pool does not lose a slot.
        conn = self._conn
        if conn is not None and not conn.loop.is_closed():
            self._conn = None
            conn.loop.call_soon_threadsafe(_drop, conn, self._release)

    @property
    def closed(self) -> bool:
        return self._conn is None

    async def __aenter__(self) -> AsyncResponse:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def json(self, **kwargs: Any) -> Any:
        """The body (read already) parsed as JSON."""
        import json

        return json.loads(self.data, **kwargs)

    @property
    def text(self) -> str:
        """The body (read already) decoded as UTF-8 (or the charset the server named)."""
        charset = "utf-8"
        ctype = self.content_type or ""
        if "charset=" in ctype:
            charset = ctype.split("charset=", 1)[1].split(";")[0].strip() or charset
        return self.data.decode(charset, errors="replace")

    @property
    def status_code(self) -> int:
        """The HTTP status (`status`)."""
        return self.status

    @property
    def ok(self) -> bool:
        """True for a status below 400 (always, since error statuses raise typed errors)."""
        return self.status < 400

    def __repr__(self) -> str:
        return f"<AsyncResponse [{self.status}]>"


def _drop(conn: Connection, release: Callable[[Connection], None] | None) -> None:
    conn.close()
    if release is not None:
        release(conn)
