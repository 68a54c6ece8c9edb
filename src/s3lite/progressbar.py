"""A one-line progress bar for the command line: bytes, percentage, rate and ETA.

Thread-safe (transfers report from many threads), redrawn at most every `interval` seconds,
shown only after `delay` seconds (quick transfers never flash a bar), and only on a terminal.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["ProgressBar", "format_duration", "human_size"]

_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(nbytes: float) -> str:
    """`512 B`, `1.5 KiB`, `12.0 MiB`, ..."""
    if nbytes < 1024:
        return f"{int(nbytes)} B"
    value = float(nbytes)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """`0:07`, `12:34`, `1:02:03`."""
    seconds = max(0, int(seconds + 0.5))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """Progress of a transfer (or of several, summed) drawn on one line of `stream`.

    `update(n)` adds bytes; `tracker()` gives a `progress(done, total)` callback for
    `upload_file`/`download_file`, which report running totals per transfer. `clear()`
    erases the line (before printing something else on the terminal), `close()` at the end.
    Nothing is drawn when `stream` is not a terminal (or `enabled=False`).
    """

    def __init__(
        self,
        total: int | None = None,
        label: str = "",
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        interval: float = 0.1,
        delay: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        width: int | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            try:
                enabled = self.stream.isatty()
            except (AttributeError, ValueError):
                enabled = False
        self.enabled = enabled
        self.total = total
        self.label = label
        self.done = 0
        self._interval = interval
        self._delay = delay
        self._clock = clock
        self._width = width
        self._start = clock()
        self._last_draw: float | None = None
        self._drawn = 0  # characters on the line now
        self._lock = threading.Lock()

    # --- counting ------------------------------------------------------------------------------
    def update(self, nbytes: int, *, force: bool = False) -> None:
        """Add `nbytes` done; redraw if the last drawing is old enough."""
        with self._lock:
            self.done += nbytes
            self._maybe_draw(force)

    def set_label(self, label: str) -> None:
        with self._lock:
            self.label = label

    def tracker(self, *, adopt_total: bool = False) -> Callable[[int, int | None], None]:
        """A `progress(done, total)` callback for one transfer, turning its running count into
        increments of this bar. With `adopt_total`, the transfer's total becomes the bar's
        (for a bar of a single transfer whose size was not known in advance)."""
        last = 0

        def progress(done: int, total: int | None) -> None:
            nonlocal last
            if adopt_total and total is not None and self.total is None:
                self.total = total
            delta, last = done - last, done
            if delta:
                self.update(delta)

        return progress

    # --- drawing -------------------------------------------------------------------------------
    def render(self, now: float | None = None) -> str:
        """The text of the bar (without control characters), fitted to the width."""
        now = self._clock() if now is None else now
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        width = self._width or shutil.get_terminal_size((80, 24)).columns
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            eta = (self.total - self.done) / rate if rate > 0 else None
            numbers = (
                f" {fraction * 100:3.0f}%  {human_size(self.done)} / {human_size(self.total)}"
                f"  {human_size(rate)}/s  ETA {format_duration(eta) if eta is not None else '-:--'}"
            )
        else:
            fraction = None
            numbers = f"  {human_size(self.done)}  {human_size(rate)}/s  {format_duration(elapsed)}"
        room = width - 1 - len(numbers)  # keep the last column free: no line wrap
        label = self.label
        bar = ""
        if fraction is not None and room >= 24:
            size = min(30, room - 12)
            filled = int(fraction * size)
            bar = " [" + "#" * filled + "-" * (size - filled) + "]"
            room -= len(bar)
        if len(label) > room:
            label = "..." + label[-(room - 3) :] if room > 3 else ""
        return f"{label}{bar}{numbers}"[: max(width - 1, 0)]

    def _maybe_draw(self, force: bool) -> None:
        if not self.enabled:
            return
        now = self._clock()
        if not force:
            if now - self._start < self._delay:
                return
            if self._last_draw is not None and now - self._last_draw < self._interval:
                return
        self._last_draw = now
        text = self.render(now)
        padding = " " * max(self._drawn - len(text), 0)
        try:
            self.stream.write("\r" + text + padding)
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False
            return
        self._drawn = len(text)

    def clear(self) -> None:
        """Erase the bar (it comes back on the next update)."""
        with self._lock:
            self._erase()

    def _erase(self) -> None:
        if self._drawn:
            try:
                self.stream.write("\r" + " " * self._drawn + "\r")
                self.stream.flush()
            except (OSError, ValueError):
                self.enabled = False
            self._drawn = 0

    def close(self) -> None:
        """Erase the bar for good."""
        with self._lock:
            self._erase()
            self.enabled = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
