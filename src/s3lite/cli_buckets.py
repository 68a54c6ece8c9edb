"""`s3lite mb` and `rb`: make and remove buckets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cli_errors import EXIT_CONFLICT, EXIT_OK, CLIError, usage_error
from .cli_locations import Location, about, remote_location
from .errors import BucketAlreadyExists, BucketAlreadyOwnedByYou, BucketNotEmpty, ClientError

if TYPE_CHECKING:
    import argparse

    from .cli_context import Context

__all__ = ["cmd_mb", "cmd_rb"]


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
    session.abort_multipart_uploads(bucket=loc.bucket)
    if result.errors:
        first = result.errors[0]
        raise CLIError(
            f"could not delete {len(result.errors)} object(s), e.g. {first.get('key')!r}: "
            f"{first.get('message') or first.get('code')}"
        )
    return len(names)
