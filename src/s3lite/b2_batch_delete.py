"""`delete_objects` on B2, which has no batch delete: many single deletes, in parallel.

Each key is one operation (`delete_entry`: hide it, delete one version, or every version);
the driver runs up to `max_pool_connections` of them at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .b2_calls import B2Context
from .b2_objects import B2ObjectsMixin, delete_file_version, file_version_ids, hide_file
from .b2_requests import validate_key
from .errors import ClientError, NoSuchKey, TransportError
from .operation import Operation

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from .deletes import DeleteResult

__all__ = ["B2BatchDeleteMixin", "delete_entry"]

Deleted = list[dict[str, Any]]


def delete_entry(
    ctx: B2Context, bucket: str, key: str, version: str | None, purge: bool
) -> Operation[Deleted]:
    """Delete one entry of a batch: one version, every version of `key` (`purge`), or hide
    it (not `purge`); the entries deleted, as `DeleteResult.deleted` lists them."""
    if version is None and not purge:
        try:
            hidden = yield from hide_file(ctx, bucket, key)
        except NoSuchKey:
            return [{"key": key, "version_id": None, "delete_marker": False}]
        return [{"key": key, "version_id": hidden.version_id, "delete_marker": True}]
    if version is not None:
        yield from delete_file_version(ctx, key, version)
        return [{"key": key, "version_id": version, "delete_marker": False}]
    done = []
    for vid in (yield from file_version_ids(ctx, bucket, key)):
        if (yield from delete_file_version(ctx, key, vid)):
            done.append({"key": key, "version_id": vid, "delete_marker": False})
    return done or [{"key": key, "version_id": None, "delete_marker": False}]


class B2BatchDeleteMixin(B2ObjectsMixin):
    """`delete_objects` of `B2Session`."""

    def delete_objects(
        self,
        keys: Iterable[str | tuple[str, str | None] | Mapping[str, Any]] | None = None,
        prefix: str | None = None,
        purge: bool = True,
        *,
        bucket: str | None = None,
        raise_errors: bool = True,
    ) -> DeleteResult:
        """Delete many files in parallel.

        - `keys`: strings, `(key, version_id)` pairs or dicts with `key` (and `version_id`),
          such as listing items. Exclusive with `prefix`.
        - `prefix`: every file under it (`''`: the whole bucket).
        - `purge` (default True, as B2's `delete_object`): every version, hide markers
          included, of each key given without a version. False hides the names instead
          (b2_hide_file, B2's delete marker): the versions stay, recoverable.
        - `bucket`: default the session's.
        - `raise_errors`: every key is attempted, then `DeleteObjectsError` names the keys
          that failed; with False they are only reported in `DeleteResult.errors`.

        B2 has no batch delete: each version is one b2_delete_file_version, up to
        `max_pool_connections` at a time. `deleted` lists each version deleted (a key that
        had none is reported once, without a version id).
        """
        from .deletes import DeleteResult, delete_entries

        if (keys is None) == (prefix is None):
            raise ValueError("pass either keys or prefix")
        bucket = self._bucket(bucket)
        source: Iterable[tuple[str, str | None]]
        if prefix is not None:
            if not isinstance(prefix, str):
                raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
            source = (
                ((item["key"], item["version_id"]) for item in self.list_object_versions(
                    prefix, bucket=bucket))
                if purge
                else ((item["key"], None) for item in self.list_objects(prefix, bucket=bucket))
            )  # fmt: skip
        else:
            source = delete_entries(keys, validate_key)
        result = DeleteResult()
        workers = max(1, min(16, self.transport.max_pool_connections))
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers, thread_name_prefix="s3lite-b2-delete") as pool:
            batch: list[tuple[str, str | None]] = []
            for entry in source:
                batch.append(entry)
                if len(batch) == 1000:
                    self._delete_batch(pool, bucket, batch, result, purge)
                    batch = []
            if batch:
                self._delete_batch(pool, bucket, batch, result, purge)
        return result.raise_errors() if raise_errors else result

    def _delete_batch(
        self,
        pool: Executor,
        bucket: str,
        batch: list[tuple[str, str | None]],
        result: DeleteResult,
        purge: bool = True,
    ) -> None:
        def one(entry: tuple[str, str | None]) -> tuple[Deleted, dict[str, Any] | None]:
            key, version = entry
            try:
                return self.run(delete_entry(self._context(), bucket, key, version, purge)), None
            except (ClientError, TransportError) as exc:
                code = getattr(exc, "code", None) or type(exc).__name__
                message = getattr(exc, "message", None) or str(exc)
                return [], {"key": key, "version_id": version, "code": code,
                            "message": message}  # fmt: skip

        for deleted, error in pool.map(one, batch):
            result.deleted.extend(deleted)
            if error is not None:
                result.errors.append(error)
