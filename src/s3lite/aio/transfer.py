"""`upload_file` and `download_file` on the event loop, for the async sessions.

The decisions are the sync `transfer` module's own (options, part and range planning, what a
download is verified against, the `.part` file renamed into place); only the driving differs:
parts and ranges run as concurrent tasks, and local file work (reading a part, writing and
hashing a downloaded range) runs in threads, a part at a time. Cancelling the task removes a
partial download, and aborts a multipart upload, before the cancellation propagates.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any, cast

from ..errors import ChecksumMismatch
from ..progress import ProgressReporter
from ..transfer import DEFAULT_PART_SIZE, DEFAULT_THRESHOLD, TransferMixin
from ..transfer_engine import (
    CHUNK,
    Sink,
    Verifier,
    chain_stream,
    check_object_size,
    checksum_header,
    checksum_of,
    download_pin,
    plan_ranges,
    read_up_to,
    remaining_size,
    request_options,
    upload_options,
    with_large_file_sha1,
)
from .docs import mirrors
from .multipart import AsyncMultipartUpload
from .offload import Offload, run_to_end

if TYPE_CHECKING:
    from ..progress import ProgressCallback
    from ..response import Response

__all__ = ["AsyncTransferMixin"]

#: Most bytes of a range held before they are written (and hashed) in one go, off the loop:
#: small enough that `concurrency` ranges in flight stay a few MiB each, large enough that
#: handing the work to a thread costs little per byte.
WRITE_CHUNK = 2 * 1024 * 1024


class AsyncTransferMixin:
    """`upload_file` and `download_file` for any async session with the multipart hooks."""

    @mirrors(TransferMixin.upload_file)
    async def upload_file(
        self,
        source: str | os.PathLike[str] | IO[bytes],
        key: str,
        *,
        bucket: str | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        threshold: int = DEFAULT_THRESHOLD,
        part_size: int | None = None,
        concurrency: int = 8,
        progress: ProgressCallback | None = None,
        storage_class: str | None = None,
        checksum: str | None = None,
        sse_customer_key: bytes | str | None = None,
    ) -> Any:
        session: Any = self
        headers, put_options, mp_options = upload_options(
            session, headers, storage_class, checksum, sse_customer_key
        )
        size: int | None
        if isinstance(source, (str, os.PathLike)):
            size = os.stat(source).st_size
        else:
            size = remaining_size(source)
        if size is None:
            # Unknown length (a pipe): read up to the threshold to decide.
            assert not isinstance(source, (str, os.PathLike))
            head = await asyncio.to_thread(read_up_to, source, threshold + 1)
            if len(head) <= threshold:
                return await session.put_object(
                    key, head, bucket=bucket, metadata=metadata, content_type=content_type,
                    headers=headers, **put_options,
                )  # fmt: skip
            return await AsyncMultipartUpload(
                self, chain_stream(head, source), key, bucket, part_size, concurrency, metadata,
                content_type, progress, headers=headers, **mp_options,
            ).upload()  # fmt: skip
        if size > threshold:
            if getattr(session, "records_large_file_sha1", False):
                metadata = await asyncio.to_thread(
                    with_large_file_sha1, source, size, metadata, headers,
                    getattr(session, "max_info_entries", None),
                )  # fmt: skip
            return await AsyncMultipartUpload(
                self, source, key, bucket, part_size, concurrency, metadata, content_type,
                progress, headers=headers, **mp_options,
            ).upload()  # fmt: skip
        reporter = ProgressReporter(progress, size)
        name = None
        if getattr(session, "supports_checksum_mode", False):
            name = (checksum or "crc32").lower()  # the server verifies and stores it
        body, digest = await asyncio.to_thread(_read_body, source, size, name)
        all_headers = dict(headers or {})
        if name is not None and digest is not None:
            all_headers[checksum_header(name)] = digest
        sse = {k: v for k, v in put_options.items() if k == "sse_customer_key"}
        response = await session.put_object(
            key, body, bucket=bucket, metadata=metadata, content_type=content_type,
            headers=all_headers, content_length=size, **sse,
        )  # fmt: skip
        reporter.add(size)
        reporter.finish()
        return response

    @mirrors(TransferMixin.download_file)
    async def download_file(
        self,
        key: str,
        dest: str | os.PathLike[str] | IO[bytes],
        *,
        bucket: str | None = None,
        version_id: str | None = None,
        threshold: int = DEFAULT_THRESHOLD,
        part_size: int = DEFAULT_PART_SIZE,
        concurrency: int = 8,
        progress: ProgressCallback | None = None,
        verify: bool = True,
        sse_customer_key: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        session: Any = self
        if concurrency < 1 or part_size < 1:
            raise ValueError("concurrency and part_size must be positive")
        extra = {"checksum_mode": True} if getattr(session, "supports_checksum_mode", False) else {}
        options = request_options(session, sse_customer_key, headers)
        head = await session.head_object(
            key, bucket=bucket, version_id=version_id, **extra, **options
        )
        fields = cast("Response", head)  # the header-derived fields both responses share
        size = check_object_size(key, fields)
        verifier = Verifier.for_head(fields, verify)
        pin = download_pin(session, fields, bucket, version_id, options)
        download = _Download(session, key, pin, verifier, ProgressReporter(progress, size))
        await download.run(dest, size, threshold, part_size, concurrency)
        return head


class _Download:
    """One download_file: the object's pinned GETs written into a `Sink` off the loop."""

    def __init__(
        self,
        session: Any,
        key: str,
        pin: dict[str, Any],
        verifier: Verifier,
        reporter: ProgressReporter,
    ) -> None:
        self.session = session
        self.key = key
        self.pin = pin
        self.verifier = verifier
        self.reporter = reporter
        self.offload = Offload()
        self.sink: Sink | None = None

    async def run(
        self,
        dest: str | os.PathLike[str] | IO[bytes],
        size: int,
        threshold: int,
        part_size: int,
        concurrency: int,
    ) -> None:
        """Fetch, write and verify the whole object; on any failure (the task's cancellation
        included) the temporary file is removed once no write to it is still running."""
        verifier = self.verifier
        self.sink = sink = Sink(dest, size)  # creates (and sizes) the `.part` file: no data yet
        try:
            if size <= threshold and verifier.parts <= 1:
                written = await self._single()
            else:
                first = 0
                if verifier.kind in verifier.ALIGNED and hasattr(self.session, "part_size_of"):
                    first = await self.session.part_size_of(self.key, 1, **self.pin)
                ranges = plan_ranges(size, part_size, verifier, first)
                written = await self._ranges(ranges, concurrency)
            if written != size:
                raise ChecksumMismatch(f"downloaded {written} bytes, the object has {size}")
            sink.commit(size)
        except BaseException:
            try:
                await run_to_end(self.offload.settle())
            finally:
                sink.discard()
            raise
        self.reporter.finish()

    async def _single(self) -> int:
        """One GET of the whole object, written and hashed in order; checked."""
        verifier = self.verifier
        whole = verifier.whole_hasher() if verifier.in_order else None
        part = verifier.range_hasher()
        response = await self.session.get_object(self.key, stream=True, **self.pin)
        written = await self._absorb(response, 0, [h for h in (whole, part) if h is not None])
        verifier.finish(
            [(written, part.digest())] if part is not None else [],
            whole.hexdigest() if whole is not None else None,
        )
        return written

    async def _absorb(
        self, response: Any, start: int, hashers: list[Any], held: list[bytes] | None = None
    ) -> int:
        """Write a streamed body at `start` (if the sink is seekable, or if `held` is None:
        in order), feeding `hashers`, a few MiB at a time off the loop; keep its chunks in
        `held` when given (then reported when the caller takes them); returns the byte count."""
        sink = self.sink
        assert sink is not None
        target = sink if sink.seekable or held is None else None
        offset = start
        pending: list[bytes] = []
        size = 0
        async with response:
            async for chunk in response.iter_chunks(CHUNK):
                pending.append(chunk)
                size += len(chunk)
                if held is not None:
                    held.append(chunk)
                else:
                    self.reporter.add(len(chunk))  # received (written a few MiB at a time)
                if size >= WRITE_CHUNK:
                    await self.offload.run(_write_and_hash, target, offset, pending, hashers)
                    offset += size
                    pending, size = [], 0
        if pending:
            await self.offload.run(_write_and_hash, target, offset, pending, hashers)
            offset += size
        return offset - start

    async def _fetch(
        self, start: int, end: int, in_order: bool
    ) -> tuple[int, list[bytes] | None, bytes | None]:
        """One ranged GET: its byte count, its bytes (when they must be taken in order) and
        its own digest (when ranges are hashed on their own)."""
        part_hash = self.verifier.range_hasher()
        held: list[bytes] | None = [] if in_order else None
        response = await self.session.get_object(
            self.key, range_start=start, range_end=end, stream=True, **self.pin
        )
        hashers = [part_hash] if part_hash is not None else []
        count = await self._absorb(response, start, hashers, held)
        if start + count != end + 1:
            raise ChecksumMismatch(f"range {start}-{end} ended at byte {start + count}")
        return count, held, part_hash.digest() if part_hash is not None else None

    async def _ranges(self, ranges: list[tuple[int, int]], concurrency: int) -> int:
        """Fetch the ranges as tasks, at most `concurrency` at a time, taking their results in
        order (whole-object digests and in-order sinks need the bytes in order: then at most
        `concurrency` ranges are held in memory); the first failure stops them all."""
        sink = self.sink
        assert sink is not None
        verifier = self.verifier
        in_order = verifier.in_order or not sink.seekable
        whole = verifier.whole_hasher() if verifier.in_order else None
        tasks: list[asyncio.Task[tuple[int, list[bytes] | None, bytes | None]] | None] = []
        submitted = written = 0
        digests: list[tuple[int, bytes]] = []
        try:
            for index in range(len(ranges)):
                while submitted < len(ranges) and submitted < index + concurrency:
                    fetch = self._fetch(*ranges[submitted], in_order)
                    tasks.append(asyncio.create_task(fetch))
                    submitted += 1
                count, data, digest = await _in_turn(tasks, index)
                tasks[index] = None  # drop the reference: its bytes may be large
                if data is not None:
                    hashers = [whole] if whole is not None else []
                    target = None if sink.seekable else sink
                    await self.offload.run(_write_and_hash, target, ranges[index][0], data, hashers)
                    self.reporter.add(count)
                if digest is not None:
                    digests.append((count, digest))
                written += count
        except BaseException:
            running = [task for task in tasks if task is not None]
            for task in running:
                task.cancel()
            if running:
                await run_to_end(asyncio.gather(*running, return_exceptions=True))
            raise
        verifier.finish(digests, whole.hexdigest() if whole is not None else None)
        return written


