"""s3path code runs on s3lite beyond its README: presigned URLs, versioned paths, stat
fields, the methods S3 cannot support, owner(), unlink(missing_ok=...), configuration
refusing local paths, and the documented decisions (fspath/bytes, '//', isinstance, rmdir).
Written the way s3path's users write it, against SeaweedFS and moto (versions, ACLs)."""

from __future__ import annotations

import errno
import io
import os
import pathlib
import pickle
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import urllib3

import s3lite
from s3lite import B2Session, S3Session
from s3lite.path import (
    B2Path,
    PureS3Path,
    PureVersionedS3Path,
    S3Path,
    VersionedS3Path,
    register_configuration_parameter,
)
from s3lite.path.configuration import REGISTRY


@pytest.fixture(autouse=True)
def _isolated_registry() -> Iterator[None]:
    registry = REGISTRY
    with registry._lock:
        entries, defaults = dict(registry._entries), dict(registry._defaults)
    yield
    with registry._lock:
        registry._entries, registry._defaults = entries, defaults


@pytest.fixture
def bucket(s3: S3Session) -> S3Path:
    root = S3Path(f"/{s3.bucket}")
    register_configuration_parameter(root, session=s3)
    return root


@pytest.fixture
def versioned(moto_s3: S3Session) -> S3Path:
    """A versioned bucket on moto, registered."""
    moto_s3.set_bucket_versioning(True)
    root = S3Path(f"/{moto_s3.bucket}")
    register_configuration_parameter(root, session=moto_s3)
    return root


def _get(url: str) -> bytes:
    response = urllib3.request("GET", url, timeout=30, retries=False)
    assert response.status == 200, response.data
    return response.data


def test_get_presigned_url(bucket: S3Path) -> None:
    file = bucket / "toto.txt"
    file.write_text("hello world")
    assert _get(file.get_presigned_url()) == b"hello world"
    assert _get(file.get_presigned_url(expire_in=timedelta(minutes=5))) == b"hello world"
    assert "X-Amz-Expires=60" in file.get_presigned_url(60)
    for bad in (0, -1, timedelta(seconds=0), timedelta(seconds=-5)):
        with pytest.raises(ValueError, match="negative or null"):
            file.get_presigned_url(bad)
    with pytest.raises(ValueError, match="relative path have no bucket"):
        S3Path("relative/toto.txt").get_presigned_url()


def test_versioned_paths_read_one_version(versioned: S3Path, moto_s3: S3Session) -> None:
    doc = versioned / "doc.txt"
    doc.write_text("one")
    doc.write_text("two")
    v_two, v_one = [v["version_id"] for v in moto_s3.list_object_versions("doc.txt")]
    first = s3lite.VersionedS3Path(f"{versioned}/doc.txt", version_id=v_one)
    assert repr(first) == f"VersionedS3Path('{versioned}/doc.txt', version_id='{v_one}')"
    assert first.read_text() == "one" and doc.read_text() == "two"
    with first.open("rb") as f:
        f.seek(1)
        assert f.read() == b"ne"
    stat = first.stat()
    assert stat.version_id == v_one == stat.st_version_id and stat.size == 3 == stat.st_size
    assert first.exists() and first.is_file() and not first.is_dir()
    # the other constructors, and pickling
    uri = VersionedS3Path.from_uri(doc.as_uri(), version_id=v_two)
    assert uri.read_text() == "two" and uri.version_id == v_two
    pair = VersionedS3Path.from_bucket_key(versioned.bucket, "doc.txt", version_id=v_one)
    assert pair == first and pair != uri and pickle.loads(pickle.dumps(pair)) == pair  # noqa: S301
    pure = PureVersionedS3Path("doc.txt", version_id=v_one)
    assert isinstance(f"{versioned}" / pure, PureVersionedS3Path)
    assert (f"{versioned}" / pure).version_id == v_one
    assert type(first / "child") is S3Path and type(first.parent) is S3Path
    # presigned URL and download of that version
    assert _get(first.get_presigned_url()) == b"one"
    out = io.BytesIO()
    first.download_to(out)
    assert out.getvalue() == b"one"
    # a version cannot change: writes and moves are refused, nothing is sent
    for attempt in (
        lambda: first.write_text("x"),
        lambda: first.open("w"),
        first.touch,
        lambda: first.rename(f"{versioned}/moved.txt"),
    ):
        with pytest.raises(io.UnsupportedOperation, match="one stored version"):
            attempt()
    # unlink deletes that version only
    first.unlink()
    assert not first.exists()
    assert doc.read_text() == "two"
    with pytest.raises(FileNotFoundError):
        first.stat()
    first.unlink(missing_ok=True)
    with pytest.raises(TypeError):
        VersionedS3Path("/b/k")  # type: ignore[call-arg]


def test_stat_has_s3paths_fields(bucket: S3Path) -> None:
    path = bucket / "data.bin"
    path.write_bytes(b"12345")
    stat = path.stat()
    assert stat.size == stat.st_size == 5
    assert stat.last_modified is not None
    assert stat.st_mtime == stat.last_modified.timestamp()
    assert stat.version_id is None and stat.st_version_id is None  # unversioned bucket
    for missing in ("st_ino", "st_dev", "st_nlink", "st_uid", "st_gid", "st_atime", "st_ctime"):
        with pytest.raises(io.UnsupportedOperation):
            getattr(stat, missing)
    with pytest.raises(AttributeError):
        stat.no_such_field  # noqa: B018


