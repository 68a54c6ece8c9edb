"""Batch deletes on either backend: the keys asked for, and what was and was not deleted."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from .errors import S3LiteError

__all__ = ["DeleteObjectsError", "DeleteResult", "delete_entries"]


class DeleteResult:
    """What delete_objects did: the keys deleted and the per-key errors."""

    __slots__ = ("cause", "deleted", "errors")

    def __init__(self) -> None:
        self.deleted: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        #: The first batch failure that was not per key (the DeleteObjectsError's cause).
        self.cause: BaseException | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def __repr__(self) -> str:
        return f"DeleteResult(deleted={len(self.deleted)}, errors={self.errors!r})"

    def fail_batch(self, batch: Iterable[tuple[str, str | None]], exc: BaseException) -> None:
        """Record that a whole batch failed with `exc` (every key in it is an error)."""
        if self.cause is None:
            self.cause = exc
        code = getattr(exc, "code", None) or type(exc).__name__
        message = getattr(exc, "message", None) or str(exc)
        self.errors.extend(
            {"key": k, "version_id": v, "code": code, "message": message} for k, v in batch
        )

    def raise_errors(self) -> DeleteResult:
        """Raise `DeleteObjectsError` naming the failed keys, if any failed; else self."""
        if self.errors:
            raise DeleteObjectsError(self) from self.cause
        return self


class DeleteObjectsError(S3LiteError):
    """delete_objects could not delete some keys; every batch was still attempted.

    `result` is the `DeleteResult` (what was deleted, and each failure with its code).
    """

    def __init__(self, result: DeleteResult) -> None:
        self.result = result
        errors = result.errors
        shown = ", ".join(
            f"{e.get('key')!r} ({e.get('code')}: {e.get('message')})" for e in errors[:5]
        )
        more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"could not delete {len(errors)} key(s): {shown}{more}")


def delete_entries(
    keys: Iterable[str | tuple[str, str | None] | Mapping[str, Any]] | None,
    validate: Callable[[str], str],
) -> Iterator[tuple[str, str | None]]:
    """delete_objects' keys as (key, version id): strings, pairs, or dicts with `key`, each
    checked by the backend's `validate`."""
    if isinstance(keys, (str, bytes)) or keys is None:
        raise TypeError("keys must be an iterable of keys, not a single string")
    for entry in keys:
        if isinstance(entry, str):
            yield validate(entry), None
        elif isinstance(entry, Mapping):
            if "key" not in entry:
                raise ValueError(f"a dict in keys needs a 'key': {entry!r}")
            yield validate(entry["key"]), entry.get("version_id") or None
        else:
            key, version = entry
            yield validate(key), version
