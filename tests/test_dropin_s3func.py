"""s3func code runs on s3lite: positional arguments in s3func's order, listings that page
rather than truncate, delete_objects with prefix/purge, bucket-restricted B2 keys and the
response attributes s3func callers read. Written the way s3func's users write it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

import s3lite
from b2server import B2TestServer
from conftest import FAST_RETRY, MotoServer, new_bucket_name
from s3lite import B2Session, S3Session
from s3lite.b2 import clear_auth_cache
from s3lite.devserver import LocalSeaweedFS, free_port

Session = S3Session | B2Session


def _put_many(session: Session, keys: list[str]) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: session.put_object(k, k.encode()), keys))


# --- constructors ------------------------------------------------------------------------------


def test_s3session_positional_order_of_s3func(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    # S3Session(access_key_id, access_key, bucket, endpoint_url, region, max_pool_connections,
    #           max_attempts, retry_mode, read_timeout, stream, connect_timeout)
    session = S3Session(
        seaweed.access_key, seaweed.secret_key, s3.bucket, seaweed.endpoint_url, "us-east-1",
        4, 2, "adaptive", 30, False, 5,
    )  # fmt: skip
    assert session.endpoint_url == seaweed.endpoint_url and session.region == "us-east-1"
    assert session.transport.max_pool_connections == 4 and session.stream is False
    session.put_object("hello.txt", b"Hello, S3!")
    resp = session.get_object("hello.txt")
    assert resp.data.decode() == "Hello, S3!"
    # the old mistake: a URL 4th used to become https://s3.http://....amazonaws.com
    four = S3Session(seaweed.access_key, seaweed.secret_key, s3.bucket, seaweed.endpoint_url)
    assert four.get_object("hello.txt").data == b"Hello, S3!"
    session.close()
    four.close()


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("ak", "sk", "bkt", "eu-west-1"), {}, "is it a region"),
        (("ak", "sk", "bkt", None, "http://127.0.0.1:9"), {}, "URL belongs in endpoint_url"),
        (("ak", "sk", "bkt"), {"region": "s3.eu-west-1.amazonaws.com"}, "region"),
        (("ak", "sk", "bkt", "ftp://127.0.0.1:9"), {}, "http"),
        (("ak", "sk", "bkt", "http://127.0.0.1:9", "us-east-1", "10"), {}, "max_pool"),
        (("ak", "sk", "bkt", "http://127.0.0.1:9", "us-east-1", 10, 0), {}, "max_attempts"),
        (("ak", "sk", "bkt", "http://127.0.0.1:9", "us-east-1", 10, 3, "fast"), {}, "retry_mode"),
        (("ak", "sk", "bkt", "http://x.example:9", "us-east-1", 10, 3, "standard", -1), {},
         "read_timeout"),
        (("ak", "sk", "bkt", "http://x.example:9", "us-east-1", 10, 3, "standard", 1, "yes"), {},
         "stream"),
    ],
)  # fmt: skip
def test_s3session_misplaced_arguments_fail_at_construction(
    args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        S3Session(*args, **kwargs)  # type: ignore[arg-type]


def test_b2session_positional_order_of_s3func(b2server: B2TestServer, b2: B2Session) -> None:
    key_id, key = b2server.create_account()
    other = new_bucket_name()
    clear_auth_cache()
    # B2Session(access_key_id, access_key, bucket, max_connections, max_attempts,
    #           read_timeout, download_url, stream)
    session = B2Session(key_id, key, None, 3, 2, 30, b2server.api_url, False,
                        api_url=b2server.api_url, **FAST_RETRY)  # fmt: skip
    session.create_bucket(other)
    session.bucket = other
    assert session.transport.max_pool_connections == 3 and session.stream is False
    session.put_object("data.json", b'{"status": "ok"}', content_type="application/json")
    assert session.get_object("data.json").data == b'{"status": "ok"}'
    # s3func's keyword spelling of the pool size
    assert B2Session(key_id, key, max_connections=7).transport.max_pool_connections == 7
    # download_url is where downloads go: a dead address fails the GET, not the API calls
    dead = f"http://127.0.0.1:{free_port()}"
    detour = B2Session(key_id, key, other, download_url=dead, api_url=b2server.api_url,
                       max_attempts=1)  # fmt: skip
    assert [i["key"] for i in detour.list_objects()] == ["data.json"]
    with pytest.raises(s3lite.TransportError):
        detour.get_object("data.json").data  # noqa: B018
    assert detour.presign("GET", "data.json").startswith(dead + "/file/")
    session.delete_objects(prefix="")
    session.delete_bucket(other)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("id", "key", "bkt", "http://127.0.0.1:9"), {}, "max_pool_connections"),
        (("id", "key", "bkt", 10, 3, 60, "not a url"), {}, "download_url"),
        (("id", "key", "bkt", 10, 3, 60, "us-west-004"), {}, "is it a region"),
        (("id", "key", "bkt"), {"api_url": "ftp://x.example"}, "api_url"),
        (("id", "key", "bkt", 10, 3, 0), {}, "read_timeout"),
    ],
)
def test_b2session_misplaced_arguments_fail_at_construction(
    args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        B2Session(*args, **kwargs)  # type: ignore[arg-type]


def test_b2_key_restricted_to_one_bucket_needs_no_bucket(
    b2server: B2TestServer, b2: B2Session
) -> None:
    b2.put_object("inside.txt", b"in")
    app_key = b2.create_app_key(
        ["listBuckets", "listFiles", "readFiles", "writeFiles", "deleteFiles"],
        "restricted", bucket=b2.bucket,
    )  # fmt: skip
    clear_auth_cache()
    session = B2Session(app_key.application_key_id, app_key.application_key,
                        api_url=b2server.api_url, **FAST_RETRY)  # fmt: skip
    assert session.bucket is None  # nothing sent yet
    assert session.get_object("inside.txt").data == b"in"
    assert session.bucket == b2.bucket
    session.put_object("written.txt", b"w")
    assert sorted(i["key"] for i in session.list_objects()) == ["inside.txt", "written.txt"]
    # an unrestricted key still needs a bucket
    clear_auth_cache()
    c = b2.credentials.get()
    assert c is not None
    unrestricted = B2Session(c.access_key, c.secret_key, api_url=b2server.api_url)
    with pytest.raises(ValueError, match="no default bucket"):
        unrestricted.get_object("inside.txt")


# --- listings ----------------------------------------------------------------------------------


def test_max_keys_sizes_pages_and_every_key_is_listed(backend: Session) -> None:
    keys = [f"logs/{i:04d}" for i in range(250)]
    _put_many(backend, keys)
    # s3func: list_objects(prefix, start_after, delimiter, max_keys); iter_objects() is all
    resp = backend.list_objects(prefix="logs/", max_keys=100)
    assert resp.status == 200 and resp.error is None
    assert [obj["key"] for obj in resp.iter_objects()] == keys
    assert [len(page.items) for page in resp.pages()] == [100, 100, 50]
    positional = backend.list_objects("logs/", "logs/0199", None, 30)
    assert [obj["key"] for obj in positional.iter_objects()] == keys[200:]
    # the total cap has its own name
    assert len(list(backend.list_objects("logs/", max_keys=100, limit=120))) == 120
    assert len(list(backend.list_objects("logs/", limit=7))) == 7
    versions = backend.list_object_versions("logs/", None, None, 100)
    assert len(list(versions.iter_objects())) == 250
    with pytest.raises(ValueError, match="page size"):
        backend.list_objects("logs/", max_keys=0)


# --- deletes ----------------------------------------------------------------------------------


@pytest.fixture
def versioned(moto: MotoServer) -> Iterator[S3Session]:
    """An S3Session on moto with a fresh versioned bucket with object lock (legal holds)."""
    session = S3Session("AKIDMOTO", "moto-secret", new_bucket_name(), moto.endpoint_url,
                        **FAST_RETRY)  # fmt: skip
    assert session.bucket is not None
    session.create_bucket(session.bucket, object_lock=True)
    yield session
    session.close()


def test_delete_object_and_copy_object_positional(versioned: S3Session) -> None:
    v1 = versioned.put_object("doc.txt", b"one")
    v2 = versioned.put_object("doc.txt", b"two")
    # copy_object(source_key, dest_key, source_version_id, source_bucket, dest_bucket,
    #             metadata, content_type)
    copied = versioned.copy_object("doc.txt", "restored.txt", v1.version_id, None, None,
                                   {"restored": "yes"}, "text/plain")  # fmt: skip
    assert copied.status == 200
    head = versioned.head_object("restored.txt")
    assert versioned.get_object("restored.txt").data == b"one"
    assert head.metadata == {"restored": "yes"} and head.content_type == "text/plain"
    # delete_object(key, version_id) deletes exactly that version
    versioned.delete_object("doc.txt", v2.version_id)
    assert versioned.get_object("doc.txt").data == b"one"
    assert [v["version_id"] for v in versioned.list_object_versions("doc.txt")] == [v1.version_id]


def test_get_head_put_object_positional(versioned: S3Session) -> None:
    # put_object(key, obj, metadata, content_type)
    v1 = versioned.put_object("data.csv", b"a,b\n1,2\n", {"source": "s1"}, "text/csv")
    versioned.put_object("data.csv", b"newer")
    # get_object(key, version_id, range_start, range_end) and head_object(key, version_id)
    part = versioned.get_object("data.csv", v1.version_id, 0, 2)
    assert part.data == b"a,b"
    head = versioned.head_object("data.csv", v1.version_id)
    assert head.metadata == {"source": "s1"} and head.content_type == "text/csv"
    assert head.content_length == 8
    assert versioned.get_object("data.csv").data == b"newer"


def test_b2_get_head_put_object_positional(b2: B2Session) -> None:
    b2.put_object("data.csv", b"a,b\n1,2\n", {"source": "s1"}, "text/csv")
    head = b2.head_object("data.csv")
    assert head.metadata == {"source": "s1"} and head.content_type == "text/csv"
    assert b2.get_object("data.csv", head.version_id, 4, 6).data == b"1,2"


def test_delete_objects_keys_prefix_and_purge(versioned: S3Session) -> None:
    for key in ("a", "b", "c", "dir/x", "dir/y"):
        versioned.put_object(key, b"1")
        versioned.put_object(key, b"2")
    # keys as strings and as {'key', 'version_id'} dicts
    b_versions = [dict(v) for v in versioned.list_object_versions("b")]
    assert versioned.delete_objects(["a"]).ok  # not purged: a delete marker, versions kept
    assert len(list(versioned.list_object_versions("a"))) == 3
    versioned.delete_objects([{"key": v["key"], "version_id": v["version_id"]}
                              for v in b_versions])  # fmt: skip
    assert list(versioned.list_object_versions("b")) == []
    # purge: every version of each key given
    versioned.delete_objects(["a", "c"], purge=True)
    assert list(versioned.list_object_versions("a")) == []
    assert list(versioned.list_object_versions("c")) == []
    # prefix, purged
    result = versioned.delete_objects(prefix="dir/", purge=True)
    assert len(result.deleted) == 4
    assert list(versioned.list_object_versions()) == []
    with pytest.raises(ValueError, match="either keys or prefix"):
        versioned.delete_objects(["a"], prefix="dir/")


def test_delete_objects_tries_every_batch_then_names_failures(versioned: S3Session) -> None:
    import base64
    import hashlib

    keys = [f"k/{i:04d}" for i in range(1003)]
    _put_many(versioned, keys[1:])
    md5 = base64.b64encode(hashlib.md5(b"held").digest()).decode()  # noqa: S324
    held = versioned.put_object(
        keys[0], b"held", headers={"x-amz-object-lock-legal-hold": "ON", "Content-MD5": md5}
    )
    versions = list(versioned.list_object_versions("k/"))  # listing dicts, version ids in
    assert len(versions) == 1003 and versions[0]["key"] == keys[0]
    with pytest.raises(s3lite.DeleteObjectsError, match="k/0000") as info:
        versioned.delete_objects(versions)
    assert [e["key"] for e in info.value.result.errors] == [keys[0]]
    # the failure was in the first batch of 1000; the second batch was deleted anyway
    remaining = [v["key"] for v in versioned.list_object_versions("k/")]
    assert remaining == [keys[0]]
    assert versioned.get_object(keys[0], version_id=held.version_id).data == b"held"
    versioned.put_object(
        keys[0], b"x", headers={"x-amz-object-lock-legal-hold": "OFF", "Content-MD5": md5}
    )  # a later version; the held one stays held (moto keeps it)


def test_a_failed_batch_does_not_stop_the_next(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    from faultproxy import ErrorResponse, FaultProxy

    keys = [f"b/{i:04d}" for i in range(1001)]
    _put_many(s3, keys)
    with FaultProxy("127.0.0.1", seaweed.s3_port) as proxy:
        session = S3Session(seaweed.access_key, seaweed.secret_key, s3.bucket, proxy.url,
                            max_attempts=1)  # fmt: skip
        proxy.add(ErrorResponse(500, "InternalError"), method="POST", query_contains="delete")
        with pytest.raises(s3lite.DeleteObjectsError, match="1000 key") as info:
            session.delete_objects(keys)
        assert isinstance(info.value.__cause__, s3lite.InternalError)  # the batch's own error
        assert {e["code"] for e in info.value.result.errors} == {"InternalError"}
        assert [i["key"] for i in s3.list_objects("b/")] == keys[:1000]  # the second went
        with pytest.raises(s3lite.NoSuchBucket):  # no bucket: nothing to go on with
            session.delete_objects(["x"], bucket="no-such-bucket-s3lite")
        session.close()


def test_b2_delete_objects_failures_raised_after_all_keys(
    b2: B2Session, b2server: B2TestServer
) -> None:
    for key in ("a", "b", "c"):
        b2.put_object(key, b"1")
        b2.put_object(key, b"2")
    b2server.inject(403, "access_denied", operation="b2_delete_file_version")
    with pytest.raises(s3lite.DeleteObjectsError, match="access_denied") as info:
        b2.delete_objects(["a", "b", "c"])
    assert len(info.value.result.errors) == 1
    left = {v["key"] for v in b2.list_object_versions()}
    assert len(left) == 1  # the other two keys: every version deleted
    # purge=False hides the names: the versions stay
    b2.delete_objects(prefix="", purge=False)
    assert list(b2.list_objects()) == []
    assert len([v for v in b2.list_object_versions() if not v["delete_marker"]]) >= 1


# --- responses ---------------------------------------------------------------------------------


def test_response_attributes_s3func_callers_read(backend: Session) -> None:
    put = backend.put_object("data.csv", b"col1,col2\n1,2", metadata={"processed": "false"})
    assert put.status == 200 and put.error is None
    head = backend.head_object("data.csv")
    assert head.metadata["processed"] == "false"
    resp = backend.get_object("data.csv")
    assert resp.status == 200 and resp.error is None
    assert resp.stream.read(4) == b"col1"
    assert resp.stream.read() == b",col2\n1,2"
    resp.close()
    assert backend.get_object("data.csv", stream=False).data == b"col1,col2\n1,2"
    # failures raise typed errors instead of returning resp.error
    with pytest.raises(s3lite.NoSuchKey):
        backend.get_object("missing.csv")
    body = io.BytesIO(b"streamed")
    backend.put_object("from-file", body)
    assert backend.get_object("from-file").data == b"streamed"
