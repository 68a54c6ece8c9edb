"""What each `s3lite` subcommand does; `cli.py` parses the command line and calls these.

Every command is `cmd_NAME(ctx, args) -> exit code`. Expected failures are raised as
`CLIError` (or library errors, mapped to exit codes by `exit_code_for`); `cli.main` prints
them without a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

from .errors import (
    AccessDenied,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    ClientError,
    ExpiredToken,
    InvalidAccessKeyId,
    InvalidRange,
    LockLost,
    NoCredentialsError,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    NoSuchVersion,
    S3LiteError,
    SignatureDoesNotMatch,
    Unauthorized,
)
from .progressbar import ProgressBar, human_size

if TYPE_CHECKING:
    import argparse

    from .cli_filters import Wildcard

__all__ = [
    "EXIT_ACCESS_DENIED",
    "EXIT_CONFLICT",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_NO_CREDENTIALS",
    "EXIT_OK",
    "EXIT_SKIPPED",
    "EXIT_USAGE",
    "CLIError",
    "Context",
    "Location",
    "exit_code_for",
    "parse_location",
    "safe_local_path",
]

EXIT_OK = 0
#: The operation failed: a server or network error, a failed transfer, an unsafe key refused.
EXIT_FAILURE = 1
#: Bad options or arguments (argparse uses 2 too).
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
#: The credentials were rejected, or are not allowed to do this.
EXIT_ACCESS_DENIED = 4
#: No credentials found (or a configured credentials/config source is broken).
EXIT_NO_CREDENTIALS = 5
#: The bucket exists already or is not empty; the lock is held by someone else.
EXIT_CONFLICT = 6
#: cp -r / sync skipped keys or files that have no faithful counterpart on the other side
#: (`dir//file`, `./x`, names that cannot be keys); everything else was done.
EXIT_SKIPPED = 7
EXIT_INTERRUPTED = 130
#: Objects transferred at the same time by default: sized for many small objects, whose
#: time is mostly round trips.
DEFAULT_JOBS = 16

SCHEMES = ("s3", "b2")
_URL_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.DOTALL)
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
#: download_file's temporary files: never uploaded by a sync.
_PART_FILE_RE = re.compile(r"^\..*\.s3lite-[0-9a-f]{8}\.part$")


class CLIError(Exception):
    """An expected failure: printed as `s3lite: error: MESSAGE`, exits with `code`."""

    def __init__(
        self, message: str, code: int = EXIT_FAILURE, error_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        #: the service's or s3lite's error code for --json (e.g. NoSuchKey)
        self.error_code = error_code


def usage_error(message: str) -> CLIError:
    return CLIError(message, EXIT_USAGE)


# --- errors -> exit codes --------------------------------------------------------------------

_NOT_FOUND = (NoSuchKey, NoSuchBucket, NoSuchVersion, NoSuchUpload, FileNotFoundError)
_DENIED = (
    AccessDenied,
    Unauthorized,
    InvalidAccessKeyId,
    SignatureDoesNotMatch,
    ExpiredToken,
    PermissionError,
)
_CONFLICT = (BucketAlreadyExists, BucketAlreadyOwnedByYou, BucketNotEmpty)


def exit_code_for(exc: BaseException) -> int | None:
    """The exit code of an expected error; None for an unexpected one (a bug)."""
    from .config import ConfigError

    if isinstance(exc, CLIError):
        return exc.code
    if isinstance(exc, _NOT_FOUND):
        return EXIT_NOT_FOUND
    if isinstance(exc, _DENIED):
        return EXIT_ACCESS_DENIED
    if isinstance(exc, (NoCredentialsError, ConfigError)):
        return EXIT_NO_CREDENTIALS
    if isinstance(exc, _CONFLICT):
        return EXIT_CONFLICT
    if isinstance(exc, (S3LiteError, OSError)):
        return EXIT_FAILURE
    if isinstance(exc, ValueError):
        return EXIT_USAGE  # the library refused an argument (bucket name, key length...)
    return None


def describe(exc: BaseException) -> str:
    """A one-line description of an error for the terminal."""
    if isinstance(exc, CLIError):
        return exc.message
    if isinstance(exc, ClientError):
        text = exc.message or exc.code
        if exc.code and exc.code not in text:
            text = f"{text} ({exc.code})"
        if exc.resource:
            text += f" [{exc.resource}]"
        return text
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ValueError) and not isinstance(exc, S3LiteError):
        # The library refused an argument: name the option, not the Python parameter.
        text = re.sub(r"\b(part_size|expires_in)\b", lambda m: _FLAGS[m.group(1)], text)
    return text


#: Library parameter names as the command line spells them (in refused-argument messages).
_FLAGS = {"part_size": "--part-size", "expires_in": "--expires"}


_PREFIXES = {
    EXIT_NOT_FOUND: "not found: ",
    EXIT_ACCESS_DENIED: "access denied: ",
    EXIT_NO_CREDENTIALS: "no credentials: ",
}


def error_message(exc: BaseException, code: int) -> str:
    text = describe(exc)
    if isinstance(exc, NoCredentialsError):  # the library's advice is for library users
        text = re.sub(r"\.? *Pass access_key_id and access_key.*$", "", text)
        if "B2_APPLICATION_KEY" not in text:
            text += "; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile"
    prefix = _PREFIXES.get(code, "")
    if isinstance(exc, CLIError) or text.lower().startswith(prefix.rstrip(": ")):
        return text
    return prefix + text


# --- locations -------------------------------------------------------------------------------


class Location:
    """An `s3://bucket/key` or `b2://bucket/key` URL, a local path, or `-` (stdin/stdout)."""

    __slots__ = ("bucket", "key", "path", "scheme")

    def __init__(self, scheme: str, bucket: str = "", key: str = "", path: str = "") -> None:
        self.scheme = scheme  # "s3", "b2", "file" or "-"
        self.bucket = bucket
        self.key = key
        self.path = path

    def _id(self) -> tuple[str, str, str, str]:
        return (self.scheme, self.bucket, self.key, self.path)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and self._id() == other._id()

    def __hash__(self) -> int:
        return hash(self._id())

    def __repr__(self) -> str:
        return f"Location({str(self)!r})"

    @property
    def remote(self) -> bool:
        return self.scheme in SCHEMES

    @property
    def stdio(self) -> bool:
        return self.scheme == "-"

    def with_key(self, key: str) -> Location:
        return Location(self.scheme, self.bucket, key)

    def with_path(self, path: str) -> Location:
        return Location("file", path=path)

    def __str__(self) -> str:
        if self.remote:
            return f"{self.scheme}://{self.bucket}/{self.key}" if self.key else self.bucket_url
        return "-" if self.stdio else self.path

    @property
    def bucket_url(self) -> str:
        return f"{self.scheme}://{self.bucket}"


def parse_location(text: str) -> Location:
    """`s3://bucket/key`, `b2://bucket/key`, `-`, or a local path."""
    if text == "-":
        return Location("-")
    match = _URL_RE.match(text)
    if match is None:
        if not text:
            raise usage_error("empty path")
        return Location("file", path=text)
    scheme = match.group(1).lower()
    if scheme not in SCHEMES:
        raise usage_error(
            f"unsupported URL {text!r}: use s3://BUCKET/KEY, b2://BUCKET/KEY or a local path"
        )
    bucket, _, key = match.group(2).partition("/")
    return Location(scheme, bucket, key)


def remote_location(text: str, *, need_bucket: bool = True, need_key: bool = False) -> Location:
    loc = parse_location(text)
    if not loc.remote:
        raise usage_error(f"{text!r} is not an s3:// or b2:// URL")
    if need_bucket and not loc.bucket:
        raise usage_error(f"{text!r} names no bucket: use {loc.scheme}://BUCKET/KEY")
    if need_key and not loc.key:
        raise usage_error(f"{text!r} names a bucket, not an object: use {loc.scheme}://BUCKET/KEY")
    return loc


def dir_prefix(key: str) -> str:
    """A key used as a "folder": '' stays '', 'photos' becomes 'photos/'."""
    return key if not key or key.endswith("/") else key + "/"


def basename(key: str) -> str:
    return key.rstrip("/").rsplit("/", 1)[-1] if key.strip("/") else ""


class Interrupted(Exception):
    """Raised inside a transfer's progress callback after Ctrl-C: the transfer stops the way
    it stops on any error (a multipart upload is aborted, a partial download discarded)."""


class UnsafeKey(CLIError):
    """A key that would be written outside the target directory."""


def safe_local_path(root: str, rel: str) -> str:
    """`root` joined with a relative key, refusing keys that would escape `root`: `..`
    components, absolute paths, drive letters, NUL bytes, and symlinks in `root` that point
    elsewhere."""
    why = None
    parts = re.split(r"[\\/]", rel)
    if not rel or "\x00" in rel:
        why = "it is empty or contains a NUL byte"
    elif rel.startswith(("/", "\\")):
        why = "it is an absolute path"
    elif _DRIVE_RE.match(rel):
        why = "it starts with a drive letter"
    elif ".." in parts:
        why = "it contains '..'"
    if why is None:
        pieces = [p for p in rel.split("/") if p not in ("", ".")]
        if not pieces:
            why = "it names no file"
        else:
            path = os.path.join(root, *pieces)
            real_root = os.path.realpath(root)
            real = os.path.realpath(path)
            if os.path.commonpath([real_root, real]) != real_root or real == real_root:
                why = "it leads outside the directory (through a symbolic link)"
            else:
                return path
    raise UnsafeKey(f"refusing key {rel!r}: {why}; it would be written outside {root!r}")


def unfaithful_key(rel: str) -> str | None:
    """Why a key (relative to the prefix copied) has no faithful local path, None if it has
    one: the file written for `dir//file`, `./x` or `a/./b` would be listed back as another
    key (`dir/file`, `x`, `a/b`), so a sync would copy it, then delete it as extra."""
    if rel.endswith("/"):
        return "it ends with '/' but has content"
    parts = rel.split("/")
    if "" in parts:
        return "it has an empty path segment ('//' or a leading '/')"
    if "." in parts:
        return "it has a '.' path segment"
    for sep in (os.sep, os.altsep):
        if sep and sep != "/" and sep in rel:
            return f"it contains {sep!r}, a path separator on this system"
    return None


def _key_problem(scheme: str, key: str) -> str | None:
    """Why a local file's name cannot be the key `key` on `scheme`, None if it can."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return "its name is not valid UTF-8"
    if scheme == "b2":
        from .b2 import validate_key
    else:
        from .s3 import validate_key
    try:
        validate_key(key)
    except ValueError as exc:
        return str(exc)
    return None


