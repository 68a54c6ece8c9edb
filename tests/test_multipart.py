"""MultipartUpload, upload_file/download_file and multipart copy against SeaweedFS."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

import s3lite
from conftest import FAST_RETRY, PEAK_RSS, both_flavours
from faultproxy import ErrorResponse, FaultProxy, ResetMidBody
from s3lite import S3Session
from s3lite.devserver import LocalSeaweedFS
from s3lite.multipart import MultipartUpload, PartResult, plan_part_size

#: Every test here runs on the sync session and on the async one (conftest.both_flavours): on
#: the async one, `MultipartUpload` is the async engine behind a sync facade.
flavour = both_flavours()

MiB = 1024 * 1024


def _data(n: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(seed.to_bytes(4, "big")).digest() * (MiB // 32)
    return (block * (n // MiB + 1))[:n]


def _md5_of_parts(data: bytes, part_size: int) -> str:
    pieces = [data[i : i + part_size] for i in range(0, len(data), part_size)]
    digests = [hashlib.md5(p).digest() for p in pieces]  # noqa: S324
    return hashlib.md5(b"".join(digests)).hexdigest() + f"-{len(digests)}"  # noqa: S324


def _uploads(s3: S3Session) -> list[dict]:
    return list(s3.list_multipart_uploads())


# --- the engine -------------------------------------------------------------------------------


def test_minis3_form_with_a_path(s3: S3Session, tmp_path) -> None:
    data = _data(21 * MiB + 3)
    path = tmp_path / "large_video.mp4"
    path.write_bytes(data)
    with MultipartUpload(s3, str(path), "videos/large_video.mp4", bucket=s3.bucket) as uploader:
        assert uploader.upload_id
    assert uploader.completed is not None
    assert uploader.completed.etag == _md5_of_parts(data, 8 * MiB)
    assert [p.size for p in uploader.parts] == [8 * MiB, 8 * MiB, 5 * MiB + 3]
    got = s3.get_object("videos/large_video.mp4")
    assert got.data == data and got.content_type == "video/mp4"
    assert _uploads(s3) == []


def test_plain_object_api_and_metadata(s3: S3Session) -> None:
    up = MultipartUpload(
        s3, key="manual", part_size=5 * MiB, metadata={"origin": "test"}, content_type="a/b"
    )
    up.start()
    first, second = _data(5 * MiB, 1), _data(1000, 2)
    up.upload_part(2, second)  # parts may arrive in any order
    up.upload_part(1, first)
    assert [p.number for p in up.parts] == [1, 2]
    response = up.complete()
    assert response.etag == _md5_of_parts(first + second, 5 * MiB)
    head = s3.head_object("manual")
    assert head.metadata == {"origin": "test"} and head.content_type == "a/b"
    assert s3.get_object("manual").data == first + second
    with pytest.raises(ValueError, match="missing"):
        gap = MultipartUpload(s3, key="gap")
        gap.start()
        gap.upload_part(2, b"x")
        try:
            gap.complete()
        finally:
            gap.abort()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(bytes, id="bytes"),
        pytest.param(io.BytesIO, id="file"),
        pytest.param(lambda d: (d[i : i + 100_000] for i in range(0, len(d), 100_000)), id="gen"),
    ],
)
def test_sources(s3: S3Session, make) -> None:
    data = _data(12 * MiB + 1, 3)
    MultipartUpload(s3, make(data), "src", part_size=5 * MiB).upload()
    assert s3.get_object("src").data == data


def test_unknown_size_generator_is_cut_as_data_arrives(s3: S3Session) -> None:
    produced = []

    def gen() -> Iterator[bytes]:
        for i in range(30):
            produced.append(i)
            yield _data(MiB, i)

    up = MultipartUpload(s3, gen(), "unknown", part_size=5 * MiB, concurrency=2)
    up.upload()
    assert [p.size for p in up.parts] == [5 * MiB] * 6
    expected = b"".join(_data(MiB, i) for i in range(30))
    assert s3.get_object("unknown").data == expected


def test_exception_in_block_aborts(s3: S3Session) -> None:
    up = MultipartUpload(s3, _data(11 * MiB), "aborted", part_size=5 * MiB)
    with pytest.raises(RuntimeError, match="boom"), up:
        up.upload_part(1, _data(5 * MiB))
        raise RuntimeError("boom")
    assert up.aborted and _uploads(s3) == []
    with pytest.raises(s3lite.NoSuchKey):
        s3.head_object("aborted")


@pytest.mark.sync_only(
    "a KeyboardInterrupt from a sync source; on asyncio, cancelling the task is the counterpart"
)
def test_keyboard_interrupt_in_the_source_aborts(s3: S3Session) -> None:
    def gen() -> Iterator[bytes]:
        for i in range(4):
            yield _data(5 * MiB, i)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        MultipartUpload(s3, gen(), "interrupted", part_size=5 * MiB).upload()
    assert _uploads(s3) == []


def test_failed_part_aborts_and_raises(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    with FaultProxy("127.0.0.1", seaweed.s3_port) as proxy:
        session = S3Session(
            seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=s3.bucket,
            **FAST_RETRY,
        )  # fmt: skip
        proxy.add(ErrorResponse(400, "InvalidArgument", "bad part"), query_contains="partNumber=3",
                  times=None)  # fmt: skip
        with pytest.raises(s3lite.InvalidArgument):
            MultipartUpload(session, _data(30 * MiB), "fails", part_size=5 * MiB).upload()
    assert _uploads(s3) == []


def test_transient_part_failures_are_retried(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    with FaultProxy("127.0.0.1", seaweed.s3_port) as proxy:
        session = S3Session(
            seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=s3.bucket,
            **FAST_RETRY,
        )  # fmt: skip
        proxy.add(ErrorResponse(503, "SlowDown"), query_contains="partNumber=2", times=2)
        proxy.add(ResetMidBody(10), query_contains="partNumber=4", times=1)
        data = _data(26 * MiB, 9)
        MultipartUpload(session, data, "retried", part_size=5 * MiB).upload()
        assert len(proxy.fired) == 3
    assert s3.get_object("retried").data == data


def test_part_checksums_are_verified_by_the_server(s3: S3Session) -> None:
    upload_id = s3.multipart_backend.start(
        s3.bucket, "crc", metadata=None, content_type=None, headers=None
    )  # type: ignore[arg-type]
    with pytest.raises(s3lite.BadDigest):
        s3.request(
            "PUT", "crc", {"x-amz-checksum-crc32": "AAAAAA=="},
            [("partNumber", "1"), ("uploadId", upload_id)], b"not matching",
        )  # fmt: skip
    s3.multipart_backend.abort(s3.bucket, "crc", upload_id)  # type: ignore[arg-type]


def test_composite_etag_mismatch_is_detected(s3: S3Session) -> None:
    up = MultipartUpload(s3, key="etag", part_size=5 * MiB)
    up.start()
    up.upload_part(1, _data(5 * MiB))
    response = up.complete()
    wrong = [PartResult(1, 5 * MiB, etag="0" * 32)]
    with pytest.raises(s3lite.ChecksumMismatch):
        s3.multipart_backend.verify(response, wrong)


@pytest.mark.sync_only("checks the sync classes; test_aio_s3 checks the async ones")
def test_the_backend_is_a_public_object_of_the_session() -> None:
    """`multipart_backend` is one object per session while held; its limits are the
    session's, read live; it keeps the session alive, not the other way round (no cycle);
    a tinys3 Connection (and Pool) hands over its session's backend."""
    import gc
    import weakref

    from s3lite.multipart import backend_of
    from s3lite.s3_multipart import S3MultipartBackend

    session = S3Session("id", "key", "bucket-name", endpoint_url="http://127.0.0.1:9")
    backend = session.multipart_backend
    assert isinstance(backend, S3MultipartBackend) and session.multipart_backend is backend
    assert backend_of(session) is backend
    assert backend.bucket(None) == "bucket-name" and backend.bucket("other") == "other"
    session.multipart_min_part_size = 7 * MiB
    assert backend.multipart_min_part_size == 7 * MiB
    assert backend.multipart_max_parts == session.multipart_max_parts == 10_000
    part = PartResult(1, 3, etag=hashlib.md5(b"abc").hexdigest())  # noqa: S324
    assert backend.expected_etag([part]) == _md5_of_parts(b"abc", 3)
    conn = s3lite.Connection("id", "key", tls=False, endpoint="127.0.0.1:9")
    assert backend_of(conn) is conn.session.multipart_backend
    with s3lite.Pool("id", "key", tls=False, endpoint="127.0.0.1:9") as pool:
        assert backend_of(pool) is pool.connection.session.multipart_backend
    with pytest.raises(TypeError, match="cannot do multipart"):
        backend_of(object())
    gc.disable()
    try:
        alive = weakref.ref(session)
        del session
        assert alive() is not None  # the backend holds it
        del backend
        assert alive() is None  # freed at once, without the cycle collector
    finally:
        gc.enable()


