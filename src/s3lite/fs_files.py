"""`S3LiteFile`: the buffered file objects of the fsspec filesystems (fsspec's block cache
over ranged GETs for reading; one PUT or a multipart upload for writing)."""

from __future__ import annotations

import contextlib
import errno
from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractBufferedFile  # type: ignore[import-untyped]

from .fs_adapters import translated_errors

if TYPE_CHECKING:
    from .fs_base import S3LiteFileSystemBase
    from .multipart import MultipartUpload

__all__ = ["S3LiteFile"]


class S3LiteFile(AbstractBufferedFile):  # type: ignore[misc]
    """A file of an `S3LiteFileSystem`: `rb` reads with fsspec's block cache and ranged GETs
    pinned to the object first seen; `wb`/`xb` upload in parts of `block_size` (a single PUT if
    it all fits one block), and an exception inside `with` aborts the upload."""

    fs: S3LiteFileSystemBase

    def __init__(
        self, fs: S3LiteFileSystemBase, path: str, mode: str = "rb", **kwargs: Any
    ) -> None:
        version = kwargs.pop("version_id", None)
        bucket, key, path_version = fs.split_path(path)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "a bucket cannot be opened as a file", path)
        self.version_id: str | None = version or path_version
        self.bucket = bucket
        self.key = key
        self._upload: MultipartUpload | None = None
        self._part_number = 0
        self._pending_final: bytes | None = None
        self._etag: str | None = None
        self._write_options = fs._put_kwargs(kwargs)
        for name in ("ContentType", "content_type", "Metadata", "metadata"):
            kwargs.pop(name, None)
        if mode == "xb" and fs._head(path) is not None:
            raise FileExistsError(errno.EEXIST, "object exists", path)
        if mode == "rb":
            details = fs.info(path, version_id=self.version_id)
            if details["type"] != "file":
                raise IsADirectoryError(errno.EISDIR, "is a directory", path)
            kwargs["size"] = details["size"]
            self._etag = details.get("ETag")
            if fs.version_aware and self.version_id is None:
                self.version_id = details.get("VersionId")
        super().__init__(fs, path, mode, **kwargs)
        if mode == "rb":
            self.details = details

    def _fetch_range(self, start: int, end: int) -> bytes:
        if start >= end:
            return b""
        etag = self._etag if getattr(self.fs.session, "supports_if_match", False) else None
        part = self.fs.parallel_read_part
        if end - start < 2 * part:
            data: bytes = self.fs._read_range(
                self.path, start, end, version=self.version_id, etag=etag
            )
            return data
        # A large read (a big block, pyarrow's coalesced column chunks): parallel ranged GETs.
        bounds = [(s, min(s + part, end)) for s in range(start, end, part)]
        chunks = self.fs._map(
            lambda b: self.fs._read_range(self.path, b[0], b[1], self.version_id, etag),
            bounds,
            pool="parts",
        )
        return b"".join(chunks)

    def _min_part(self) -> int:
        return int(getattr(self.fs.session, "multipart_min_part_size", 5 * 1024 * 1024))

    def _initiate_upload(self) -> None:
        # Parts are started lazily in _upload_chunk: a small file is one PUT.
        return None

    def _upload_chunk(self, final: bool = False) -> bool:
        data = self.buffer.getvalue()
        if self._upload is None:
            if final and self.autocommit:
                self.fs._put_bytes(self.path, data, self.mode == "xb", **self._write_options)
                return True
            if final:
                self._pending_final = data
                return True
            if len(data) < self._min_part():
                return False  # keep buffering until a part is big enough
            from .multipart import MultipartUpload

            upload = MultipartUpload(
                self.fs.session,
                key=self.key,
                bucket=self.bucket,
                part_size=max(len(data), self._min_part()),
                content_type=self._write_options.get("content_type"),
                metadata=self._write_options.get("metadata"),
            )
            with translated_errors(self.path):
                upload.start()
            self._upload = upload
        if data:
            if not final and len(data) < self._min_part():
                return False  # every part but the last must reach the minimum size
            self._part_number += 1
            try:
                with translated_errors(self.path):
                    self._upload.upload_part(self._part_number, data)
            except BaseException:
                self._abort()
                raise
        if final and self.autocommit:
            self.commit()
        return True

    def commit(self) -> None:
        """Make the written object visible (called on close unless in a transaction)."""
        pending = self._pending_final
        if self._upload is None:
            if pending is not None:
                self._pending_final = None
                self.fs._put_bytes(self.path, pending, self.mode == "xb", **self._write_options)
            return
        try:
            with translated_errors(self.path):
                self._upload.complete()
        except BaseException:
            self._abort()
            raise
        finally:
            self.fs.invalidate_cache(self.path)

    def discard(self) -> None:
        """Drop what was written: the multipart upload is aborted, nothing becomes visible."""
        self._pending_final = None
        self._abort()

    def _abort(self) -> None:
        if self._upload is not None:
            with contextlib.suppress(Exception):
                self._upload.abort()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and self.writable():
            # An error while writing: abort the upload instead of committing half a file.
            self.discard()
            self.closed = True
            return
        self.close()
