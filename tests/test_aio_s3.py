"""AsyncS3Session against SeaweedFS (and moto where the sync tests use it): the S3 API as
coroutines over the same operations — round trips, typed errors, streamed and resumed
downloads through the fault proxy, request bodies from bytes, files and async iterators,
listings as async iterators, batch deletes, copies in concurrent parts, credentials fetched
off the loop, and sessions that close cleanly."""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import urllib3

import s3lite
from conftest import FAST_RETRY, MotoServer
from faultproxy import (
    ErrorResponse,
    FaultProxy,
    ResetBeforeResponse,
    ResetMidBody,
    Stall,
    TruncateBody,
)
from s3lite import S3Session
from s3lite.aio.listing import AsyncListing
from s3lite.aio.response import AsyncResponse
from s3lite.aio.s3 import AsyncS3Session
from s3lite.aio.s3_driver import bounded_gather
from s3lite.aio.s3_multipart import AsyncS3MultipartBackend
from s3lite.credentials import Credentials, RefreshingCredentials
from s3lite.devserver import LocalSeaweedFS
from s3lite.s3_multipart import S3MultipartBackend
from s3lite.s3_requests import head_object

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


def session_on(seaweed: LocalSeaweedFS, bucket: str | None, **kwargs: Any) -> AsyncS3Session:
    kwargs = {"endpoint_url": seaweed.endpoint_url, **FAST_RETRY, **kwargs}
    return AsyncS3Session(seaweed.access_key, seaweed.secret_key, bucket=bucket, **kwargs)


@pytest.fixture
def aio(seaweed: LocalSeaweedFS, s3: S3Session) -> AsyncS3Session:
    """An AsyncS3Session on the sync fixture's fresh bucket (used inside one `run`)."""
    return session_on(seaweed, s3.bucket)


@pytest.fixture
def proxy(seaweed: LocalSeaweedFS) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", seaweed.s3_port) as p:
        yield p
        assert not p.errors


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


# --- the API's shape ---------------------------------------------------------------------------


def sync_api() -> dict[str, inspect.Signature]:
    """S3Session's public methods (those of the engines other modules add excepted)."""
    later = {"lock", "lock_store"}
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(S3Session, inspect.isfunction)
        if not name.startswith("_") and name not in later
    }


def test_every_sync_method_is_there_with_the_same_arguments() -> None:
    for name, signature in sync_api().items():
        method = getattr(AsyncS3Session, name)
        mine = inspect.signature(method)
        assert [(p.name, p.kind, p.default) for p in mine.parameters.values()] == [
            (p.name, p.kind, p.default) for p in signature.parameters.values()
        ], name
        sync_is_listing = "Listing" in str(signature.return_annotation)
        assert (
            inspect.iscoroutinefunction(method)
            == (name not in ("presign", "close") and not sync_is_listing)
            or name == "close"
        ), name
    assert inspect.iscoroutinefunction(AsyncS3Session.close)
    sync_init = inspect.signature(S3Session.__init__).parameters
    async_init = inspect.signature(AsyncS3Session.__init__).parameters
    assert [n for n in sync_init if n != "pool_manager"] == list(async_init)


def test_multipart_backends_have_the_same_primitives() -> None:
    """The async multipart backend's primitives are the sync one's (arguments, docs), as
    coroutines; each session makes its backend once."""
    for name, member in inspect.getmembers(S3MultipartBackend, inspect.isfunction):
        if name.startswith("_"):
            continue
        mirror = getattr(AsyncS3MultipartBackend, name)
        assert inspect.signature(mirror).parameters.keys() == (
            inspect.signature(member).parameters.keys()
        ), name
        assert inspect.getdoc(mirror) == inspect.getdoc(member), name
        plain = ("bucket", "now", "list_multipart_uploads", "adopt_part", "expected_etag", "verify")
        assert inspect.iscoroutinefunction(mirror) == (name not in plain), name
    session = AsyncS3Session("id", "key", "bucket-name", endpoint_url="http://127.0.0.1:9")
    backend = session.multipart_backend
    assert isinstance(backend, AsyncS3MultipartBackend)
    assert session.multipart_backend is backend and backend.bucket(None) == "bucket-name"
    assert backend.multipart_max_parts == session.multipart_max_parts


