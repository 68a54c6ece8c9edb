"""The concrete paths: `S3Path` (pathlib.Path's I/O on S3), `B2Path` (the same on B2) and
`VersionedS3Path` (one stored version, read-only), put together from this package's mixins.
"""

from __future__ import annotations

import errno
import io
from collections.abc import Callable
from typing import IO, Any, NoReturn

from .access import PathAccess
from .changes import PathChanges
from .files import PathFiles
from .listing import PathListing
from .oserrors import os_error
from .pure import PureB2Path, PureS3Path, PureVersionedS3Path
from .stats import StatResult

__all__ = ["B2Path", "S3Path", "VersionedS3Path"]


class S3Path(PathListing, PathFiles, PathChanges, PathAccess):
    """An S3 object, prefix ("directory"), bucket or `/`, with pathlib.Path's I/O.

    The session and the options of new objects come from `register_configuration_parameter`
    (else the default session from the environment). Errors are pathlib's
    (`FileNotFoundError`, `PermissionError`...) with the service error as `__cause__`.
    Operations on relative paths raise ValueError.
    """

    __slots__ = ()


class B2Path(PureB2Path, S3Path):
    """`S3Path` on Backblaze B2 (`b2://bucket/file/name`): the same behaviour, served by
    `B2Session`s (registered for B2 paths, else `B2Session()` from the environment).
    B2 has no folder markers, storage classes or ACLs on objects."""

    __slots__ = ()


def _read_only(method: str) -> Callable[..., NoReturn]:
    """A method that refuses to change a stored version."""

    def refuse(self: VersionedS3Path, *args: Any, **kwargs: Any) -> NoReturn:
        raise io.UnsupportedOperation(
            f"{method}: {self!r} is one stored version, which cannot change; use the "
            "unversioned S3Path (copy_object(key, key, version_id) restores a version)"
        )

    refuse.__name__ = method
    return refuse


class VersionedS3Path(PureVersionedS3Path, S3Path):
    """One stored version of an S3 object, for reading: `open('rb')`, `read_bytes`,
    `read_text`, `stat`, `exists`, `is_file`, `download_to`, `presign`; `unlink` deletes that
    version only. Writing and moving are refused (a version cannot change)."""

    __slots__ = ()

    @classmethod
    def _plain(cls) -> type[PureS3Path]:
        return S3Path

    def _version_args(self) -> dict[str, str]:
        return {"version_id": self.version_id}

    def exists(self, *, follow_symlinks: bool = True) -> bool:
        """Whether this version of the object exists."""
        config = self._config()
        return bool(self.key) and self._head(config) is not None

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return False

    def stat(self, *, follow_symlinks: bool = True) -> StatResult:
        """The stat of this version (FileNotFoundError if there is no such version)."""
        config = self._config()
        head = self._head(config) if self.key else None
        if head is None:
            raise os_error(FileNotFoundError, errno.ENOENT, self, "no such version")
        return StatResult.of_object(head)

    def open(self, mode: str = "r", *args: Any, **kwargs: Any) -> IO[Any]:  # type: ignore[override]
        if mode not in ("r", "rt", "tr", "rb", "br"):
            _read_only("open")(self)
        return super().open(mode, *args, **kwargs)

    write_bytes = _read_only("write_bytes")
    write_text = _read_only("write_text")
    touch = _read_only("touch")
    mkdir = _read_only("mkdir")
    rmdir = _read_only("rmdir")
    rename = _read_only("rename")
    replace = _read_only("replace")
    copy = _read_only("copy")
    upload_from = _read_only("upload_from")
