"""S3Path / B2Path: pathlib for buckets, against SeaweedFS, moto and the B2 test server."""

from __future__ import annotations

import errno
import gc
import hashlib
import io
import json
import os
import pickle
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import s3lite
from conftest import PEAK_RSS, b2_session, new_bucket_name
from s3lite import S3Session
from s3lite.b2 import B2Session
from s3lite.devserver import LocalSeaweedFS
from s3lite.path import (
    B2Path,
    PureB2Path,
    PureS3Path,
    S3Path,
    TransferConfig,
    clear_configuration,
    register_configuration_parameter,
)
from s3lite.path.configuration import REGISTRY

MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def _isolated_registry() -> Iterator[None]:
    """Each test starts from, and leaves, the registry as it found it."""
    registry = REGISTRY
    with registry._lock:
        entries, defaults = dict(registry._entries), dict(registry._defaults)
    yield
    with registry._lock:
        registry._entries, registry._defaults = entries, defaults


@pytest.fixture
def s3root(s3: S3Session) -> S3Path:
    """The test bucket on SeaweedFS as an S3Path, its session registered."""
    bucket = S3Path(f"/{s3.bucket}")
    register_configuration_parameter(bucket, session=s3)
    return bucket


@pytest.fixture
def b2root(b2: B2Session) -> B2Path:
    bucket = B2Path(f"/{b2.bucket}")
    register_configuration_parameter(bucket, session=b2)
    return bucket


@pytest.fixture(params=["s3", "b2"])
def root(request: pytest.FixtureRequest) -> S3Path:
    """The same test on S3 (SeaweedFS) and on B2."""
    return request.getfixturevalue(f"{request.param}root")  # type: ignore[no-any-return]


def small_parts(root: S3Path) -> int:
    """A part size the backend accepts (S3: 5 MiB; the B2 test server: 5000 bytes)."""
    return 5 * MiB if not isinstance(root, B2Path) else 100_000


def open_uploads(root: S3Path) -> list[dict[str, Any]]:
    return list(root.session.list_multipart_uploads(bucket=root.bucket))


# --- pure paths ------------------------------------------------------------------------------