def test_docstrings_name_every_parameter() -> None:
    from test_docstrings import undocumented

    assert undocumented(AsyncS3Session) == []
    assert AsyncS3Session.get_object.__doc__ == inspect.getdoc(S3Session.get_object)


def test_top_level_name_is_lazy() -> None:
    assert s3lite.AsyncS3Session is AsyncS3Session


# --- objects -----------------------------------------------------------------------------------


def test_put_get_head_delete_round_trip(aio: AsyncS3Session, s3: S3Session) -> None:
    async def main() -> None:
        async with aio:
            put = await aio.put_object("k", b"hello", metadata={"colour": "blue"})
            assert isinstance(put, AsyncResponse) and put.etag
            head = await aio.head_object("k")
            assert head.content_length == 5 and head.metadata == {"colour": "blue"}
            assert head.etag == put.etag
            got = await aio.get_object("k", stream=False)
            assert got.data == b"hello" and got.closed
            buffer = bytearray(2)  # a preloaded body is still read from its start
            assert await got.readinto(buffer) == 2 and buffer == b"he"
            assert await got.read() == b"llo" and await got.read() == b""
            async with await aio.get_object("k") as resp:  # streamed by default
                assert [c async for c in resp.iter_chunks(2)] == [b"he", b"ll", b"o"]
            part = await aio.get_object("k", range_start=1, range_end=3)
            assert await part.read() == b"ell"
            assert await aio.part_size_of("k", 1) in (None, 5)
            await aio.delete_object("k")
            with pytest.raises(s3lite.NoSuchKey):
                await aio.head_object("k")
            with pytest.raises(s3lite.NoSuchKey):
                await aio.get_object("k")
        assert aio.transport.open_connections == 0

    run(main())
    with pytest.raises(s3lite.NoSuchKey):  # the sync session sees the same bucket
        s3.head_object("k")


def test_conditional_and_typed_errors(aio: AsyncS3Session, seaweed: LocalSeaweedFS) -> None:
    async def main() -> None:
        async with aio:
            put = await aio.put_object("c", b"1")
            with pytest.raises(s3lite.PreconditionFailed):
                await aio.put_object("c", b"2", if_none_match="*")
            with pytest.raises(s3lite.PreconditionFailed):
                await aio.get_object("c", if_match="0" * 32)
            assert (await aio.get_object("c", stream=False, if_match=put.etag)).data == b"1"
            with pytest.raises(s3lite.NoSuchBucket):
                await aio.head_bucket("no-such-bucket-here")
            async with AsyncS3Session(
                seaweed.access_key, "wrong-secret", endpoint_url=seaweed.endpoint_url,
                bucket=aio.bucket, **FAST_RETRY,
            ) as wrong:  # fmt: skip
                with pytest.raises(s3lite.SignatureDoesNotMatch):
                    await wrong.get_object("c")
                with pytest.raises(s3lite.Forbidden):
                    await wrong.head_object("c")
                with pytest.raises(s3lite.Forbidden):
                    await wrong.put_object("c", b"x")

    run(main())


def test_bodies_from_files_iterables_and_async_iterators(
    aio: AsyncS3Session, tmp_path: Path
) -> None:
    data = os.urandom(3 * MiB + 17)
    path = tmp_path / "f"
    path.write_bytes(data)

    async def main() -> None:
        async with aio:
            with open(path, "rb") as f:
                await aio.put_object("file", f, checksum="sha256")
            assert (await aio.get_object("file", stream=False)).data == data
            await aio.put_object("iter", iter([b"a" * 1000, b"b" * 1000]))
            assert (await aio.get_object("iter", stream=False)).data == b"a" * 1000 + b"b" * 1000
            # An async iterator of known length goes out as it comes...
            await aio.put_object("known", chunks(data[:MiB], data[MiB:]), content_length=len(data))
            assert (await aio.get_object("known", stream=False)).data == data
            # ... one of unknown length, or with a checksum, is spooled first.
            await aio.put_object("unknown", chunks(b"x" * 10, b"y" * 20))
            assert (await aio.head_object("unknown")).content_length == 30
            await aio.put_object("summed", chunks(data), checksum="crc32")
            assert (await aio.get_object("summed", stream=False)).data == data
            aio.payload_signing = "signed"
            await aio.put_object("signed", chunks(b"z" * 5000), content_length=5000)
            assert (await aio.get_object("signed", stream=False)).data == b"z" * 5000
            read_fd, write_fd = os.pipe()  # not seekable, length unknown: spooled, closed
            with os.fdopen(write_fd, "wb") as w:
                w.write(data[:50_000])
            with os.fdopen(read_fd, "rb") as pipe:
                await aio.put_object("pipe", pipe, checksum="crc32")
            assert (await aio.get_object("pipe", stream=False)).data == data[:50_000]
            await aio.put_object("str", "héllo")
            assert (await aio.get_object("str", stream=False)).data == "héllo".encode()

    run(main())


