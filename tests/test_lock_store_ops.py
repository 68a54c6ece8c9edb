"""The lock stores' logic without a server: `S3LockOps` and `B2LockOps` are generators of
session calls, driven here by hand (answers fed in, errors thrown in) to check each fallback
branch; then the two drivers on plain objects, and a versioned bucket's sweep on moto through
both the sync and the async store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from conftest import FAST_RETRY, MotoServer, new_bucket_name
from s3lite import AsyncS3Session, S3Session
from s3lite.aio.lock_b2_store import AsyncB2LockStore
from s3lite.aio.lock_s3_store import AsyncS3LockStore
from s3lite.aio.lock_store import run_calls_async
from s3lite.errors import (
    InvalidArgument,
    LockError,
    NoSuchKey,
    NotImplementedByServer,
    PreconditionFailed,
    ServiceUnavailable,
    TransportError,
)
from s3lite.lock import B2LockStore, S3LockStore
from s3lite.lock.b2_store import B2LockOps
from s3lite.lock.s3_store import S3LockOps
from s3lite.lock.state import seq_key
from s3lite.lock.store import Broken, Listed, Written
from s3lite.lock.store_calls import ListingCall, NextItem, SessionCall, StoreOp, run_calls
from test_s3_requests import answer

NOW = 1_700_000_000.0
ID_A, ID_B = "a" * 32, "b" * 32
DATE = "Tue, 14 Nov 2023 22:13:20 GMT"  # NOW


def s3_ops() -> S3LockOps:
    return S3LockOps("bkt", lambda: NOW)


def b2_ops() -> B2LockOps:
    return B2LockOps("bkt", lambda: NOW)


def body(nonce: str) -> bytes:
    return json.dumps({"nonce": nonce}).encode()


def precondition_failed(attempts: int = 1) -> PreconditionFailed:
    exc = PreconditionFailed(412, "PreconditionFailed")
    exc.attempts = attempts
    return exc


def no_such_key(attempts: int = 1) -> NoSuchKey:
    exc = NoSuchKey(404, "NoSuchKey")
    exc.attempts = attempts
    return exc


def call_of(request: SessionCall | NextItem) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    assert isinstance(request, SessionCall), request
    return request.method, request.args, request.kwargs


def finish(op: StoreOp[Any], reply: Any = None) -> Any:
    """Resume `op` with the answer to its last call, expecting it to finish: its result."""
    with pytest.raises(StopIteration) as stop:
        op.send(reply)
    return stop.value.value


# --- S3: replace ----------------------------------------------------------------------------------


def test_replace_puts_with_if_match_and_deletes_the_old_version() -> None:
    ops = s3_ops()
    old = Written("k", "e1", "v1", 1.0, 2.0, retried=False)
    op = ops.replace("k", old, body("n2"), "n2", {})
    assert call_of(next(op)) == (
        "put_object",
        ("k", body("n2")),
        {"bucket": "bkt", "content_type": "application/json", "if_none_match": None,
         "if_match": "e1"},
    )  # fmt: skip
    request = op.send(answer(ETag="e2", x_amz_version_id="v2"))
    assert call_of(request) == ("delete_object", ("k",), {"bucket": "bkt", "version_id": "v1"})
    written = finish(op)
    assert (written.etag, written.version_id, written.retried) == ("e2", "v2", False)
    assert ops.versioned


def test_replace_refused_by_if_match_reads_and_finds_its_own_write() -> None:
    """A 412 to our If-Match PUT: the object is read; our nonce in it means the write landed."""
    ops = s3_ops()
    old = Written("k", "e1", None, 1.0, 2.0)
    op = ops.replace("k", old, body("n2"), "n2", {})
    next(op)
    request = op.throw(precondition_failed())
    method, args, kwargs = call_of(request)
    assert (method, args, kwargs["stream"]) == ("get_object", ("k",), False)
    written = finish(op, answer(body=body("n2"), ETag="e2", Date=DATE))
    assert written.etag == "e2" and written.version_id is None
    assert ops.if_match_ok  # a refusal is no reason to give up If-Match


def test_replace_refused_by_if_match_takes_an_earlier_attempts_send_time() -> None:
    ops = s3_ops()
    op = ops.replace("k", Written("k", "e1", None, 1.0, 2.0), body("n3"), "n3", {"n2": 42.0})
    next(op)
    op.throw(no_such_key())  # gone for the PUT, yet found by the GET: an earlier attempt
    written = finish(op, answer(body=body("n2"), ETag="e2"))
    assert written.sent == 42.0


@pytest.mark.parametrize("found", [body("someone"), b"not json"])
def test_replace_refused_by_if_match_is_broken_when_the_object_is_not_ours(found: bytes) -> None:
    op = s3_ops().replace("k", Written("k", "e1", None, 1.0, 2.0), body("n2"), "n2", {})
    next(op)
    op.throw(precondition_failed())
    with pytest.raises(Broken, match="removed or replaced"):
        op.send(answer(body=found, ETag="e9"))


def test_replace_refused_by_if_match_is_broken_when_the_object_is_gone() -> None:
    op = s3_ops().replace("k", Written("k", "e1", None, 1.0, 2.0), body("n2"), "n2", {})
    next(op)
    op.throw(precondition_failed())
    with pytest.raises(Broken):
        op.throw(no_such_key())


@pytest.mark.parametrize("refusal", [NotImplementedByServer, InvalidArgument])
def test_replace_without_if_match_reads_compares_and_writes(refusal: type[Exception]) -> None:
    """A server that rejects If-Match on PUT: the flag flips for good, and the object is read,
    compared by ETag, and written plainly; the old version's delete may fail (then swept)."""
    ops = s3_ops()
    old = Written("k", "e1", "v1", 1.0, 2.0, retried=False)
    op = ops.replace("k", old, body("n2"), "n2", {})
    next(op)
    request = op.throw(refusal(501, "NotImplemented"))
    assert not ops.if_match_ok
    assert call_of(request)[0] == "get_object"
    request = op.send(answer(body=body("n1"), ETag="e1", x_amz_version_id="v1"))
    method, args, kwargs = call_of(request)
    assert (method, args[0], kwargs["if_match"]) == ("put_object", "k", None)
    request = op.send(answer(ETag="e2", x_amz_version_id="v2"))
    assert call_of(request) == ("delete_object", ("k",), {"bucket": "bkt", "version_id": "v1"})
    with pytest.raises(StopIteration) as stop:
        op.throw(TransportError("reset"))
    assert stop.value.value.retried  # the old version is left: swept at release
    # the next replace goes straight to the read
    op = ops.replace("k", stop.value.value, body("n3"), "n3", {})
    assert call_of(next(op))[0] == "get_object"


