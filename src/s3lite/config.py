"""Settings from the environment and the shared AWS files, read only when asked.

The shared files are `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`), whose sections
are profile names, and `~/.aws/config` (`AWS_CONFIG_FILE`), whose sections are
`[default]`, `[profile NAME]` and `[services NAME]`. A profile's settings are the union of
both files; where both set a key, the credentials file wins. Parsed files are cached until
they change on disk. Error messages name files and line numbers, never values.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from .errors import S3LiteError

if TYPE_CHECKING:
    from configparser import RawConfigParser

__all__ = [
    "ConfigError",
    "SharedConfig",
    "ca_bundle",
    "ca_bundle_from_env",
    "config_file_path",
    "credentials_file_path",
    "endpoint_from_env",
    "endpoint_url",
    "is_true",
    "load",
    "profile_name",
    "region",
    "region_from_env",
    "retry_settings",
]

Section = Mapping[str, str]


class ConfigError(S3LiteError, ValueError):
    """A shared config or credentials file is malformed, or names a profile that is missing."""


# --- environment only -------------------------------------------------------------------------


def region_from_env() -> str | None:
    """AWS_REGION, then AWS_DEFAULT_REGION."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def endpoint_from_env(service: str = "s3") -> str | None:
    """AWS_ENDPOINT_URL_<SERVICE> (e.g. AWS_ENDPOINT_URL_S3), then AWS_ENDPOINT_URL."""
    if _ignore_configured_endpoints(None):
        return None
    env = os.environ
    return env.get(f"AWS_ENDPOINT_URL_{service.upper()}") or env.get("AWS_ENDPOINT_URL") or None


def ca_bundle_from_env() -> str | None:
    """AWS_CA_BUNDLE: a CA certificate file to verify TLS with."""
    return os.environ.get("AWS_CA_BUNDLE") or None


def is_true(value: str | None) -> bool:
    """Whether a setting (environment variable or file value) says `true`, in any case."""
    return (value or "").strip().lower() == "true"


# --- the shared files ---------------------------------------------------------------------


def credentials_file_path() -> str:
    """AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials."""
    return os.path.expanduser(
        os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join("~", ".aws", "credentials")
    )


def config_file_path() -> str:
    """AWS_CONFIG_FILE, else ~/.aws/config."""
    return os.path.expanduser(
        os.environ.get("AWS_CONFIG_FILE") or os.path.join("~", ".aws", "config")
    )


def profile_name(profile: str | None = None) -> str:
    """The profile to use: the argument, AWS_PROFILE, AWS_DEFAULT_PROFILE, else `default`."""
    return (
        profile
        or os.environ.get("AWS_PROFILE")
        or os.environ.get("AWS_DEFAULT_PROFILE")
        or "default"
    )


class SharedConfig:
    """The parsed shared credentials and config files."""

    __slots__ = ("config_path", "config_profiles", "credentials_path", "credentials_profiles",
                 "services")  # fmt: skip

    def __init__(
        self,
        credentials_path: str,
        config_path: str,
        credentials_profiles: Mapping[str, Section] | None = None,
        config_profiles: Mapping[str, Section] | None = None,
        services: Mapping[str, Mapping[str, Section]] | None = None,
    ) -> None:
        self.credentials_path = credentials_path
        self.config_path = config_path
        #: profile name -> settings, from the credentials file
        self.credentials_profiles: Mapping[str, Section] = credentials_profiles or {}
        #: profile name -> settings, from the config file
        self.config_profiles: Mapping[str, Section] = config_profiles or {}
        #: `[services NAME]` sections of the config file: NAME -> service id -> settings
        self.services: Mapping[str, Mapping[str, Section]] = services or {}

    def has_profile(self, name: str) -> bool:
        return name in self.credentials_profiles or name in self.config_profiles

    def profile(self, name: str) -> dict[str, str] | None:
        """A profile's settings (credentials file over config file), None if it is missing."""
        if not self.has_profile(name):
            return None
        merged = dict(self.config_profiles.get(name, {}))
        merged.update(self.credentials_profiles.get(name, {}))
        return merged

    def service_settings(self, profile: str, service: str) -> dict[str, str]:
        """Settings for one service: the `[services]` section the profile names, then the
        profile's own nested `service =` block."""
        settings = self.profile(profile) or {}
        result: dict[str, str] = {}
        services_name = settings.get("services")
        if services_name:
            result.update(self.services.get(services_name, {}).get(service, {}))
        nested = settings.get(service)
        if nested and nested.startswith("\n"):
            result.update(_sub_properties(nested))
        return result

    def describe(self) -> str:
        """Which files were read (for error messages)."""
        return ", ".join(
            f"{path}{'' if os.path.isfile(path) else ' (not found)'}"
            for path in (self.credentials_path, self.config_path)
        )