PURE_CASES = [
    # (expression, expected)
    (lambda: str(PureS3Path("/bucket/a/b.txt")), "/bucket/a/b.txt"),
    (lambda: repr(PureS3Path("/bucket/a")), "PureS3Path('/bucket/a')"),
    (lambda: repr(S3Path("/bucket")), "S3Path('/bucket')"),
    (lambda: PureS3Path("/bucket/a/b.txt").bucket, "bucket"),
    (lambda: PureS3Path("/bucket/a/b.txt").key, "a/b.txt"),
    (lambda: PureS3Path("/bucket/a/").key, "a"),
    (lambda: PureS3Path("/bucket").key, ""),
    (lambda: PureS3Path("/").bucket, ""),
    (lambda: PureS3Path("/bucket").is_bucket, True),
    (lambda: PureS3Path("/bucket/k").is_bucket, False),
    (lambda: PureS3Path("/bucket/a/b.txt").parts, ("/", "bucket", "a", "b.txt")),
    (lambda: PureS3Path("bucket//a/./b").parts, ("bucket", "a", "b")),
    (lambda: PureS3Path("//bucket/k").parts, ("/", "bucket", "k")),
    (lambda: PureS3Path("/b/a/../c"), PureS3Path("/b/c")),
    (lambda: PureS3Path("/b/../../c"), PureS3Path("/c")),
    (lambda: PureS3Path("../a"), PureS3Path("../a")),
    (lambda: PureS3Path("a", "../b"), PureS3Path("b")),
    (lambda: PureS3Path("/etc", "/usr", "lib"), PureS3Path("/usr/lib")),
    (lambda: PureS3Path("/b") / "x" / "y.txt", PureS3Path("/b/x/y.txt")),
    (lambda: "/b" / PureS3Path("x"), PureS3Path("/b/x")),
    (lambda: PureS3Path("/b").joinpath("x", "y"), PureS3Path("/b/x/y")),
    (lambda: PureS3Path("/b/x/lib.tar.gz").name, "lib.tar.gz"),
    (lambda: PureS3Path("/b/x/lib.tar.gz").suffix, ".gz"),
    (lambda: PureS3Path("/b/x/lib.tar.gz").suffixes, [".tar", ".gz"]),
    (lambda: PureS3Path("/b/x/lib.tar.gz").stem, "lib.tar"),
    (lambda: PureS3Path("/b/x/y").parent, PureS3Path("/b/x")),
    (lambda: PureS3Path("/").parent, PureS3Path("/")),
    (lambda: PureS3Path("/b/x/y").parents, (PureS3Path("/b/x"), PureS3Path("/b"), PureS3Path("/"))),
    (lambda: PureS3Path("/b/x/y").parents[-1], PureS3Path("/")),
    (lambda: S3Path("/b/x").parent, S3Path("/b")),
    (lambda: type(S3Path("/b/x").parent).__name__, "S3Path"),
    (lambda: PureS3Path("/b/x.py").with_name("setup.py"), PureS3Path("/b/setup.py")),
    (lambda: PureS3Path("/b/x.tar.gz").with_suffix(".bz2"), PureS3Path("/b/x.tar.bz2")),
    (lambda: PureS3Path("/b/x.txt").with_suffix(""), PureS3Path("/b/x")),
    (lambda: PureS3Path("/b/x.txt").with_stem("y"), PureS3Path("/b/y.txt")),
    (lambda: PureS3Path("/b/x/y").relative_to("/b"), PureS3Path("x/y")),
    (lambda: PureS3Path("/b/x/y").relative_to(PureS3Path("/")), PureS3Path("b/x/y")),
    (lambda: PureS3Path("/b/x/y").relative_to("/b/z", walk_up=True), PureS3Path("../x/y")),
    (lambda: PureS3Path("/b/x/y").is_relative_to("/b/x"), True),
    (lambda: PureS3Path("/b/x/y").is_relative_to("/b/xy"), False),
    (lambda: PureS3Path("/b/a/c.py").match("*.py"), True),
    (lambda: PureS3Path("/b/a/c.py").match("a/*.py"), True),
    (lambda: PureS3Path("/b/a/c.py").match("b/*.py"), False),
    (lambda: PureS3Path("/b/c.py").match("/b/*.py"), True),
    (lambda: PureS3Path("/b/a/c.py").match("/b/*.py"), False),
    (lambda: PureS3Path("/b/a/c.py").match("*.PY"), False),
    (lambda: PureS3Path("/b/a/c.py").match("*.PY", case_sensitive=False), True),
    (lambda: PureS3Path("/b/a/x/c.py").full_match("/b/**/*.py"), True),
    (lambda: PureS3Path("/b/c.py").full_match("/b/**/*.py"), True),
    (lambda: PureS3Path("/b/a/c.py").full_match("a/*.py"), False),
    (lambda: PureS3Path.from_uri("s3://bucket/a/b.txt"), PureS3Path("/bucket/a/b.txt")),
    (lambda: PureS3Path.from_uri("s3://bucket/"), PureS3Path("/bucket")),
    (lambda: PureS3Path.from_uri("s3://"), PureS3Path("/")),
    (lambda: PureS3Path.from_uri("s3://b/t/2023%3A00.txt").key, "t/2023:00.txt"),
    (lambda: PureS3Path("/b/t/2023:00 x.txt").as_uri(), "s3://b/t/2023%3A00%20x.txt"),
    (lambda: PureS3Path("/bucket").as_uri(), "s3://bucket/"),
    (lambda: PureS3Path("/").as_uri(), "s3://"),
    (lambda: PureB2Path("/bucket/k").as_uri(), "b2://bucket/k"),
    (lambda: B2Path.from_uri("b2://bucket/k"), B2Path("/bucket/k")),
    (lambda: PureS3Path.from_bucket_key("b", "x/y/"), PureS3Path("/b/x/y")),
    (lambda: PureS3Path("/b/k") == S3Path("/b/k"), True),
    (lambda: PureS3Path("/b/k") == PureB2Path("/b/k"), False),
    (lambda: PureS3Path("/b/k") == "/b/k", False),
    (lambda: hash(PureS3Path("/b/k")) == hash(S3Path("/b/k")), True),
    (lambda: len({PureS3Path("/b/k"), PureS3Path("/b/k/"), PureS3Path("/b/./k")}), 1),
    (lambda: sorted([PureS3Path("/b/z"), PureS3Path("/a"), PureS3Path("/b/a")]),
     [PureS3Path("/a"), PureS3Path("/b/a"), PureS3Path("/b/z")]),
    (lambda: PureS3Path("/b/k") < PureS3Path("/b/l"), True),
    (lambda: PureS3Path("/b/k").is_absolute(), True),
    (lambda: PureS3Path("k").is_absolute(), False),
    (lambda: PureS3Path("/b/k").as_posix(), "/b/k"),
    (lambda: PureS3Path("/b/k").drive + PureS3Path("/b/k").root, "/"),
    (lambda: pickle.loads(pickle.dumps(S3Path("/b/k"))), S3Path("/b/k")),  # noqa: S301
    (lambda: type(pickle.loads(pickle.dumps(B2Path("/b/k")))).__name__, "B2Path"),  # noqa: S301
]  # fmt: skip


