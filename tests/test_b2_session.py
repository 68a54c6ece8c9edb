"""What is B2's own in B2Session: authorization caching and renewal, upload URLs, SHA-1s,
hidden files, large files, download authorizations, app keys, error mapping and secrets.

The behaviour B2 shares with S3 is tested for both in test_backends.py."""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import urllib3

import s3lite
from b2server import B2TestServer
from conftest import B2_MIN_PART_SIZE, b2_session, both_flavours, new_bucket_name
from faultproxy import ErrorResponse, FaultProxy, ResetBeforeResponse, ResetMidBody, TruncateBody
from s3lite import b2 as b2mod
from s3lite import b2_large_files, b2_requests
from s3lite.b2 import B2Session, clear_auth_cache, parse_error
from s3lite.multipart import PartResult

#: Every test here runs on the sync session and on the async one (conftest.both_flavours).
flavour = both_flavours()


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()  # noqa: S324


def creds(session: B2Session) -> tuple[str, str]:
    c = session.credentials.get()
    assert c is not None
    return c.access_key, c.secret_key


def fresh(b2server: B2TestServer, session: B2Session, **kwargs: Any) -> B2Session:
    """Another session with the same key and default bucket."""
    return b2_session(b2server, creds(session), **{"bucket": session.bucket, **kwargs})


def calls(b2server: B2TestServer) -> dict[str, int]:
    return {k: v for k, v in b2server.calls.items() if v}


# --- authorization ---------------------------------------------------------------------------


@pytest.mark.sync_only("it patches the sync class's B2Session._authorize to slow it down")
def test_authorization_is_shared_by_sessions_and_threads(
    b2: B2Session, b2server: B2TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    b2.put_object("k", b"v")
    clear_auth_cache()
    b2server.reset_counts()
    # A slow authorize makes all 8 threads arrive while it is under way.
    original = B2Session._authorize

    def slow(self: B2Session, *args: Any) -> Any:
        time.sleep(0.3)
        return original(self, *args)

    monkeypatch.setattr(B2Session, "_authorize", slow)
    sessions = [fresh(b2server, b2) for _ in range(2)]
    start = threading.Barrier(8)

    def work(i: int) -> int:
        session = sessions[i % 2]
        start.wait()
        for n in range(50):
            if n % 2:
                assert session.get_object("k").data == b"v"
            else:
                assert session.head_object("k").content_length == 1
        return i

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(work, range(8))) == list(range(8))
    assert b2server.calls["b2_authorize_account"] == 1
    assert b2server.calls["download_file_by_name"] == 400
    # a third session (same key) created later borrows it too
    assert fresh(b2server, b2).get_object("k").data == b"v"
    assert b2server.calls["b2_authorize_account"] == 1
    for session in sessions:
        session.close()


def test_a_wrong_key_never_borrows_the_cached_authorization(
    b2: B2Session, b2server: B2TestServer
) -> None:
    b2.put_object("k", b"v")  # the right key is authorized and cached
    key_id, _ = creds(b2)
    wrong = b2_session(b2server, (key_id, "not-the-key"), bucket=b2.bucket)
    with pytest.raises(s3lite.Unauthorized) as info:
        wrong.get_object("k")
    assert info.value.status == 401 and info.value.code == "unauthorized"
    assert b2.get_object("k").data == b"v"