_CACHE: dict[str, tuple[tuple[int, int, int], RawConfigParser]] = {}
_CACHE_LOCK = threading.Lock()


def _read(path: str) -> RawConfigParser | None:
    """Parse one INI file (None if it does not exist); cached until it changes."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    with _CACHE_LOCK:
        cached = _CACHE.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    import configparser

    parser = configparser.RawConfigParser(
        delimiters=("=",),
        comment_prefixes=("#", ";"),
        inline_comment_prefixes=None,
        strict=False,  # repeated sections merge, a repeated key's last value wins
        empty_lines_in_values=False,
        default_section="\x00s3lite-no-default-section",  # [DEFAULT] is an ordinary profile
        interpolation=None,
    )
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise ConfigError(f"malformed {path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    try:
        parser.read_string(text, source=path)
    except configparser.MissingSectionHeaderError as exc:
        # The exception's text quotes the line, which may hold a secret: report its number.
        raise ConfigError(
            f"malformed {path}: line {exc.lineno} comes before any [section] header"
        ) from None
    except configparser.ParsingError as exc:
        lines = ", ".join(str(lineno) for lineno, _ in exc.errors[:5])
        raise ConfigError(
            f"malformed {path}: line(s) {lines} are neither [section] nor `key = value`"
        ) from None
    except configparser.Error as exc:
        raise ConfigError(f"malformed {path}: {type(exc).__name__}") from None
    with _CACHE_LOCK:
        _CACHE[path] = (stamp, parser)
    return parser


def _sub_properties(value: str) -> dict[str, str]:
    """The `key = value` lines of a nested block (`s3 =\\n  endpoint_url = ...`)."""
    result: dict[str, str] = {}
    for line in value.splitlines():
        key, sep, val = line.partition("=")
        if sep and key.strip():
            result[key.strip().lower()] = val.strip()
    return result


def load(*, credentials_file: str | None = None, config_file: str | None = None) -> SharedConfig:
    """Parse the shared files (missing files are empty); raises `ConfigError` if malformed."""
    cred_path = credentials_file or credentials_file_path()
    conf_path = config_file or config_file_path()
    cred_profiles: dict[str, Section] = {}
    conf_profiles: dict[str, Section] = {}
    services: dict[str, dict[str, Section]] = {}
    parser = _read(cred_path)
    if parser is not None:
        for section in parser.sections():
            name = section.strip()
            if name:
                cred_profiles[name] = dict(parser.items(section))
    parser = _read(conf_path)
    if parser is not None:
        bare_default: Section | None = None
        for section in parser.sections():
            kind, _, rest = section.strip().partition(" ")
            rest = rest.strip()
            if kind == "default" and not rest:
                bare_default = dict(parser.items(section))
            elif kind == "profile" and rest:
                conf_profiles[rest] = dict(parser.items(section))
            elif kind == "services" and rest:
                services[rest] = {
                    key: _sub_properties(val)
                    for key, val in parser.items(section)
                    if val.startswith("\n")
                }
            # Other sections ([sso-session x], bare names) are not profiles.
        if bare_default is not None and "default" not in conf_profiles:
            conf_profiles["default"] = bare_default  # [profile default] wins over [default]
    return SharedConfig(cred_path, conf_path, cred_profiles, conf_profiles, services)


def _profile_settings(profile: str | None) -> tuple[SharedConfig, dict[str, str]]:
    """The shared config and the active profile's settings ({} if the profile is missing).

    A profile passed explicitly must exist; one named by AWS_PROFILE or the default may not
    (the credential chain reports a missing AWS_PROFILE profile when it gets there).
    """
    shared = load()
    name = profile_name(profile)
    settings = shared.profile(name)
    if settings is None:
        if profile is not None:
            raise ConfigError(f"profile {profile!r} not found in {shared.describe()}")
        return shared, {}
    return shared, settings


def _ignore_configured_endpoints(settings: Mapping[str, str] | None) -> bool:
    if is_true(os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")):
        return True
    return settings is not None and is_true(settings.get("ignore_configured_endpoint_urls"))


def region(profile: str | None = None) -> str | None:
    """AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region`."""
    env = region_from_env()
    if env:
        return env
    _, settings = _profile_settings(profile)
    return settings.get("region") or None


def endpoint_url(service: str = "s3", profile: str | None = None) -> str | None:
    """The configured endpoint for a service, as the AWS SDKs resolve it.

    AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the service's `endpoint_url` in the
    profile's `[services]` section (or nested block), then the profile's `endpoint_url`.
    `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` (or `ignore_configured_endpoint_urls = true`
    in the profile) turns all of them off.
    """
    if _ignore_configured_endpoints(None):
        return None
    env = endpoint_from_env(service)
    if env:
        return env
    shared, settings = _profile_settings(profile)
    if not settings or _ignore_configured_endpoints(settings):
        return None
    name = profile_name(profile)
    return (
        shared.service_settings(name, service).get("endpoint_url")
        or settings.get("endpoint_url")
        or None
    )


def ca_bundle(profile: str | None = None) -> str | None:
    """AWS_CA_BUNDLE, then the profile's `ca_bundle`."""
    env = ca_bundle_from_env()
    if env:
        return env
    _, settings = _profile_settings(profile)
    value = settings.get("ca_bundle")
    return os.path.expanduser(value) if value else None


# --- retries -------------------------------------------------------------------------------

#: Total attempts when nothing sets them, per mode (botocore's: legacy mode made 5).
_DEFAULT_ATTEMPTS = {"standard": 3, "adaptive": 3, "legacy": 5}


def _retry_mode(value: str, where: str) -> str:
    mode = value.strip().lower()
    if mode not in _DEFAULT_ATTEMPTS:
        raise ConfigError(f"{where} must be 'standard', 'adaptive' or 'legacy', got {value!r}")
    return mode


def _max_attempts(value: str, where: str) -> int:
    try:
        attempts = int(value.strip())
    except ValueError:
        attempts = 0
    if attempts < 1:
        raise ConfigError(f"{where} must be a whole number >= 1 (the first attempt counts)")
    return attempts


def retry_settings(
    max_attempts: int | None = None,
    retry_mode: str | None = None,
    profile: str | None = None,
    *,
    default_attempts: int | None = None,
    use_profile: bool = True,
) -> tuple[int, Literal["standard", "adaptive"]]:
    """(total attempts, s3lite retry mode), resolved as botocore does.

    Each setting comes from the argument, then `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE`, then
    the profile's `max_attempts` / `retry_mode` (unless `use_profile` is False). Attempts
    count the first one. botocore's `legacy` mode runs as `standard` here, with legacy's
    default of 5 attempts; without any setting a session makes `default_attempts` (else 3).
    """
    env = os.environ
    settings: Mapping[str, str] = {}
    if use_profile and (
        (max_attempts is None and not env.get("AWS_MAX_ATTEMPTS"))
        or (retry_mode is None and not env.get("AWS_RETRY_MODE"))
    ):
        _, settings = _profile_settings(profile)
    where = f"profile {profile_name(profile)!r} in {config_file_path()}"
    if retry_mode is not None:
        if not isinstance(retry_mode, str):
            raise TypeError(f"retry_mode must be a str, not {type(retry_mode).__name__}")
        mode = _retry_mode(retry_mode, "retry_mode")
    elif env.get("AWS_RETRY_MODE"):
        mode = _retry_mode(env["AWS_RETRY_MODE"], "AWS_RETRY_MODE")
    elif settings.get("retry_mode"):
        mode = _retry_mode(settings["retry_mode"], f"retry_mode of {where}")
    else:
        mode = "standard"
    if max_attempts is not None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f"max_attempts must be an int >= 1, got {max_attempts!r}")
        attempts = max_attempts
    elif env.get("AWS_MAX_ATTEMPTS"):
        attempts = _max_attempts(env["AWS_MAX_ATTEMPTS"], "AWS_MAX_ATTEMPTS")
    elif settings.get("max_attempts"):
        attempts = _max_attempts(settings["max_attempts"], f"max_attempts of {where}")
    elif mode == "legacy":
        attempts = _DEFAULT_ATTEMPTS["legacy"]
    else:
        attempts = default_attempts or _DEFAULT_ATTEMPTS[mode]
    return attempts, ("adaptive" if mode == "adaptive" else "standard")
