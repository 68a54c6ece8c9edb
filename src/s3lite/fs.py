"""fsspec filesystems over s3lite: pandas, pyarrow, DuckDB and Dask read and write through them.

`S3LiteFileSystem` (protocol ``s3lite``) serves any S3-compatible service through `S3Session`,
`B2LiteFileSystem` (protocol ``b2lite``) serves Backblaze B2 through `B2Session`. Both take
s3fs's storage options (``key``, ``secret``, ``token``, ``endpoint_url``, ``anon``,
``client_kwargs``, ``default_block_size``, ``version_aware``), so code moving from s3fs changes
only the protocol; `register_s3()` makes s3lite serve plain ``s3://`` URLs in this process.

Needs the ``fsspec`` extra (``pip install s3lite[fsspec]``); `import s3lite` never imports it.

The filesystems are put together here from the modules `fs_base` (options, session, paths,
listings cache), `fs_listing`, `fs_reading` and `fs_writing` (the operations), `fs_files`
(open files), `fs_cache` (their read cache) and `fs_adapters` (errors, info dicts and
progress in fsspec's terms).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any, ClassVar

from .fs_adapters import translated_errors
from .fs_base import DEFAULT_BLOCK_SIZE  # noqa: F401 - kept importable from here
from .fs_cache import ReadAheadOrExactCache  # noqa: F401 - kept importable from here
from .fs_files import S3LiteFile
from .fs_listing import FileSystemListing
from .fs_reading import FileSystemReading
from .fs_writing import FileSystemWriting

if TYPE_CHECKING:
    from .b2 import B2Session

__all__ = ["B2LiteFileSystem", "S3LiteFile", "S3LiteFileSystem", "register_s3"]


class S3LiteFileSystem(FileSystemListing, FileSystemReading, FileSystemWriting):
    """An fsspec filesystem over an `S3Session`: paths are ``bucket/key``.

    Directories are the prefixes that have objects under them (and buckets); nothing is
    written for `mkdir` inside a bucket. Listings are cached until a write through this
    instance touches them (or `invalidate_cache`, or ``ls(..., refresh=True)``).
    """


class B2LiteFileSystem(S3LiteFileSystem):
    """An fsspec filesystem over a `B2Session` (B2's native API): paths are ``bucket/name``.

    `key`/`secret` are the application key id and key (default `B2_APPLICATION_KEY_ID` /
    `B2_APPLICATION_KEY`); `endpoint_url` is where b2_authorize_account is. Deleting a file
    deletes every version of it.
    """

    protocol: ClassVar[str | tuple[str, ...]] = ("b2lite",)
    _folder_markers: ClassVar[bool] = False

    def _make_session(self) -> Any:
        from .b2 import B2Session

        options = self._connection_options()
        if self.endpoint_url:
            options["api_url"] = self.endpoint_url
        if self.key is not None:
            options.update(access_key_id=self.key, access_key=self._secret)
        options.update(self.session_options)
        session: B2Session = B2Session(**options)
        return session

    def _put_bytes(self, path: str, data: bytes, exclusive: bool, **options: Any) -> None:
        # B2 has no conditional upload: `exclusive` is checked before the write.
        bucket, key, _ = self.split_path(path)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "cannot write to a bucket", path)
        if exclusive and self._head(path) is not None:
            raise FileExistsError(errno.EEXIST, "object exists", path)
        try:
            with translated_errors(path):
                self.session.put_object(key, data, bucket=bucket, **options)
        finally:
            self.invalidate_cache(path)


class _S3ProtocolFileSystem(S3LiteFileSystem):
    """`S3LiteFileSystem` under the ``s3``/``s3a`` protocols (see `register_s3`)."""

    protocol: ClassVar[str | tuple[str, ...]] = ("s3", "s3a")


def register_s3(clobber: bool = True) -> None:
    """Make s3lite serve ``s3://`` and ``s3a://`` URLs in this process (fsspec, pandas, Dask,
    pyarrow through fsspec), in place of s3fs; storage options are spelt as for s3fs."""
    import fsspec  # type: ignore[import-untyped]

    for protocol in ("s3", "s3a"):
        fsspec.register_implementation(protocol, _S3ProtocolFileSystem, clobber=clobber)
