"""Credentials and the providers that supply them: the AWS credential chain.

A provider's `get()` returns the credentials to sign the next request with (or None: the
source has none); temporary credentials renew themselves before they expire
(`RefreshingCredentials`). A session without keys uses `default_provider()`, which tries,
in order: the environment, web identity (`AWS_WEB_IDENTITY_TOKEN_FILE`), the shared
credentials/config files (static keys, assumed roles, `credential_process`), the container
credentials endpoint (ECS/EKS) and EC2 instance metadata (IMDSv2).

A source that is configured but broken raises `CredentialSourceError` rather than letting
the chain fall through to the next one. Secrets (secret keys, session tokens, web identity
and container tokens) never appear in a repr, str, log line or exception.
"""

from __future__ import annotations

from .credentials_base import (
    Credentials,
    CredentialSourceError,
    CredentialsProvider,
    EnvironmentCredentials,
    RefreshingCredentials,
    StaticCredentials,
    b2_credentials_from_env,
)
from .credentials_metadata import ContainerCredentials, InstanceMetadataCredentials
from .credentials_process import ProcessCredentials
from .credentials_profile import ChainProvider, ProfileCredentials, default_provider
from .credentials_sts import AssumeRoleCredentials, WebIdentityCredentials

__all__ = [
    "AssumeRoleCredentials",
    "ChainProvider",
    "ContainerCredentials",
    "CredentialSourceError",
    "Credentials",
    "CredentialsProvider",
    "EnvironmentCredentials",
    "InstanceMetadataCredentials",
    "ProcessCredentials",
    "ProfileCredentials",
    "RefreshingCredentials",
    "StaticCredentials",
    "WebIdentityCredentials",
    "b2_credentials_from_env",
    "default_provider",
]