def test_authorization_is_renewed_after_an_hour(
    b2: B2Session, b2server: B2TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(b2_requests, "MAX_AUTH_AGE", 0.3)
    clear_auth_cache()
    b2server.reset_counts()
    b2.put_object("k", b"v")
    b2.get_object("k")
    assert b2server.calls["b2_authorize_account"] == 1
    time.sleep(0.4)
    b2.get_object("k")
    assert b2server.calls["b2_authorize_account"] == 2


def test_authorization_is_kept_no_longer_than_the_key_lives(
    b2: B2Session, b2server: B2TestServer
) -> None:
    key = b2.create_app_key(["listBuckets", "readFiles"], "short-lived", duration=100)
    session = b2_session(b2server, (key.application_key_id, key.application_key))
    session.list_buckets()
    left = session._slot._expires - time.monotonic()
    assert 0 < left <= 100  # not the usual hour


def test_expired_token_is_renewed_once_for_all_threads(
    b2: B2Session, b2server: B2TestServer
) -> None:
    b2.put_object("k", b"v")
    b2.get_object("k")
    b2server.reset_counts()
    b2server.expire_auth_tokens()
    start = threading.Barrier(8)

    def work(i: int) -> None:
        start.wait()
        for _ in range(10):
            assert b2.get_object("k").data == b"v"
            assert [o["key"] for o in b2.list_objects()] == ["k"]

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert b2server.calls["b2_authorize_account"] == 1


def test_expired_token_mid_run_every_kind_of_call(b2: B2Session, b2server: B2TestServer) -> None:
    b2.put_object("k", b"v")
    for step in (
        lambda: b2.head_object("k"),  # a HEAD's 401 has no body to say why: renewed anyway
        lambda: b2.get_object("k").data,
        lambda: list(b2.list_objects()),
        lambda: b2.put_object("k2", b"w"),
        lambda: b2.copy_object("k", "k3"),
    ):
        b2server.reset_counts()
        b2server.expire_auth_tokens(include_upload_tokens=True)
        step()
        assert b2server.calls["b2_authorize_account"] == 1, calls(b2server)
    assert b2.get_object("k2").data == b"w"


# --- retries -------------------------------------------------------------------------------------


def test_service_unavailable_is_retried_honouring_retry_after(
    b2: B2Session, b2server: B2TestServer
) -> None:
    b2.put_object("k", b"v")
    b2server.reset_counts()
    b2server.inject(503, "service_unavailable", retry_after=1, operation="b2_list_file_names")
    started = time.monotonic()
    assert [o["key"] for o in b2.list_objects()] == ["k"]
    assert time.monotonic() - started >= 0.9  # waited as asked, not the 20 ms backoff
    assert b2server.calls["b2_list_file_names"] == 2
    b2server.inject(
        429, "too_many_requests", count=2, retry_after=0, operation="download_file_by_name"
    )
    assert b2.get_object("k").data == b"v"
    assert b2server.calls["download_file_by_name"] == 3
    b2server.inject(408, "request_timeout", retry_after=0, operation="b2_list_file_versions")
    assert len(list(b2.list_object_versions())) == 1


def test_retries_stop_at_max_attempts(b2: B2Session, b2server: B2TestServer) -> None:
    b2server.reset_counts()
    b2server.inject(503, "service_unavailable", count=20, retry_after=0, message="busy")
    with pytest.raises(s3lite.ServiceUnavailable) as info:
        list(b2.list_objects())
    assert info.value.status == 503 and info.value.message == "busy"
    assert b2server.calls["b2_list_file_names"] == b2.transport.retry.max_attempts == 5


def test_upload_url_is_reused_and_replaced_after_a_failure(
    b2: B2Session, b2server: B2TestServer
) -> None:
    b2server.reset_counts()
    b2.put_object("a", b"1")
    b2.put_object("b", b"2")
    assert b2server.calls["b2_upload_file"] == 2
    assert b2server.calls["b2_get_upload_url"] == 1  # the second upload reused the URL
    for status, code in [(503, "service_unavailable"), (500, "internal_error"),
                         (408, "request_timeout"), (429, "too_many_requests")]:  # fmt: skip
        b2server.reset_counts()
        b2server.inject(status, code, retry_after=0, operation="b2_upload_file")
        b2.put_object("c", io.BytesIO(b"3" * 1000))  # a seekable file can be sent again
        # the failed URL was dropped: the retry went to a fresh one
        assert b2server.calls["b2_upload_file"] == 2
        assert b2server.calls["b2_get_upload_url"] == 1
    assert b2.get_object("c").data == b"3" * 1000
    # a fresh URL after an expired upload token, too
    b2server.reset_counts()
    b2server.expire_auth_tokens(include_upload_tokens=True)
    b2.put_object("d", b"4")
    assert b2server.calls["b2_upload_file"] == 2
    assert b2server.calls["b2_authorize_account"] == 1
    # (the first b2_get_upload_url met the expired account token, the second worked)
    assert b2server.calls["b2_get_upload_url"] == 2
    # a one-shot stream cannot be sent again
    b2server.inject(503, "service_unavailable", retry_after=0, operation="b2_upload_file")
    with pytest.raises(s3lite.TransportError, match="non-seekable"):
        b2.put_object("e", iter([b"x" * 1000]), content_length=1000)


def test_upload_urls_are_never_shared_by_concurrent_uploads(
    b2: B2Session, b2server: B2TestServer
) -> None:
    b2server.reset_counts()
    data = {f"f/{i:03d}": os.urandom(20_000) for i in range(64)}
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kv: b2.put_object(*kv), data.items()))
    # the server refuses a second upload on a busy token (auth_token_limit): none happened
    assert b2server.calls["b2_upload_file"] == 64
    assert b2server.calls["b2_get_upload_url"] <= 8  # one per thread at most
    for key, value in data.items():
        assert b2.get_object(key).data == value


