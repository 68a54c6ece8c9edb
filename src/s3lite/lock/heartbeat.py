"""Keeping a held lock alive (the heartbeat thread) and cleaning up after a dropped one."""

from __future__ import annotations

import contextlib
import logging
import os

from .clock import mono
from .decisions import renewal_delay, retry_delay
from .lease import Hold
from .protocol import BaseProtocol
from .steps import drive
from .store import Broken

__all__ = ["finalize", "heartbeat"]

log = logging.getLogger("s3lite.lock")


def heartbeat(hold: Hold, protocol: BaseProtocol, interval: float) -> None:
    """Renew `interval` after each renewal was *sent* (the lease counts from then); each
    attempt is cut after `interval`, and at the lease's end (one answered later would extend
    nothing anyway), so a stalled attempt leaves time for another."""
    delay = renewal_delay(hold.valid_until, hold.ttl, interval, mono())
    while not hold.stop.wait(delay):
        with hold.mutex:
            if hold.stop.is_set():
                return
            try:
                if mono() >= hold.valid_until:
                    raise Broken("the lease ran out before it could be renewed")
                # One attempt may take up to an interval (then another is tried), never
                # beyond the lease: a renewal answered later would extend nothing.
                until = min(hold.valid_until, mono() + interval)
                drive(protocol.renew(hold, until), protocol.store)
                delay = renewal_delay(hold.valid_until, hold.ttl, interval, mono())
            except Broken as exc:
                hold.lost = str(exc)
                log.warning("lock %s lost: %s", protocol.prefix, exc)
                return
            except Exception as exc:
                left = hold.valid_until - mono()
                if left <= 0:
                    hold.lost = f"could not renew the lock within its TTL ({exc})"
                    log.warning("lock %s lost: %s", protocol.prefix, hold.lost)
                    return
                delay = retry_delay(left, interval)
                log.debug(
                    "lock %s: renewal failed, retrying in %.2f s: %r", protocol.prefix, delay, exc
                )


def finalize(hold: Hold, protocol: BaseProtocol) -> None:
    """Best-effort clean-up of a lock dropped (or left held at exit) without release()."""
    if os.getpid() != hold.pid:
        return  # a forked child exiting: the lock is its parent's
    hold.stop.set()
    if not hold.mutex.acquire(timeout=10):
        return
    try:
        with contextlib.suppress(Exception):
            drive(protocol.release(hold), protocol.store)
    finally:
        hold.mutex.release()
