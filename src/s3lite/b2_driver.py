"""The sync driver of B2 operations: what every part of `B2Session` stands on.

`B2Driver.run` drives an I/O-free operation (from the `b2_*` modules) through the session's
transport: each `Call` is signed with the account token (or the call's own signer: upload
URLs, the application key), retried by the transport, and its answer handed back to the
operation. The authorization itself is an operation too (`b2_auth.authorize`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .b2_auth import AuthSlot, TokenAuth, UploadAuth, authorize
from .b2_calls import B2Context, api, bucket_id
from .b2_requests import B2_DIALECT, Account, parse_error, resendable, validate_bucket
from .operation import Call, Operation
from .operation import run as drive

if TYPE_CHECKING:
    from .response import Response
    from .transport import Transport

__all__ = ["B2Driver"]

T = TypeVar("T")


class B2Driver:
    """Runs B2 operations through a transport for a key's `AuthSlot` (see `B2Session`)."""

    transport: Transport
    bucket: str | None
    stream: bool
    _slot: AuthSlot
    _download: tuple[str, str, str] | None
    _download_url: str | None

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
                account = self._account()
                if account.allowed_bucket_name is None:
                    raise ValueError("no bucket given and the session has no default bucket")
                if account.allowed_bucket_id is not None:
                    self._slot.bucket_ids[account.allowed_bucket_name] = account.allowed_bucket_id
                self.bucket = account.allowed_bucket_name
            return self.bucket
        return validate_bucket(bucket)

    def _bucket_id(self, bucket: str) -> str:
        return self.run(bucket_id(self._context(), bucket))

    def _call(self, name: str, params: Mapping[str, Any]) -> tuple[Response, dict[str, Any]]:
        """One JSON API call (`b2_calls.api`): its response and JSON object."""
        return self.run(api(self._context(), name, params))