def test_cached_work_is_not_repeated(b2: B2Session, b2server: B2TestServer) -> None:
    b2.put_object("k", b"v")
    b2.get_object("k")
    b2server.reset_counts()
    b2.put_object("k", b"w")
    b2.get_object("k").data  # noqa: B018
    b2.head_object("k")
    list(b2.list_objects())
    # one request each: no authorize, bucket-id lookup or upload-URL fetch per call
    assert calls(b2server) == {
        "b2_upload_file": 1, "download_file_by_name": 2, "b2_list_file_names": 1,
    }  # fmt: skip


# --- uploads: SHA-1 and bodies ------------------------------------------------------------------


def record_sha1_headers(session: B2Session) -> list[str]:
    sent: list[str] = []
    original = session.transport.send_raw

    def send_raw(request: Any, *args: Any, **kwargs: Any) -> Any:
        if "X-Bz-Content-Sha1" in request.headers:
            sent.append(request.headers["X-Bz-Content-Sha1"])
        return original(request, *args, **kwargs)

    session.transport.send_raw = send_raw  # type: ignore[method-assign]
    return sent


def test_stream_is_sent_once_with_its_sha1_at_the_end(b2: B2Session) -> None:
    sent = record_sha1_headers(b2)
    chunks = [os.urandom(100_000) for _ in range(5)]
    pulled: list[int] = []

    def generate() -> Iterator[bytes]:
        for i, chunk in enumerate(chunks):
            pulled.append(i)
            yield chunk

    put = b2.put_object("gen", generate(), content_length=500_000)
    data = b"".join(chunks)
    assert pulled == [0, 1, 2, 3, 4]  # read once
    assert sent == ["hex_digits_at_end"]
    assert put.etag == sha1(data)  # B2 checked the trailing digits against the body
    got = b2.get_object("gen")
    assert got.data == data and got.etag == sha1(data)
    assert got.headers["X-Bz-Content-Sha1"] == sha1(data)
    # bytes: the SHA-1 up front; a seekable file: at the end (read once per attempt)
    b2.put_object("bytes", b"abc")
    b2.put_object("file", io.BytesIO(data))
    assert sent[1:] == [sha1(b"abc"), "hex_digits_at_end"]
    assert b2.get_object("file").etag == sha1(data)
    # a stream of unknown length is spooled once and sent with its SHA-1 up front
    b2.put_object("spooled", iter(chunks))
    assert sent[3] == sha1(data)


def test_declared_length_must_match(b2: B2Session) -> None:
    with pytest.raises(ValueError, match="short"):
        b2.put_object("short", iter([b"x" * 10]), content_length=20)
    with pytest.raises(ValueError, match="longer"):
        b2.put_object("long", iter([b"x" * 30]), content_length=20)
    with pytest.raises(s3lite.NoSuchKey):
        b2.head_object("short")


def test_b2_info_fields_and_metadata_encoding(b2: B2Session) -> None:
    meta = {"Plus+Sign": "a+b c/d%20e", "emoji": "😀", "src_last_modified_millis": "1000"}
    b2.put_object(
        "info.txt", b"x", metadata=meta, content_encoding="identity", content_language="de",
        expires="Thu, 01 Dec 2094 16:00:00 GMT",
    )  # fmt: skip
    head = b2.head_object("info.txt")
    assert head.metadata == {k.lower(): v for k, v in meta.items()}
    assert head.headers["Content-Language"] == "de"
    assert head.headers["Content-Encoding"] == "identity"
    assert head.headers["Expires"] == "Thu, 01 Dec 2094 16:00:00 GMT"
    # last_modified is when B2 stored the version, not the source mtime in the file info
    assert head.last_modified is not None and head.last_modified.year >= 2024
    listed = next(iter(b2.list_objects()))
    assert listed["upload_timestamp"] == head.last_modified
    assert listed["etag"] == sha1(b"x") and listed["storage_class"] is None


# --- hidden files and versions ------------------------------------------------------------------


