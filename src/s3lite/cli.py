"""The `s3lite` command line (also `python -m s3lite`): parsing and dispatch.

The subcommands themselves live in the `cli_*` modules (`cli_objects`, `cli_copy`,
`cli_sync`...; `commands.py` gathers them); this module builds the argument parser
(help texts, examples, exit codes), runs the chosen command and turns expected errors into
one-line messages and exit codes.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

__all__ = ["build_parser", "error_doc", "main"]

#: Objects transferred at the same time by default (cli_context.DEFAULT_JOBS; kept here so that
#: building the parser imports nothing heavy).
DEFAULT_JOBS = 16

EPILOG = """\
URLs:
  s3://BUCKET/KEY     S3 or an S3-compatible service (SeaweedFS, MinIO, R2, ...)
  b2://BUCKET/KEY     Backblaze B2 (native API)
  anything else       a local path; "-" is stdin or stdout
  A key ending in "/" (or a bare bucket) is a "folder": cp puts files under it.

examples:
  s3lite ls                                   list your S3 buckets
  s3lite ls -l s3://photos/2024/              a "folder", with sizes and dates
  s3lite cp holiday.jpg s3://photos/2024/     upload a file
  s3lite cp -r s3://photos/2024 ./photos      download everything under a prefix
  s3lite sync ./site s3://www --delete        mirror a directory into a bucket
  tar c docs | s3lite cp - b2://backup/docs.tar
  s3lite cat s3://logs/app.log | grep ERROR
  s3lite presign --expires 1h s3://photos/cat.jpg
  s3lite lock s3://locks/backup -- ./backup.sh  one backup at a time, anywhere
  s3lite du -H s3://photos/2024/              total size and number of objects
  s3lite stat s3://photos/cat.jpg             an object's size, type, ETag, metadata
  s3lite run commands.txt                     many commands, in parallel

credentials:
  s3://  the AWS chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, --profile (or
         AWS_PROFILE) in ~/.aws/credentials and ~/.aws/config, web identity, container
         and EC2 instance credentials. The endpoint is --endpoint-url, else
         AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL or the profile's endpoint_url.
  b2://  B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY; --b2-api-url (or B2_API_URL)
         for another B2 API server.

output:
  Listings (ls) print one line per entry; with --json, one JSON object per line (JSON
  Lines). Every other command prints one JSON document when it finishes, with --json.
  cat, head and `cp ... -` write the object's bytes unchanged; lock leaves stdout to its
  command. Messages and errors go to stderr (with --json, an error is
  {"error": {"code": "NoSuchKey", "message": ..., "exit": 3}}: code is the service's
  error code, else s3lite's). A progress bar is drawn on stderr for long transfers when
  it is a terminal (--no-progress: none).

wildcards and filters:
  s3lite ls 's3://logs/2024-*/*.gz'     * within a name, ? one character, ** across /
  s3lite rm --dryrun 's3://tmp/**.bak'  a pattern that matches nothing: exit code 3
  s3lite sync ./site s3://www --exclude '*.tmp' --include 'keep.tmp'  (last match wins)

exit codes:
  0    success
  1    the operation failed (server or network error, a failed transfer, unsafe key)
  2    usage error (bad option, bad URL)
  3    not found (bucket, object, prefix or local file)
  4    access denied (credentials rejected, or not allowed to do this)
  5    no credentials found (or a broken credentials/config source)
  6    conflict (the bucket exists or is not empty; lock held by someone else)
  7    cp -r / sync skipped keys or files with no faithful counterpart on the other
       side (dir//file, ./x, a/./b, names that cannot be keys); the rest was done
  130  interrupted (Ctrl-C)
"""


class _Parser(argparse.ArgumentParser):
    """With --json on the command line, a usage error is a JSON error document too."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if _Parser.json_errors:
            import json

            text = f"{self.prog}: {message}"
            print(json.dumps(error_doc(text, 2, None)), file=sys.stderr)
            sys.exit(2)
        super().error(message)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


# --- option types ------------------------------------------------------------------------------

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)


def size_type(text: str) -> int:
    """`1048576`, `512K`, `8M`, `8MiB`, `1.5G` (powers of 1024)."""
    match = _SIZE_RE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 1048576, 512K, 8M, 1G)")
    power = "bkmgt".index((match.group(2) or "b").lower())
    value = int(float(match.group(1)) * 1024**power)
    if value < 1:
        raise argparse.ArgumentTypeError("size must be at least 1 byte")
    return value


