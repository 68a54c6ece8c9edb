"""`Context`: the sessions, output and progress bar of one command, and the way it prints
times."""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

from .cli_locations import Location
from .progressbar import ProgressBar

if TYPE_CHECKING:
    import argparse

__all__ = ["DEFAULT_JOBS", "Context", "iso_time", "local_time"]

#: Objects transferred at the same time by default: sized for many small objects, whose
#: time is mostly round trips.
DEFAULT_JOBS = 16


class Context:
    """Sessions (one per scheme, made on first use), output and progress for one command."""

    def __init__(self, args: argparse.Namespace, shared: Context | None = None) -> None:
        self.args = args
        self.quiet = bool(getattr(args, "quiet", False) or getattr(args, "only_errors", False))
        self.show_progress = not getattr(args, "no_progress", False)
        self.json: bool = bool(getattr(args, "json", False))
        self.stdout = sys.stdout
        self.stderr = sys.stderr
        #: stdout carries object data (cat, head, cp to -): status lines go to stderr.
        self.stdout_is_data = False
        self.bar: ProgressBar | None = None
        #: set on Ctrl-C: transfers running in other threads stop at their next progress report
        self.cancelled = threading.Event()
        #: parts in flight per large file: fewer when many files run at once (memory bound)
        self.part_jobs = 8
        #: connections per session, if not --jobs
        self.pool_size: int | None = None
        self._sessions: dict[str, Any] = {}
        self._lock = threading.Lock()
        #: `run`: the sessions (and connection pools) of the batch, shared by every line
        self._shared = shared
        self._print_lock = threading.Lock()

    # sessions
    def session(self, scheme: str) -> Any:
        if self._shared is not None:
            return self._shared.session(scheme)
        with self._lock:
            session = self._sessions.get(scheme)
            if session is None:
                session = self._sessions[scheme] = self._make_session(scheme)
            return session

    def _make_session(self, scheme: str) -> Any:
        args = self.args
        verify = not getattr(args, "no_verify_ssl", False)
        if not verify:
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        # one pool for all workers (`run` sizes it for its lines' workers too)
        pool = self.pool_size or max(10, getattr(args, "jobs", None) or DEFAULT_JOBS)
        if scheme == "b2":
            from .b2 import DEFAULT_API_URL, B2Session

            api_url = getattr(args, "b2_api_url", None) or os.environ.get("B2_API_URL")
            return B2Session(
                api_url=api_url or DEFAULT_API_URL, verify=verify, max_pool_connections=pool
            )
        from .s3 import S3Session

        return S3Session(
            endpoint_url=getattr(args, "endpoint_url", None),
            region=getattr(args, "region", None),
            profile=getattr(args, "profile", None),
            verify=verify,
            max_pool_connections=pool,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    # output
    def emit(self, doc: dict[str, Any]) -> None:
        """One JSON document (or one line of a JSON Lines listing) on stdout."""
        self.stdout.write(json.dumps(doc, default=_json_default, ensure_ascii=False) + "\n")

    def line(self, text: str) -> None:
        """A line of the command's output (listings, URLs): printed even with --quiet."""
        with self._print_lock:
            if self.bar is not None:
                self.bar.clear()
            self.stdout.write(text + "\n")

    def status(self, text: str) -> None:
        """A progress message (what was copied, deleted...): not with --quiet or --json."""
        if self.quiet or self.json:
            return
        stream = self.stderr if self.stdout_is_data else self.stdout
        with self._print_lock:
            if self.bar is not None:
                self.bar.clear()
            stream.write(text + "\n")
            stream.flush()

    def warn(self, text: str) -> None:
        with self._print_lock:
            if self.bar is not None:
                self.bar.clear()
            self.stdout.flush()
            self.stderr.write(f"s3lite: {text}\n")
            self.stderr.flush()

    def progress(self, total: int | None, label: str = "") -> ProgressBar | None:
        """A progress bar on stderr, if stderr is a terminal and not --quiet."""
        if self.quiet or not self.show_progress:
            return None
        bar = ProgressBar(total, label, stream=self.stderr)
        if not bar.enabled:
            return None
        self.bar = bar
        return bar

    def done_progress(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return iso_time(value)
    if isinstance(value, Location):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def iso_time(value: _dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(_dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{value.microsecond // 1000:03d}Z" if value.microsecond else "Z"
    )


def local_time(value: _dt.datetime | None) -> str:
    if value is None:
        return " " * 19
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