def test_hidden_files_and_versions(b2: B2Session) -> None:
    v1 = b2.put_object("a.txt", b"1")
    v2 = b2.put_object("a.txt", b"22")
    b2.put_object("b.txt", b"3")
    hidden = b2.hide_object("a.txt")
    assert hidden.version_id and hidden.version_id not in (v1.version_id, v2.version_id)
    assert [o["key"] for o in b2.list_objects()] == ["b.txt"]
    with pytest.raises(s3lite.NoSuchKey):
        b2.get_object("a.txt")
    with pytest.raises(s3lite.NoSuchKey):
        b2.hide_object("a.txt")  # already hidden
    with pytest.raises(s3lite.NoSuchKey):
        b2.hide_object("never.txt")
    versions = list(b2.list_object_versions())
    assert [(v["key"], v["version_id"], v["delete_marker"], v["is_latest"]) for v in versions] == [
        ("a.txt", hidden.version_id, True, True),
        ("a.txt", v2.version_id, False, False),
        ("a.txt", v1.version_id, False, False),
        ("b.txt", versions[3]["version_id"], False, True),
    ]
    assert versions[0]["etag"] is None and versions[1]["etag"] == sha1(b"22")
    assert b2.get_object("a.txt", version_id=v1.version_id).data == b"1"
    # is_latest holds across pages of one version each
    paged = list(b2.list_object_versions(page_size=1))
    assert [v["is_latest"] for v in paged] == [True, False, False, True]
    # S3-style markers: after a key, or after one version of it
    after = list(b2.list_object_versions(key_marker="a.txt"))
    assert [v["key"] for v in after] == ["b.txt"]
    rest = list(b2.list_object_versions(key_marker="a.txt", version_id_marker=v2.version_id))
    assert [(v["version_id"], v["is_latest"]) for v in rest][:1] == [(v1.version_id, False)]
    # one version deleted by id: the older one becomes the latest when the marker goes
    b2.delete_object("a.txt", version_id=hidden.version_id)
    assert b2.get_object("a.txt").data == b"22"
    b2.delete_object("a.txt", version_id=v2.version_id)
    assert b2.get_object("a.txt").data == b"1"
    # a version that is not there: nothing to do, as on S3
    assert b2.delete_object("a.txt", version_id=v2.version_id).status == 204
    # without a version: every version of the name (a hide marker too) goes
    b2.put_object("a.txt", b"again")
    b2.hide_object("a.txt")
    gone = b2.delete_object("a.txt")
    assert gone.status == 204 and gone.version_id is not None
    assert [v["key"] for v in b2.list_object_versions()] == ["b.txt"]
    with pytest.raises(ValueError, match="cannot be suspended"):
        b2.set_bucket_versioning(False)


def test_delete_objects_reports_per_key_errors(b2: B2Session, b2server: B2TestServer) -> None:
    b2.put_object("a", b"1")
    b2.put_object("b", b"2")
    # a version that is not there is nothing to do, as on S3
    result = b2.delete_objects([("a", None), ("b", "999")])
    assert [(d["key"], d["version_id"] is not None) for d in result.deleted] == [
        ("a", True), ("b", True),
    ]  # fmt: skip
    assert result.ok and b2.get_object("b").data == b"2"
    b2server.inject(403, "access_denied", operation="b2_delete_file_version")
    result = b2.delete_objects(["b", "missing"], raise_errors=False)
    assert [(e["key"], e["version_id"], e["code"]) for e in result.errors] == [
        ("b", None, "access_denied")
    ]
    assert not result.ok
    assert result.deleted == [{"key": "missing", "version_id": None, "delete_marker": False}]
    assert b2.get_object("b").data == b"2"


# --- large files ----------------------------------------------------------------------------------


def test_large_file_primitives(b2: B2Session, b2server: B2TestServer) -> None:
    assert b2.multipart_min_part_size == B2_MIN_PART_SIZE  # from b2_authorize_account
    assert (b2.multipart_max_part_size, b2.multipart_max_parts) == (5_000_000_000, 10000)
    bucket = b2.bucket
    assert bucket is not None
    mp = b2.multipart_backend
    parts_data = [os.urandom(B2_MIN_PART_SIZE), os.urandom(B2_MIN_PART_SIZE), b"tail"]
    b2server.reset_counts()
    upload_id = mp.start(
        bucket, "large.bin", metadata={"kind": "large"}, content_type="application/x-big",
        headers={"Cache-Control": "no-cache"},
    )  # fmt: skip
    assert [(u["key"], u["upload_id"]) for u in b2.list_multipart_uploads()] == [
        ("large.bin", upload_id)
    ]
    assert list(b2.list_multipart_uploads("other/")) == []
    assert list(b2.list_objects()) == []  # unfinished: not an object yet
    results = [
        mp.upload_part(bucket, "large.bin", upload_id, n, data)
        for n, data in enumerate(parts_data, 1)
    ]
    assert results == [
        PartResult(n, len(data), sha1=sha1(data)) for n, data in enumerate(parts_data, 1)
    ]
    assert b2server.calls["b2_get_upload_part_url"] == 1  # pooled for this large file
    listed = mp.list_parts(bucket, "large.bin", upload_id)
    assert [(p.number, p.size, p.sha1) for p in listed] == [
        (r.number, r.size, r.sha1) for r in results
    ]
    done = mp.complete(bucket, "large.bin", upload_id, list(reversed(results)))
    assert done.status == 200 and done.version_id == upload_id
    assert done.etag is None  # B2 keeps no SHA-1 for a large file unless told one
    got = b2.get_object("large.bin")
    assert got.data == b"".join(parts_data)
    assert got.version_id == upload_id and got.etag is None
    assert got.metadata == {"kind": "large"} and got.content_type == "application/x-big"
    assert got.headers["Cache-Control"] == "no-cache"
    assert list(b2.list_multipart_uploads()) == []
    with pytest.raises(s3lite.NoSuchUpload):
        mp.upload_part(bucket, "large.bin", upload_id, 4, b"late")
    # finishing again (a retry whose first attempt went through) gives the same file
    again = mp.complete(bucket, "large.bin", upload_id, results)
    assert again.version_id == upload_id


