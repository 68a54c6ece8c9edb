"""The credentials a profile of the shared files describes (`ProfileCredentials`), and the
chain a session without keys uses (`ChainProvider`, `default_provider`)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from .credentials_base import (
    Credentials,
    CredentialSourceError,
    CredentialsProvider,
    EnvironmentCredentials,
    StaticCredentials,
)
from .credentials_metadata import ContainerCredentials, InstanceMetadataCredentials
from .credentials_process import ProcessCredentials
from .credentials_sts import AssumeRoleCredentials, WebIdentityCredentials
from .errors import NoCredentialsError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .config import SharedConfig
    from .transport import Transport

__all__ = ["ChainProvider", "ProfileCredentials", "default_provider"]

log = logging.getLogger("s3lite.credentials")


# --- the shared credentials and config files ---------------------------------------------------

_SSO_KEYS = ("sso_session", "sso_start_url", "sso_account_id", "sso_role_name")


def _static_from(settings: Mapping[str, str], name: str) -> Credentials | None:
    key = settings.get("aws_access_key_id")
    secret = settings.get("aws_secret_access_key")
    if not key and not secret:
        return None
    if not key or not secret:
        present, missing = (
            ("aws_access_key_id", "aws_secret_access_key")
            if key
            else ("aws_secret_access_key", "aws_access_key_id")
        )
        raise CredentialSourceError(f"profile {name!r} has {present} but no {missing}")
    return Credentials(key, secret, settings.get("aws_session_token") or None)


def _duration(settings: Mapping[str, str], name: str) -> int | None:
    value = settings.get("duration_seconds")
    if not value:
        return None
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if not 900 <= seconds <= 43200:
        raise CredentialSourceError(
            f"profile {name!r}: duration_seconds must be a whole number from 900 to 43200"
        )
    return seconds


def _profile_provider(
    shared: SharedConfig,
    name: str,
    visited: tuple[str, ...],
    transport: Transport | None,
) -> CredentialsProvider | None:
    """The provider a profile describes, following source_profile chains; None when the
    profile has no credential settings."""
    settings = shared.profile(name)
    if settings is None:
        raise CredentialSourceError(
            f"profile {visited[-1]!r} names source_profile {name!r}, which is not in "
            f"{shared.describe()}"
        )
    role_arn = settings.get("role_arn")
    if role_arn:
        if settings.get("mfa_serial"):
            raise CredentialSourceError(
                f"profile {name!r}: roles that need an MFA code (mfa_serial) are not supported"
            )
        source_profile = settings.get("source_profile")
        credential_source = settings.get("credential_source")
        token_file = settings.get("web_identity_token_file")
        if source_profile and credential_source:
            raise CredentialSourceError(
                f"profile {name!r} has both source_profile and credential_source"
            )
        options: dict[str, Any] = {
            "session_name": settings.get("role_session_name") or None,
            "duration_seconds": _duration(settings, name),
            "profile": name,
            "transport": transport,
        }
        if source_profile or credential_source:
            source: CredentialsProvider | None
            if source_profile == name:
                static = _static_from(settings, name)
                if static is None:
                    raise CredentialSourceError(
                        f"profile {name!r} is its own source_profile but has no "
                        "aws_access_key_id/aws_secret_access_key"
                    )
                source = StaticCredentials(static)
            elif source_profile:
                if source_profile in visited or source_profile == name:
                    loop = " -> ".join((*visited, name, source_profile))
                    raise CredentialSourceError(f"source_profile loop: {loop}")
                source = _profile_provider(shared, source_profile, (*visited, name), transport)
                if source is None:
                    raise CredentialSourceError(
                        f"profile {name!r}: its source_profile {source_profile!r} has no "
                        "credentials"
                    )
            else:
                assert credential_source is not None
                source = _credential_source(credential_source, name)
            return AssumeRoleCredentials(
                role_arn, source, external_id=settings.get("external_id") or None, **options
            )
        if token_file:
            return WebIdentityCredentials(role_arn, token_file, **options)
        raise CredentialSourceError(
            f"profile {name!r} has role_arn but no source_profile, credential_source or "
            "web_identity_token_file"
        )
    static = _static_from(settings, name)
    if static is not None:
        return StaticCredentials(static)
    command = settings.get("credential_process")
    if command:
        return ProcessCredentials(command, profile=name)
    if any(settings.get(k) for k in _SSO_KEYS):
        raise CredentialSourceError(
            f"profile {name!r} uses IAM Identity Center (SSO), which s3lite does not support; "
            f"set `credential_process = aws configure export-credentials --profile {name} "
            "--format process` in another profile and use that one"
        )
    return None


def _credential_source(value: str, name: str) -> CredentialsProvider:
    if value == "Environment":
        return _Required(EnvironmentCredentials(), f"profile {name!r}: credential_source")
    if value == "EcsContainer":
        return _Required(ContainerCredentials(), f"profile {name!r}: credential_source")
    if value == "Ec2InstanceMetadata":
        return _Required(InstanceMetadataCredentials(), f"profile {name!r}: credential_source")
    raise CredentialSourceError(
        f"profile {name!r}: credential_source must be Environment, EcsContainer or "
        f"Ec2InstanceMetadata, not {value[:40]!r}"
    )


class _Required:
    """A provider whose missing credentials are an error (a role's credential_source)."""

    def __init__(self, provider: CredentialsProvider, what: str) -> None:
        self.provider = provider
        self.what = what

    def get(self) -> Credentials:
        creds = self.provider.get()
        if creds is None:
            reason = getattr(self.provider, "unavailable", None) or "no credentials"
            raise CredentialSourceError(f"{self.what} {self.provider!r}: {reason}")
        return creds

    def refresh(self) -> None:
        refresh = getattr(self.provider, "refresh", None)
        if callable(refresh):
            refresh()

    def __repr__(self) -> str:
        return repr(self.provider)


class ProfileCredentials:
    """The credentials a profile of the shared files describes: static keys, a role assumed
    from a source profile / credential_source / web identity token file (chains followed,
    loops refused), or `credential_process`.

    The profile is the argument, else AWS_PROFILE, else `default`. A profile named
    explicitly (argument or AWS_PROFILE) must exist; a missing `default` profile, or one
    without credential settings, just has no credentials. The files are read on first use.
    """

    def __init__(self, profile: str | None = None, *, transport: Transport | None = None) -> None:
        self.profile = profile
        self._transport = transport
        self._delegate: CredentialsProvider | None = None
        self._lock = threading.Lock()
        self.unavailable: str | None = None

    def _resolve(self) -> CredentialsProvider | None:
        from . import config

        name = config.profile_name(self.profile)
        explicit = name != "default" or self.profile is not None
        try:
            shared = config.load()
        except config.ConfigError as exc:
            raise CredentialSourceError(f"{self!r}: {exc}") from None
        if not shared.has_profile(name):
            if explicit:
                raise CredentialSourceError(f"profile {name!r} not found in {shared.describe()}")
            self.unavailable = f"no profile {name!r} in {shared.describe()}"
            return None
        provider = _profile_provider(shared, name, (), self._transport)
        if provider is None:
            self.unavailable = f"profile {name!r} has no credentials"
        return provider

    def get(self) -> Credentials | None:
        delegate = self._delegate
        if delegate is None:
            with self._lock:
                if self._delegate is None:
                    self._delegate = self._resolve()
                    if self._delegate is None:
                        return None
                delegate = self._delegate
        return delegate.get()

    def refresh(self) -> None:
        refresh = getattr(self._delegate, "refresh", None)
        if callable(refresh):
            refresh()

    def __repr__(self) -> str:
        if self._delegate is not None:
            return f"ProfileCredentials({self.profile!r}, using={self._delegate!r})"
        return f"ProfileCredentials({self.profile!r})" if self.profile else "ProfileCredentials()"


# --- the chain -----------------------------------------------------------------------------


class ChainProvider:
    """The first provider in a list that has credentials; looked up once, on first use.

    A provider that is configured but broken (raises `CredentialSourceError`) stops the
    lookup: the error names it and the sources tried before it. When none has credentials,
    `NoCredentialsError` names every source tried and why each had none.
    """

    def __init__(self, providers: list[CredentialsProvider]) -> None:
        self._providers = providers
        self._found: CredentialsProvider | None = None
        self._lock = threading.Lock()

    @property
    def provider(self) -> CredentialsProvider | None:
        """The provider that had credentials (None before the first lookup)."""
        return self._found

    def get(self) -> Credentials | None:
        found = self._found
        if found is None:
            with self._lock:
                if self._found is None:
                    return self._lookup()
                found = self._found
        return found.get()

    def _lookup(self) -> Credentials:
        tried: list[str] = []
        for provider in self._providers:
            try:
                creds = provider.get()
            except CredentialSourceError as exc:
                before = f" (tried before it: {'; '.join(tried)})" if tried else ""
                raise CredentialSourceError(f"{exc}{before}") from None
            if creds is not None:
                self._found = provider
                log.debug("credentials from %r", provider)
                return creds
            reason = getattr(provider, "unavailable", None)
            tried.append(f"{provider!r}: {reason}" if reason else repr(provider))
        raise NoCredentialsError(
            f"no credentials found; tried: {'; '.join(tried)}. Pass access_key_id and "
            "access_key, or anonymous=True for public buckets"
        )

    def refresh(self) -> None:
        """Refresh the provider in use (after the service called its credentials expired)."""
        refresh = getattr(self._found, "refresh", None)
        if callable(refresh):
            refresh()

    def __repr__(self) -> str:
        if self._found is not None:
            return f"ChainProvider(using={self._found!r})"
        return f"ChainProvider({self._providers!r})"


def default_provider(profile: str | None = None) -> ChainProvider:
    """The chain a session without explicit keys uses.

    Environment keys, web identity from the environment, the profile (`profile`, else
    AWS_PROFILE, else `default`), container credentials, EC2 instance metadata. A profile
    passed explicitly replaces the environment sources: its credentials win.
    """
    providers: list[CredentialsProvider] = []
    if profile is None:
        providers += [EnvironmentCredentials(), WebIdentityCredentials()]
    providers += [
        ProfileCredentials(profile),
        ContainerCredentials(),
        InstanceMetadataCredentials(),
    ]
    return ChainProvider(providers)