def duration_type(text: str) -> int:
    """Seconds: `3600`, `90s`, `15m`, `12h`, `7d`."""
    match = _DURATION_RE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 3600, 15m, 12h, 7d)")
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2).lower()]
    return int(match.group(1)) * unit


def seconds_type(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a non-negative number of seconds")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def count_type(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


# --- the parser --------------------------------------------------------------------------------


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options every command takes, before or after the command name. On the subcommands
    their default is SUPPRESS, so that they do not override what was given before."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("global options")
    group.add_argument(
        "--endpoint-url", metavar="URL", default=default(None),
        help="S3 endpoint (default: AWS_ENDPOINT_URL(_S3), the profile's, else AWS)",
    )  # fmt: skip
    group.add_argument(
        "--profile", metavar="NAME", default=default(None),
        help="profile in ~/.aws/credentials and ~/.aws/config (default: AWS_PROFILE)",
    )  # fmt: skip
    group.add_argument(
        "--region", metavar="NAME", default=default(None),
        help="S3 region (default: AWS_REGION, the profile's, else us-east-1)",
    )  # fmt: skip
    group.add_argument(
        "--b2-api-url", metavar="URL", default=default(None),
        help="B2 API server (default: B2_API_URL, else https://api.backblazeb2.com)",
    )  # fmt: skip
    group.add_argument(
        "--no-verify-ssl", action="store_true", default=default(False),
        help="do not verify TLS certificates (insecure; for test servers)",
    )  # fmt: skip
    group.add_argument(
        "-q", "--quiet", action="store_true", default=default(False),
        help="no progress bar and no messages about what was done (errors still shown)",
    )  # fmt: skip
    group.add_argument(
        "--only-show-errors", dest="only_errors", action="store_true", default=default(False),
        help="print errors only (as -q)",
    )  # fmt: skip
    group.add_argument(
        "--no-progress", action="store_true", default=default(False),
        help="no progress bar (what was done is still printed)",
    )  # fmt: skip
    group.add_argument(
        "--raw", action="store_true", default=default(False),
        help="take '*' and '?' in URLs literally, not as wildcards",
    )  # fmt: skip
    group.add_argument(
        "--json", action="store_true", default=default(False),
        help="machine-readable output: JSON Lines for ls, one JSON document otherwise",
    )  # fmt: skip
    group.add_argument(
        "--debug", action="store_true", default=default(False),
        help="show tracebacks and debug logging",
    )  # fmt: skip


def _transfer_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("transfer options")
    group.add_argument(
        "--multipart-threshold", metavar="SIZE", type=size_type, default=None,
        help="files larger than this are sent/fetched in parallel parts (default 8M)",
    )  # fmt: skip
    group.add_argument(
        "--part-size", metavar="SIZE", type=size_type, default=None,
        help="size of those parts (default: 8M, or larger to fit the part limit)",
    )  # fmt: skip
    group.add_argument(
        "-j", "--jobs", metavar="N", type=positive_int, default=DEFAULT_JOBS,
        help=f"objects transferred at the same time, sharing one connection pool "
        f"(default {DEFAULT_JOBS})",
    )  # fmt: skip


def _filter_options(parser: argparse.ArgumentParser) -> None:
    """--exclude/--include, kept in the order given (the last match wins)."""
    from .cli_filters import FilterAction

    group = parser.add_argument_group("filters (applied in order; the last that matches wins)")
    for name, what in (("--exclude", "leave out"), ("--include", "take back")):
        group.add_argument(
            name, metavar="PATTERN", action=FilterAction, dest="filters", default=[],
            help=f"{what} paths (relative to SOURCE) matching PATTERN; * ? [..] as in aws-cli",
        )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="s3lite",
        description=(
            "A small, fast client for S3-compatible object storage and Backblaze B2: "
            "list, copy, sync and delete objects and buckets."
        ),
        epilog=EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    _global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    common = _Parser(add_help=False)
    _global_options(common, suppress=True)

    def add(
        name: str, summary: str, description: str, examples: str, func: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=summary, description=f"{summary[0].upper()}{summary[1:]}.\n\n{description}",
            epilog="examples:\n" + examples, formatter_class=_Formatter, parents=[common],
        )  # fmt: skip
        sub.set_defaults(func=func)
        return sub

    ls = add(
        "ls", "list buckets, or the objects under a prefix",
        "Without a URL, lists your S3 buckets (b2:// lists your B2 buckets). With a URL, lists "
        "what is directly under it, \"folders\" first as DIR (-r: everything below). Names are\n"
        "printed as full URLs, ready to pass to other commands.",
        "  s3lite ls\n  s3lite ls b2://\n  s3lite ls -l s3://photos/2024/\n"
        "  s3lite ls -r --json s3://logs/app/ | jq .size\n  s3lite ls --versions s3://docs/a.txt\n"
        "  s3lite ls 's3://logs/2024-*/*.gz'          wildcards: * ? within a name, ** across /\n"
        "  s3lite ls -r --summarize --human-readable s3://photos/2024/",
        "cli_objects:cmd_ls",
    )  # fmt: skip
    ls.add_argument("url", nargs="?", metavar="URL", help="s3://BUCKET[/PREFIX] or b2://...")
    ls.add_argument("-l", "--long", action="store_true", help="sizes and dates as well")
    ls.add_argument("-r", "--recursive", action="store_true", help="everything under the prefix")
    ls.add_argument(
        "--versions", action="store_true",
        help="every version and delete marker (version id, latest, deleted)",
    )  # fmt: skip
    ls.add_argument(
        "--summarize", action="store_true", help="end with the number of objects and total size"
    )
    ls.add_argument(
        "-H", "--human-readable", action="store_true",
        help="sizes as KiB, MiB... (implies -l; also for --summarize)",
    )  # fmt: skip

    for name, verb, verbs, summary in (
        ("cp", "copy", "copies", "copy files and objects: to, from and between buckets"),
        ("mv", "move", "moves", "move files and objects: copy, then delete the source"),
    ):
        sub = add(
            name, summary,
            f"SOURCE and DEST are URLs or local paths (at least one a URL); '-' {verbs} from "
            "stdin or to stdout.\nIf DEST is a directory or ends in '/', the source's name is "
            "kept. With -r, everything under\nthe SOURCE directory or prefix goes under DEST. "
            "Downloads refuse keys that would land\noutside the target directory ('..', "
            "drive letters) and skip keys with no faithful local\npath ('dir//file', './x': "
            "exit code 7). Large files go in parallel parts, verified;\ncopies within one "
            "service are done by the server.",
            f"  s3lite {name} report.pdf s3://docs/\n  s3lite {name} s3://docs/report.pdf .\n"
            f"  s3lite {name} -r ./site s3://www/\n  s3lite {name} s3://a/x.bin b2://b/x.bin\n"
            + ("  pg_dump db | s3lite cp - s3://backup/db.sql\n" if name == "cp" else "")
            + f"  s3lite {name} 's3://logs/2024/*.gz' ./logs/        wildcards (s5cmd style)\n"
            f"  s3lite {name} --recursive --dryrun ./site s3://www/  the aws-cli spellings\n"
            f"  s3lite {name} -r ./site s3://www/ --exclude '*' --include '*.html'\n"
            f"  s3lite {name} -r --jobs 64 ./many-small-files s3://bucket/dir/\n"
            f"  s3lite {name} a.js s3://www/ --cache-control max-age=3600 --content-encoding gzip"
            "\n"
            f"  s3lite {name} a.pdf s3://docs/ --storage-class STANDARD_IA --acl private "
            "--expires 2030-01-01\n"
            f"  s3lite {name} a.pdf s3://docs/ --metadata owner=ops --metadata team=db\n"
            f"  s3lite {name} a.pdf s3://docs/ --sse aws:kms --sse-kms-key-id alias/docs\n"
            f"  s3lite {name} a.pdf s3://docs/ --sse-c --sse-c-key fileb://key.bin  "
            "(and the same to download)\n"
            f"  s3lite {name} s3://a/x s3://b/x --metadata-directive REPLACE --content-type "
            "text/plain\n",
            f"cli_copy:cmd_{name}",
        )  # fmt: skip
        sub.add_argument("source", metavar="SOURCE", help="file, directory, URL or '-'")
        sub.add_argument("dest", metavar="DEST", help="file, directory, URL or '-'")
        sub.add_argument("-r", "--recursive", action="store_true", help="directories/prefixes")
        sub.add_argument(
            "--dry-run", "--dryrun", dest="dry_run", action="store_true",
            help=f"show what would {verb}, only",
        )  # fmt: skip
        _filter_options(sub)
        _object_options(sub)
        _transfer_options(sub)

    rm = add(
        "rm", "delete objects",
        "Deletes the objects named (not found: exit code 3). With -r, deletes every object\n"
        "under each prefix (a bare bucket: all of them), without asking; prints how many.\n"
        "On B2, every version of each name is deleted.",
        "  s3lite rm s3://docs/old.txt\n  s3lite rm -r --dry-run s3://logs/2023/\n"
        "  s3lite rm -r s3://scratch\n"
        "  s3lite rm 's3://logs/2023-*.gz'              every object the wildcard matches\n"
        "  s3lite rm --recursive --dryrun s3://tmp/ --exclude '*.keep'",
        "cli_objects:cmd_rm",
    )  # fmt: skip
    rm.add_argument("urls", nargs="+", metavar="URL", help="objects (or prefixes with -r)")
    rm.add_argument("-r", "--recursive", action="store_true", help="everything under a prefix")
    rm.add_argument(
        "--dry-run", "--dryrun", dest="dry_run", action="store_true",
        help="show what would be deleted, only",
    )  # fmt: skip
    _filter_options(rm)
    rm.add_argument(
        "-j", "--jobs", metavar="N", type=positive_int, default=DEFAULT_JOBS,
        help=f"delete requests at the same time (default {DEFAULT_JOBS})",
    )  # fmt: skip

    cat = add(
        "cat", "write objects to stdout",
        "Streams each object to stdout, byte for byte, one after the other.",
        "  s3lite cat s3://logs/app.log | grep ERROR\n  s3lite cat b2://data/a.csv b2://data/b.csv\n"
        "  s3lite cat 's3://logs/2024-01-*.log'         every match, in key order",
        "cli_objects:cmd_cat",
    )  # fmt: skip
    cat.add_argument("urls", nargs="+", metavar="URL", help="objects to print")

    head = add(
        "head", "write the first bytes or lines of an object to stdout",
        "Fetches only what is needed: a range request for -c, a stream stopped after -n lines.",
        "  s3lite head s3://logs/app.log\n  s3lite head -n 1 s3://data/table.csv\n"
        "  s3lite head -c 512 s3://bin/file | xxd",
        "cli_objects:cmd_head",
    )  # fmt: skip
    head.add_argument("url", metavar="URL", help="the object")
    amount = head.add_mutually_exclusive_group()
    amount.add_argument("-c", "--bytes", metavar="N", type=count_type, help="first N bytes")
    amount.add_argument(
        "-n", "--lines", metavar="N", type=count_type, help="first N lines (default 10)"
    )

    mb = add(
        "mb", "make a bucket",
        "Creates the bucket (S3: in --region). Exit code 6 if it exists already.",
        "  s3lite mb s3://new-bucket\n  s3lite --region eu-west-1 mb s3://bucket-in-ireland",
        "cli_buckets:cmd_mb",
    )  # fmt: skip
    mb.add_argument("url", metavar="URL", help="s3://BUCKET or b2://BUCKET")

    rb = add(
        "rb", "remove a bucket",
        "Removes an empty bucket; with --force, deletes everything in it first (every\n"
        "object, version and unfinished upload). Exit code 6 if it is not empty.",
        "  s3lite rb s3://old-bucket\n  s3lite rb --force b2://scratch",
        "cli_buckets:cmd_rb",
    )  # fmt: skip
    rb.add_argument("url", metavar="URL", help="s3://BUCKET or b2://BUCKET")
    rb.add_argument("--force", action="store_true", help="empty the bucket first")

    presign = add(
        "presign", "print a URL that gives temporary access to an object",
        "Anyone with the URL can fetch the object (or --method PUT: upload it, S3 only)\n"
        "until it expires, without credentials.",
        "  s3lite presign s3://photos/cat.jpg\n  s3lite presign --expires 7d b2://share/a.zip\n"
        "  s3lite presign --method PUT --expires 15m s3://inbox/upload.bin",
        "cli_objects:cmd_presign",
    )  # fmt: skip
    presign.add_argument("url", metavar="URL", help="the object")
    presign.add_argument(
        "--expires", metavar="TIME", type=duration_type, default=3600,
        help="lifetime: seconds, or 15m, 12h, 7d (default 1h; at most 7d)",
    )  # fmt: skip
    presign.add_argument(
        "--method", default="GET", type=str.upper, choices=["GET", "PUT", "HEAD", "DELETE"],
        help="what the URL allows (default GET)",
    )  # fmt: skip

    sync = add(
        "sync", "make a directory or prefix a copy of another",
        "Copies what is new or changed from SOURCE to DEST: local to remote, remote to local,\n"
        "or remote to remote. A file is copied when DEST lacks it, its size differs, or the\n"
        "source is newer (downloaded files get the object's time). --checksum compares\n"
        "contents instead of times where the ETag allows it (MD5 on S3, SHA-1 on B2).\n"
        "--delete removes what is in DEST but not in SOURCE. Keys with no faithful local path\n"
        "('dir//file', './x', 'a/./b') and files whose names cannot be keys are reported and\n"
        "skipped, never copied then deleted (exit code 7).",
        "  s3lite sync ./site s3://www/ --delete\n  s3lite sync s3://photos/2024 ./2024\n"
        "  s3lite sync --dry-run s3://prod/assets b2://mirror/assets\n"
        "  s3lite sync --dryrun --exact-timestamps s3://photos/2024 ./2024\n"
        "  s3lite sync ./site s3://www/ --exclude '*.tmp' --exclude '.git/*'\n"
        "  s3lite sync --jobs 64 --only-show-errors ./many-small-files s3://bucket/dir/\n"
        "  s3lite sync ./site s3://www/ --cache-control max-age=60 --acl public-read",
        "cli_sync:cmd_sync",
    )  # fmt: skip
    sync.add_argument("source", metavar="SOURCE", help="directory or URL prefix")
    sync.add_argument("dest", metavar="DEST", help="directory or URL prefix")
    sync.add_argument("--delete", action="store_true", help="delete what SOURCE does not have")
    sync.add_argument(
        "--dry-run", "--dryrun", dest="dry_run", action="store_true",
        help="show what would be done, only",
    )  # fmt: skip
    sync.add_argument(
        "--exact-timestamps", action="store_true",
        help="same-sized files are copied when their times differ at all (not only if newer)",
    )  # fmt: skip
    _filter_options(sync)
    _object_options(sync)
    compare = sync.add_mutually_exclusive_group()
    compare.add_argument("--size-only", action="store_true", help="compare sizes only")
    compare.add_argument(
        "--checksum", action="store_true", help="compare contents (hashes), not times"
    )
    _transfer_options(sync)

    lock = add(
        "lock", "run a command while holding a distributed lock",
        "Takes the lock URL (waiting up to --timeout), keeps it alive with a heartbeat while\n"
        "COMMAND runs, releases it when COMMAND exits, and exits with COMMAND's exit code. If\n"
        "the lock cannot be had in time, exits with 6 without running COMMAND. If the lock is\n"
        "lost while COMMAND runs (not renewed in time, or broken by another client), COMMAND\n"
        "is stopped and the exit code is 1. The lock lives in objects under URL.lock/; URL\n"
        "itself is never read or written. Ctrl-C goes to COMMAND; SIGTERM and SIGHUP are\n"
        "passed on to it.",
        "  s3lite lock s3://locks/nightly-backup -- ./backup.sh --full\n"
        "  s3lite lock --timeout 0 b2://locks/deploy -- make deploy\n"
        "  s3lite lock --shared --ttl 30 s3://locks/db -- ./read-report.sh",
        "cli_lock:cmd_lock",
    )  # fmt: skip
    lock.add_argument("url", metavar="URL", help="the lock's name: s3://BUCKET/NAME or b2://...")
    lock.add_argument(
        "--timeout", metavar="SECONDS", type=seconds_type, default=None,
        help="give up after waiting this long (default: wait as long as it takes; 0: no wait)",
    )  # fmt: skip
    lock.add_argument(
        "--ttl", metavar="SECONDS", type=seconds_type, default=None,
        help="a holder that stops renewing loses the lock after this long (default 60)",
    )  # fmt: skip
    lock.add_argument(
        "--shared", action="store_true", help="a shared (reader) lock: admits other shared ones"
    )
    lock.add_argument(
        "cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]", help="what to run"
    )

    _add_more_commands(add)

    demo = commands.add_parser(
        "demo",
        help="start a throwaway local SeaweedFS and show s3lite at work against it",
        description=(
            "Starts a temporary SeaweedFS server on 127.0.0.1 (from the dev tools), uploads, "
            "lists, streams and deletes objects, prints what it did and how fast, then stops "
            "the server and removes its data."
        ),
    )
    demo.add_argument("--objects", type=int, default=200, help="small objects to write (200)")
    demo.add_argument(
        "--size-mib", type=int, default=64, help="size of the streamed large object in MiB (64)"
    )
    demo.set_defaults(func=_demo)

    server = commands.add_parser(
        "server",
        help="run a throwaway local S3 server (SeaweedFS) to try s3lite against",
        description=(
            "Run a throwaway local S3 server (SeaweedFS) to try s3lite against.\n\n"
            "Starts the same temporary SeaweedFS as `demo` on 127.0.0.1, prints its endpoint\n"
            "and the `export AWS_...` lines that point s3lite (or any S3 client) at it, and\n"
            "keeps it running until Ctrl-C or SIGTERM. Then it stops the server and removes\n"
            "its data (unless --dir), its sockets and its processes. The keys are random for\n"
            "each run and valid only for this server."
        ),
        epilog=(
            "examples:\n"
            "  s3lite server --bucket my-bucket          # then paste the export lines elsewhere\n"
            "  s3lite server --port 8333 --dir ./s3data  # a fixed port; the data is kept\n"
        ),
        formatter_class=_Formatter,
    )
    server.add_argument(
        "--port", type=positive_int, default=None,
        help="S3 port on 127.0.0.1 (default: a free one); the port 10000 above must be free too",
    )  # fmt: skip
    server.add_argument(
        "--dir", metavar="PATH", default=None,
        help="keep the data in PATH, after the server stops too (default: a temporary "
        "directory, removed)",
    )  # fmt: skip
    server.add_argument(
        "--bucket", metavar="NAME", action="append", default=[],
        help="create this bucket at start (repeat for more)",
    )  # fmt: skip
    server.set_defaults(func=_server)
    return parser


def _object_options(parser: argparse.ArgumentParser) -> None:
    """The aws-cli options of uploads and copies (their module is loaded only here)."""
    from .cli_transfer import add_object_options

    add_object_options(parser)


def _add_more_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """du, stat and run."""
    du = add(
        "du", "total size and number of objects under a prefix",
        "Counts every object under each URL (a prefix, a bucket, or a wildcard) and prints\n"
        "the total size and count, as s5cmd's du.",
        "  s3lite du s3://photos/2024/\n  s3lite du -H 's3://logs/*.gz'\n"
        "  s3lite --json du b2://backup",
        "cli_inspect:cmd_du",
    )  # fmt: skip
    du.add_argument("urls", nargs="+", metavar="URL", help="prefixes, buckets or wildcards")
    du.add_argument(
        "-H", "--human-readable", action="store_true", help="sizes as KiB, MiB... not bytes"
    )
    stat = add(
        "stat", "show an object's size, type, dates, checksums and metadata",
        "HEADs the object and prints what it says as a table (or, with --json, one\n"
        "JSON document).",
        "  s3lite stat s3://docs/report.pdf\n"
        "  s3lite --json stat b2://backup/db.sql | jq .content_length",
        "cli_inspect:cmd_stat",
    )  # fmt: skip
    stat.add_argument("urls", nargs="+", metavar="URL", help="objects")
    run = add(
        "run", "run many commands from a file, in parallel",
        "Reads one s3lite command per line from FILE (or '-': stdin; blank lines and lines\n"
        "starting with # are skipped) and runs them with --jobs workers sharing one\n"
        "connection pool per service, as s5cmd's run. Options given before `run` apply to\n"
        "every line. Prints a summary; exit code 1 if any line failed (0 if none did).",
        "  s3lite run commands.txt\n"
        "  printf 'cp a.txt s3://b/a.txt\\nrm s3://b/old.txt\\n' | s3lite run -\n"
        "  s3lite --endpoint-url http://127.0.0.1:8333 run --jobs 32 uploads.txt",
        "cli_batch:cmd_run",
    )  # fmt: skip
    run.add_argument("file", metavar="FILE", help="the commands, one per line; '-' is stdin")
    run.add_argument(
        "-j", "--jobs", metavar="N", type=positive_int, default=8,
        help="commands run at the same time (default 8)",
    )  # fmt: skip


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(objects=args.objects, size_mib=args.size_mib, out=sys.stdout)


def _server(args: argparse.Namespace) -> int:
    from .demo import run_server

    return run_server(port=args.port, data_dir=args.dir, buckets=args.bucket, out=sys.stdout)


def _version() -> str:
    from . import __version__

    return f"s3lite {__version__}"


# --- running -----------------------------------------------------------------------------------


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse a command line; an unknown option is reported with the subcommand's usage."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        sub = _subparser(parser, getattr(args, "command", None))
        (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _subparser(parser: argparse.ArgumentParser, name: str | None) -> argparse.ArgumentParser | None:
    """The parser of subcommand `name`, to print its usage with an error."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name:
            found: argparse.ArgumentParser | None = action.choices.get(name)
            return found
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    _Parser.json_errors = "--json" in (sys.argv[1:] if argv is None else list(argv))
    args = parse(parser, argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    if callable(func):  # demo, server
        try:
            return int(func(args))
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
    return _run(args, func)


def _run(args: argparse.Namespace, name: str) -> int:
    import logging

    from .cli_context import Context
    from .cli_errors import EXIT_INTERRUPTED, error_message, exit_code_for

    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    else:  # the library's warnings (e.g. a lock lost), in the command line's manner
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("s3lite: warning: %(message)s"))
        logging.getLogger("s3lite").addHandler(handler)
    ctx = Context(args)
    try:
        return int(command_function(name)(ctx, args))
    except KeyboardInterrupt:
        ctx.done_progress()
        _report(args, "interrupted", EXIT_INTERRUPTED, None)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return 141  # like a process killed by SIGPIPE: the reader went away
    except Exception as exc:
        ctx.done_progress()
        code = exit_code_for(exc)
        if code is None:
            raise  # a bug: let the traceback show
        _report(args, error_message(exc, code), code, exc)
        return code
    finally:
        try:
            ctx.close()
        except BrokenPipeError:
            _silence_stdout()


def command_function(name: str) -> Callable[..., int]:
    """The function of a command, `module:cmd_x` (a module beside this one; `cmd_x` alone:
    the one `commands.py` gathers)."""
    import importlib

    module_name, _, func = name.rpartition(":")
    module = importlib.import_module(f".{module_name or 'commands'}", __package__)
    found: Callable[..., int] = getattr(module, func)
    return found


_S3LITE_CODES = {
    1: "Failed",
    2: "UsageError",
    3: "NotFound",
    4: "AccessDenied",
    5: "NoCredentials",
    6: "Conflict",
    130: "Interrupted",
}


def error_doc(message: str, code: int, exc: BaseException | None) -> dict[str, Any]:
    """The one JSON error schema: {"error": {"code", "message", "exit"}}. `code` is the
    service's error code (NoSuchKey, AccessDenied...) when there is one, else s3lite's."""
    from .errors import ClientError, S3LiteError

    name = None
    seen = exc
    while seen is not None and name is None:
        if isinstance(seen, ClientError) and seen.code:
            name = seen.code
        elif getattr(seen, "error_code", None):
            name = str(getattr(seen, "error_code", ""))
        seen = seen.__cause__
    if name is None and exc is not None and code == 1:
        if isinstance(exc, S3LiteError) and type(exc).__name__ not in ("S3LiteError",):
            name = type(exc).__name__
        elif isinstance(exc, OSError):
            name = "LocalFileError"
    return {"error": {"code": name or _S3LITE_CODES.get(code, "Failed"), "message": message,
                      "exit": code}}  # fmt: skip


def _report(args: argparse.Namespace, message: str, code: int, exc: BaseException | None) -> None:
    if args.debug and exc is not None:
        import traceback

        traceback.print_exception(exc)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    if args.json:
        import json

        print(json.dumps(error_doc(message, code, exc)), file=sys.stderr)
    else:
        print(f"s3lite: error: {message}", file=sys.stderr)


def _silence_stdout() -> None:
    """After EPIPE: point stdout at devnull so the interpreter's final flush is quiet."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
