"""Settings read from the environment (region, endpoint, CA bundle), read only when asked."""

from __future__ import annotations

import os

__all__ = ["ca_bundle_from_env", "endpoint_from_env", "region_from_env"]


def region_from_env() -> str | None:
    """AWS_REGION, then AWS_DEFAULT_REGION."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def endpoint_from_env() -> str | None:
    """AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def ca_bundle_from_env() -> str | None:
    """AWS_CA_BUNDLE: a CA certificate file to verify TLS with."""
    return os.environ.get("AWS_CA_BUNDLE") or None
