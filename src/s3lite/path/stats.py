"""`StatResult`: what `S3Path.stat()` returns for objects and directories."""

from __future__ import annotations

import io
import stat as _stat
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import datetime as _dt

    from ..response import Response

__all__ = ["StatResult"]


class StatResult(NamedTuple):
    """What `S3Path.stat()` returns: `os.stat_result`'s fields that objects have, plus the
    object's own (ETag, version, metadata...).

    Directories (prefixes, buckets, `/`) have `st_mode` S_IFDIR, size 0 and mtime 0.
    """

    st_mode: int
    st_size: int
    st_mtime: float
    etag: str | None = None
    version_id: str | None = None
    last_modified: _dt.datetime | None = None
    content_type: str | None = None
    metadata: Mapping[str, str] | None = None
    storage_class: str | None = None

    @property
    def st_mtime_ns(self) -> int:
        return int(self.st_mtime * 1_000_000_000)

    @property
    def size(self) -> int:
        """s3path's name for `st_size`."""
        return self.st_size

    @property
    def st_version_id(self) -> str | None:
        """s3path's name for `version_id`."""
        return self.version_id

    def __getattr__(self, name: str) -> Any:
        # os.stat_result fields objects do not have (st_ino, st_uid, st_atime, ...): s3path's
        # error, io.UnsupportedOperation, rather than a made-up value.
        if name.startswith("st_") or name in ("n_fields", "n_sequence_fields"):
            raise io.UnsupportedOperation(f"{type(self).__name__} has no {name}: S3 has none")
        raise AttributeError(name)

    @classmethod
    def of_object(cls, head: Response) -> StatResult:
        """The stat of an object, from the response to its HEAD (`head`)."""
        modified = head.last_modified
        return cls(
            _stat.S_IFREG | 0o644,
            head.content_length or 0,
            modified.timestamp() if modified is not None else 0.0,
            head.etag,
            head.version_id,
            modified,
            head.content_type,
            dict(head.metadata),
            head.headers.get("x-amz-storage-class"),
        )

    @classmethod
    def of_directory(cls) -> StatResult:
        """The stat of a directory: a prefix, a bucket or `/`."""
        return cls(_stat.S_IFDIR | 0o755, 0, 0.0)
