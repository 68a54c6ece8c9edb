"""S3Session's multipart calls: the primitives `multipart.MultipartUpload` drives (start,
upload a part, complete, abort, list parts), and the uploads in progress (list, abort).

Each is one operation of `s3lite.s3_multipart_requests` run by the session's driver,
imported on first use (a session that never uploads in parts never loads it).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .s3_driver import S3Driver

if TYPE_CHECKING:
    from .listing import Listing, UploadInfo
    from .parts import PartData, PartResult
    from .response import Response

__all__ = ["S3MultipartMixin"]


class S3MultipartMixin(S3Driver):
    """Multipart uploads (see `multipart.MultipartBackend`) and uploads in progress."""

    def _mp_start(
        self,
        bucket: str,
        key: str,
        *,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
        checksum: bool | str = True,
    ) -> str:
        from . import s3_multipart_requests as ops

        return self.run(
            ops.start_multipart(
                self._endpoint, bucket, key, metadata=metadata, content_type=content_type,
                headers=headers, checksum=checksum, clock=self.transport.now,
            )
        )  # fmt: skip

    def _mp_upload_part(
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
        from . import s3_multipart_requests as ops
        from .s3_payload import part_checksum_of

        algorithm, value = part_checksum_of(data, checksum)  # reads a file section once
        return self.run(
            ops.upload_part(
                self._endpoint, bucket, key, upload_id, number, data, value, algorithm,
                headers=headers,
            )
        )  # fmt: skip

    def _mp_upload_part_copy(
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
        from . import s3_multipart_requests as ops

        return self.run(
            ops.upload_part_copy(
                self._endpoint, bucket, key, upload_id, number, source_bucket, source_key,
                byte_range, source_version_id, if_match, headers,
            )
        )  # fmt: skip

    def _mp_complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: list[PartResult],
        *,
        headers: Mapping[str, str] | None = None,
        checksum: str = "crc32",
    ) -> Response:
        from . import s3_multipart_requests as ops

        return self.run(
            ops.complete_multipart(
                self._endpoint, bucket, key, upload_id, parts, headers=headers, checksum=checksum
            )
        )

    def _mp_abort(
        self, bucket: str, key: str, upload_id: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        from . import s3_multipart_requests as ops

        self.run(ops.abort_multipart(self._endpoint, bucket, key, upload_id, headers=headers))

    def _mp_list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartResult]:
        from . import s3_multipart_requests as ops

        return self.run(ops.list_parts(self._endpoint, bucket, key, upload_id))

    @staticmethod
    def _mp_adopt_part(part: PartResult, data: bytes | bytearray | memoryview) -> PartResult:
        """A part found on the server during a resume, with the CRC32 that completing needs
        (ListParts does not always return it)."""
        from . import s3_multipart_requests as ops

        return ops.adopt_part(part, data)

    @staticmethod
    def _mp_expected_etag(parts: list[PartResult]) -> str | None:
        """The ETag S3 gives a multipart object: MD5 of the parts' MD5s, dash, part count."""
        from . import s3_multipart_requests as ops

        return ops.expected_multipart_etag(parts)

    def _mp_verify(self, response: Response, parts: list[PartResult]) -> None:
        from . import s3_multipart_requests as ops

        ops.verify_multipart_etag(response, parts)

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