@pytest.mark.parametrize(("expression", "expected"), PURE_CASES)
def test_pure_path_operations(expression: Any, expected: Any) -> None:
    assert expression() == expected


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: PureS3Path("/").with_name("x"), ValueError),
        (lambda: PureS3Path("/b/x").relative_to("/c"), ValueError),
        (lambda: PureS3Path("b/x").as_uri(), ValueError),
        (lambda: PureS3Path.from_uri("http://b/k"), ValueError),
        (lambda: PureB2Path.from_uri("s3://b/k"), ValueError),
        (lambda: PureS3Path("/b/k") < PureB2Path("/b/k"), TypeError),
        (lambda: PureS3Path(42), TypeError),  # type: ignore[arg-type]
        (lambda: os.fspath(PureS3Path("/b/k")), TypeError),  # never a local file by mistake
        (lambda: S3Path("relative/key").exists(), ValueError),
    ],
)
def test_pure_path_errors(call: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()


# --- a tree: written, listed, walked, globbed, renamed, removed --------------------------------

TREE = {
    "a/b/c.txt": b"c",
    "a/b/d.bin": b"d" * 10,
    "a/b/g/h.txt": b"h",
    "a/e.txt": b"e",
    "a/E.TXT": b"E",
    "f.txt": b"f",
    "x/y.txt": b"y",
}


def write_tree(root: S3Path) -> None:
    for key, data in TREE.items():
        (root / key).write_bytes(data)


def rel(root: S3Path, paths: Any) -> set[str]:
    return {str(p.relative_to(root)) if p != root else "." for p in paths}


def test_tree_listing_and_queries(root: S3Path) -> None:
    write_tree(root)
    assert rel(root, root.iterdir()) == {"a", "f.txt", "x"}
    assert rel(root, (root / "a").iterdir()) == {"a/b", "a/e.txt", "a/E.TXT"}
    assert root.exists() and root.is_dir() and not root.is_file()
    assert (root / "a").is_dir() and not (root / "a").is_file() and (root / "a").exists()
    assert (root / "a/e.txt").is_file() and not (root / "a/e.txt").is_dir()
    assert not (root / "a/nope").exists() and not (root / "a/nope").is_dir()
    assert not (root / "a/e.txt/deeper").exists()
    assert not (root / "a/b/c").exists()  # a prefix of a key is not a path
    assert S3Path("/").is_dir() and S3Path("/").exists()
    register_configuration_parameter(type(root)("/"), session=root.session)
    assert root in set(type(root)("/").iterdir())  # `/` lists the buckets
    assert (root / "a/b/c.txt").read_bytes() == b"c"
    assert (root / "a/b/c.txt").samefile(str(root / "a/b/c.txt"))
    assert not (root / "a/b/c.txt").samefile(root / "f.txt")


def test_walk_top_down_bottom_up_and_pruning(root: S3Path) -> None:
    write_tree(root)
    seen = [
        (str(d.relative_to(root)), sorted(dirs), sorted(files)) for d, dirs, files in root.walk()
    ]
    assert seen == [
        (".", ["a", "x"], ["f.txt"]),
        ("a", ["b"], ["E.TXT", "e.txt"]),
        ("a/b", ["g"], ["c.txt", "d.bin"]),
        ("a/b/g", [], ["h.txt"]),
        ("x", [], ["y.txt"]),
    ]
    bottom_up = [str(d.relative_to(root)) for d, _, _ in root.walk(top_down=False)]
    assert bottom_up.index("a/b/g") < bottom_up.index("a/b") < bottom_up.index("a")
    assert bottom_up[-1] == "."
    pruned = []
    for d, dirs, _ in root.walk():
        pruned.append(str(d.relative_to(root)))
        if "b" in dirs:
            dirs.remove("b")
    assert pruned == [".", "a", "x"]
    errors: list[OSError] = []
    assert list((root / "missing").walk(on_error=errors.append)) == []
    assert isinstance(errors[0], FileNotFoundError)
    assert list((root / "f.txt").walk()) == []  # not a directory: nothing, as pathlib


GLOBS = [
    ("*.txt", {"f.txt"}),
    ("*", {"a", "f.txt", "x"}),
    ("*/", {"a", "x"}),
    ("a/b/*.txt", {"a/b/c.txt"}),
    ("a/*", {"a/b", "a/e.txt", "a/E.TXT"}),
    ("a/b/*", {"a/b/c.txt", "a/b/d.bin", "a/b/g"}),
    ("*/*.txt", {"a/e.txt", "x/y.txt"}),
    ("?/y.t?t", {"x/y.txt"}),
    ("[ax]", {"a", "x"}),
    ("a/[!E]*", {"a/b", "a/e.txt"}),
    ("a/b/c.txt", {"a/b/c.txt"}),
    ("a/b", {"a/b"}),
    ("nope/*", set()),
    ("**/*.txt", {"f.txt", "a/b/c.txt", "a/b/g/h.txt", "a/e.txt", "x/y.txt"}),
    ("a/**/*.txt", {"a/b/c.txt", "a/b/g/h.txt", "a/e.txt"}),
    ("a/**", {"a", "a/b", "a/b/c.txt", "a/b/d.bin", "a/b/g", "a/b/g/h.txt", "a/e.txt",
              "a/E.TXT"}),
    ("a/**/", {"a", "a/b", "a/b/g"}),
    ("**/g/*", {"a/b/g/h.txt"}),
    ("**/b", {"a/b"}),
    ("**/", {".", "a", "a/b", "a/b/g", "x"}),
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "expected"), GLOBS)
def test_glob(root: S3Path, pattern: str, expected: set[str]) -> None:
    write_tree(root)
    found = list(root.glob(pattern))
    assert rel(root, found) == expected
    assert len(found) == len(expected)  # no duplicates


def test_rglob_case_insensitive_and_subdirectory_glob(root: S3Path) -> None:
    write_tree(root)
    assert rel(root, root.rglob("*.bin")) == {"a/b/d.bin"}
    assert rel(root, root.glob("A/*.txt", case_sensitive=False)) == {"a/e.txt", "a/E.TXT"}
    assert rel(root, root.rglob("*.TXT", case_sensitive=False)) == {
        "f.txt", "a/b/c.txt", "a/b/g/h.txt", "a/e.txt", "a/E.TXT", "x/y.txt",
    }  # fmt: skip
    assert rel(root, (root / "a").glob("*/*.txt")) == {"a/b/c.txt"}
    assert rel(root, (root / "a").rglob("*")) == {
        "a/b", "a/b/c.txt", "a/b/d.bin", "a/b/g", "a/b/g/h.txt", "a/e.txt", "a/E.TXT",
    }  # fmt: skip
    assert list((root / "missing").glob("*")) == []
    top = type(root)("/")
    register_configuration_parameter(top, session=root.session)
    assert rel(root, top.glob(f"{root.bucket}/a/*.txt")) == {"a/e.txt"}  # from `/`
    assert root in set(top.glob(root.bucket[:4] + "*"))
    with pytest.raises(ValueError):
        list(root.glob(""))
    with pytest.raises(NotImplementedError):
        list(root.glob("/abs"))