def test_replace_without_if_match_is_broken_on_a_changed_object() -> None:
    ops = s3_ops()
    ops.if_match_ok = False
    op = ops.replace("k", Written("k", "e1", None, 1.0, 2.0), body("n2"), "n2", {})
    next(op)
    with pytest.raises(Broken):
        op.send(answer(body=body("other"), ETag="e7"))


# --- S3: deletes, sweep, listing, is_current --------------------------------------------------


def test_delete_own_by_version_else_etag_else_name() -> None:
    ops = s3_ops()
    op = ops.delete_own("k", Written("k", "e", "v1", 1.0, 2.0))
    assert call_of(next(op)) == ("delete_object", ("k",), {"bucket": "bkt", "version_id": "v1"})
    assert finish(op) is True
    op = ops.delete_own("k", Written("k", "e", None, 1.0, 2.0))
    assert call_of(next(op)) == ("delete_object", ("k",), {"bucket": "bkt", "if_match": "e"})
    assert finish(op) is True
    op = ops.delete_own("k", None)
    assert call_of(next(op)) == ("delete_object", ("k",), {"bucket": "bkt"})
    assert finish(op) is True


@pytest.mark.parametrize(
    ("error", "result"),
    [(precondition_failed(), False), (no_such_key(), False), (precondition_failed(2), True)],
)
def test_delete_listed_by_etag_says_whether_it_was_still_there(
    error: Exception, result: bool
) -> None:
    """Gone or changed: False -- unless the request was sent twice (our first may have done it)."""
    op = s3_ops().delete_listed(Listed("k", None, "e", None))
    next(op)
    with pytest.raises(StopIteration) as stop:
        op.throw(error)
    assert stop.value.value is result


def test_delete_refused_if_match_falls_back_to_the_name_for_good() -> None:
    ops = s3_ops()
    op = ops.delete_listed(Listed("k", None, "e", None))
    next(op)
    request = op.throw(NotImplementedByServer(501, "NotImplemented"))
    assert call_of(request) == ("delete_object", ("k",), {"bucket": "bkt"})
    assert finish(op) is True
    assert not ops.delete_if_match_ok
    op = ops.delete_own("k", Written("k", "e", None, 1.0, 2.0))
    assert call_of(next(op)) == ("delete_object", ("k",), {"bucket": "bkt"})