def test_large_file_refusals(b2: B2Session) -> None:
    bucket = b2.bucket
    assert bucket is not None
    mp = b2.multipart_backend
    upload_id = mp.start(bucket, "small-parts", metadata=None, content_type=None, headers=None)
    parts = [mp.upload_part(bucket, "small-parts", upload_id, n, b"x" * 10) for n in (1, 2)]
    with pytest.raises(s3lite.InvalidRequest, match="minimum part size"):
        mp.complete(bucket, "small-parts", upload_id, parts)  # still unfinished: refused
    mp.abort(bucket, "small-parts", upload_id)
    with pytest.raises(s3lite.NoSuchUpload):
        mp.complete(bucket, "small-parts", upload_id, parts)
    with pytest.raises(ValueError, match="part number"):
        mp.upload_part(bucket, "small-parts", upload_id, 10001, b"x")
    with pytest.raises(ValueError, match="cannot be stored"):
        mp.start(bucket, "k", metadata=None, content_type=None, headers={"x-amz-acl": "x"})


def test_large_file_sha1_info_is_the_etag(b2: B2Session) -> None:
    bucket = b2.bucket
    assert bucket is not None
    mp = b2.multipart_backend
    data = os.urandom(B2_MIN_PART_SIZE + 10)
    upload_id = mp.start(
        bucket, "big", metadata={"large_file_sha1": sha1(data)}, content_type=None, headers=None
    )
    parts = [
        mp.upload_part(bucket, "big", upload_id, 1, memoryview(data)[:B2_MIN_PART_SIZE]),
        mp.upload_part(bucket, "big", upload_id, 2, data[B2_MIN_PART_SIZE:]),
    ]
    assert mp.complete(bucket, "big", upload_id, parts).etag == sha1(data)
    assert b2.head_object("big").etag == sha1(data)
    assert next(iter(b2.list_objects()))["etag"] == sha1(data)


def test_large_file_cancel_and_parallel_parts(b2: B2Session, b2server: B2TestServer) -> None:
    bucket = b2.bucket
    assert bucket is not None
    mp = b2.multipart_backend
    upload_id = mp.start(bucket, "gone", metadata=None, content_type=None, headers=None)
    b2server.reset_counts()
    b2server.inject(503, "service_unavailable", retry_after=0, operation="b2_upload_part")
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda n: mp.upload_part(bucket, "gone", upload_id, n, bytes([n]) * 6000),
                range(1, 9),
            )
        )
    assert [r.number for r in results] == list(range(1, 9))
    assert b2server.calls["b2_upload_part"] == 9  # one retried on a fresh part URL
    assert b2server.calls["b2_get_upload_part_url"] <= 5
    assert len(mp.list_parts(bucket, "gone", upload_id)) == 8
    mp.abort(bucket, "gone", upload_id)
    assert list(b2.list_multipart_uploads()) == []
    with pytest.raises(s3lite.NoSuchUpload):
        mp.list_parts(bucket, "gone", upload_id)
    with pytest.raises(s3lite.NoSuchUpload):
        mp.abort(bucket, "gone", upload_id)
    assert list(b2.list_object_versions()) == []


def test_part_lists_are_followed_across_pages(b2: B2Session, monkeypatch: Any) -> None:
    bucket = b2.bucket
    assert bucket is not None
    mp = b2.multipart_backend
    upload_id = mp.start(bucket, "many", metadata=None, content_type=None, headers=None)
    for n in range(1, 6):
        mp.upload_part(bucket, "many", upload_id, n, b"p")
    monkeypatch.setattr(b2_large_files, "PARTS_PER_PAGE", 2)
    assert [p.number for p in mp.list_parts(bucket, "many", upload_id)] == [1, 2, 3, 4, 5]