class Skipped:
    """A key or file left out because it has no faithful counterpart on the other side."""

    __slots__ = ("reason", "source")

    def __init__(self, source: Location, reason: str) -> None:
        self.source = source
        self.reason = reason

    def doc(self) -> dict[str, str]:
        return {"source": str(self.source), "reason": self.reason}


def _report_skipped(ctx: Context, skipped: list[Skipped]) -> None:
    for item in skipped:
        ctx.warn(f"warning: skipping {item.source}: {item.reason}")


def _faithful_local(rels: list[str]) -> dict[str, str]:
    """rel -> why it is skipped, for keys to download under one directory: keys with no
    faithful local path, and keys that are a file and also a folder of other keys."""
    why = {rel: reason for rel in rels if (reason := unfaithful_key(rel)) is not None}
    folders: set[str] = set()
    for rel in rels:
        if rel not in why and "/" in rel:
            parts = rel.split("/")
            folders.update("/".join(parts[:n]) for n in range(1, len(parts)))
    for rel in rels:
        if rel not in why and rel in folders:
            why[rel] = "it is a file and also the folder of other keys"
    return why


def _local_shadow(rel: str) -> str:
    """The local path (relative) a key with no faithful one would have collapsed onto."""
    return "/".join(p for p in rel.split("/") if p not in ("", "."))


@contextlib.contextmanager
def about(*locations: Location) -> Iterator[None]:
    """Name the URL in "not found" errors: `no such object: s3://b/k`, `no such bucket: ...`
    (the first location is the object that must exist; the bucket is the one the server
    named, else the first location's)."""
    try:
        yield
    except NoSuchBucket as exc:
        remote = [loc for loc in locations if loc.remote]
        resource = (exc.resource or "").strip("/").split("/", 1)[0]
        named = [loc for loc in remote if loc.bucket == resource]
        loc = (named or remote)[0] if remote else None
        if loc is None:
            raise
        raise CLIError(
            f"no such bucket: {loc.bucket_url} (NoSuchBucket)", EXIT_NOT_FOUND, "NoSuchBucket"
        ) from exc
    except (NoSuchKey, NoSuchVersion) as exc:
        if not locations or not locations[0].remote:
            raise
        name = "NoSuchVersion" if isinstance(exc, NoSuchVersion) else "NoSuchKey"
        raise CLIError(f"no such object: {locations[0]} ({name})", EXIT_NOT_FOUND, name) from exc


# --- the context of one command ----------------------------------------------------------------


