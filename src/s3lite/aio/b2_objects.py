"""The object methods of `AsyncB2Session`: the operations of `s3lite.b2_objects` and
`s3lite.b2_batch_delete`, driven on the loop.

Upload bodies are prepared as the sync session prepares them; what reads or hashes much
(a file, a large buffer, a stream spooled to learn its length) runs on a worker thread. An
async iterable body is sent once, its SHA-1 following it (`hex_digits_at_end`).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import IO, Any, Literal, cast

from ..b2_batch_delete import B2BatchDeleteMixin, Deleted, delete_entry
from ..b2_bodies import SHA1_TRAILER, SPOOL_MEMORY, check_upload_size, start_of
from ..b2_calls import B2Context, download_request
from ..b2_objects import (
    B2ObjectsMixin,
    copy_file,
    copy_params,
    delete_file,
    download_headers,
    get_file,
    head_file,
    hide_file,
    resumed_at,
    upload_file,
    upload_request,
)
from ..b2_requests import B2_DIALECT, fix_etag, ok_download, parse_error, validate_key
from ..deletes import DeleteResult, delete_entries
from ..errors import ClientError, NoSuchKey, ObjectChanged, TransportError
from ..response import Response
from ..transport import Body
from .b2_listings import AsyncB2ListingsMixin
from .body import AsyncBody, AsyncBodyLike
from .docs import mirrors
from .response import AsyncResponse, AsyncResumer

__all__ = ["AsyncB2ObjectsMixin", "sha1_trailer"]

#: In-memory bodies up to this size are hashed on the loop; larger ones on a worker thread.
HASH_ON_LOOP = 1024 * 1024


async def sha1_trailer(source: AsyncIterable[bytes], length: int) -> AsyncIterator[bytes]:
    """An async iterable's chunks (exactly `length` bytes), then their SHA-1 in hex."""
    sha = hashlib.sha1()  # noqa: S324 - B2's integrity check
    sent = 0
    async for chunk in source:
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


async def spool(
    source: AsyncIterable[bytes] | Iterable[bytes] | IO[bytes],
) -> tuple[IO[bytes], int, str]:
    """Read a stream of unknown length once into a temporary file (a sync one on a worker
    thread), hashing it on the way: the file (the caller closes it), its size and SHA-1."""
    import tempfile

    spooled = cast("IO[bytes]", tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY))  # noqa: SIM115
    sha = hashlib.sha1()  # noqa: S324 - B2's integrity check
    try:
        if isinstance(source, AsyncIterable):
            async for chunk in source:
                _keep(chunk, sha)
                if spooled.tell() + len(chunk) <= SPOOL_MEMORY:
                    spooled.write(chunk)
                else:
                    await asyncio.to_thread(spooled.write, chunk)
        else:
            await asyncio.to_thread(_copy, source, spooled, sha)
        size = spooled.tell()
        check_upload_size(size)
        spooled.seek(0)
    except BaseException:
        spooled.close()
        raise
    return spooled, size, sha.hexdigest()


def _keep(chunk: object, sha: Any) -> None:
    if not isinstance(chunk, (bytes, bytearray, memoryview)):
        raise TypeError(f"body iterator yielded {type(chunk).__name__}, not bytes")
    sha.update(chunk)


def _copy(source: Iterable[bytes] | IO[bytes], target: IO[bytes], sha: Any) -> None:
    if hasattr(source, "read"):
        f = cast("IO[bytes]", source)
        while chunk := f.read(1024 * 1024):
            sha.update(chunk)
            target.write(chunk)
        return
    for chunk in source:
        _keep(chunk, sha)
        target.write(chunk)


def _unknown_length(body: object, content_length: int | None) -> bool:
    """Whether a body must be spooled to learn its length (as `prepare_upload` would)."""
    if content_length is not None or isinstance(body, (bytes, bytearray, memoryview, str)):
        return False
    if hasattr(body, "read"):
        return start_of(cast("IO[bytes]", body)) < 0
    return isinstance(body, (Iterable, AsyncIterable))


def _small(body: object) -> bool:
    """Whether a body is prepared on the loop (nothing to read, little to hash)."""
    if body is None or isinstance(body, str):
        return body is None or len(body) <= HASH_ON_LOOP // 4
    if isinstance(body, (bytes, bytearray, memoryview)):
        return memoryview(body).nbytes <= HASH_ON_LOOP
    return False


