"""Bounded worker pools for the command line: many small requests at once, on the one
connection pool of a session (sized to `--jobs` by `commands.Context`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

__all__ = ["BATCH", "delete_keys", "run_pool"]

T = TypeVar("T")
R = TypeVar("R")

#: keys per DeleteObjects request (the S3 limit)
BATCH = 1000
#: the fewest keys per DeleteObjects request when the keys are spread over the workers
MIN_BATCH = 100


def run_pool(func: Callable[[T], R], items: Sequence[T], jobs: int) -> list[R]:
    """`func` over `items` on at most `jobs` threads; results in order; the first error is
    raised once every started call has finished."""
    if len(items) <= 1 or jobs <= 1:
        return [func(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(jobs, len(items)), thread_name_prefix="s3lite-cli") as pool:
        return list(pool.map(func, items))


def delete_keys(session: Any, bucket: str, keys: Iterable[str], jobs: int) -> Any:
    """Delete keys with DeleteObjects, in batches of up to 1000 sent in parallel (B2, which has no
    batch delete, deletes in parallel on its own); per-key failures are in `.errors`."""
    keys = list(keys)
    # Enough batches to keep every worker busy (servers work through one batch key by key),
    # but never more than 1000 keys, nor fewer than MIN_BATCH, in one request.
    size = min(BATCH, max(MIN_BATCH, -(-len(keys) // max(jobs, 1))))
    if len(keys) <= size:
        return session.delete_objects(keys, bucket=bucket, raise_errors=False)
    from .deletes import DeleteResult

    batches = [keys[i : i + size] for i in range(0, len(keys), size)]
    results = run_pool(
        lambda batch: session.delete_objects(batch, bucket=bucket, raise_errors=False),
        batches,
        jobs,
    )
    total = DeleteResult()
    for result in results:
        total.deleted.extend(result.deleted)
        total.errors.extend(result.errors)
    return total
