"""Roles assumed through STS: `AssumeRoleCredentials` (signed with a source's credentials)
and `WebIdentityCredentials` (a web identity token, unsigned)."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from .credentials_base import (
    Credentials,
    CredentialSourceError,
    CredentialsProvider,
    RefreshingCredentials,
    credentials_from_document,
)
from .credentials_http import credentials_transport, endpoint_request

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .transport import Transport

__all__ = ["AssumeRoleCredentials", "WebIdentityCredentials"]


_STS_VERSION = "2011-06-15"


class _Sts:
    """A minimal STS Query API client on s3lite's transport (endpoint and region lazily)."""

    def __init__(
        self,
        *,
        region: str | None,
        endpoint_url: str | None,
        profile: str | None,
        transport: Transport | None,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.profile = profile
        self._transport = transport

    def _resolve(self) -> tuple[str, str]:
        """(signing region, endpoint URL)."""
        from . import config

        region = self.region or config.region(self.profile)
        endpoint = self.endpoint_url or config.endpoint_url("sts", self.profile)
        if not endpoint:
            if region:
                suffix = ".cn" if region.startswith("cn-") else ""
                endpoint = f"https://sts.{region}.amazonaws.com{suffix}"
            else:
                endpoint = "https://sts.amazonaws.com"  # the global endpoint signs as us-east-1
        return region or "us-east-1", endpoint.rstrip("/")

    def call(
        self, action: str, params: Mapping[str, str], source: CredentialsProvider | None, what: str
    ) -> Credentials:
        """Call `action` (signed with `source`'s credentials, or unsigned) and return the
        credentials in its result."""
        from urllib.parse import urlencode

        from . import s3xml
        from .config import ConfigError
        from .errors import ClientError, MalformedResponse, TransportError

        try:
            region, endpoint = self._resolve()
        except ConfigError as exc:
            raise CredentialSourceError(f"{what}: {exc}") from None
        if self._transport is None:
            self._transport = credentials_transport(
                connect_timeout=5.0, read_timeout=15.0, attempts=3, profile=self.profile
            )
        auth = None
        if source is not None:
            from .signing import SigV4Auth

            if source.get() is None:
                raise CredentialSourceError(f"{what}: the source credentials are missing")
            auth = SigV4Auth(source, region, "sts")
        body = urlencode({"Action": action, "Version": _STS_VERSION, **params}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        try:
            response = endpoint_request(
                self._transport, "POST", endpoint + "/", headers, body=body, auth=auth,
                error_parser=s3xml.parse_error,
            )  # fmt: skip
            root = s3xml.parse_document(response.data)
        except (ClientError, TransportError, MalformedResponse) as exc:
            raise CredentialSourceError(f"{what}: STS {action} failed: {exc}") from None
        node = root.find(f"{action}Result/Credentials")
        if node is None:
            node = root.find(".//Credentials")
        if node is None:
            raise CredentialSourceError(f"{what}: STS {action} returned no Credentials")
        doc = {child.tag: (child.text or "").strip() for child in node}
        return credentials_from_document(
            doc, f"{what}: STS {action}", session_field="SessionToken", expiration_required=True
        )


def _session_name(name: str | None) -> str:
    return name or f"s3lite-{int(time.time())}"


class WebIdentityCredentials(RefreshingCredentials):
    """A role assumed with a web identity token (EKS IRSA, GitHub OIDC...): STS
    `AssumeRoleWithWebIdentity`, an unsigned call; the token file is re-read on each refresh.

    Without arguments, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN and AWS_ROLE_SESSION_NAME
    configure it (read when it runs); with neither set it has no credentials, with one of
    the two it is an error.
    """

    def __init__(
        self,
        role_arn: str | None = None,
        token_file: str | None = None,
        session_name: str | None = None,
        *,
        duration_seconds: int | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        transport: Transport | None = None,
        advisory_refresh: float | None = None,
        mandatory_refresh: float | None = None,
    ) -> None:
        super().__init__(advisory_refresh=advisory_refresh, mandatory_refresh=mandatory_refresh)
        self._from_env = role_arn is None and token_file is None
        if not self._from_env and (not role_arn or not token_file):
            raise ValueError("pass both role_arn and token_file, or neither (environment)")
        self.role_arn = role_arn
        self.token_file = token_file
        self.session_name = session_name
        self.duration_seconds = duration_seconds
        self._sts = _Sts(
            region=region, endpoint_url=endpoint_url, profile=profile, transport=transport
        )

    def _fetch(self) -> Credentials | None:
        role_arn, token_file, session_name = self.role_arn, self.token_file, self.session_name
        if self._from_env:
            role_arn = os.environ.get("AWS_ROLE_ARN") or None
            token_file = os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE") or None
            session_name = os.environ.get("AWS_ROLE_SESSION_NAME") or None
            if not role_arn and not token_file:
                self.unavailable = "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set"
                return None
            if not role_arn or not token_file:
                present, missing = (
                    ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")
                    if role_arn
                    else ("AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")
                )
                raise CredentialSourceError(f"{self!r}: {present} is set but {missing} is not")
        assert role_arn is not None and token_file is not None
        what = f"web identity for role {role_arn}"
        try:
            with open(os.path.expanduser(token_file), encoding="utf-8") as f:
                token = f.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise CredentialSourceError(
                f"{what}: cannot read the token file {token_file}: {reason or type(exc).__name__}"
            ) from None
        if not token:
            raise CredentialSourceError(f"{what}: the token file {token_file} is empty")
        params = {
            "RoleArn": role_arn,
            "RoleSessionName": _session_name(session_name),
            "WebIdentityToken": token,
        }
        if self.duration_seconds:
            params["DurationSeconds"] = str(self.duration_seconds)
        return self._sts.call("AssumeRoleWithWebIdentity", params, None, what)

    def __repr__(self) -> str:
        if self._from_env:
            return "WebIdentityCredentials(environment)"
        return f"WebIdentityCredentials(role_arn={self.role_arn!r}, token_file={self.token_file!r})"


class AssumeRoleCredentials(RefreshingCredentials):
    """A role assumed with STS `AssumeRole`, signed (SigV4, service `sts`) with the
    credentials of `source` (static keys, another role, a process...)."""

    def __init__(
        self,
        role_arn: str,
        source: CredentialsProvider,
        *,
        session_name: str | None = None,
        external_id: str | None = None,
        duration_seconds: int | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        transport: Transport | None = None,
        advisory_refresh: float | None = None,
        mandatory_refresh: float | None = None,
    ) -> None:
        super().__init__(advisory_refresh=advisory_refresh, mandatory_refresh=mandatory_refresh)
        if not role_arn:
            raise ValueError("role_arn must be a non-empty string")
        self.role_arn = role_arn
        self.source = source
        self.session_name = session_name
        self.external_id = external_id
        self.duration_seconds = duration_seconds
        self.profile = profile
        self._sts = _Sts(
            region=region, endpoint_url=endpoint_url, profile=profile, transport=transport
        )

    def _fetch(self) -> Credentials | None:
        params = {"RoleArn": self.role_arn, "RoleSessionName": _session_name(self.session_name)}
        if self.external_id:
            params["ExternalId"] = self.external_id
        if self.duration_seconds:
            params["DurationSeconds"] = str(self.duration_seconds)
        return self._sts.call("AssumeRole", params, self.source, f"assume role {self.role_arn}")

    def __repr__(self) -> str:
        profile = f", profile={self.profile!r}" if self.profile else ""
        return f"AssumeRoleCredentials(role_arn={self.role_arn!r}{profile}, source={self.source!r})"
