"""The command line at parity with `aws s3` and s5cmd: filters, wildcards, upload options,
the spellings users type from habit, du/stat, batch mode, the JSON error schema, and many
small files on a bounded worker pool. End to end: the real `s3lite` command in subprocesses
against SeaweedFS, moto and the B2 test server."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from faultproxy import DelayFirstByte, FaultProxy
from test_cli import (  # fixtures are registered where they are imported
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    Remote,
    b2_cli,
    make_tree,
    read_tree,
    remote,
    run_cli,
    s3_cli,
)

__all__ = ["b2_cli", "remote", "s3_cli"]

EXIT_FAILURE = 1
SSE_C_KEY = "0123456789abcdef0123456789abcdef"  # 32 bytes


def s3lite_exe() -> str:
    """The installed `s3lite` console script (the real command, not `python -m`)."""
    return os.path.join(os.path.dirname(sys.executable), "s3lite")


def put_many(remote: Remote, names: dict[str, bytes]) -> None:
    for key, data in names.items():
        remote.put(key, data)


# --- filters -------------------------------------------------------------------------------------


def test_include_exclude_later_filter_wins(remote: Remote, tmp_path: Path) -> None:
    make_tree(tmp_path / "src")  # a.txt, sub/b.txt, sub/deep/c.bin, empty.txt
    remote.ok("cp", "-r", str(tmp_path / "src"), remote.url("up/"),
              "--exclude", "*", "--include", "*.txt", "--exclude", "empty*")  # fmt: skip
    assert sorted(remote.names("up/")) == ["up/a.txt", "up/sub/b.txt"]
    # Patterns are relative to the source prefix; download with a filter.
    remote.ok("cp", "-r", remote.url("up"), str(tmp_path / "down"), "--exclude", "sub/*")
    assert sorted(read_tree(tmp_path / "down")) == ["a.txt"]
    # sync: what is filtered out is neither copied nor deleted.
    remote.put("up/keep.log", b"x")
    remote.ok("sync", "--delete", "--exclude", "*.log", str(tmp_path / "src"), remote.url("up/"))
    names = set(remote.names("up/"))
    assert "up/keep.log" in names and "up/sub/deep/c.bin" in names
    # rm -r with a filter
    out = remote.ok("rm", "-r", remote.url("up/"), "--exclude", "*.txt").out
    assert "deleted 2 objects" in out  # c.bin and keep.log
    assert sorted(remote.names("up/")) == ["up/a.txt", "up/empty.txt", "up/sub/b.txt"]


# --- wildcards -----------------------------------------------------------------------------------


def test_wildcards_in_ls_cp_mv_rm_cat(remote: Remote, tmp_path: Path) -> None:
    put_many(remote, {"w/a.txt": b"A", "w/b.txt": b"B", "w/c.log": b"C", "w/sub/d.txt": b"D",
                      "w/sub/e.txt": b"E", "x/f.txt": b"F"})  # fmt: skip
    ls = remote.ok("ls", remote.url("w/*.txt")).out.split()
    assert ls == [remote.url("w/a.txt"), remote.url("w/b.txt")]  # * stays within a segment
    deep = remote.ok("ls", remote.url("w/**.txt")).out.split()
    assert deep == [remote.url(k) for k in ("w/a.txt", "w/b.txt", "w/sub/d.txt", "w/sub/e.txt")]
    assert remote.ok("ls", remote.url("w/?.log")).out.split() == [remote.url("w/c.log")]
    # rm --dry-run with a wildcard counts what it would delete (the literal key does not exist)
    dry = remote.ok("rm", "--dry-run", remote.url("w/*.txt"))
    assert "would delete 2 objects" in dry.out
    # cat: every match in key order
    assert remote.ok("cat", remote.url("w/sub/*.txt")).stdout == b"DE"
    # cp down: named relative to the literal prefix's folder
    remote.ok("cp", remote.url("w/**.txt"), str(tmp_path / "out") + "/")
    assert read_tree(tmp_path / "out") == {"a.txt": b"A", "b.txt": b"B", "sub/d.txt": b"D",
                                           "sub/e.txt": b"E"}  # fmt: skip
    # mv remote to remote
    remote.ok("mv", remote.url("w/sub/*"), remote.url("moved/"))
    assert sorted(remote.names("moved/")) == ["moved/d.txt", "moved/e.txt"]
    assert remote.names("w/sub/") == []
    # rm for real
    assert "deleted 2 objects" in remote.ok("rm", remote.url("w/*.txt")).out
    assert remote.names("w/") == ["w/c.log"]


def test_a_wildcard_that_matches_nothing_is_exit_3(remote: Remote, tmp_path: Path) -> None:
    remote.put("n/a.txt", b"a")
    for args in (
        ("rm", "--dry-run", remote.url("n/*.zip")),
        ("rm", remote.url("n/*.zip")),
        ("ls", remote.url("n/*.zip")),
        ("cat", remote.url("n/*.zip")),
        ("cp", remote.url("n/*.zip"), str(tmp_path) + "/"),
        ("du", remote.url("n/*.zip")),
    ):
        result = remote.run(*args)
        assert result.returncode == EXIT_NOT_FOUND, (args, result.stderr)
        assert "matches" in result.stderr
    as_json = remote.run("--json", "rm", remote.url("n/*.zip"))
    assert json.loads(as_json.stderr)["error"]["code"] == "NoMatch"


def test_wildcards_refused_where_they_cannot_apply(remote: Remote, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"f")
    remote.put("r/a.txt", b"a")
    refused = [
        ("cp", str(tmp_path / "f.txt"), remote.url("r/*.txt")),  # destination
        ("sync", str(tmp_path), remote.url("r/*")),
        ("sync", remote.url("r/*"), str(tmp_path)),
        ("head", remote.url("r/*.txt")),
        ("presign", remote.url("r/*.txt")),
        ("stat", remote.url("r/*.txt")),
        ("lock", remote.url("r/*.lock"), "--", "true"),
        ("cp", str(tmp_path / "nothing-*.txt"), remote.url("r/")),  # left to the shell
        ("cp", remote.url("r/*.txt"), "-"),  # many objects to stdout
        ("cp", remote.url("r/*.txt"), remote.url("r/one.txt")),  # not a prefix
        ("ls", f"{remote.scheme}://{remote.bucket[:-1]}*/"),  # bucket names
    ]
    for args in refused:
        result = remote.run(*args)
        assert result.returncode == EXIT_USAGE, (args, result.returncode, result.stderr)
        assert "wildcard" in result.stderr or "shell" in result.stderr, result.stderr
    # --raw takes '*' literally
    remote.put("r/star*.txt", b"literal")
    assert remote.ok("--raw", "cat", remote.url("r/star*.txt")).stdout == b"literal"
    assert remote.ok("--raw", "stat", remote.url("r/star*.txt")).returncode == EXIT_OK


# --- upload options ------------------------------------------------------------------------------


def test_upload_options_as_aws_cli_spells_them(s3_cli: Remote, tmp_path: Path) -> None:
    src = tmp_path / "a.js"
    src.write_bytes(b"var a = 1;\n")
    s3_cli.ok("cp", str(src), s3_cli.url("o/a.js"), "--storage-class", "standard_ia",
              "--acl", "private", "--metadata", "owner=ops", "--metadata", "team=db,tier=1",
              "--cache-control", "max-age=60", "--content-encoding", "gzip",
              "--expires", "2030-01-01T00:00:00Z", "--content-type", "text/x-demo")  # fmt: skip
    head = s3_cli.session.head_object("o/a.js", bucket=s3_cli.bucket)
    assert head.headers["x-amz-storage-class"] == "STANDARD_IA"
    assert head.metadata == {"owner": "ops", "team": "db", "tier": "1"}
    assert head.headers["cache-control"] == "max-age=60"
    assert "gzip" in head.headers["content-encoding"]
    assert head.headers["expires"] == "Tue, 01 Jan 2030 00:00:00 GMT"
    assert head.content_type == "text/x-demo"
    # copies: metadata kept by default (COPY), replaced with REPLACE
    s3_cli.ok("cp", s3_cli.url("o/a.js"), s3_cli.url("o/copy.js"))
    assert s3_cli.session.head_object("o/copy.js", bucket=s3_cli.bucket).metadata["owner"] == "ops"
    s3_cli.ok("cp", s3_cli.url("o/a.js"), s3_cli.url("o/new.js"), "--metadata-directive",
              "REPLACE", "--metadata", "owner=web", "--content-type", "text/plain")  # fmt: skip
    new = s3_cli.session.head_object("o/new.js", bucket=s3_cli.bucket)
    assert new.metadata == {"owner": "web"} and new.content_type == "text/plain"
    # sync takes the same options
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "i.html").write_bytes(b"<p>")
    s3_cli.ok("sync", str(tmp_path / "site"), s3_cli.url("site/"), "--cache-control", "no-cache")
    head = s3_cli.session.head_object("site/i.html", bucket=s3_cli.bucket)
    assert head.headers["cache-control"] == "no-cache"
    bad = [
        ("--sse-kms-key-id", "k"),  # without --sse aws:kms
        ("--sse-c",),  # without a key
        ("--sse-c", "--sse-c-key", "short"),
        ("--metadata", "novalue"),
        ("--acl", "nonsense"),
        ("--expires", "someday"),
    ]
    for extra in bad:
        result = s3_cli.run("cp", str(src), s3_cli.url("o/bad.js"), *extra)
        assert result.returncode == EXIT_USAGE, (extra, result.stderr)
    assert "o/bad.js" not in s3_cli.names("o/")
    copy_bad = s3_cli.run("cp", s3_cli.url("o/a.js"), s3_cli.url("o/c2.js"),
                          "--metadata-directive", "COPY", "--metadata", "a=b")  # fmt: skip
    assert copy_bad.returncode == EXIT_USAGE


def test_sse_s3_and_kms_headers_reach_the_server(moto: Any, moto_s3: Any, tmp_path: Path) -> None:
    cli = Remote("s3", moto_s3.bucket, moto_s3,
                 {"AWS_ACCESS_KEY_ID": "AKIDMOTO", "AWS_SECRET_ACCESS_KEY": "moto-secret"},
                 ["--endpoint-url", moto.endpoint_url])  # fmt: skip
    src = tmp_path / "a.txt"
    src.write_bytes(b"secret-ish")
    cli.ok("cp", str(src), cli.url("aes.txt"), "--sse")  # AES256 is the default value
    head = moto_s3.head_object("aes.txt", bucket=cli.bucket)
    assert head.headers["x-amz-server-side-encryption"] == "AES256"
    key_id = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    result = cli.run("cp", str(src), cli.url("kms.txt"), "--sse", "aws:kms",
                     "--sse-kms-key-id", key_id)  # fmt: skip
    assert result.returncode == EXIT_OK, result.stderr
    head = moto_s3.head_object("kms.txt", bucket=cli.bucket)
    assert head.headers["x-amz-server-side-encryption"] == "aws:kms"
    assert head.headers["x-amz-server-side-encryption-aws-kms-key-id"] == key_id


def test_sse_c_both_directions(s3_cli: Remote, tmp_path: Path) -> None:
    data = os.urandom(5000)
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "c.bin").write_bytes(data)
    key = ["--sse-c", "--sse-c-key", SSE_C_KEY]
    s3_cli.ok("cp", str(tmp_path / "up" / "c.bin"), s3_cli.url("c/c.bin"), *key)
    # without the key the server refuses to hand it out; nothing is written
    denied = s3_cli.run("cp", s3_cli.url("c/c.bin"), str(tmp_path / "nokey.bin"))
    assert denied.returncode != EXIT_OK
    assert not (tmp_path / "nokey.bin").exists()
    s3_cli.ok("cp", s3_cli.url("c/c.bin"), str(tmp_path / "down.bin"), *key)
    assert (tmp_path / "down.bin").read_bytes() == data
    assert s3_cli.ok("cp", s3_cli.url("c/c.bin"), "-", *key).stdout == data
    # the key from a file, and recursive copies
    (tmp_path / "key.bin").write_bytes(SSE_C_KEY.encode())
    s3_cli.ok("cp", "-r", s3_cli.url("c/"), str(tmp_path / "tree"), "--sse-c",
              "--sse-c-key", f"fileb://{tmp_path / 'key.bin'}")  # fmt: skip
    assert (tmp_path / "tree" / "c.bin").read_bytes() == data
    # a remote copy: the source's key, and a new key for the copy
    other = "abcdefabcdefabcdefabcdefabcdefab"
    s3_cli.ok("cp", s3_cli.url("c/c.bin"), s3_cli.url("c/c2.bin"), "--sse-c-copy-source",
              "--sse-c-copy-source-key", SSE_C_KEY, "--sse-c", "--sse-c-key", other)  # fmt: skip
    assert s3_cli.ok("cp", s3_cli.url("c/c2.bin"), "-", "--sse-c-key", other).stdout == data
    assert s3_cli.run("cp", s3_cli.url("c/c2.bin"), "-", *key).returncode != EXIT_OK
    # what the server got: the key's MD5 matches the one the helper computes
    from s3lite.cli_transfer import sse_c_headers

    headers = sse_c_headers(SSE_C_KEY.encode())
    md5 = base64.b64encode(hashlib.md5(SSE_C_KEY.encode()).digest()).decode()  # noqa: S324
    assert headers["x-amz-server-side-encryption-customer-key-MD5"] == md5
    assert SSE_C_KEY not in repr(run_cli)  # never printed: checked in the parser below
    from s3lite.cli import build_parser

    args = build_parser().parse_args(["cp", "a", "s3://b/k", *key])
    assert SSE_C_KEY not in repr(args)


def test_b2_object_options(b2_cli: Remote, tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_bytes(b"b2 data")
    b2_cli.ok("cp", str(src), b2_cli.url("a.txt"), "--metadata", "owner=ops",
              "--cache-control", "max-age=5", "--content-type", "text/x-b2")  # fmt: skip
    head = b2_cli.session.head_object("a.txt", bucket=b2_cli.bucket)
    assert head.metadata.get("owner") == "ops"
    assert head.headers.get("cache-control") == "max-age=5"
    assert head.content_type == "text/x-b2"
    for extra in (("--storage-class", "GLACIER"), ("--sse",), ("--acl", "private")):
        result = b2_cli.run("cp", str(src), b2_cli.url("b.txt"), *extra)
        assert result.returncode == EXIT_USAGE, (extra, result.stderr)
        assert "s3:// only" in result.stderr


# --- habit spellings, du, stat -------------------------------------------------------------------


def test_aws_cli_spellings(remote: Remote, tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    dry = remote.ok("cp", "--recursive", "--dryrun", str(tmp_path / "src"), remote.url("h/"))
    assert "(dry run)" in dry.out and remote.names("h/") == []
    quiet = remote.ok("cp", "--recursive", "--only-show-errors", str(tmp_path / "src"),
                      remote.url("h/"))  # fmt: skip
    assert quiet.out == "" and quiet.stderr == ""
    assert len(remote.names("h/")) == 4
    shown = remote.ok("--no-progress", "rm", "--recursive", "--dryrun", remote.url("h/sub/"))
    assert "would delete 2 objects" in shown.out
    failed = remote.run("cp", "--only-show-errors", remote.url("h/missing"), str(tmp_path / "m"))
    assert failed.returncode == EXIT_NOT_FOUND and "NoSuchKey" in failed.stderr
    # ls --summarize / --human-readable
    summary = remote.ok("ls", "--recursive", "--summarize", remote.url("h/")).out
    total = sum(len(v) for v in make_tree(tmp_path / "again").values())
    assert "Total Objects: 4" in summary and f"Total Size: {total} bytes" in summary
    human = remote.ok("ls", "-r", "--human-readable", "--summarize", remote.url("h/")).out
    assert re.search(r"Total Size: [\d.]+ KiB", human), human
    assert re.search(r"^\s+[\d.]+ (B|KiB)\s+\d{4}-", human, re.M), human
    # du: total size and count
    du = remote.ok("du", remote.url("h/")).out
    assert du.strip() == f"{total} bytes in 4 objects: {remote.url('h/')}"
    doc = remote.ok("--json", "du", remote.url("h/sub/")).json()
    assert doc["objects"] == 2 and doc["size"] == 12 + 3000
    both = remote.ok("du", "-H", remote.url("h/sub/"), remote.url("h/a.txt")).out.splitlines()
    assert both[-1] == "2.9 KiB in 3 objects: total", both
    lines = remote.ok("--json", "ls", "-r", "--summarize", remote.url("h/")).json_lines()
    assert lines[-1] == {"type": "summary", "objects": 4, "size": total}
    # stat: table and JSON
    remote.ok("cp", str(tmp_path / "src" / "a.txt"), remote.url("h/meta.txt"),
              "--metadata", "owner=ops")  # fmt: skip
    table = remote.ok("stat", remote.url("h/meta.txt")).out
    assert re.search(r"^Size\s+6 ", table, re.M) and re.search(r"^meta: owner\s+ops$", table, re.M)
    info = remote.ok("--json", "stat", remote.url("h/meta.txt")).json()
    assert info["content_length"] == 6 and info["metadata"] == {"owner": "ops"} and info["etag"]
    missing = remote.run("stat", remote.url("h/none"))
    assert missing.returncode == EXIT_NOT_FOUND and "NoSuchKey" in missing.stderr


def test_sync_exact_timestamps(s3_cli: Remote, tmp_path: Path) -> None:
    s3_cli.put("t/a.txt", b"same")
    s3_cli.ok("sync", s3_cli.url("t/"), str(tmp_path / "d"))
    local = tmp_path / "d" / "a.txt"
    future = local.stat().st_mtime + 3600  # a newer local file of the same size
    os.utime(local, (future, future))
    assert "copy 0" in s3_cli.ok("sync", s3_cli.url("t/"), str(tmp_path / "d")).out
    out = s3_cli.ok("sync", "--exact-timestamps", s3_cli.url("t/"), str(tmp_path / "d")).out
    assert "copy 1" in out
    assert int(local.stat().st_mtime) != int(future)


# --- batch mode ----------------------------------------------------------------------------------


def test_run_batch_file_and_stdin(remote: Remote, tmp_path: Path) -> None:
    for i in range(6):
        (tmp_path / f"f{i}.txt").write_bytes(f"file {i}".encode())
    lines = [f"cp {tmp_path / f'f{i}.txt'} {remote.url(f'b/f{i}.txt')}" for i in range(6)]
    batch = tmp_path / "cmds.txt"
    batch.write_text("# uploads\n\n" + "\n".join(lines) + "\n")
    result = remote.ok("run", "--jobs", "3", str(batch))
    assert sorted(remote.names("b/")) == [f"b/f{i}.txt" for i in range(6)]
    assert "6 commands, 6 succeeded, 0 failed" in result.stderr
    script = (f"s3lite rm {remote.url('b/f0.txt')}\n"
              f"rm {remote.url('b/missing.txt')}\n"
              f"cp --bogus x y\n"
              f"cat {remote.url('b/f1.txt')}\n").encode()  # fmt: skip
    mixed = remote.run("run", "-", input=script)
    assert mixed.returncode == EXIT_FAILURE, mixed.stderr
    assert "4 commands, 2 succeeded, 2 failed" in mixed.stderr
    assert "line 2" in mixed.stderr and "NoSuchKey" in mixed.stderr
    assert "line 3" in mixed.stderr and "--bogus" in mixed.stderr
    assert b"file 1" in mixed.stdout
    assert "b/f0.txt" not in remote.names("b/")
    script = b"\n".join(script.splitlines()[1:3]) + b"\n"  # the two failing lines
    as_json = remote.run("--json", "run", "-", input=script)
    assert as_json.returncode == EXIT_FAILURE
    summary = json.loads(as_json.out.splitlines()[-1])
    assert summary["total"] == 2 and [f["line"] for f in summary["failed"]] == [1, 2]
    errors = [json.loads(line) for line in as_json.stderr.splitlines() if line.startswith("{")]
    assert [e["error"]["code"] for e in errors] == ["NoSuchKey"]
    secret = f"cp {remote.url('b/none')} {tmp_path}/ --sse-c --sse-c-key {SSE_C_KEY}\n"
    hidden = remote.run("--json", "run", "-", input=secret.encode())
    assert hidden.returncode == EXIT_FAILURE
    assert SSE_C_KEY not in hidden.stderr + hidden.out and "<hidden>" in hidden.out
    nested = remote.run("run", "-", input=b"lock s3://x/y -- true\n")
    assert nested.returncode == EXIT_FAILURE and "cannot run in a batch" in nested.stderr


# --- rough edges ---------------------------------------------------------------------------------


def test_json_errors_have_one_schema(remote: Remote, tmp_path: Path) -> None:
    cases = [
        (("cat", remote.url("nope")), "NoSuchKey", EXIT_NOT_FOUND),
        (("ls", f"{remote.scheme}://{remote.bucket}-gone/x"), "NoSuchBucket", EXIT_NOT_FOUND),
        (("rm", remote.url()), "UsageError", EXIT_USAGE),
        (("cp", str(tmp_path / "none.txt"), remote.url("x")), "NotFound", EXIT_NOT_FOUND),
        (("mb", remote.url()), None, 6),
    ]
    for args, code, exit_code in cases:
        result = remote.run("--json", *args)
        assert result.returncode == exit_code, (args, result.stderr)
        doc = json.loads(result.stderr)
        assert set(doc) == {"error"} and set(doc["error"]) == {"code", "message", "exit"}
        assert doc["error"]["exit"] == exit_code
        assert isinstance(doc["error"]["code"], str) and doc["error"]["code"]
        if code is not None:
            assert doc["error"]["code"] == code, (args, doc)


def test_prefix_without_r_hints_add_r(remote: Remote, tmp_path: Path) -> None:
    remote.put("dir/a.txt", b"a")
    result = remote.run("cp", remote.url("dir"), str(tmp_path / "out"))
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "add -r" in result.stderr
    missing = remote.run("cp", remote.url("nothing"), str(tmp_path / "out"))
    assert missing.returncode == EXIT_NOT_FOUND and "NoSuchKey" in missing.stderr


def test_unknown_flag_prints_the_subcommand_usage() -> None:
    result = subprocess.run([s3lite_exe(), "cp", "--bogus", "a", "s3://b/k"],
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == EXIT_USAGE
    assert "usage: s3lite cp" in result.stderr and "SOURCE DEST" in result.stderr
    assert "unrecognized arguments: --bogus" in result.stderr
    as_json = run_cli("--json", "cp", "--bogus", "a", "s3://b/k")
    assert json.loads(as_json.stderr) == {
        "error": {
            "code": "UsageError",
            "message": "s3lite cp: unrecognized arguments: --bogus",
            "exit": 2,
        }
    }


NEW_FLAGS = {
    "cp": ["--dryrun", "--recursive", "--exclude", "--include", "--jobs", "--storage-class",
           "--acl", "--sse", "--sse-kms-key-id", "--sse-c", "--sse-c-key", "--metadata",
           "--cache-control", "--content-encoding", "--expires", "--metadata-directive"],
    "mv": ["--dryrun", "--exclude", "--include", "--metadata-directive", "--sse-c-key"],
    "rm": ["--dryrun", "--recursive", "--exclude"],
    "sync": ["--dryrun", "--exact-timestamps", "--exclude", "--only-show-errors", "--jobs",
             "--cache-control", "--acl"],
    "ls": ["--summarize", "--human-readable"],
    "du": ["-H"],
    "stat": ["--json"],
    "run": ["--jobs"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(NEW_FLAGS))
def test_help_has_examples_for_every_flag_added(name: str) -> None:
    result = run_cli(name, "--help")
    assert result.returncode == EXIT_OK
    examples = result.out.split("examples:", 1)[1]
    for flag in NEW_FLAGS[name]:
        assert re.search(rf"{re.escape(flag)}\b", examples), (name, flag)


# --- many small files ----------------------------------------------------------------------------


def test_many_small_files_list_once_and_batch_deletes(
    seaweed: Any, s3: Any, tmp_path: Path
) -> None:
    files = {f"d{i % 3}/f{i:03d}.txt": os.urandom(100 + i) for i in range(120)}
    for rel, data in files.items():
        (tmp_path / "src" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / rel).write_bytes(data)
    port = int(seaweed.endpoint_url.rsplit(":", 1)[1])
    with FaultProxy("127.0.0.1", port) as proxy:
        lists = proxy.add(DelayFirstByte(0), method="GET", query_contains="list-type", times=None)
        heads = proxy.add(DelayFirstByte(0), method="HEAD", times=None)
        deletes = proxy.add(DelayFirstByte(0), method="POST", query_contains="delete", times=None)
        cli = Remote("s3", s3.bucket, s3,
                     {"AWS_ACCESS_KEY_ID": seaweed.access_key,
                      "AWS_SECRET_ACCESS_KEY": seaweed.secret_key},
                     ["--endpoint-url", proxy.url])  # fmt: skip
        cli.ok("cp", "-r", "--jobs", "8", str(tmp_path / "src"), cli.url("m/"))
        assert len(cli.names("m/")) == 120
        cli.ok("cp", "-r", cli.url("m/"), str(tmp_path / "down"))
        assert read_tree(tmp_path / "down") == files
        assert lists.matched == 1 and heads.matched == 0  # one listing, one GET per object
        out = cli.ok("sync", str(tmp_path / "src"), cli.url("m/")).out
        assert "copy 0" in out and lists.matched == 2
        cli.ok("rm", "-r", cli.url("m/"))
        # 120 keys spread over the workers: DeleteObjects batches of at least 100 keys
        assert lists.matched == 3 and deletes.matched == 2
        assert cli.names("m/") == []


def test_cp_r_progress_shows_file_counts(seaweed: Any, s3: Any, tmp_path: Path) -> None:
    for i in range(6):
        (tmp_path / "src" / f"f{i}.bin").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / f"f{i}.bin").write_bytes(os.urandom(2048))
    port = int(seaweed.endpoint_url.rsplit(":", 1)[1])
    with FaultProxy("127.0.0.1", port) as proxy:
        proxy.add(DelayFirstByte(0.4), method="PUT", times=None)  # slow enough to draw a bar
        primary, replica = pty.openpty()  # stderr a terminal: the bar is drawn
        env = dict(os.environ, AWS_ACCESS_KEY_ID=seaweed.access_key,
                   AWS_SECRET_ACCESS_KEY=seaweed.secret_key, COLUMNS="120")  # fmt: skip
        proc = subprocess.Popen(
            [s3lite_exe(), "--endpoint-url", proxy.url, "cp", "-r", "--jobs", "1",
             str(tmp_path / "src"), f"s3://{s3.bucket}/p/"],
            stdout=subprocess.DEVNULL, stderr=replica, env=env,
        )  # fmt: skip
        os.close(replica)
        seen = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        assert proc.wait(timeout=120) == EXIT_OK
        os.close(primary)
    text = seen.decode(errors="replace")
    assert re.search(r"\b[0-5]/6 files\b", text), text
    assert "ETA" in text and "KiB" in text
