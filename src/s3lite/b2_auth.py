"""B2 authorization: the process-wide account cache, the upload-URL pool, and request signers.

`b2_authorize_account` is cached per (realm, key id, key) for at most an hour (less if the
key expires sooner), shared by every session using that key, and done once even when many
threads need it at the same moment. A request refused with `expired_auth_token` /
`bad_auth_token` drops that token (`needs_new_token` says when) and is retried with a new one.

Upload URLs (`b2_get_upload_url`, and `b2_get_upload_part_url` per large file) are pooled:
an upload takes one, no other upload uses it meanwhile, and it goes back to the pool when
the upload succeeded. Every retry of an upload goes to a fresh upload URL, as B2 requires.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from .b2_requests import (
    API_VERSION,
    MAX_JSON_BYTES,
    Account,
    json_token,
    parse_authorization,
    read_json,
    split_url,
)
from .errors import ClientError
from .operation import Call, Operation
from .transport import Attempt, Request

__all__ = [
    "MAX_IDLE_UPLOAD_URLS",
    "UPLOAD_URL_AGE",
    "AuthSlot",
    "BasicAuth",
    "TokenAuth",
    "UploadAuth",
    "UploadTarget",
    "authorize",
    "clear_auth_cache",
    "needs_new_token",
    "parse_upload_target",
    "slot_for",
]

#: Upload URLs and their tokens last 24 hours; stop handing one out a while before that.
UPLOAD_URL_AGE = 23 * 3600.0
#: Idle upload URLs kept per bucket / large file.
MAX_IDLE_UPLOAD_URLS = 64

#: Error codes after which an account token must be renewed; "Unauthorized" is what a
#: bodiless 401 (HEAD) becomes, where B2 cannot say why.
_TOKEN_CODES = frozenset({"expired_auth_token", "bad_auth_token", "Unauthorized"})
#: Upload errors that mean "this upload URL/token is no good: get another one".
_UPLOAD_TOKEN_CODES = frozenset({"expired_auth_token", "bad_auth_token", "auth_token_limit"})


def needs_new_token(error: ClientError) -> bool:
    """Whether an error means the account token is no longer good (renew it and retry)."""
    if error.code not in _TOKEN_CODES:
        return False
    return error.code != "Unauthorized" or error.status == 401


# --- authorizing -----------------------------------------------------------------------------


def authorize(realm: str, key_id: str, key: str) -> Operation[tuple[Account, float]]:
    """b2_authorize_account at `realm` (the API URL): the account, and seconds to keep it."""
    parts = urlsplit(realm)
    request = Request(
        "GET",
        parts.scheme,
        parts.netloc,
        f"{quote(parts.path, safe='/%')}/b2api/{API_VERSION}/b2_authorize_account",
        headers={"Accept": "application/json"},
    )
    response = yield Call(request, max_body=MAX_JSON_BYTES, auth=BasicAuth(key_id, key))
    return parse_authorization(read_json(response))


class BasicAuth:
    """Signs b2_authorize_account with the application key (HTTP Basic)."""

    __slots__ = ("_key", "_key_id")

    def __init__(self, key_id: str, key: str) -> None:
        self._key_id = key_id
        self._key = key

    def sign(self, attempt: Attempt) -> None:
        import base64

        basic = base64.b64encode(f"{self._key_id}:{self._key}".encode()).decode("ascii")
        attempt.headers["Authorization"] = "Basic " + basic

    def refresh(self, error: ClientError) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<BasicAuth {self._key_id!r}>"


# --- the process-wide cache ------------------------------------------------------------------


@dataclass
class UploadTarget:
    """An upload URL and its own token (from b2_get_upload_url / b2_get_upload_part_url)."""

    scheme: str
    host: str
    path: str
    token: str = field(repr=False)
    expires: float  # time.monotonic() after which it is not handed out again


def parse_upload_target(obj: Mapping[str, Any]) -> UploadTarget:
    """The upload URL and token of a b2_get_upload_url / b2_get_upload_part_url reply."""
    scheme, host, path = split_url(obj.get("uploadUrl"), "uploadUrl")
    return UploadTarget(
        scheme, host, path, json_token(obj, "authorizationToken"),
        time.monotonic() + UPLOAD_URL_AGE,
    )  # fmt: skip


class AuthSlot:
    """The process-wide state for one key: its authorization, bucket ids and upload URLs."""

    def __init__(self, realm: str, key_id: str, key: str) -> None:
        self.realm = realm
        self.key_id = key_id
        self._key = key
        self._lock = threading.Lock()
        self._account: Account | None = None
        self._expires = 0.0
        self.authorizations = 0  # how many b2_authorize_account calls this slot made
        self.bucket_ids: dict[str, str] = {}
        self._uploads: dict[str, list[UploadTarget]] = {}
        self._uploads_lock = threading.Lock()

    def current(self, authorize: Callable[[str, str, str], tuple[Account, float]]) -> Account:
        """The cached account, authorizing first with `authorize(realm, key_id, key)` (once,
        whatever the number of threads) if there is none or it is too old."""
        account = self.cached()
        if account is not None:
            return account
        with self._lock:
            account = self.cached()
            if account is not None:
                return account
            account, lifetime = authorize(self.realm, self.key_id, self._key)
            self._keep(account, lifetime)
            return account

    def cached(self) -> Account | None:
        """The cached account, if there is one young enough to use."""
        account = self._account
        if account is not None and time.monotonic() < self._expires:
            return account
        return None

    def authorization(self) -> Operation[tuple[Account, float]]:
        """The operation that authorizes this key (for a driver that cannot call `current`:
        it drives this, then `store`s the result)."""
        return authorize(self.realm, self.key_id, self._key)

    def store(self, account: Account, lifetime: float) -> None:
        """Cache `account` (from `authorization`) for `lifetime` seconds."""
        with self._lock:
            self._keep(account, lifetime)

    def _keep(self, account: Account, lifetime: float) -> None:
        self.authorizations += 1
        self._account = account
        self._expires = time.monotonic() + lifetime
        if account.allowed_bucket_id and account.allowed_bucket_name:
            self.bucket_ids[account.allowed_bucket_name] = account.allowed_bucket_id

    def invalidate(self, token: str | None) -> None:
        """The service refused `token`: drop it, unless another thread has renewed it already."""
        with self._lock:
            if self._account is not None and (token is None or self._account.token == token):
                self._account = None

    def forget_bucket_id(self, bucket_id: str) -> None:
        """The service no longer knows `bucket_id`: drop its name and its upload URLs."""
        ids = self.bucket_ids
        for name, known in list(ids.items()):
            if known == bucket_id:
                ids.pop(name, None)
        self.drop_uploads("b:" + bucket_id)

    def take_upload(self, pool: str) -> UploadTarget | None:
        """An idle upload URL of `pool` ("b:<bucket id>" or "p:<large file id>"), if any."""
        now = time.monotonic()
        with self._uploads_lock:
            idle = self._uploads.get(pool)
            while idle:
                target = idle.pop()
                if now < target.expires:
                    return target
        return None

    def give_upload(self, pool: str, target: UploadTarget) -> None:
        """Put an upload URL that worked back into `pool`."""
        with self._uploads_lock:
            idle = self._uploads.setdefault(pool, [])
            if len(idle) < MAX_IDLE_UPLOAD_URLS:
                idle.append(target)

    def drop_uploads(self, pool: str) -> None:
        """Forget every idle upload URL of `pool`."""
        with self._uploads_lock:
            self._uploads.pop(pool, None)

    def __repr__(self) -> str:
        return f"<B2 authorization for key {self.key_id!r} at {self.realm}>"


_SLOTS: dict[tuple[str, str, str], AuthSlot] = {}
_SLOTS_LOCK = threading.Lock()


def slot_for(realm: str, key_id: str, key: str) -> AuthSlot:
    """The process-wide slot of this key at this realm (made on first use)."""
    # The key's digest is part of the cache key: a session with a wrong key never borrows the
    # authorization another session got with the right one.
    cache_key = (realm, key_id, hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest())
    with _SLOTS_LOCK:
        slot = _SLOTS.get(cache_key)
        if slot is None:
            slot = _SLOTS[cache_key] = AuthSlot(realm, key_id, key)
        return slot


def clear_auth_cache() -> None:
    """Forget every cached B2 authorization, bucket id and upload URL in this process.

    Sessions created earlier keep working: they authorize again on their next request.
    """
    with _SLOTS_LOCK:
        slots = list(_SLOTS.values())
        _SLOTS.clear()
    for slot in slots:
        slot.invalidate(None)


# --- signers for the transport ---------------------------------------------------------------


class TokenAuth:
    """Signs one request with the account token of `slot` (authorizing with `authorize` when
    there is none); after `needs_new_token` drops that token so the retry re-authorizes (once
    per token, whatever the number of threads)."""

    __slots__ = ("_authorize", "_slot", "token")

    def __init__(
        self, slot: AuthSlot, authorize: Callable[[str, str, str], tuple[Account, float]]
    ) -> None:
        self._slot = slot
        self._authorize = authorize
        self.token: str | None = None

    def sign(self, attempt: Attempt) -> None:
        token = self._slot.current(self._authorize).token
        self.token = token
        attempt.headers["Authorization"] = token

    def refresh(self, error: ClientError) -> bool:
        if not needs_new_token(error):
            return False
        self._slot.invalidate(self.token)
        return True


class UploadAuth:
    """Signs one upload with an upload URL's token. Every attempt after the first goes to a
    fresh upload URL (B2: an upload that failed with 401/408/429/5xx or a broken connection
    must be retried elsewhere), so `sign` re-targets the request to it.

    `fetch` is the operation that gets a fresh URL; the driver that sends the upload `bind`s
    the runner that drives it (the transport signs each attempt synchronously). A driver
    that cannot (asyncio) sets `target` to a fresh URL itself before each retry and signs
    with `aim`."""

    __slots__ = ("_run", "attempts", "fetch", "target")

    def __init__(self, first: UploadTarget, fetch: Callable[[], Operation[UploadTarget]]) -> None:
        self.target = first
        self.fetch = fetch
        self._run: Callable[[Operation[UploadTarget]], UploadTarget] | None = None
        self.attempts = 0

    def bind(self, run: Callable[[Operation[UploadTarget]], UploadTarget]) -> None:
        """Drive `fetch` with `run` when an attempt needs a fresh upload URL."""
        self._run = run

    def sign(self, attempt: Attempt) -> None:
        if self.attempts:
            if self._run is None:
                raise RuntimeError("UploadAuth needs a driver (bind) to fetch a fresh upload URL")
            self.target = self._run(self.fetch())
        self.aim(attempt)

    def aim(self, attempt: Attempt) -> None:
        """Send `attempt` to `target`, with its token."""
        self.attempts += 1
        target = self.target
        request = attempt.request
        request.scheme, request.host, request.path = target.scheme, target.host, target.path
        attempt.headers["Authorization"] = target.token

    def refresh(self, error: ClientError) -> bool:
        return error.code in _UPLOAD_TOKEN_CODES
