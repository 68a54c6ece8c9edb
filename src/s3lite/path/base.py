"""`S3PathBase`: what every concrete path does first: find its configuration and session,
ask whether it exists (HEAD, a one-key listing) and what it is (`stat`), and refuse what S3
has no notion of (links, modes, devices, a current directory).

`S3Path` adds to it the mixins of the other modules of this package (listing, files, changes,
access); each mixin is an `S3PathBase` so that it can use this plumbing.
"""

from __future__ import annotations

import errno
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, NoReturn, TypeVar

from .configuration import REGISTRY, PathConfig
from .oserrors import os_error, pathlib_errors, unsupported
from .pure import PureS3Path
from .stats import StatResult

if TYPE_CHECKING:
    from ..b2 import B2Session
    from ..response import Response
    from ..s3 import S3Session

__all__ = ["S3PathBase"]

_S = TypeVar("_S", bound="S3PathBase")


class S3PathBase(PureS3Path):
    """A path with I/O: its session, existence and stat (see `S3Path`)."""

    __slots__ = ()

    # --- plumbing ----------------------------------------------------------------------------
    def _config(self) -> PathConfig:
        self._absolute()
        chain = [str(p) for p in reversed(self._p.parents)]
        chain.append(str(self._p))
        return REGISTRY.resolve(self._flavour, chain)

    @property
    def session(self) -> S3Session | B2Session:
        """The session that serves this path (registered, or the default one)."""
        return self._config().session  # type: ignore[no-any-return]

    def _absolute(self) -> None:
        if not self._p.is_absolute():
            raise ValueError(
                f"{type(self).__name__} needs an absolute path, /bucket/key; got {str(self)!r}"
            )

    def _child(self: _S, bucket: str, key: str) -> _S:
        """The path of `key` in `bucket` (key segments already checked)."""
        if key:
            return self._wrap(PurePosixPath("/", bucket, *key.split("/")))
        return self._wrap(PurePosixPath("/", bucket))

    @property
    def _dir_prefix(self) -> str:
        """The listing prefix of this directory: 'key/' (or '' for a bucket)."""
        key = self.key
        return key + "/" if key else ""

    def _head(self, config: PathConfig) -> Response | None:
        """HEAD of the object, or None when there is none."""
        try:
            with pathlib_errors(self):
                return config.session.head_object(  # type: ignore[no-any-return]
                    self.key, bucket=self.bucket, **self._version_args()
                )
        except FileNotFoundError:
            return None

    def _version_args(self) -> dict[str, str]:
        """`version_id=` for the requests of a versioned path; nothing for others."""
        return {}

    def _has_children(self, config: PathConfig, prefix: str | None = None) -> bool:
        """Whether any object has a key under `prefix` (default: this directory)."""
        listing = config.session.list_objects(
            self._dir_prefix if prefix is None else prefix, bucket=self.bucket, limit=1
        )
        try:
            with pathlib_errors(self):
                return any(True for _ in listing)
        except FileNotFoundError:
            return False

    def _bucket_exists(self, config: PathConfig) -> bool:
        try:
            with pathlib_errors(self):
                config.session.head_bucket(self.bucket)
        except FileNotFoundError:
            return False
        return True

    def _not_found(self, config: PathConfig, cause: BaseException | None = None) -> OSError:
        """IsADirectoryError if this is a directory, else FileNotFoundError."""
        if not self.key or self._has_children(config):
            return os_error(IsADirectoryError, errno.EISDIR, self)
        return os_error(FileNotFoundError, errno.ENOENT, self)

    # --- queries -------------------------------------------------------------------------
    def exists(self, *, follow_symlinks: bool = True) -> bool:
        """Whether `/`, the bucket, the object or a prefix with objects under it exists."""
        config = self._config()
        if not self.bucket:
            return True
        if not self.key:
            return self._bucket_exists(config)
        return self._head(config) is not None or self._has_children(config)

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        """Whether this is `/`, an existing bucket, or a prefix with objects under it."""
        config = self._config()
        if not self.bucket:
            return True
        if not self.key:
            return self._bucket_exists(config)
        return self._has_children(config)

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        """Whether an object has exactly this key."""
        config = self._config()
        if not self.key:
            return False
        return self._head(config) is not None

    def is_symlink(self) -> bool:
        return False

    def is_mount(self) -> bool:
        return False

    def is_socket(self) -> bool:
        return False

    def is_fifo(self) -> bool:
        return False

    # S3 has no devices, links, modes, users or home: s3path's NotImplementedError, never a
    # made-up answer.
    @classmethod
    def cwd(cls) -> NoReturn:
        unsupported("cwd")

    @classmethod
    def home(cls) -> NoReturn:
        unsupported("home")

    def is_block_device(self) -> NoReturn:
        unsupported("is_block_device")

    def is_char_device(self) -> NoReturn:
        unsupported("is_char_device")

    def chmod(self, mode: int, *, follow_symlinks: bool = True) -> NoReturn:
        unsupported("chmod")

    def lchmod(self, mode: int) -> NoReturn:
        unsupported("lchmod")

    def group(self) -> NoReturn:
        unsupported("group")

    def readlink(self) -> NoReturn:
        unsupported("readlink")

    def symlink_to(self, target: object, target_is_directory: bool = False) -> NoReturn:
        unsupported("symlink_to")

    def hardlink_to(self, target: object) -> NoReturn:
        unsupported("hardlink_to")

    def absolute(self: _S) -> _S:
        """The path itself: S3 paths are absolute (there is no current directory)."""
        self._absolute()
        return self

    def resolve(self, strict: bool = False) -> NoReturn:
        """Unsupported, as in s3path (`..` is resolved on construction; use the path)."""
        unsupported("resolve")

    def expanduser(self) -> NoReturn:
        unsupported("expanduser")

    def stat(self, *, follow_symlinks: bool = True) -> StatResult:
        """Size, mtime, ETag, version, content type and metadata of the object; a
        directory's stat (S_IFDIR, size 0) for prefixes, buckets and `/`."""
        config = self._config()
        if not self.bucket:
            return StatResult.of_directory()
        if not self.key:
            if self._bucket_exists(config):
                return StatResult.of_directory()
            raise os_error(FileNotFoundError, errno.ENOENT, self, "no such bucket")
        head = self._head(config)
        if head is not None:
            return StatResult.of_object(head)
        if self._has_children(config):
            return StatResult.of_directory()
        raise os_error(FileNotFoundError, errno.ENOENT, self)

    def lstat(self) -> NoReturn:
        unsupported("lstat")

    def samefile(self, other_path: str | PureS3Path) -> bool:
        """Whether both paths name the same existing object or directory on the same
        session (FileNotFoundError if either is missing)."""
        other = other_path if isinstance(other_path, S3PathBase) else self.with_segments(other_path)
        self.stat()
        other.stat()
        return self == other and self.session is other.session
