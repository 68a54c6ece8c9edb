"""Writing through the fsspec filesystems: whole objects (`pipe_file`, `put_file`),
server-side copies (`cp_file`), deletes in batches (`rm_file`, `rm`), and buckets
(`mkdir`, `makedirs`, `rmdir`)."""

from __future__ import annotations

import contextlib
import errno
import io
import os
from typing import Any

from fsspec.utils import isfilelike  # type: ignore[import-untyped]

from .errors import PreconditionFailed
from .fs_adapters import callback_progress, translated_errors
from .fs_base import S3LiteFileSystemBase

__all__ = ["FileSystemWriting"]

#: Objects up to this size are written with one PUT by `pipe_file`; larger ones in parts.
PIPE_SINGLE_PUT = 64 * 1024 * 1024


class FileSystemWriting(S3LiteFileSystemBase):
    """`S3LiteFileSystem`'s writes: `pipe_file`, `put_file`, `cp_file`, `rm_file`, `rm`,
    `mkdir`, `makedirs`, `rmdir`."""

    def _put_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if kwargs.get("ContentType"):
            options["content_type"] = kwargs["ContentType"]
        if kwargs.get("content_type"):
            options["content_type"] = kwargs["content_type"]
        if kwargs.get("Metadata"):
            options["metadata"] = kwargs["Metadata"]
        if kwargs.get("metadata"):
            options["metadata"] = kwargs["metadata"]
        return options

    def _put_bytes(self, path: str, data: bytes, exclusive: bool, **options: Any) -> None:
        """Write a whole object in one PUT (if absent only, when `exclusive`)."""
        bucket, key, _ = self.split_path(path)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "cannot write to a bucket", path)
        try:
            with translated_errors(path):
                if exclusive:
                    options["if_none_match"] = "*"
                self.session.put_object(key, data, bucket=bucket, **options)
        except PreconditionFailed as exc:
            raise FileExistsError(errno.EEXIST, "object exists", path) from exc
        finally:
            self.invalidate_cache(path)

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        """Write `value` as the object (`mode='create'`: only if it does not exist yet)."""
        path = self._strip_protocol(path)
        if mode not in ("overwrite", "create"):
            raise ValueError(f"mode must be 'overwrite' or 'create', got {mode!r}")
        data = bytes(value)
        options = self._put_kwargs(kwargs)
        if mode == "create" or len(data) <= PIPE_SINGLE_PUT:
            if mode == "create" and self._head(path) is not None:
                raise FileExistsError(errno.EEXIST, "object exists", path)
            self._put_bytes(path, data, mode == "create", **options)
            return
        bucket, key, _ = self.split_path(path)
        try:
            with translated_errors(path):
                self.session.upload_file(
                    io.BytesIO(data),
                    key,
                    bucket=bucket,
                    concurrency=self.max_concurrency,
                    **options,
                )
        finally:
            self.invalidate_cache(path)

    def put_file(
        self,
        lpath: Any,
        rpath: str,
        callback: Any = None,
        mode: str = "overwrite",
        **kwargs: Any,
    ) -> None:
        """Upload one local file (parallel multipart above 8 MiB)."""
        rpath = self._strip_protocol(rpath)
        if not isfilelike(lpath) and os.path.isdir(lpath):
            bucket, key, _ = self.split_path(rpath)
            if not key:
                self.makedirs(bucket, exist_ok=True)
            return  # directories exist implicitly
        if mode == "create" and self._head(rpath) is not None:
            raise FileExistsError(errno.EEXIST, "object exists", rpath)
        bucket, key, _ = self.split_path(rpath)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "cannot write a file as a bucket", rpath)

        progress = callback_progress(callback)
        try:
            with translated_errors(rpath):
                self.session.upload_file(
                    lpath,
                    key,
                    bucket=bucket,
                    concurrency=self.max_concurrency,
                    progress=progress,
                    **self._put_kwargs(kwargs),
                )
        finally:
            self.invalidate_cache(rpath)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Copy an object server-side (in parts above the single-copy limit)."""
        path1 = self._strip_protocol(path1)
        path2 = self._strip_protocol(path2)
        b1, k1, v1 = self.split_path(path1)
        b2, k2, _ = self.split_path(path2)
        if not k1 or not k2:
            raise IsADirectoryError(errno.EISDIR, "copy needs object paths", path1)
        options = {"source_version_id": v1} if v1 else {}
        try:
            with translated_errors(path1):
                self.session.copy_object(k1, k2, source_bucket=b1, dest_bucket=b2, **options)
        except FileNotFoundError:
            if self.isdir(path1):
                return  # a directory: its files are copied one by one by `copy`
            raise
        finally:
            self.invalidate_cache(path2)

    def rm_file(self, path: str) -> None:
        """Delete one object."""
        path = self._strip_protocol(path)
        bucket, key, version = self.split_path(path)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "use rmdir to delete a bucket", path)
        try:
            self._delete_keys(bucket, [(key, version)])
        finally:
            self.invalidate_cache(path)

    def _delete_keys(self, bucket: str, keys: list[tuple[str, str | None]]) -> None:
        """Delete keys in batches; the first per-key failure is raised as an OSError."""
        if not keys:
            return
        # A plain key (no version) deletes the object as the backend does for a name.
        batch = [key if version is None else (key, version) for key, version in keys]
        with translated_errors(bucket):
            result = self.session.delete_objects(batch, bucket=bucket, raise_errors=False)
        if result.errors:
            first = result.errors[0]
            raise OSError(
                errno.EIO,
                f"{len(result.errors)} objects were not deleted, e.g. {first.get('key')!r}: "
                f"{first.get('code')} {first.get('message')}",
            )

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete files (and, with `recursive`, everything under directories) in batches of
        1000 keys; a bare bucket given with `recursive` is deleted too."""
        paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        # Directories are the paths that others are under; servers that keep folders (SeaweedFS)
        # or tools that wrote "dir/" markers have their folder objects deleted after the files.
        dirs = {p for p in paths for q in paths if q.startswith(p + "/")}
        files: dict[str, list[tuple[str, str | None]]] = {}
        markers: dict[str, list[tuple[str, str | None]]] = {}
        buckets: list[str] = []
        for p in paths:
            bucket, key, version = self.split_path(p)
            if not key:
                buckets.append(bucket)
            elif p in dirs:
                if not self._folder_markers:
                    continue
                markers.setdefault(bucket, []).append((key + "/", None))
            else:
                files.setdefault(bucket, []).append((key, version))
        try:
            for bucket, keys in files.items():
                self._delete_keys(bucket, keys)
            for bucket, keys in markers.items():
                keys.sort(key=lambda k: -k[0].count("/"))  # deepest first
                self._delete_keys(bucket, keys)
        finally:
            for p in paths:
                self.invalidate_cache(p)
        if recursive:
            for bucket in buckets:
                with contextlib.suppress(FileNotFoundError):
                    self.rmdir(bucket)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Create a bucket; inside a bucket directories need no object, so nothing is sent
        (the bucket is created first if missing and `create_parents`)."""
        path = self._strip_protocol(path)
        bucket, key, _ = self.split_path(path)
        if not bucket:
            raise ValueError("mkdir needs a bucket name")
        if key:
            if create_parents and not self.exists(bucket):
                self.mkdir(bucket)
            elif not create_parents and not self.exists(bucket):
                raise FileNotFoundError(errno.ENOENT, "no such bucket", bucket)
            return
        options = {k: kwargs[k] for k in ("acl", "region") if kwargs.get(k)}
        try:
            with translated_errors(path):
                self.session.create_bucket(bucket, **options)
        finally:
            self.invalidate_cache("")

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Create the bucket of `path` (if missing); `exist_ok=False` fails on an existing
        bucket given alone."""
        path = self._strip_protocol(path)
        bucket, key, _ = self.split_path(path)
        try:
            self.mkdir(bucket)
        except FileExistsError:
            if not exist_ok and not key:
                raise

    def rmdir(self, path: str) -> None:
        """Delete an empty bucket; a prefix is not a stored thing, so it must just be empty."""
        path = self._strip_protocol(path)
        bucket, key, _ = self.split_path(path)
        if key:
            items, prefixes = self._listing_one(bucket, f"{key}/")
            if items or prefixes:
                raise OSError(errno.ENOTEMPTY, "directory is not empty", path)
            return
        # Checked here too: some servers (SeaweedFS) delete a bucket with everything in it.
        items, prefixes = self._listing_one(bucket, "")
        if items or prefixes:
            raise OSError(errno.ENOTEMPTY, "bucket is not empty", path)
        try:
            with translated_errors(path):
                self.session.delete_bucket(bucket)
        finally:
            self.invalidate_cache(path)
            self.invalidate_cache("")