# --- part sizes ------------------------------------------------------------------------------


def test_part_size_limits_fail_before_any_request(s3: S3Session) -> None:
    before = len(_uploads(s3))
    with pytest.raises(ValueError, match="below the minimum"):
        MultipartUpload(s3, _data(12 * MiB), "k", part_size=MiB)
    with pytest.raises(ValueError, match="above the maximum"):
        MultipartUpload(s3, b"x", "k", part_size=6 * 1024 * MiB)
    with pytest.raises(ValueError, match="at most 10000"):
        MultipartUpload(s3, key="k", size=60_000 * MiB, part_size=5 * MiB)
    with pytest.raises(ValueError, match="positive"):
        MultipartUpload(s3, b"x", "k", part_size=0)
    with pytest.raises(ValueError, match="concurrency"):
        MultipartUpload(s3, b"x", "k", concurrency=0)
    assert len(_uploads(s3)) == before


def test_automatic_part_size(s3: S3Session) -> None:
    assert plan_part_size(None, None, s3) == 8 * MiB
    assert plan_part_size(100 * MiB, None, s3) == 8 * MiB
    big = 200 * 1024**3  # 200 GiB needs parts of more than 20 MiB
    size = plan_part_size(big, None, s3)
    assert -(-big // size) <= 10_000 and size % MiB == 0 and size >= 5 * MiB
    with pytest.raises(ValueError, match="do not fit"):
        plan_part_size(10_000 * 6 * 1024**3, None, s3)
    assert plan_part_size(3, 1000, s3) == 1000  # one small last part is fine


# --- resume ----------------------------------------------------------------------------------

KILLED_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from s3lite import S3Session
    from s3lite.multipart import MultipartUpload
    s = S3Session(os.environ["T_AK"], os.environ["T_SK"], endpoint_url=os.environ["T_URL"],
                  bucket=os.environ["T_BUCKET"])
    def progress(done, total):
        if done >= 3 * 5 * 1024 * 1024:
            os.kill(os.getpid(), signal.SIGKILL)
    up = MultipartUpload(s, sys.argv[1], "resumed", part_size=5 * 1024 * 1024, concurrency=1,
                         progress=progress)
    up.start()
    print(up.upload_id, flush=True)
    up.upload()
    """
)


@pytest.mark.sync_only("the upload killed is a sync one, in a child process")
def test_resume_after_a_killed_upload(seaweed: LocalSeaweedFS, s3: S3Session, tmp_path) -> None:
    data = _data(33 * MiB + 7, 5)
    path = tmp_path / "src.bin"
    path.write_bytes(data)
    env = dict(os.environ, T_AK=seaweed.access_key, T_SK=seaweed.secret_key,
               T_URL=seaweed.endpoint_url, T_BUCKET=str(s3.bucket))  # fmt: skip
    child = subprocess.run(
        [sys.executable, "-c", KILLED_CHILD, str(path)], env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL
    upload_id = child.stdout.strip()
    [pending] = _uploads(s3)
    assert pending["upload_id"] == upload_id and pending["key"] == "resumed"
    already = s3.multipart_backend.list_parts(s3.bucket, "resumed", upload_id)  # type: ignore[arg-type]
    assert 3 <= len(already) < 7

    with FaultProxy("127.0.0.1", seaweed.s3_port) as proxy:
        session = S3Session(
            seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=s3.bucket
        )
        response = MultipartUpload.resume(session, "resumed", upload_id, str(path))
        sent = [t for m, t in proxy.requests if m == "PUT" and "partNumber=" in t]
    assert len(sent) == 7 - len(already)  # only the missing parts went up
    assert response.etag == _md5_of_parts(data, 5 * MiB)
    assert s3.get_object("resumed").data == data
    assert _uploads(s3) == []


def test_resume_resends_parts_that_differ(s3: S3Session) -> None:
    data = _data(15 * MiB, 6)
    up = MultipartUpload(s3, key="differs", part_size=5 * MiB)
    up.start()
    up.upload_part(1, data[: 5 * MiB])
    up.upload_part(2, b"\0" * (5 * MiB))  # not what the source holds
    assert up.upload_id is not None
    MultipartUpload.resume(s3, "differs", up.upload_id, data)
    assert s3.get_object("differs").data == data
    with pytest.raises(ValueError, match="seekable"):
        up2 = MultipartUpload(s3, key="gen", part_size=5 * MiB)
        up2.start()
        assert up2.upload_id is not None
        try:
            MultipartUpload.resume(s3, "gen", up2.upload_id, iter([b"x"]))
        finally:
            up2.abort()


# --- housekeeping ------------------------------------------------------------------------------


def test_list_and_abort_multipart_uploads(s3: S3Session) -> None:
    ids = []
    for key in ("old/a", "old/b", "new/c"):
        up = MultipartUpload(s3, key=key)
        ids.append(up.start())
    listed = _uploads(s3)
    assert {u["key"] for u in listed} == {"old/a", "old/b", "new/c"}
    assert all(u["initiated"].tzinfo is not None for u in listed)
    assert sorted(u["key"] for u in s3.list_multipart_uploads("old/")) == ["old/a", "old/b"]
    assert s3.abort_multipart_uploads("old/", older_than=3600) == 0  # too young
    assert s3.abort_multipart_uploads("old/") == 2
    assert [u["key"] for u in _uploads(s3)] == ["new/c"]
    assert s3.abort_multipart_uploads() == 1 and _uploads(s3) == []


# --- upload_file / download_file -----------------------------------------------------------------


def test_upload_file_small_and_large(s3: S3Session, tmp_path) -> None:
    small, large = _data(100_000, 1), _data(20 * MiB + 5, 2)
    (tmp_path / "small").write_bytes(small)
    (tmp_path / "large").write_bytes(large)
    calls: list[tuple[int, int | None]] = []
    r1 = s3.upload_file(tmp_path / "small", "small", progress=lambda d, t: calls.append((d, t)))
    assert "-" not in (r1.etag or "")  # one PUT
    assert calls[-1] == (100_000, 100_000)
    calls.clear()
    r2 = s3.upload_file(
        str(tmp_path / "large"), "large", metadata={"m": "1"},
        progress=lambda d, t: calls.append((d, t)),
    )  # fmt: skip
    assert r2.etag == _md5_of_parts(large, 8 * MiB)
    assert calls[-1] == (len(large), len(large))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert s3.get_object("large").data == large and s3.head_object("large").metadata == {"m": "1"}
    with open(tmp_path / "large", "rb") as f:
        s3.upload_file(f, "from-file")
    assert s3.get_object("from-file").data == large


def test_upload_file_from_a_pipe(s3: S3Session) -> None:
    for size in (1000, 12 * MiB):
        data = _data(size, 4)
        read_fd, write_fd = os.pipe()

        def feed(fd: int = write_fd, payload: bytes = data) -> None:
            with os.fdopen(fd, "wb") as w:
                w.write(payload)

        writer = threading.Thread(target=feed)
        writer.start()
        with os.fdopen(read_fd, "rb") as pipe:
            s3.upload_file(pipe, f"pipe-{size}")
        writer.join()
        assert s3.get_object(f"pipe-{size}").data == data


@pytest.mark.parametrize("kind", ["single-part", "multipart"])
def test_download_file_parallel_and_verified(s3: S3Session, tmp_path, kind: str) -> None:
    data = _data(30 * MiB + 11, 7)
    if kind == "single-part":
        s3.put_object("dl", data)
        assert "-" not in (s3.head_object("dl").etag or "")
    else:
        MultipartUpload(s3, data, "dl", part_size=6 * MiB).upload()
    calls: list[int] = []
    dest = tmp_path / "out.bin"
    head = s3.download_file("dl", dest, part_size=5 * MiB, progress=lambda d, t: calls.append(d))
    assert dest.read_bytes() == data and head.content_length == len(data)
    assert calls[-1] == len(data) and calls == sorted(calls)
    assert len(calls) < 60  # throttled to ~10 a second plus the final call
    assert os.listdir(tmp_path) == ["out.bin"]  # no temporary file left
    buf = io.BytesIO(b"prefix:")
    buf.seek(7)
    s3.download_file("dl", buf, part_size=5 * MiB)
    assert buf.getvalue() == b"prefix:" + data and buf.tell() == 7 + len(data)


def test_download_file_to_a_non_seekable_sink(s3: S3Session) -> None:
    data = _data(25 * MiB, 8)
    MultipartUpload(s3, data, "pipe", part_size=5 * MiB).upload()
    read_fd, write_fd = os.pipe()
    received = hashlib.sha256()

    def drain() -> None:
        with os.fdopen(read_fd, "rb") as r:
            while chunk := r.read(MiB):
                received.update(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    with os.fdopen(write_fd, "wb") as w:
        s3.download_file("pipe", w, part_size=4 * MiB, concurrency=3)
    reader.join()
    assert received.hexdigest() == hashlib.sha256(data).hexdigest()


def test_download_file_small_and_empty(s3: S3Session, tmp_path) -> None:
    s3.put_object("small", b"tiny")
    s3.put_object("empty", b"")
    s3.download_file("small", tmp_path / "small")
    s3.download_file("empty", tmp_path / "empty")
    assert (tmp_path / "small").read_bytes() == b"tiny"
    assert (tmp_path / "empty").read_bytes() == b""
    with pytest.raises(s3lite.NoSuchKey):
        s3.download_file("missing", tmp_path / "missing")
    assert not (tmp_path / "missing").exists()


def test_broken_range_downloads_resume(seaweed: LocalSeaweedFS, s3: S3Session, tmp_path) -> None:
    data = _data(24 * MiB, 10)
    s3.put_object("broken", data)
    with FaultProxy("127.0.0.1", seaweed.s3_port) as proxy:
        session = S3Session(
            seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=s3.bucket,
            **FAST_RETRY,
        )  # fmt: skip
        proxy.add(ResetMidBody(1_500_000), method="GET", times=3)
        session.download_file("broken", tmp_path / "broken", part_size=6 * MiB)
        assert len(proxy.fired) == 3
    assert (tmp_path / "broken").read_bytes() == data


def test_object_changed_during_download(seaweed, s3: S3Session, tmp_path) -> None:
    s3.put_object("moving", _data(24 * MiB, 11))
    (tmp_path / "moving").write_bytes(b"previous content")
    with FaultProxy("127.0.0.1", seaweed.s3_port) as proxy:
        session = S3Session(
            seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=s3.bucket,
            **FAST_RETRY,
        )  # fmt: skip
        original_get = session.get_object
        replaced = threading.Event()

        def get_and_replace(*args, **kwargs):  # the object changes after the first range
            resp = original_get(*args, **kwargs)
            if not replaced.is_set():
                replaced.set()
                s3.put_object("moving", _data(24 * MiB, 12))
            return resp

        session.get_object = get_and_replace  # type: ignore[method-assign]
        with pytest.raises((s3lite.PreconditionFailed, s3lite.ObjectChanged)):
            session.download_file("moving", tmp_path / "moving", part_size=6 * MiB, concurrency=1)
    assert (tmp_path / "moving").read_bytes() == b"previous content"  # untouched
    assert os.listdir(tmp_path) == ["moving"]


# --- multipart copy ----------------------------------------------------------------------------


def test_copy_in_parts(s3: S3Session) -> None:
    data = _data(17 * MiB + 3, 13)
    s3.put_object("src", data, metadata={"a": "1"}, content_type="x/y", cache_control="no-cache")
    response = s3.copy_object("src", "dst", multipart_threshold=10 * MiB, part_size=5 * MiB)
    # (SeaweedFS's UploadPartCopy ETags are not the parts' MD5s, so only the form is checked)
    assert response.etag is not None and response.etag.endswith("-4")
    head = s3.head_object("dst")
    assert head.metadata == {"a": "1"} and head.content_type == "x/y"
    assert head.headers.get("cache-control") == "no-cache"
    assert s3.get_object("dst").data == data
    s3.copy_object("src", "dst2", multipart_threshold=10 * MiB, part_size=5 * MiB,
                   metadata={"b": "2"})  # fmt: skip
    assert s3.head_object("dst2").metadata == {"b": "2"}
    assert _uploads(s3) == []


def test_copy_falls_back_to_parts_when_the_server_says_too_large(seaweed, s3: S3Session) -> None:
    data = _data(11 * MiB, 14)
    s3.put_object("src", data)
    with FaultProxy("127.0.0.1", seaweed.s3_port) as proxy:
        session = S3Session(
            seaweed.access_key, seaweed.secret_key, endpoint_url=proxy.url, bucket=s3.bucket
        )
        message = (
            "The specified copy source is larger than the maximum allowable size for a copy "
            "source: 5368709120"
        )
        proxy.add(ErrorResponse(400, "InvalidRequest", message), method="PUT", times=1)
        session.copy_object("src", "dst", part_size=5 * MiB)
        assert len([t for m, t in proxy.requests if "partNumber=" in t]) == 3
    assert s3.get_object("dst").data == data


# --- 1 GiB in bounded memory ---------------------------------------------------------------------

GIB_CHILD = textwrap.dedent(
    """
    import hashlib, json, os, sys, time
    from s3lite import S3Session
    s = S3Session(os.environ["T_AK"], os.environ["T_SK"], endpoint_url=os.environ["T_URL"],
                  bucket=os.environ["T_BUCKET"])
    src, dst = sys.argv[1], sys.argv[2]
    t = time.perf_counter()
    s.upload_file(src, "gib")
    up = time.perf_counter() - t
    peak_up = peak_rss_mib()
    t = time.perf_counter()
    s.download_file("gib", dst)
    down = time.perf_counter() - t
    h = hashlib.sha256()
    with open(dst, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    print(json.dumps({"sha256": h.hexdigest(), "up_s": up, "down_s": down, "peak_up": peak_up,
                      "peak_mib": peak_rss_mib()}))
    """
)


@pytest.mark.sync_only("the transfers measured run the sync API in a child process")
def test_one_gib_up_and_down_under_150_mib_rss(seaweed: LocalSeaweedFS, s3: S3Session, tmp_path):
    src, dst = tmp_path / "src.bin", tmp_path / "dst.bin"
    expected = hashlib.sha256()
    with open(src, "wb") as f:
        for i in range(1024):
            chunk = hashlib.sha256(i.to_bytes(4, "big")).digest() * (MiB // 32)
            expected.update(chunk)
            f.write(chunk)
    env = dict(os.environ, T_AK=seaweed.access_key, T_SK=seaweed.secret_key,
               T_URL=seaweed.endpoint_url, T_BUCKET=str(s3.bucket))  # fmt: skip
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", PEAK_RSS + GIB_CHILD, str(src), str(dst)], env=env,
        capture_output=True, text=True, timeout=900, check=True,
    )  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["sha256"] == expected.hexdigest()
    assert result["peak_mib"] < 150, result
    assert time.monotonic() - started < 900
    s3.delete_object("gib")