def test_glob_lists_the_literal_prefix_not_the_bucket(
    s3root: S3Path, s3: S3Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(s3root)
    calls: list[tuple[str, str | None]] = []
    original = s3.list_objects

    def recording(prefix: str = "", **kwargs: Any) -> Any:
        calls.append((prefix, kwargs.get("delimiter")))
        return original(prefix, **kwargs)

    monkeypatch.setattr(s3, "list_objects", recording)
    assert rel(s3root, s3root.glob("a/b/*.txt")) == {"a/b/c.txt"}
    assert calls == [("a/b/", "/")]
    calls.clear()
    assert rel(s3root, s3root.glob("a/b/c*")) == {"a/b/c.txt"}
    assert calls == [("a/b/c", "/")]
    calls.clear()
    assert rel(s3root, s3root.glob("a/**/h.txt")) == {"a/b/g/h.txt"}
    assert calls == [("a/", None)]
    calls.clear()
    assert rel(s3root, s3root.glob("x*/**/*.txt")) == {"x/y.txt"}
    assert calls == [("x", None)]
    calls.clear()
    assert rel(s3root, s3root.glob("*/b/*.bin")) == {"a/b/d.bin"}
    assert calls == [("", "/"), ("a/b/", "/"), ("x/b/", "/")]


def test_folder_markers_are_directories(s3root: S3Path, s3: S3Session) -> None:
    s3.put_object("empty/", b"")
    s3.put_object("full/", b"")
    s3.put_object("full/k", b"k")
    assert (s3root / "empty").is_dir() and not (s3root / "empty").is_file()
    assert list((s3root / "empty").iterdir()) == []
    assert rel(s3root, s3root.iterdir()) == {"empty", "full"}
    assert rel(s3root, s3root.glob("**/")) == {".", "empty", "full"}
    assert rel(s3root, s3root.rglob("*")) == {"empty", "full", "full/k"}
    with pytest.raises(OSError) as info:
        (s3root / "full").rmdir()
    assert info.value.errno == errno.ENOTEMPTY
    (s3root / "empty").rmdir()
    assert not (s3root / "empty").exists()


def test_rename_files_and_directories(root: S3Path) -> None:
    write_tree(root)
    moved = (root / "f.txt").rename(root / "g.txt")
    assert moved == root / "g.txt" and isinstance(moved, type(root))
    assert not (root / "f.txt").exists() and moved.read_bytes() == b"f"
    assert (root / "g.txt").replace(str(root / "x/y.txt")).read_bytes() == b"f"  # replaced
    target = (root / "a/b").rename(root / "z")
    assert target == root / "z"
    assert not (root / "a/b").exists()
    assert rel(root, target.rglob("*")) == {"z/c.txt", "z/d.bin", "z/g", "z/g/h.txt"}
    assert (root / "z/g/h.txt").read_bytes() == b"h"
    with pytest.raises(OSError) as info:
        (root / "z").rename(root / "a")  # onto a directory with objects
    assert info.value.errno == errno.ENOTEMPTY
    with pytest.raises(OSError) as info:
        (root / "z").rename(root / "z/inner")
    assert info.value.errno == errno.EINVAL
    with pytest.raises(NotADirectoryError):
        (root / "z").rename(root / "x/y.txt")
    with pytest.raises(IsADirectoryError):
        (root / "x/y.txt").rename(root / "a")
    with pytest.raises(FileNotFoundError):
        (root / "nothing").rename(root / "other")
    with pytest.raises(ValueError):
        (root / "z").rename("relative/target")
    copied = (root / "z").copy(root / "z2")
    assert rel(root, copied.rglob("*.txt")) == {"z2/c.txt", "z2/g/h.txt"}
    assert (root / "z/c.txt").exists()


def test_remove_the_tree(root: S3Path) -> None:
    write_tree(root)
    for directory, _, files in root.walk(top_down=False):
        for name in files:
            (directory / name).unlink()
    # (SeaweedFS keeps listing emptied folders as common prefixes for a while: the
    # recursive listing is the one that shows what objects remain.)
    assert list(root.rglob("*")) == []
    assert not (root / "a").exists() and not (root / "a/b").is_dir()
    assert not any(p.is_file() for p in root.iterdir())
    assert root.exists()


# --- files: text and binary modes ------------------------------------------------------------


def test_text_modes_encodings_and_newlines(root: S3Path) -> None:
    p = root / "t.txt"
    assert p.write_text("héllo\nwörld\n") == 12
    assert p.read_bytes() == "héllo\nwörld\n".encode()
    assert p.read_text() == "héllo\nwörld\n"
    p.write_text("é€", encoding="utf-16")
    assert p.read_bytes() == "é€".encode("utf-16")
    assert p.read_text(encoding="utf-16") == "é€"
    p.write_text("ab\xff", encoding="latin-1")
    with pytest.raises(UnicodeDecodeError):
        p.read_text()
    assert p.read_text(errors="replace") == "ab\ufffd"
    p.write_text("a\nb\n", newline="\r\n")
    assert p.read_bytes() == b"a\r\nb\r\n"
    assert p.read_text() == "a\nb\n"  # universal newlines
    assert p.read_text(newline="") == "a\r\nb\r\n"
    with p.open("r", newline="") as f:
        assert f.readlines() == ["a\r\n", "b\r\n"]
    with p.open("w") as f:
        f.write("line 1\n")
        f.writelines(["line 2\n", "line 3\n"])
    with p.open() as f:
        assert f.readline() == "line 1\n"
        cookie = f.tell()
        assert list(f) == ["line 2\n", "line 3\n"]
        f.seek(cookie)
        assert f.read() == "line 2\nline 3\n"
        assert f.name == str(p)
    with pytest.raises(TypeError):
        p.write_text(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        p.open("a")
    with pytest.raises(ValueError):
        p.open("rb", encoding="utf-8")


def test_binary_reads_seek_tell_and_partial_reads(root: S3Path) -> None:
    data = os.urandom(3 * MiB + 12345)  # spans several read-ahead windows
    p = root / "blob.bin"
    assert p.write_bytes(data) == len(data)
    with p.open("rb") as f:
        assert f.read(10) == data[:10]
        assert f.tell() == 10
        assert f.seek(-100, io.SEEK_END) == len(data) - 100
        assert f.read() == data[-100:]
        assert f.read(5) == b""
        f.seek(2 * MiB + 7)
        assert f.read(1000) == data[2 * MiB + 7 : 2 * MiB + 1007]
        f.seek(100, io.SEEK_CUR)
        assert f.tell() == 2 * MiB + 1107
        assert f.read(MiB) == data[2 * MiB + 1107 : 3 * MiB + 1107]
        f.seek(5)
        assert f.read(2 * MiB) == data[5 : 2 * MiB + 5]  # backwards: a new range
        f.seek(0)
        assert f.read() == data
        f.seek(len(data) + 10)
        assert f.read(1) == b""
        with pytest.raises(ValueError):
            f.seek(-1)
        buffer = bytearray(7)
        f.seek(1)
        assert f.readinto(buffer) == 7 and bytes(buffer) == data[1:8]
    with p.open("rb", buffering=0) as raw:  # the raw stream itself
        assert raw.read(3) == data[:3]
        assert raw.seek(MiB) == MiB and raw.read(3) == data[MiB : MiB + 3]
        assert raw.readall() == data[MiB + 3 :]
    assert p.read_bytes() == data
    assert p.stat().st_size == len(data)


def test_a_read_is_pinned_to_the_version_it_started_with(root: S3Path) -> None:
    p = root / "pinned.bin"
    p.write_bytes(b"1" * (2 * MiB))
    with p.open("rb") as f:
        assert f.read(10) == b"1" * 10
        p.write_bytes(b"2" * (2 * MiB))
        f.seek(MiB + 5)  # outside the first window: a new request
        if isinstance(root, B2Path):  # B2 keeps versions: the same file id reads on
            assert f.read(10) == b"1" * 10
        else:
            with pytest.raises(s3lite.ObjectChanged):
                f.read(10)


def test_empty_objects_and_touch(root: S3Path) -> None:
    p = root / "empty"
    p.touch()
    assert p.is_file() and p.read_bytes() == b"" and p.stat().st_size == 0
    with p.open("rb") as f:
        assert f.read() == b""
    p.write_bytes(b"keep")
    p.touch()  # exists: left as it is
    assert p.read_bytes() == b"keep"
    with pytest.raises(FileExistsError):
        p.touch(exist_ok=False)
    (root / "d/k").write_bytes(b"")
    with pytest.raises(FileExistsError):
        (root / "d").touch(exist_ok=False)


def test_stat(root: S3Path) -> None:
    p = root / "s/obj.json"
    p.write_text('{"a": 1}')
    head = root.session.head_object("s/obj.json", bucket=root.bucket)
    st = p.stat()
    assert st.st_size == 8 and stat.S_ISREG(st.st_mode)
    assert st.etag == head.etag and st.etag
    assert head.last_modified is not None and st.st_mtime == head.last_modified.timestamp()
    assert st.st_mtime_ns // 1_000_000_000 == int(st.st_mtime)
    assert st.last_modified == head.last_modified
    for directory in (root / "s", root, type(root)("/")):  # `/` needs no request
        dst = directory.stat()
        assert stat.S_ISDIR(dst.st_mode) and dst.st_size == 0
    with pytest.raises(FileNotFoundError):
        (root / "s/missing").stat()


# --- errors ----------------------------------------------------------------------------------


def test_errors_are_pathlibs_with_the_service_error_as_cause(root: S3Path) -> None:
    (root / "dir/file").write_bytes(b"x")
    with pytest.raises(FileNotFoundError) as missing:
        (root / "missing").read_bytes()
    assert isinstance(missing.value.__cause__, s3lite.NoSuchKey)
    assert missing.value.errno == errno.ENOENT and missing.value.filename == str(root / "missing")
    with pytest.raises(FileNotFoundError):
        (root / "missing").open("rb")
    with pytest.raises(IsADirectoryError):
        (root / "dir").read_text()
    with pytest.raises(IsADirectoryError):
        (root / "dir").open()
    with pytest.raises(IsADirectoryError):
        root.open("w")
    with pytest.raises(IsADirectoryError):
        (root / "dir").unlink()
    with pytest.raises(NotADirectoryError):
        list((root / "dir/file").iterdir())
    with pytest.raises(FileNotFoundError):
        list((root / "nowhere").iterdir())
    with pytest.raises(FileNotFoundError):
        (root / "missing").unlink()
    (root / "missing").unlink(missing_ok=True)
    (root / "dir/file").unlink()
    assert not (root / "dir").exists()
    with pytest.raises(FileExistsError):
        root.mkdir()
    root.mkdir(exist_ok=True)
    (root / "dir2/file").write_bytes(b"x")
    with pytest.raises(FileExistsError):
        (root / "dir2/file").mkdir(exist_ok=True)  # an object, not a directory
    with pytest.raises(FileExistsError):
        (root / "dir2").mkdir()
    (root / "dir2").mkdir(exist_ok=True)
    (root / "new/prefix").mkdir()  # prefixes need no creating
    with pytest.raises(OSError) as info:
        (root / "dir2").rmdir()
    assert info.value.errno == errno.ENOTEMPTY
    with pytest.raises(FileNotFoundError):
        (root / "nothing").rmdir()
    missing_bucket = type(root)(f"/{new_bucket_name('nobucket')}")
    register_configuration_parameter(missing_bucket, session=root.session)
    assert not missing_bucket.exists() and not missing_bucket.is_dir()
    assert list(missing_bucket.glob("*")) == []
    with pytest.raises(FileNotFoundError) as nobucket:
        (missing_bucket / "k").write_bytes(b"x")
    assert isinstance(nobucket.value.__cause__, s3lite.NoSuchBucket)
    with pytest.raises(FileNotFoundError):
        list(missing_bucket.iterdir())
    with pytest.raises(FileNotFoundError):
        (missing_bucket / "k").mkdir()


def test_permission_error_for_a_key_that_may_not_write(
    b2root: B2Path, b2: B2Session, b2server: Any
) -> None:
    (b2root / "k").write_bytes(b"v")
    key = b2.create_app_key(["listBuckets", "listFiles", "readFiles"], "reader", bucket=b2.bucket)
    reader = b2_session(b2server, (key.application_key_id, key.application_key))
    register_configuration_parameter(b2root, session=reader)
    assert (b2root / "k").read_bytes() == b"v"
    with pytest.raises(PermissionError) as denied:
        (b2root / "k2").write_bytes(b"x")
    assert isinstance(denied.value.__cause__, s3lite.Unauthorized)
    reader.close()


def test_buckets_are_created_and_removed(root: S3Path) -> None:
    bucket = type(root)(f"/{new_bucket_name('mk')}")
    register_configuration_parameter(bucket, session=root.session)
    assert not bucket.exists()
    with pytest.raises(FileNotFoundError):
        (bucket / "a/b").mkdir()
    (bucket / "a/b").mkdir(parents=True)
    assert bucket.exists() and bucket.is_dir()
    with pytest.raises(FileExistsError):
        bucket.mkdir()
    (bucket / "k").write_bytes(b"x")
    with pytest.raises(OSError) as info:
        bucket.rmdir()
    assert info.value.errno == errno.ENOTEMPTY
    (bucket / "k").unlink()
    bucket.rmdir()
    assert not bucket.exists()


# --- writes: multipart, abort, memory --------------------------------------------------------


class Progress:
    """s3path's callback_class: one instance per transfer, built with the path."""

    instances: list[Progress] = []  # noqa: RUF012

    def __init__(self, path: S3Path) -> None:
        self.path = path
        self.calls: list[tuple[int, int | None]] = []
        Progress.instances.append(self)

    def __call__(self, done: int, total: int | None) -> None:
        self.calls.append((done, total))


def test_large_writes_stream_through_a_multipart_upload(root: S3Path) -> None:
    part = small_parts(root)
    Progress.instances.clear()
    register_configuration_parameter(
        root,
        parameters={
            "transfer": TransferConfig(threshold=part, part_size=part, concurrency=2),
            "progress": Progress,
        },
    )
    data = os.urandom(3 * part + 1234)
    p = root / "big.bin"
    with p.open("wb") as f:
        for start in range(0, len(data), 100_001):
            f.write(data[start : start + 100_001])
        assert f.tell() == len(data)
        assert open_uploads(root)  # in progress until close
    assert p.read_bytes() == data
    assert not open_uploads(root)
    if not isinstance(root, B2Path):
        assert (p.stat().etag or "").endswith("-4")  # four parts
    writes = [i for i in Progress.instances if i.calls and i.calls[-1][0] == len(data)]
    assert writes and writes[0].path == p
    small = root / "small.bin"
    small.write_bytes(b"x" * part)  # at the threshold: one PUT
    assert small.stat().etag and "-" not in (small.stat().etag or "")


def test_an_exception_in_the_with_block_leaves_nothing(root: S3Path) -> None:
    part = small_parts(root)
    register_configuration_parameter(
        root, parameters={"transfer": TransferConfig(threshold=part, part_size=part)}
    )
    p = root / "never.bin"
    with pytest.raises(RuntimeError, match="boom"), p.open("wb") as f:
        f.write(os.urandom(3 * part))
        assert open_uploads(root)
        raise RuntimeError("boom")
    assert not p.exists()
    assert not open_uploads(root)
    with pytest.raises(RuntimeError, match="boom"), p.open("w") as t:
        t.write("small text, not sent")
        raise RuntimeError("boom")
    assert not p.exists()
    p.write_bytes(b"old")
    with pytest.raises(KeyError), p.open("wb") as f:
        f.write(os.urandom(2 * part))
        raise KeyError("replacing failed")
    assert p.read_bytes() == b"old"  # the object is left as it was
    assert not open_uploads(root)


def test_a_failed_part_aborts_on_close(root: S3Path, monkeypatch: pytest.MonkeyPatch) -> None:
    part = small_parts(root)
    register_configuration_parameter(
        root, parameters={"transfer": TransferConfig(threshold=part, part_size=part)}
    )
    session = root.session
    original = session.multipart_backend.upload_part

    def flaky(bucket: str, key: str, upload_id: str, number: int, data: Any) -> Any:
        if number == 2:
            raise s3lite.AccessDenied(403, "AccessDenied", "no part 2 for you")
        return original(bucket, key, upload_id, number, data)

    monkeypatch.setattr(session.multipart_backend, "upload_part", flaky)
    p = root / "broken.bin"
    f = p.open("wb")
    with pytest.raises(PermissionError) as denied:
        for _ in range(6):
            f.write(b"z" * part)
    assert isinstance(denied.value.__cause__, s3lite.AccessDenied)
    with pytest.raises(ValueError, match="earlier write failed"):
        f.write(b"more")
    f.close()  # closed after an error: aborted, not committed
    assert not p.exists()
    assert not open_uploads(root)


CHILD = textwrap.dedent(
    """
    import hashlib, json, os, sys
    from s3lite import S3Session, S3Path, register_configuration_parameter

    size = int(sys.argv[1])
    session = S3Session(os.environ["T_AK"], os.environ["T_SK"], endpoint_url=os.environ["T_URL"])
    bucket = S3Path("/" + os.environ["T_BUCKET"])
    register_configuration_parameter(bucket, session=session)
    path = bucket / "big/300.bin"
    block = os.urandom(1 << 20)
    sent = hashlib.sha256()
    with path.open("wb") as f:
        for i in range(size >> 20):
            chunk = hashlib.sha256(block + i.to_bytes(4, "big")).digest() * 32768
            sent.update(chunk)
            f.write(chunk)
    got = hashlib.sha256()
    n = 0
    with path.open("rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            got.update(chunk)
            n += len(chunk)
    print(json.dumps({"sent": sent.hexdigest(), "got": got.hexdigest(), "n": n,
                      "etag": path.stat().etag, "peak_mib": peak_rss_mib()}))
    """
)


@pytest.mark.slow
def test_300_mib_through_open_in_bounded_memory(seaweed: LocalSeaweedFS, s3: S3Session) -> None:
    size = 300 * MiB
    env = dict(
        os.environ,
        T_AK=seaweed.access_key, T_SK=seaweed.secret_key,
        T_URL=seaweed.endpoint_url, T_BUCKET=str(s3.bucket),
    )  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", PEAK_RSS + CHILD, str(size)], env=env, capture_output=True,
        text=True, timeout=600, check=True,
    )  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["n"] == size
    assert result["got"] == result["sent"]
    assert result["etag"].endswith("-38")  # 8 MiB parts: streamed, never held whole
    # default settings: at most 8 parts in flight + 1 filling, of 8 MiB (72 MiB), plus the
    # interpreter: far below the object's 300 MiB
    assert result["peak_mib"] < 130, result
    assert s3.head_object("big/300.bin").content_length == size
    assert not list(s3.list_multipart_uploads())


# --- configuration ---------------------------------------------------------------------------


def test_configuration_precedence_reaches_the_server(s3root: S3Path, s3: S3Session) -> None:
    register_configuration_parameter(
        S3Path("/"),
        parameters={
            "metadata": {"level": "root", "from-root": "yes"},
            "StorageClass": "STANDARD_IA",  # boto3 spelling
            "cache_control": "max-age=1",
        },
    )
    register_configuration_parameter(
        s3root, parameters={"metadata": {"level": "bucket"}, "content_type": "text/x-bucket"}
    )
    register_configuration_parameter(
        s3root / "pre",
        parameters={
            "metadata": {"level": "prefix"},
            "storage_class": "ONEZONE_IA",
            "transfer": TransferConfig(threshold=5 * MiB, part_size=5 * MiB),
        },
    )
    (s3root / "top.txt").write_text("x")
    (s3root / "pre/deep/small.txt").write_text("y")
    with (s3root / "pre/large.bin").open("wb") as f:  # a multipart upload carries them too
        f.write(b"L" * (11 * MiB))
    (s3root / "prefix-sibling.txt").write_text("z")  # '/pre' is a path, not a string prefix

    top = s3.head_object("top.txt")
    assert top.metadata == {"level": "bucket", "from-root": "yes"}
    assert top.headers.get("x-amz-storage-class") == "STANDARD_IA"
    assert top.content_type == "text/x-bucket"
    assert top.headers.get("cache-control") == "max-age=1"
    for key in ("pre/deep/small.txt", "pre/large.bin"):
        head = s3.head_object(key)
        assert head.metadata == {"level": "prefix", "from-root": "yes"}, key
        assert head.headers.get("x-amz-storage-class") == "ONEZONE_IA", key
        assert head.content_type == "text/x-bucket", key
    assert (s3.head_object("pre/large.bin").etag or "").endswith("-3")
    assert s3.head_object("prefix-sibling.txt").metadata["level"] == "bucket"
    st = (s3root / "pre/large.bin").stat()
    assert st.storage_class == "ONEZONE_IA" and st.metadata == {
        "level": "prefix", "from-root": "yes",
    }  # fmt: skip
    # a rename takes the target's storage class and keeps the object's metadata
    register_configuration_parameter(s3root / "cold", parameters={"storage_class": "GLACIER"})
    (s3root / "top.txt").rename(s3root / "cold/top.txt")
    moved = s3.head_object("cold/top.txt")
    assert moved.headers.get("x-amz-storage-class") == "GLACIER"
    assert moved.metadata["level"] == "bucket"


def test_registration_is_checked_early() -> None:
    with pytest.raises(ValueError, match="unknown parameter"):
        register_configuration_parameter("/b", parameters={"StorageKlass": "X"})
    with pytest.raises(TypeError):
        register_configuration_parameter("/b", parameters={"metadata": {"a": 1}})
    with pytest.raises(ValueError):
        register_configuration_parameter("/b", parameters={"part_size": 0})
    with pytest.raises(ValueError):
        register_configuration_parameter("relative", parameters={"acl": "private"})
    with pytest.raises(ValueError):
        register_configuration_parameter("/b")
    with pytest.raises(TypeError):
        register_configuration_parameter("/b", session=object())  # type: ignore[arg-type]


def test_boto3_transfer_config_and_resolution_order() -> None:
    import boto3.s3.transfer

    register_configuration_parameter(
        "/cfg-bucket",
        parameters={
            "transfert_config": boto3.s3.transfer.TransferConfig(
                multipart_threshold=30 * MiB, multipart_chunksize=20 * MiB, max_concurrency=3
            ),
            "ServerSideEncryption": "AES256",
        },
    )
    register_configuration_parameter("/cfg-bucket/p", parameters={"part_size": 6 * MiB})
    config = S3Path("/cfg-bucket/p/q")._config()
    assert (config.threshold, config.part_size, config.concurrency) == (30 * MiB, 6 * MiB, 3)
    assert config.params["headers"] == {"x-amz-server-side-encryption": "AES256"}
    assert B2Path("/cfg-bucket/p/q")._config().params == {}  # separate registries
    clear_configuration("/cfg-bucket/p")
    assert S3Path("/cfg-bucket/p/q")._config().part_size == 20 * MiB


def test_b2_rejects_what_it_cannot_store(b2root: B2Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    register_configuration_parameter(b2root, parameters={"storage_class": "GLACIER"})
    with pytest.raises(ValueError, match="not supported on B2"):
        (b2root / "k").write_bytes(b"x")
    with pytest.raises(ValueError, match="not supported on B2"):
        (b2root / "k").open("wb")
    # The refused writers are finalized quietly: nothing started, nothing to undo (Python
    # 3.13+ reports an error raised by a stream's finalizer; older ones drop it silently).
    gc.collect()
    assert [str(u.exc_value) for u in unraisable] == []
    assert not (b2root / "k").exists()
    register_configuration_parameter(
        b2root, parameters={"metadata": {"owner": "me"}, "cache_control": "no-cache"}
    )
    (b2root / "k").write_bytes(b"x")
    st = (b2root / "k").stat()
    assert st.metadata is not None and st.metadata.get("owner") == "me"


def test_two_buckets_on_two_servers_in_one_process(s3: S3Session, moto_s3: S3Session) -> None:
    seaweed_bucket = S3Path(f"/{s3.bucket}")
    moto_bucket = S3Path(f"/{moto_s3.bucket}")
    register_configuration_parameter(seaweed_bucket, session=s3)
    register_configuration_parameter(moto_bucket, session=moto_s3)
    (seaweed_bucket / "doc.txt").write_text("on seaweed")
    (moto_bucket / "doc.txt").write_text("on moto")
    assert s3.get_object("doc.txt").data == b"on seaweed"
    assert moto_s3.get_object("doc.txt").data == b"on moto"
    assert (seaweed_bucket / "doc.txt").read_text() == "on seaweed"
    assert seaweed_bucket.session is s3 and moto_bucket.session is moto_s3
    # across servers a rename streams the bytes (and keeps metadata and type)
    s3.put_object("tree/a.json", b"{}", metadata={"kind": "a"}, content_type="application/json")
    s3.put_object("tree/sub/b.bin", os.urandom(100_000))
    (seaweed_bucket / "tree").rename(moto_bucket / "moved")
    assert not (seaweed_bucket / "tree").exists()
    head = moto_s3.head_object("moved/a.json")
    assert head.metadata == {"kind": "a"} and head.content_type == "application/json"
    assert rel(moto_bucket, moto_bucket.rglob("*")) == {
        "doc.txt", "moved", "moved/a.json", "moved/sub", "moved/sub/b.bin",
    }  # fmt: skip
    # a key prefix can live elsewhere than its bucket: the most specific session wins
    moto_s3.create_bucket(s3.bucket)
    try:
        register_configuration_parameter(seaweed_bucket / "remote", session=moto_s3)
        (seaweed_bucket / "remote/r.txt").write_text("prefix on moto")
        assert moto_s3.get_object("remote/r.txt", bucket=s3.bucket).data == b"prefix on moto"
        assert not list(s3.list_objects("remote/"))  # not on SeaweedFS
        assert (seaweed_bucket / "remote/r.txt").read_text() == "prefix on moto"
    finally:
        moto_s3.delete_objects(prefix="", bucket=s3.bucket)
        moto_s3.delete_bucket(s3.bucket)


def test_a_b2_session_can_serve_s3_paths(b2: B2Session) -> None:
    """The backend is chosen per path by the session registered for it."""
    bucket = S3Path(f"/{b2.bucket}")
    register_configuration_parameter(bucket, session=b2)
    (bucket / "d/k.txt").write_text("on b2")
    assert b2.get_object("d/k.txt").data == b"on b2"
    assert rel(bucket, bucket.rglob("*")) == {"d", "d/k.txt"}
    assert (bucket / "d/k.txt").read_text() == "on b2"


def test_default_session_comes_from_the_environment(
    seaweed: LocalSeaweedFS, s3: S3Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    monkeypatch.setenv("AWS_ENDPOINT_URL", seaweed.endpoint_url)
    clear_configuration()  # forget registrations and default sessions
    p = S3Path(f"/{s3.bucket}/from-env.txt")
    p.write_text("env")
    assert s3.get_object("from-env.txt").data == b"env"
    session = p.session
    assert isinstance(session, S3Session) and session.endpoint_url == seaweed.endpoint_url
    assert S3Path(f"/{s3.bucket}/other").session is session  # built once


def test_registry_is_thread_safe(s3: S3Session) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(200):
                where = f"/thread-bucket-{n}/p{i % 5}"
                register_configuration_parameter(
                    where, session=s3, parameters={"metadata": {"n": str(n)}}
                )
                config = S3Path(where + "/k")._config()
                assert config.session is s3 and config.params["metadata"] == {"n": str(n)}
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_upload_from_and_download_to_use_the_transfer_settings(root: S3Path, tmp_path: Any) -> None:
    part = small_parts(root)
    register_configuration_parameter(
        root, parameters={"transfer": TransferConfig(threshold=part, part_size=part)}
    )
    local = tmp_path / "local.bin"
    data = os.urandom(2 * part + 99)
    local.write_bytes(data)
    p = (root / "up/local.bin").upload_from(local)
    assert p.read_bytes() == data
    back = tmp_path / "back.bin"
    p.download_to(back)
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(data).digest()
    with pytest.raises(FileNotFoundError):
        (root / "up/missing").download_to(tmp_path / "x")
    assert not (tmp_path / "x").exists()