def test_copy_if_match_checks_the_version_it_copies(b2: B2Session) -> None:
    v1 = b2.put_object("src", b"one")
    b2.put_object("src", b"two")
    with pytest.raises(s3lite.PreconditionFailed) as info:
        b2.copy_object("src", "dst", if_match=sha1(b"one"))
    assert info.value.status == 412
    with pytest.raises(s3lite.NoSuchKey):
        b2.head_object("dst")
    copied = b2.copy_object("src", "dst", if_match=f'"{sha1(b"two")}"')
    assert copied.etag == sha1(b"two")
    old = b2.copy_object("src", "old", source_version_id=v1.version_id, if_match=sha1(b"one"))
    assert old.etag == sha1(b"one") and b2.get_object("old").data == b"one"
    with pytest.raises(s3lite.NoSuchKey):
        b2.copy_object("src", "x", source_version_id="999")


# --- download authorization ---------------------------------------------------------------------


def test_presigned_download_url(b2: B2Session) -> None:
    b2.put_object("dir/x y+ü.txt", b"shared")
    b2.put_object("dir/other.txt", b"also")
    b2.put_object("secret.txt", b"private")
    http = urllib3.PoolManager()
    url = b2.presign("GET", "dir/x y+ü.txt", 60)
    assert "Authorization=" in url
    resp = http.request("GET", url)
    assert (resp.status, resp.data) == (200, b"shared")
    assert http.request("HEAD", b2.presign("HEAD", "dir/x y+ü.txt")).status == 200
    # the token covers names that start with the key (or `prefix`) only
    elsewhere = url.replace("/dir/x%20y%2B%C3%BC.txt?", "/secret.txt?")
    assert elsewhere != url
    refused = http.request("GET", elsewhere)
    assert refused.status == 401 and json.loads(refused.data)["code"] == "unauthorized"
    folder = b2.presign("GET", "dir/other.txt", prefix="dir/")
    assert http.request("GET", folder).data == b"also"
    assert http.request("GET", folder.replace("other.txt", "x%20y%2B%C3%BC.txt")).status == 200
    # without the token: a private bucket
    assert http.request("GET", url.split("?")[0]).status == 401
    for bad in (0, 7 * 24 * 3600 + 1):
        with pytest.raises(ValueError, match="expires_in"):
            b2.presign("GET", "k", bad)
    with pytest.raises(ValueError, match="GET"):
        b2.presign("PUT", "k")
    with pytest.raises(ValueError, match="prefix"):
        b2.presign("GET", "dir/x", prefix="other/")


# --- application keys ----------------------------------------------------------------------------


def test_create_app_key_restricted_to_a_bucket(b2: B2Session, b2server: B2TestServer) -> None:
    b2.put_object("k", b"v")
    key = b2.create_app_key(
        ["listBuckets", "listFiles", "readFiles"], "reader-key", bucket=b2.bucket
    )
    assert key.key_name == "reader-key" and key.bucket_id
    assert set(key.capabilities) == {"listBuckets", "listFiles", "readFiles"}
    assert key.application_key not in repr(key) and key.application_key not in str(key)
    reader = b2_session(b2server, (key.application_key_id, key.application_key), bucket=b2.bucket)
    assert reader.get_object("k").data == b"v"
    assert [o["key"] for o in reader.list_objects()] == ["k"]
    assert [b["name"] for b in reader.list_buckets()] == [b2.bucket]
    with pytest.raises(s3lite.Unauthorized) as info:
        reader.put_object("k2", b"x")  # no writeFiles
    assert info.value.status == 401
    b2.delete_app_key(key.application_key_id)
    clear_auth_cache()
    with pytest.raises((s3lite.Unauthorized, s3lite.ExpiredToken)):
        reader.get_object("k")
    with pytest.raises(ValueError, match="capabilities"):
        b2.create_app_key([], "x")
    with pytest.raises(ValueError, match="key_name"):
        b2.create_app_key(["listFiles"], "bad name")


# --- buckets and errors ---------------------------------------------------------------------


def test_error_mapping(b2: B2Session, b2server: B2TestServer) -> None:
    with pytest.raises(s3lite.NoSuchKey) as key_info:
        b2.get_object("missing")
    assert (key_info.value.status, key_info.value.code) == (404, "not_found")
    with pytest.raises(s3lite.NoSuchKey):
        b2.head_object("missing")
    with pytest.raises(s3lite.NoSuchKey):
        b2.get_object("missing", version_id="999")
    with pytest.raises(s3lite.NoSuchBucket):
        b2.put_object("k", b"v", bucket="no-such-bucket-here")
    with pytest.raises(s3lite.NoSuchBucket):
        b2.delete_bucket("no-such-bucket-here")
    b2.put_object("k", b"v")
    with pytest.raises(s3lite.BucketNotEmpty) as full:
        b2.delete_bucket()
    assert (full.value.status, full.value.code) == (400, "cannot_delete_non_empty_bucket")
    with pytest.raises(s3lite.InvalidRange):
        b2.get_object("k", range_start=5)
    # a name another account owns
    other = b2_session(b2server, b2server.create_account())
    taken = new_bucket_name()
    other.create_bucket(taken)
    with pytest.raises(s3lite.BucketAlreadyExists) as exists:
        b2.create_bucket(taken)
    assert not isinstance(exists.value, s3lite.BucketAlreadyOwnedByYou)
    assert exists.value.code == "duplicate_bucket_name"
    other.delete_bucket(taken)


