"""Credentials for signing on an event loop: a provider's `get()` may read files, run a
process or call HTTP (the AWS chain), so the async sessions fetch through it on a worker
thread (`await ensure()`) and sign with what was fetched, never blocking the loop. Static
credentials are read directly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ..credentials_base import Credentials, CredentialsProvider, StaticCredentials

__all__ = ["LoopCredentials"]

#: Temporary credentials are fetched again (on a thread) once they have less than this left;
#: the provider then decides whether to renew them (its own advisory window is as long).
REFETCH_BEFORE = 15 * 60.0
#: The shortest pause between two fetches that the provider answered with the same
#: credentials, or with none (it is renewing on its own schedule, or has none to give).
REFETCH_INTERVAL = 1.0


class LoopCredentials:
    """A provider for signers that run on an event loop: `get()` hands out the credentials
    last fetched; `await ensure()` before sending fetches them off the loop when they may
    need a refresh (first use, or temporary credentials near their expiry)."""

    #: Renew after the service called the credentials expired (only when the provider can).
    refresh: Callable[[], None]

    def __init__(self, provider: CredentialsProvider) -> None:
        self.provider = provider
        if callable(getattr(provider, "refresh", None)):
            self.refresh = self._refresh
        self._static = isinstance(provider, StaticCredentials)
        self._credentials: Credentials | None = provider.get() if self._static else None
        self._fetched = self._static
        self._next_fetch = float("inf") if self._static else 0.0  # time.monotonic()
        self._fetching: asyncio.Lock | None = None

    @property
    def stale(self) -> bool:
        """Whether `ensure` has to fetch (cheap: the hot path asks this before awaiting)."""
        return time.monotonic() >= self._next_fetch

    async def ensure(self) -> None:
        """Fetch the credentials on a worker thread if they may need a refresh; one fetch at
        a time, the other tasks wait for it."""
        if not self.stale:
            return
        if self._fetching is None:
            self._fetching = asyncio.Lock()
        async with self._fetching:
            if self.stale:
                self._store(await asyncio.to_thread(self.provider.get))

    def _store(self, creds: Credentials | None) -> None:
        self._credentials = creds
        self._fetched = True
        now = time.monotonic()
        if creds is None:
            self._next_fetch = now + REFETCH_INTERVAL
        elif creds.expires_at is None:
            self._next_fetch = float("inf")
        else:
            left = creds.expires_at - time.time()
            self._next_fetch = now + max(REFETCH_INTERVAL, left - REFETCH_BEFORE)

    def get(self) -> Credentials | None:
        """The credentials to sign with: those fetched by `ensure` (before it ever ran, the
        provider is asked directly, as a sync signer would)."""
        if not self._fetched:
            self._store(self.provider.get())
        return self._credentials

    def _refresh(self) -> None:
        """Renew after the service called the credentials expired: the provider's `refresh`,
        then a fetch (called on a worker thread by the async transport)."""
        refresh = getattr(self.provider, "refresh", None)
        if callable(refresh):
            refresh()
        self._store(self.provider.get())

    def __repr__(self) -> str:
        return f"LoopCredentials({self.provider!r})"
