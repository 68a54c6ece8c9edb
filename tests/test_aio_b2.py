"""AsyncB2Session against the B2 test server: the sync session's operations driven on asyncio.

Round trips, errors, listings, batch deletes, the large-file hooks, token renewal (once for
all tasks), upload-URL replacement, streamed and resumed downloads, buckets and keys; every
async object closes cleanly (ResourceWarning is an error here)."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import io
import os
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

import s3lite
from b2server import B2TestServer
from conftest import B2_MIN_PART_SIZE, FAST_RETRY, b2_session
from faultproxy import FaultProxy, ResetBeforeResponse, ResetMidBody, TruncateBody
from s3lite.aio.b2 import AsyncB2Session
from s3lite.aio.b2_large_files import AsyncB2MultipartBackend
from s3lite.aio.response import AsyncResponse
from s3lite.b2 import B2Session, clear_auth_cache
from s3lite.b2_large_files import B2MultipartBackend
from s3lite.multipart import PartResult

pytestmark = pytest.mark.filterwarnings(
    "error::ResourceWarning", "error::pytest.PytestUnraisableExceptionWarning"
)

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    """Run a test coroutine on a fresh loop; then anything left unclosed warns (an error)."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    finally:
        gc.collect()


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()  # noqa: S324


def creds(session: B2Session) -> tuple[str, str]:
    c = session.credentials.get()
    assert c is not None
    return c.access_key, c.secret_key


def calls(b2server: B2TestServer) -> dict[str, int]:
    return {k: v for k, v in b2server.calls.items() if v}


Check = Callable[[AsyncB2Session], Awaitable[None]]


def with_session(b2server: B2TestServer, b2: B2Session, check: Check, **kwargs: Any) -> None:
    """Run `check` with an AsyncB2Session on the same key and bucket as the sync `b2`."""

    async def main() -> None:
        async with AsyncB2Session(
            *creds(b2), bucket=b2.bucket, api_url=b2server.api_url, **{**FAST_RETRY, **kwargs}
        ) as session:
            await check(session)

    run(main())


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


# --- round trips ---------------------------------------------------------------------------------


def test_round_trips(b2: B2Session, b2server: B2TestServer) -> None:
    async def check(s: AsyncB2Session) -> None:
        put = await s.put_object("a.txt", b"hello", {"who": "me"}, "text/plain",
                                 cache_control="no-cache")  # fmt: skip
        assert isinstance(put, AsyncResponse)
        assert put.etag == sha1(b"hello") and put.version_id and put.last_modified
        got = await s.get_object("a.txt", stream=False)
        assert got.data == b"hello" and got.metadata == {"who": "me"}
        assert got.content_type == "text/plain" and got.headers["Cache-Control"] == "no-cache"
        assert got.etag == sha1(b"hello") and got.version_id == put.version_id
        head = await s.head_object("a.txt")
        assert head.content_length == 5 and head.etag == sha1(b"hello")
        # bodies: str, a file, a one-shot iterable, async iterables with and without a length
        await s.put_object("s", "ü")
        await s.put_object("f", io.BytesIO(b"file" * 1000))
        await s.put_object("i", iter([b"it", b"er"]), content_length=4)
        await s.put_object("u", iter([b"un", b"known"]))
        await s.put_object("ai", chunks(b"as", b"ync"), content_length=5)
        await s.put_object("au", chunks(b"no ", b"length"))
        big = os.urandom(3 * 1024 * 1024)  # hashed off the loop
        assert (await s.put_object("big", big)).etag == sha1(big)
        expect = {"s": "ü".encode(), "f": b"file" * 1000, "i": b"iter", "u": b"unknown",
                  "ai": b"async", "au": b"no length", "big": big}  # fmt: skip
        for key, data in expect.items():
            async with await s.get_object(key) as resp:
                assert await resp.read() == data, key
            assert (await s.head_object(key)).etag == sha1(data), key
        with pytest.raises(ValueError, match="short"):
            await s.put_object("bad", chunks(b"abc"), content_length=5)
        # range, version, copy, hide, delete
        part = await s.get_object("big", range_start=10, range_end=19, stream=False)
        assert part.status == 206 and part.data == big[10:20]
        v1 = put.version_id
        await s.put_object("a.txt", b"second")
        old = await s.get_object("a.txt", version_id=v1, stream=False)
        assert old.data == b"hello"
        copied = await s.copy_object("a.txt", "b.txt", if_match=sha1(b"second"))
        assert copied.etag == sha1(b"second") and copied.version_id
        with pytest.raises(s3lite.PreconditionFailed):
            await s.copy_object("a.txt", "c.txt", if_match=sha1(b"hello"))
        replaced = await s.copy_object("a.txt", "d.txt", v1, metadata={"n": "1"})
        assert (await s.head_object("d.txt")).metadata == {"n": "1"}
        assert replaced.etag == sha1(b"hello")
        hidden = await s.hide_object("b.txt")
        assert hidden.version_id
        with pytest.raises(s3lite.NoSuchKey):
            await s.head_object("b.txt")
        with pytest.raises(s3lite.NoSuchKey):
            await s.hide_object("b.txt")
        deleted = await s.delete_object("a.txt")
        assert deleted.status == 204
        assert [v async for v in s.list_object_versions("a.txt")] == []
        assert (await s.delete_object("never")).status == 204  # as on S3

    with_session(b2server, b2, check)
    assert b2.get_object("d.txt").data == b"hello"  # the sync session sees it all


