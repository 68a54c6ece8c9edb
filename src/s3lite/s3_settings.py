"""What an S3 session is configured with, resolved once for the sync and the async session:
the arguments checked, then completed from the environment and the profile (`resolve`), and
the endpoint settings both sessions read and set (`S3EndpointSettings`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from .arguments import check_endpoint, check_session_args
from .credentials_base import Credentials, CredentialsProvider, StaticCredentials
from .s3_endpoint import (
    AddressingStyle,
    PayloadSigning,
    S3Endpoint,
    SignatureVersion,
    validate_bucket,
)
from .signing import SigV2Auth, SigV4Auth

if TYPE_CHECKING:
    from .retries import RetryMode
    from .transport import Body, BodyLike, Request

__all__ = ["S3EndpointSettings", "S3Settings", "resolve", "signer"]


class S3Settings(NamedTuple):
    """A session's resolved configuration: where requests go and how (`endpoint`), whose
    credentials sign them (`credentials`), and the transport's TLS and retry settings."""

    endpoint: S3Endpoint
    credentials: CredentialsProvider
    verify: bool | str
    max_attempts: int
    retry_mode: RetryMode


def resolve(
    access_key_id: str | None,
    access_key: str | None,
    bucket: str | None,
    endpoint_url: str | None,
    region: str | None,
    max_pool_connections: int,
    max_attempts: int | None,
    retry_mode: RetryMode | None,
    read_timeout: float,
    stream: bool,
    connect_timeout: float,
    *,
    session_token: str | None,
    addressing_style: AddressingStyle,
    signature_version: SignatureVersion,
    verify: bool | str,
    credentials: CredentialsProvider | None,
    anonymous: bool,
    payload_signing: PayloadSigning,
    profile: str | None,
) -> S3Settings:
    """Check a session's arguments (see `S3Session`) and complete them: arguments first,
    then the environment, then the profile (`profile`, AWS_PROFILE, default)."""
    check_session_args(
        region=region, max_pool_connections=max_pool_connections, max_attempts=max_attempts,
        retry_mode=retry_mode, read_timeout=read_timeout, stream=stream,
        connect_timeout=connect_timeout,
    )  # fmt: skip
    if endpoint_url is not None:
        check_endpoint(endpoint_url, "endpoint_url")
    if addressing_style not in ("auto", "path", "virtual"):
        raise ValueError(
            f"addressing_style must be 'auto', 'path' or 'virtual', got {addressing_style!r}"
        )
    if signature_version not in ("s3v4", "s3"):
        raise ValueError(f"signature_version must be 's3v4' or 's3', got {signature_version!r}")
    if payload_signing not in ("auto", "signed", "unsigned", "streaming"):
        raise ValueError(f"unknown payload_signing {payload_signing!r}")
    if bucket is not None:
        validate_bucket(bucket)
    if (access_key_id is None) != (access_key is None):
        raise ValueError("pass both access_key_id and access_key, or neither")

    from . import config

    region = region or config.region(profile) or "us-east-1"
    endpoint_url = endpoint_url or config.endpoint_url("s3", profile)
    if verify is True:
        verify = config.ca_bundle(profile) or True
    attempts, mode = config.retry_settings(max_attempts, retry_mode, profile)
    if endpoint_url is None:
        endpoint_url = f"https://s3.{region}.amazonaws.com"
    endpoint = S3Endpoint(
        endpoint_url, region, bucket=bucket, addressing_style=addressing_style,
        signature_version=signature_version, payload_signing=payload_signing,
    )  # fmt: skip

    if credentials is not None:
        provider: CredentialsProvider = credentials
    elif anonymous:
        provider = StaticCredentials(None)
    elif access_key_id is not None and access_key is not None:
        provider = StaticCredentials(Credentials(access_key_id, access_key, session_token))
    else:
        from .credentials_profile import default_provider

        provider = default_provider(profile)
    return S3Settings(endpoint, provider, verify, attempts, mode)


def signer(endpoint: S3Endpoint, credentials: CredentialsProvider) -> SigV4Auth | SigV2Auth:
    """The signer of the endpoint's signature version over `credentials`."""
    if endpoint.signature_version == "s3":
        return SigV2Auth(credentials)
    return SigV4Auth(credentials, endpoint.region, "s3")


class S3EndpointSettings:
    """The endpoint's settings, read and set through the session (`bucket`,
    `addressing_style`, ...), and the addressing the session's modules build requests with."""

    _endpoint: S3Endpoint

    @property
    def s3_endpoint(self) -> S3Endpoint:
        """Where and how this session's requests go: what the operations of
        `s3lite.s3_requests` take first (`session.run(s3_requests.head_object(session.s3_endpoint,
        key))`)."""
        return self._endpoint

    @property
    def bucket(self) -> str | None:
        """The default bucket of every call (None: each call names its bucket)."""
        return self._endpoint.bucket

    @bucket.setter
    def bucket(self, bucket: str | None) -> None:
        self._endpoint.bucket = bucket

    @property
    def addressing_style(self) -> AddressingStyle:
        """'auto' (virtual-host on AWS, path elsewhere), 'path' or 'virtual'."""
        return self._endpoint.addressing_style

    @addressing_style.setter
    def addressing_style(self, style: AddressingStyle) -> None:
        self._endpoint.addressing_style = style

    @property
    def payload_signing(self) -> PayloadSigning:
        """How bodies are signed: 'auto', 'signed', 'unsigned' or 'streaming'."""
        return self._endpoint.payload_signing

    @payload_signing.setter
    def payload_signing(self, mode: PayloadSigning) -> None:
        if mode not in ("auto", "signed", "unsigned", "streaming"):
            raise ValueError(f"unknown payload_signing {mode!r}")
        self._endpoint.payload_signing = mode

    @property
    def signature_version(self) -> SignatureVersion:
        """'s3v4' (SigV4) or 's3' (SigV2, for old servers)."""
        return self._endpoint.signature_version

    @property
    def endpoint_url(self) -> str:
        """The service's URL: http(s)://host[:port][/path]."""
        return self._endpoint.endpoint_url

    @property
    def region(self) -> str:
        """The region requests are signed for."""
        return self._endpoint.region

    # --- for modules that build their own requests ---------------------------------------------
    def _bucket(self, bucket: str | None) -> str:
        return self._endpoint.resolve_bucket(bucket)

    def _locate(self, bucket: str | None, key: str | None) -> tuple[str, str, str]:
        return self._endpoint.locate(bucket, key)

    def _own_url(self, url: str) -> tuple[str | None, str | None, list[tuple[str, str]]]:
        return self._endpoint.own_url(url)

    def _build(
        self,
        method: str,
        bucket: str | None,
        key: str | None = None,
        params: Iterable[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
        body: BodyLike | Body = None,
        *,
        payload_hash: str | None = None,
        length: int | None = None,
    ) -> Request:
        return self._endpoint.build(
            method, bucket, key, list(params) or None, dict(headers) if headers else None, body,
            payload_hash=payload_hash, length=length,
        )  # fmt: skip
