"""Reading through the fsspec filesystems: whole objects and byte ranges (`cat_file`,
`cat_ranges` with nearby ranges merged, `cat`), files opened for reading (`open`),
downloads (`get_file`) and presigned URLs (`sign`)."""

from __future__ import annotations

import errno
import os
from typing import Any

from fsspec.utils import isfilelike  # type: ignore[import-untyped]

from .errors import InvalidRange
from .fs_adapters import callback_progress, translated_errors
from .fs_base import S3LiteFileSystemBase
from .fs_files import S3LiteFile

__all__ = ["FileSystemReading"]


class FileSystemReading(S3LiteFileSystemBase):
    """`S3LiteFileSystem`'s reads: `cat_file`, `cat_ranges`, `cat`, `open`, `get_file`,
    `sign`."""

    def _get_kwargs(self, version: str | None, etag: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if version:
            kwargs["version_id"] = version
        if etag:
            kwargs["if_match"] = etag
        return kwargs

    def _read_range(
        self,
        path: str,
        start: int | None,
        end: int | None,
        version: str | None = None,
        etag: str | None = None,
    ) -> bytes:
        """Bytes `start` to `end` (exclusive, Python-style, negatives from the end)."""
        bucket, key, path_version = self.split_path(path)
        version = version or path_version
        if not key:
            raise IsADirectoryError(errno.EISDIR, "a bucket is not a file", path)
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = self.info(path, version_id=version)["size"]
            if start is not None and start < 0:
                start = max(0, size + start)
            if end is not None and end < 0:
                end = max(0, size + end)
        if start == 0:
            start = None
        if end is not None and end <= (start or 0):
            return b""
        options = self._get_kwargs(version, etag)
        try:
            with translated_errors(path):
                response = self.session.get_object(
                    key,
                    bucket=bucket,
                    range_start=start,
                    range_end=None if end is None else end - 1,
                    stream=False,
                    **options,
                )
        except InvalidRange:
            return b""  # the range starts at or after the end of the object
        except FileNotFoundError:
            if start is None and end is None and not version and self.isdir(path):
                raise IsADirectoryError(errno.EISDIR, "is a directory", path) from None
            raise
        return response.data  # type: ignore[no-any-return]

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        """The bytes of a file, or of `start`..`end` (one ranged GET)."""
        return self._read_range(
            self._strip_protocol(path), start, end, version=kwargs.get("version_id")
        )

    def cat_ranges(
        self,
        paths: list[str],
        starts: int | list[int] | None,
        ends: int | list[int] | None,
        max_gap: int | None = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[Any]:
        """Byte ranges of many files, fetched in parallel (`max_concurrency` at a time); ranges
        of one object at most `max_gap` bytes apart (default `cat_ranges_gap`) share a GET."""
        if max_gap is not None and (not isinstance(max_gap, int) or max_gap < 0):
            raise ValueError(f"max_gap must be a non-negative int, got {max_gap!r}")
        if not isinstance(paths, list):
            raise TypeError("paths must be a list")
        starts_list = starts if isinstance(starts, list) else [starts] * len(paths)
        ends_list = ends if isinstance(ends, list) else [ends] * len(paths)
        if len(starts_list) != len(paths) or len(ends_list) != len(paths):
            raise ValueError("paths, starts and ends must have the same length")

        gap = self.cat_ranges_gap if max_gap is None else max_gap
        simple = all(isinstance(x, int) and x >= 0 for x in (*starts_list, *ends_list))
        blocks: list[Any]
        if not simple:  # open-ended or negative ranges: one request each
            blocks = [
                (p, s, e, [n])
                for n, (p, s, e) in enumerate(zip(paths, starts_list, ends_list, strict=True))
            ]
        else:
            blocks = self._coalesce(paths, starts_list, ends_list, gap)  # type: ignore[arg-type]

        def fetch(block: Any) -> Any:
            try:
                return self.cat_file(block[0], block[1], block[2], **kwargs)
            except Exception as exc:
                if on_error == "return":
                    return exc
                raise

        out: list[Any] = [None] * len(paths)
        for (_, start, _, members), data in zip(blocks, self._map(fetch, blocks), strict=True):
            for n in members:
                if isinstance(data, Exception) or not simple:
                    out[n] = data
                else:
                    offset = starts_list[n] - start
                    out[n] = data[offset : offset + ends_list[n] - starts_list[n]]
        return out

    def _coalesce(
        self, paths: list[str], starts: list[int], ends: list[int], gap: int
    ) -> list[tuple[str, int, int, list[int]]]:
        """Ranges of one object at most `gap` bytes apart merged into one request (up to
        `cat_ranges_max_block` bytes), each with the indices of the ranges it serves."""
        order = sorted(range(len(paths)), key=lambda n: (paths[n], starts[n]))
        blocks: list[tuple[str, int, int, list[int]]] = []
        for n in order:
            path, start, end = paths[n], starts[n], max(ends[n], starts[n])
            if blocks:
                bpath, bstart, bend, members = blocks[-1]
                if (
                    bpath == path
                    and start - bend <= gap
                    and max(end, bend) - bstart <= self.cat_ranges_max_block
                ):
                    blocks[-1] = (bpath, bstart, max(end, bend), [*members, n])
                    continue
            blocks.append((path, start, end, [n]))
        return blocks

    def cat(
        self, path: Any, recursive: bool = False, on_error: str = "raise", **kwargs: Any
    ) -> Any:
        """Like fsspec's `cat`, with the files fetched in parallel."""
        paths = self.expand_path(path, recursive=recursive)
        if len(paths) > 1 or isinstance(path, list) or paths[0] != self._strip_protocol(path):

            def one(p: str) -> Any:
                try:
                    return self.cat_file(p, **kwargs)
                except Exception as exc:
                    if on_error == "raise":
                        raise
                    return exc

            out = dict(zip(paths, self._map(one, paths), strict=True))
            if on_error == "omit":
                out = {k: v for k, v in out.items() if not isinstance(v, Exception)}
            return out
        return self.cat_file(paths[0], **kwargs)

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> S3LiteFile:
        if "a" in mode:
            raise NotImplementedError("append mode is not supported on object storage")
        cache_type = kwargs.pop("cache_type", None) or self.default_cache_type
        return S3LiteFile(
            self,
            path,
            mode,
            block_size=block_size or self.blocksize,
            autocommit=autocommit,
            cache_type=cache_type,
            cache_options=cache_options,
            **kwargs,
        )

    def get_file(self, rpath: str, lpath: Any, callback: Any = None, **kwargs: Any) -> None:
        """Download one object (parallel ranged GETs above 8 MiB, written atomically)."""
        rpath = self._strip_protocol(rpath)
        bucket, key, version = self.split_path(rpath)
        if not key:
            os.makedirs(lpath, exist_ok=True)
            return
        if not isfilelike(lpath):
            parent = os.path.dirname(os.path.abspath(lpath))
            os.makedirs(parent, exist_ok=True)

        progress = callback_progress(callback)
        try:
            with translated_errors(rpath):
                self.session.download_file(
                    key,
                    lpath,
                    bucket=bucket,
                    concurrency=self.max_concurrency,
                    progress=progress,
                    **self._head_kwargs(version or kwargs.get("version_id")),
                )
        except FileNotFoundError:
            if not isfilelike(lpath) and self.isdir(rpath):
                os.makedirs(lpath, exist_ok=True)  # a directory (as `get` passes them)
                return
            raise

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        """A presigned GET URL valid for `expiration` seconds."""
        bucket, key, version = self.split_path(path)
        if not key:
            raise ValueError(f"sign needs an object path, got {path!r}")
        options = {"version_id": version} if version else {}
        return self.session.presign(  # type: ignore[no-any-return]
            "GET", key, expires_in=int(expiration), bucket=bucket, **options
        )
