"""The sync driver of B2 operations: what every part of `B2Session` stands on.

`B2Driver.run` drives an I/O-free operation (from the `b2_*` modules) through the session's
transport: each `Call` is signed with the account token (or the call's own signer: upload
URLs, the application key), retried by the transport, and its answer handed back to the
operation. The authorization itself is an operation too (`b2_auth.authorize`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from .b2_auth import AuthSlot, TokenAuth, UploadAuth, authorize, slot_for
from .b2_calls import B2Context, api, bucket_id
from .b2_requests import (
    B2_DIALECT,
    DEFAULT_API_URL,
    Account,
    parse_error,
    resendable,
    split_url,
    validate_bucket,
)
from .credentials_base import Credentials, StaticCredentials, b2_credentials_from_env
from .errors import MalformedResponse, NoCredentialsError
from .operation import Call, Operation
from .operation import run as drive

if TYPE_CHECKING:
    from .response import Response
    from .retries import RetryMode, RetryPolicy
    from .transport import Transport

__all__ = ["B2Base", "B2Driver", "retry_policy"]

T = TypeVar("T")


class B2Base:
    """What the sync and async B2 sessions share: their checked settings, the key's
    `AuthSlot`, and which bucket a call is about."""

    api_url: str
    access_key_id: str
    credentials: StaticCredentials
    bucket: str | None
    stream: bool
    _slot: AuthSlot
    _min_part_size: int | None
    _download: tuple[str, str, str] | None
    _download_url: str | None

    def _configure(
        self,
        access_key_id: str | None,
        access_key: str | None,
        bucket: str | None,
        max_pool_connections: int,
        max_attempts: int | None,
        read_timeout: float,
        download_url: str | None,
        stream: bool,
        *,
        api_url: str = DEFAULT_API_URL,
        max_connections: int | None,
        retry_mode: RetryMode | None,
        connect_timeout: float,
    ) -> int:
        """Check the session's arguments (see `B2Session`) and keep them; returns the
        connections to pool per host."""
        from .arguments import check_endpoint, check_session_args

        if max_connections is not None:
            if max_pool_connections not in (max_connections, 10):
                raise ValueError("max_connections is max_pool_connections; pass one")
            max_pool_connections = max_connections
        check_session_args(
            region=None, max_pool_connections=max_pool_connections, max_attempts=max_attempts,
            retry_mode=retry_mode, read_timeout=read_timeout, stream=stream,
            connect_timeout=connect_timeout,
        )  # fmt: skip
        check_endpoint(api_url, "api_url")
        self._download = None
        self._download_url = None
        if download_url is not None:
            check_endpoint(download_url, "download_url")
            if "://" not in download_url:
                download_url = "https://" + download_url
            try:
                self._download = split_url(download_url, "download_url")
            except MalformedResponse:
                raise ValueError(f"download_url must be http(s)://host[:port], got "
                                 f"{download_url!r}") from None  # fmt: skip
            self._download_url = download_url.rstrip("/")
        if (access_key_id is None) != (access_key is None):
            raise ValueError("pass both access_key_id and access_key, or neither")
        if access_key_id is None or access_key is None:
            found = b2_credentials_from_env()
            if found is None:
                raise NoCredentialsError(
                    "no B2 credentials: pass access_key_id and access_key, or set "
                    "B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY"
                )
            access_key_id, access_key = found
        if not isinstance(access_key_id, str) or not access_key_id:
            raise ValueError("access_key_id must be a non-empty string")
        if not isinstance(access_key, str) or not access_key:
            raise ValueError("access_key must be a non-empty string")
        if bucket is not None:
            validate_bucket(bucket)
        parts = urlsplit(api_url if "://" in api_url else "https://" + api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError(f"api_url must be http(s)://host[:port], got {api_url!r}")
        self.api_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.access_key_id = access_key_id
        self.credentials = StaticCredentials(Credentials(access_key_id, access_key))
        self.bucket = bucket
        self.stream = stream
        self._slot = slot_for(self.api_url, access_key_id, access_key)
        self._min_part_size = None
        return max_pool_connections

    def _default_bucket(self, account: Account) -> str:
        """The one bucket a restricted key's authorization names (now the session's)."""
        if account.allowed_bucket_name is None:
            raise ValueError("no bucket given and the session has no default bucket")
        if account.allowed_bucket_id is not None:
            self._slot.bucket_ids[account.allowed_bucket_name] = account.allowed_bucket_id
        self.bucket = account.allowed_bucket_name
        return self.bucket


def retry_policy(
    max_attempts: int | None,
    retry_mode: RetryMode | None,
    backoff_base: float,
    max_backoff: float,
) -> RetryPolicy:
    """A B2 session's retries: the arguments, else `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE`
    (no profile), else 5 attempts, 'standard'."""
    from .config import retry_settings
    from .retries import RetryPolicy

    attempts, mode = retry_settings(max_attempts, retry_mode, default_attempts=5, use_profile=False)
    return RetryPolicy(attempts, mode, backoff_base=backoff_base, max_backoff=max_backoff)


class B2Driver(B2Base):
    """Runs B2 operations through a transport for a key's `AuthSlot` (see `B2Session`)."""

    transport: Transport

    def run(self, operation: Operation[T]) -> T:
        """Drive an I/O-free operation from s3lite.operation through this session's
        transport and return its result.

        `operation`: a generator yielding `Call`s (e.g. from the `s3lite.b2_*` modules).
        """
        return drive(operation, self._send)

    def _send(self, call: Call) -> Response:
        auth = call.auth if call.auth is not None else self._token_auth()
        if isinstance(auth, UploadAuth):
            auth.bind(self.run)
        # A body that breaks off is asked for again by the transport only when asking again
        # is harmless; otherwise it is read here and the error goes to the operation.
        read_here = not call.stream and not resendable(call)
        response = self.transport.send(
            call.request, auth, stream=call.stream or read_here, dialect=B2_DIALECT,
            error_parser=parse_error, ok=call.ok, max_body=call.max_body,
        )  # fmt: skip
        if read_here:
            try:
                response.data  # noqa: B018 - read now, bounded by max_body
            except BaseException:
                response.close()
                raise
        return response

    # --- authorization -----------------------------------------------------------------------
    def _token_auth(self) -> TokenAuth:
        """A signer with the account token (renewed once if the service refuses it)."""
        return TokenAuth(self._slot, self._authorize)

    def _authorize(self, realm: str, key_id: str, key: str) -> tuple[Account, float]:
        return self.run(authorize(realm, key_id, key))

    def _account(self) -> Account:
        return self._slot.current(self._authorize)

    def _context(self) -> B2Context:
        return B2Context(self._account(), self._slot, self._download)

    # --- buckets -----------------------------------------------------------------------------
    def _bucket(self, bucket: str | None) -> str:
        """The bucket a call is about: `bucket`, else the session's, else the one bucket a
        restricted key's authorization names."""
        if bucket is None:
            if self.bucket is None:
                return self._default_bucket(self._account())
            return self.bucket
        return validate_bucket(bucket)

    def _bucket_id(self, bucket: str) -> str:
        return self.run(bucket_id(self._context(), bucket))

    def _call(self, name: str, params: Mapping[str, Any]) -> tuple[Response, dict[str, Any]]:
        """One JSON API call (`b2_calls.api`): its response and JSON object."""
        return self.run(api(self._context(), name, params))
