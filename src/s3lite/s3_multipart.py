"""S3Session's multipart calls: the primitives `multipart.MultipartUpload` drives (start,
upload a part, complete, abort, list parts), as the session's `multipart_backend` (an
`S3MultipartBackend`), and the uploads in progress (list, abort).

Each primitive is one operation of `s3lite.s3_multipart_requests` run by the session's `run`,
imported on first use (a session that never uploads in parts never loads it).
"""

from __future__ import annotations

import datetime as _dt
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, cast

from .s3_driver import S3Driver

if TYPE_CHECKING:
    from .listing import Listing, UploadInfo
    from .operation import Operation
    from .parts import PartData, PartResult
    from .response import Response
    from .s3_endpoint import S3Endpoint
    from .transport import Transport

__all__ = [
    "S3MultipartBackend",
    "S3MultipartBase",
    "S3MultipartMixin",
    "S3MultipartSession",
    "S3PartSettings",
]

T = TypeVar("T")


class S3PartSettings(Protocol):
    """What every S3 multipart backend reads of its session: the part limits and the
    endpoint (default bucket, addressing)."""

    @property
    def multipart_min_part_size(self) -> int: ...
    @property
    def multipart_max_part_size(self) -> int: ...
    @property
    def multipart_max_parts(self) -> int: ...
    @property
    def s3_endpoint(self) -> S3Endpoint: ...


S = TypeVar("S", bound=S3PartSettings)


class S3MultipartSession(S3PartSettings, Protocol):
    """The public methods of `S3Session` that `S3MultipartBackend` calls."""

    @property
    def transport(self) -> Transport: ...
    def run(self, operation: Operation[T]) -> T: ...
    def head_object(
        self, key: str, *, bucket: str | None = None, sse_customer_key: bytes | str | None = None
    ) -> Response: ...
    def list_multipart_uploads(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> Listing[UploadInfo]: ...


class S3MultipartBase(Generic[S]):
    """What the sync and async S3 multipart backends share, sending nothing: the session's
    part limits (read live: they may be set on the session), its bucket resolution, and the
    checks of parts and of the completed object."""

    def __init__(self, session: S) -> None:
        self._session = session

    @property
    def multipart_min_part_size(self) -> int:
        """The session's smallest part (all but the last)."""
        return self._session.multipart_min_part_size

    @property
    def multipart_max_part_size(self) -> int:
        """The session's largest part."""
        return self._session.multipart_max_part_size

    @property
    def multipart_max_parts(self) -> int:
        """The session's most parts."""
        return self._session.multipart_max_parts

    def bucket(self, name: str | None) -> str:
        """The bucket an upload goes to: `name` (checked), else the session's default."""
        return self._session.s3_endpoint.resolve_bucket(name)

    @staticmethod
    def adopt_part(part: PartResult, data: bytes | bytearray | memoryview) -> PartResult:
        """A part found on the server during a resume, with the CRC32 that completing needs
        (ListParts does not always return it); `data` is the part's bytes."""
        from . import s3_multipart_requests as ops

        return ops.adopt_part(part, data)

    @staticmethod
    def expected_etag(parts: list[PartResult]) -> str | None:
        """The ETag S3 gives the object completing `parts`: MD5 of the parts' MD5s, dash,
        part count (None if a part's MD5 is unknown)."""
        from . import s3_multipart_requests as ops

        return ops.expected_multipart_etag(parts)

    @staticmethod
    def verify(response: Response, parts: list[PartResult]) -> None:
        """ChecksumMismatch unless the completed object's `response` has the ETag of `parts`."""
        from . import s3_multipart_requests as ops

        ops.verify_multipart_etag(response, parts)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._session!r}>"


