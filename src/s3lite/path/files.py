"""Reading and writing objects through paths: `open` (streams), `read_bytes`/`read_text`,
`write_bytes`/`write_text`, `touch`, and whole-file transfers to and from local files
(`upload_from`, `download_to`)."""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Mapping
from typing import IO, Any, BinaryIO, Literal, TypeVar, overload

from ..progress import ProgressReporter
from .base import S3PathBase
from .configuration import PathConfig
from .oserrors import os_error, pathlib_errors
from .streams import S3ObjectReader, S3ObjectWriter, TextWriter

__all__ = ["READ_BUFFER", "PathFiles"]

#: Buffer of the `io.BufferedReader` that `open('rb')` returns (when `buffering` is -1).
READ_BUFFER = 256 * 1024

_TEXT_MODES = frozenset({"r", "rt", "tr", "w", "wt", "tw"})
_BINARY_MODES = frozenset({"rb", "br", "wb", "bw"})

_S = TypeVar("_S", bound="PathFiles")


class PathFiles(S3PathBase):
    """`S3Path`'s reads and writes: `open`, `read_*`, `write_*`, `touch`, `upload_from`,
    `download_to`."""

    __slots__ = ()

    def _reader(self, config: PathConfig) -> S3ObjectReader:
        if not self.key:
            raise os_error(IsADirectoryError, errno.EISDIR, self)
        head = self._head(config)
        if head is None:
            raise self._not_found(config)
        return S3ObjectReader(self, config.session, head, config.progress_for(self))

    def _writer(
        self,
        config: PathConfig,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> S3ObjectWriter:
        if not self.key:
            raise os_error(IsADirectoryError, errno.EISDIR, self)
        return S3ObjectWriter(self, config, metadata=metadata, content_type=content_type)

    @overload
    def open(
        self,
        mode: Literal["r", "w", "rt", "wt"] = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> io.TextIOWrapper: ...

    @overload
    def open(
        self,
        mode: Literal["rb", "wb"],
        buffering: int = -1,
        encoding: None = None,
        errors: None = None,
        newline: None = None,
    ) -> BinaryIO: ...

    @overload
    def open(
        self,
        mode: str,
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> IO[Any]: ...

    def open(
        self,
        mode: str = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> IO[Any]:
        """Open the object for reading (`r`, `rb`) or writing (`w`, `wb`).

        Reads stream ranged GETs pinned to the version first seen (an `io.RawIOBase` in an
        `io.BufferedReader`, seekable, with read-ahead windows that grow while reading is
        sequential). Writes buffer up to the threshold and end as one PUT; larger ones
        stream through a multipart upload committed on close, and aborted if the `with`
        block raises or a write failed: never an orphan upload or a partial object.
        Text is UTF-8 unless `encoding` says otherwise (objects have no locale).
        `buffering=0` gives the raw binary stream.
        """
        if mode in _TEXT_MODES:
            text = True
        elif mode in _BINARY_MODES:
            text = False
            if encoding is not None or errors is not None or newline is not None:
                raise ValueError("binary mode doesn't take an encoding, errors or newline")
        else:
            raise ValueError(
                f"invalid mode {mode!r}: objects are read or written whole ('r', 'rb', 'w', 'wb')"
            )
        if text and buffering == 0:
            raise ValueError("can't have unbuffered text I/O")
        config = self._config()
        encoding = encoding or "utf-8"
        if "r" in mode:
            raw = self._reader(config)
            if buffering == 0:
                return raw  # type: ignore[return-value]
            size = buffering if buffering > 1 else READ_BUFFER
            buffered = io.BufferedReader(raw, size)
            if not text:
                return buffered
            reader = io.TextIOWrapper(buffered, encoding, errors, newline)
            reader.mode = "r"  # type: ignore[misc]
            return reader
        writer = self._writer(config)
        if not text:
            return writer  # type: ignore[return-value]
        # TextIOWrapper writes a BOM (utf-16, utf-32) only at the start of a stream it can
        # tell() the position of: let it see position 0 while it is built.
        writer._at_start = True
        try:
            wrapper = TextWriter(writer, encoding, errors, newline, line_buffering=buffering == 1)
        finally:
            writer._at_start = False
        wrapper.mode = "w"  # type: ignore[misc]
        return wrapper

    def read_bytes(self) -> bytes:
        """The object's bytes, in one GET."""
        config = self._config()
        if not self.key:
            raise os_error(IsADirectoryError, errno.EISDIR, self)
        progress = config.progress_for(self)
        try:
            with pathlib_errors(self):
                response = config.session.get_object(
                    self.key, bucket=self.bucket, stream=True, **self._version_args()
                )
                if progress is None:
                    return response.data  # type: ignore[no-any-return]
                reporter = ProgressReporter(progress, response.content_length)
                chunks = []
                for chunk in response.iter_chunks():
                    chunks.append(chunk)
                    reporter.add(len(chunk))
                reporter.finish()
                return b"".join(chunks)
        except FileNotFoundError as exc:
            raise self._not_found(config) from exc.__cause__

    def read_text(
        self, encoding: str | None = None, errors: str | None = None, newline: str | None = None
    ) -> str:
        """The object decoded (UTF-8 by default), newlines translated as `open('r')` does."""
        data = self.read_bytes()
        with io.TextIOWrapper(io.BytesIO(data), encoding or "utf-8", errors, newline) as f:
            return f.read()

    def write_bytes(self, data: bytes | bytearray | memoryview) -> int:
        """Write the object (one PUT up to the threshold, a multipart upload above it)."""
        view = memoryview(data).cast("B")
        with self.open("wb") as f:
            f.write(view)
        return view.nbytes

    def write_text(
        self,
        data: str,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> int:
        """Write the text encoded (UTF-8 by default); returns the number of characters."""
        if not isinstance(data, str):
            raise TypeError(f"data must be str, not {type(data).__name__}")
        with self.open("w", encoding=encoding, errors=errors, newline=newline) as f:
            return f.write(data)

    def touch(self, mode: int = 0o666, exist_ok: bool = True) -> None:
        """Create an empty object unless this path exists (then FileExistsError unless
        `exist_ok`; an existing object is left as it is: objects cannot be touched)."""
        config = self._config()
        if not self.key:
            if self.bucket and not self._bucket_exists(config):
                raise os_error(FileNotFoundError, errno.ENOENT, self, "no such bucket")
            if not exist_ok:
                raise os_error(FileExistsError, errno.EEXIST, self)
            return
        if self._head(config) is not None or self._has_children(config):
            if not exist_ok:
                raise os_error(FileExistsError, errno.EEXIST, self)
            return
        with self.open("wb"):
            pass

    def upload_from(self: _S, source: str | os.PathLike[str] | IO[bytes]) -> _S:
        """Upload a local file (path or binary file object) to this path with the path's
        transfer settings (parallel parts above the threshold) and options."""
        config = self._config()
        if not self.key:
            raise os_error(IsADirectoryError, errno.EISDIR, self)
        metadata, content_type, headers = config.multipart_fields()
        with pathlib_errors(self):
            config.session.upload_file(
                source, self.key, bucket=self.bucket, metadata=metadata,
                content_type=content_type, headers=headers, threshold=config.threshold,
                part_size=config.part_size, concurrency=config.concurrency,
                progress=config.progress_for(self),
            )  # fmt: skip
        return self

    def download_to(self, dest: str | os.PathLike[str] | IO[bytes]) -> None:
        """Download the object to a local path (replaced atomically) or binary file object,
        in parallel ranges above the threshold, verified."""
        config = self._config()
        if not self.key:
            raise os_error(IsADirectoryError, errno.EISDIR, self)
        kwargs: dict[str, Any] = {"threshold": config.threshold,
                                  "concurrency": config.concurrency}  # fmt: skip
        if config.part_size is not None:
            kwargs["part_size"] = config.part_size
        try:
            with pathlib_errors(self):
                config.session.download_file(
                    self.key, dest, bucket=self.bucket, progress=config.progress_for(self),
                    **self._version_args(), **kwargs,
                )  # fmt: skip
        except FileNotFoundError as exc:
            if exc.__cause__ is None:
                raise  # a local error
            raise self._not_found(config) from exc.__cause__
