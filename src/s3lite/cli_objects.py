"""`s3lite ls`, `rm`, `cat`, `head` and `presign`: the commands on objects that copy nothing."""

from __future__ import annotations

import datetime as _dt
import sys
from typing import TYPE_CHECKING, Any

from .cli_context import local_time
from .cli_errors import (
    EXIT_ACCESS_DENIED,
    EXIT_FAILURE,
    EXIT_NOT_FOUND,
    EXIT_OK,
    CLIError,
    usage_error,
)
from .cli_listing import find_wildcard, matching_objects, refuse_wildcard
from .cli_locations import Location, about, dir_prefix, remote_location
from .errors import InvalidRange
from .progressbar import human_size

if TYPE_CHECKING:
    import argparse

    from .cli_context import Context

__all__ = ["cmd_cat", "cmd_head", "cmd_ls", "cmd_presign", "cmd_rm"]

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
    wildcard = find_wildcard(ctx, loc, "ls")
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
    wildcard = find_wildcard(ctx, loc, "rm")
    many = args.recursive or wildcard is not None
    if wildcard is not None:
        keys = [key for key, _ in matching_objects(ctx, loc, wildcard)]
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
        wildcard = find_wildcard(ctx, loc, "cat")
        if wildcard is None:
            targets.append(loc)
        else:
            with about(loc.with_key("")):
                targets += [loc.with_key(key) for key, _ in matching_objects(ctx, loc, wildcard)]
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
    refuse_wildcard(ctx, loc, "head (one object)")
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


# --- presign -------------------------------------------------------------------------------------


def cmd_presign(ctx: Context, args: argparse.Namespace) -> int:
    loc = remote_location(args.url, need_key=True)
    refuse_wildcard(ctx, loc, "presign (one object)")
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
