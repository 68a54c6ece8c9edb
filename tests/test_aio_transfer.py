"""The async transfers against SeaweedFS: upload_file/download_file in parts running as tasks,
AsyncMultipartUpload (start, parts, complete, abort, resume, `async with`), verification,
and clean-up when the task is cancelled mid-upload (the upload aborted) or mid-download (no
`.part` file left), with nothing left unclosed."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import io
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

import s3lite
from b2server import B2TestServer
from conftest import B2_MIN_PART_SIZE, FAST_RETRY
from faultproxy import DelayFirstByte, ErrorResponse, FaultProxy
from s3lite import B2Session, S3Session
from s3lite.aio.b2 import AsyncB2Session
from s3lite.aio.multipart import AsyncMultipartUpload
from s3lite.aio.s3 import AsyncS3Session
from s3lite.devserver import LocalSeaweedFS
from s3lite.parts import PartResult

pytestmark = pytest.mark.filterwarnings(
    "error::ResourceWarning", "error::pytest.PytestUnraisableExceptionWarning"
)

T = TypeVar("T")
MiB = 1024 * 1024


def run(coro: Awaitable[T]) -> T:
    """Run a test coroutine on a fresh loop, then collect garbage so that anything left
    unclosed warns (an error here) inside the test that left it."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    finally:
        gc.collect()


