"""High-level transfers shared by every backend: `upload_file` and `download_file`.

The session mixin only: the engine (multipart uploads, parallel ranged downloads, their
verification) is `transfer_engine`, imported on a session's first transfer, so that opening
a session does not load it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from .progress import ProgressCallback
    from .response import Response

__all__ = ["DEFAULT_PART_SIZE", "DEFAULT_THRESHOLD", "TransferMixin"]

MiB = 1024 * 1024
#: Size above which `upload_file` uses parts and `download_file` parallel ranges.
DEFAULT_THRESHOLD = 8 * MiB
DEFAULT_PART_SIZE = 8 * MiB


class TransferMixin:
    """`upload_file` and `download_file` for any session with the multipart primitives."""

    def upload_file(
        self,
        source: str | os.PathLike[str] | IO[bytes],
        key: str,
        *,
        bucket: str | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        threshold: int = DEFAULT_THRESHOLD,
        part_size: int | None = None,
        concurrency: int = 8,
        progress: ProgressCallback | None = None,
        storage_class: str | None = None,
        checksum: str | None = None,
        sse_customer_key: bytes | str | None = None,
    ) -> Response:
        """Upload a file (path or binary file object): one PUT up to `threshold` bytes,
        a parallel multipart upload above it. `progress(done, total)` is called as it goes.

        `source`: a path or a binary file object (read from its position); `key`: the object's key.
        `bucket`: the bucket (default the session's). `metadata`, `content_type`, `headers`: as for
        `put_object`. `threshold`: size above which parts are used; `part_size`: bytes per part
        (default 8 MiB, grown to stay within the part limit); `concurrency`: parts in flight;
        `progress`: a callable `progress(done, total)`.
        `storage_class`, `checksum` (the algorithm sent for the server to verify: crc32
        (default on S3), crc32c, sha1, sha256 or md5; on every part when multipart) and
        `sse_customer_key` (SSE-C, 32 bytes) apply to both paths, as `metadata`,
        `content_type` and `headers` do (`headers` go with the request that creates the
        object).
        """
        from .transfer_engine import upload_file

        return upload_file(
            self, source, key, bucket=bucket, metadata=metadata, content_type=content_type,
            headers=headers, threshold=threshold, part_size=part_size, concurrency=concurrency,
            progress=progress, storage_class=storage_class, checksum=checksum,
            sse_customer_key=sse_customer_key,
        )  # fmt: skip

    def download_file(
        self,
        key: str,
        dest: str | os.PathLike[str] | IO[bytes],
        *,
        bucket: str | None = None,
        version_id: str | None = None,
        threshold: int = DEFAULT_THRESHOLD,
        part_size: int = DEFAULT_PART_SIZE,
        concurrency: int = 8,
        progress: ProgressCallback | None = None,
        verify: bool = True,
        sse_customer_key: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Download an object to a path (written to a temporary file, renamed into place on
        success) or a binary file object. Above `threshold`, ranges are fetched in parallel;
        every request is pinned to the object first seen, and the result is checked against
        its size and (with `verify`) its ETag/SHA-1. Returns the object's HEAD response.

        `key`: the object's key; `dest`: a path or a binary file object. `bucket`: the bucket
        (default the session's). `version_id`: one version instead of the latest. `threshold`: size
        above which ranges are fetched in parallel; `part_size`: bytes per range; `concurrency`:
        ranges in flight; `progress`: a callable `progress(done, total)`; `verify`: check the bytes
        against the stored checksum, ETag or SHA-1 (the size is always checked).
        `sse_customer_key`: the SSE-C key (32 bytes) the object was written with; it and
        `headers` go with the HEAD and every GET.
        """
        from .transfer_engine import download_file

        return download_file(
            self, key, dest, bucket=bucket, version_id=version_id, threshold=threshold,
            part_size=part_size, concurrency=concurrency, progress=progress, verify=verify,
            sse_customer_key=sse_customer_key, headers=headers,
        )  # fmt: skip