async def _in_turn(tasks: list[asyncio.Task[Any] | None], index: int) -> Any:
    """The result of `tasks[index]`, raising at once the failure of any task after it."""
    current = tasks[index]
    assert current is not None
    while not current.done():
        running = [task for task in tasks[index:] if task is not None]
        done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not current and not task.cancelled() and task.exception() is not None:
                raise cast("BaseException", task.exception())
    return current.result()


def _write_and_hash(
    sink: Sink | None, offset: int, chunks: list[bytes], hashers: list[Any]
) -> None:
    """Write `chunks` at `offset` of `sink` (None: not written here) and feed them to
    `hashers` (in a thread: writing and hashing release the GIL on large buffers)."""
    for hasher in hashers:
        for chunk in chunks:
            hasher.update(chunk)
    if sink is not None:
        for chunk in chunks:  # in place, chunk by chunk: no joined copy of them
            sink.write_at(offset, chunk)
            offset += len(chunk)


def _read_body(
    source: str | os.PathLike[str] | IO[bytes], size: int, checksum: str | None
) -> tuple[bytes, str | None]:
    """The next `size` bytes of a path or file object (a single PUT's body) and their
    `checksum` (base64; None without one); ValueError if the source is shorter."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            data = read_up_to(f, size)
    else:
        data = read_up_to(source, size)
    if len(data) != size:
        raise ValueError(f"the source changed while uploading: {len(data)} bytes, not {size}")
    digest = checksum_of(io.BytesIO(data), size, checksum) if checksum else None
    return data, digest
