"""Credentials from the metadata services of the machine one runs on: the container
credentials endpoint (ECS task roles, EKS Pod Identity) and EC2 instance metadata (IMDSv2)."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from .credentials_base import (
    Credentials,
    CredentialSourceError,
    RefreshingCredentials,
    credentials_from_document,
    json_document,
)
from .credentials_http import brief_error, credentials_transport, endpoint_request, json_error

if TYPE_CHECKING:
    from .transport import Transport

__all__ = ["ContainerCredentials", "InstanceMetadataCredentials"]

log = logging.getLogger("s3lite.credentials")


# --- container credentials (ECS task roles, EKS Pod Identity) -----------------------------------

_ECS_HOST = "169.254.170.2"
_CONTAINER_HOSTS = frozenset({"169.254.170.2", "169.254.170.23", "fd00:ec2::23"})


def _allowed_container_url(url: str) -> bool:
    """https anywhere; http only to loopback or the ECS/EKS link-local agents."""
    import ipaddress
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    if parts.scheme != "http" or not parts.hostname:
        return False
    host = parts.hostname
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)
        except OSError:
            return False
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    return bool(addresses) and all(a.is_loopback or str(a) in _CONTAINER_HOSTS for a in addresses)


class ContainerCredentials(RefreshingCredentials):
    """Credentials from the container credentials endpoint (ECS task roles, EKS Pod Identity).

    Without arguments: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on http://169.254.170.2), else
    AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to loopback / the ECS and EKS agents);
    the Authorization header comes from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read on
    each refresh), else AWS_CONTAINER_AUTHORIZATION_TOKEN.
    """

    def __init__(
        self,
        full_uri: str | None = None,
        *,
        auth_token: str | None = None,
        auth_token_file: str | None = None,
        transport: Transport | None = None,
        timeout: float = 2.0,
        attempts: int = 3,
        advisory_refresh: float | None = None,
        mandatory_refresh: float | None = None,
    ) -> None:
        super().__init__(advisory_refresh=advisory_refresh, mandatory_refresh=mandatory_refresh)
        self._full_uri = full_uri
        self._auth_token = auth_token
        self._auth_token_file = auth_token_file
        self._transport = transport
        self._timeout = timeout
        self._attempts = attempts

    def _endpoint(self) -> tuple[str, str | None, str | None] | None:
        """(url, token, token file), or None when not configured."""
        if self._full_uri is not None:
            return self._full_uri, self._auth_token, self._auth_token_file
        env = os.environ
        relative = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        if relative:
            url = f"http://{_ECS_HOST}{relative if relative.startswith('/') else '/' + relative}"
        else:
            url = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") or ""
            if not url:
                return None
        return (
            url,
            env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN") or None,
            env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") or None,
        )

    def _fetch(self) -> Credentials | None:
        from urllib.parse import urlsplit

        from .errors import ClientError, MalformedResponse, TransportError

        endpoint = self._endpoint()
        if endpoint is None:
            self.unavailable = (
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI "
                "are not set"
            )
            return None
        url, token, token_file = endpoint
        host = urlsplit(url).netloc
        what = f"container credentials from {host}"
        is_ecs = url == f"http://{_ECS_HOST}" or url.startswith(f"http://{_ECS_HOST}/")
        if not is_ecs and not _allowed_container_url(url):
            raise CredentialSourceError(
                f"{what}: the full URI must be https, or http to a loopback address or "
                "the ECS/EKS agent (169.254.170.2, 169.254.170.23, fd00:ec2::23)"
            )
        if token_file:
            try:
                with open(os.path.expanduser(token_file), encoding="utf-8") as f:
                    token = f.read().strip()
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                raise CredentialSourceError(
                    f"{what}: cannot read the authorization token file {token_file}: "
                    f"{reason or type(exc).__name__}"
                ) from None
        headers = {"Accept": "application/json"}
        if token:
            if "\r" in token or "\n" in token:
                raise CredentialSourceError(f"{what}: the authorization token has a line break")
            headers["Authorization"] = token
        if self._transport is None:
            self._transport = credentials_transport(
                connect_timeout=self._timeout, read_timeout=self._timeout,
                attempts=self._attempts,
            )  # fmt: skip
        try:
            response = endpoint_request(
                self._transport, "GET", url, headers, error_parser=json_error, direct=True
            )
        except (ClientError, TransportError, MalformedResponse) as exc:
            raise CredentialSourceError(f"{what}: {brief_error(exc)}") from None
        doc = json_document(response.data, what)
        return credentials_from_document(
            doc, what, session_field="Token", expiration_required=False
        )

    def __repr__(self) -> str:
        if self._full_uri is None:
            return "ContainerCredentials(environment)"
        from urllib.parse import urlsplit

        return f"ContainerCredentials(host={urlsplit(self._full_uri).netloc!r})"


# --- EC2 instance metadata (IMDSv2) ------------------------------------------------------------

_IMDS_ENDPOINT = "http://169.254.169.254"
_IMDS_ENDPOINT_V6 = "http://[fd00:ec2::254]"
_IMDS_ROLE_PATH = "/latest/meta-data/iam/security-credentials/"


class InstanceMetadataCredentials(RefreshingCredentials):
    """The EC2 instance's role credentials from the instance metadata service (IMDSv2).

    `PUT /latest/api/token` (TTL header) for a session token, then the role name and its
    credentials with the token; if the token request is answered 404/405 (an old IMDS), the
    plain IMDSv1 requests are used unless AWS_EC2_METADATA_V1_DISABLED=true. Endpoint: the
    argument, AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6,
    else http://169.254.169.254. AWS_EC2_METADATA_DISABLED=true turns the default one off.
    Timeouts are short (1 s) and attempts few: it is the chain's last resort, and not on EC2
    it finds nothing.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        token_ttl: int = 21600,
        timeout: float = 1.0,
        attempts: int = 2,
        transport: Transport | None = None,
        advisory_refresh: float | None = None,
        mandatory_refresh: float | None = None,
    ) -> None:
        super().__init__(advisory_refresh=advisory_refresh, mandatory_refresh=mandatory_refresh)
        self._endpoint = endpoint
        self.token_ttl = token_ttl
        self._timeout = timeout
        self._attempts = attempts
        self._transport = transport

    def _resolve_endpoint(self) -> str | None:
        from . import config

        if self._endpoint is not None:
            return self._endpoint.rstrip("/")
        env = os.environ
        if config.is_true(env.get("AWS_EC2_METADATA_DISABLED")):
            self.unavailable = "disabled by AWS_EC2_METADATA_DISABLED"
            return None
        endpoint = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        if not endpoint:
            mode = (env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE") or "").lower()
            endpoint = _IMDS_ENDPOINT_V6 if mode == "ipv6" else _IMDS_ENDPOINT
        return endpoint.rstrip("/")

    def _fetch(self) -> Credentials | None:
        from urllib.parse import quote

        from . import config
        from .errors import ClientError, MalformedResponse, TransportError

        endpoint = self._resolve_endpoint()
        if endpoint is None:
            return None
        if self._transport is None:
            self._transport = credentials_transport(
                connect_timeout=self._timeout, read_timeout=self._timeout,
                attempts=self._attempts,
            )  # fmt: skip
        transport = self._transport
        what = f"instance metadata at {endpoint}"
        # 1. the session token (IMDSv2)
        try:
            response = endpoint_request(
                transport, "PUT", endpoint + "/latest/api/token",
                {"X-aws-ec2-metadata-token-ttl-seconds": str(self.token_ttl)},
                ok=lambda status: status < 500, direct=True,
            )  # fmt: skip
        except MalformedResponse as exc:
            raise CredentialSourceError(f"{what}: {exc}") from None
        except (ClientError, TransportError) as exc:
            self.unavailable = f"no instance metadata service at {endpoint} ({brief_error(exc)})"
            return None
        headers: dict[str, str] = {}
        if response.status == 200:
            token = response.data.decode("ascii", "replace").strip()
            if not token or "\r" in token or "\n" in token:
                raise CredentialSourceError(f"{what}: the token response is malformed")
            headers["X-aws-ec2-metadata-token"] = token
        elif response.status in (404, 405) and not config.is_true(
            os.environ.get("AWS_EC2_METADATA_V1_DISABLED")
        ):
            log.debug("%s: no IMDSv2 token (HTTP %d), using IMDSv1", what, response.status)
        else:
            self.unavailable = f"{what} refused a session token (HTTP {response.status})"
            return None
        # 2. the role name, 3. its credentials
        try:
            response = endpoint_request(
                transport, "GET", endpoint + _IMDS_ROLE_PATH, headers,
                ok=lambda status: 200 <= status < 300 or status == 404, direct=True,
            )  # fmt: skip
            if response.status == 404:
                self.unavailable = f"{what}: no IAM role is attached to this instance"
                return None
            lines = response.data.decode("utf-8", "replace").split()
            if not lines:
                self.unavailable = f"{what}: no IAM role is attached to this instance"
                return None
            role = lines[0]
            what = f"{what} (role {role!r})"
            response = endpoint_request(
                transport, "GET", endpoint + _IMDS_ROLE_PATH + quote(role), headers, direct=True
            )
        except (ClientError, TransportError, MalformedResponse) as exc:
            raise CredentialSourceError(f"{what}: {brief_error(exc)}") from None
        doc = json_document(response.data, what)
        code = doc.get("Code", "Success")
        if code != "Success":
            raise CredentialSourceError(f"{what}: the credentials response says {str(code)[:60]!r}")
        return credentials_from_document(
            doc, what, session_field="Token", expiration_required=False
        )

    def __repr__(self) -> str:
        if self._endpoint is None:
            return "InstanceMetadataCredentials()"
        return f"InstanceMetadataCredentials(endpoint={self._endpoint!r})"
