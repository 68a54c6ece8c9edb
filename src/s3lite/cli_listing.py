"""What a command works on: the objects under a prefix, the regular files under a directory,
the objects a wildcard matches (and where a wildcard is refused)."""

from __future__ import annotations

import os
import re
import stat
from typing import TYPE_CHECKING, Any

from .cli_errors import EXIT_NOT_FOUND, CLIError, describe, usage_error

if TYPE_CHECKING:
    from .cli_context import Context
    from .cli_filters import Wildcard
    from .cli_locations import Location

__all__ = ["find_wildcard", "local_files", "matching_objects", "refuse_wildcard", "remote_files"]

#: download_file's temporary files: never uploaded by a sync.
_PART_FILE_RE = re.compile(r"^\..*\.s3lite-[0-9a-f]{8}\.part$")


def find_wildcard(ctx: Context, loc: Location, command: str) -> Wildcard | None:
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


def refuse_wildcard(ctx: Context, loc: Location, where: str) -> None:
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


def matching_objects(
    ctx: Context, loc: Location, wildcard: Wildcard
) -> list[tuple[str, dict[str, Any]]]:
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