def test_signing_modes(seaweed: LocalSeaweedFS, s3: S3Session, tmp_path: Path) -> None:
    data = os.urandom(2 * MiB + 1)
    path = tmp_path / "f"
    path.write_bytes(data)

    async def main() -> None:
        async with session_on(seaweed, s3.bucket, payload_signing="streaming") as aio:
            with open(path, "rb") as f:  # aws-chunked frames, signed as they are read
                await aio.put_object("chunked", f)
            assert (await aio.get_object("chunked", stream=False)).data == data
            await aio.put_object("chunked-stream", chunks(data[:1000], data[1000:5000]))
            assert (await aio.get_object("chunked-stream", stream=False)).data == data[:5000]
        async with session_on(seaweed, s3.bucket, signature_version="s3") as v2:
            await v2.put_object("v2", b"sigv2")
            assert (await v2.get_object("v2", stream=False)).data == b"sigv2"
            assert "Signature=" in v2.presign("GET", "v2")

    run(main())


def test_an_async_stream_partly_sent_is_not_retried(
    seaweed: LocalSeaweedFS, s3: S3Session, proxy: FaultProxy
) -> None:
    async def main() -> None:
        async with session_on(seaweed, s3.bucket, endpoint_url=proxy.url) as aio:
            proxy.add(ResetBeforeResponse(), method="PUT", times=1)
            body = chunks(*[os.urandom(100_000) for _ in range(3)])
            with pytest.raises(s3lite.TransportError, match="already"):
                await aio.put_object("once", body, content_length=300_000)
            with pytest.raises(s3lite.NoSuchKey):
                await aio.head_object("once")

    run(main())


def test_request_and_presign(aio: AsyncS3Session) -> None:
    async def main() -> None:
        async with aio:
            await aio.request("PUT", "raw", body=b"raw body")
            resp = await aio.request("GET", "raw")
            assert resp.data == b"raw body"
            tagged = await aio.request("GET", "raw", fields={"tagging": ""})
            assert b"Tagging" in tagged.data
            url = aio.presign("GET", "raw", 60)  # synchronous, no I/O
            got = await asyncio.to_thread(urllib3.request, "GET", url)
            assert got.status == 200 and got.data == b"raw body"

    run(main())


def test_tags_and_buckets(aio: AsyncS3Session) -> None:
    async def main() -> None:
        async with aio:
            await aio.put_object("t", b"x")
            await aio.put_object_tagging("t", {"a": "1", "b": "2"})
            assert await aio.get_object_tagging("t") == {"a": "1", "b": "2"}
            await aio.delete_object_tagging("t")
            assert await aio.get_object_tagging("t") == {}
            names = [b["name"] for b in await aio.list_buckets()]
            assert aio.bucket in names
            assert (await aio.head_bucket()).status == 200

    run(main())


def test_run_drives_any_operation(aio: AsyncS3Session) -> None:
    async def main() -> None:
        async with aio:
            await aio.put_object("op", b"12345")
            head = await aio.run(head_object(aio.s3_endpoint, "op"))
            assert head.content_length == 5

    run(main())


# --- streaming and resuming --------------------------------------------------------------------