def test_error_parser_tolerates_anything() -> None:
    assert parse_error(b'{"status": 400, "code": "bad_request", "message": "m"}', 400)[:2] == (
        "bad_request",
        "m",
    )
    swapped = parse_error(b'{"code": 503, "status": "service_unavailable"}', 503)
    assert swapped[0] == "service_unavailable"
    assert parse_error(b"<html>Bad Gateway</html>", 502)[:2] == (None, "<html>Bad Gateway</html>")
    assert parse_error(b"[1, 2]", 500)[0] is None
    assert parse_error(b'{"code": {"x": 1}, "message": 5}', 400)[:2] == (None, "5")
    assert parse_error(b'{"code": "has space", "message": null}', 400)[:2] == (None, "")
    started = time.monotonic()
    assert parse_error(b"[" * 100_000 + b"]" * 100_000, 500)[0] is None  # too deep: no hang
    assert parse_error(b'{"message": "' + b"x" * 5_000_000 + b'"}', 500)[1] == "x" * 2000
    assert time.monotonic() - started < 5


@pytest.fixture
def proxied(b2_account: tuple[str, str]) -> Iterator[tuple[B2Session, FaultProxy, B2TestServer]]:
    """A B2Session whose every request (API, uploads, downloads) crosses the fault proxy: the
    test server hands out the proxy's URL as its apiUrl, downloadUrl and upload URLs."""
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


def json_error(status: int, body: bytes, retry_after: int | None = None) -> ErrorResponse:
    return ErrorResponse(
        status, "", body=body, content_type="application/json", retry_after=retry_after
    )


def test_malformed_and_swapped_error_bodies_through_the_wire(proxied: Any) -> None:
    session, proxy, _ = proxied
    session.put_object("k", b"v")
    proxy.add(json_error(503, b'{"code": 503, "status": "service_unavailable"}', 0),
              path_contains="b2_list_file_names")  # fmt: skip
    proxy.add(json_error(500, b"<html>oops</html>"), path_contains="b2_list_file_names")
    assert [o["key"] for o in session.list_objects()] == ["k"]
    assert [f[0] for f in proxy.fired] == ["ErrorResponse", "ErrorResponse"]
    proxy.add(json_error(400, b"not json at all"), path_contains="b2_list_file_names")
    with pytest.raises(s3lite.ClientError) as info:
        list(session.list_objects())
    assert info.value.status == 400 and "not json" in info.value.message
    huge = b'{"status": 200, "files": [], "pad": "' + b"x" * 100 + b'"}'
    proxy.add(ErrorResponse(200, "", body=huge, content_type="application/json"),
              path_contains="b2_list_file_names")  # fmt: skip
    assert list(session.list_objects()) == []  # a 200 body with no nextFileName: one page