def test_errors(b2: B2Session, b2server: B2TestServer) -> None:
    async def check(s: AsyncB2Session) -> None:
        with pytest.raises(s3lite.NoSuchKey):
            await s.get_object("missing")
        with pytest.raises(s3lite.NoSuchKey):
            await s.head_object("missing")
        with pytest.raises(s3lite.NoSuchBucket):
            await s.put_object("k", b"v", bucket="no-such-bucket-here")
        with pytest.raises(ValueError):
            await s.put_object("", b"v")
        with pytest.raises(ValueError):
            s.list_objects(bucket="x")  # refused when asked, before any request
        with pytest.raises(ValueError, match="api_name"):
            await s.request("not_an_api")
        with pytest.raises(ValueError, match="cannot be suspended"):
            await s.set_bucket_versioning(False)
        await s.set_bucket_versioning(True)
        b2server.inject(503, "service_unavailable", count=20, retry_after=0, message="busy")
        with pytest.raises(s3lite.ServiceUnavailable) as info:
            await s.list_buckets()
        assert info.value.message == "busy"
        assert info.value.attempts == s.transport.retry.max_attempts == 5
        with b2server._lock:
            b2server._faults.clear()

    with_session(b2server, b2, check)

    async def wrong() -> None:
        key_id, _ = creds(b2)
        async with AsyncB2Session(key_id, "not-the-key", b2.bucket,
                                  api_url=b2server.api_url) as s:  # fmt: skip
            with pytest.raises(s3lite.Unauthorized):
                await s.get_object("k")

    run(wrong())
    with pytest.raises(s3lite.NoCredentialsError):
        AsyncB2Session(api_url=b2server.api_url)
    with pytest.raises(ValueError, match="pool_manager"):
        AsyncB2Session("a", "b", pool_manager=object())  # type: ignore[arg-type]


def test_retries_and_upload_url_replacement(b2: B2Session, b2server: B2TestServer) -> None:
    async def check(s: AsyncB2Session) -> None:
        await s.put_object("a", b"1")
        b2server.reset_counts()
        await s.put_object("b", b"2")
        assert calls(b2server) == {"b2_upload_file": 1}  # URL, bucket id, token: all reused
        for status, code in [(503, "service_unavailable"), (408, "request_timeout")]:
            b2server.reset_counts()
            b2server.inject(status, code, retry_after=0, operation="b2_upload_file")
            await s.put_object("c", io.BytesIO(b"3" * 1000))
            assert b2server.calls["b2_upload_file"] == 2
            assert b2server.calls["b2_get_upload_url"] == 1  # the retry went to a fresh URL
        b2server.reset_counts()
        b2server.inject(429, "too_many_requests", count=2, retry_after=0,
                        operation="download_file_by_name")  # fmt: skip
        assert (await s.get_object("c", stream=False)).data == b"3" * 1000
        assert b2server.calls["download_file_by_name"] == 3
        b2server.inject(503, "service_unavailable", retry_after=0, operation="b2_upload_file")
        with pytest.raises(s3lite.TransportError, match="non-seekable"):
            await s.put_object("e", chunks(b"x" * 1000), content_length=1000)

    with_session(b2server, b2, check)