def test_a_broken_download_resumes_byte_exact(
    seaweed: LocalSeaweedFS, s3: S3Session, proxy: FaultProxy
) -> None:
    data = os.urandom(5 * MiB)
    s3.put_object("big", data)

    async def main() -> None:
        async with session_on(seaweed, s3.bucket, endpoint_url=proxy.url) as aio:
            proxy.add(ResetMidBody(1_000_000), method="GET", times=1)
            proxy.add(TruncateBody(300_000), method="GET", times=1)
            async with await aio.get_object("big") as resp:
                got = b"".join([chunk async for chunk in resp.iter_chunks(256 * 1024)])
            assert got == data
            gets = [target for method, target in proxy.requests if method == "GET"]
            assert len(gets) == 3
            proxy.add(ResetMidBody(500_000), method="GET", times=1)
            ranged = await aio.get_object("big", range_start=1000, range_end=2_000_999)
            assert await ranged.read() == data[1000:2_001_000]

    run(main())


def test_a_changed_object_is_not_spliced(
    seaweed: LocalSeaweedFS, s3: S3Session, proxy: FaultProxy
) -> None:
    s3.put_object("big", b"A" * 4_000_000)

    async def main() -> None:
        async with session_on(seaweed, s3.bucket, endpoint_url=proxy.url) as aio:
            proxy.add(ResetMidBody(2_000_000), method="GET", times=1)
            resp = await aio.get_object("big")
            first = await resp.read(100_000)
            await asyncio.to_thread(s3.put_object, "big", b"B" * 4_000_000)
            with pytest.raises(s3lite.ObjectChanged):
                while await resp.read(100_000):
                    pass
            assert first and set(first) == {ord("A")}  # (read(n) returns at most n bytes)
            await resp.aclose()
            # without resume, a broken body is a transport error
            proxy.add(TruncateBody(100_000), method="GET", times=1)
            resp = await aio.get_object("big", resume=False)
            with pytest.raises(s3lite.TransportError, match=r"after \d+ bytes"):
                await resp.read()
            assert resp.closed

    run(main())


def test_transient_errors_are_retried(
    seaweed: LocalSeaweedFS, s3: S3Session, proxy: FaultProxy
) -> None:
    s3.put_object("k", b"payload")

    async def main() -> None:
        async with session_on(seaweed, s3.bucket, endpoint_url=proxy.url) as aio:
            proxy.add(ErrorResponse(503, "SlowDown"), method="GET", times=1)
            proxy.add(ResetBeforeResponse(), method="GET", times=1)
            assert (await aio.get_object("k", stream=False)).data == b"payload"
            assert len(proxy.fired) == 2

    run(main())


# --- listings and batches ----------------------------------------------------------------------


def test_listings_follow_every_page(aio: AsyncS3Session) -> None:
    keys = [f"dir{i % 2}/k{i:02d}" for i in range(7)] + ["top"]

    async def main() -> None:
        async with aio:
            await bounded_gather([lambda k=k: aio.put_object(k, b"x") for k in keys], 8)
            listing = aio.list_objects(max_keys=2)
            assert isinstance(listing, AsyncListing)
            assert [o["key"] async for o in listing] == sorted(keys)
            assert [o["key"] async for o in aio.list_objects("dir1/")] == sorted(
                k for k in keys if k.startswith("dir1/")
            )
            limited = [o async for o in aio.list_objects(limit=3, page_size=2)]
            assert len(limited) == 3
            folders = aio.list_objects(delimiter="/")
            assert [p async for p in folders.iter_prefixes()] == ["dir0/", "dir1/"]
            assert [o["key"] async for o in folders.iter_objects()] == ["top"]
            assert len([p async for p in aio.list_objects(max_keys=3).pages()]) == 3
            versions = await aio.list_object_versions("top").to_list()
            assert [v["key"] for v in versions] == ["top"] and versions[0]["is_latest"]

    run(main())


def test_delete_objects_by_keys_and_prefix(aio: AsyncS3Session) -> None:
    async def main() -> None:
        async with aio:
            for i in range(5):
                await aio.put_object(f"p/{i}", b"x")
            await aio.put_object("q", b"x")
            result = await aio.delete_objects(["p/0", ("p/1", None), {"key": "p/2"}])
            assert sorted(d["key"] for d in result.deleted) == ["p/0", "p/1", "p/2"]
            result = await aio.delete_objects(prefix="p/")
            assert sorted(d["key"] for d in result.deleted) == ["p/3", "p/4"]
            assert [o["key"] async for o in aio.list_objects()] == ["q"]

    run(main())


