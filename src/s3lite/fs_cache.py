"""`ReadAheadOrExactCache`: the block cache of files opened for reading through s3lite.fs,
registered with fsspec under its name on import."""

from __future__ import annotations

from collections.abc import Callable

from fsspec.caching import BaseCache, register_cache  # type: ignore[import-untyped]

__all__ = ["ReadAheadOrExactCache"]


class ReadAheadOrExactCache(BaseCache):  # type: ignore[misc]
    """fsspec's read-ahead cache, except that a read of a block or more fetches just what was
    asked: small sequential reads (CSV, JSON) get a block ahead, while the large coalesced reads
    of pyarrow and Dask do not drag an unused block along."""

    name = "readahead-or-exact"

    def __init__(self, blocksize: int, fetcher: Callable[[int, int], bytes], size: int) -> None:
        super().__init__(blocksize, fetcher, size)
        self.cache = b""
        self.start = 0
        self.end = 0

    def _fetch(self, start: int | None, end: int | None) -> bytes:
        start = 0 if start is None else start
        end = self.size if end is None or end > self.size else end
        if start >= self.size or start >= end:
            return b""
        if self.start <= start and end <= self.end:
            self.hit_count += 1
            return self.cache[start - self.start : end - self.start]
        head = b""
        if self.start <= start < self.end:  # the start is cached: keep it, fetch the rest
            head = self.cache[start - self.start :]
            start = self.end
        self.miss_count += 1
        stop = min(self.size, max(end, start + self.blocksize))
        self.cache = self.fetcher(start, stop)
        self.total_requested_bytes += stop - start
        self.start, self.end = start, start + len(self.cache)
        return head + self.cache[: end - start]


register_cache(ReadAheadOrExactCache, clobber=True)