def test_oversized_json_is_refused(proxied: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    session, proxy, _ = proxied
    monkeypatch.setattr(b2_requests, "MAX_JSON_BYTES", 1000)
    big = b'{"files": [], "pad": "' + b"x" * 5000 + b'"}'
    proxy.add(ErrorResponse(200, "", body=big, content_type="application/json"),
              path_contains="b2_list_file_names")  # fmt: skip
    with pytest.raises(s3lite.MalformedResponse, match="too large"):
        list(session.list_objects())


def test_broken_download_resumes_from_the_same_file_id(proxied: Any) -> None:
    session, proxy, _ = proxied
    data = os.urandom(3 * 1024 * 1024)
    put = session.put_object("big", data)
    proxy.add(ResetMidBody(1_000_000), method="GET", times=1)
    proxy.add(TruncateBody(300_000), method="GET", times=1)
    with session.get_object("big") as resp:
        assert b"".join(resp.iter_chunks(256 * 1024)) == data
    gets = [t for m, t in proxy.requests if m == "GET" and "authorize" not in t]
    assert len(gets) == 3
    # the resumed requests named the version by id, not the (movable) file name
    assert all(f"fileId={put.version_id}" in target for target in gets[1:])
    proxy.add(ResetMidBody(500_000), method="GET", times=1)
    assert (
        session.get_object("big", range_start=1000, range_end=2_000_999).data
        == (data[1000:2_001_000])
    )
    assert len(proxy.fired) == 3


def test_replaced_file_is_not_spliced(proxied: Any) -> None:
    session, proxy, _ = proxied
    session.put_object("big", b"A" * 3_000_000)
    proxy.add(ResetMidBody(2_000_000), method="GET", times=1)
    resp = session.get_object("big")
    first = resp.read(100_000)
    session.put_object("big", b"B" * 3_000_000)  # a new version meanwhile
    rest = resp.read()
    assert first + rest == b"A" * 3_000_000  # resumed from the first version's file id
    # ... and if that version is deleted meanwhile, the read stops
    put = session.put_object("big2", b"C" * 3_000_000)
    proxy.add(ResetMidBody(2_000_000), method="GET", times=1)
    resp = session.get_object("big2")
    resp.read(100_000)
    session.delete_object("big2", version_id=put.version_id)
    with pytest.raises(s3lite.ObjectChanged):
        resp.read()
    resp.close()


def test_upload_connection_reset_goes_to_a_fresh_url(proxied: Any) -> None:
    session, proxy, server = proxied
    server.reset_counts()
    proxy.add(ResetBeforeResponse(), path_contains="b2_upload_file", times=1)
    session.put_object("k", b"payload")
    assert session.get_object("k").data == b"payload"
    assert server.calls["b2_get_upload_url"] == 2
    uploads = [t for m, t in proxy.requests if "b2_upload_file" in t]
    assert len(uploads) == 2 and uploads[0] != uploads[1]


# --- argument checks, credentials, secrets --------------------------------------------------


def test_b2_name_rules_fail_before_any_request() -> None:
    session = B2Session("key-id", "key", "bucket-ok", api_url="http://127.0.0.1:9", max_attempts=1)
    for key in ("/leading", "trailing/", "double//slash", "tab\there", "del\x7f", "x" * 251):
        with pytest.raises(ValueError):
            session.put_object(key, b"x")
    for bucket in ("b2-reserved", "B2-Reserved", "has.dot", "under_score", "abcde"):
        with pytest.raises(ValueError, match="invalid bucket name"):
            session.get_object("k", bucket=bucket)
    for ok in ("-leading", "trailing-", "UPPER-case-1"):
        assert b2mod.validate_bucket(ok) == ok  # S3 refuses these, B2 does not
    with pytest.raises(ValueError, match="reserved"):
        session.put_object("k", b"x", metadata={"b2-cache-control": "x"})
    with pytest.raises(ValueError, match="at most 10"):
        session.put_object("k", b"x", metadata={f"m{i}": "v" for i in range(11)})
    with pytest.raises(ValueError, match="7000"):
        session.put_object("k", b"x", metadata={"big": "€" * 2500})
    with pytest.raises(ValueError, match="suspended"):
        session.set_bucket_versioning(False)
    with pytest.raises(ValueError, match="content_length"):
        session.put_object("k", b"x", content_length=-1)
    with pytest.raises(ValueError, match="api_url"):
        B2Session("key-id", "key", api_url="ftp://example.com")


def test_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("B2_APPLICATION_KEY_ID", raising=False)
    monkeypatch.delenv("B2_APPLICATION_KEY", raising=False)
    with pytest.raises(s3lite.NoCredentialsError, match="B2_APPLICATION_KEY_ID"):
        B2Session()
    monkeypatch.setenv("B2_APPLICATION_KEY_ID", "env-key-id")
    monkeypatch.setenv("B2_APPLICATION_KEY", "env-secret-key")
    with B2Session(bucket="bucket-ok") as session:
        assert session.access_key_id == "env-key-id"
        assert "env-secret-key" not in repr(session)
    monkeypatch.delenv("B2_APPLICATION_KEY")
    with pytest.raises(s3lite.NoCredentialsError, match="B2_APPLICATION_KEY"):
        B2Session()


def test_secrets_stay_out_of_reprs_and_errors(b2: B2Session, b2server: B2TestServer) -> None:
    key_id, key = creds(b2)
    b2.put_object("k", b"v")
    account = b2._account()
    texts = [repr(b2), str(b2), repr(b2.credentials), repr(b2._slot), repr(account)]
    wrong = b2_session(b2server, (key_id, key + "-wrong"), bucket=b2.bucket)
    with pytest.raises(s3lite.Unauthorized) as denied:
        wrong.get_object("k")
    texts += [str(denied.value), repr(denied.value)]
    b2server.inject(503, "service_unavailable", count=20, retry_after=0, operation="b2_upload_file")
    with pytest.raises(s3lite.ServiceUnavailable) as failed:
        b2.put_object("k2", b"v")
    texts += [str(failed.value), repr(failed.value)]
    assert key_id in repr(b2)  # the key id is not a secret
    for text in texts:
        assert key not in text and account.token not in text, text
        assert "upload-token" not in text, text