class AsyncB2ObjectsMixin(AsyncB2ListingsMixin):
    """Upload, download, head, hide, delete, copy and batch-delete files."""

    @mirrors(B2ObjectsMixin.put_object)
    async def put_object(
        self,
        key: str,
        body: AsyncBodyLike,
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
    ) -> AsyncResponse:
        validate_key(key)
        bucket = await self._resolve_bucket(bucket)
        options: dict[str, Any] = {
            "cache_control": cache_control, "content_disposition": content_disposition,
            "content_encoding": content_encoding, "content_language": content_language,
            "expires": expires, "headers": headers,
        }  # fmt: skip
        spooled: IO[bytes] | None = None
        try:
            if _unknown_length(body, content_length):
                # Spooled once to learn its length (as the sync session does): its SHA-1 is
                # known before it is sent, so it goes up front.
                spooled, size, digest = await spool(cast("Iterable[bytes]", body))
                request, _ = upload_request(
                    key, spooled, metadata, content_type, content_length=size, **options
                )
                request.body = Body(spooled, size)
                request.headers["X-Bz-Content-Sha1"] = sha1 = digest
                request.headers["Content-Length"] = str(size)
            elif isinstance(body, AsyncIterable):
                assert content_length is not None
                # The shared builder makes the request (headers, length, SHA-1 mode) for a
                # stream of that length; its body is then the async stream's.
                request, sha1 = upload_request(
                    key, iter(()), metadata, content_type, content_length=content_length,
                    **options,
                )  # fmt: skip
                request.body = AsyncBody(
                    sha1_trailer(body, content_length), content_length + SHA1_TRAILER
                )
            elif _small(body):
                request, sha1 = upload_request(
                    key, body, metadata, content_type, content_length=content_length, **options
                )
            else:
                request, sha1 = await asyncio.to_thread(
                    upload_request, key, body, metadata, content_type,
                    content_length=content_length, **options,
                )  # fmt: skip
            response = await self.run(upload_file(await self._context(), bucket, request, sha1))
        finally:
            if spooled is not None:
                spooled.close()
        return cast("AsyncResponse", response)

    @mirrors(B2ObjectsMixin.get_object)
    async def get_object(
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
    ) -> AsyncResponse:
        validate_key(key)
        bucket = await self._resolve_bucket(bucket)
        hdrs = download_headers(range_start, range_end, headers)
        stream = self.stream if stream is None else stream
        ctx = await self._context()
        if not stream or not resume:
            return cast(
                "AsyncResponse",
                await self.run(
                    get_file(ctx, bucket, key, version_id, hdrs, stream=stream, max_size=max_size)
                ),
            )
        # A resumable stream is this driver's own: the transport hands over the raw body,
        # and a break is resumed from the same file id.
        request = download_request(ctx, "GET", bucket, key, version_id, hdrs)
        response = await self.transport.send_raw(
            request, self._token_auth(), dialect=B2_DIALECT, error_parser=parse_error,
            ok=ok_download,
        )  # fmt: skip
        file_id = response.headers.get("x-bz-file-id")
        if file_id:
            resumer = self._resumer(ctx, bucket, file_id, range_start or 0, range_end)
            response.resume_with(resumer, self.transport.retry.max_attempts)
        fix_etag(cast("Response", response))
        return response

    def _resumer(
        self, ctx: B2Context, bucket: str, file_id: str, start: int, end: int | None
    ) -> AsyncResumer:
        """A coroutine function that downloads the rest of a broken body from `file_id`."""

        async def resume(delivered: int) -> AsyncResponse:
            at = start + delivered
            hdrs = {"Range": f"bytes={at}-{'' if end is None else end}"}
            request = download_request(ctx, "GET", bucket, "", file_id, hdrs)
            try:
                raw = await self.transport.send_raw(
                    request, self._token_auth(), dialect=B2_DIALECT, error_parser=parse_error,
                    ok=ok_download,
                )  # fmt: skip
            except NoSuchKey as exc:
                raise ObjectChanged(
                    f"file version {file_id} was deleted while it was being read; stopped "
                    f"after {delivered} bytes"
                ) from exc
            if not resumed_at(raw.status, raw.headers, file_id, at):
                content_range = raw.headers.get("content-range", "")
                raw.close()
                raise ObjectChanged(
                    f"resumed download did not continue file {file_id} at byte {at} "
                    f"(status {raw.status}, Content-Range {content_range!r})"
                )
            return raw

        return resume

    @mirrors(B2ObjectsMixin.head_object)
    async def head_object(
        self,
        key: str,
        version_id: str | None = None,
        *,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncResponse:
        validate_key(key)
        bucket = await self._resolve_bucket(bucket)
        ctx = await self._context()
        response = await self.run(head_file(ctx, bucket, key, version_id, dict(headers or {})))
        return cast("AsyncResponse", response)

    @mirrors(B2ObjectsMixin.hide_object)
    async def hide_object(self, key: str, *, bucket: str | None = None) -> AsyncResponse:
        validate_key(key)
        bucket = await self._resolve_bucket(bucket)
        response = await self.run(hide_file(await self._context(), bucket, key))
        return cast("AsyncResponse", response)

    @mirrors(B2ObjectsMixin.delete_object)
    async def delete_object(
        self, key: str, version_id: str | None = None, *, bucket: str | None = None
    ) -> Response:
        validate_key(key)
        bucket = await self._resolve_bucket(bucket)
        return await self.run(delete_file(await self._context(), bucket, key, version_id))

    @mirrors(B2ObjectsMixin.copy_object)
    async def copy_object(
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
    ) -> AsyncResponse:
        validate_key(source_key)
        validate_key(dest_key)
        src_bucket = await self._resolve_bucket(source_bucket)
        dst_bucket = await self._resolve_bucket(dest_bucket)
        params = copy_params(
            dest_key, metadata, content_type, metadata_directive=metadata_directive,
            cache_control=cache_control, content_disposition=content_disposition,
            content_encoding=content_encoding, content_language=content_language,
            expires=expires,
        )  # fmt: skip
        response = await self.run(
            copy_file(
                await self._context(), src_bucket, source_key, dst_bucket, params,
                source_version_id=source_version_id, if_match=if_match,
            )
        )  # fmt: skip
        return cast("AsyncResponse", response)

    # --- many files ----------------------------------------------------------------------------
    @mirrors(B2BatchDeleteMixin.delete_objects)
    async def delete_objects(
        self,
        keys: Iterable[str | tuple[str, str | None] | Mapping[str, Any]] | None = None,
        prefix: str | None = None,
        purge: bool = True,
        *,
        bucket: str | None = None,
        raise_errors: bool = True,
    ) -> DeleteResult:
        if (keys is None) == (prefix is None):
            raise ValueError("pass either keys or prefix")
        bucket = await self._resolve_bucket(bucket)
        result = DeleteResult()
        workers = max(1, min(16, self.transport.max_pool_connections))
        batch: list[tuple[str, str | None]] = []
        if prefix is not None:
            if not isinstance(prefix, str):
                raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
            if purge:
                async for version in self.list_object_versions(prefix, bucket=bucket):
                    batch.append((version["key"], version["version_id"]))
                    if len(batch) == 1000:
                        await self._delete_batch(workers, bucket, batch, result, purge)
                        batch = []
            else:
                async for item in self.list_objects(prefix, bucket=bucket):
                    batch.append((item["key"], None))
                    if len(batch) == 1000:
                        await self._delete_batch(workers, bucket, batch, result, purge)
                        batch = []
        else:
            for entry in delete_entries(keys, validate_key):
                batch.append(entry)
                if len(batch) == 1000:
                    await self._delete_batch(workers, bucket, batch, result, purge)
                    batch = []
        if batch:
            await self._delete_batch(workers, bucket, batch, result, purge)
        return result.raise_errors() if raise_errors else result

    async def _delete_batch(
        self,
        workers: int,
        bucket: str,
        batch: list[tuple[str, str | None]],
        result: DeleteResult,
        purge: bool,
    ) -> None:
        """Delete a batch, `workers` entries at a time; results in the batch's order."""
        gate = asyncio.Semaphore(workers)

        async def one(entry: tuple[str, str | None]) -> tuple[Deleted, dict[str, Any] | None]:
            key, version = entry
            async with gate:
                try:
                    ctx = await self._context()
                    return await self.run(delete_entry(ctx, bucket, key, version, purge)), None
                except (ClientError, TransportError) as exc:
                    code = getattr(exc, "code", None) or type(exc).__name__
                    message = getattr(exc, "message", None) or str(exc)
                    return [], {"key": key, "version_id": version, "code": code,
                                "message": message}  # fmt: skip

        for deleted, error in await asyncio.gather(*(one(entry) for entry in batch)):
            result.deleted.extend(deleted)
            if error is not None:
                result.errors.append(error)
