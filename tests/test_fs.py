"""The fsspec filesystems (s3lite.fs) on SeaweedFS and the B2 test server: listings and their
cache, ranged reads, buffered files, transfers, copies, deletes, buckets, signing, pickling and
registration."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import os
import pickle
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
import urllib3

from b2server import B2TestServer
from conftest import new_bucket_name
from s3lite.devserver import LocalSeaweedFS
from s3lite.fs import B2LiteFileSystem, S3LiteFileSystem, register_s3

ROOT = Path(__file__).resolve().parent.parent


def options(seaweed: LocalSeaweedFS, **extra: Any) -> dict[str, Any]:
    """s3fs-style storage options for the test server."""
    return {
        "key": seaweed.access_key,
        "secret": seaweed.secret_key,
        "client_kwargs": {"endpoint_url": seaweed.endpoint_url, "region_name": "us-east-1"},
        **extra,
    }


@pytest.fixture
def fs(seaweed: LocalSeaweedFS) -> Iterator[S3LiteFileSystem]:
    """A filesystem on SeaweedFS (its own instance) with a fresh bucket in `fs.test_bucket`."""
    fs = S3LiteFileSystem(**options(seaweed), skip_instance_cache=True)
    bucket = new_bucket_name("fs")
    fs.mkdir(bucket)
    fs.test_bucket = bucket
    yield fs
    fs.rm(bucket, recursive=True)


def tree(fs: S3LiteFileSystem) -> str:
    """bucket/{a.txt, d/b.txt, d/e/c.txt, d2/x.bin}; returns the bucket."""
    b = fs.test_bucket
    fs.pipe({f"{b}/a.txt": b"a" * 10, f"{b}/d/b.txt": b"bb", f"{b}/d/e/c.txt": b"ccc"})
    fs.pipe_file(f"{b}/d2/x.bin", bytes(range(256)))
    return str(b)


def test_import_s3lite_does_not_import_fsspec() -> None:
    code = "import sys, s3lite, s3lite.s3, s3lite.b2; "
    code += "print(any(m.startswith('fsspec') for m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def test_entry_points_serve_s3lite_urls(fs: S3LiteFileSystem, seaweed: LocalSeaweedFS) -> None:
    b = fs.test_bucket
    assert fsspec.get_filesystem_class("s3lite") is S3LiteFileSystem
    assert fsspec.get_filesystem_class("b2lite") is B2LiteFileSystem
    other = fsspec.filesystem("s3lite", **options(seaweed))
    assert isinstance(other, S3LiteFileSystem)
    with fsspec.open(f"s3lite://{b}/hello.txt", "wt", **options(seaweed)) as f:
        f.write("héllo")
    with fsspec.open(f"s3lite://{b}/hello.txt", "rt", encoding="utf-8", **options(seaweed)) as f:
        assert f.read() == "héllo"
    assert other.unstrip_protocol(f"{b}/hello.txt") == f"s3lite://{b}/hello.txt"
    # endpoint_url spelt at the top level works the same
    plain = S3LiteFileSystem(
        key=seaweed.access_key,
        secret=seaweed.secret_key,
        endpoint_url=seaweed.endpoint_url,
        skip_instance_cache=True,
    )
    assert plain.cat_file(f"{b}/hello.txt") == "héllo".encode()


def test_ls_info_find_glob_walk_du(fs: S3LiteFileSystem) -> None:
    b = tree(fs)
    assert fs.ls(b, detail=False) == [f"{b}/a.txt", f"{b}/d", f"{b}/d2"]
    entries = {e["name"]: e for e in fs.ls(b)}
    assert entries[f"{b}/a.txt"]["type"] == "file" and entries[f"{b}/a.txt"]["size"] == 10
    assert entries[f"{b}/d"]["type"] == "directory"
    assert fs.ls(f"s3lite://{b}/d/", detail=False) == [f"{b}/d/b.txt", f"{b}/d/e"]
    assert fs.ls(f"{b}/a.txt", detail=False) == [f"{b}/a.txt"]  # a file lists as itself
    assert b in fs.ls("", detail=False)
    with pytest.raises(FileNotFoundError):
        fs.ls(f"{b}/missing")

    fs.invalidate_cache()
    assert fs.info(f"{b}/d")["type"] == "directory"  # a prefix with objects under it
    assert fs.info(f"{b}/d/e/c.txt")["size"] == 3
    assert fs.info(b)["type"] == "directory"
    assert fs.isdir(f"{b}/d/e") and not fs.isdir(f"{b}/d/b.txt")
    assert fs.isfile(f"{b}/d/b.txt") and not fs.exists(f"{b}/nope")
    with pytest.raises(FileNotFoundError):
        fs.info(f"{b}/d/nope")
    with pytest.raises(FileNotFoundError):
        fs.info(new_bucket_name("missing"))

    files = [f"{b}/a.txt", f"{b}/d/b.txt", f"{b}/d/e/c.txt", f"{b}/d2/x.bin"]
    assert fs.find(b) == files
    assert fs.find(b, maxdepth=1) == [f"{b}/a.txt"]
    assert fs.find(b, maxdepth=2, withdirs=True) == [
        b, f"{b}/a.txt", f"{b}/d", f"{b}/d/b.txt", f"{b}/d/e", f"{b}/d2", f"{b}/d2/x.bin",
    ]  # fmt: skip
    assert fs.find(f"{b}/d/b.txt") == [f"{b}/d/b.txt"]
    assert fs.find(f"{b}/d", detail=True)[f"{b}/d/e/c.txt"]["size"] == 3
    assert fs.glob(f"{b}/**/*.txt") == [f"{b}/a.txt", f"{b}/d/b.txt", f"{b}/d/e/c.txt"]
    assert fs.glob(f"{b}/d/*") == [f"{b}/d/b.txt", f"{b}/d/e"]
    walked = list(fs.walk(b))
    assert walked[0] == (b, ["d", "d2"], ["a.txt"])
    assert (f"{b}/d/e", [], ["c.txt"]) in walked
    assert fs.du(b) == 10 + 2 + 3 + 256
    assert fs.du(f"{b}/d", total=False) == {f"{b}/d/b.txt": 2, f"{b}/d/e/c.txt": 3}


def test_listing_cache_is_invalidated_by_writes(fs: S3LiteFileSystem) -> None:
    b = tree(fs)
    assert fs.ls(f"{b}/d", detail=False) == [f"{b}/d/b.txt", f"{b}/d/e"]
    assert f"{b}/d" in fs.dircache
    # a write by someone else is not seen until refresh: the listing is cached
    fs.session.put_object("d/other.txt", b"x", bucket=b)
    assert f"{b}/d/other.txt" not in fs.ls(f"{b}/d", detail=False)
    assert f"{b}/d/other.txt" in fs.ls(f"{b}/d", detail=False, refresh=True)
    # find fills the listing of every directory it saw
    fs.invalidate_cache()
    fs.find(b)
    assert fs.dircache[f"{b}/d/e"] == [fs.info(f"{b}/d/e/c.txt")]
    fs.session.put_object("d/e/unseen.txt", b"x", bucket=b)
    assert fs.ls(f"{b}/d/e", detail=False) == [f"{b}/d/e/c.txt"]
    # writes through the filesystem drop the listings above them
    fs.ls(b)
    fs.pipe_file(f"{b}/d/new/deep.txt", b"n")
    assert f"{b}/d/new" in fs.ls(f"{b}/d", detail=False)
    with fs.open(f"{b}/d/w.txt", "wb") as f:
        f.write(b"w")
    assert f"{b}/d/w.txt" in fs.ls(f"{b}/d", detail=False)
    fs.cp_file(f"{b}/a.txt", f"{b}/d/copied.txt")
    assert f"{b}/d/copied.txt" in fs.ls(f"{b}/d", detail=False)
    fs.rm(f"{b}/d/w.txt")
    assert f"{b}/d/w.txt" not in fs.ls(f"{b}/d", detail=False)
    fs.rm(f"{b}/d/new", recursive=True)
    assert f"{b}/d/new/deep.txt" not in fs.find(f"{b}/d")
    fs.touch(f"{b}/top.txt")
    assert f"{b}/top.txt" in fs.ls(b, detail=False)


def test_cat_file_ranges_and_cat_ranges(fs: S3LiteFileSystem) -> None:
    b = fs.test_bucket
    data = os.urandom(300_000)
    fs.pipe_file(f"{b}/r.bin", data)
    path = f"{b}/r.bin"
    assert fs.cat_file(path) == data
    assert fs.cat_file(path, start=10, end=20) == data[10:20]
    assert fs.cat_file(path, start=-100) == data[-100:]
    assert fs.cat_file(path, start=5, end=-5) == data[5:-5]
    assert fs.cat_file(path, start=299_990, end=400_000) == data[299_990:]
    assert fs.cat_file(path, start=400_000) == b""
    assert fs.cat_file(path, start=20, end=10) == b""
    starts = list(range(0, 300_000, 3_000))
    got = fs.cat_ranges([path] * len(starts), starts, [s + 100 for s in starts])
    assert got == [data[s : s + 100] for s in starts]
    # overlapping, adjacent, repeated, empty and far-apart ranges, out of order
    odd = [(5000, 9000), (0, 10), (8000, 8100), (10, 20), (10, 20), (7, 7), (250_000, 260_000)]
    got = fs.cat_ranges([path] * len(odd), [s for s, _ in odd], [e for _, e in odd])
    assert got == [data[s:e] for s, e in odd]
    # ranges of one object close together are fetched in one GET
    calls: list[tuple[Any, ...]] = []
    plain_cat_file = fs.cat_file

    def counting(*args: Any, **kwargs: Any) -> bytes:
        calls.append(args)
        return plain_cat_file(*args, **kwargs)

    fs.cat_file = counting  # type: ignore[method-assign]
    try:
        near = [(0, 100), (200, 300), (1000, 1100), (290_000, 290_100)]
        got = fs.cat_ranges([path] * 4, [s for s, _ in near], [e for _, e in near])
        assert got == [data[s:e] for s, e in near]
        assert len(calls) == 2
        calls.clear()
        fs.cat_ranges([path] * 2, [0, 200], [100, 300], max_gap=0)
        assert len(calls) == 2
    finally:
        del fs.cat_file
    mixed = fs.cat_ranges([path, f"{b}/missing"], [0, 0], [4, 4])
    assert mixed[0] == data[:4] and isinstance(mixed[1], FileNotFoundError)
    with pytest.raises(FileNotFoundError):
        fs.cat_ranges([f"{b}/missing"], 0, 4, on_error="raise")
    fs.pipe_file(f"{b}/s.txt", b"small")
    assert fs.cat([path, f"{b}/s.txt"]) == {path: data, f"{b}/s.txt": b"small"}
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{b}/nope")


def test_open_rb_reads_blocks_with_ranged_gets(fs: S3LiteFileSystem) -> None:
    b = fs.test_bucket
    data = os.urandom(3 * 1024 * 1024 + 17)
    fs.pipe_file(f"{b}/big.bin", data)
    with fs.open(f"{b}/big.bin", "rb", block_size=256 * 1024) as f:
        assert f.size == len(data)
        assert f.read(10) == data[:10]
        f.seek(2 * 1024 * 1024)
        assert f.read(1000) == data[2 * 1024 * 1024 : 2 * 1024 * 1024 + 1000]
        f.seek(-7, 2)
        assert f.read() == data[-7:]
        # only the blocks read were fetched, not the whole object
        assert f.cache.total_requested_bytes < len(data) // 2
    with fs.open(f"{b}/big.bin", "rb", cache_type="bytes") as f:
        assert f.read() == data
    # small reads fetch a block ahead; a read of a block or more fetches just what it asks
    with fs.open(f"{b}/big.bin", "rb", block_size=1024 * 1024) as f:
        assert f.read(100) == data[:100]
        assert f.cache.total_requested_bytes == 1024 * 1024
        assert f.read(10) == data[100:110]
        assert f.cache.miss_count == 1 and f.cache.hit_count == 1
        f.seek(1024 * 1024)
        assert f.read(1500 * 1024) == data[1024 * 1024 : 2524 * 1024]
        assert f.cache.total_requested_bytes == 2524 * 1024
    # a large block is fetched as parallel ranged GETs, joined in order
    fs.parallel_read_part = 300_000
    with fs.open(f"{b}/big.bin", "rb", block_size=1024 * 1024) as f:
        f.seek(100)
        assert f.read(2 * 1024 * 1024) == data[100 : 100 + 2 * 1024 * 1024]
    with pytest.raises(FileNotFoundError):
        fs.open(f"{b}/none.bin", "rb")
    with pytest.raises(IsADirectoryError):
        fs.open(b, "rb")


def test_open_wb_multipart_and_abort_on_error(fs: S3LiteFileSystem) -> None:
    b = fs.test_bucket
    block = 5 * 1024 * 1024
    chunks = [os.urandom(1024 * 1024 + i) for i in range(12)]
    with fs.open(f"{b}/mp.bin", "wb", block_size=block) as f:
        for chunk in chunks:
            f.write(chunk)
    assert fs.cat_file(f"{b}/mp.bin") == b"".join(chunks)
    assert str(fs.info(f"{b}/mp.bin")["ETag"]).endswith("-3")  # written in three parts

    with (
        pytest.raises(RuntimeError, match="boom"),
        fs.open(f"{b}/broken.bin", "wb", block_size=block) as f,
    ):
        f.write(os.urandom(6 * 1024 * 1024))  # a part is already uploaded
        raise RuntimeError("boom")
    assert not fs.exists(f"{b}/broken.bin")
    assert list(fs.session.list_multipart_uploads(bucket=b)) == []  # aborted, no parts left

    with pytest.raises(RuntimeError, match="small"), fs.open(f"{b}/small.bin", "wb") as f:
        f.write(b"x")
        raise RuntimeError("small")
    assert not fs.exists(f"{b}/small.bin")

    with fs.open(f"{b}/x.bin", "xb") as f:
        f.write(b"first")
    with pytest.raises(FileExistsError):
        fs.open(f"{b}/x.bin", "xb")
    assert fs.cat_file(f"{b}/x.bin") == b"first"
    with pytest.raises(NotImplementedError):
        fs.open(f"{b}/x.bin", "ab")

    # a transaction makes files visible only at its end
    with fs.transaction:
        with fs.open(f"{b}/tx.bin", "wb") as f:
            f.write(b"later")
        assert not fs.exists(f"{b}/tx.bin")
    assert fs.cat_file(f"{b}/tx.bin") == b"later"


def test_failed_part_aborts_the_upload(seaweed: LocalSeaweedFS, fs: S3LiteFileSystem) -> None:
    """A part the server keeps refusing fails the write, and the upload is aborted."""
    from faultproxy import ErrorResponse, FaultProxy

    b = fs.test_bucket
    with FaultProxy("127.0.0.1", seaweed.s3_port) as proxy:
        proxied = S3LiteFileSystem(
            key=seaweed.access_key,
            secret=seaweed.secret_key,
            endpoint_url=proxy.url,
            config_kwargs={"retries": {"max_attempts": 2}},
            session_options={"backoff_base": 0.01, "max_backoff": 0.05},
            skip_instance_cache=True,
        )
        proxy.add(
            ErrorResponse(500, "InternalError"), method="PUT", query_contains="partNumber=2",
            times=None,
        )  # fmt: skip
        part = 5 * 1024 * 1024
        with (
            pytest.raises(Exception, match="InternalError"),
            proxied.open(f"{b}/failing.bin", "wb", block_size=part) as f,
        ):
            for _ in range(3):
                f.write(os.urandom(part))
        assert any(name == "ErrorResponse" for name, *_ in proxy.fired)
    assert not fs.exists(f"{b}/failing.bin")
    assert list(fs.session.list_multipart_uploads(bucket=b)) == []


def test_put_get_recursive_and_large(fs: S3LiteFileSystem, tmp_path: Path) -> None:
    b = fs.test_bucket
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "one.txt").write_bytes(b"1")
    (src / "sub" / "two.txt").write_bytes(b"22")
    big = os.urandom(9 * 1024 * 1024 + 3)  # above the multipart threshold
    (src / "sub" / "big.bin").write_bytes(big)
    fs.put(str(src), f"{b}/up", recursive=True)
    assert fs.find(f"{b}/up") == [f"{b}/up/one.txt", f"{b}/up/sub/big.bin", f"{b}/up/sub/two.txt"]
    assert "-" in str(fs.info(f"{b}/up/sub/big.bin")["ETag"])  # multipart
    dest = tmp_path / "dest"
    fs.get(f"{b}/up", str(dest), recursive=True)
    assert (dest / "one.txt").read_bytes() == b"1"
    assert (dest / "sub" / "big.bin").read_bytes() == big
    single = tmp_path / "single.bin"
    fs.get_file(f"{b}/up/sub/two.txt", str(single))
    assert single.read_bytes() == b"22"
    with pytest.raises(IsADirectoryError):  # a file onto a local directory: refused
        fs.get_file(f"{b}/up/sub/two.txt", str(dest))
    assert (dest / "one.txt").read_bytes() == b"1"
    with pytest.raises(FileNotFoundError):
        fs.get_file(f"{b}/up/none", str(tmp_path / "none"))
    assert not (tmp_path / "none").exists()


def test_cp_rm_and_buckets(fs: S3LiteFileSystem, seaweed: LocalSeaweedFS) -> None:
    b = tree(fs)
    fs.cp(f"{b}/d", f"{b}/copy", recursive=True)
    assert fs.find(f"{b}/copy") == [f"{b}/copy/b.txt", f"{b}/copy/e/c.txt"]
    assert fs.cat_file(f"{b}/copy/e/c.txt") == b"ccc"
    fs.mv(f"{b}/a.txt", f"{b}/moved.txt")
    assert not fs.exists(f"{b}/a.txt") and fs.cat_file(f"{b}/moved.txt") == b"a" * 10
    with pytest.raises(FileNotFoundError):
        fs.cp_file(f"{b}/nope", f"{b}/nope2")

    fs.pipe({f"{b}/many/{i:04d}": b"" for i in range(1005)})  # more than one delete batch
    fs.rm(f"{b}/many", recursive=True)
    assert not fs.exists(f"{b}/many")
    fs.rm(f"{b}/copy/*.txt")
    assert fs.find(f"{b}/copy") == [f"{b}/copy/e/c.txt"]

    other = new_bucket_name("mk")
    fs.mkdir(other)
    assert other in fs.ls("", detail=False)
    with pytest.raises(FileExistsError):
        fs.mkdir(other)
    fs.makedirs(f"{other}/deep/dir", exist_ok=True)  # nothing to create inside a bucket
    fs.pipe_file(f"{other}/k", b"k")
    with pytest.raises(OSError, match="not empty"):
        fs.rmdir(f"{other}/")
    fs.rm_file(f"{other}/k")
    fs.rmdir(other)
    assert other not in fs.ls("", detail=False)
    fresh = new_bucket_name("mk")
    fs.makedirs(f"{fresh}/a/b")  # creates the bucket
    assert fs.exists(fresh)
    fs.rm(fresh, recursive=True)
    assert not fs.exists(fresh)


def test_checksum_ukey_modified_sign(fs: S3LiteFileSystem) -> None:
    b = fs.test_bucket
    path = f"{b}/c.txt"
    fs.pipe_file(path, b"one")
    first = (fs.checksum(path), fs.ukey(path))
    assert first == (fs.checksum(path), fs.ukey(path))
    fs.pipe_file(path, b"two")
    assert fs.checksum(path) != first[0] and fs.ukey(path) != first[1]
    modified = fs.modified(path)
    assert modified.tzinfo is not None
    assert abs(modified - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(hours=1)
    url = fs.sign(path, expiration=60)
    assert "X-Amz-Signature=" in url
    response = urllib3.request("GET", url, timeout=30)
    assert response.status == 200 and response.data == b"two"


def test_pickle_rebuilds_the_session(fs: S3LiteFileSystem, seaweed: LocalSeaweedFS) -> None:
    b = fs.test_bucket
    fs.pipe_file(f"{b}/p.txt", b"pickled")
    fs.session  # noqa: B018 - a live session is not carried across
    blob = pickle.dumps(fs)
    copy = pickle.loads(blob)  # noqa: S301
    assert copy.cat_file(f"{b}/p.txt") == b"pickled"
    assert seaweed.secret_key not in repr(fs)
    assert seaweed.secret_key not in fs.to_json(include_password=False)
    # another process rebuilds its own session from the pickle
    code = textwrap.dedent(
        f"""
        import pickle, sys
        fs = pickle.loads(sys.stdin.buffer.read())  # noqa: S301
        sys.stdout.write(fs.cat_file({f"{b}/p.txt"!r}).decode())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=blob, capture_output=True, check=True, timeout=60
    )
    assert out.stdout == b"pickled"


