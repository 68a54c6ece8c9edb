"""`s3lite lock URL -- COMMAND`: run a command while holding a distributed lock, and stop it
before the lock's lease could end."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from .cli_errors import EXIT_CONFLICT, EXIT_FAILURE, CLIError, describe, usage_error
from .cli_listing import refuse_wildcard
from .cli_locations import Location, about, remote_location
from .errors import LockLost, S3LiteError

if TYPE_CHECKING:
    import argparse

    from .cli_context import Context

__all__ = ["KILL_GRACE", "cmd_lock"]


def cmd_lock(ctx: Context, args: argparse.Namespace) -> int:
    loc = remote_location(args.url, need_key=True)
    refuse_wildcard(ctx, loc, "lock (one lock key)")
    command = list(args.cmd)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise usage_error("name the command to run: s3lite lock URL -- COMMAND [ARGS...]")
    ctx.stdout_is_data = True  # stdout belongs to the command; messages go to stderr
    session = ctx.session(loc.scheme)
    with about(loc.with_key("")):
        lock = _make_lock(session, loc, args)
        if not lock.acquire(blocking=False):
            if args.timeout == 0:
                raise CLIError(f"lock {loc} is held by someone else", EXIT_CONFLICT)
            ctx.status(f"waiting for lock {loc} ...")
            timeout = -1 if args.timeout is None else args.timeout
            if not lock.acquire(timeout=timeout):
                raise CLIError(
                    f"lock {loc} is still held by someone else after {args.timeout:g} s",
                    EXIT_CONFLICT,
                )
    stopped, why = False, None
    try:
        code, stopped = _run_holding(lock, command)
    finally:
        try:
            if stopped:  # lost, the server perhaps silent: clean up briefly, objects expire
                import time

                from .transport import request_deadline

                with request_deadline(time.monotonic() + min(KILL_GRACE, lock.ttl / 4)):
                    lock.release()
            else:
                lock.release()
        except LockLost as exc:
            why = str(exc).split(": ", 1)[-1]  # "lock 'k' was lost before release: <why>"
        except S3LiteError as exc:
            ctx.warn(
                f"warning: could not release lock {loc} ({describe(exc)}): it expires by itself"
            )
    if stopped or why is not None:
        why = why or "it could not be renewed in time, or another client broke it"
        then = "; the command was stopped" if stopped else ""
        raise CLIError(f"lock {loc} was lost while the command ran ({why}){then}", EXIT_FAILURE)
    return code


def _make_lock(session: Any, loc: Location, args: argparse.Namespace) -> Any:
    options: dict[str, Any] = {"bucket": loc.bucket, "exclusive": not args.shared}
    if args.ttl is not None:
        options["ttl"] = args.ttl
    make = getattr(session, "lock", None)
    if make is not None:
        return make(loc.key, **options)
    from .lock import DistributedLock

    return DistributedLock(session, loc.key, **options)


#: Longest wait between SIGTERM and SIGKILL when `s3lite lock` stops its command; a quarter of
#: the TTL when that is shorter, so that SIGKILL comes no later than the lease's end.
KILL_GRACE = 10.0


def _run_holding(lock: Any, command: list[str]) -> tuple[int, bool]:
    """Run `command` while `lock` is held (its heartbeat renews it). Stops the command --
    SIGTERM, then SIGKILL after a grace period (`KILL_GRACE`, at most a quarter of the TTL) --
    once the lease has less than that grace left without a renewal, so that it is killed no
    later than the lease's end whatever the server does; or at once if the lock was lost
    (broken by another client, found by `verify()` every few seconds, never waited on).
    SIGTERM and SIGHUP are passed on to the command; Ctrl-C reaches it from the terminal
    directly. Returns the command's exit code (128+N if killed by signal N) and whether it
    was stopped because the lock was (about to be) lost."""
    import signal
    import subprocess

    try:
        proc = subprocess.Popen(command)
    except FileNotFoundError:
        raise CLIError(f"command not found: {command[0]}", 127) from None
    except PermissionError:
        raise CLIError(f"cannot run {command[0]}: permission denied", 126) from None

    def forward(signum: int, _frame: Any) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    def ignore(_signum: int, _frame: Any) -> None:
        pass  # the command got the Ctrl-C too; the lock is released when it exits

    done = threading.Event()

    def check() -> None:
        """Ask the server now and then; a lock found lost shows in `time_left()`."""
        interval = max(0.1, min(lock.heartbeat / 2, 5.0))
        while not done.wait(interval):
            with contextlib.suppress(S3LiteError):
                if not lock.verify():
                    return

    handlers = {signal.SIGINT: ignore, signal.SIGTERM: forward}
    if hasattr(signal, "SIGHUP"):
        handlers[signal.SIGHUP] = forward
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    checker = threading.Thread(target=check, name="s3lite-lock-verify", daemon=True)
    checker.start()
    stopped = False
    grace = min(KILL_GRACE, lock.ttl / 4)
    tick = max(0.02, min(0.25, lock.ttl / 40))
    try:
        while True:
            left = lock.time_left()
            if left <= grace:
                break
            try:
                code = proc.wait(timeout=min(tick, left - grace))
                return (128 - code if code < 0 else code), stopped
            except subprocess.TimeoutExpired:
                pass
        if proc.poll() is not None:
            code = proc.returncode
            return (128 - code if code < 0 else code), stopped
        stopped = True
        proc.terminate()
        # SIGKILL at the lease's end -- or, for a lock already lost, after the grace period
        wait = left if left > 0 else grace
        try:
            code = proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    finally:
        done.set()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return (128 - code if code < 0 else code), stopped
