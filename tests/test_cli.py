"""The `s3lite` command line, end to end: `python -m s3lite ...` in subprocesses against
SeaweedFS (s3://) and the B2 test server (b2://), which children reach over loopback."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import urllib3

from conftest import new_bucket_name
from s3lite import cli, commands
from s3lite.progressbar import ProgressBar, format_duration, human_size

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
EXIT_NOT_FOUND, EXIT_ACCESS_DENIED, EXIT_NO_CREDENTIALS, EXIT_CONFLICT = 3, 4, 5, 6

SUBCOMMANDS = ["ls", "cp", "mv", "rm", "cat", "head", "mb", "rb", "presign", "sync", "lock", "demo"]
SUBCOMMANDS += ["server"]


@dataclass
class Result:
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout.decode()

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(
    *args: str, env: dict[str, str] | None = None, input: bytes | None = None, cwd: Any = None
) -> Result:
    """`python -m s3lite ARGS` with the test process's (isolated) environment plus `env`."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "s3lite", *args],
        input=input if input is not None else b"",
        capture_output=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr.decode(errors="replace"))


@dataclass
class Remote:
    """One backend as the command line sees it: URL scheme, a fresh bucket, the environment
    and options that reach the test server, and a session to check results with."""

    scheme: str
    bucket: str
    session: Any
    env: dict[str, str]
    opts: list[str] = field(default_factory=list)
    server: Any = None  # the B2 test server (its call counters)

    def url(self, key: str = "") -> str:
        return f"{self.scheme}://{self.bucket}/{key}" if key else f"{self.scheme}://{self.bucket}"

    def run(self, *args: str, input: bytes | None = None, cwd: Any = None) -> Result:
        return run_cli(*self.opts, *args, env=self.env, input=input, cwd=cwd)

    def ok(self, *args: str, input: bytes | None = None, cwd: Any = None) -> Result:
        result = self.run(*args, input=input, cwd=cwd)
        assert result.returncode == 0, (args, result.returncode, result.stderr)
        return result

    def names(self, prefix: str = "") -> list[str]:
        return [i["key"] for i in self.session.list_objects(prefix, bucket=self.bucket)]

    def get(self, key: str) -> bytes:
        return bytes(self.session.get_object(key, bucket=self.bucket, stream=False).data)

    def put(self, key: str, data: bytes) -> None:
        self.session.put_object(key, data, bucket=self.bucket)


def s3_remote(seaweed: Any, s3: Any) -> Remote:
    env = {"AWS_ACCESS_KEY_ID": seaweed.access_key, "AWS_SECRET_ACCESS_KEY": seaweed.secret_key}
    return Remote("s3", s3.bucket, s3, env, ["--endpoint-url", seaweed.endpoint_url])


def b2_remote(b2server: Any, b2_account: tuple[str, str], b2: Any) -> Remote:
    env = {
        "B2_APPLICATION_KEY_ID": b2_account[0],
        "B2_APPLICATION_KEY": b2_account[1],
        "B2_API_URL": b2server.api_url,  # the environment variable here, the option elsewhere
    }
    return Remote("b2", b2.bucket, b2, env, server=b2server)


@pytest.fixture(params=["s3", "b2"])
def remote(request: pytest.FixtureRequest) -> Remote:
    """The same command-line test on S3 (SeaweedFS) and on B2, each with a fresh bucket."""
    if request.param == "s3":
        return s3_remote(request.getfixturevalue("seaweed"), request.getfixturevalue("s3"))
    return b2_remote(
        request.getfixturevalue("b2server"),
        request.getfixturevalue("b2_account"),
        request.getfixturevalue("b2"),
    )


@pytest.fixture
def s3_cli(seaweed: Any, s3: Any) -> Remote:
    return s3_remote(seaweed, s3)


@pytest.fixture
def b2_cli(b2server: Any, b2_account: tuple[str, str], b2: Any) -> Remote:
    remote = b2_remote(b2server, b2_account, b2)
    del remote.env["B2_API_URL"]
    remote.opts = ["--b2-api-url", b2server.api_url]
    return remote


def make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "a.txt": b"alpha\n",
        "sub/b.txt": b"bravo\nbravo\n",
        "sub/deep/c.bin": os.urandom(3000),
        "empty.txt": b"",
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# --- help and usage ------------------------------------------------------------------------------


def test_top_level_help_lists_every_command_with_examples_and_exit_codes() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for name in SUBCOMMANDS:
        assert re.search(rf"^\s+{name}\s+\S", result.out, re.M), name
    assert "examples:" in result.out
    assert "exit codes:" in result.out
    for code in range(7):
        assert re.search(rf"^\s+{code}\s+\w", result.out, re.M), code
    assert "B2_APPLICATION_KEY_ID" in result.out and "--json" in result.out


@pytest.mark.parametrize(
    ("name", "purpose"),
    [
        ("ls", "list"),
        ("cp", "copy"),
        ("mv", "move"),
        ("rm", "delete"),
        ("cat", "stdout"),
        ("head", "first"),
        ("mb", "make a bucket"),
        ("rb", "remove a bucket"),
        ("presign", "temporary access"),
        ("sync", "copy of another"),
        ("lock", "distributed lock"),
        ("demo", "seaweedfs"),
        ("server", "local s3 server"),
    ],
)
def test_subcommand_help(name: str, purpose: str) -> None:
    result = run_cli(name, "--help")
    assert result.returncode == 0, result.stderr
    assert purpose in result.out.lower()
    assert f"usage: s3lite {name}" in result.out
    if name != "demo":
        assert "examples:" in result.out