UNSUPPORTED: list[tuple[str, Callable[[S3Path], Any]]] = [
    ("cwd", lambda p: type(p).cwd()),
    ("home", lambda p: type(p).home()),
    ("readlink", lambda p: p.readlink()),
    ("chmod", lambda p: p.chmod(0o644)),
    ("lchmod", lambda p: p.lchmod(0o644)),
    ("group", lambda p: p.group()),
    ("symlink_to", lambda p: p.symlink_to("/b/other")),
    ("hardlink_to", lambda p: p.hardlink_to("/b/other")),
    ("expanduser", lambda p: p.expanduser()),
    ("resolve", lambda p: p.resolve()),
    ("lstat", lambda p: p.lstat()),
    ("is_block_device", lambda p: p.is_block_device()),
    ("is_char_device", lambda p: p.is_char_device()),
]


@pytest.mark.parametrize(("name", "call"), UNSUPPORTED, ids=[n for n, _ in UNSUPPORTED])
def test_methods_s3_cannot_support_raise_not_implemented(
    name: str, call: Callable[[S3Path], Any]
) -> None:
    for path in (S3Path("/bucket/key"), B2Path("/bucket/key")):
        with pytest.raises(NotImplementedError, match=f"{name} is unsupported"):
            call(path)
    path = S3Path("/bucket/key")
    assert not path.is_symlink() and not path.is_socket() and not path.is_fifo()
    assert not path.is_mount()


def test_owner(versioned: S3Path, bucket: S3Path, b2: B2Session) -> None:
    for root in (versioned, bucket):  # moto and SeaweedFS
        path = root / "owned.txt"
        path.write_text("mine")
        owner = path.owner()
        assert isinstance(owner, str) and owner
        for missing in (root / "missing.txt", root):
            with pytest.raises(KeyError):  # s3path's error
                missing.owner()
            with pytest.raises(FileNotFoundError):  # pathlib's
                missing.owner()
    b2root = B2Path(f"/{b2.bucket}")
    register_configuration_parameter(b2root, session=b2)
    (b2root / "owned.txt").write_text("mine")
    assert (b2root / "owned.txt").owner() == b2._account().account_id


def test_unlink_missing_ok(bucket: S3Path, s3: S3Session, monkeypatch: pytest.MonkeyPatch) -> None:
    register_configuration_parameter(S3Path("/"), session=s3)  # other buckets: this server
    (bucket / "dir/inside.txt").write_text("x")
    deletes: list[str] = []
    real = s3.delete_object
    monkeypatch.setattr(
        s3, "delete_object", lambda key, *a, **k: deletes.append(key) or real(key, *a, **k)
    )
    # missing key, missing bucket: silent with missing_ok, FileNotFoundError without
    (bucket / "missing.txt").unlink(missing_ok=True)
    S3Path("/no-such-bucket-s3lite/key").unlink(missing_ok=True)
    S3Path("/no-such-bucket-s3lite").unlink(missing_ok=True)
    with pytest.raises(FileNotFoundError):
        (bucket / "missing.txt").unlink()
    with pytest.raises(FileNotFoundError):
        S3Path("/no-such-bucket-s3lite/key").unlink()
    # an existing prefix or bucket is a directory: never a DELETE of its name
    for directory in (bucket / "dir", bucket):
        for missing_ok in (False, True):
            with pytest.raises(IsADirectoryError):
                directory.unlink(missing_ok=missing_ok)
    assert deletes == []
    assert (bucket / "dir/inside.txt").read_text() == "x"
    (bucket / "dir/inside.txt").unlink()
    assert deletes == ["dir/inside.txt"]


def test_configuration_refuses_local_paths(bucket: S3Path, s3: S3Session) -> None:
    for local in (pathlib.Path("/tmp"), pathlib.PurePosixPath("/tmp/x"), 42):
        with pytest.raises(TypeError, match="not a bucket"):
            register_configuration_parameter(local, parameters={"acl": "private"})  # type: ignore[arg-type]
    register_configuration_parameter(PureS3Path(str(bucket)), session=s3)  # pure paths work
    register_configuration_parameter(str(bucket), session=s3)  # and their text


def test_documented_decisions_fspath_bytes_roots_purepath_rmdir(bucket: S3Path) -> None:
    path = bucket / "k.txt"
    # never taken for a local file: os.fspath and bytes are refused (s3path gives '/b/k')
    with pytest.raises(TypeError, match="not a local file path"):
        os.fspath(path)
    with pytest.raises(TypeError, match="not a local file path"):
        bytes(path)
    with pytest.raises(TypeError):
        open(path)  # noqa: SIM115
    # '//foo' is the bucket foo, written '/foo' (POSIX keeps '//' as a distinct root)
    assert PureS3Path("//foo") == PureS3Path("/foo") and PureS3Path("//foo").bucket == "foo"
    assert str(PureS3Path("//foo/k")) == "/foo/k"
    # not a pathlib.PurePath subclass (composition), but the same interface
    assert not isinstance(path, pathlib.PurePath)
    assert path.name == "k.txt" and path.suffix == ".txt" and path.parent == bucket
    # rmdir keeps pathlib's refusal of a non-empty directory (s3path deletes its contents)
    (bucket / "full/a.txt").write_text("a")
    with pytest.raises(OSError) as info:
        (bucket / "full").rmdir()
    assert info.value.errno == errno.ENOTEMPTY
    assert (bucket / "full/a.txt").read_text() == "a"
