"""`s3lite sync`: copy what is new or changed from a directory or prefix to another, and
delete what the source does not have (`--delete`)."""

from __future__ import annotations

import datetime as _dt
import os
import re
from typing import TYPE_CHECKING, Any

from .cli_context import DEFAULT_JOBS
from .cli_copy import Transfer, check_object_options, report_skipped, run_transfers, transfer_doc
from .cli_errors import EXIT_FAILURE, EXIT_OK, EXIT_SKIPPED, describe, usage_error
from .cli_listing import local_files, refuse_wildcard, remote_files
from .cli_locations import (
    Location,
    Skipped,
    about,
    dir_prefix,
    key_problem,
    local_shadow,
    parse_location,
    safe_local_path,
    unfaithful_keys,
)

if TYPE_CHECKING:
    import argparse

    from .cli_context import Context

__all__ = ["cmd_sync"]


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
    refuse_wildcard(ctx, src, "sync (a directory or prefix)")
    refuse_wildcard(ctx, dst, "sync (a directory or prefix)")
    check_object_options(args, src, dst)
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
            problem = key_problem(dst.scheme, dir_prefix(dst.key) + rel)
            if problem is not None:
                why[rel] = f"it cannot be a {dst.scheme}:// key: {problem}"
    else:
        why = {rel: f"no faithful local path: {r}" for rel, r in unfaithful_keys([*source]).items()}
    kept = {local_shadow(rel) for rel in why} if not dst.remote else set()
    skipped = [Skipped(source.pop(rel).loc, why[rel]) for rel in sorted(why)]
    report_skipped(ctx, skipped)
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
                "copied": [transfer_doc(t) for t in outcome.done],
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
