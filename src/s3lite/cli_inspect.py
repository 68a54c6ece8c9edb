"""`s3lite du` (total size and count under a prefix) and `s3lite stat` (an object's HEAD)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cli_context import iso_time, local_time
from .cli_errors import EXIT_OK
from .cli_listing import find_wildcard, matching_objects, refuse_wildcard
from .cli_locations import about, remote_location
from .progressbar import human_size

if TYPE_CHECKING:
    import argparse

    from .cli_context import Context

__all__ = ["cmd_du", "cmd_stat"]

#: response headers shown by `stat` besides the ones it names itself
_SHOWN = (
    "cache-control",
    "content-encoding",
    "content-disposition",
    "content-language",
    "expires",
    "x-amz-storage-class",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-checksum-crc32",
    "x-amz-checksum-crc32c",
    "x-amz-checksum-crc64nvme",
    "x-amz-checksum-sha1",
    "x-amz-checksum-sha256",
    "x-bz-content-sha1",
    "x-bz-file-id",
)


def cmd_du(ctx: Context, args: argparse.Namespace) -> int:
    """Objects and bytes under each URL (prefix, bucket or wildcard), and in all."""
    all_objects = all_bytes = 0
    for url in args.urls:
        loc = remote_location(url)
        wildcard = find_wildcard(ctx, loc, "du")
        with about(loc.with_key("")):
            if wildcard is not None:
                items = [item for _, item in matching_objects(ctx, loc, wildcard)]
            else:
                items = list(ctx.session(loc.scheme).list_objects(loc.key, bucket=loc.bucket))
        count = len(items)
        size = sum(int(item.get("content_length") or 0) for item in items)
        all_objects, all_bytes = all_objects + count, all_bytes + size
        if ctx.json:
            ctx.emit({"command": "du", "url": str(loc), "objects": count, "size": size})
        else:
            shown = human_size(size) if args.human_readable else f"{size} bytes"
            ctx.line(f"{shown} in {count} object{'' if count == 1 else 's'}: {loc}")
    if len(args.urls) > 1 and not ctx.json:
        shown = human_size(all_bytes) if args.human_readable else f"{all_bytes} bytes"
        ctx.line(f"{shown} in {all_objects} object{'' if all_objects == 1 else 's'}: total")
    return EXIT_OK


def cmd_stat(ctx: Context, args: argparse.Namespace) -> int:
    """HEAD each object; a table (field: value) or one JSON document per object, its fields
    named as the Python API's response attributes (content_length, last_modified, ...)."""
    for url in args.urls:
        loc = remote_location(url, need_key=True)
        refuse_wildcard(ctx, loc, "stat (one object)")
        with about(loc):
            head = ctx.session(loc.scheme).head_object(loc.key, bucket=loc.bucket)
        headers = {k.lower(): v for k, v in head.headers.items()}
        doc: dict[str, Any] = {
            "url": str(loc),
            "bucket": loc.bucket,
            "key": loc.key,
            "content_length": head.content_length,
            "last_modified": iso_time(head.last_modified),
            "etag": head.etag,
            "content_type": head.content_type,
            "version_id": head.version_id,
            "storage_class": headers.get("x-amz-storage-class"),
            "metadata": dict(head.metadata),
            "headers": {name: headers[name] for name in _SHOWN if name in headers},
        }
        if ctx.json:
            ctx.emit(doc)
            continue
        rows: list[tuple[str, Any]] = [
            ("URL", doc["url"]),
            ("Size", f"{head.content_length} ({human_size(head.content_length or 0)})"),
            ("Last-Modified", local_time(head.last_modified).strip() or None),
            ("ETag", doc["etag"]),
            ("Content-Type", doc["content_type"]),
            ("Version", doc["version_id"]),
        ]
        rows += [(name, value) for name, value in doc["headers"].items()]
        rows += [(f"meta: {name}", value) for name, value in sorted(doc["metadata"].items())]
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            if value is not None:
                ctx.line(f"{name:<{width}}  {value}")
    return EXIT_OK
