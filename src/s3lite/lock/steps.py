"""Protocol steps without I/O: generators that yield store actions, and their sync driver.

A protocol step (acquire, renew, release, ...) is a generator. It yields an `Act` -- one
`LockStore` method to run, bounded by a lease's end -- or a `Sleep`, and is resumed with the
method's result (None for a sleep) or has its exception thrown into it; it returns the
step's result. `drive` runs a step on a synchronous store; an asyncio driver runs the same
generators on a store whose methods are coroutines, awaiting each action instead.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any, Literal, TypeVar

from ..errors import ClientError, TransportError
from .clock import jitter, sleep, within
from .store import LockStore, transient

__all__ = ["Act", "Action", "Sleep", "Step", "StoreMethod", "drive", "retried"]

T = TypeVar("T")

#: The `LockStore` methods a step may ask for.
StoreMethod = Literal[
    "put",
    "get",
    "delete",
    "listing",
    "replace",
    "delete_own",
    "delete_listed",
    "breakable",
    "sweep",
    "is_current",
]


class Act:
    """Run `store.<method>(*args, **kwargs)`, every request of it ending by `until` (a
    monotonic time: an answer that would come later is worth nothing to the lease)."""

    __slots__ = ("args", "kwargs", "method", "until")

    def __init__(
        self, method: StoreMethod, *args: Any, until: float = math.inf, **kwargs: Any
    ) -> None:
        self.method = method
        self.args = args
        self.kwargs = kwargs
        self.until = until

    def __repr__(self) -> str:
        return f"Act({self.method!r}, {self.args!r}, until={self.until})"


class Sleep:
    """Pause `seconds` (nothing if not positive)."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __repr__(self) -> str:
        return f"Sleep({self.seconds:.3f})"


Action = Act | Sleep
#: A generator yielding Actions, resumed with their results, returning a result.
Step = Generator[Action, Any, T]


def drive(step: Step[T], store: LockStore) -> T:
    """Run `step` to its result on `store` (the sync driver). Any exception of an action --
    an interrupt included -- is thrown into the step, which may withdraw and re-raise."""
    try:
        action = next(step)
        while True:
            try:
                if isinstance(action, Sleep):
                    sleep(action.seconds)
                    result = None
                else:
                    with within(action.until):
                        result = getattr(store, action.method)(*action.args, **action.kwargs)
            except BaseException as exc:  # the step decides
                action = step.throw(exc)
            else:
                action = step.send(result)
    except StopIteration as stop:
        value: T = stop.value
        return value


def retried(action: Act, attempts: int = 4) -> Step[Any]:
    """Run `action`, again after transient errors (on top of the transport's own retries)."""
    delay = 0.05
    for attempt in range(attempts):
        try:
            return (yield action)
        except (ClientError, TransportError) as exc:
            if attempt and not transient(exc):
                # an earlier call may have landed: say so to `after_retry`
                setattr(exc, "attempts", max(getattr(exc, "attempts", 1), 2))  # noqa: B010
            if not transient(exc) or attempt == attempts - 1:
                raise
            yield Sleep(jitter(delay))
            delay *= 2
    raise AssertionError("unreachable")