class Context:
    """Sessions (one per scheme, made on first use), output and progress for one command."""

    def __init__(self, args: argparse.Namespace, shared: Context | None = None) -> None:
        self.args = args
        self.quiet = bool(getattr(args, "quiet", False) or getattr(args, "only_errors", False))
        self.show_progress = not getattr(args, "no_progress", False)
        self.json: bool = bool(getattr(args, "json", False))
        self.stdout = sys.stdout
        self.stderr = sys.stderr
        #: stdout carries object data (cat, head, cp to -): status lines go to stderr.
        self.stdout_is_data = False
        self.bar: ProgressBar | None = None
        #: set on Ctrl-C: transfers running in other threads stop at their next progress report
        self.cancelled = threading.Event()
        #: parts in flight per large file: fewer when many files run at once (memory bound)
        self.part_jobs = 8
        #: connections per session, if not --jobs
        self.pool_size: int | None = None
        self._sessions: dict[str, Any] = {}
        self._lock = threading.Lock()
        #: `run`: the sessions (and connection pools) of the batch, shared by every line
        self._shared = shared
        self._print_lock = threading.Lock()

    # sessions
    def session(self, scheme: str) -> Any:
        if self._shared is not None:
            return self._shared.session(scheme)
        with self._lock:
            session = self._sessions.get(scheme)
            if session is None:
                session = self._sessions[scheme] = self._make_session(scheme)
            return session

    def _make_session(self, scheme: str) -> Any:
        args = self.args
        verify = not getattr(args, "no_verify_ssl", False)
        if not verify:
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        # one pool for all workers (`run` sizes it for its lines' workers too)
        pool = self.pool_size or max(10, getattr(args, "jobs", None) or DEFAULT_JOBS)
        if scheme == "b2":
            from .b2 import DEFAULT_API_URL, B2Session

            api_url = getattr(args, "b2_api_url", None) or os.environ.get("B2_API_URL")
            return B2Session(
                api_url=api_url or DEFAULT_API_URL, verify=verify, max_pool_connections=pool
            )
        from .s3 import S3Session

        return S3Session(
            endpoint_url=getattr(args, "endpoint_url", None),
            region=getattr(args, "region", None),
            profile=getattr(args, "profile", None),
            verify=verify,
            max_pool_connections=pool,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    # output
    def emit(self, doc: dict[str, Any]) -> None:
        """One JSON document (or one line of a JSON Lines listing) on stdout."""
        self.stdout.write(json.dumps(doc, default=_json_default, ensure_ascii=False) + "\n")

    def line(self, text: str) -> None:
        """A line of the command's output (listings, URLs): printed even with --quiet."""
        with self._print_lock:
            if self.bar is not None:
                self.bar.clear()
            self.stdout.write(text + "\n")

    def status(self, text: str) -> None:
        """A progress message (what was copied, deleted...): not with --quiet or --json."""
        if self.quiet or self.json:
            return
        stream = self.stderr if self.stdout_is_data else self.stdout
        with self._print_lock:
            if self.bar is not None:
                self.bar.clear()
            stream.write(text + "\n")
            stream.flush()

    def warn(self, text: str) -> None:
        with self._print_lock:
            if self.bar is not None:
                self.bar.clear()
            self.stdout.flush()
            self.stderr.write(f"s3lite: {text}\n")
            self.stderr.flush()

    def progress(self, total: int | None, label: str = "") -> ProgressBar | None:
        """A progress bar on stderr, if stderr is a terminal and not --quiet."""
        if self.quiet or not self.show_progress:
            return None
        bar = ProgressBar(total, label, stream=self.stderr)
        if not bar.enabled:
            return None
        self.bar = bar
        return bar

    def done_progress(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return iso_time(value)
    if isinstance(value, Location):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def iso_time(value: _dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(_dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{value.microsecond // 1000:03d}Z" if value.microsecond else "Z"
    )


def local_time(value: _dt.datetime | None) -> str:
    if value is None:
        return " " * 19
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


# --- ls ----------------------------------------------------------------------------------------


def cmd_ls(ctx: Context, args: argparse.Namespace) -> int:
    if args.url is None:
        return _ls_buckets(ctx, "s3", args.long)
    loc = remote_location(args.url, need_bucket=False)
    if not loc.bucket:
        if loc.key:
            raise usage_error(f"{args.url!r} names no bucket")
        return _ls_buckets(ctx, loc.scheme, args.long)
    session = ctx.session(loc.scheme)
    wildcard = _wildcard(ctx, loc, "ls")
    long = args.long or args.human_readable
    if wildcard is not None and args.versions:
        raise usage_error("--versions lists one key or prefix: a wildcard cannot apply")
    delimiter = None if args.recursive or wildcard is not None else "/"
    prefix = wildcard.prefix if wildcard is not None else loc.key
    if args.versions:
        listing = session.list_object_versions(prefix, bucket=loc.bucket, delimiter=delimiter)
    else:
        listing = session.list_objects(prefix, bucket=loc.bucket, delimiter=delimiter)
    count = objects = total = 0
    with about(loc.with_key("")):
        for page in listing.pages():
            entries: list[tuple[str, dict[str, Any] | None]] = [(p, None) for p in page.prefixes]
            entries += [(item["key"], item) for item in page.items]
            entries.sort(key=lambda e: e[0])
            for key, item in entries:
                if wildcard is not None and not wildcard.matches(key):
                    continue
                count += 1
                if item is not None and not item.get("delete_marker"):
                    objects += 1
                    total += int(item.get("content_length") or 0)
                _ls_entry(ctx, loc.with_key(key), item, long, args.versions)
    if count == 0 and loc.key:
        raise CLIError(f"nothing matches {loc}", EXIT_NOT_FOUND, "NoMatch")
    if args.summarize:
        if ctx.json:
            ctx.emit({"type": "summary", "objects": objects, "size": total})
        else:
            size = human_size(total) if args.human_readable else f"{total} bytes"
            ctx.line(f"\nTotal Objects: {objects}\n   Total Size: {size}")
    return EXIT_OK


def _ls_buckets(ctx: Context, scheme: str, long: bool) -> int:
    buckets = ctx.session(scheme).list_buckets()
    for bucket in buckets:
        url = f"{scheme}://{bucket['name']}"
        if ctx.json:  # the fields of list_buckets(), under the same names
            ctx.emit({"type": "bucket", "url": url, "bucket": bucket["name"], **bucket})
        elif long:
            ctx.line(f"{local_time(bucket.get('creation_date'))}  {url}")
        else:
            ctx.line(url)
    return EXIT_OK


def _ls_entry(
    ctx: Context, loc: Location, item: dict[str, Any] | None, long: bool, versions: bool
) -> None:
    if item is None:  # a common prefix ("folder")
        if ctx.json:
            ctx.emit({"type": "prefix", "url": str(loc), "bucket": loc.bucket, "key": loc.key})
        elif long:
            ctx.line(f"{'DIR':>10}  {'':19}  {loc}")
        else:
            ctx.line(str(loc))
        return
    marker = bool(item.get("delete_marker"))
    if ctx.json:  # the listing entry (ObjectInfo / VersionInfo), under the same names
        kind = "delete_marker" if marker else "object"
        ctx.emit({"type": kind, "url": str(loc), "bucket": loc.bucket, **item})
        return
    extra = ""
    if versions:
        flags = [f for f, on in (("latest", item.get("is_latest")), ("deleted", marker)) if on]
        extra = f"  {item.get('version_id') or '-'}  {','.join(flags) or '-'}"
    if long:
        size = "-" if marker else human_size(item.get("content_length") or 0)
        ctx.line(f"{size:>10}  {local_time(item.get('upload_timestamp'))}  {loc}{extra}")
    else:
        ctx.line(f"{loc}{extra}")


# --- transfers ---------------------------------------------------------------------------------


class Transfer:
    """One object or file to copy; `mtime` (the source's, epoch seconds) is set on
    downloaded files by a sync."""

    __slots__ = ("dest", "mtime", "reason", "size", "source")

    def __init__(
        self,
        source: Location,
        dest: Location,
        size: int | None = None,
        mtime: float | None = None,
        reason: str = "",
    ) -> None:
        self.source = source
        self.dest = dest
        self.size = size
        self.mtime = mtime
        self.reason = reason

    @property
    def verb(self) -> str:
        if not self.source.remote:
            return "upload"
        return "download" if not self.dest.remote else "copy"


class Outcome:
    """What run_transfers did: the transfers done, and those that failed with their error."""

    __slots__ = ("done", "failed")

    def __init__(self) -> None:
        self.done: list[Transfer] = []
        self.failed: list[tuple[Transfer, BaseException]] = []

    @property
    def exit_code(self) -> int:
        if not self.failed:
            return EXIT_OK
        return exit_code_for(self.failed[0][1]) or EXIT_FAILURE


class _InOrderWriter:
    """stdout for download_file: not seekable, so ranges are written in order (pwrite on a
    file opened for appending would put them anywhere)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw

    def write(self, data: bytes) -> int:
        self._raw.write(data)
        return len(data)

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        self._raw.flush()


class _ProgressReader:
    """A streamed object as a file for upload_file, counting what is read."""

    def __init__(self, response: Any, progress: Callable[[int, int | None], None] | None) -> None:
        self._response = response
        self._progress = progress
        self._done = 0
        self._total = response.content_length

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._response.read(None if n is None or n < 0 else n)
        self._done += len(data)
        if self._progress is not None:
            self._progress(self._done, self._total)
        return data

    def readable(self) -> bool:
        return True


def _transfer_options(args: argparse.Namespace) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if getattr(args, "multipart_threshold", None) is not None:
        opts["threshold"] = args.multipart_threshold
    if getattr(args, "part_size", None) is not None:
        opts["part_size"] = args.part_size
    return opts


def _execute(ctx: Context, t: Transfer, progress: Callable[[int, int | None], None] | None) -> None:
    from .cli_transfer import copy_kwargs, download_headers, put_small, upload_kwargs
    from .transfer import download_small

    args = ctx.args
    opts = {"concurrency": ctx.part_jobs, **_transfer_options(args)}
    src, dst = t.source, t.dest
    small = t.size is not None and t.size <= opts.get("threshold", 8 * 1024 * 1024)
    if not src.remote and not src.stdio and small and t.size is not None and t.size <= 1 << 20:
        session = ctx.session(dst.scheme)
        put_small(
            session, src.path, dst.key, dst.bucket, progress=progress,
            **upload_kwargs(args, dst.scheme),
        )  # fmt: skip
    elif not src.remote:
        session = ctx.session(dst.scheme)
        body: Any = sys.stdin.buffer if src.stdio else src.path
        session.upload_file(
            body, dst.key, bucket=dst.bucket, progress=progress,
            **upload_kwargs(args, dst.scheme), **opts,
        )  # fmt: skip
    elif not dst.remote:
        session = ctx.session(src.scheme)
        sse_c = download_headers(args, src.scheme)
        if dst.stdio and sse_c:
            ctx.stdout.flush()
            with session.get_object(src.key, bucket=src.bucket, headers=sse_c) as response:
                for chunk in response.iter_chunks():
                    sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        if dst.stdio:
            ctx.stdout.flush()
            session.download_file(
                src.key, _InOrderWriter(sys.stdout.buffer), bucket=src.bucket,
                progress=progress, **opts,
            )  # fmt: skip
            sys.stdout.buffer.flush()
            return
        parent = os.path.dirname(dst.path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        # Small objects (and SSE-C ones): one verified GET, no HEAD first.
        if not (small or sse_c) or not download_small(
            session, src.key, src.bucket, dst.path, headers=sse_c, progress=progress,
            whole_only=bool(sse_c),
        ):  # fmt: skip
            session.download_file(src.key, dst.path, bucket=src.bucket, progress=progress, **opts)
        if t.mtime is not None:
            os.utime(dst.path, (t.mtime, t.mtime))
    elif src.scheme == dst.scheme:
        session = ctx.session(src.scheme)
        session.copy_object(
            src.key, dst.key, source_bucket=src.bucket, dest_bucket=dst.bucket,
            **copy_kwargs(args, src.scheme),
        )  # fmt: skip
        if progress is not None and t.size:
            progress(t.size, t.size)
    else:  # between backends: stream from one into the other
        source, target = ctx.session(src.scheme), ctx.session(dst.scheme)
        upload = {"content_type": None, **upload_kwargs(args, dst.scheme)}
        with source.get_object(src.key, bucket=src.bucket) as response:
            upload["content_type"] = upload["content_type"] or response.content_type
            target.upload_file(
                _ProgressReader(response, progress), dst.key, bucket=dst.bucket, **upload, **opts
            )


def _delete_source(ctx: Context, loc: Location) -> None:
    if loc.remote:
        ctx.session(loc.scheme).delete_object(loc.key, bucket=loc.bucket)
    elif not loc.stdio:
        os.remove(loc.path)


def run_transfers(
    ctx: Context, transfers: list[Transfer], *, move: bool = False, dry_run: bool = False
) -> Outcome:
    """Run transfers (several files at a time, `--jobs`), with one progress bar for all.

    A single transfer's error is raised; with several, each failure is reported and the others
    go on.
    """
    outcome = Outcome()
    verb_of = (lambda t: "move") if move else (lambda t: t.verb)
    if dry_run:
        for t in transfers:
            ctx.status(f"(dry run) {verb_of(t)}: {t.source} -> {t.dest}")
        outcome.done = list(transfers)
        return outcome
    if not transfers:
        return outcome
    sizes = [t.size for t in transfers]
    total = sum(s for s in sizes if s is not None) if None not in sizes else None
    single = len(transfers) == 1
    bar = ctx.progress(total, str(transfers[0].source) if single else f"0/{len(transfers)} files")
    lock = threading.Lock()
    finished = 0

    def one(t: Transfer) -> None:
        nonlocal finished
        progress = bar.tracker(adopt_total=single) if bar is not None else None
        if not single:
            progress = _cancellable(ctx, progress)
        with about(t.source, t.dest):
            _execute(ctx, t, progress)
            if move:
                _delete_source(ctx, t.source)
        with lock:
            finished += 1
            outcome.done.append(t)
            if bar is not None and not single:
                bar.set_label(f"{finished}/{len(transfers)} files")
        if not t.dest.stdio:
            ctx.status(f"{verb_of(t)}: {t.source} -> {t.dest}")

    try:
        if single:
            one(transfers[0])
            return outcome
        from concurrent.futures import ThreadPoolExecutor

        def guarded(t: Transfer) -> None:
            if ctx.cancelled.is_set():
                return
            try:
                one(t)
            except Exception as exc:
                if ctx.cancelled.is_set():
                    return
                with lock:
                    outcome.failed.append((t, exc))
                ctx.warn(f"error: {verb_of(t)} {t.source} failed: {describe(exc)}")

        jobs = max(1, getattr(ctx.args, "jobs", 4) or 1)
        ctx.part_jobs = max(1, min(8, 32 // jobs))  # at most ~32 parts in flight in all
        with ThreadPoolExecutor(jobs, thread_name_prefix="s3lite-cli") as pool:
            futures = [pool.submit(guarded, t) for t in transfers]
            try:
                for future in futures:
                    future.result()
            except KeyboardInterrupt:
                ctx.cancelled.set()  # running transfers stop at their next progress report
                for future in futures:
                    future.cancel()
                raise
    finally:
        ctx.done_progress()
    return outcome


def _cancellable(
    ctx: Context, progress: Callable[[int, int | None], None] | None
) -> Callable[[int, int | None], None]:
    def report(done: int, total: int | None) -> None:
        if ctx.cancelled.is_set():
            raise Interrupted("interrupted")
        if progress is not None:
            progress(done, total)

    return report


def _transfer_doc(t: Transfer) -> dict[str, Any]:
    doc: dict[str, Any] = {"action": t.verb, "source": str(t.source), "dest": str(t.dest)}
    if t.size is not None:
        doc["content_length"] = t.size
    if t.reason:
        doc["reason"] = t.reason
    return doc


# --- cp / mv -------------------------------------------------------------------------------------


def cmd_cp(ctx: Context, args: argparse.Namespace) -> int:
    return _copy(ctx, args, move=False)


def cmd_mv(ctx: Context, args: argparse.Namespace) -> int:
    return _copy(ctx, args, move=True)


def _copy(ctx: Context, args: argparse.Namespace, *, move: bool) -> int:
    src, dst = parse_location(args.source), parse_location(args.dest)
    name = "mv" if move else "cp"
    if not src.remote and not dst.remote:
        if src.stdio and dst.stdio:
            raise usage_error("source and destination cannot both be '-'")
        raise usage_error("one of SOURCE and DEST must be an s3:// or b2:// URL")
    for loc in (src, dst):
        if loc.remote and not loc.bucket:
            raise usage_error(f"{loc.scheme}:// needs a bucket: {loc.scheme}://BUCKET/KEY")
    if (src.stdio or dst.stdio) and args.recursive:
        raise usage_error("-r/--recursive cannot read from stdin or write to stdout")
    if move and src.stdio:
        raise usage_error("mv cannot move stdin; use cp")
    if dst.stdio:
        ctx.stdout_is_data = True
    skipped: list[Skipped] = []
    _check_object_options(args, src, dst)
    wildcard = _wildcard(ctx, src, name)
    _no_wildcard(ctx, dst, f"the destination of {name}")
    if wildcard is not None:
        with about(src.with_key(""), dst):
            transfers, skipped = _plan_wildcard(ctx, src, dst, wildcard)
        _report_skipped(ctx, skipped)
    elif args.recursive:
        with about(src, dst):
            transfers, skipped = _plan_recursive(ctx, src, dst)
        _report_skipped(ctx, skipped)
    else:
        transfers = [_plan_single(ctx, src, dst)]
    if any(t.source == t.dest for t in transfers):
        raise usage_error(f"{src} and {dst} are the same")
    try:
        outcome = run_transfers(ctx, transfers, move=move, dry_run=args.dry_run)
    except CLIError as exc:
        if exc.error_code == "NoSuchKey" and wildcard is None and not args.recursive:
            _hint_recursive(ctx, src)
        raise
    if ctx.json and not dst.stdio:  # on stdout, the object's bytes are the output
        ctx.emit(
            {
                "command": name,
                "dry_run": args.dry_run,
                "ok": not outcome.failed and not skipped,
                "count": len(outcome.done),
                "bytes": sum(t.size or 0 for t in outcome.done),
                "transfers": [_transfer_doc(t) for t in outcome.done],
                "errors": [
                    {"source": str(t.source), "error": describe(exc)} for t, exc in outcome.failed
                ],
                "skipped": [item.doc() for item in skipped],
            }
        )
    elif args.recursive and not transfers and not skipped:
        ctx.status(f"nothing to {'move' if move else 'copy'} under {src}")
    if not outcome.failed and skipped:
        return EXIT_SKIPPED
    return outcome.exit_code


def _check_object_options(args: argparse.Namespace, src: Location, dst: Location) -> None:
    """Refuse object options that cannot apply, before anything is transferred."""
    from .cli_transfer import OptionError, copy_kwargs, download_headers, upload_kwargs

    try:
        if dst.remote and src.remote and src.scheme == dst.scheme:
            copy_kwargs(args, dst.scheme)
        elif dst.remote:
            upload_kwargs(args, dst.scheme)
        elif src.remote:
            download_headers(args, src.scheme)
    except OptionError as exc:
        raise usage_error(str(exc)) from None


def _wildcard(ctx: Context, loc: Location, command: str) -> Wildcard | None:
    """The wildcard in a remote source's key (None: no wildcard, or --raw)."""
    from .cli_filters import Wildcard, has_wildcard

    if getattr(ctx.args, "raw", False):
        return None
    if not loc.remote:
        if has_wildcard(loc.path) and not os.path.lexists(loc.path):
            raise usage_error(
                f"{loc.path}: wildcards in local paths are for your shell to expand "
                "(leave the pattern unquoted)"
            )
        return None
    if has_wildcard(loc.bucket):
        raise usage_error(f"{loc}: wildcards match keys, not bucket names")
    return Wildcard(loc.key) if has_wildcard(loc.key) else None


def _no_wildcard(ctx: Context, loc: Location, where: str) -> None:
    """Refuse a wildcard where it cannot apply."""
    from .cli_filters import has_wildcard

    if getattr(ctx.args, "raw", False) or loc.stdio:
        return
    text = f"{loc.bucket}/{loc.key}" if loc.remote else ""
    if has_wildcard(text):
        raise usage_error(
            f"{loc}: a wildcard cannot be used for {where}; name it exactly (or add --raw to "
            "take '*' and '?' literally)"
        )


def _matching(ctx: Context, loc: Location, wildcard: Wildcard) -> list[tuple[str, dict[str, Any]]]:
    """The objects a wildcard matches, after --include/--exclude (listed once, under the
    wildcard's literal prefix); none is "not found"."""
    from .cli_filters import filters_from

    filters = filters_from(ctx.args)
    found = [
        (key, item)
        for key, item in remote_files(ctx, loc.with_key(wildcard.prefix))
        if wildcard.matches(key) and filters.wanted(wildcard.relative(key))
    ]
    if not found:
        raise CLIError(f"no object matches {loc}", EXIT_NOT_FOUND, "NoMatch")
    return found


def _plan_wildcard(
    ctx: Context, src: Location, dst: Location, wildcard: Wildcard
) -> tuple[list[Transfer], list[Skipped]]:
    """The objects a wildcard matches, each to its path below the wildcard's folder; keys
    with no faithful counterpart at the destination are skipped (and reported)."""
    if dst.stdio:
        raise usage_error(f"{src}: a wildcard names many objects; they cannot go to stdout")
    if dst.remote and dst.key and not dst.key.endswith("/"):
        raise usage_error(
            f"{dst}: a wildcard copies many objects: end the destination with '/' (a prefix)"
        )
    if not dst.remote and os.path.exists(dst.path) and not os.path.isdir(dst.path):
        raise usage_error(f"{dst.path} exists and is not a directory")
    matches = [(wildcard.relative(key), key, item) for key, item in _matching(ctx, src, wildcard)]
    unfaithful = {} if dst.remote else _faithful_local([rel for rel, _, _ in matches])
    transfers: list[Transfer] = []
    skipped: list[Skipped] = []
    for rel, key, item in matches:
        size = item.get("content_length")
        if dst.remote:
            problem = _key_problem(dst.scheme, dst.key + rel)
            if problem is not None:
                skipped.append(Skipped(src.with_key(key), f"it cannot be a key: {problem}"))
                continue
            transfers.append(Transfer(src.with_key(key), dst.with_key(dst.key + rel), size))
        elif rel in unfaithful:
            reason = f"no faithful local path: {unfaithful[rel]}"
            skipped.append(Skipped(src.with_key(key), reason))
        else:  # every key is checked before anything is written
            path = safe_local_path(dst.path, rel)
            transfers.append(Transfer(src.with_key(key), dst.with_path(path), size))
    return transfers, skipped


def _hint_recursive(ctx: Context, src: Location) -> None:
    """After "no such object": if the key is a prefix of other keys, say to add -r."""
    if not src.remote or not src.key:
        return
    session = ctx.session(src.scheme)
    prefix = dir_prefix(src.key)
    with contextlib.suppress(S3LiteError):
        if any(True for _ in session.list_objects(prefix, bucket=src.bucket, max_keys=1)):
            raise usage_error(
                f'{src} is a prefix (a "folder"), not an object: add -r to copy everything under it'
            )


def _plan_single(ctx: Context, src: Location, dst: Location) -> Transfer:
    size: int | None = None
    if src.remote:
        if not src.key or src.key.endswith("/"):
            raise usage_error(
                f"{src} is a bucket or prefix, not an object: add -r to copy everything under it"
            )
        name = basename(src.key)
    elif src.stdio:
        name = ""
    else:
        st = os.stat(src.path)
        if stat.S_ISDIR(st.st_mode):
            raise usage_error(f"{src.path} is a directory: add -r to copy everything in it")
        size = st.st_size if stat.S_ISREG(st.st_mode) else None
        name = os.path.basename(src.path.rstrip("/" + os.sep))
    if dst.remote:
        key = dst.key
        if not key or key.endswith("/"):
            if not name:
                raise usage_error(f"name the object to write: {dst.bucket_url}/KEY")
            key += name
        return Transfer(src, dst.with_key(key), size)
    if dst.stdio:
        return Transfer(src, dst, size)
    path = dst.path
    if os.path.isdir(path) or path.endswith(("/", os.sep)):
        if name in ("", ".", "..") or "\x00" in name:
            raise UnsafeKey(f"refusing key {src.key!r}: it names no file in {path!r}")
        path = os.path.join(path, name)
    return Transfer(src, dst.with_path(path), size)


def _plan_recursive(
    ctx: Context, src: Location, dst: Location
) -> tuple[list[Transfer], list[Skipped]]:
    skipped: list[Skipped] = []
    if src.remote:
        prefix = dir_prefix(src.key)
        items = remote_files(ctx, src.with_key(prefix), with_content_markers=not dst.remote)
        if not items and src.key:
            raise CLIError(f"nothing found under {src.with_key(prefix)}", EXIT_NOT_FOUND)
        pairs = [(key[len(prefix) :], src.with_key(key), item) for key, item in items]
    else:
        if not os.path.isdir(src.path):
            if not os.path.exists(src.path):
                raise FileNotFoundError(2, "No such file or directory", src.path)
            raise usage_error(f"{src.path} is not a directory (leave out -r for a file)")
        pairs = [
            (rel, src.with_path(path), {"content_length": size})
            for rel, (path, size, _) in local_files(ctx, src.path).items()
        ]
    from .cli_filters import filters_from

    filters = filters_from(ctx.args)
    if filters:
        pairs = [p for p in pairs if filters.wanted(p[0])]
    transfers = []
    if dst.remote:
        dest_prefix = dir_prefix(dst.key)
        for rel, source, item in pairs:
            problem = _key_problem(dst.scheme, dest_prefix + rel)
            if problem is not None:
                skipped.append(Skipped(source, f"it cannot be a {dst.scheme}:// key: {problem}"))
                continue
            target = dst.with_key(dest_prefix + rel)
            transfers.append(Transfer(source, target, item["content_length"]))
    else:
        if os.path.exists(dst.path) and not os.path.isdir(dst.path):
            raise usage_error(f"{dst.path} exists and is not a directory")
        unfaithful = _faithful_local([rel for rel, _, _ in pairs])
        # Every key is checked before anything is written.
        for rel, source, item in pairs:
            if rel in unfaithful:
                skipped.append(Skipped(source, f"no faithful local path: {unfaithful[rel]}"))
                continue
            path = safe_local_path(dst.path, rel)
            transfers.append(Transfer(source, dst.with_path(path), item["content_length"]))
    return transfers, skipped


def remote_files(
    ctx: Context, loc: Location, *, with_content_markers: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """(key, listing item) of every object under a prefix; "folder" markers (keys ending
    in '/') are left out, except (`with_content_markers`) those that hold bytes: a download
    reports those as skipped rather than lose them silently."""
    session = ctx.session(loc.scheme)
    return [
        (item["key"], item)
        for item in session.list_objects(loc.key, bucket=loc.bucket)
        if not item["key"].endswith("/")
        or (with_content_markers and int(item.get("content_length") or 0) > 0)
    ]


def local_files(ctx: Context, root: str) -> dict[str, tuple[str, int, float]]:
    """relative key -> (path, size, mtime) of every regular file under `root`."""
    files: dict[str, tuple[str, int, float]] = {}

    def report(exc: OSError) -> None:
        ctx.warn(f"warning: skipping {describe(exc)}")

    for dirpath, dirnames, filenames in os.walk(root, onerror=report):
        dirnames.sort()
        for name in sorted(filenames):
            if _PART_FILE_RE.match(name):
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except OSError as exc:
                report(exc)
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            rel = os.path.relpath(path, root)
            if os.sep != "/":
                rel = rel.replace(os.sep, "/")
            files[rel] = (path, st.st_size, st.st_mtime)
    return files


# --- rm ------------------------------------------------------------------------------------------


def cmd_rm(ctx: Context, args: argparse.Namespace) -> int:
    targets = [remote_location(url) for url in args.urls]
    deleted: list[str] = []
    errors: list[dict[str, Any]] = []
    for loc in targets:
        with about(loc):
            errors += _rm_one(ctx, args, loc, deleted)
    count = len(deleted)
    if ctx.json:
        ctx.emit({"command": "rm", "dry_run": args.dry_run, "ok": not errors, "count": count,
                  "deleted": deleted, "errors": errors})  # fmt: skip
    elif not ctx.quiet:
        noun = "object" if count == 1 else "objects"
        verb = "would delete" if args.dry_run else "deleted"
        ctx.stdout.write(f"{verb} {count} {noun}\n")
    if errors:
        codes = {e.get("code") for e in errors}
        return EXIT_ACCESS_DENIED if codes <= {"AccessDenied", "unauthorized"} else EXIT_FAILURE
    return EXIT_OK


def _rm_one(
    ctx: Context, args: argparse.Namespace, loc: Location, deleted: list[str]
) -> list[dict[str, Any]]:
    """Delete one object, or every object under a prefix; returns the failures."""
    from .cli_filters import filters_from
    from .cli_pool import delete_keys

    errors: list[dict[str, Any]] = []
    session = ctx.session(loc.scheme)
    wildcard = _wildcard(ctx, loc, "rm")
    many = args.recursive or wildcard is not None
    if wildcard is not None:
        keys = [key for key, _ in _matching(ctx, loc, wildcard)]
    elif args.recursive:
        prefix = dir_prefix(loc.key)
        filters = filters_from(args)
        keys = [
            item["key"]
            for item in session.list_objects(prefix, bucket=loc.bucket)
            if filters.wanted(item["key"][len(prefix) :])
        ]
    else:
        if not loc.key:
            raise usage_error(
                f"{loc} is a bucket: use `s3lite rm -r {loc}` to delete every object in "
                f"it, or `s3lite rb {loc}` to remove the bucket"
            )
        session.head_object(loc.key, bucket=loc.bucket)  # NoSuchKey: exit code 3
        keys = [loc.key]
    urls = [str(loc.with_key(k)) for k in keys]
    if args.dry_run:
        for url in urls:
            ctx.status(f"(dry run) delete: {url}")
        deleted += urls
        return []
    if many:
        result = delete_keys(session, loc.bucket, keys, args.jobs)
        failed = {e["key"] for e in result.errors}
        for e in result.errors:
            url, message = str(loc.with_key(e["key"])), e.get("message") or e.get("code")
            ctx.warn(f"error: delete {url} failed: {message}")
            errors.append({"url": url, "code": e.get("code"), "error": message})
        urls = [u for k, u in zip(keys, urls, strict=True) if k not in failed]
    else:
        session.delete_object(loc.key, bucket=loc.bucket)
    for url in urls:
        ctx.status(f"delete: {url}")
    deleted += urls
    return errors


# --- cat / head ----------------------------------------------------------------------------------


def cmd_cat(ctx: Context, args: argparse.Namespace) -> int:
    targets = []
    for url in args.urls:
        loc = remote_location(url, need_key=True)
        wildcard = _wildcard(ctx, loc, "cat")
        if wildcard is None:
            targets.append(loc)
        else:
            with about(loc.with_key("")):
                targets += [loc.with_key(key) for key, _ in _matching(ctx, loc, wildcard)]
    ctx.stdout_is_data = True
    out = sys.stdout.buffer
    for loc in targets:
        session = ctx.session(loc.scheme)
        with about(loc), session.get_object(loc.key, bucket=loc.bucket) as response:
            for chunk in response.iter_chunks():
                out.write(chunk)
    out.flush()
    return EXIT_OK


def cmd_head(ctx: Context, args: argparse.Namespace) -> int:
    loc = remote_location(args.url, need_key=True)
    _no_wildcard(ctx, loc, "head (one object)")
    ctx.stdout_is_data = True
    with about(loc):
        return _head(ctx, args, loc)


def _head(ctx: Context, args: argparse.Namespace, loc: Location) -> int:
    session = ctx.session(loc.scheme)
    out = sys.stdout.buffer
    if args.bytes is not None:
        if args.bytes > 0:
            try:
                with session.get_object(
                    loc.key, bucket=loc.bucket, range_start=0, range_end=args.bytes - 1
                ) as response:
                    for chunk in response.iter_chunks():
                        out.write(chunk)
            except InvalidRange:
                session.head_object(loc.key, bucket=loc.bucket)  # empty object: no bytes
        out.flush()
        return EXIT_OK
    lines = 10 if args.lines is None else args.lines
    if lines > 0:
        with session.get_object(loc.key, bucket=loc.bucket) as response:
            for chunk in response.iter_chunks(64 * 1024):
                start = 0
                while lines > 0:
                    at = chunk.find(b"\n", start)
                    if at < 0:
                        break
                    lines -= 1
                    start = at + 1
                if lines == 0:
                    out.write(chunk[:start])
                    break
                out.write(chunk)
    out.flush()
    return EXIT_OK


# --- buckets -------------------------------------------------------------------------------------


def _bucket_location(url: str) -> Location:
    loc = remote_location(url)
    if loc.key.strip("/"):
        raise usage_error(f"{url!r} names an object; give just the bucket: {loc.bucket_url}")
    return loc


def cmd_mb(ctx: Context, args: argparse.Namespace) -> int:
    loc = _bucket_location(args.url)
    try:
        ctx.session(loc.scheme).create_bucket(loc.bucket)
    except BucketAlreadyOwnedByYou:
        message = f"bucket {loc.bucket_url} already exists (and is yours)"
        raise CLIError(message, EXIT_CONFLICT) from None
    except BucketAlreadyExists:
        raise CLIError(f"bucket name {loc.bucket!r} is taken", EXIT_CONFLICT) from None
    if ctx.json:
        ctx.emit({"command": "mb", "bucket": loc.bucket, "url": loc.bucket_url})
    else:
        ctx.status(f"make bucket: {loc.bucket_url}")
    return EXIT_OK


def cmd_rb(ctx: Context, args: argparse.Namespace) -> int:
    loc = _bucket_location(args.url)
    session = ctx.session(loc.scheme)
    deleted = 0
    not_empty = CLIError(
        f"bucket {loc.bucket_url} is not empty: add --force to delete its objects first, "
        f"or `s3lite rm -r {loc.bucket_url}`",
        EXIT_CONFLICT,
    )
    with about(loc):
        if args.force:
            deleted = _empty_bucket(ctx, session, loc)
        elif any(True for _ in session.list_objects(bucket=loc.bucket, limit=1)):
            raise not_empty  # some servers (SeaweedFS) would delete it with its objects
        try:
            session.delete_bucket(loc.bucket)
        except BucketNotEmpty:
            raise not_empty from None
    if ctx.json:
        ctx.emit({"command": "rb", "bucket": loc.bucket, "url": loc.bucket_url,
                  "deleted_objects": deleted})  # fmt: skip
    else:
        if args.force:
            ctx.status(f"deleted {deleted} object{'' if deleted == 1 else 's'}")
        ctx.status(f"remove bucket: {loc.bucket_url}")
    return EXIT_OK


def _empty_bucket(ctx: Context, session: Any, loc: Location) -> int:
    """Delete every object (every version, on versioned buckets and B2) and every unfinished
    upload; returns how many objects (names) were deleted."""
    names = {item["key"] for item in session.list_objects(bucket=loc.bucket)}
    result = session.delete_objects(  # listed once
        sorted(names), bucket=loc.bucket, raise_errors=False
    )
    if loc.scheme == "s3":
        try:
            listing = session.list_object_versions(bucket=loc.bucket)
            versions = [(v["key"], v.get("version_id")) for v in listing]
            if versions:
                more = session.delete_objects(versions, bucket=loc.bucket, raise_errors=False)
                result.errors.extend(more.errors)
        except ClientError as exc:  # a server without versions
            if exc.status not in (400, 404, 405, 501):
                raise
    for upload in list(session.list_multipart_uploads(bucket=loc.bucket)):
        session._mp_abort(loc.bucket, upload["key"], upload["upload_id"])
    if result.errors:
        first = result.errors[0]
        raise CLIError(
            f"could not delete {len(result.errors)} object(s), e.g. {first.get('key')!r}: "
            f"{first.get('message') or first.get('code')}"
        )
    return len(names)


# --- presign -------------------------------------------------------------------------------------


def cmd_presign(ctx: Context, args: argparse.Namespace) -> int:
    loc = remote_location(args.url, need_key=True)
    _no_wildcard(ctx, loc, "presign (one object)")
    method = args.method.upper()
    if loc.scheme == "b2" and method not in ("GET", "HEAD"):
        raise usage_error("B2 presigns downloads only (--method GET or HEAD)")
    if not 1 <= args.expires <= 7 * 24 * 3600:
        raise usage_error(
            f"--expires must be between 1 second and 7 days (7d, 604800), got {args.expires} s"
        )
    with about(loc.with_key("")):
        url = ctx.session(loc.scheme).presign(method, loc.key, args.expires, bucket=loc.bucket)
    if ctx.json:
        expires_at = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=args.expires)
        ctx.emit({"command": "presign", "url": url, "method": method, "object": str(loc),
                  "expires_in": args.expires, "expires_at": expires_at})  # fmt: skip
    else:
        ctx.line(url)
    return EXIT_OK


# --- sync ----------------------------------------------------------------------------------------


class Entry:
    """A file or object on one side of a sync."""

    __slots__ = ("etag", "loc", "mtime", "size")

    def __init__(
        self, loc: Location, size: int, mtime: float | None, etag: str | None = None
    ) -> None:
        self.loc = loc
        self.size = size
        self.mtime = mtime
        self.etag = etag


def _entries(
    ctx: Context, loc: Location, *, source: bool, to_local: bool = False
) -> dict[str, Entry]:
    """rel -> entry under a prefix or directory (`to_local`: a source downloaded to a
    directory, whose folder markers with content are listed so they can be reported)."""
    if loc.remote:
        prefix = dir_prefix(loc.key)
        return {
            key[len(prefix) :]: Entry(
                loc.with_key(key),
                int(item.get("content_length") or 0),
                _timestamp(item.get("upload_timestamp")),
                item.get("etag"),
            )
            for key, item in remote_files(ctx, loc.with_key(prefix), with_content_markers=to_local)
        }
    if not os.path.exists(loc.path):
        if source:
            raise FileNotFoundError(2, "No such file or directory", loc.path)
        return {}
    if not os.path.isdir(loc.path):
        raise usage_error(f"{loc.path} is not a directory: sync copies directories")
    return {
        rel: Entry(loc.with_path(path), size, mtime)
        for rel, (path, size, mtime) in local_files(ctx, loc.path).items()
    }


def _timestamp(value: _dt.datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _local_digest(path: str, like: str) -> str:
    """The MD5 (S3's ETag) or SHA-1 (B2's) of a local file, whichever `like` is."""
    import hashlib

    h = hashlib.md5() if len(like) == 32 else hashlib.sha1()  # noqa: S324 - not for security
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _plain_digest(etag: str | None) -> str | None:
    """An ETag that is the MD5 (S3) or SHA-1 (B2) of the content, normalised; else None."""
    value = (etag or "").strip('"').lower()
    return value if re.fullmatch(r"[0-9a-f]{32}|[0-9a-f]{40}", value) else None


def _same_content(a: Entry, b: Entry) -> bool | None:
    """Whether two entries hold the same bytes, by hash; None when that cannot be told
    (multipart ETags, different services)."""
    if a.loc.remote and b.loc.remote:
        da, db = _plain_digest(a.etag), _plain_digest(b.etag)
        return da == db if da and db and a.loc.scheme == b.loc.scheme else None
    local, remote = (b, a) if a.loc.remote else (a, b)
    expected = _plain_digest(remote.etag)
    if expected is None:
        return None
    return _local_digest(local.loc.path, expected) == expected


def _why_copy(src: Entry, dst: Entry | None, args: argparse.Namespace) -> str | None:
    """Why `src` must be copied over `dst` (None: they are the same)."""
    if dst is None:
        return "new"
    if src.size != dst.size:
        return "size differs"
    if args.size_only:
        return None
    if args.checksum:
        same = _same_content(src, dst)
        if same is not None:
            return None if same else "content differs"
    # Whole seconds: some servers and file systems keep no more.
    if src.mtime is not None and dst.mtime is not None and int(src.mtime) > int(dst.mtime):
        return "newer"
    if (
        getattr(args, "exact_timestamps", False)
        and src.mtime is not None
        and dst.mtime is not None
        and int(src.mtime) != int(dst.mtime)
    ):
        return "time differs"
    return None


def cmd_sync(ctx: Context, args: argparse.Namespace) -> int:
    src, dst = parse_location(args.source), parse_location(args.dest)
    if src.stdio or dst.stdio:
        raise usage_error("sync works on directories and prefixes, not stdin/stdout")
    if not src.remote and not dst.remote:
        raise usage_error("one of SOURCE and DEST must be an s3:// or b2:// URL")
    for loc in (src, dst):
        if loc.remote and not loc.bucket:
            raise usage_error(f"{loc.scheme}:// needs a bucket: {loc.scheme}://BUCKET/PREFIX")
    _no_wildcard(ctx, src, "sync (a directory or prefix)")
    _no_wildcard(ctx, dst, "sync (a directory or prefix)")
    _check_object_options(args, src, dst)
    with about(src, dst):
        source = _entries(ctx, src, source=True, to_local=not dst.remote)
        dest = _entries(ctx, dst, source=False)
    from .cli_filters import filters_from

    filters = filters_from(args)
    if filters:  # what is filtered out is neither copied nor deleted
        source = {rel: e for rel, e in source.items() if filters.wanted(rel)}
        dest = {rel: e for rel, e in dest.items() if filters.wanted(rel)}
    # Sources with no faithful counterpart are skipped (and reported): never copied, and
    # what they would have collapsed onto locally is never deleted as extra.
    why: dict[str, str] = {}
    if dst.remote:
        for rel in source:
            problem = _key_problem(dst.scheme, dir_prefix(dst.key) + rel)
            if problem is not None:
                why[rel] = f"it cannot be a {dst.scheme}:// key: {problem}"
    else:
        why = {rel: f"no faithful local path: {r}" for rel, r in _faithful_local([*source]).items()}
    kept = {_local_shadow(rel) for rel in why} if not dst.remote else set()
    skipped = [Skipped(source.pop(rel).loc, why[rel]) for rel in sorted(why)]
    _report_skipped(ctx, skipped)
    transfers: list[Transfer] = []
    unchanged = 0
    for rel, entry in sorted(source.items()):
        reason = _why_copy(entry, dest.get(rel), args)
        if reason is None:
            unchanged += 1
            continue
        if dst.remote:
            target = dst.with_key(dir_prefix(dst.key) + rel)
        else:
            target = dst.with_path(safe_local_path(dst.path, rel))  # all checked before copying
        mtime = entry.mtime if not dst.remote and src.remote else None
        transfers.append(Transfer(entry.loc, target, entry.size, mtime, reason))
    extra = (
        [dest[rel].loc for rel in sorted(dest) if rel not in source and rel not in kept]
        if args.delete
        else []
    )

    outcome = run_transfers(ctx, transfers, dry_run=args.dry_run)
    deleted, delete_errors = _sync_delete(ctx, dst, extra, args.dry_run)
    if ctx.json:
        ctx.emit(
            {
                "command": "sync",
                "source": str(src),
                "dest": str(dst),
                "dry_run": args.dry_run,
                "ok": not outcome.failed and not delete_errors and not skipped,
                "copied": [_transfer_doc(t) for t in outcome.done],
                "deleted": [str(loc) for loc in deleted],
                "unchanged": unchanged,
                "bytes": sum(t.size or 0 for t in outcome.done),
                "errors": [{"source": str(t.source), "error": describe(exc)}
                           for t, exc in outcome.failed] + delete_errors,
                "skipped": [item.doc() for item in skipped],
            }
        )  # fmt: skip
    else:
        would = "would " if args.dry_run else ""
        ctx.status(
            f"sync: {would}copy {len(outcome.done)}, {would}delete {len(deleted)}, "
            f"{unchanged} unchanged" + (f", {len(skipped)} skipped" if skipped else "")
        )
    if outcome.failed:
        return outcome.exit_code
    if delete_errors:
        return EXIT_FAILURE
    return EXIT_SKIPPED if skipped else EXIT_OK


def _sync_delete(
    ctx: Context, dst: Location, extra: list[Location], dry_run: bool
) -> tuple[list[Location], list[dict[str, Any]]]:
    if dry_run:
        for loc in extra:
            ctx.status(f"(dry run) delete: {loc}")
        return extra, []
    if not extra:
        return [], []
    errors: list[dict[str, Any]] = []
    deleted: list[Location] = []
    if dst.remote:
        from .cli_pool import delete_keys

        session = ctx.session(dst.scheme)
        jobs = getattr(ctx.args, "jobs", None) or DEFAULT_JOBS
        result = delete_keys(session, dst.bucket, [loc.key for loc in extra], jobs)
        failed = {e["key"]: e for e in result.errors}
        for loc in extra:
            if loc.key in failed:
                message = failed[loc.key].get("message") or failed[loc.key].get("code")
                errors.append({"target": str(loc), "error": message})
                ctx.warn(f"error: delete {loc} failed: {message}")
            else:
                deleted.append(loc)
                ctx.status(f"delete: {loc}")
        return deleted, errors
    for loc in extra:
        try:
            os.remove(loc.path)
        except OSError as exc:
            errors.append({"target": str(loc), "error": describe(exc)})
            ctx.warn(f"error: delete {loc} failed: {describe(exc)}")
        else:
            deleted.append(loc)
            ctx.status(f"delete: {loc}")
    return deleted, errors


# --- lock ----------------------------------------------------------------------------------------


def cmd_lock(ctx: Context, args: argparse.Namespace) -> int:
    loc = remote_location(args.url, need_key=True)
    _no_wildcard(ctx, loc, "lock (one lock key)")
    command = list(args.cmd)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise usage_error("name the command to run: s3lite lock URL -- COMMAND [ARGS...]")
    ctx.stdout_is_data = True  # stdout belongs to the command; messages go to stderr
    session = ctx.session(loc.scheme)
    with about(loc.with_key("")):
        lock = _make_lock(session, loc, args)
        if not lock.acquire(blocking=False):
            if args.timeout == 0:
                raise CLIError(f"lock {loc} is held by someone else", EXIT_CONFLICT)
            ctx.status(f"waiting for lock {loc} ...")
            timeout = -1 if args.timeout is None else args.timeout
            if not lock.acquire(timeout=timeout):
                raise CLIError(
                    f"lock {loc} is still held by someone else after {args.timeout:g} s",
                    EXIT_CONFLICT,
                )
    stopped, why = False, None
    try:
        code, stopped = _run_holding(lock, command)
    finally:
        try:
            if stopped:  # lost, the server perhaps silent: clean up briefly, objects expire
                import time

                from .transport import request_deadline

                with request_deadline(time.monotonic() + min(KILL_GRACE, lock.ttl / 4)):
                    lock.release()
            else:
                lock.release()
        except LockLost as exc:
            why = str(exc).split(": ", 1)[-1]  # "lock 'k' was lost before release: <why>"
        except S3LiteError as exc:
            ctx.warn(
                f"warning: could not release lock {loc} ({describe(exc)}): it expires by itself"
            )
    if stopped or why is not None:
        why = why or "it could not be renewed in time, or another client broke it"
        then = "; the command was stopped" if stopped else ""
        raise CLIError(f"lock {loc} was lost while the command ran ({why}){then}", EXIT_FAILURE)
    return code


def _make_lock(session: Any, loc: Location, args: argparse.Namespace) -> Any:
    options: dict[str, Any] = {"bucket": loc.bucket, "exclusive": not args.shared}
    if args.ttl is not None:
        options["ttl"] = args.ttl
    make = getattr(session, "lock", None)
    if make is not None:
        return make(loc.key, **options)
    from .lock import DistributedLock

    return DistributedLock(session, loc.key, **options)


#: Longest wait between SIGTERM and SIGKILL when `s3lite lock` stops its command; a quarter of
#: the TTL when that is shorter, so that SIGKILL comes no later than the lease's end.
KILL_GRACE = 10.0


def _run_holding(lock: Any, command: list[str]) -> tuple[int, bool]:
    """Run `command` while `lock` is held (its heartbeat renews it). Stops the command --
    SIGTERM, then SIGKILL after a grace period (`KILL_GRACE`, at most a quarter of the TTL) --
    once the lease has less than that grace left without a renewal, so that it is killed no
    later than the lease's end whatever the server does; or at once if the lock was lost
    (broken by another client, found by `verify()` every few seconds, never waited on).
    SIGTERM and SIGHUP are passed on to the command; Ctrl-C reaches it from the terminal
    directly. Returns the command's exit code (128+N if killed by signal N) and whether it
    was stopped because the lock was (about to be) lost."""
    import signal
    import subprocess

    try:
        proc = subprocess.Popen(command)
    except FileNotFoundError:
        raise CLIError(f"command not found: {command[0]}", 127) from None
    except PermissionError:
        raise CLIError(f"cannot run {command[0]}: permission denied", 126) from None

    def forward(signum: int, _frame: Any) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    def ignore(_signum: int, _frame: Any) -> None:
        pass  # the command got the Ctrl-C too; the lock is released when it exits

    done = threading.Event()

    def check() -> None:
        """Ask the server now and then; a lock found lost shows in `time_left()`."""
        interval = max(0.1, min(lock.heartbeat / 2, 5.0))
        while not done.wait(interval):
            with contextlib.suppress(S3LiteError):
                if not lock.verify():
                    return

    handlers = {signal.SIGINT: ignore, signal.SIGTERM: forward}
    if hasattr(signal, "SIGHUP"):
        handlers[signal.SIGHUP] = forward
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    checker = threading.Thread(target=check, name="s3lite-lock-verify", daemon=True)
    checker.start()
    stopped = False
    grace = min(KILL_GRACE, lock.ttl / 4)
    tick = max(0.02, min(0.25, lock.ttl / 40))
    try:
        while True:
            left = lock.time_left()
            if left <= grace:
                break
            try:
                code = proc.wait(timeout=min(tick, left - grace))
                return (128 - code if code < 0 else code), stopped
            except subprocess.TimeoutExpired:
                pass
        if proc.poll() is not None:
            code = proc.returncode
            return (128 - code if code < 0 else code), stopped
        stopped = True
        proc.terminate()
        # SIGKILL at the lease's end -- or, for a lock already lost, after the grace period
        wait = left if left > 0 else grace
        try:
            code = proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    finally:
        done.set()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return (128 - code if code < 0 else code), stopped
