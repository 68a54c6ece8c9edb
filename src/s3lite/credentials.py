"""Credentials and the providers that supply them.

A provider's `get()` returns the credentials to sign the next request with; refreshing
providers renew them before they expire. Secrets never appear in a repr or str.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .errors import NoCredentialsError

__all__ = ["Credentials", "CredentialsProvider", "StaticCredentials"]


@dataclass(frozen=True)
class Credentials:
    """An access key id, its secret, and a session token for temporary credentials."""

    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    #: Unix time after which these credentials no longer work (None: long-term keys).
    expires_at: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.access_key, str) or not self.access_key:
            raise ValueError("access key id must be a non-empty string")
        if not isinstance(self.secret_key, str) or not self.secret_key:
            raise ValueError("secret access key must be a non-empty string")

    def __str__(self) -> str:
        return repr(self)


@runtime_checkable
class CredentialsProvider(Protocol):
    """Anything that hands out current credentials (or None for anonymous access)."""

    def get(self) -> Credentials | None: ...


class StaticCredentials:
    """Credentials fixed at construction (or None: anonymous, unsigned requests)."""

    def __init__(self, credentials: Credentials | None) -> None:
        self._credentials = credentials

    def get(self) -> Credentials | None:
        return self._credentials

    def __repr__(self) -> str:
        return f"StaticCredentials({self._credentials!r})"


class EnvironmentCredentials:
    """AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, read when first needed."""

    def get(self) -> Credentials | None:
        import os

        key = os.environ.get("AWS_ACCESS_KEY_ID")
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
        if not key or not secret:
            return None
        return Credentials(key, secret, os.environ.get("AWS_SESSION_TOKEN") or None)

    def __repr__(self) -> str:
        return "EnvironmentCredentials()"


class ChainProvider:
    """The first provider in a list that has credentials; looked up once, on first use."""

    def __init__(self, providers: list[CredentialsProvider]) -> None:
        self._providers = providers
        self._found: CredentialsProvider | None = None

    def get(self) -> Credentials | None:
        if self._found is None:
            for provider in self._providers:
                if provider.get() is not None:
                    self._found = provider
                    break
            else:
                tried = ", ".join(repr(p) for p in self._providers)
                raise NoCredentialsError(
                    f"no credentials found; tried: {tried}. Pass access_key_id and access_key, "
                    "or anonymous=True for public buckets"
                )
        return self._found.get()

    def __repr__(self) -> str:
        return f"ChainProvider({self._providers!r})"


def default_provider() -> CredentialsProvider:
    """The chain a session without explicit keys uses."""
    return ChainProvider([EnvironmentCredentials()])