def test_no_command_prints_help_and_exits_2() -> None:
    result = run_cli()
    assert result.returncode == EXIT_USAGE
    assert "usage: s3lite" in result.out


@pytest.mark.parametrize(
    "args",
    [
        ["cp", "only-one-argument"],
        ["cp", "local-a", "local-b"],
        ["ls", "gs://bucket/key"],
        ["head", "-c", "1", "-n", "1", "s3://bucket/key"],
        ["head", "-c", "-5", "s3://bucket/key"],
        ["cat", "s3://bucket"],
        ["rm", "s3://bucket"],
        ["cp", "-r", "-", "s3://bucket/x"],
        ["presign", "--expires", "soon", "s3://bucket/key"],
        ["cp", "--multipart-threshold", "lots", "a", "s3://bucket/"],
        ["sync", "--size-only", "--checksum", "a", "s3://bucket/"],
        ["nosuchcommand"],
    ],
)
def test_usage_errors_exit_2_without_traceback(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == EXIT_USAGE, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert "error" in result.stderr


def test_missing_credentials_exit_5(tmp_path: Path) -> None:
    s3 = run_cli("--endpoint-url", "http://127.0.0.1:9", "ls", "s3://some-bucket")
    assert s3.returncode == EXIT_NO_CREDENTIALS, s3.stderr
    assert "credentials" in s3.stderr and "Traceback" not in s3.stderr
    b2 = run_cli("--json", "ls", "b2://")
    assert b2.returncode == EXIT_NO_CREDENTIALS, b2.stderr
    error = json.loads(b2.stderr)["error"]
    assert error["exit"] == EXIT_NO_CREDENTIALS
    assert error["code"] == "NoCredentials"
    assert "B2_APPLICATION_KEY" in error["message"]
    # A profile that does not exist is a configuration problem of the same kind.
    missing = run_cli("--profile", "nobody", "--endpoint-url", "http://127.0.0.1:9", "ls")
    assert missing.returncode == EXIT_NO_CREDENTIALS, missing.stderr
    assert "nobody" in missing.stderr


def test_rejected_credentials_exit_4(s3_cli: Remote, b2_cli: Remote) -> None:
    s3_cli.env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
    result = s3_cli.run("ls", s3_cli.url())
    assert result.returncode == EXIT_ACCESS_DENIED, result.stderr
    assert result.stderr.startswith("s3lite: error: access denied")
    b2_cli.env["B2_APPLICATION_KEY"] = "not-the-key"
    result = b2_cli.run("ls", b2_cli.url())
    assert result.returncode == EXIT_ACCESS_DENIED, result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(s3_cli: Remote) -> None:
    result = s3_cli.run("--debug", "cat", s3_cli.url("missing"))
    assert result.returncode == EXIT_NOT_FOUND
    assert "Traceback" in result.stderr and "NoSuchKey" in result.stderr


# --- every command on both backends --------------------------------------------------------------


def test_ls_buckets(remote: Remote) -> None:
    url = remote.url()
    short = remote.ok("ls", f"{remote.scheme}://")
    assert url in short.out.splitlines()
    entries = remote.ok("ls", "--json", f"{remote.scheme}://").json_lines()
    mine = next(e for e in entries if e["bucket"] == remote.bucket)
    assert (mine["type"], mine["url"], mine["name"]) == ("bucket", url, remote.bucket)
    assert "creation_date" in mine
    if remote.scheme == "s3":  # no URL: the S3 buckets
        assert url in remote.ok("ls").out.splitlines()


def test_cp_up_and_down_ls_and_cat(remote: Remote, tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = make_tree(src)
    # one file into a "folder": the name is kept
    result = remote.ok("cp", str(src / "a.txt"), remote.url("single/"))
    assert f"-> {remote.url('single/a.txt')}" in result.out
    # a directory, recursively
    remote.ok("cp", "-r", str(src), remote.url("tree"))
    assert sorted(remote.names("tree/")) == sorted(f"tree/{rel}" for rel in files)

    listing = remote.ok("ls", remote.url("tree/")).out.splitlines()
    assert listing == [
        remote.url("tree/a.txt"),
        remote.url("tree/empty.txt"),
        remote.url("tree/sub/"),
    ]
    long = remote.ok("ls", "-l", remote.url("tree/")).out.splitlines()
    assert re.match(r"^\s+6 B\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\S+/tree/a\.txt$", long[0])
    assert re.match(r"^\s+DIR\s+\S+/tree/sub/$", long[2])
    deep = remote.ok("ls", "-l", "-r", remote.url("tree/sub")).out
    assert re.search(r"2\.9 KiB\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\S+/tree/sub/deep/c\.bin", deep)
    entries = remote.ok("--json", "ls", "-r", remote.url("tree/")).json_lines()
    assert [e["key"] for e in entries] == sorted(f"tree/{rel}" for rel in files)
    sizes = {e["key"]: e["content_length"] for e in entries}  # the Python API's field names
    assert sizes["tree/sub/deep/c.bin"] == 3000
    assert all(e["type"] == "object" and e["upload_timestamp"].endswith("Z") for e in entries)
    fields = {"key", "content_length", "etag", "upload_timestamp", "storage_class"}
    assert all(set(e) == {"type", "url", "bucket", *fields} for e in entries)

    # down again: one file, into a directory, and the whole tree
    (tmp_path / "one").mkdir()
    remote.ok("cp", remote.url("tree/sub/b.txt"), str(tmp_path / "one"))
    assert (tmp_path / "one" / "b.txt").read_bytes() == files["sub/b.txt"]
    remote.ok("cp", remote.url("tree/sub/deep/c.bin"), str(tmp_path / "new" / "dir" / "c.bin"))
    assert (tmp_path / "new" / "dir" / "c.bin").read_bytes() == files["sub/deep/c.bin"]
    remote.ok("cp", "-r", remote.url("tree"), str(tmp_path / "back"))
    assert read_tree(tmp_path / "back") == files

    # cat, and cp to stdout: the bytes and nothing else
    assert remote.ok("cat", remote.url("tree/a.txt"), remote.url("tree/sub/b.txt")).stdout == (
        files["a.txt"] + files["sub/b.txt"]
    )
    assert remote.ok("cp", remote.url("tree/sub/deep/c.bin"), "-").stdout == files["sub/deep/c.bin"]


def test_cp_stdin_and_json(remote: Remote) -> None:
    data = os.urandom(5000)
    result = remote.ok("--json", "cp", "-", remote.url("from/stdin.bin"), input=data)
    doc = result.json()
    assert doc["command"] == "cp" and doc["ok"] is True and doc["count"] == 1
    assert doc["transfers"][0]["dest"] == remote.url("from/stdin.bin")
    assert remote.get("from/stdin.bin") == data
    # nothing to name the object after
    assert remote.run("cp", "-", remote.url("folder/"), input=b"x").returncode == EXIT_USAGE


def test_cp_remote_to_remote(remote: Remote) -> None:
    remote.put("orig/x.txt", b"x" * 100)
    remote.put("orig/sub/y.txt", b"y")
    remote.ok("cp", remote.url("orig/x.txt"), remote.url("copy/"))
    assert remote.get("copy/x.txt") == b"x" * 100
    remote.ok("cp", "-r", remote.url("orig/"), remote.url("tree"))
    assert sorted(remote.names("tree/")) == ["tree/sub/y.txt", "tree/x.txt"]


def test_cp_onto_itself_is_refused(remote: Remote) -> None:
    remote.put("same.txt", b"keep me")
    result = remote.run("mv", remote.url("same.txt"), remote.url("same.txt"))
    assert result.returncode == EXIT_USAGE and "are the same" in result.stderr
    assert remote.run("cp", "-r", remote.url(), remote.url()).returncode == EXIT_USAGE
    assert remote.get("same.txt") == b"keep me"


def test_json_does_not_mix_with_data_on_stdout(remote: Remote) -> None:
    remote.put("data.bin", b"\x00raw bytes\xff")
    assert remote.ok("--json", "cp", remote.url("data.bin"), "-").stdout == b"\x00raw bytes\xff"
    assert remote.ok("--json", "cat", remote.url("data.bin")).stdout == b"\x00raw bytes\xff"


def test_cp_dry_run_changes_nothing(remote: Remote, tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    result = remote.ok("cp", "-r", "--dry-run", str(tmp_path / "src"), remote.url("dry"))
    assert "(dry run) upload:" in result.out
    assert remote.names() == []


def test_mv(remote: Remote, tmp_path: Path) -> None:
    local = tmp_path / "m.txt"
    local.write_bytes(b"move me")
    remote.ok("mv", str(local), remote.url("m.txt"))
    assert not local.exists()
    remote.ok("mv", remote.url("m.txt"), remote.url("moved/m.txt"))
    assert remote.names() == ["moved/m.txt"]
    remote.ok("mv", remote.url("moved/m.txt"), str(tmp_path / "back.txt"))
    assert remote.names() == []
    assert (tmp_path / "back.txt").read_bytes() == b"move me"


def test_rm(remote: Remote) -> None:
    for key in ("logs/1.txt", "logs/2.txt", "logs/sub/3.txt", "logsother.txt", "keep.txt"):
        remote.put(key, b"x")
    single = remote.ok("rm", remote.url("keep.txt"))
    assert "deleted 1 object" in single.out
    missing = remote.run("rm", remote.url("keep.txt"))
    assert missing.returncode == EXIT_NOT_FOUND
    assert "no such object" in missing.stderr

    dry = remote.ok("rm", "-r", "--dry-run", remote.url("logs"))
    assert "would delete 3 objects" in dry.out
    assert dry.out.count("(dry run) delete:") == 3
    assert len(remote.names()) == 4  # nothing deleted

    doc = remote.ok("--json", "rm", "-r", "--dry-run", remote.url("logs/")).json()
    assert doc["dry_run"] is True and doc["count"] == 3

    result = remote.ok("rm", "-r", remote.url("logs"))
    assert "deleted 3 objects" in result.out
    assert remote.names() == ["logsother.txt"]  # "logs" is a folder, not a name prefix

    doc = remote.ok("--json", "rm", "-r", remote.url()).json()
    assert doc == {
        "command": "rm",
        "dry_run": False,
        "ok": True,
        "count": 1,
        "deleted": [remote.url("logsother.txt")],
        "errors": [],
    }
    assert remote.names() == []


def test_head(remote: Remote) -> None:
    lines = b"".join(b"line %d\n" % i for i in range(1, 21))
    remote.put("lines.txt", lines)
    remote.put("empty.txt", b"")
    first_ten = b"".join(b"line %d\n" % i for i in range(1, 11))
    assert remote.ok("head", remote.url("lines.txt")).stdout == first_ten
    assert remote.ok("head", "-n", "2", remote.url("lines.txt")).stdout == b"line 1\nline 2\n"
    assert remote.ok("head", "-c", "7", remote.url("lines.txt")).stdout == b"line 1\n"
    assert remote.ok("head", "-c", "100000", remote.url("lines.txt")).stdout == lines
    assert remote.ok("head", "-c", "5", remote.url("empty.txt")).stdout == b""
    assert remote.run("head", remote.url("nope.txt")).returncode == EXIT_NOT_FOUND


def test_mb_rb(remote: Remote) -> None:
    bucket = new_bucket_name("cli")
    url = f"{remote.scheme}://{bucket}"
    doc = remote.ok("--json", "mb", url).json()
    assert doc == {"command": "mb", "bucket": bucket, "url": url}
    again = remote.run("mb", url)
    assert again.returncode == EXIT_CONFLICT, again.stderr
    assert "already exists" in again.stderr
    remote.session.put_object("k1", b"1", bucket=bucket)
    remote.session.put_object("dir/k2", b"2", bucket=bucket)
    not_empty = remote.run("rb", url)
    assert not_empty.returncode == EXIT_CONFLICT
    assert "--force" in not_empty.stderr
    result = remote.ok("rb", "--force", url)
    assert "deleted 2 objects" in result.out
    gone = remote.run("ls", url)
    assert gone.returncode == EXIT_NOT_FOUND
    assert f"no such bucket: {url}" in gone.stderr
    assert remote.run("rb", url).returncode == EXIT_NOT_FOUND
    assert remote.run("mb", url + "/key").returncode == EXIT_USAGE


def test_presign_url_works_without_credentials(remote: Remote) -> None:
    remote.put("shared/file.txt", b"for your eyes")
    url = remote.ok("presign", "--expires", "10m", remote.url("shared/file.txt")).out.strip()
    assert url.startswith("http://127.0.0.1:")
    response = urllib3.request("GET", url, retries=False)
    assert response.status == 200 and response.data == b"for your eyes"
    doc = remote.ok("--json", "presign", remote.url("shared/file.txt")).json()
    assert doc["expires_in"] == 3600 and doc["method"] == "GET"
    assert urllib3.request("GET", doc["url"], retries=False).data == b"for your eyes"


def test_sync_both_ways(remote: Remote, tmp_path: Path) -> None:
    src = tmp_path / "site"
    files = make_tree(src)
    first = remote.ok("--json", "sync", str(src), remote.url("site"))
    doc = first.json()
    assert len(doc["copied"]) == len(files) and doc["unchanged"] == 0
    assert sorted(remote.names("site/")) == sorted(f"site/{rel}" for rel in files)
    again = remote.ok("--json", "sync", str(src), remote.url("site/")).json()
    assert again["copied"] == [] and again["unchanged"] == len(files)

    # a change, a new file, and a file only the bucket has
    (src / "a.txt").write_bytes(b"alpha, changed\n")
    (src / "new.txt").write_bytes(b"new")
    remote.put("site/stale.txt", b"stale")
    before = {k: remote.get(k) for k in remote.names()}
    dry = remote.ok("sync", "--delete", "--dry-run", str(src), remote.url("site"))
    assert "(dry run) upload:" in dry.out and "(dry run) delete:" in dry.out
    assert {k: remote.get(k) for k in remote.names()} == before  # nothing changed
    doc = remote.ok("--json", "sync", "--delete", str(src), remote.url("site")).json()
    assert sorted(c["dest"] for c in doc["copied"]) == [
        remote.url("site/a.txt"),
        remote.url("site/new.txt"),
    ]
    assert doc["deleted"] == [remote.url("site/stale.txt")]
    assert remote.get("site/a.txt") == b"alpha, changed\n"
    assert "site/stale.txt" not in remote.names()

    # down: into an empty directory, then again (nothing to do), then with --delete
    down = tmp_path / "down"
    remote.ok("sync", remote.url("site"), str(down))
    assert read_tree(down) == read_tree(src)
    nothing = remote.ok("--json", "sync", remote.url("site"), str(down)).json()
    assert nothing["copied"] == [] and nothing["deleted"] == []
    (down / "extra.txt").write_bytes(b"extra")
    (down / "sub" / "b.txt").write_bytes(b"different size")
    remote.ok("sync", "--dry-run", "--delete", remote.url("site"), str(down))
    assert (down / "extra.txt").exists()
    assert (down / "sub" / "b.txt").read_bytes() == b"different size"
    remote.ok("sync", "--delete", remote.url("site"), str(down))
    assert read_tree(down) == read_tree(src)

    # remote to remote, then with --checksum nothing differs
    remote.ok("sync", remote.url("site"), remote.url("mirror"))
    assert sorted(k[len("mirror/") :] for k in remote.names("mirror/")) == sorted(read_tree(src))
    same = remote.ok("--json", "sync", "--checksum", remote.url("site"), remote.url("mirror"))
    assert same.json()["copied"] == []
    same = remote.ok("--json", "sync", "--checksum", str(src), remote.url("site"))
    assert same.json()["copied"] == []


def test_sync_usage_and_missing_source(remote: Remote, tmp_path: Path) -> None:
    missing = remote.run("sync", str(tmp_path / "nope"), remote.url("x"))
    assert missing.returncode == EXIT_NOT_FOUND
    file = tmp_path / "file.txt"
    file.write_bytes(b"x")
    assert remote.run("sync", str(file), remote.url("x")).returncode == EXIT_USAGE
    assert remote.run("sync", str(tmp_path), "-").returncode == EXIT_USAGE


def test_not_found_exit_codes(remote: Remote, tmp_path: Path) -> None:
    checks = [
        ("cat", remote.url("missing.txt")),
        ("cp", remote.url("missing.txt"), str(tmp_path / "x")),
        ("cp", str(tmp_path / "missing.txt"), remote.url("x")),
        ("ls", remote.url("missing/")),
        ("ls", f"{remote.scheme}://{new_bucket_name('gone')}"),
        ("cp", "-r", remote.url("missing/"), str(tmp_path / "y")),
    ]
    for args in checks:
        result = remote.run(*args)
        assert result.returncode == EXIT_NOT_FOUND, (args, result.stderr)
        assert "Traceback" not in result.stderr
    as_json = remote.run("--json", "cat", remote.url("missing.txt"))
    error = json.loads(as_json.stderr)["error"]
    assert error == {
        "code": "NoSuchKey",
        "message": f"no such object: {remote.url('missing.txt')} (NoSuchKey)",
        "exit": EXIT_NOT_FOUND,
    }
    assert not (tmp_path / "x").exists()


def test_ls_versions(remote: Remote) -> None:
    if remote.scheme == "s3":
        remote.session.set_bucket_versioning(True, bucket=remote.bucket)
    remote.put("doc.txt", b"one")
    remote.put("doc.txt", b"two!")
    entries = remote.ok("--json", "ls", "--versions", remote.url("doc.txt")).json_lines()
    assert [e["content_length"] for e in entries] == [4, 3]
    assert [e["is_latest"] for e in entries] == [True, False]
    assert [e["delete_marker"] for e in entries] == [False, False]
    assert all(e["version_id"] for e in entries)
    long = remote.ok("ls", "-l", "--versions", remote.url("doc.txt")).out.splitlines()
    assert len(long) == 2 and "latest" in long[0] and entries[1]["version_id"] in long[1]


def test_multipart_threshold_upload_and_download(remote: Remote, tmp_path: Path) -> None:
    # S3 parts are at least 5 MiB; the B2 test server allows 5 kB.
    size, part = (6 * 1024 * 1024, "5M") if remote.scheme == "s3" else (250_000, "100K")
    data = os.urandom(size)
    (tmp_path / "big.bin").write_bytes(data)
    opts = ["--multipart-threshold", "64K", "--part-size", part]
    if remote.server is not None:
        remote.server.reset_counts()
    remote.ok("cp", *opts, str(tmp_path / "big.bin"), remote.url("big.bin"))
    head = remote.session.head_object("big.bin", bucket=remote.bucket)
    assert head.content_length == size
    if remote.server is None:
        assert (head.etag or "").endswith("-2")  # S3: two parts
    else:
        assert remote.server.calls["b2_upload_part"] == 3
        assert remote.server.calls["b2_finish_large_file"] == 1
    remote.ok("cp", *opts, remote.url("big.bin"), str(tmp_path / "back.bin"))
    if remote.server is not None:  # ranged GETs, pinned to the version (file id) first seen
        assert remote.server.calls["b2_download_file_by_id"] >= 3
    assert hashlib.sha256((tmp_path / "back.bin").read_bytes()).digest() == (
        hashlib.sha256(data).digest()
    )
    assert remote.ok("cat", remote.url("big.bin")).stdout == data


def test_recursive_download_refuses_keys_that_escape(
    s3_cli: Remote, b2_cli: Remote, tmp_path: Path
) -> None:
    target = tmp_path / "inside" / "target"
    # B2 stores names with '..' (SeaweedFS refuses them); both store drive-letter names.
    b2_cli.put("esc/ok.txt", b"fine")
    b2_cli.put("esc/../../escaped.txt", b"evil")
    result = b2_cli.run("cp", "-r", b2_cli.url("esc"), str(target))
    assert result.returncode == EXIT_FAILURE
    assert "refusing key '../../escaped.txt'" in result.stderr
    result = b2_cli.run("sync", b2_cli.url("esc"), str(target))
    assert result.returncode == EXIT_FAILURE and "refusing" in result.stderr
    s3_cli.put("esc/C:/windows.txt", b"evil")
    result = s3_cli.run("cp", "-r", s3_cli.url("esc/"), str(target))
    assert result.returncode == EXIT_FAILURE and "drive letter" in result.stderr
    # a symbolic link inside the target that points outside it
    outside = tmp_path / "outside"
    outside.mkdir()
    target.mkdir(parents=True)
    (target / "link").symlink_to(outside)
    s3_cli.put("sym/link/pwned.txt", b"evil")
    result = s3_cli.run("cp", "-r", s3_cli.url("sym"), str(target))
    assert result.returncode == EXIT_FAILURE and "symbolic link" in result.stderr
    # nothing written anywhere: not outside, and (the whole download refused) not inside
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert written == ["inside", "inside/target", "inside/target/link", "outside"]
    # a single object is written under its base name, inside the target
    b2_cli.ok("cp", b2_cli.url("esc/../../escaped.txt"), str(target) + "/")
    assert (target / "escaped.txt").read_bytes() == b"evil"


def test_copy_between_backends(s3_cli: Remote, b2_cli: Remote) -> None:
    data = os.urandom(2000)
    s3_cli.put("cross/data.bin", data)
    env = {**s3_cli.env, **b2_cli.env}
    opts = [*s3_cli.opts, *b2_cli.opts]
    result = run_cli(*opts, "cp", s3_cli.url("cross/data.bin"), b2_cli.url("in/"), env=env)
    assert result.returncode == 0, result.stderr
    assert b2_cli.get("in/data.bin") == data
    result = run_cli(*opts, "sync", b2_cli.url("in"), s3_cli.url("back"), env=env)
    assert result.returncode == 0, result.stderr
    assert s3_cli.get("back/data.bin") == data


def test_global_options_after_the_command(s3_cli: Remote) -> None:
    s3_cli.put("k.txt", b"k")
    result = run_cli("ls", "--json", "--endpoint-url", s3_cli.opts[1], s3_cli.url(), env=s3_cli.env)
    assert result.returncode == 0, result.stderr
    assert result.json_lines()[0]["key"] == "k.txt"


def test_quiet_prints_nothing_but_errors(s3_cli: Remote, tmp_path: Path) -> None:
    (tmp_path / "q.txt").write_bytes(b"q")
    result = s3_cli.ok("-q", "cp", str(tmp_path / "q.txt"), s3_cli.url())
    assert result.stdout == b"" and result.stderr == ""


# --- lock ----------------------------------------------------------------------------------------

#: Run inside `s3lite lock`: can another client take the lock now? Prints acquired/refused.
PROBE = """
import os, sys
from s3lite.lock import DistributedLock
scheme, bucket, key, mode = sys.argv[1:5]
if scheme == "s3":
    from s3lite import S3Session
    session = S3Session(endpoint_url=os.environ["TEST_S3_ENDPOINT"])
else:
    from s3lite.b2 import B2Session
    session = B2Session(api_url=os.environ["B2_API_URL"])
lock = DistributedLock(session, key, bucket=bucket, exclusive=mode == "exclusive")
got = lock.acquire(blocking=False)
if got:
    lock.release()
print("acquired" if got else "refused")
"""


def lock_in_process(remote: Remote, key: str, *, exclusive: bool = True) -> Any:
    from s3lite.lock import DistributedLock

    return DistributedLock(remote.session, key, bucket=remote.bucket, exclusive=exclusive)


def probe(remote: Remote, key: str, mode: str) -> list[str]:
    return [sys.executable, "-c", PROBE, remote.scheme, remote.bucket, key, mode]


def lock_env(remote: Remote) -> None:
    if remote.scheme == "s3":
        remote.env["TEST_S3_ENDPOINT"] = remote.opts[1]


def test_lock_holds_the_lock_while_the_command_runs(remote: Remote) -> None:
    lock_env(remote)
    url = remote.url("locks/job")
    inside = remote.ok("lock", url, "--", *probe(remote, "locks/job", "shared"))
    assert inside.out.strip() == "refused"  # held (exclusively) while the command ran
    shared = remote.ok("lock", "--shared", url, "--", *probe(remote, "locks/job", "shared"))
    assert shared.out.strip() == "acquired"  # shared locks admit each other
    shared = remote.ok("lock", "--shared", url, "--", *probe(remote, "locks/job", "exclusive"))
    assert shared.out.strip() == "refused"
    # the command's exit code; and the lock released afterwards, its objects gone
    code = [sys.executable, "-c", "import sys; sys.exit(7)"]
    assert remote.run("lock", "--ttl", "20", url, "--", *code).returncode == 7
    after = lock_in_process(remote, "locks/job")
    assert after.acquire(blocking=False)
    after.release()
    assert remote.names("locks/") == []


def test_lock_held_elsewhere_exits_6_without_running(remote: Remote, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    touch = [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]
    holder = lock_in_process(remote, "locks/busy")
    assert holder.acquire(blocking=False)
    try:
        url = remote.url("locks/busy")
        result = remote.run("lock", "--timeout", "0", url, "--", *touch)
        assert result.returncode == EXIT_CONFLICT, result.stderr
        assert "held by someone else" in result.stderr
        waited = remote.run("lock", "--timeout", "0.5", "--shared", url, "--", *touch)
        assert waited.returncode == EXIT_CONFLICT, waited.stderr
        assert not marker.exists()
    finally:
        holder.release()
    reader = lock_in_process(remote, "locks/busy", exclusive=False)
    assert reader.acquire(blocking=False)
    try:
        remote.ok("lock", "--shared", "--timeout", "0", url, "--", *touch)
        assert marker.exists()
    finally:
        reader.release()


def test_lock_lost_while_running_stops_the_command(remote: Remote, tmp_path: Path) -> None:
    started, finished = tmp_path / "started", tmp_path / "finished"
    script = (
        f"import time; open({str(started)!r}, 'w').close(); time.sleep(120); "
        f"open({str(finished)!r}, 'w').close()"
    )
    env = {**os.environ, **remote.env}
    args = [*remote.opts, "lock", "--ttl", "6", remote.url("locks/lost"), "--"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "s3lite", *args, sys.executable, "-c", script],
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists()
        breaker = lock_in_process(remote, "locks/lost")
        everything = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        while proc.poll() is None and time.monotonic() < deadline:
            breaker.break_other_locks(everything)  # again, should a renewal have raced it
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=2)
        assert proc.returncode == EXIT_FAILURE
        assert proc.stderr is not None
        stderr = proc.stderr.read().decode()
        assert "was lost while the command ran" in stderr and "stopped" in stderr
        assert not finished.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_lock_usage(s3_cli: Remote) -> None:
    url = s3_cli.url("locks/u")
    assert s3_cli.run("lock", url).returncode == EXIT_USAGE
    assert s3_cli.run("lock", url, "--").returncode == EXIT_USAGE
    assert s3_cli.run("lock", s3_cli.url(), "--", "true").returncode == EXIT_USAGE
    assert s3_cli.run("lock", "--timeout", "-1", url, "--", "true").returncode == EXIT_USAGE
    missing = s3_cli.run("lock", url, "--", "no-such-command-s3lite-test")
    assert missing.returncode == 127 and "command not found" in missing.stderr


# --- pieces, in process --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "../x",
        "a/../../x",
        "a/..",
        "/etc/passwd",
        "\\windows\\x",
        "C:/x",
        "c:x",
        "a/..\\..\\x",
        "nul\x00byte",
        "",
        "./",
    ],
)
def test_safe_local_path_refuses(tmp_path: Path, key: str) -> None:
    with pytest.raises(commands.CLIError) as info:
        commands.safe_local_path(str(tmp_path), key)
    assert "refusing key" in info.value.message
    assert info.value.code == EXIT_FAILURE


@pytest.mark.parametrize(
    ("key", "rel"),
    [("a.txt", "a.txt"), ("a/b/c.txt", "a/b/c.txt"), ("a//b", "a/b"), ("./a", "a"), ("..a", "..a")],
)
def test_safe_local_path_allows(tmp_path: Path, key: str, rel: str) -> None:
    assert commands.safe_local_path(str(tmp_path), key) == str(tmp_path / rel)


def test_parse_location() -> None:
    loc = commands.parse_location("s3://bucket/dir/key.txt")
    assert (loc.scheme, loc.bucket, loc.key) == ("s3", "bucket", "dir/key.txt")
    assert str(loc) == "s3://bucket/dir/key.txt"
    assert commands.parse_location("B2://b/").key == ""
    assert commands.parse_location("-").stdio
    assert commands.parse_location("C:\\data\\x").path == "C:\\data\\x"
    with pytest.raises(commands.CLIError):
        commands.parse_location("http://example.com/x")


def test_size_and_duration_options() -> None:
    assert cli.size_type("1048576") == 1024 * 1024
    assert cli.size_type("8M") == cli.size_type("8MiB") == cli.size_type("8mb") == 8 << 20
    assert cli.size_type("1.5K") == 1536
    assert cli.duration_type("15m") == 900 and cli.duration_type("7d") == 604800


def test_exit_code_constants_match_the_help() -> None:
    assert (commands.EXIT_NOT_FOUND, commands.EXIT_ACCESS_DENIED) == (3, 4)
    assert (commands.EXIT_NO_CREDENTIALS, commands.EXIT_CONFLICT) == (5, 6)
    for code, word in ((3, "not found"), (4, "access denied"), (5, "no credentials")):
        assert re.search(rf"^\s+{code}\s+{word}", cli.EPILOG, re.M)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_bar_draws_at_most_every_interval_and_clears() -> None:
    stream, clock = FakeTTY(), FakeClock()
    bar = ProgressBar(1000, "file.bin", stream=stream, clock=clock, width=80, delay=0.5)
    bar.update(100)
    assert stream.getvalue() == ""  # not before the delay: quick transfers show nothing
    clock.now += 1.0
    bar.update(100)
    first = stream.getvalue()
    assert first.startswith("\rfile.bin [") and " 20%" in first and "ETA 0:04" in first
    assert "200 B / 1000 B" in first and "200 B/s" in first
    bar.update(100)  # same instant: throttled
    assert stream.getvalue() == first
    clock.now += 0.25
    bar.update(100)
    assert " 40%" in stream.getvalue()
    assert all(len(line) < 80 for line in stream.getvalue().split("\r"))
    bar.close()
    assert stream.getvalue().endswith("\r")  # erased
    bar.update(100)  # closed: no more drawing
    assert stream.getvalue().endswith("\r")


def test_progress_bar_tracker_turns_running_totals_into_increments() -> None:
    stream, clock = FakeTTY(), FakeClock()
    bar = ProgressBar(None, stream=stream, clock=clock, width=60)
    progress = bar.tracker(adopt_total=True)
    progress(10, 100)
    progress(60, 100)
    assert (bar.done, bar.total) == (60, 100)
    other = bar.tracker()
    other(5, 7)
    assert (bar.done, bar.total) == (65, 100)


def test_progress_bar_is_off_when_not_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(10, stream=stream, delay=0)
    assert not bar.enabled
    bar.update(5, force=True)
    assert stream.getvalue() == ""


def test_human_sizes_and_durations() -> None:
    assert human_size(0) == "0 B" and human_size(1023) == "1023 B"
    assert human_size(1536) == "1.5 KiB" and human_size(5 << 30) == "5.0 GiB"
    assert format_duration(7) == "0:07" and format_duration(3723) == "1:02:03"


# --- keys and files without a faithful counterpart ---------------------------------------------

EXIT_SKIPPED = 7


@pytest.fixture
def moto_cli(moto: Any, moto_s3: Any) -> Remote:
    """S3 on moto, which stores `dir//file`, `./x` and `a/./b` as they are (SeaweedFS does
    not)."""
    env = {"AWS_ACCESS_KEY_ID": "AKIDMOTO", "AWS_SECRET_ACCESS_KEY": "moto-secret"}
    return Remote("s3", moto_s3.bucket, moto_s3, env, ["--endpoint-url", moto.endpoint_url])


UNFAITHFUL = ["d/dir//file", "d/./x", "d/a/./b", "d//lead", "d/marker/", "d/f"]


def _unfaithful_bucket(remote: Remote) -> None:
    for key in UNFAITHFUL:
        remote.put(key, b"unfaithful " + key.encode())
    remote.put("d/ok.txt", b"fine")
    remote.put("d/f/g", b"f is a folder too")
    remote.put("d/empty/", b"")  # a plain folder marker: silently nothing to write


def test_sync_delete_skips_keys_without_a_faithful_local_path(
    moto_cli: Remote, tmp_path: Path
) -> None:
    _unfaithful_bucket(moto_cli)
    target = tmp_path / "t"
    target.mkdir()
    (target / "dir").mkdir()
    (target / "dir" / "file").write_bytes(b"mine")  # what dir//file would collapse onto
    (target / "stale.txt").write_bytes(b"extra")
    for run in range(2):
        result = moto_cli.run("--json", "sync", "--delete", moto_cli.url("d"), str(target))
        assert result.returncode == EXIT_SKIPPED, result.stderr
        doc = result.json()
        assert sorted(s["source"] for s in doc["skipped"]) == sorted(
            moto_cli.url(k) for k in UNFAITHFUL
        )
        assert doc["ok"] is False
        for key in UNFAITHFUL:
            assert f"skipping {moto_cli.url(key)}" in result.stderr
        assert doc["deleted"] == ([str(target / "stale.txt")] if run == 0 else [])
        assert len(doc["copied"]) == (2 if run == 0 else 0)
        assert read_tree(target) == {
            "dir/file": b"mine",
            "ok.txt": b"fine",
            "f/g": b"f is a folder too",
        }
    result = moto_cli.run("sync", "--delete", moto_cli.url("d"), str(target))
    assert result.returncode == EXIT_SKIPPED
    assert "6 skipped" in result.out + result.stderr


def test_recursive_copy_skips_keys_without_a_faithful_local_path(
    moto_cli: Remote, tmp_path: Path
) -> None:
    _unfaithful_bucket(moto_cli)
    result = moto_cli.run("cp", "-r", moto_cli.url("d"), str(tmp_path / "t"))
    assert result.returncode == EXIT_SKIPPED, result.stderr
    assert result.stderr.count("warning: skipping") == len(UNFAITHFUL)
    assert read_tree(tmp_path / "t") == {"ok.txt": b"fine", "f/g": b"f is a folder too"}
    # keys that would escape are still refused outright, before anything is written
    moto_cli.put("e/../escaped", b"evil")
    moto_cli.put("e/ok", b"fine")
    result = moto_cli.run("cp", "-r", moto_cli.url("e"), str(tmp_path / "e"))
    assert result.returncode == EXIT_FAILURE and "refusing key '../escaped'" in result.stderr
    assert not (tmp_path / "e").exists()


def test_upload_skips_local_names_that_cannot_be_keys(moto_cli: Remote, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.txt").write_bytes(b"fine")
    bad = os.path.join(os.fsencode(src), b"not-utf8-\xff.txt")
    with open(bad, "wb") as f:
        f.write(b"latin-1 name")
    for args in (["sync", "--delete"], ["cp", "-r"]):
        result = moto_cli.run("--json", *args, str(src), moto_cli.url("up"))
        assert result.returncode == EXIT_SKIPPED, result.stderr
        assert "not valid UTF-8" in result.stderr
        doc = json.loads(result.stdout.decode("utf-8", "surrogateescape"))
        assert len(doc["skipped"]) == 1
        assert moto_cli.names("up/") == ["up/ok.txt"]
