"""B2Session: Backblaze B2's native API behind S3Session's interface, on the shared transport.

The same `Transport`, `Response`, `Listing`, `DeleteResult` and error classes as S3. Every
B2 call is an I/O-free operation in one of the `b2_*` modules (`b2_objects`, `b2_listings`,
`b2_buckets`, `b2_large_files`, on `b2_calls` and `b2_requests`); `B2Session` composes their
drivers (`B2Driver.run`). What B2 does differently from S3:

* **Authorization.** `b2_authorize_account` is cached process-wide per (realm, key id, key)
  for at most an hour (less if the key expires sooner), shared by every session using that
  key, and done once even when many threads need it at the same moment. A request that gets
  `expired_auth_token`/`bad_auth_token` re-authorizes (once, whatever the number of threads
  that saw it) and is retried through the transport's `Auth.refresh` hook.
* **Uploads.** Upload URLs (`b2_get_upload_url`, and `b2_get_upload_part_url` per large file)
  are pooled: an upload takes one, no other upload uses it meanwhile, and it goes back to the
  pool when the upload succeeded. Every *retry* of an upload (after a 401/408/429/5xx or a
  broken connection) goes to a fresh upload URL, as B2 requires; the transport re-targets the
  request when it signs the new attempt. Every upload carries `X-Bz-Content-Sha1`: the hex
  digest for in-memory bodies, `hex_digits_at_end` for streams (the 40 digits follow the body,
  so a stream is read once).
* **Object fields.** `Response.version_id` is the B2 file id, `etag` the content SHA-1 in hex
  (for a large file, which has no SHA-1 of its own, the `large_file_sha1` file info when the
  uploader recorded one, else None), `last_modified` the upload timestamp (the time B2 stored
  the version, as S3's Last-Modified; a source file's mtime, `src_last_modified_millis`, stays
  in `metadata`), `metadata` the `X-Bz-Info-*` file info, percent-decoded.
* **Deleting.** B2 keeps every version of a name. `delete_object(key)` deletes all of them
  (or one, with `version_id`); `hide_object(key)` is B2's "delete marker". Hidden names are
  left out of `list_objects` and show up as delete markers in `list_object_versions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .b2_auth import clear_auth_cache
from .b2_batch_delete import B2BatchDeleteMixin
from .b2_buckets import B2AppKey, B2BucketsMixin
from .b2_driver import retry_policy
from .b2_large_files import B2LargeFilesMixin
from .b2_requests import (
    B2_DIALECT,
    DEFAULT_API_URL,
    MAX_INFO_ENTRIES,
    MAX_UPLOAD_BYTES,
    parse_error,
    validate_bucket,
    validate_key,
)
from .retries import RetryMode
from .transfer import TransferMixin
from .transport import Transport

if TYPE_CHECKING:
    import urllib3

    from .lock import B2LockStore, DistributedLock, LockProtocol

__all__ = [
    "B2_DIALECT",
    "DEFAULT_API_URL",
    "MAX_INFO_ENTRIES",
    "B2AppKey",
    "B2Session",
    "clear_auth_cache",
    "parse_error",
    "validate_bucket",
    "validate_key",
]


class B2Session(B2BucketsMixin, B2LargeFilesMixin, B2BatchDeleteMixin, TransferMixin):
    """A connection to Backblaze B2 (native API) with an optional default bucket.

    Same methods, arguments, responses, listings and errors as `S3Session` wherever B2 has the
    notion. Thread-safe. Keys come from the arguments or from `B2_APPLICATION_KEY_ID` /
    `B2_APPLICATION_KEY`. Nothing is sent until the first call.
    """

    #: Largest part of a large file, and most parts (smallest: `multipart_min_part_size`).
    multipart_max_part_size: int = MAX_UPLOAD_BYTES
    multipart_max_parts: int = 10000
    #: download_file pins its ranged GETs by file id (B2 has no If-Match).
    supports_if_match = False
    #: upload_file records a large file's SHA-1 as its `large_file_sha1` file info.
    records_large_file_sha1 = True
    max_info_entries = MAX_INFO_ENTRIES

    def __init__(
        self,
        access_key_id: str | None = None,
        access_key: str | None = None,
        bucket: str | None = None,
        max_pool_connections: int = 10,
        max_attempts: int | None = None,
        read_timeout: float = 60.0,
        download_url: str | None = None,
        stream: bool = True,
        *,
        api_url: str = DEFAULT_API_URL,
        max_connections: int | None = None,
        retry_mode: RetryMode | None = None,
        connect_timeout: float = 10.0,
        verify: bool | str = True,
        pool_manager: urllib3.PoolManager | None = None,
        transport: Transport | None = None,
        backoff_base: float = 1.0,
        max_backoff: float = 20.0,
        user_agent: str | None = None,
    ) -> None:
        """Open a session (nothing is sent until the first call).

        Positional arguments follow s3func's order: `(access_key_id, access_key, bucket,
        max_pool_connections, max_attempts, read_timeout, download_url, stream)`; the rest are
        keyword-only. Every argument is checked here, so a value in the wrong position fails
        now.

        `access_key_id`, `access_key`: the application key id and key (default
        `B2_APPLICATION_KEY_ID` / `B2_APPLICATION_KEY`). `bucket`: the default bucket of every
        call; without it, a key restricted to one bucket uses that bucket (its authorization
        names it). `api_url`: where b2_authorize_account is (default Backblaze's).
        `download_url`: another download host (a CDN or proxy) instead of the one the
        authorization gives.

        `max_pool_connections` (s3func's `max_connections` too): connections kept per host;
        `connect_timeout`, `read_timeout`: seconds; `verify`: False, True or a CA bundle path.
        `max_attempts`, `retry_mode` ('standard' or 'adaptive'; default from `AWS_MAX_ATTEMPTS` /
        `AWS_RETRY_MODE`, then 5 and 'standard'), `backoff_base`, `max_backoff`: retries
        (full-jitter exponential backoff, in seconds). `stream`: whether `get_object` streams
        by default. `pool_manager`: a urllib3 PoolManager to share; `transport`: a whole
        `Transport` to share (then the connection and retry arguments are unused).
        `user_agent`: the User-Agent header (default `s3lite/<version>`).
        """
        max_pool_connections = self._configure(
            access_key_id, access_key, bucket, max_pool_connections, max_attempts, read_timeout,
            download_url, stream, api_url=api_url, max_connections=max_connections,
            retry_mode=retry_mode, connect_timeout=connect_timeout,
        )  # fmt: skip
        if transport is None:
            transport = Transport(
                max_pool_connections=max_pool_connections,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                verify=verify,
                retry=retry_policy(max_attempts, retry_mode, backoff_base, max_backoff),
                pool_manager=pool_manager,
                user_agent=user_agent,
            )
        self.transport = transport

    # --- locks ---------------------------------------------------------------------------------
    def lock(
        self,
        key: str,
        lock_id: str | None = None,
        *,
        ttl: float = 60.0,
        prefix: str | None = None,
        protocol: LockProtocol = "auto",
        exclusive: bool = True,
        bucket: str | None = None,
        heartbeat: float | None = None,
        clock_skew: float = 5.0,
    ) -> DistributedLock:
        """A distributed lock named `key`, kept in files under `prefix` (default
        ``"<key>.lock/"``), with `threading.Lock`'s methods; see `s3lite.lock`. B2 has no
        conditional writes: 'auto' means the two-object sequential protocol.

        `protocol`: 'auto' or 'sequential' ('conditional' is refused on B2). `ttl`: seconds a holder
        keeps the lock without renewing it; `exclusive`: False for a shared (reader) lock; `bucket`:
        where the lock files live (default the session's); `heartbeat`: seconds between renewals
        (default `ttl` / 3); `clock_skew`: seconds of clock difference between hosts to
        tolerate. `lock_id`: re-attach to the entries of an existing lock id (`ValueError` if
        none).
        """
        from .lock import DistributedLock

        return DistributedLock(
            self, key, ttl=ttl, prefix=prefix, protocol=protocol, exclusive=exclusive,
            bucket=bucket, heartbeat=heartbeat, clock_skew=clock_skew, lock_id=lock_id,
        )  # fmt: skip

    def lock_store(self, bucket: str | None = None) -> B2LockStore:
        """Where `lock` keeps its files: `bucket` (default the session's)."""
        from .lock import B2LockStore

        return B2LockStore(self, self._bucket(bucket), self._call, self._bucket_id)

    # --- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the session's pooled connections (the process-wide authorization stays)."""
        self.transport.close()

    def __enter__(self) -> B2Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"B2Session(api_url={self.api_url!r}, bucket={self.bucket!r}, "
            f"access_key_id={self.access_key_id!r})"
        )
