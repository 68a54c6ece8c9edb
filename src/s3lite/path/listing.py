"""Listing paths: a directory's entries (`iterdir`), the tree below it (`walk`) and the
paths that match a pattern (`glob`, `rglob`), each from as few delimited listings as the
pattern allows."""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ..errors import TransportError
from .base import S3PathBase
from .configuration import PathConfig
from .oserrors import os_error, pathlib_errors
from .patterns import GlobPattern, match_segments, usable_name

__all__ = ["PathListing"]

_S = TypeVar("_S", bound="PathListing")


class PathListing(S3PathBase):
    """`S3Path`'s listings: `iterdir`, `walk`, `glob` and `rglob`."""

    __slots__ = ()

    def _entries(self, config: PathConfig) -> Iterator[tuple[str, bool]]:
        """(name, is_dir) of each entry of this directory, one delimited listing; raises
        FileNotFoundError / NotADirectoryError when there is no such directory."""
        if not self.bucket:
            with pathlib_errors(self):
                buckets = config.session.list_buckets()
            for bucket in buckets:
                yield bucket["name"], True
            return
        prefix = self._dir_prefix
        found = False
        with pathlib_errors(self):
            listing = config.session.list_objects(prefix, bucket=self.bucket, delimiter="/")
            for page in listing.pages():
                entries: list[tuple[str, bool]] = []
                for common in page.prefixes:
                    found = True
                    name = common[len(prefix) : -1]
                    if usable_name(name):
                        entries.append((name, True))
                for item in page.items:
                    found = True
                    name = item["key"][len(prefix) :]
                    if usable_name(name) and "/" not in name:
                        entries.append((name, False))
                entries.sort()
                yield from entries
        if not found and self.key:
            if self._head(config) is not None:
                raise os_error(NotADirectoryError, errno.ENOTDIR, self)
            raise os_error(FileNotFoundError, errno.ENOENT, self)
        if not found and not self._bucket_exists(config):
            raise os_error(FileNotFoundError, errno.ENOENT, self, "no such bucket")

    def iterdir(self: _S) -> Iterator[_S]:
        """The entries of this directory: objects and sub-prefixes one level down (one
        delimited listing), or the buckets for `/`."""
        config = self._config()
        for name, _ in self._entries(config):
            yield self._new(self._p / name)

    def walk(
        self: _S,
        top_down: bool = True,
        on_error: Callable[[OSError], object] | None = None,
        follow_symlinks: bool = False,
    ) -> Iterator[tuple[_S, list[str], list[str]]]:
        """pathlib 3.12's `walk`: (dirpath, dirnames, filenames) for this directory and
        every one below it, one delimited listing each. Top-down, `dirnames` may be edited
        in place to prune the walk; errors go to `on_error` (and are skipped) or are
        ignored, as in pathlib."""
        config = self._config()
        stack: list[Any] = [self]
        while stack:
            top = stack.pop()
            if isinstance(top, tuple):
                yield top
                continue
            dirnames: list[str] = []
            filenames: list[str] = []
            try:
                for name, is_dir in top._entries(config if top is self else top._config()):
                    (dirnames if is_dir else filenames).append(name)
            except OSError as exc:
                if isinstance(exc, TransportError):  # a network failure: never a skipped dir
                    raise
                if on_error is not None:
                    on_error(exc)
                continue
            if top_down:
                yield top, dirnames, filenames
                stack.extend(top._new(top._p / d) for d in reversed(dirnames))
            else:
                stack.append((top, dirnames, filenames))
                stack.extend(top._new(top._p / d) for d in reversed(dirnames))

    def glob(
        self: _S,
        pattern: str,
        *,
        case_sensitive: bool | None = None,
        recurse_symlinks: bool = False,
    ) -> Iterator[_S]:
        """Paths under this directory that match the relative `pattern` (pathlib 3.13's
        semantics: `*`, `?`, `[...]` within a segment, `**` for any number of segments,
        a trailing `/` for directories only).

        Listing starts at the longest literal prefix: `a/b/*.txt` lists prefix `a/b/` with
        delimiter `/`, one level per wildcard segment; patterns with `**` list recursively
        under their literal prefix, never the whole bucket unless the pattern starts with
        `**`. Case-insensitive globbing cannot use prefixes and lists level by level.
        A missing bucket or directory yields nothing.
        """
        glob = GlobPattern(pattern, case_sensitive)
        config = self._config()
        try:
            if not self.bucket:
                yield from self._glob_root(glob, config)
            else:
                yield from self._glob_from(glob, config)
        except FileNotFoundError:
            return

    def rglob(
        self: _S,
        pattern: str,
        *,
        case_sensitive: bool | None = None,
        recurse_symlinks: bool = False,
    ) -> Iterator[_S]:
        """`glob('**/' + pattern)`: matches at any depth under this directory."""
        return self.glob(f"**/{pattern}", case_sensitive=case_sensitive)

    def _glob_root(self: _S, glob: GlobPattern, config: PathConfig) -> Iterator[_S]:
        """Glob from `/`: the first segment names buckets (of the root's session)."""
        with pathlib_errors(self):
            names = [b["name"] for b in config.session.list_buckets()]
        first = glob.compiled[0]
        if first is None:  # `**` first: every bucket, recursively
            if match_segments(glob.compiled, []):
                yield self
            for bucket in names:
                child = self._child(bucket, "")
                if match_segments(glob.compiled, [bucket]):
                    yield child
                yield from self._glob_recursive(bucket, "", [bucket], "", glob, child._config())
            return
        rest = glob.parts[1:]
        for bucket in names:
            if not first.match(bucket):
                continue
            child = self._child(bucket, "")
            if not rest:
                yield child
                continue
            sub = GlobPattern("/".join(rest) + ("/" if glob.dir_only else ""), glob.case_sensitive)
            yield from child._glob_from(sub, child._config())

    def _glob_from(self: _S, glob: GlobPattern, config: PathConfig) -> Iterator[_S]:
        """Glob under this bucket or prefix."""
        parts = glob.parts
        # Leading literal segments extend the prefix without any listing.
        i = 0
        while i < len(parts) - 1 and glob.literal(i):
            i += 1
        own = self._dir_prefix
        start = own + "".join(p + "/" for p in parts[:i])
        if not glob.recursive:
            yield from self._glob_levels(start, glob, config, i)
            return
        if match_segments(glob.compiled, []):  # e.g. '**': the directory itself
            exists = self._has_children(config) if self.key else self._bucket_exists(config)
            if exists:
                yield self
        yield from self._glob_recursive(self.bucket, own, [], start + glob.head(i), glob, config)

    def _glob_levels(
        self: _S, start: str, glob: GlobPattern, config: PathConfig, index: int
    ) -> Iterator[_S]:
        """Non-recursive glob: one delimited listing per directory and wildcard segment,
        each narrowed by the segment's literal head."""
        session, bucket = config.session, self.bucket
        dirs = [start]
        last = len(glob.parts) - 1
        for i in range(index, last + 1):
            if i < last and glob.literal(i):
                dirs = [d + glob.parts[i] + "/" for d in dirs]
                continue
            regex = glob.compiled[i]
            assert regex is not None
            head = glob.head(i)
            found: list[str] = []
            for d in dirs:
                with pathlib_errors(self):
                    listing = session.list_objects(d + head, bucket=bucket, delimiter="/")
                    for page in listing.pages():
                        for common in page.prefixes:
                            name = common[len(d) : -1]
                            if usable_name(name) and regex.match(name):
                                if i == last:
                                    yield self._child(bucket, d + name)
                                else:
                                    found.append(d + name + "/")
                        if i < last or glob.dir_only:
                            continue
                        for item in page.items:
                            name = item["key"][len(d) :]
                            if usable_name(name) and "/" not in name and regex.match(name):
                                yield self._child(bucket, item["key"])
            dirs = found

    def _glob_recursive(
        self: _S,
        bucket: str,
        own: str,
        lead: list[str],
        prefix: str,
        glob: GlobPattern,
        config: PathConfig,
    ) -> Iterator[_S]:
        """Recursive glob: one listing of every key under `prefix`, each matched segment
        by segment as `lead` + its key relative to `own` (results are this path joined with
        those segments). Directories are implied by the keys; keys come sorted, so those of
        one directory are contiguous and only the current chain of directories is kept."""
        compiled = glob.compiled
        chain = list(lead)
        with pathlib_errors(self):
            for item in config.session.list_objects(prefix, bucket=bucket):
                rel = item["key"][len(own) :].split("/")
                marker = rel[-1] == ""  # a folder marker: a directory, not a file
                if marker:
                    rel.pop()
                if not rel or not all(usable_name(s) for s in rel):
                    continue
                segs = [*lead, *rel]
                dirs = segs if marker else segs[:-1]
                common = len(lead)
                while common < min(len(chain), len(dirs)) and chain[common] == dirs[common]:
                    common += 1
                for depth in range(common + 1, len(dirs) + 1):
                    if match_segments(compiled, dirs[:depth]):
                        yield self._new(self._p.joinpath(*dirs[:depth]))
                chain = dirs
                if not marker and not glob.dir_only and match_segments(compiled, segs):
                    yield self._new(self._p.joinpath(*segs))