def test_pickle_without_keys_carries_no_secret(
    fs: S3LiteFileSystem, seaweed: LocalSeaweedFS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials from the AWS chain are re-resolved where the pickle is loaded."""
    b = fs.test_bucket
    fs.pipe_file(f"{b}/chain.txt", b"chain")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    chain = S3LiteFileSystem(endpoint_url=seaweed.endpoint_url, skip_instance_cache=True)
    assert chain.cat_file(f"{b}/chain.txt") == b"chain"
    blob = pickle.dumps(chain)
    assert seaweed.secret_key.encode() not in blob
    code = "import pickle, sys; fs = pickle.loads(sys.stdin.buffer.read()); "
    code += f"sys.stdout.write(fs.cat_file({f'{b}/chain.txt'!r}).decode())"
    env = {**os.environ}
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=blob,
        capture_output=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert out.stdout == b"chain", out.stderr
    env.pop("AWS_SECRET_ACCESS_KEY")
    env.pop("AWS_ACCESS_KEY_ID")
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=blob,
        capture_output=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert out.returncode != 0  # no credentials there: nothing was carried in the pickle


def test_register_s3_serves_s3_urls(seaweed: LocalSeaweedFS, fs: S3LiteFileSystem) -> None:
    registry = importlib.import_module("fsspec.registry")  # the module, not its mapping
    saved = {p: registry._registry.get(p) for p in ("s3", "s3a")}
    try:
        register_s3()
        s3 = fsspec.filesystem("s3", **options(seaweed))
        assert isinstance(s3, S3LiteFileSystem)
        fs.pipe_file(f"{fs.test_bucket}/via-s3.txt", b"s3")
        with fsspec.open(f"s3://{fs.test_bucket}/via-s3.txt", "rb", **options(seaweed)) as f:
            assert f.read() == b"s3"
        assert s3.unstrip_protocol(f"{fs.test_bucket}/k") == f"s3://{fs.test_bucket}/k"
    finally:
        for protocol, value in saved.items():
            if value is None:
                registry._registry.pop(protocol, None)
            else:
                registry._registry[protocol] = value


def test_version_aware_on_moto(moto: Any) -> None:
    fs = S3LiteFileSystem(
        key="AKIDMOTO",
        secret="moto-secret",
        token="a-session-token",
        endpoint_url=moto.endpoint_url,
        version_aware=True,
        skip_instance_cache=True,
    )
    b = new_bucket_name("ver")
    fs.mkdir(b)
    fs.session.set_bucket_versioning(True, bucket=b)
    fs.pipe_file(f"{b}/v.txt", b"old")
    fs.pipe_file(f"{b}/v.txt", b"new")
    versions = fs.object_version_info(f"{b}/v.txt")
    assert len(versions) == 2
    old = next(v["version_id"] for v in versions if not v["is_latest"])
    assert fs.cat_file(f"{b}/v.txt?versionId={old}") == b"old"
    assert fs.cat_file(f"{b}/v.txt", version_id=old) == b"old"
    with fs.open(f"{b}/v.txt", "rb", version_id=old) as f:
        assert f.read() == b"old"
    assert fs.info(f"{b}/v.txt?versionId={old}")["VersionId"] == old
    assert fs.cat_file(f"{b}/v.txt") == b"new"
    fs.cp_file(f"{b}/v.txt?versionId={old}", f"{b}/restored.txt")
    assert fs.cat_file(f"{b}/restored.txt") == b"old"


def test_anonymous_reads_are_unsigned(seaweed: LocalSeaweedFS, fs: S3LiteFileSystem) -> None:
    anon = S3LiteFileSystem(anon=True, endpoint_url=seaweed.endpoint_url, skip_instance_cache=True)
    with pytest.raises(PermissionError):  # SeaweedFS checks signatures: a private bucket refuses
        anon.cat_file(f"{fs.test_bucket}/anything")
    with pytest.raises(ValueError, match="anonymous"):
        fs.pipe_file(f"{fs.test_bucket}/s.txt", b"s")
        anon.sign(f"{fs.test_bucket}/s.txt")


def test_secrets_stay_out_of_reprs_errors_and_logs(
    fs: S3LiteFileSystem, seaweed: LocalSeaweedFS, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    b = fs.test_bucket
    fs.pipe_file(f"{b}/s.txt", b"s")
    wrong = S3LiteFileSystem(
        key=seaweed.access_key,
        secret="WRONG-SECRET-7f3a9c",
        token="SESSION-TOKEN-51be0d",
        endpoint_url=seaweed.endpoint_url,
        config_kwargs={"retries": {"max_attempts": 1}},
        skip_instance_cache=True,
    )
    errors: list[BaseException] = []
    calls = [
        lambda: wrong.ls(b),
        lambda: wrong.cat_file(f"{b}/s.txt"),
        lambda: wrong.pipe_file(f"{b}/w.txt", b"w"),
        lambda: wrong.open(f"{b}/s.txt", "rb"),
    ]
    for call in calls:
        with pytest.raises(PermissionError) as info:
            call()
        errors.append(info.value)
    with fs.open(f"{b}/s.txt", "rb") as f:
        texts = [repr(f), str(f), repr(fs), str(fs), repr(wrong), caplog.text]
    texts.append(wrong.to_json(include_password=False))
    texts += ["".join(traceback.format_exception(e)) for e in errors]
    for secret in ("WRONG-SECRET-7f3a9c", "SESSION-TOKEN-51be0d", seaweed.secret_key):
        assert not any(secret in text for text in texts), secret


def test_bad_options_are_named() -> None:
    with pytest.raises(ValueError, match="key and secret"):
        S3LiteFileSystem(key="only-key", skip_instance_cache=True)
    with pytest.raises(TypeError, match="client_kwargs"):
        S3LiteFileSystem(client_kwargs={"bogus": 1}, skip_instance_cache=True)
    with pytest.raises(ValueError, match="version_aware"):
        S3LiteFileSystem(anon=True, skip_instance_cache=True).split_path("b/k?versionId=1")


def test_b2lite_filesystem(b2server: B2TestServer, b2_account: tuple[str, str]) -> None:
    from s3lite.b2 import clear_auth_cache

    clear_auth_cache()
    fs = fsspec.filesystem(
        "b2lite",
        key=b2_account[0],
        secret=b2_account[1],
        endpoint_url=b2server.api_url,
        skip_instance_cache=True,
    )
    assert isinstance(fs, B2LiteFileSystem)
    b = new_bucket_name("b2fs")
    fs.mkdir(b)
    try:
        fs.pipe({f"{b}/a.txt": b"a", f"{b}/d/b.txt": b"bb"})
        assert fs.ls(b, detail=False) == [f"{b}/a.txt", f"{b}/d"]
        assert fs.find(b) == [f"{b}/a.txt", f"{b}/d/b.txt"]
        assert fs.info(f"{b}/d")["type"] == "directory"
        assert fs.cat_file(f"{b}/d/b.txt", start=1) == b"b"
        data = os.urandom(300_000)
        with fs.open(f"{b}/big.bin", "wb", block_size=100_000) as f:
            f.write(data)
        assert fs.cat_file(f"{b}/big.bin") == data
        with fs.open(f"{b}/big.bin", "rb", block_size=50_000) as f:
            f.seek(123_456)
            assert f.read(10) == data[123_456:123_466]
        with pytest.raises(FileExistsError):
            fs.pipe_file(f"{b}/a.txt", b"again", mode="create")
        fs.cp_file(f"{b}/a.txt", f"{b}/c.txt")
        assert fs.cat_file(f"{b}/c.txt") == b"a"
        assert fs.sign(f"{b}/a.txt").startswith("http")
        fs.rm(f"{b}/d", recursive=True)
        assert not fs.exists(f"{b}/d/b.txt")
        assert pickle.loads(pickle.dumps(fs)).cat_file(f"{b}/a.txt") == b"a"  # noqa: S301
    finally:
        fs.rm(b, recursive=True)
        clear_auth_cache()