class S3MultipartBackend(S3MultipartBase[S3MultipartSession]):
    """The multipart primitives of an `S3Session`, what `multipart.MultipartUpload` drives
    (`session.multipart_backend`): each runs one operation of `s3lite.s3_multipart_requests`
    through the session's `run`. `upload_id` is S3's UploadId."""

    def start(
        self,
        bucket: str,
        key: str,
        *,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
        checksum: bool | str = True,
    ) -> str:
        """CreateMultipartUpload of `key` in `bucket` with `metadata`, `content_type` and
        extra `headers`; `checksum`: the algorithm every part carries (True: CRC32, False:
        none). Returns the upload id (uploads a retried start left behind are aborted)."""
        from . import s3_multipart_requests as ops

        session = self._session
        return session.run(
            ops.start_multipart(
                session.s3_endpoint, bucket, key, metadata=metadata, content_type=content_type,
                headers=headers, checksum=checksum, clock=session.transport.now,
            )
        )  # fmt: skip

    def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        data: PartData,
        *,
        headers: Mapping[str, str] | None = None,
        checksum: str = "crc32",
    ) -> PartResult:
        """UploadPart: part `number` (1-based) of upload `upload_id` of `key` in `bucket`,
        `data` (bytes or a file section, read once), with its `checksum` (the algorithm) and
        extra `headers` (SSE-C)."""
        from . import s3_multipart_requests as ops
        from .s3_payload import part_checksum_of

        algorithm, value = part_checksum_of(data, checksum)  # reads a file section once
        return self._session.run(
            ops.upload_part(
                self._session.s3_endpoint, bucket, key, upload_id, number, data, value,
                algorithm, headers=headers,
            )
        )  # fmt: skip

    def upload_part_copy(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        source_bucket: str,
        source_key: str,
        byte_range: tuple[int, int] | None,
        source_version_id: str | None,
        if_match: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> PartResult:
        """UploadPartCopy: part `number` of upload `upload_id` of `key` in `bucket` copied
        from `source_key` in `source_bucket` (`byte_range`: first and last byte, inclusive;
        `source_version_id`, `if_match`: the source's version and ETag; `headers`: extra)."""
        from . import s3_multipart_requests as ops

        return self._session.run(
            ops.upload_part_copy(
                self._session.s3_endpoint, bucket, key, upload_id, number, source_bucket,
                source_key, byte_range, source_version_id, if_match, headers,
            )
        )  # fmt: skip

    def complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: list[PartResult],
        *,
        headers: Mapping[str, str] | None = None,
        checksum: str = "crc32",
    ) -> Response:
        """CompleteMultipartUpload of upload `upload_id` of `key` in `bucket` from `parts`
        (with their `checksum` algorithm's values; `headers`: extra)."""
        from . import s3_multipart_requests as ops

        return self._session.run(
            ops.complete_multipart(
                self._session.s3_endpoint, bucket, key, upload_id, parts, headers=headers,
                checksum=checksum,
            )
        )  # fmt: skip

    def abort(
        self, bucket: str, key: str, upload_id: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        """AbortMultipartUpload of upload `upload_id` of `key` in `bucket` (its parts are
        deleted; `headers`: extra)."""
        from . import s3_multipart_requests as ops

        self._session.run(
            ops.abort_multipart(self._session.s3_endpoint, bucket, key, upload_id, headers=headers)
        )

    def list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartResult]:
        """Every part of upload `upload_id` of `key` in `bucket` (ListParts, all pages)."""
        from . import s3_multipart_requests as ops

        return self._session.run(ops.list_parts(self._session.s3_endpoint, bucket, key, upload_id))

    # --- the session's public calls the engine makes -----------------------------------------
    def head_object(
        self, key: str, *, bucket: str | None = None, sse_customer_key: bytes | str | None = None
    ) -> Response:
        """The session's `head_object` of `key` in `bucket` (with the `sse_customer_key` it
        was written with)."""
        return self._session.head_object(key, bucket=bucket, sse_customer_key=sse_customer_key)

    def list_multipart_uploads(
        self, prefix: str = "", *, bucket: str | None = None
    ) -> Listing[UploadInfo]:
        """The session's `list_multipart_uploads(prefix, bucket=bucket)`."""
        return self._session.list_multipart_uploads(prefix, bucket=bucket)

    def now(self) -> float:
        """The session's clock (what the server's `Initiated` stamps are compared with)."""
        return self._session.transport.now()


class S3MultipartMixin(S3Driver):
    """Multipart uploads (`multipart_backend`, see `multipart.MultipartBackend`) and uploads
    in progress."""

    _multipart_backend: weakref.ReferenceType[S3MultipartBackend] | None = None

    @property
    def multipart_backend(self) -> S3MultipartBackend:
        """The primitives `MultipartUpload` drives on this session (start, upload a part,
        complete, abort, list parts): one object while any holds it. It refers to the
        session, the session only weakly to it (no cycle: a dropped session is freed at once)."""
        ref = self._multipart_backend
        backend = ref() if ref is not None else None
        if backend is None:
            backend = S3MultipartBackend(cast("S3MultipartSession", self))
            self._multipart_backend = weakref.ref(backend)
        return backend

    def list_multipart_uploads(
        self,
        prefix: str = "",
        *,
        bucket: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Listing[UploadInfo]:
        """Multipart uploads in progress (dicts with key, upload_id, initiated).

        `prefix`: only keys starting with it. `bucket`: the bucket (default the session's).
        `headers`: extra request headers.
        """
        from .s3_listing_requests import list_multipart_uploads

        return self._listing(
            list_multipart_uploads(self._endpoint, prefix, bucket=bucket, headers=headers)
        )

    def abort_multipart_uploads(
        self,
        prefix: str = "",
        *,
        bucket: str | None = None,
        older_than: _dt.timedelta | float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> int:
        """Abort the uploads in progress under `prefix` (only those started more than
        `older_than` ago, a timedelta or seconds, when given); returns how many.

        `bucket`: the bucket (default the session's).
        `headers`: extra request headers.
        """
        from . import s3_multipart_requests as ops

        return self.run(
            ops.abort_multipart_uploads(
                self._endpoint, prefix, bucket=bucket, older_than=older_than, headers=headers
            )
        )