def _data(size: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


def _md5_of_parts(data: bytes, part_size: int) -> str:
    digests = b"".join(
        hashlib.md5(data[i : i + part_size]).digest()  # noqa: S324
        for i in range(0, len(data), part_size)
    )
    count = -(-len(data) // part_size)
    return f"{hashlib.md5(digests).hexdigest()}-{count}"  # noqa: S324


def _uploads(s3: S3Session) -> list[Any]:
    return list(s3.list_multipart_uploads())


@pytest.fixture
def aio(seaweed: LocalSeaweedFS, s3: S3Session) -> Callable[[], Any]:
    """Makes an async session on the sync fixture's bucket (inside the test's loop)."""

    def make() -> Any:
        return AsyncS3Session(
            seaweed.access_key, seaweed.secret_key, endpoint_url=seaweed.endpoint_url,
            bucket=s3.bucket, **FAST_RETRY,
        )  # fmt: skip

    return make


# --- upload_file / download_file ---------------------------------------------------------------


def test_upload_file_small_and_in_parts(aio: Callable[[], Any], s3: S3Session, tmp_path) -> None:
    small, large = _data(3 * MiB, 1), _data(23 * MiB + 5, 2)
    (tmp_path / "small").write_bytes(small)
    (tmp_path / "large").write_bytes(large)
    calls: list[tuple[int, int | None]] = []

    async def main() -> None:
        async with aio() as session:
            await session.upload_file(tmp_path / "small", "small", metadata={"a": "1"})
            response = await session.upload_file(
                str(tmp_path / "large"), "large", threshold=5 * MiB, part_size=5 * MiB,
                concurrency=3, progress=lambda d, t: calls.append((d, t)),
            )  # fmt: skip
            assert response.etag == _md5_of_parts(large, 5 * MiB)
            # a file object, read from its position; and a pipe-like stream of unknown size
            f = io.BytesIO(b"skip" + large)
            f.seek(4)
            await session.upload_file(f, "from-file", threshold=5 * MiB, part_size=5 * MiB)

    run(main())
    assert s3.get_object("small").data == small
    assert s3.head_object("small").metadata == {"a": "1"}
    assert s3.get_object("large").data == large
    assert s3.get_object("from-file").data == large
    assert calls[-1] == (len(large), len(large)) and calls == sorted(calls)
    assert _uploads(s3) == []


def test_upload_file_from_a_pipe(aio: Callable[[], Any], s3: S3Session) -> None:
    for size in (1000, 12 * MiB + 1):
        data = _data(size, 3)
        read_fd, write_fd = os.pipe()

        async def main(
            read_fd: int = read_fd, write_fd: int = write_fd, data: bytes = data, size: int = size
        ) -> None:
            def feed() -> None:
                with os.fdopen(write_fd, "wb") as w:
                    w.write(data)

            async with aio() as session:
                with os.fdopen(read_fd, "rb") as pipe:
                    writer = asyncio.create_task(asyncio.to_thread(feed))
                    await session.upload_file(pipe, f"pipe-{size}", threshold=5 * MiB,
                                              part_size=5 * MiB)  # fmt: skip
                    await writer

        run(main())
        assert s3.get_object(f"pipe-{size}").data == data


@pytest.mark.parametrize("kind", ["single-part", "multipart"])
def test_download_file_parallel_and_verified(
    aio: Callable[[], Any], s3: S3Session, tmp_path: Path, kind: str
) -> None:
    data = _data(30 * MiB + 11, 7)
    if kind == "single-part":
        s3.put_object("dl", data)
    else:
        s3.upload_file(io.BytesIO(data), "dl", threshold=6 * MiB, part_size=6 * MiB)
    calls: list[int] = []
    dest = tmp_path / "out.bin"
    buf = io.BytesIO(b"prefix:")
    buf.seek(7)

    async def main() -> Any:
        async with aio() as session:
            head = await session.download_file(
                "dl", dest, part_size=5 * MiB, concurrency=3,
                progress=lambda d, t: calls.append(d),
            )  # fmt: skip
            await session.download_file("dl", buf, part_size=5 * MiB)
            return head

    head = run(main())
    assert dest.read_bytes() == data and head.content_length == len(data)
    assert calls[-1] == len(data) and calls == sorted(calls)
    assert os.listdir(tmp_path) == ["out.bin"]  # no temporary file left
    assert buf.getvalue() == b"prefix:" + data and buf.tell() == 7 + len(data)


def test_download_file_to_a_non_seekable_sink(aio: Callable[[], Any], s3: S3Session) -> None:
    data = _data(25 * MiB, 8)
    s3.upload_file(io.BytesIO(data), "pipe", threshold=5 * MiB, part_size=5 * MiB)
    read_fd, write_fd = os.pipe()
    received = hashlib.sha256()

    def drain() -> None:
        with os.fdopen(read_fd, "rb") as r:
            while chunk := r.read(MiB):
                received.update(chunk)

    async def main() -> None:
        reader = asyncio.create_task(asyncio.to_thread(drain))
        async with aio() as session:
            with os.fdopen(write_fd, "wb") as w:
                await session.download_file("pipe", w, part_size=4 * MiB, concurrency=3)
        await reader

    run(main())
    assert received.hexdigest() == hashlib.sha256(data).hexdigest()


def test_download_file_small_empty_and_missing(
    aio: Callable[[], Any], s3: S3Session, tmp_path: Path
) -> None:
    s3.put_object("small", b"tiny")
    s3.put_object("empty", b"")

    async def main() -> None:
        async with aio() as session:
            await session.download_file("small", tmp_path / "small")
            await session.download_file("empty", tmp_path / "empty")
            with pytest.raises(s3lite.NoSuchKey):
                await session.download_file("missing", tmp_path / "missing")

    run(main())
    assert (tmp_path / "small").read_bytes() == b"tiny"
    assert (tmp_path / "empty").read_bytes() == b""
    assert sorted(os.listdir(tmp_path)) == ["empty", "small"]


class _Corrupting:
    """A streamed response whose first chunk has one byte flipped (bytes the server did
    not store), to prove the download's verification catches it."""

    def __init__(self, response: Any) -> None:
        self._response = response

    async def __aenter__(self) -> _Corrupting:
        await self._response.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._response.__aexit__(*exc)

    async def iter_chunks(self, size: int) -> AsyncIterator[bytes]:
        first = True
        async for chunk in self._response.iter_chunks(size):
            if first and chunk:
                first = False
                yield bytes([chunk[0] ^ 1]) + chunk[1:]
            else:
                yield chunk


@pytest.mark.parametrize("size", [3 * MiB, 17 * MiB])
@pytest.mark.parametrize("kind", ["single-part", "multipart"])
def test_download_file_detects_corrupt_bytes(
    aio: Callable[[], Any], s3: S3Session, tmp_path: Path, size: int, kind: str
) -> None:
    data = _data(size, 9)
    if kind == "single-part":
        s3.put_object("bad", data)
    else:
        s3.upload_file(io.BytesIO(data), "bad", threshold=MiB, part_size=5 * MiB)
    (tmp_path / "bad").write_bytes(b"previous")

    async def main() -> None:
        async with aio() as session:
            original = session.get_object

            async def get_object(*args: Any, **kwargs: Any) -> Any:
                return _Corrupting(await original(*args, **kwargs))

            session.get_object = get_object
            with pytest.raises(s3lite.ChecksumMismatch):
                await session.download_file("bad", tmp_path / "bad", part_size=5 * MiB)

    run(main())
    assert (tmp_path / "bad").read_bytes() == b"previous"  # untouched
    assert os.listdir(tmp_path) == ["bad"]


# --- AsyncMultipartUpload ----------------------------------------------------------------------


def test_multipart_upload_plain_and_as_context(aio: Callable[[], Any], s3: S3Session) -> None:
    data = _data(12 * MiB + 3, 4)

    async def main() -> None:
        async with aio() as session:
            up = AsyncMultipartUpload(session, key="plain", part_size=5 * MiB)
            await up.start()
            await asyncio.gather(
                up.upload_part(2, data[5 * MiB : 10 * MiB]),
                up.upload_part(1, data[: 5 * MiB]),
                up.upload_part(3, data[10 * MiB :]),
            )
            response = await up.complete()
            assert response.etag == _md5_of_parts(data, 5 * MiB)
            assert [p.number for p in up.parts] == [1, 2, 3]
            async with AsyncMultipartUpload(session, data, "context", part_size=5 * MiB) as up2:
                assert up2.upload_id is not None
            assert up2.completed is not None
            with pytest.raises(RuntimeError, match="boom"):
                async with AsyncMultipartUpload(session, key="aborted", part_size=5 * MiB) as up3:
                    await up3.upload_part(1, data[: 5 * MiB])
                    raise RuntimeError("boom")
            assert up3.aborted and "AsyncMultipartUpload" in repr(up3)

    run(main())
    assert s3.get_object("plain").data == data
    assert s3.get_object("context").data == data
    with pytest.raises(s3lite.NoSuchKey):
        s3.head_object("aborted")
    assert _uploads(s3) == []


def test_failed_source_aborts(aio: Callable[[], Any], s3: S3Session) -> None:
    def gen() -> Any:
        for i in range(3):
            yield _data(5 * MiB, i)
        raise OSError("the source broke")

    async def main() -> None:
        async with aio() as session:
            with pytest.raises(OSError, match="source broke"):
                await AsyncMultipartUpload(session, gen(), "broken", part_size=5 * MiB).upload()

    run(main())
    assert _uploads(s3) == []


def test_failed_part_aborts_and_raises(
    seaweed: LocalSeaweedFS, s3: S3Session, tmp_path: Path
) -> None:
    (tmp_path / "src").write_bytes(_data(30 * MiB, 8))

    async def main(proxy: FaultProxy) -> None:
        async with AsyncS3Session(
            seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=s3.bucket,
            **FAST_RETRY,
        ) as session:  # fmt: skip
            with pytest.raises(s3lite.InvalidArgument):
                await session.upload_file(tmp_path / "src", "fails", threshold=5 * MiB,
                                          part_size=5 * MiB, concurrency=2)  # fmt: skip

    with FaultProxy("127.0.0.1", seaweed.s3_port) as proxy:
        proxy.add(ErrorResponse(400, "InvalidArgument", "bad part"), query_contains="partNumber=3",
                  times=None)  # fmt: skip
        run(main(proxy))
        sent = [t for m, t in proxy.requests if m == "PUT" and "partNumber=" in t]
    assert len(sent) < 6  # the parts after the failure were not all sent
    assert _uploads(s3) == []


def test_resume_sends_only_what_is_missing_or_differs(
    aio: Callable[[], Any], s3: S3Session, tmp_path: Path
) -> None:
    data = _data(22 * MiB, 6)
    path = tmp_path / "src.bin"
    path.write_bytes(data)

    async def main() -> None:
        async with aio() as session:
            up = AsyncMultipartUpload(session, key="resumed", part_size=5 * MiB)
            upload_id = await up.start()
            await up.upload_part(1, data[: 5 * MiB])
            await up.upload_part(2, b"\0" * (5 * MiB))  # not what the source holds
            await up.upload_part(3, data[10 * MiB : 15 * MiB])
            sent: list[int] = []
            backend = session.multipart_backend  # held: the patched one is used
            original = backend.upload_part

            async def counting(bucket: str, key: str, uid: str, number: int, *a: Any,
                               **k: Any) -> PartResult:  # fmt: skip
                sent.append(number)
                return await original(bucket, key, uid, number, *a, **k)  # type: ignore[no-any-return]

            backend.upload_part = counting  # type: ignore[method-assign]
            response = await AsyncMultipartUpload.resume(
                session, "resumed", upload_id, str(path), concurrency=2
            )
            assert sorted(sent) == [2, 4, 5]
            assert response.etag == _md5_of_parts(data, 5 * MiB)
            up2 = AsyncMultipartUpload(session, key="gen", part_size=5 * MiB)
            upload_id2 = await up2.start()
            try:
                with pytest.raises(ValueError, match="seekable"):
                    await AsyncMultipartUpload.resume(session, "gen", upload_id2, iter([b"x"]))
            finally:
                await up2.abort()

    run(main())
    assert s3.get_object("resumed").data == data
    assert _uploads(s3) == []


def test_composite_etag_mismatch_is_detected(aio: Callable[[], Any]) -> None:
    async def main() -> None:
        async with aio() as session:
            up = AsyncMultipartUpload(session, key="etag", part_size=5 * MiB)
            await up.start()
            await up.upload_part(1, _data(5 * MiB))
            response = await up.complete()
            with pytest.raises(s3lite.ChecksumMismatch):
                up.finish(response, [PartResult(1, 5 * MiB, etag="0" * 32)])

    run(main())


# --- cancellation ------------------------------------------------------------------------------


def test_cancelled_upload_is_aborted(aio: Callable[[], Any], s3: S3Session, tmp_path: Path) -> None:
    for name, source in (("path", tmp_path / "big"), ("stream", None)):
        data = _data(40 * MiB, 5)
        (tmp_path / "big").write_bytes(data)

        async def main(source: Any = source, name: str = name, data: bytes = data) -> None:
            first_part = asyncio.Event()
            async with aio() as session:
                task = asyncio.create_task(
                    session.upload_file(
                        source if source is not None else io.BytesIO(data), f"cancel-{name}",
                        threshold=5 * MiB, part_size=5 * MiB, concurrency=2,
                        progress=lambda d, t: first_part.set(),
                    )
                )  # fmt: skip
                await asyncio.wait_for(first_part.wait(), 60)
                assert _uploads(s3) != []  # under way
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

        run(main())
        assert _uploads(s3) == []
        with pytest.raises(s3lite.NoSuchKey):
            s3.head_object(f"cancel-{name}")


def test_upload_cancelled_while_starting_leaves_no_upload(
    seaweed: LocalSeaweedFS, s3: S3Session, tmp_path: Path
) -> None:
    """The start reached the server but its answer did not come back before the task was
    cancelled: the upload it created (whose id nobody knows) is found and aborted."""
    (tmp_path / "src").write_bytes(_data(12 * MiB, 7))

    async def main(proxy: FaultProxy) -> None:
        async with AsyncS3Session(
            seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=s3.bucket,
            **FAST_RETRY,
        ) as session:  # fmt: skip
            task = asyncio.create_task(
                session.upload_file(tmp_path / "src", "starting", threshold=5 * MiB,
                                    part_size=5 * MiB)
            )  # fmt: skip
            while not any(m == "POST" and "uploads" in t for m, t in proxy.requests):
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.5)  # forwarded: the upload exists, its answer is held back
            assert [u["key"] for u in _uploads(s3)] == ["starting"]
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    with FaultProxy("127.0.0.1", seaweed.s3_port) as proxy:
        proxy.add(DelayFirstByte(5), method="POST", query_contains="uploads", times=1)
        run(main(proxy))
    assert _uploads(s3) == []


def test_cancelled_download_leaves_no_part_file(
    aio: Callable[[], Any], s3: S3Session, tmp_path: Path
) -> None:
    data = _data(40 * MiB, 6)
    s3.upload_file(io.BytesIO(data), "big", threshold=5 * MiB, part_size=5 * MiB)
    s3.put_object("single", data)
    for key, threshold in (("big", 5 * MiB), ("single", 64 * MiB)):  # in ranges, one GET
        out = tmp_path / key
        out.mkdir()

        async def main(key: str = key, threshold: int = threshold, out: Path = out) -> None:
            started = asyncio.Event()
            async with aio() as session:
                task = asyncio.create_task(
                    session.download_file(
                        key, out / "file", threshold=threshold, part_size=4 * MiB,
                        concurrency=2, progress=lambda d, t: started.set(),
                    )
                )  # fmt: skip
                await asyncio.wait_for(started.wait(), 60)
                assert [n for n in os.listdir(out) if n.endswith(".part")] != []
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

        run(main())
        assert os.listdir(out) == []


# --- B2 (large files) ----------------------------------------------------------------------------

PART = B2_MIN_PART_SIZE  # the test server's smallest part


@pytest.fixture
def aio_b2(b2: B2Session, b2server: B2TestServer) -> Callable[[], Any]:
    """Makes an AsyncB2Session on the sync fixture's key and bucket."""
    c = b2.credentials.get()
    assert c is not None

    def make() -> Any:
        return AsyncB2Session(
            c.access_key, c.secret_key, bucket=b2.bucket, api_url=b2server.api_url, **FAST_RETRY
        )

    return make


def test_b2_files_in_parts_verified_and_resumed(
    aio_b2: Callable[[], Any], b2: B2Session, tmp_path: Path
) -> None:
    data = _data(9 * PART + 17, 21)
    path = tmp_path / "src.bin"
    path.write_bytes(data)
    sha1 = hashlib.sha1(data).hexdigest()  # noqa: S324

    async def main() -> None:
        async with aio_b2() as session:
            done = await session.upload_file(path, "f.bin", threshold=PART, part_size=PART,
                                             concurrency=4)  # fmt: skip
            assert done.etag == sha1  # the large file's SHA-1, recorded by upload_file
            await session.download_file("f.bin", tmp_path / "copy", part_size=PART, concurrency=3)
            original = session.get_object

            async def get_object(*args: Any, **kwargs: Any) -> Any:
                return _Corrupting(await original(*args, **kwargs))

            session.get_object = get_object
            with pytest.raises(s3lite.ChecksumMismatch):
                await session.download_file("f.bin", tmp_path / "bad", part_size=PART)
            session.get_object = original
            # resume: part 1 is right, part 2 is not what the source holds
            up = AsyncMultipartUpload(session, key="resumed", part_size=PART)
            upload_id = await up.start()
            await up.upload_part(1, data[:PART])
            await up.upload_part(2, b"\0" * PART)
            response = await AsyncMultipartUpload.resume(session, "resumed", upload_id, str(path))
            assert response.status == 200

    run(main())
    assert (tmp_path / "copy").read_bytes() == data
    assert sorted(os.listdir(tmp_path)) == ["copy", "src.bin"]
    assert b2.get_object("resumed", stream=False).data == data
    assert list(b2.list_multipart_uploads()) == []


def test_b2_cancelled_upload_and_download_clean_up(
    aio_b2: Callable[[], Any], b2: B2Session, tmp_path: Path
) -> None:
    data = _data(400 * PART, 22)
    b2.upload_file(io.BytesIO(data), "big", threshold=PART, part_size=40 * PART)
    out = tmp_path / "out"
    out.mkdir()

    async def main() -> None:
        async with aio_b2() as session:
            first = asyncio.Event()
            upload = asyncio.create_task(
                session.upload_file(io.BytesIO(data), "cancelled", threshold=PART, part_size=PART,
                                    concurrency=2, progress=lambda d, t: first.set())
            )  # fmt: skip
            await asyncio.wait_for(first.wait(), 60)
            upload.cancel()
            with pytest.raises(asyncio.CancelledError):
                await upload
            first.clear()
            download = asyncio.create_task(
                session.download_file("big", out / "big", threshold=PART, part_size=PART,
                                      concurrency=2,
                                      progress=lambda d, t: first.set())
            )  # fmt: skip
            await asyncio.wait_for(first.wait(), 60)
            download.cancel()
            with pytest.raises(asyncio.CancelledError):
                await download

    run(main())
    assert list(b2.list_multipart_uploads()) == []
    assert os.listdir(out) == []


# --- memory ---------------------------------------------------------------------------------------

ASYNC_DOWNLOAD_CHILD = """
import asyncio, json, os, sys
from s3lite import AsyncS3Session

async def main():
    async with AsyncS3Session(os.environ["T_AK"], os.environ["T_SK"],
                              endpoint_url=os.environ["T_URL"], bucket=os.environ["T_BUCKET"],
                              max_pool_connections=8) as s:
        await s.download_file("big", sys.argv[1], part_size=8 << 20, concurrency=8)

asyncio.run(main())
print(json.dumps({"peak_mib": peak_rss_mib()}))
"""


def test_download_holds_a_few_mib_per_range_in_flight(
    seaweed: LocalSeaweedFS, s3: S3Session, tmp_path: Path
) -> None:
    """Eight 8 MiB ranges at once: each is written (and hashed) a couple of MiB at a time, so
    the download's memory stays far below the ranges' size, not a whole range (and a joined
    copy of it) per task."""
    import json
    import subprocess
    import sys

    from conftest import PEAK_RSS

    data = _data(128 * 1024 * 1024, seed=7)
    s3.upload_file(io.BytesIO(data), "big", part_size=8 * 1024 * 1024)
    dst = tmp_path / "big.bin"
    env = dict(os.environ, T_AK=seaweed.access_key, T_SK=seaweed.secret_key,
               T_URL=seaweed.endpoint_url, T_BUCKET=str(s3.bucket))  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", PEAK_RSS + ASYNC_DOWNLOAD_CHILD, str(dst)], env=env,
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(data).digest()
    peak = json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]
    assert peak < 100, f"peak RSS {peak:.0f} MiB for 8 ranges of 8 MiB in flight"
