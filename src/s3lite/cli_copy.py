"""`s3lite cp` and `mv`: what to copy (one object, a prefix, a wildcard's matches) and the
transfers themselves, several at a time with one progress bar (`sync` runs its copies here
too)."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import threading
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from .cli_errors import (
    EXIT_FAILURE,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_SKIPPED,
    CLIError,
    describe,
    exit_code_for,
    usage_error,
)
from .cli_listing import find_wildcard, local_files, matching_objects, refuse_wildcard, remote_files
from .cli_locations import (
    Location,
    Skipped,
    UnsafeKey,
    about,
    basename,
    dir_prefix,
    key_problem,
    parse_location,
    safe_local_path,
    unfaithful_keys,
)
from .errors import S3LiteError

if TYPE_CHECKING:
    import argparse

    from .cli_context import Context
    from .cli_filters import Wildcard

__all__ = [
    "Interrupted",
    "Outcome",
    "Transfer",
    "check_object_options",
    "cmd_cp",
    "cmd_mv",
    "report_skipped",
    "run_transfers",
    "transfer_doc",
]


class Interrupted(Exception):
    """Raised inside a transfer's progress callback after Ctrl-C: the transfer stops the way
    it stops on any error (a multipart upload is aborted, a partial download discarded)."""


def report_skipped(ctx: Context, skipped: list[Skipped]) -> None:
    """Warn about each key or file left out (on stderr)."""
    for item in skipped:
        ctx.warn(f"warning: skipping {item.source}: {item.reason}")


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
    from .transfer_engine import download_small

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


def transfer_doc(t: Transfer) -> dict[str, Any]:
    """A transfer as --json reports it."""
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
    check_object_options(args, src, dst)
    wildcard = find_wildcard(ctx, src, name)
    refuse_wildcard(ctx, dst, f"the destination of {name}")
    if wildcard is not None:
        with about(src.with_key(""), dst):
            transfers, skipped = _plan_wildcard(ctx, src, dst, wildcard)
        report_skipped(ctx, skipped)
    elif args.recursive:
        with about(src, dst):
            transfers, skipped = _plan_recursive(ctx, src, dst)
        report_skipped(ctx, skipped)
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
                "transfers": [transfer_doc(t) for t in outcome.done],
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


def check_object_options(args: argparse.Namespace, src: Location, dst: Location) -> None:
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
    matches = [
        (wildcard.relative(key), key, item) for key, item in matching_objects(ctx, src, wildcard)
    ]
    unfaithful = {} if dst.remote else unfaithful_keys([rel for rel, _, _ in matches])
    transfers: list[Transfer] = []
    skipped: list[Skipped] = []
    for rel, key, item in matches:
        size = item.get("content_length")
        if dst.remote:
            problem = key_problem(dst.scheme, dst.key + rel)
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
            problem = key_problem(dst.scheme, dest_prefix + rel)
            if problem is not None:
                skipped.append(Skipped(source, f"it cannot be a {dst.scheme}:// key: {problem}"))
                continue
            target = dst.with_key(dest_prefix + rel)
            transfers.append(Transfer(source, target, item["content_length"]))
    else:
        if os.path.exists(dst.path) and not os.path.isdir(dst.path):
            raise usage_error(f"{dst.path} exists and is not a directory")
        unfaithful = unfaithful_keys([rel for rel, _, _ in pairs])
        # Every key is checked before anything is written.
        for rel, source, item in pairs:
            if rel in unfaithful:
                skipped.append(Skipped(source, f"no faithful local path: {unfaithful[rel]}"))
                continue
            path = safe_local_path(dst.path, rel)
            transfers.append(Transfer(source, dst.with_path(path), item["content_length"]))
    return transfers, skipped
