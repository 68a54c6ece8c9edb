"""The credential types every source builds on: `Credentials`, the `CredentialsProvider`
protocol, fixed and environment credentials, and `RefreshingCredentials` (temporary ones that
renew themselves); also the reading of the JSON documents credential sources answer with.

A leaf module: the signers import the provider protocol from here without loading the
sources that call STS through a signer.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import NoCredentialsError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "CredentialSourceError",
    "Credentials",
    "CredentialsProvider",
    "EnvironmentCredentials",
    "RefreshingCredentials",
    "StaticCredentials",
    "b2_credentials_from_env",
    "credentials_from_document",
    "json_document",
]

log = logging.getLogger("s3lite.credentials")


class CredentialSourceError(NoCredentialsError):
    """A credential source is configured but broken: a malformed profile, a failing
    `credential_process`, an STS error, a metadata endpoint that answers nonsense.

    The message names the source and what is wrong, never a secret.
    """


class Credentials:
    """An access key id, its secret, and a session token for temporary credentials.

    Immutable; the secret and the token never appear in its repr or str.
    """

    __slots__ = ("access_key", "expires_at", "secret_key", "token")

    access_key: str
    secret_key: str
    token: str | None
    #: Unix time after which these credentials no longer work (None: long-term keys).
    expires_at: float | None

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        token: str | None = None,
        expires_at: float | None = None,
    ) -> None:
        if not isinstance(access_key, str) or not access_key:
            raise ValueError("access key id must be a non-empty string")
        if not isinstance(secret_key, str) or not secret_key:
            raise ValueError("secret access key must be a non-empty string")
        set_ = object.__setattr__
        set_(self, "access_key", access_key)
        set_(self, "secret_key", secret_key)
        set_(self, "token", token)
        set_(self, "expires_at", expires_at)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Credentials are immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self.access_key, self.secret_key, self.token, self.expires_at) == (
            other.access_key, other.secret_key, other.token, other.expires_at,
        )  # fmt: skip

    def __hash__(self) -> int:
        return hash((self.access_key, self.secret_key, self.token, self.expires_at))

    def __repr__(self) -> str:
        return f"Credentials(access_key={self.access_key!r}, expires_at={self.expires_at!r})"

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
    """AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, read on every `get()`.

    One of the two keys without the other is an error, not "no credentials".
    """

    #: Why the last `get()` found nothing (for the chain's error message).
    unavailable: str | None = None

    def get(self) -> Credentials | None:
        key = os.environ.get("AWS_ACCESS_KEY_ID")
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
        if not key and not secret:
            self.unavailable = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"
            return None
        if not key or not secret:
            present, missing = (
                ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
                if key
                else ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
            )
            raise CredentialSourceError(f"{self!r}: {present} is set but {missing} is not")
        return Credentials(key, secret, os.environ.get("AWS_SESSION_TOKEN") or None)

    def __repr__(self) -> str:
        return "EnvironmentCredentials()"


def b2_credentials_from_env() -> tuple[str, str] | None:
    """(key id, key) from B2_APPLICATION_KEY_ID / B2_APPLICATION_KEY, or None if unset.

    One without the other raises `CredentialSourceError`.
    """
    key_id = os.environ.get("B2_APPLICATION_KEY_ID")
    key = os.environ.get("B2_APPLICATION_KEY")
    if not key_id and not key:
        return None
    if not key_id or not key:
        present, missing = (
            ("B2_APPLICATION_KEY_ID", "B2_APPLICATION_KEY")
            if key_id
            else ("B2_APPLICATION_KEY", "B2_APPLICATION_KEY_ID")
        )
        raise CredentialSourceError(f"{present} is set but {missing} is not")
    return key_id, key


# --- refreshing temporary credentials ---------------------------------------------------------

_FRESH, _ADVISORY, _MANDATORY = 0, 1, 2


class RefreshingCredentials:
    """Temporary credentials that renew themselves before they expire. Thread-safe.

    Subclasses implement `_fetch()`. `get()` hands out the current credentials without
    locking while they have more than `advisory_refresh` seconds left. Inside that advisory
    window one thread refreshes while the others carry on with the still-valid credentials;
    a failed advisory refresh keeps them (logged at DEBUG). Inside the `mandatory_refresh`
    window, or once expired, callers wait for the refresh; if it fails while the current
    credentials still work they are used (logged at WARNING), once they have expired the
    error is raised. After an attempt, the next waits `retry_interval` seconds unless the
    credentials have expired. `refresh()` forces a refresh (after an `ExpiredToken` error).
    """

    #: Seconds before expiry when one thread starts refreshing in the background of others.
    advisory_refresh: float = 15 * 60
    #: Seconds before expiry when every caller waits for fresh credentials.
    mandatory_refresh: float = 2 * 60

    def __init__(
        self, *, advisory_refresh: float | None = None, mandatory_refresh: float | None = None
    ) -> None:
        if advisory_refresh is not None:
            self.advisory_refresh = advisory_refresh
        if mandatory_refresh is not None:
            self.mandatory_refresh = mandatory_refresh
        if not 0 <= self.mandatory_refresh <= self.advisory_refresh:
            raise ValueError("need 0 <= mandatory_refresh <= advisory_refresh")
        self.retry_interval = max(
            0.1, min(30.0, (self.advisory_refresh - self.mandatory_refresh) / 4)
        )
        self._lock = threading.Lock()
        self._credentials: Credentials | None = None
        self._next_attempt = 0.0  # time.monotonic() before which no refresh is attempted
        #: Why the source had no credentials at the last attempt (for the chain's message).
        self.unavailable: str | None = None

    def _fetch(self) -> Credentials | None:
        """Fetch new credentials; None if the source is not configured or not present."""
        raise NotImplementedError

    def _urgency(self, creds: Credentials | None) -> int:
        if creds is None:
            return _MANDATORY
        if creds.expires_at is None:
            return _FRESH
        remaining = creds.expires_at - time.time()
        if remaining <= 0:
            return _MANDATORY
        if remaining > self.advisory_refresh or time.monotonic() < self._next_attempt:
            return _FRESH
        return _ADVISORY if remaining > self.mandatory_refresh else _MANDATORY

    def get(self) -> Credentials | None:
        creds = self._credentials
        urgency = self._urgency(creds)
        if urgency == _FRESH:
            return creds
        if urgency == _ADVISORY:
            if not self._lock.acquire(blocking=False):
                return creds  # another thread is refreshing; these still work
            try:
                if self._urgency(self._credentials) == _ADVISORY:
                    self._refresh_locked(advisory=True)
                return self._credentials
            finally:
                self._lock.release()
        with self._lock:
            urgency = self._urgency(self._credentials)
            if urgency != _FRESH:  # unless another thread refreshed while we waited
                self._refresh_locked(advisory=urgency == _ADVISORY)
            return self._credentials

    def refresh(self) -> None:
        """Fetch new credentials now (the service said the current ones expired).

        Callers that waited while another thread refreshed do not refresh again.
        """
        seen = self._credentials
        with self._lock:
            if self._credentials is not seen:
                return
            try:
                new = self._fetch_checked()
            finally:
                self._next_attempt = time.monotonic() + self.retry_interval
            if new is None:
                raise CredentialSourceError(
                    f"{self!r}: no credentials on refresh ({self.unavailable})"
                )
            self._credentials = new

    def _fetch_checked(self) -> Credentials | None:
        new = self._fetch()
        if new is not None and new.expires_at is not None and new.expires_at <= time.time():
            raise CredentialSourceError(f"{self!r}: the source returned expired credentials")
        return new

    def _refresh_locked(self, *, advisory: bool) -> None:
        old = self._credentials
        try:
            new = self._fetch_checked()
            if new is None and old is not None:
                raise CredentialSourceError(
                    f"{self!r}: the source no longer has credentials ({self.unavailable})"
                )
        except Exception as exc:
            self._next_attempt = time.monotonic() + self.retry_interval
            remaining = (
                None if old is None or old.expires_at is None else old.expires_at - time.time()
            )
            if old is not None and (remaining is None or remaining > 0):
                log.log(
                    logging.DEBUG if advisory else logging.WARNING,
                    "refreshing credentials from %r failed; still using the current ones "
                    "(they expire in %.0f s): %s",
                    self, remaining or 0.0, exc,
                )  # fmt: skip
                return
            raise
        # Set only now: while a refresh is in flight, callers in the mandatory window wait.
        self._next_attempt = time.monotonic() + self.retry_interval
        self._credentials = new
        if new is not None:
            log.debug("%r: new credentials %r", self, new)


# --- the documents credential sources answer with ------------------------------------------


def json_document(data: bytes, what: str) -> dict[str, Any]:
    """The JSON object a credential source answered with (never quoted in errors)."""
    import json

    try:
        doc = json.loads(data)
    except ValueError:  # also UnicodeDecodeError; never quote the document: it holds secrets
        raise CredentialSourceError(f"{what}: the response is not valid JSON") from None
    if not isinstance(doc, dict):
        raise CredentialSourceError(f"{what}: the response is not a JSON object")
    return doc


def _timestamp(value: object, what: str) -> float:
    from .errors import MalformedResponse
    from .s3xml import parse_timestamp

    if not isinstance(value, str) or not value.strip():
        raise CredentialSourceError(f"{what}: Expiration is not an ISO 8601 timestamp")
    try:
        parsed = parse_timestamp(value)
    except MalformedResponse:
        parsed = None
    if parsed is None:
        raise CredentialSourceError(f"{what}: unparseable Expiration {value[:40]!r}")
    return parsed.timestamp()


def credentials_from_document(
    doc: Mapping[str, Any],
    what: str,
    *,
    session_field: str,
    expiration_required: bool,
) -> Credentials:
    """Credentials from a JSON document with AccessKeyId, SecretAccessKey, a token field
    and Expiration."""
    missing = [f for f in ("AccessKeyId", "SecretAccessKey") if not doc.get(f)]
    if expiration_required and not doc.get("Expiration"):
        missing.append("Expiration")
    if missing:
        raise CredentialSourceError(f"{what}: the response has no {', '.join(missing)}")
    key, secret, token = doc["AccessKeyId"], doc["SecretAccessKey"], doc.get(session_field)
    if not isinstance(key, str) or not isinstance(secret, str):
        raise CredentialSourceError(f"{what}: AccessKeyId and SecretAccessKey must be strings")
    if token is not None and not isinstance(token, str):
        raise CredentialSourceError(f"{what}: {session_field} must be a string")
    expiration = doc.get("Expiration")
    expires_at = _timestamp(expiration, what) if expiration else None
    return Credentials(key, secret, token or None, expires_at)