def test_multipart_hooks_and_uploads_in_progress(aio: AsyncS3Session, tmp_path: Path) -> None:
    from s3lite.parts import FileSection

    first = os.urandom(5 * MiB)
    second = os.urandom(1000)
    path = tmp_path / "second"
    path.write_bytes(second)

    async def main() -> None:
        async with aio:
            mp = aio.multipart_backend
            bucket = mp.bucket(None)
            upload_id = await mp.start(
                bucket, "mp", metadata={"m": "1"}, content_type="x/y", headers=None
            )
            assert [u["upload_id"] async for u in aio.list_multipart_uploads("mp")] == [upload_id]
            one = await mp.upload_part(bucket, "mp", upload_id, 1, first)
            with open(path, "rb") as f:
                section = FileSection(f.fileno(), 0, len(second))
                two = await mp.upload_part(bucket, "mp", upload_id, 2, section)
            listed = await mp.list_parts(bucket, "mp", upload_id)
            assert [p.number for p in listed] == [1, 2]
            done = await mp.complete(bucket, "mp", upload_id, [one, two])
            assert done.etag and done.etag.endswith("-2")
            got = await aio.get_object("mp", stream=False)
            assert got.data == first + second and got.metadata == {"m": "1"}
            stale = await mp.start(bucket, "gone", metadata=None, content_type=None, headers=None)
            assert await aio.abort_multipart_uploads("gone") == 1
            assert stale not in [u["upload_id"] async for u in aio.list_multipart_uploads()]

    run(main())


def test_copy_object_whole_and_in_parts(aio: AsyncS3Session, s3: S3Session) -> None:
    data = os.urandom(17 * MiB + 3)
    s3.put_object("src", data, metadata={"a": "1"}, content_type="x/y")

    async def main() -> None:
        async with aio:
            small = await aio.copy_object("src", "whole")
            assert small.etag == (await aio.head_object("src")).etag
            response = await aio.copy_object(
                "src", "dst", multipart_threshold=10 * MiB, part_size=5 * MiB, concurrency=2
            )
            assert response.etag is not None and response.etag.endswith("-4")
            head = await aio.head_object("dst")
            assert head.metadata == {"a": "1"} and head.content_type == "x/y"
            assert (await aio.get_object("dst", stream=False)).data == data
            assert [u async for u in aio.list_multipart_uploads()] == []

    run(main())


def test_a_cancelled_copy_in_parts_aborts_its_upload(
    seaweed: LocalSeaweedFS, s3: S3Session, proxy: FaultProxy
) -> None:
    s3.put_object("src", os.urandom(11 * MiB))

    async def main() -> None:
        async with session_on(seaweed, s3.bucket, endpoint_url=proxy.url) as aio:
            proxy.add(Stall(5), method="PUT", query_contains="partNumber=2", times=None)
            task = asyncio.ensure_future(
                aio.copy_object("src", "dst", multipart_threshold=MiB, part_size=5 * MiB)
            )
            while not any("partNumber=2" in t for _, t in proxy.requests):
                await asyncio.sleep(0.02)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert [u async for u in aio.list_multipart_uploads()] == []
            with pytest.raises(s3lite.NoSuchKey):
                await aio.head_object("dst")

    run(main())


def test_copy_in_parts_on_moto_and_aborted_on_failure(moto: MotoServer) -> None:
    data = os.urandom(11 * MiB)

    async def main() -> None:
        async with AsyncS3Session(
            "AKIDMOTO", "moto-secret", endpoint_url=moto.endpoint_url, **FAST_RETRY
        ) as aio:
            bucket = f"aio-{os.urandom(6).hex()}"
            await aio.create_bucket(bucket)
            aio.bucket = bucket
            await aio.put_object("src", data)
            done = await aio.copy_object("src", "dst", multipart_threshold=MiB, part_size=5 * MiB)
            assert done.etag and done.etag.endswith("-3")
            assert (await aio.get_object("dst", stream=False)).data == data
            # A failing part (the source's ETag no longer matches) aborts the upload.
            with pytest.raises(s3lite.PreconditionFailed):
                await aio.copy_object(
                    "src", "dst2", multipart_threshold=MiB, part_size=5 * MiB, if_match="0" * 32
                )
            assert [u async for u in aio.list_multipart_uploads()] == []
            await aio.delete_objects(prefix="")
            await aio.delete_bucket()

    run(main())