# --- authorization -------------------------------------------------------------------------------


def test_authorization_is_shared_and_renewed_once_for_all_tasks(
    b2: B2Session, b2server: B2TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    b2.put_object("k", b"v")
    clear_auth_cache()
    b2server.reset_counts()
    original = AsyncB2Session._authorize

    async def slow(self: AsyncB2Session, *args: Any) -> Any:
        await asyncio.sleep(0.2)  # every task arrives while it is under way
        return await original(self, *args)

    monkeypatch.setattr(AsyncB2Session, "_authorize", slow)

    async def main() -> None:
        sessions = [
            AsyncB2Session(*creds(b2), b2.bucket, api_url=b2server.api_url, **FAST_RETRY)
            for _ in range(2)
        ]

        async def work(i: int) -> None:
            s = sessions[i % 2]
            for _ in range(5):
                assert (await s.get_object("k", stream=False)).data == b"v"
                assert [o["key"] async for o in s.list_objects()] == ["k"]

        await asyncio.gather(*(work(i) for i in range(8)))
        assert b2server.calls["b2_authorize_account"] == 1
        b2server.reset_counts()
        b2server.expire_auth_tokens()
        await asyncio.gather(*(work(i) for i in range(8)))
        assert b2server.calls["b2_authorize_account"] == 1  # renewed once for all of them
        assert sessions[0].account_id == b2.account_id
        for s in sessions:
            await s.close()

    run(main())
    b2server.reset_counts()
    assert b2.get_object("k").data == b"v"  # the sync session uses what the async one got
    assert "b2_authorize_account" not in calls(b2server)


def test_expired_token_mid_run_every_kind_of_call(b2: B2Session, b2server: B2TestServer) -> None:
    async def check(s: AsyncB2Session) -> None:
        await s.put_object("k", b"v")

        async def body(key: str) -> bytes:
            async with await s.get_object(key) as resp:
                return await resp.read()

        steps: list[Callable[[], Awaitable[Any]]] = [
            lambda: s.head_object("k"),  # a HEAD's 401 has no body to say why
            lambda: body("k"),
            lambda: s.get_object("k", stream=False),
            s.list_buckets,
            lambda: s.put_object("k2", b"w"),
            lambda: s.copy_object("k", "k3"),
        ]
        for step in steps:
            b2server.reset_counts()
            b2server.expire_auth_tokens(include_upload_tokens=True)
            await step()
            assert b2server.calls["b2_authorize_account"] == 1, calls(b2server)
        assert await body("k2") == b"w"
        # an upload whose URL's token expired: a fresh URL (after the account's renewal)
        b2server.reset_counts()
        b2server.expire_auth_tokens(include_upload_tokens=True)
        await s.put_object("d", b"4")
        assert b2server.calls["b2_upload_file"] == 2
        assert b2server.calls["b2_get_upload_url"] == 2
        assert b2server.calls["b2_authorize_account"] == 1

    with_session(b2server, b2, check)


# --- listings and deletes ------------------------------------------------------------------------


def test_listings(b2: B2Session, b2server: B2TestServer) -> None:
    async def check(s: AsyncB2Session) -> None:
        for key in ("a/1", "a/2", "b/1", "c"):
            await s.put_object(key, key.encode())
        await s.put_object("c", b"again")
        await s.hide_object("b/1")
        keys = [o["key"] async for o in s.list_objects()]
        assert keys == ["a/1", "a/2", "c"]
        assert [o["key"] async for o in s.list_objects(page_size=1)] == keys
        assert [o["key"] async for o in s.list_objects(limit=2)] == keys[:2]
        assert [o["key"] async for o in s.list_objects("a/", start_after="a/1")] == ["a/2"]
        listing = s.list_objects(delimiter="/")
        assert [p async for p in listing.iter_prefixes()] == ["a/"]
        assert [o["key"] async for o in listing.iter_objects()] == ["c"]
        item = [o async for o in s.list_objects("c")].pop()
        assert item["etag"] == sha1(b"again") and item["content_length"] == 5

        def shape(v: dict[str, Any]) -> tuple[str, bool, bool]:
            return v["key"], v["is_latest"], v["delete_marker"]

        expected = [("a/1", True, False), ("a/2", True, False), ("b/1", True, True),
                    ("b/1", False, False), ("c", True, False), ("c", False, False)]  # fmt: skip
        for size in (1000, 1, 2):  # across page ends too: a name's first version is latest
            versions = [shape(v) async for v in s.list_object_versions(page_size=size)]
            assert versions == expected, size
        listing = s.list_object_versions(page_size=1)

        async def collect() -> list[tuple[str, bool, bool]]:
            return [shape(v) async for v in listing]

        assert await asyncio.gather(collect(), collect()) == [expected, expected]
        assert [u async for u in s.list_multipart_uploads()] == []

    with_session(b2server, b2, check)


def test_delete_objects(b2: B2Session, b2server: B2TestServer) -> None:
    async def check(s: AsyncB2Session) -> None:
        for i in range(6):
            await s.put_object(f"d/{i}", b"x")
        await s.put_object("d/0", b"y")
        hidden = await s.delete_objects(["d/4", "d/5"], purge=False)
        assert sorted(e["key"] for e in hidden.deleted) == ["d/4", "d/5"]
        assert all(e["delete_marker"] for e in hidden.deleted)
        result = await s.delete_objects(["d/0", ("d/1", None), {"key": "d/none"}])
        assert sorted((e["key"], e["version_id"] is not None) for e in result.deleted) == [
            ("d/0", True), ("d/0", True), ("d/1", True), ("d/none", False)
        ]  # fmt: skip
        assert [o["key"] async for o in s.list_objects()] == ["d/2", "d/3"]
        b2server.inject(503, "service_unavailable", count=50, retry_after=0,
                        operation="b2_delete_file_version")  # fmt: skip
        with pytest.raises(s3lite.DeleteObjectsError) as info:
            await s.delete_objects(prefix="d/2")
        assert [e["key"] for e in info.value.result.errors] == ["d/2"]
        with b2server._lock:
            b2server._faults.clear()
        result = await s.delete_objects(prefix="")
        assert result.ok and len(result.deleted) == 6  # 2 files, 2 hide markers + 2 hidden
        assert [v async for v in s.list_object_versions()] == []
        with pytest.raises(ValueError, match="either"):
            await s.delete_objects()

    with_session(b2server, b2, check)


# --- large files ---------------------------------------------------------------------------------


def test_large_file_hooks(b2: B2Session, b2server: B2TestServer) -> None:
    bucket = b2.bucket
    assert bucket is not None
    parts_data = [os.urandom(B2_MIN_PART_SIZE), os.urandom(B2_MIN_PART_SIZE), b"tail"]

    async def check(s: AsyncB2Session) -> None:
        await s.list_buckets()
        mp = s.multipart_backend
        assert s.multipart_min_part_size == B2_MIN_PART_SIZE  # from the authorization
        b2server.reset_counts()
        upload_id = await mp.start(bucket, "large.bin", metadata={"kind": "large"},
                                   content_type="application/x-big", headers=None)  # fmt: skip
        assert [(u["key"], u["upload_id"]) async for u in s.list_multipart_uploads()] == [
            ("large.bin", upload_id)
        ]
        b2server.inject(503, "service_unavailable", retry_after=0, operation="b2_upload_part")
        results = await asyncio.gather(
            *(mp.upload_part(bucket, "large.bin", upload_id, n, data)
              for n, data in enumerate(parts_data, 1))
        )  # fmt: skip
        assert results == [
            PartResult(n, len(data), sha1=sha1(data)) for n, data in enumerate(parts_data, 1)
        ]
        assert b2server.calls["b2_upload_part"] == 4  # one retried on a fresh part URL
        listed = await mp.list_parts(bucket, "large.bin", upload_id)
        assert [(p.number, p.size, p.sha1) for p in listed] == [
            (r.number, r.size, r.sha1) for r in results
        ]
        done = await mp.complete(bucket, "large.bin", upload_id, list(reversed(results)))
        assert done.status == 200 and done.version_id == upload_id and done.etag is None
        got = await s.get_object("large.bin", stream=False)
        assert got.data == b"".join(parts_data) and got.metadata == {"kind": "large"}
        with pytest.raises(s3lite.NoSuchUpload):
            await mp.upload_part(bucket, "large.bin", upload_id, 4, b"late")
        # cancelled ones
        gone = await mp.start(bucket, "gone", metadata=None, content_type=None, headers=None)
        await mp.abort(bucket, "gone", gone)
        with pytest.raises(s3lite.NoSuchUpload):
            await mp.list_parts(bucket, "gone", gone)
        for key in ("old1", "old2"):
            await mp.start(bucket, key, metadata=None, content_type=None, headers=None)
        assert await s.abort_multipart_uploads(older_than=3600) == 0
        assert await s.abort_multipart_uploads("old") == 2
        assert [u async for u in s.list_multipart_uploads()] == []

    with_session(b2server, b2, check)


# --- streaming -----------------------------------------------------------------------------------


def test_streamed_download(b2: B2Session, b2server: B2TestServer) -> None:
    data = os.urandom(2 * 1024 * 1024 + 7)
    b2.put_object("s", data)

    async def check(s: AsyncB2Session) -> None:
        resp = await s.get_object("s")
        assert not resp.loaded
        got = b"".join([c async for c in resp.iter_chunks(256 * 1024)])
        assert got == data and resp.closed
        async with await s.get_object("s") as resp:
            assert await resp.read(10) == data[:10]  # the rest is left: closed on exit
        for _ in range(3):  # connections went back to the pool or were closed
            assert (await s.get_object("s", stream=False)).data == data
        resp = await s.get_object("s", resume=False)
        assert await resp.read() == data
        with pytest.raises(s3lite.MalformedResponse, match="too large"):
            await s.get_object("s", stream=False, max_size=1000)

    with_session(b2server, b2, check)


@pytest.fixture
def proxied(b2_account: tuple[str, str]) -> Iterator[tuple[B2Session, FaultProxy, B2TestServer]]:
    """A sync session (for set-up) whose test server hands out the fault proxy's URLs for
    everything: API, downloads, uploads."""
    with B2TestServer(absolute_minimum_part_size=B2_MIN_PART_SIZE) as server:
        port = int(server.api_url.rsplit(":", 1)[1])
        with FaultProxy("127.0.0.1", port) as proxy:
            server._api_url = proxy.url
            account = server.create_account()
            clear_auth_cache()
            session = b2_session(server, account, read_timeout=2)
            session.create_bucket("proxied-bucket")
            session.bucket = "proxied-bucket"
            yield session, proxy, server
            session.close()
            clear_auth_cache()
            assert not proxy.errors


def test_broken_download_resumes_from_the_same_file_id(proxied: Any) -> None:
    sync, proxy, server = proxied
    data = os.urandom(3 * 1024 * 1024)
    put = sync.put_object("big", data)

    async def check(s: AsyncB2Session) -> None:
        proxy.add(ResetMidBody(1_000_000), method="GET", times=1)
        proxy.add(TruncateBody(300_000), method="GET", times=1)
        async with await s.get_object("big") as resp:
            assert b"".join([c async for c in resp.iter_chunks(256 * 1024)]) == data
        gets = [t for m, t in proxy.requests if m == "GET" and "authorize" not in t]
        assert len(gets) == 3
        assert all(f"fileId={put.version_id}" in target for target in gets[1:])
        # a new version meanwhile is not spliced in; a deleted one stops the read
        proxy.add(ResetMidBody(2_000_000), method="GET", times=1)
        resp = await s.get_object("big")
        first = await resp.read(100_000)
        await s.put_object("big", b"B" * 3_000_000)
        assert first + await resp.read() == data
        other = await s.put_object("big2", b"C" * 3_000_000)
        proxy.add(ResetMidBody(2_000_000), method="GET", times=1)
        resp = await s.get_object("big2")
        await resp.read(100_000)
        await s.delete_object("big2", version_id=other.version_id)
        with pytest.raises(s3lite.ObjectChanged):
            await resp.read()
        await resp.aclose()

    with_session(server, sync, check, read_timeout=2)


def test_upload_connection_reset_goes_to_a_fresh_url(proxied: Any) -> None:
    sync, proxy, server = proxied

    async def check(s: AsyncB2Session) -> None:
        await s.list_buckets()
        server.reset_counts()
        proxy.add(ResetBeforeResponse(), path_contains="b2_upload_file", times=1)
        await s.put_object("k", b"payload")
        assert (await s.get_object("k", stream=False)).data == b"payload"
        assert server.calls["b2_get_upload_url"] == 2
        uploads = [t for m, t in proxy.requests if "b2_upload_file" in t]
        assert len(uploads) == 2 and uploads[0] != uploads[1]

    with_session(server, sync, check, read_timeout=2)


# --- buckets, keys, shared URLs ------------------------------------------------------------------


def test_buckets_keys_and_shared_urls(b2: B2Session, b2server: B2TestServer) -> None:
    async def check(s: AsyncB2Session) -> None:
        name = f"aio-{os.urandom(4).hex()}"
        await s.create_bucket(name)
        assert (await s.head_bucket(name)).status == 200
        assert name in [b["name"] for b in await s.list_buckets()]
        with pytest.raises(s3lite.NoSuchBucket):
            await s.head_bucket("no-such-bucket-here")
        obj = await s.request("b2_list_file_names", {"maxFileCount": 1}, bucket=name)
        assert obj["files"] == []
        await s.delete_bucket(name)
        with pytest.raises(s3lite.NoSuchBucket):
            await s.head_bucket(name)
        key = await s.create_app_key(["listBuckets", "readFiles"], "async-key", bucket=b2.bucket)
        assert key.bucket_id is not None
        await s.delete_app_key(key.application_key_id)
        await s.put_object("shared/x.txt", b"shared")
        url = await s.presign("GET", "shared/x.txt", 60)

        def fetch() -> bytes:
            with urllib.request.urlopen(url) as answer:
                return answer.read()  # type: ignore[no-any-return]

        assert await asyncio.to_thread(fetch) == b"shared"
        assert s.account_id == b2.account_id

    with_session(b2server, b2, check)


def test_a_restricted_key_uses_its_bucket(b2: B2Session, b2server: B2TestServer) -> None:
    key = b2.create_app_key(
        ["listBuckets", "listFiles", "readFiles", "writeFiles", "deleteFiles"], "restricted",
        bucket=b2.bucket,
    )  # fmt: skip

    async def main() -> None:
        async with AsyncB2Session(key.application_key_id, key.application_key,
                                  api_url=b2server.api_url) as s:  # fmt: skip
            assert s.multipart_min_part_size == 5_000_000  # B2's, before any authorization
            [o async for o in s.list_objects()]  # the bucket comes from the authorization
            assert s.bucket == b2.bucket
            await s.put_object("r", b"restricted")
            assert (await s.get_object("r", stream=False)).data == b"restricted"

    run(main())
    assert b2.get_object("r").data == b"restricted"


def test_docstrings_and_signatures_are_the_sync_ones() -> None:
    import inspect

    for name, member in inspect.getmembers(B2Session):
        if name.startswith("__") or not inspect.isfunction(member):
            continue
        mirror = getattr(AsyncB2Session, name, None)
        if mirror is None or name in ("_resumer",):
            continue
        if name.startswith("_"):
            continue
        assert inspect.signature(mirror).parameters.keys() == (
            inspect.signature(member).parameters.keys()
        ), name
        if name != "lock":  # the async lock says it its own way
            assert inspect.getdoc(mirror) == inspect.getdoc(member), name
    # The multipart primitives too: the async backend's are the sync one's, as coroutines.
    for name, member in inspect.getmembers(B2MultipartBackend, inspect.isfunction):
        if name.startswith("_"):
            continue
        mirror = getattr(AsyncB2MultipartBackend, name)
        assert inspect.signature(mirror).parameters.keys() == (
            inspect.signature(member).parameters.keys()
        ), name
        assert inspect.getdoc(mirror) == inspect.getdoc(member), name
        plain = ("bucket", "now", "list_multipart_uploads")  # a listing is an async iterable
        assert inspect.iscoroutinefunction(mirror) == (name not in plain), name
    assert inspect.getdoc(AsyncB2Session.__init__) == inspect.getdoc(B2Session.__init__)
    assert s3lite.AsyncB2Session is AsyncB2Session
    started = time.monotonic()
    session = AsyncB2Session("id", "key", "bucket-name")
    assert "key'" not in repr(session) and time.monotonic() - started < 1
    run(session.close())


def test_cancelled_tasks_leave_nothing_open(b2: B2Session, b2server: B2TestServer) -> None:
    data = os.urandom(4 * 1024 * 1024)
    b2.put_object("big", data)

    async def check(s: AsyncB2Session) -> None:
        async def reader(started: asyncio.Event) -> None:
            async with await s.get_object("big") as resp:
                async for _ in resp.iter_chunks(64 * 1024):
                    started.set()
                    await asyncio.sleep(0.05)

        async def writer(started: asyncio.Event) -> None:
            async def slow() -> AsyncIterator[bytes]:
                for _ in range(100):
                    started.set()
                    yield b"x" * 10_000
                    await asyncio.sleep(0.05)

            await s.put_object("partial", slow(), content_length=1_000_000)

        for work in (reader, writer):
            started = asyncio.Event()
            task = asyncio.create_task(work(started))
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        with pytest.raises(s3lite.NoSuchKey):
            await s.head_object("partial")  # the upload never completed
        assert (await s.get_object("big", stream=False)).data == data

    with_session(b2server, b2, check)


def test_credentials_from_the_environment(
    b2: B2Session, b2server: B2TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_id, key = creds(b2)
    monkeypatch.setenv("B2_APPLICATION_KEY_ID", key_id)
    monkeypatch.setenv("B2_APPLICATION_KEY", key)
    b2.put_object("env", b"from the environment")

    async def main() -> None:
        async with AsyncB2Session(bucket=b2.bucket, api_url=b2server.api_url) as s:
            assert (await s.get_object("env", stream=False)).data == b"from the environment"

    run(main())


def test_upload_and_download_files(b2: B2Session, b2server: B2TestServer, tmp_path: Any) -> None:
    data = os.urandom(6 * B2_MIN_PART_SIZE + 123)
    source = tmp_path / "source.bin"
    source.write_bytes(data)

    async def check(s: AsyncB2Session) -> None:
        b2server.reset_counts()
        done = await s.upload_file(source, "f.bin", threshold=B2_MIN_PART_SIZE,
                                   part_size=B2_MIN_PART_SIZE, concurrency=4)  # fmt: skip
        assert b2server.calls["b2_upload_part"] == 7 and done.etag == sha1(data)
        assert (await s.head_object("f.bin")).etag == sha1(data)  # its large_file_sha1
        target = tmp_path / "copy.bin"
        await s.download_file("f.bin", target, part_size=B2_MIN_PART_SIZE, concurrency=4)
        assert target.read_bytes() == data
        await s.upload_file(io.BytesIO(b"small"), "small")
        assert (await s.get_object("small", stream=False)).data == b"small"

    with_session(b2server, b2, check)


def test_lock(b2: B2Session, b2server: B2TestServer) -> None:
    async def check(s: AsyncB2Session) -> None:
        first = s.lock("job", ttl=30)
        second = s.lock("job", ttl=30)
        async with first:
            assert not await second.acquire(blocking=False)
        assert await second.acquire(blocking=False)
        await second.release()

    with_session(b2server, b2, check)
