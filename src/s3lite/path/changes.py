"""Changing what is stored under paths: buckets made and removed (`mkdir`, `rmdir`),
objects deleted (`unlink`), and objects or whole prefixes copied and moved (`copy`,
`rename`, `replace`): server-side within a session, streamed between sessions."""

from __future__ import annotations

import errno
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from .base import S3PathBase
from .configuration import PathConfig
from .oserrors import os_error, pathlib_errors
from .pure import PureS3Path
from .streams import S3ObjectReader, S3ObjectWriter

if TYPE_CHECKING:
    from ..response import Response

__all__ = ["B2_MAX_COPY", "PathChanges"]

MiB = 1024 * 1024
#: Largest object B2's server-side copy (b2_copy_file) takes; larger ones are streamed.
B2_MAX_COPY = 5_000_000_000

_S = TypeVar("_S", bound="PathChanges")


class PathChanges(S3PathBase):
    """`S3Path`'s changes: `mkdir`, `rmdir`, `unlink`, `rename`, `replace` and `copy`."""

    __slots__ = ()

    def mkdir(self, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        """Create the bucket (`/bucket`); for a prefix, check it could hold objects: its
        bucket exists (created with `parents=True`) and it is no object. Prefixes need no
        creating: they exist once an object is written under them."""
        config = self._config()
        if not self.bucket:
            if not exist_ok:
                raise os_error(FileExistsError, errno.EEXIST, self)
            return
        bucket_path = self._child(self.bucket, "")
        if not self.key:
            if self._bucket_exists(config):
                if not exist_ok:
                    raise os_error(FileExistsError, errno.EEXIST, self, "bucket exists")
                return
            try:
                with pathlib_errors(self):
                    config.session.create_bucket(self.bucket)
            except FileExistsError:
                if not exist_ok:
                    raise
            return
        bucket_config = bucket_path._config()
        if not bucket_path._bucket_exists(bucket_config):
            if not parents:
                raise os_error(FileNotFoundError, errno.ENOENT, self, "no such bucket")
            bucket_path.mkdir(exist_ok=True)
        if self._head(config) is not None:
            raise os_error(FileExistsError, errno.EEXIST, self, "an object has this key")
        if not exist_ok and self._has_children(config):
            raise os_error(FileExistsError, errno.EEXIST, self)

    def rmdir(self) -> None:
        """Delete the empty bucket, or the folder marker of an empty prefix
        (OSError ENOTEMPTY while objects remain under it)."""
        config = self._config()
        session = config.session
        if not self.bucket:
            raise os_error(PermissionError, errno.EPERM, self, "cannot remove /")
        if not self.key:
            if self._has_children(config, ""):
                raise os_error(OSError, errno.ENOTEMPTY, self)
            with pathlib_errors(self):
                session.delete_bucket(self.bucket)
            return
        prefix = self._dir_prefix
        with pathlib_errors(self):
            keys = [item["key"] for item in session.list_objects(prefix, bucket=self.bucket,
                                                                 limit=2)]  # fmt: skip
        if not keys:
            if self._head(config) is not None:
                raise os_error(NotADirectoryError, errno.ENOTDIR, self)
            raise os_error(FileNotFoundError, errno.ENOENT, self)
        if keys != [prefix]:
            raise os_error(OSError, errno.ENOTEMPTY, self)
        with pathlib_errors(self):
            session.delete_object(prefix, bucket=self.bucket)

    def unlink(self, missing_ok: bool = False) -> None:
        """Delete the object (FileNotFoundError if there is none, unless `missing_ok`: also
        for a missing bucket; IsADirectoryError for a bucket or a prefix, whose name is never
        sent as a DELETE). On B2, every version is deleted; a `VersionedS3Path` deletes its
        version only."""
        config = self._config()
        if not self.key:
            if missing_ok and self.bucket and not self._bucket_exists(config):
                return
            raise os_error(IsADirectoryError, errno.EISDIR, self)
        if self._head(config) is None:
            error = self._not_found(config)
            if missing_ok and isinstance(error, FileNotFoundError):
                return
            raise error
        with pathlib_errors(self):
            config.session.delete_object(self.key, bucket=self.bucket, **self._version_args())

    def rename(self: _S, target: str | PureS3Path) -> _S:
        """Move this object, or every object under this prefix, to `target` (absolute):
        server-side copies (multipart copies for large objects, streamed copies between
        sessions), then deletes. An existing target object is replaced; a directory goes
        only where no directory with objects is (OSError ENOTEMPTY)."""
        dest = self._target(target)
        self._transfer(dest, move=True)
        return dest

    def replace(self: _S, target: str | PureS3Path) -> _S:
        """`rename` (S3 replaces an existing object either way)."""
        return self.rename(target)

    def copy(self: _S, target: str | PureS3Path) -> _S:
        """Copy this object, or every object under this prefix, to `target` (pathlib
        3.14's `copy`); the same checks as `rename`, without the deletes."""
        dest = self._target(target)
        self._transfer(dest, move=False)
        return dest

    def _target(self: _S, target: str | PureS3Path) -> _S:
        if isinstance(target, S3PathBase) and target._flavour == self._flavour:
            dest: _S = target  # type: ignore[assignment]
        elif isinstance(target, PureS3Path) and target._flavour != self._flavour:
            dest = self.with_segments(str(target))
        else:
            dest = self.with_segments(target)
        if not dest.is_absolute():
            raise ValueError(f"the target must be an absolute path, /bucket/key; got {dest}")
        if not dest.bucket:
            raise os_error(PermissionError, errno.EPERM, dest, "cannot write to /")
        return dest

    def _transfer(self, dest: S3PathBase, *, move: bool) -> None:
        if not self.key:
            raise os_error(PermissionError, errno.EPERM, self, "buckets cannot be renamed")
        src_config, dst_config = self._config(), dest._config()
        same_session = src_config.session is dst_config.session
        if dest == self and same_session:
            if not self.exists():
                raise os_error(FileNotFoundError, errno.ENOENT, self)
            return
        head = self._head(src_config)
        if head is not None:
            if not dest.key or dest._has_children(dst_config):
                raise os_error(IsADirectoryError, errno.EISDIR, dest)
            self._copy_one(self.key, dest.key, head.content_length or 0, head, src_config,
                           dest, dst_config)  # fmt: skip
            if move:
                with pathlib_errors(self):
                    src_config.session.delete_object(self.key, bucket=self.bucket)
            return
        if not self._has_children(src_config):
            raise os_error(FileNotFoundError, errno.ENOENT, self)
        if same_session and dest.bucket == self.bucket and dest.is_relative_to(self):
            raise os_error(OSError, errno.EINVAL, dest, f"cannot move {self} into itself")
        if dest.key and dest._head(dst_config) is not None:
            raise os_error(NotADirectoryError, errno.ENOTDIR, dest)
        if dest._has_children(dst_config):
            raise os_error(OSError, errno.ENOTEMPTY, dest)
        self._transfer_tree(dest, src_config, dst_config, move)

    def _transfer_tree(
        self, dest: S3PathBase, src_config: PathConfig, dst_config: PathConfig, move: bool
    ) -> None:
        """Copy every key under this prefix in parallel, a page at a time; after each page
        is copied, its sources are deleted (so every object is always at one place at
        least, whatever fails)."""
        prefix = self._dir_prefix
        dest_prefix = dest._dir_prefix
        session = src_config.session

        def one(item: dict[str, Any]) -> str:
            key: str = item["key"]
            target_key = dest_prefix + key[len(prefix) :]
            target = dest._child(dest.bucket, target_key.rstrip("/")) if target_key else dest
            config = target._config() if target is not dest else dst_config
            self._copy_one(key, target_key, item.get("content_length") or 0, None,
                           src_config, target, config)  # fmt: skip
            return key

        workers = max(1, min(src_config.concurrency, 16))
        pool = ThreadPoolExecutor(workers, thread_name_prefix="s3lite-path-copy")
        with pool, pathlib_errors(self):
            for page in session.list_objects(prefix, bucket=self.bucket).pages():
                done = list(pool.map(one, page.items))
                if move and done:
                    result = session.delete_objects(done, bucket=self.bucket, raise_errors=False)
                    if result.errors:
                        raise os_error(
                            OSError, errno.EIO, self,
                            f"copied, but could not delete {result.errors[:3]}",
                        )  # fmt: skip

    def _copy_one(
        self,
        key: str,
        dest_key: str,
        size: int,
        head: Response | None,
        src_config: PathConfig,
        dest: S3PathBase,
        dst_config: PathConfig,
    ) -> None:
        """Copy one object: server-side within a session (copy_object copies above 5 GiB
        in parts), streamed through a reader and a writer between sessions."""
        session = src_config.session
        server_side = session is dst_config.session and not (
            src_config.is_b2 and size > B2_MAX_COPY
        )
        if server_side:
            with pathlib_errors(dest):
                session.copy_object(
                    key, dest_key, source_bucket=self.bucket, dest_bucket=dest.bucket,
                    **dst_config.copy_fields(),
                )  # fmt: skip
            return
        source = self._child(self.bucket, key.rstrip("/"))
        if head is None:
            with pathlib_errors(source):
                head = session.head_object(key, bucket=self.bucket)
        assert head is not None
        reader = S3ObjectReader(source, session, head, None, key=key)
        ctype = head.content_type
        if ctype == "b2/x-auto" or (ctype or "").startswith("application/x-directory"):
            ctype = None
        writer = S3ObjectWriter(dest, dst_config, metadata=head.metadata, content_type=ctype,
                                key=dest_key)  # fmt: skip
        with reader, writer:
            buffer = bytearray(MiB)
            view = memoryview(buffer)
            while True:
                n = reader.readinto(view)
                if not n:
                    break
                writer.write(view[:n])