def test_sweep_reads_the_version_listing_an_item_at_a_time() -> None:
    ops = s3_ops()
    assert list(ops.sweep("lk/", ID_A)) == []  # unversioned: nothing to do
    ops.versioned = True
    ours, theirs = seq_key("lk/", 0, True, 30, ID_A), seq_key("lk/", 0, True, 30, ID_B)
    op = ops.sweep("lk/", ID_A)
    request = next(op)
    assert isinstance(request, ListingCall)
    assert call_of(request) == ("list_object_versions", ("lk/",), {"bucket": "bkt"})
    handle = object()
    request = op.send(handle)
    assert isinstance(request, NextItem) and request.items is handle
    request = op.send({"key": ours, "version_id": "v1"})
    assert call_of(request) == ("delete_object", (ours,), {"bucket": "bkt", "version_id": "v1"})
    assert isinstance(op.send(None), NextItem)
    assert isinstance(op.send({"key": theirs, "version_id": "v2"}), NextItem)
    assert isinstance(op.send({"key": ours, "version_id": "null"}), NextItem)
    assert finish(op) is None


def test_listing_follows_pages_and_keeps_the_earliest_date() -> None:
    page = (
        "<ListBucketResult><IsTruncated>{t}</IsTruncated>{n}<Contents><Key>{k}</Key>"
        "<ETag>&quot;e&quot;</ETag><LastModified>2023-11-14T22:13:20.000Z</LastModified>"
        "</Contents></ListBucketResult>"
    )
    op = s3_ops().listing("lk/")
    method, args, kwargs = call_of(next(op))
    assert (method, args) == ("request", ("GET", None))
    assert ("prefix", "lk/") in kwargs["fields"]
    first = page.format(t="true", n="<NextContinuationToken>tok</NextContinuationToken>", k="lk/a")
    request = op.send(answer(body=first.encode(), Date="Tue, 14 Nov 2023 22:13:25 GMT"))
    assert ("continuation-token", "tok") in call_of(request)[2]["fields"]
    last = page.format(t="false", n="", k="lk/b")
    snapshot = finish(op, answer(body=last.encode(), Date=DATE))
    assert [obj.key for obj in snapshot.objects] == ["lk/a", "lk/b"]
    assert snapshot.server_now == NOW
    assert snapshot.objects[0].modified == NOW


def test_is_current_compares_the_version_else_the_etag() -> None:
    ops = s3_ops()
    op = ops.is_current("k", Written("k", "e", "v1", 1.0, 2.0))
    next(op)
    assert finish(op, answer(body=b"{}", ETag="x", x_amz_version_id="v1")) is True
    op = ops.is_current("k", Written("k", "e", None, 1.0, 2.0))
    next(op)
    assert finish(op, answer(body=b"{}", ETag="x")) is False
    op = ops.is_current("k", Written("k", "e", None, 1.0, 2.0))
    next(op)
    with pytest.raises(StopIteration) as stop:
        op.throw(no_such_key())
    assert stop.value.value is False


# --- B2 ---------------------------------------------------------------------------------------


class B2Answer:
    """What the B2 ops read of a response: its ids and headers."""

    def __init__(self, version_id: str | None = None, date: str | None = None) -> None:
        self.version_id = version_id
        self.etag = None
        self.attempts = 1
        self.headers = {"date": date} if date else {}


def test_b2_has_no_conditional_writes() -> None:
    ops = b2_ops()
    with pytest.raises(LockError):
        next(ops.put("k", b"{}", if_none_match=True))
    with pytest.raises(LockError):
        next(ops.delete("k", if_match="e"))


def test_b2_replace_uploads_then_deletes_the_old_version() -> None:
    ops = b2_ops()
    op = ops.replace("k", Written("k", None, "f1", 1.0, 2.0, retried=False), b"{}", "n", {})
    assert call_of(next(op))[0] == "put_object"
    request = op.send(B2Answer("f2"))
    assert call_of(request) == (
        "b2_call",
        ("b2_delete_file_version", {"fileId": "f1", "fileName": "k"}),
        {},
    )
    written = finish(op, (B2Answer(), {}))
    assert (written.version_id, written.retried) == ("f2", False)


def test_b2_replace_of_a_deleted_version_removes_the_new_one_and_is_broken() -> None:
    op = b2_ops().replace("k", Written("k", None, "f1", 1.0, 2.0), b"{}", "n", {})
    next(op)
    op.send(B2Answer("f2"))
    request = op.throw(no_such_key())
    assert call_of(request)[1] == ("b2_delete_file_version", {"fileId": "f2", "fileName": "k"})
    with pytest.raises(Broken, match="deleted by someone else"):
        op.throw(TransportError("reset"))  # that clean-up may fail: still broken


