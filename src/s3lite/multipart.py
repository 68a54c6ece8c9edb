"""Multipart uploads: one engine for S3 multipart uploads and B2 large files.

A backend provides five primitives (`MultipartBackend`); `MultipartUpload` cuts the source
into parts, sends them in parallel on the session's connection pool, retries each part on
its own, and completes, verifies or aborts the upload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from .response import Response

__all__ = ["MultipartBackend", "PartResult"]


class PartResult(NamedTuple):
    """One uploaded part: its number, size, and what the backend needs to complete it
    (S3: the ETag; B2: the SHA-1)."""

    number: int
    size: int
    etag: str | None = None
    sha1: str | None = None


class MultipartBackend(Protocol):
    """The primitives a session provides for multipart uploads.

    `upload_id` is S3's UploadId or B2's large-file id.
    """

    #: Smallest part (except the last), largest part, most parts.
    multipart_min_part_size: int
    multipart_max_part_size: int
    multipart_max_parts: int

    def _mp_start(
        self,
        bucket: str,
        key: str,
        *,
        metadata: Mapping[str, str] | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
    ) -> str: ...

    def _mp_upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, data: bytes | memoryview
    ) -> PartResult: ...

    def _mp_complete(
        self, bucket: str, key: str, upload_id: str, parts: list[PartResult]
    ) -> Response: ...

    def _mp_abort(self, bucket: str, key: str, upload_id: str) -> None: ...

    def _mp_list_parts(self, bucket: str, key: str, upload_id: str) -> list[PartResult]: ...
