"""Progress reporting for transfers: thread-safe, at most ~10 calls a second."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["ProgressCallback", "ProgressReporter"]

#: Called with (bytes done, total bytes or None when the total is unknown).
ProgressCallback = Callable[[int, int | None], object]


class ProgressReporter:
    """Counts bytes from many threads and calls `callback` at most every `interval` seconds,
    and once more at the end (`finish`)."""

    def __init__(
        self, callback: ProgressCallback | None, total: int | None, interval: float = 0.1
    ) -> None:
        self._callback = callback
        self.total = total
        self.done = 0
        self._interval = interval
        self._last = 0.0
        self._lock = threading.Lock()

    def add(self, nbytes: int) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        with self._lock:
            self.done += nbytes
            if now - self._last < self._interval:
                return
            self._last = now
            done = self.done
        self._callback(done, self.total)

    def set_total(self, total: int | None) -> None:
        self.total = total

    def finish(self) -> None:
        """Report the final count (always delivered, whatever the throttle)."""
        if self._callback is not None:
            with self._lock:
                done = self.done
            self._callback(done, self.total if self.total is not None else done)