def test_b2_replace_keeps_the_lock_when_the_old_version_cannot_be_deleted_for_now() -> None:
    op = b2_ops().replace("k", Written("k", None, "f1", 1.0, 2.0), b"{}", "n", {})
    next(op)
    op.send(B2Answer("f2"))
    with pytest.raises(StopIteration) as stop:
        op.throw(ServiceUnavailable(503, "service_unavailable"))
    assert stop.value.value.retried
    op = b2_ops().replace("k", Written("k", None, "f1", 1.0, 2.0), b"{}", "n", {})
    next(op)
    op.send(B2Answer("f2"))
    with pytest.raises(InvalidArgument):
        op.throw(InvalidArgument(400, "bad_request"))


def test_b2_listings_follow_pages_with_the_bucket_id_and_the_earliest_date() -> None:
    def files(*names: str, action: str = "upload") -> list[dict[str, Any]]:
        return [{"fileName": n, "fileId": f"id-{n}", "action": action} for n in names]

    op = b2_ops().listing("lk/")
    assert call_of(next(op)) == ("bucket_id", ("bkt",), {})
    request = op.send("B1")
    params = {"bucketId": "B1", "prefix": "lk/", "maxFileCount": 1000}
    assert call_of(request) == ("b2_call", ("b2_list_file_names", params), {})
    page = {"files": files("lk/a") + files("lk/h", action="hide"), "nextFileName": "lk/b"}
    assert call_of(op.send((B2Answer(date=DATE), page)))[0] == "bucket_id"
    request = op.send("B1")
    assert call_of(request)[1][1]["startFileName"] == "lk/b"
    page = {"files": files("lk/b"), "nextFileName": "lk/b"}  # the same again: the end
    later = "Tue, 14 Nov 2023 22:13:30 GMT"
    snapshot = finish(op, (B2Answer(date=later), page))
    assert [(o.key, o.version_id) for o in snapshot.objects] == [("lk/a", "id-lk/a"),
                                                                 ("lk/b", "id-lk/b")]  # fmt: skip
    assert snapshot.server_now == NOW


def test_b2_sweep_deletes_every_version_of_its_own_names() -> None:
    ours, theirs = seq_key("lk/", 1, True, 30, ID_A, 3), seq_key("lk/", 0, True, 30, ID_B)
    op = b2_ops().sweep("lk/", ID_A)
    next(op)
    op.send("B1")
    versions = [{"fileName": ours, "fileId": "f1"}, {"fileName": theirs, "fileId": "f2"},
                {"fileName": ours, "fileId": "f3"}]  # fmt: skip
    request = op.send((B2Answer(), {"files": versions}))
    assert call_of(request)[1][1] == {"fileId": "f1", "fileName": ours}
    request = op.throw(no_such_key())  # already gone: fine
    assert call_of(request)[1][1] == {"fileId": "f3", "fileName": ours}
    assert finish(op, (B2Answer(), {})) is None


def test_b2_breakable_lists_every_version_seq_0_first() -> None:
    s1, s0 = seq_key("lk/", 1, True, 30, ID_A, 3), seq_key("lk/", 0, True, 30, ID_B)
    op = b2_ops().breakable("lk/", [Listed(s1, None, None, "f1"), Listed(s0, None, None, "f2")])
    next(op)
    request = op.send("B1")
    assert call_of(request)[1][0] == "b2_list_file_versions"
    versions = [{"fileName": s1, "fileId": "f1", "action": "upload"},
                {"fileName": s1, "fileId": "f0", "action": "hide"},
                {"fileName": s0, "fileId": "f2", "action": "upload"},
                {"fileName": "lk/other", "fileId": "f9", "action": "upload"}]  # fmt: skip
    found = finish(op, (B2Answer(), {"files": versions}))
    assert [o.version_id for o in found] == ["f2", "f1", "f0"]


# --- the drivers ----------------------------------------------------------------------------------


class Session:
    """Plain methods standing in for a session's (the drivers only look them up by name)."""

    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.closed = False

    def delete_object(self, key: str, **_: Any) -> None:
        if key == "locked":
            raise PreconditionFailed(412, "PreconditionFailed")
        self.deleted.append(key)

    def list_object_versions(self, prefix: str, **_: Any) -> Iterator[dict[str, Any]]:
        try:
            for key in ("lk/one", "locked", "lk/two"):
                yield {"key": key}
        finally:
            self.closed = True


class AsyncSession(Session):
    """The same, as coroutines and an async listing."""

    async def delete_object(self, key: str, **kwargs: Any) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        Session.delete_object(self, key, **kwargs)

    async def list_object_versions(  # type: ignore[override]
        self, prefix: str, **_: Any
    ) -> AsyncIterator[dict[str, Any]]:
        try:
            for item in Session.list_object_versions(self, prefix):
                await asyncio.sleep(0)
                yield item
        finally:
            self.closed = True