def test_upload_and_download_file_in_parts(aio: AsyncS3Session, tmp_path: Path) -> None:
    data = os.urandom(12 * MiB + 5)
    src = tmp_path / "src"
    src.write_bytes(data)
    dest = tmp_path / "dest"

    async def main() -> None:
        async with aio:
            await aio.upload_file(src, "big", threshold=5 * MiB, part_size=5 * MiB, concurrency=3)
            head = await aio.head_object("big")
            assert head.content_length == len(data) and (head.etag or "").endswith("-3")
            await aio.download_file("big", dest, threshold=MiB, part_size=4 * MiB, concurrency=3)
            assert dest.read_bytes() == data
            assert [u async for u in aio.list_multipart_uploads()] == []

    run(main())


def test_bounded_gather_cancels_the_rest_on_failure() -> None:
    running = 0
    peak = 0
    cancelled = 0

    async def job(i: int) -> int:
        nonlocal running, peak, cancelled
        running += 1
        peak = max(peak, running)
        try:
            await asyncio.sleep(0.01 * (i % 3))
            if i == 5:
                raise ValueError("boom")
            return i
        except asyncio.CancelledError:
            cancelled += 1
            raise
        finally:
            running -= 1

    async def main() -> None:
        assert await bounded_gather([lambda i=i: job(i) for i in range(5)], 2) == list(range(5))
        assert peak == 2
        with pytest.raises(ValueError, match="boom"):
            await bounded_gather([lambda i=i: job(i) for i in range(20)], 4)
        assert running == 0 and cancelled >= 1

    run(main())


# --- credentials and closing -------------------------------------------------------------------


class SlowSource(RefreshingCredentials):
    """Temporary credentials from a 'slow' source: records the thread each `get` ran on."""

    def __init__(self, keys: tuple[str, str], lifetime: float) -> None:
        super().__init__()
        self.keys = keys
        self.lifetime = lifetime
        self.threads: list[str] = []

    def get(self) -> Credentials | None:
        self.threads.append(threading.current_thread().name)
        return super().get()

    def _fetch(self) -> Credentials:
        import time

        time.sleep(0.05)  # a file, a process, an HTTP call: it blocks
        return Credentials(*self.keys, expires_at=time.time() + self.lifetime)


def test_credentials_are_fetched_off_the_loop(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    source = SlowSource((seaweed.access_key, seaweed.secret_key), lifetime=3600)

    async def main() -> None:
        loop_thread = threading.current_thread().name
        async with session_on(seaweed, s3.bucket, credentials=source) as aio:
            await asyncio.gather(*(aio.put_object(f"c{i}", b"x") for i in range(10)))
            assert len(source.threads) == 1 and source.threads[0] != loop_thread
            await aio.head_object("c1")  # fresh for another ~45 min: no new fetch
            assert len(source.threads) == 1
        # Credentials near their expiry are fetched again before the next request.
        near = SlowSource((seaweed.access_key, seaweed.secret_key), lifetime=60)
        async with session_on(seaweed, s3.bucket, credentials=near) as aio:
            await aio.head_object("c1")
            await asyncio.sleep(1.1)
            await aio.head_object("c2")
            assert len(near.threads) >= 2 and loop_thread not in near.threads
            assert "AKID" not in repr(aio) and seaweed.secret_key not in repr(aio)

    run(main())


def test_sessions_close_cleanly(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    async def main() -> None:
        aio = session_on(seaweed, s3.bucket)
        await aio.put_object("k", os.urandom(200_000))
        resp = await aio.get_object("k")
        await resp.read(1000)  # a streamed body left half read
        await resp.aclose()
        many = await asyncio.gather(*(aio.get_object("k", stream=False) for _ in range(20)))
        assert all(len(r.data) == 200_000 for r in many)
        assert aio.transport.open_connections > 0
        await aio.close()
        # A streamed response dropped unread hands its connection back when collected.
        async with session_on(seaweed, s3.bucket, max_pool_connections=1, read_timeout=5) as one:
            for _ in range(3):
                dropped = await one.get_object("k")
                await dropped.read(10)
                del dropped
                gc.collect()
            assert len((await one.get_object("k", stream=False)).data) == 200_000
        assert aio.transport.open_connections == 0

    run(main())