def deleting(catch: bool) -> StoreOp[list[str]]:
    """Delete each listed key; a refusal is caught (or not) inside the op."""
    done: list[str] = []
    items = yield ListingCall("list_object_versions", "lk/")
    while (item := (yield NextItem(items))) is not None:
        try:
            yield SessionCall("delete_object", item["key"])
        except PreconditionFailed:
            if not catch:
                raise
            continue
        done.append(item["key"])
    return done


def test_the_drivers_throw_errors_into_the_op_and_close_a_listing_left_early() -> None:
    session = Session()
    assert run_calls(deleting(True), lambda name: getattr(session, name)) == ["lk/one", "lk/two"]
    assert session.closed
    session = Session()
    with pytest.raises(PreconditionFailed):
        run_calls(deleting(False), lambda name: getattr(session, name))
    assert session.deleted == ["lk/one"] and session.closed

    async def main() -> None:
        session = AsyncSession()
        done = await run_calls_async(deleting(True), lambda name: getattr(session, name))
        assert done == ["lk/one", "lk/two"] and session.closed
        session = AsyncSession()
        with pytest.raises(PreconditionFailed):
            await run_calls_async(deleting(False), lambda name: getattr(session, name))
        assert session.deleted == ["lk/one"] and session.closed

    asyncio.run(main())


def test_b2_stores_send_their_handed_calls_to_the_callables_they_were_given() -> None:
    class Transport:
        max_pool_connections = 3

        def now(self) -> float:
            return NOW

    class B2:
        api_url, access_key_id, transport = "https://api", "key", Transport()

    calls: list[tuple[str, Any]] = []

    def call(name: str, params: Any) -> Any:
        calls.append((name, params))
        return B2Answer(date=DATE), {"files": [{"fileName": "lk/a", "action": "upload"}]}

    store = B2LockStore(B2(), "bkt", call, lambda bucket: f"id-{bucket}")  # type: ignore[arg-type]
    assert (store.kind, store.conditional, store.endpoint) == ("b2", False, "https://api#key")
    assert store.max_connections == 3 and store.now() == NOW
    assert [o.key for o in store.listing("lk/").objects] == ["lk/a"]
    assert calls == [("b2_list_file_names", {"bucketId": "id-bkt", "prefix": "lk/",
                                              "maxFileCount": 1000})]  # fmt: skip

    async def acall(name: str, params: Any) -> Any:
        return call(name, params)

    async def bucket_id(bucket: str) -> str:
        return f"id-{bucket}"

    astore = AsyncB2LockStore(B2(), "bkt", acall, bucket_id)  # type: ignore[arg-type]
    assert [o.key for o in asyncio.run(astore.listing("lk/")).objects] == ["lk/a"]
    with pytest.raises(LockError):
        asyncio.run(astore.delete("k"))


# --- a versioned bucket on moto: the sweep through both stores --------------------------------


def test_sweep_on_a_versioned_bucket_through_the_sync_and_the_async_store(
    moto: MotoServer,
) -> None:
    session = S3Session("AKIDMOTO", "moto-secret", endpoint_url=moto.endpoint_url, **FAST_RETRY)
    bucket = new_bucket_name()
    session.create_bucket(bucket)
    session.set_bucket_versioning(True, bucket=bucket)
    ours, theirs = seq_key("lk/", 0, True, 30, ID_A), seq_key("lk/", 0, True, 30, ID_B)

    def versions() -> list[str]:
        return sorted(v["key"] for v in session.list_object_versions("lk/", bucket=bucket))

    try:
        store = S3LockStore(session, bucket)
        for _ in range(3):
            store.put(ours, b"{}")
        store.put(theirs, b"{}")
        assert store.ops.versioned
        store.sweep("lk/", ID_A)
        assert versions() == [theirs]

        async def main() -> None:
            async with AsyncS3Session(
                "AKIDMOTO", "moto-secret", endpoint_url=moto.endpoint_url, **FAST_RETRY
            ) as asession:
                astore = AsyncS3LockStore(asession, bucket)
                written = [await astore.put(ours, b"{}") for _ in range(3)]
                assert await astore.is_current(ours, written[-1])
                assert not await astore.is_current(ours, written[0])
                await astore.sweep("lk/", ID_A)

        asyncio.run(main())
        assert versions() == [theirs]
    finally:
        session.delete_objects(prefix="", bucket=bucket, purge=True)
        session.close()
