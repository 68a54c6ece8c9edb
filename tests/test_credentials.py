"""The AWS credential chain and the shared config files, against real servers.

STS is moto's (and `FakeSts` where a call's parameters, signature or errors must be seen);
the container and instance metadata endpoints are the loopback servers of
`metadata_servers`. Nothing here reaches 169.254.x.x.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import urllib3

from conftest import FAST_RETRY, MotoServer, new_bucket_name
from metadata_servers import SECRET_PREFIX, TOKEN_PREFIX, ContainerServer, FakeSts, ImdsServer
from s3lite import S3Session, config
from s3lite.credentials import (
    AssumeRoleCredentials,
    ChainProvider,
    ContainerCredentials,
    Credentials,
    CredentialSourceError,
    EnvironmentCredentials,
    InstanceMetadataCredentials,
    ProcessCredentials,
    ProfileCredentials,
    StaticCredentials,
    WebIdentityCredentials,
    b2_credentials_from_env,
    default_provider,
)
from s3lite.devserver import LocalSeaweedFS, free_port
from s3lite.errors import ExpiredToken, NoCredentialsError
from s3lite.signing import SigV4Auth

PROFILE_SECRET = "profile-secret-Zq8/+wJalr"
PROCESS_SECRET = "process-secret-Kp4/+xYq"
PROCESS_TOKEN = "process-token-Lm2/+zz=="
JWT = "web-identity-jwt-eyJhbGciOiJSUzI1NiJ9.payload.sig"
CONTAINER_TOKEN = "container-auth-Bearer-abc123"
#: Substrings of every secret the tests hand out: none may appear in a log line or error.
LEAK_MARKERS = (
    SECRET_PREFIX, TOKEN_PREFIX, PROFILE_SECRET, PROCESS_SECRET, PROCESS_TOKEN, JWT,
    CONTAINER_TOKEN,
)  # fmt: skip
ROLE = "arn:aws:iam::123456789012:role/s3lite-test"


def assert_no_secret(text: str) -> str:
    for marker in LEAK_MARKERS:
        assert marker not in text, f"secret {marker!r} leaked into: {text}"
    return text


def error_text(exc: BaseException) -> str:
    """Everything an error shows: message, repr and the formatted traceback with causes."""
    return assert_no_secret(
        str(exc)
        + repr(exc)
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    )


@dataclass
class AwsFiles:
    credentials_path: Path
    config_path: Path

    def credentials(self, text: str) -> None:
        self.credentials_path.write_text(textwrap.dedent(text))

    def config(self, text: str) -> None:
        self.config_path.write_text(textwrap.dedent(text))


@pytest.fixture(autouse=True)
def files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AwsFiles:
    """Fresh (absent) shared files for each test."""
    aws = AwsFiles(tmp_path / "aws-credentials", tmp_path / "aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws.credentials_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws.config_path))
    return aws


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG, logger="s3lite")
    yield
    for record in caplog.records:
        assert_no_secret(record.getMessage())


def process_command(tmp_path: Path, body: str, *args: str) -> str:
    """A credential_process command: a Python script in a directory with a space in its name
    (so the command must be split with shlex, not on white space)."""
    directory = tmp_path / "bin dir"
    directory.mkdir(exist_ok=True)
    script = directory / f"creds_{uuid.uuid4().hex[:8]}.py"
    script.write_text(textwrap.dedent(body))
    return " ".join(f'"{part}"' for part in (sys.executable, str(script), *args))


PROCESS_SCRIPT = """
    import json, pathlib, sys, time
    key, secret = sys.argv[1], sys.argv[2]
    token = sys.argv[3] if len(sys.argv) > 3 else None
    counter = pathlib.Path(__file__).with_suffix(".count")
    n = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(n))
    doc = {"Version": 1, "AccessKeyId": key, "SecretAccessKey": secret}
    if token:
        doc["SessionToken"] = token
        doc["Expiration"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    print(json.dumps(doc))
"""


# --- config: profiles, region, endpoint, CA bundle ----------------------------------------------


def test_profiles_region_and_endpoint_precedence(
    files: AwsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    files.credentials(f"""
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = {PROFILE_SECRET}
        region = eu-central-1

        [dev]
        aws_access_key_id = AKIDDEV
        aws_secret_access_key = {PROFILE_SECRET}
    """)
    files.config("""
        # comments and blank lines are fine
        [default]
        region = us-west-2
        endpoint_url = http://default.example:1
        ca_bundle = ~/bundle.pem

        [profile dev]
        region = ap-south-1
        services = local
        endpoint_url = http://global.example:2

        [services local]
        s3 =
          endpoint_url = http://s3.example:3
        sts =
          endpoint_url = http://sts.example:4

        [orphan]
        region = nowhere-1
    """)
    # The credentials file wins over the config file for the same profile.
    assert config.region() == "eu-central-1"
    assert config.region("dev") == "ap-south-1"
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert config.region() == "ap-south-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    assert config.region() == "sa-east-1"
    monkeypatch.setenv("AWS_REGION", "ca-central-1")
    assert config.region() == "ca-central-1"
    monkeypatch.delenv("AWS_PROFILE")

    # services section, then the profile's endpoint_url; env vars over both.
    assert config.endpoint_url("s3", "dev") == "http://s3.example:3"
    assert config.endpoint_url("sts", "dev") == "http://sts.example:4"
    assert config.endpoint_url("iam", "dev") == "http://global.example:2"
    assert config.endpoint_url("s3") == "http://default.example:1"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://env-global.example")
    assert config.endpoint_url("s3", "dev") == "http://env-global.example"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://env-s3.example")
    assert config.endpoint_url("s3", "dev") == "http://env-s3.example"
    assert config.endpoint_url("sts", "dev") == "http://env-global.example"
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert config.endpoint_url("s3", "dev") is None
    monkeypatch.delenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")

    bundle = config.ca_bundle()
    assert bundle is not None and bundle.endswith("bundle.pem") and "~" not in bundle
    monkeypatch.setenv("AWS_CA_BUNDLE", "/etc/env-bundle.pem")
    assert config.ca_bundle() == "/etc/env-bundle.pem"

    shared = config.load()
    assert not shared.has_profile("orphan")  # bare names in the config file are not profiles
    assert sorted(shared.credentials_profiles) == ["default", "dev"]


def test_session_takes_region_and_endpoint_from_the_profile(
    files: AwsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    files.config("""
        [default]
        region = us-west-2

        [profile default]
        region = eu-west-3

        [profile dev]
        region = ap-south-1
        s3 =
          endpoint_url = http://nested.example:9
    """)
    # [profile default] wins over [default]
    assert S3Session(anonymous=True).region == "eu-west-3"
    dev = S3Session(anonymous=True, profile="dev")
    assert (dev.region, dev.endpoint_url) == ("ap-south-1", "http://nested.example:9")
    # arguments win
    dev = S3Session(anonymous=True, profile="dev", region="us-east-2", endpoint_url="http://x:1")
    assert (dev.region, dev.endpoint_url) == ("us-east-2", "http://x:1")
    with pytest.raises(config.ConfigError, match="'nope' not found"):
        S3Session(anonymous=True, profile="nope")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"aws_secret_access_key = {PROFILE_SECRET}\n[default]\n", "line 1"),
        (f"[default]\naws_access_key_id = AKID\naws_secret_access_key {PROFILE_SECRET}\n", "3"),
    ],
)
def test_malformed_file_is_reported_by_line_without_its_content(
    files: AwsFiles, text: str, line: str
) -> None:
    files.credentials_path.write_text(text)
    with pytest.raises(config.ConfigError) as info:
        S3Session()  # the region lookup reads the files
    assert str(files.credentials_path) in str(info.value) and line in str(info.value)
    error_text(info.value)
    # Through the chain, the error also says which sources were tried before.
    with pytest.raises(CredentialSourceError) as chain_info:
        default_provider().get()
    text = error_text(chain_info.value)
    assert "malformed" in text and "EnvironmentCredentials" in text


# --- the chain: missing and broken sources ----------------------------------------------------


def test_no_credentials_names_every_source_tried(files: AwsFiles) -> None:
    with pytest.raises(NoCredentialsError) as info:
        default_provider().get()
    text = str(info.value)
    for part in (
        "EnvironmentCredentials",
        "AWS_ACCESS_KEY_ID",
        "WebIdentityCredentials",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "ProfileCredentials",
        "no profile 'default'",
        str(files.credentials_path),
        "not found",
        "ContainerCredentials",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "InstanceMetadataCredentials",
        "AWS_EC2_METADATA_DISABLED",
    ):
        assert part in text, (part, text)
    assert not isinstance(info.value, CredentialSourceError)
    # ... and so does a session that needs them.
    session = S3Session(endpoint_url=f"http://127.0.0.1:{free_port()}", bucket="bucket-ok")
    with pytest.raises(NoCredentialsError, match="ContainerCredentials"):
        session.get_object("k")


def test_profile_without_credentials_falls_through(files: AwsFiles) -> None:
    files.config("[default]\nregion = eu-west-1\n")
    with pytest.raises(NoCredentialsError, match="profile 'default' has no credentials"):
        default_provider().get()


@dataclass
class Ctx:
    monkeypatch: pytest.MonkeyPatch
    files: AwsFiles
    tmp_path: Path
    stack: ExitStack


def _role_profile(ctx: Ctx, extra: str) -> None:
    ctx.files.config(f"[profile base]\naws_access_key_id = AKID\naws_secret_access_key = "
                     f"{PROFILE_SECRET}\n[default]\nrole_arn = {ROLE}\n{extra}\n")  # fmt: skip


def _process(ctx: Ctx, body: str, *args: str) -> None:
    ctx.files.config(
        f"[default]\ncredential_process = {process_command(ctx.tmp_path, body, *args)}\n"
    )


def _container(ctx: Ctx, server: ContainerServer, *, token: str | None = None) -> None:
    ctx.stack.enter_context(server)
    ctx.monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + server.path)
    if token:
        ctx.monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)


def _sts(ctx: Ctx, **attrs: object) -> None:
    sts = ctx.stack.enter_context(FakeSts())
    for name, value in attrs.items():
        setattr(sts, name, value)
    ctx.monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
    _role_profile(ctx, "source_profile = base")


def _env(ctx: Ctx, **values: str) -> None:
    for name, value in values.items():
        ctx.monkeypatch.setenv(name, value)


def _broken_container(ctx: Ctx) -> None:
    server = ContainerServer()
    server.broken = True
    _container(ctx, server)


BROKEN: dict[str, tuple[Callable[[Ctx], None], tuple[str, ...]]] = {
    "env-partial": (
        lambda c: c.monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",),
    ),
    "web-identity-partial": (
        lambda c: c.monkeypatch.setenv("AWS_ROLE_ARN", ROLE),
        ("AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not",),
    ),
    "web-identity-no-token-file": (
        lambda c: _env(c, AWS_ROLE_ARN=ROLE, AWS_WEB_IDENTITY_TOKEN_FILE=f"{c.tmp_path}/x.jwt"),
        ("cannot read the token file", "x.jwt"),
    ),
    "profile-key-without-secret": (
        lambda c: c.files.credentials("[default]\naws_access_key_id = AKID\n"),
        ("profile 'default' has aws_access_key_id but no aws_secret_access_key",),
    ),
    "aws-profile-missing": (
        lambda c: c.monkeypatch.setenv("AWS_PROFILE", "ghost"),
        ("profile 'ghost' not found",),
    ),
    "role-without-source": (
        lambda c: _role_profile(c, ""),
        ("has role_arn but no source_profile",),
    ),
    "source-profile-loop": (
        lambda c: c.files.config(
            f"[default]\nrole_arn = {ROLE}\nsource_profile = a\n"
            f"[profile a]\nrole_arn = {ROLE}\nsource_profile = b\n"
            f"[profile b]\nrole_arn = {ROLE}\nsource_profile = a\n"
        ),
        ("source_profile loop: default -> a -> b -> a",),
    ),
    "source-profile-missing": (
        lambda c: _role_profile(c, "source_profile = nowhere"),
        ("names source_profile 'nowhere'",),
    ),
    "mfa": (
        lambda c: _role_profile(c, "source_profile = base\nmfa_serial = arn:aws:iam::1:mfa/u"),
        ("MFA",),
    ),
    "bad-credential-source": (
        lambda c: _role_profile(c, "credential_source = Bogus"),
        ("credential_source must be",),
    ),
    "bad-duration": (
        lambda c: _role_profile(c, "source_profile = base\nduration_seconds = forever"),
        ("duration_seconds",),
    ),
    "sso": (
        lambda c: c.files.config("[default]\nsso_session = corp\nsso_account_id = 1\n"),
        ("IAM Identity Center", "export-credentials"),
    ),
    "process-fails": (
        lambda c: _process(
            c, f"import sys\nprint({PROCESS_SECRET!r})\nsys.exit('token expired, run login')"
        ),
        ("exited with status 1", "token expired, run login", "credential_process"),
    ),
    "process-bad-json": (
        lambda c: _process(c, f'print(\'{{"Version": 1, "SecretAccessKey": "{PROCESS_SECRET}"\')'),
        ("not valid JSON",),
    ),
    "process-version": (
        lambda c: _process(
            c, PROCESS_SCRIPT.replace('"Version": 1', '"Version": 2'), "AKID", PROCESS_SECRET
        ),
        ("not Version 1",),
    ),
    "process-missing-field": (
        lambda c: _process(c, 'print(\'{"Version": 1, "AccessKeyId": "AKID"}\')'),
        ("no SecretAccessKey",),
    ),
    "process-not-found": (
        lambda c: c.files.config("[default]\ncredential_process = /nonexistent/helper --x\n"),
        ("program not found", "/nonexistent/helper"),
    ),
    "container-not-allowed-host": (
        lambda c: c.monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/c"),
        ("must be https, or http to a loopback address",),
    ),
    "container-wrong-token": (
        lambda c: _container(c, ContainerServer(token="the-right-one"), token=CONTAINER_TOKEN),
        ("HTTP 401", "bad authorization token"),
    ),
    "container-bad-json": (_broken_container, ("not valid JSON",)),
    "sts-error": (
        lambda c: _sts(c, error=(403, "AccessDenied", "not authorized to assume the role")),
        ("STS AssumeRole failed", "AccessDenied", "not authorized"),
    ),
    "sts-dtd": (lambda c: _sts(c, dtd=True), ("DTD",)),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_source_fails_loudly(
    case: str, files: AwsFiles, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    setup, fragments = BROKEN[case]
    with ExitStack() as stack:
        setup(Ctx(monkeypatch, files, tmp_path, stack))
        with pytest.raises(CredentialSourceError) as info:
            default_provider().get()
    text = error_text(info.value)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, text)
    if case != "env-partial":  # the sources before the broken one are named too
        assert "tried before it" in str(info.value) and "EnvironmentCredentials" in str(info.value)
    assert isinstance(info.value, NoCredentialsError)


# --- environment, explicit profiles, B2 ---------------------------------------------------


def test_environment_and_explicit_profile(files: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    files.credentials(
        f"[work]\naws_access_key_id = AKIDWORK\naws_secret_access_key = {PROFILE_SECRET}\n"
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-token")
    chain = default_provider()
    creds = chain.get()
    assert creds == Credentials("AKIDENV", "env-secret", "env-token")
    assert isinstance(chain.provider, EnvironmentCredentials)
    # AWS_PROFILE does not beat environment keys, an explicit profile does.
    monkeypatch.setenv("AWS_PROFILE", "work")
    assert default_provider().get() == Credentials("AKIDENV", "env-secret", "env-token")
    explicit = default_provider("work")
    assert explicit.get() == Credentials("AKIDWORK", PROFILE_SECRET)
    assert "AKIDWORK" in repr(explicit)
    assert_no_secret(repr(explicit) + str(explicit.get()))


def test_b2_credentials_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert b2_credentials_from_env() is None
    monkeypatch.setenv("B2_APPLICATION_KEY_ID", "0012345")
    with pytest.raises(CredentialSourceError, match="B2_APPLICATION_KEY is not"):
        b2_credentials_from_env()
    monkeypatch.setenv("B2_APPLICATION_KEY", "K001secret")
    assert b2_credentials_from_env() == ("0012345", "K001secret")


def test_import_stays_cheap() -> None:
    code = (
        "import sys, s3lite, s3lite.credentials, s3lite.config\n"
        "heavy = {'configparser', 'json', 'subprocess', 'shlex', 'xml.etree.ElementTree', "
        "'urllib3'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- credential_process ---------------------------------------------------------------------


def test_credential_process(files: AwsFiles, tmp_path: Path) -> None:
    command = process_command(tmp_path, PROCESS_SCRIPT, "AKIDPROC", PROCESS_SECRET, PROCESS_TOKEN)
    files.config(f"[profile tool]\ncredential_process = {command}\n")
    provider = ProfileCredentials("tool")
    creds = provider.get()
    assert creds is not None
    assert (creds.access_key, creds.secret_key, creds.token) == (
        "AKIDPROC", PROCESS_SECRET, PROCESS_TOKEN,
    )  # fmt: skip
    assert creds.expires_at is not None and 3500 < creds.expires_at - time.time() <= 3600
    assert provider.get() is creds  # cached until it nears expiry
    counter = next((tmp_path / "bin dir").glob("*.count"))
    assert counter.read_text() == "1"
    # An ExpiredToken answer makes the signer refresh: the process runs again.
    auth = SigV4Auth(provider, "us-east-1")
    assert auth.refresh(ExpiredToken(400, "ExpiredToken", "The provided token has expired."))
    assert counter.read_text() == "2"
    assert_no_secret(repr(provider))


# --- STS: assumed roles and web identity ------------------------------------------------------


def test_assume_role_chain_via_moto(
    moto: MotoServer, files: AwsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto.endpoint_url)
    files.credentials(
        f"[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = {PROFILE_SECRET}\n"
    )
    files.config(f"""
        [profile middle]
        role_arn = {ROLE}-middle
        source_profile = base

        [profile top]
        role_arn = {ROLE}-top
        source_profile = middle
        role_session_name = s3lite-tests
        external_id = ext-42
        duration_seconds = 900
    """)
    provider = ProfileCredentials("top")
    creds = provider.get()
    assert creds is not None and creds.token and creds.access_key.startswith("ASIA")
    assert creds.expires_at is not None and 800 < creds.expires_at - time.time() <= 900
    text = repr(provider)
    assert f"{ROLE}-top" in text and f"{ROLE}-middle" in text and "AKIDBASE" in text
    assert_no_secret(text)


def test_assume_role_request_parameters_and_signature(
    files: AwsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The AssumeRole call carries the profile's parameters and a SigV4 signature (service
    sts) that botocore computes the same."""
    from botocore.auth import SigV4Auth as BotoSigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    files.credentials("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n")
    files.config(f"""
        [profile role]
        role_arn = {ROLE}
        source_profile = base
        role_session_name = my-session
        external_id = ext-42
        duration_seconds = 1800
        region = eu-west-1
    """)
    with FakeSts() as sts:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
        creds = ProfileCredentials("role").get()
    assert creds is not None and creds.access_key == sts.issued[0].access_key
    assert sts.calls == [
        {
            "Action": "AssumeRole",
            "Version": "2011-06-15",
            "RoleArn": ROLE,
            "RoleSessionName": "my-session",
            "ExternalId": "ext-42",
            "DurationSeconds": "1800",
        }
    ]
    rec = sts.requests[0]
    amz = rec.headers["x-amz-date"]
    assert (
        f"Credential=AKIDBASE/{amz[:8]}/eu-west-1/sts/aws4_request" in rec.headers["authorization"]
    )
    request = AWSRequest(
        "POST", sts.url + "/", data=rec.body,
        headers={"Content-Type": rec.headers["content-type"], "X-Amz-Date": amz},
    )  # fmt: skip
    request.context["timestamp"] = amz
    boto = BotoSigV4Auth(BotoCredentials("AKIDBASE", "base-secret"), "sts", "eu-west-1")
    expected = boto.signature(
        boto.string_to_sign(request, boto.canonical_request(request)), request
    )
    assert rec.headers["authorization"].endswith(f"Signature={expected}")


def test_web_identity_from_env_via_moto(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token_file = tmp_path / "token.jwt"
    token_file.write_text(JWT + "\n")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint_url)
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ROLE_ARN", ROLE)
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "ci-job")
    chain = default_provider()
    creds = chain.get()
    assert creds is not None and creds.token and creds.expires_at
    assert isinstance(chain.provider, WebIdentityCredentials)
    assert_no_secret(repr(chain))


def test_web_identity_is_unsigned_and_rereads_the_token(
    files: AwsFiles, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token_file = tmp_path / "token.jwt"
    token_file.write_text(JWT + "-1")
    files.config(f"[profile wi]\nrole_arn = {ROLE}\nweb_identity_token_file = {token_file}\n")
    with FakeSts() as sts:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
        provider = ProfileCredentials("wi")
        first = provider.get()
        token_file.write_text(JWT + "-2")  # rotated by the platform
        provider.refresh()
        second = provider.get()
    assert first is not None and second is not None and first != second
    assert [c["WebIdentityToken"] for c in sts.calls] == [JWT + "-1", JWT + "-2"]
    assert all(c["Action"] == "AssumeRoleWithWebIdentity" for c in sts.calls)
    assert all("authorization" not in r.headers for r in sts.requests)


# --- container credentials --------------------------------------------------------------------


def test_container_relative_uri_targets_the_ecs_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc")
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/ignored")
    assert ContainerCredentials()._endpoint() == (
        "http://169.254.170.2/v2/credentials/abc",
        None,
        None,
    )


def test_container_credentials_with_token_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token_file = tmp_path / "eks-token"
    token_file.write_text(CONTAINER_TOKEN + "-file-1\n")
    with ContainerServer(token=CONTAINER_TOKEN + "-file-1") as server:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url + server.path)
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", CONTAINER_TOKEN + "-env")
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token_file))
        chain = default_provider()
        creds = chain.get()
        assert creds is not None and creds.access_key == server.issued[0].access_key
        assert creds.token == server.issued[0].token
        assert isinstance(chain.provider, ContainerCredentials)
        # The token file wins over the variable and is read again on each refresh.
        token_file.write_text(CONTAINER_TOKEN + "-file-2\n")
        server.token = CONTAINER_TOKEN + "-file-2"
        chain.refresh()
        assert chain.get() == Credentials(
            server.issued[1].access_key, server.issued[1].secret_key, server.issued[1].token,
            pytest.approx(server.issued[1].expires_at, abs=1),  # type: ignore[arg-type]
        )  # fmt: skip
    assert server.authorizations == [CONTAINER_TOKEN + "-file-1", CONTAINER_TOKEN + "-file-2"]


def _wait_until(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.time()))


def test_mandatory_refresh_is_done_once_for_sixteen_threads() -> None:
    with ContainerServer() as server:
        server.lifetime = 1.6
        provider = ContainerCredentials(
            server.url + server.path, advisory_refresh=1.2, mandatory_refresh=0.6
        )
        first = provider.get()
        assert first is not None and first.expires_at is not None
        assert provider.get() is first
        _wait_until(first.expires_at - 0.5)  # inside the mandatory window
        server.delay = 0.3
        barrier = threading.Barrier(16)
        results: list[Credentials | None] = []

        def worker() -> None:
            barrier.wait()
            results.append(provider.get())

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert server.count("GET") == 2  # exactly one refresh reached the server
        second = results[0]
        assert second is not None and second != first
        assert all(r is second for r in results)
        assert second.expires_at is not None and second.expires_at > time.time()


def test_advisory_refresh_does_not_block_other_threads() -> None:
    with ContainerServer() as server:
        server.lifetime = 1.6
        provider = ContainerCredentials(
            server.url + server.path, advisory_refresh=1.2, mandatory_refresh=0.3
        )
        first = provider.get()
        assert first is not None and first.expires_at is not None
        _wait_until(first.expires_at - 1.1)  # inside the advisory window
        server.delay = 0.5
        barrier = threading.Barrier(16)
        results: list[tuple[Credentials | None, float]] = []

        def worker() -> None:
            barrier.wait()
            start = time.monotonic()
            creds = provider.get()
            results.append((creds, time.monotonic() - start))

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert server.count("GET") == 2
        waited = [r for r in results if r[0] is not first]
        assert len(waited) == 1  # the one thread that refreshed
        assert all(elapsed < 0.3 for creds, elapsed in results if creds is first)
        assert provider.get() is waited[0][0]


def test_failed_refresh_keeps_valid_credentials_then_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with ContainerServer(token=CONTAINER_TOKEN) as server:
        server.lifetime = 1.5
        provider = ContainerCredentials(
            server.url + server.path, auth_token=CONTAINER_TOKEN,
            advisory_refresh=1.2, mandatory_refresh=0.6,
        )  # fmt: skip
        first = provider.get()
        assert first is not None and first.expires_at is not None
        server.broken = True
        _wait_until(first.expires_at - 1.0)  # advisory window: keep them, log at DEBUG
        assert provider.get() is first
        assert any(
            r.levelno == logging.DEBUG and "failed; still using" in r.getMessage()
            for r in caplog.records
        )
        _wait_until(first.expires_at - 0.4)  # mandatory window: they still work, WARNING
        assert provider.get() is first
        assert any(r.levelno == logging.WARNING for r in caplog.records)
        _wait_until(first.expires_at + 0.05)  # expired: the error reaches the caller
        with pytest.raises(CredentialSourceError, match="not valid JSON"):
            provider.get()
        server.broken = False
        creds = provider.get()
        assert creds is not None and creds.expires_at is not None
        assert creds.expires_at > time.time()


def test_forced_refresh_by_many_threads_fetches_once() -> None:
    with ContainerServer() as server:
        chain = ChainProvider(
            [EnvironmentCredentials(), ContainerCredentials(server.url + server.path)]
        )
        first = chain.get()
        server.delay = 0.3
        barrier = threading.Barrier(8)
        auth = SigV4Auth(chain, "us-east-1")

        def worker() -> None:
            barrier.wait()
            assert auth.refresh(ExpiredToken(400, "ExpiredToken", "expired"))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert server.count("GET") == 2
        assert chain.get() not in (None, first)


# --- EC2 instance metadata ----------------------------------------------------------------------


def test_imds_v2_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    with ImdsServer() as server:
        # The server follows the protocol: no token, no metadata.
        response = urllib3.request("GET", server.url + server.ROLE_PATH, retries=False)
        assert response.status == 401
        monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.url)
        chain = default_provider()
        creds = chain.get()
        assert isinstance(chain.provider, InstanceMetadataCredentials)
        issued = server.issued[0]
        assert creds is not None
        assert (creds.access_key, creds.secret_key, creds.token) == (
            issued.access_key, issued.secret_key, issued.token,
        )  # fmt: skip
        assert creds.expires_at == pytest.approx(issued.expires_at, abs=1)
        assert server.ttls == [21600]
        gets = [r for r in server.requests if r.method == "GET"][1:]
        assert len(gets) == 2 and all("x-aws-ec2-metadata-token" in r.headers for r in gets)
        chain.refresh()  # a refresh asks for a new token and the credentials again
        assert server.ttls == [21600, 21600] and server.credential_calls() == 2
        assert_no_secret(repr(chain))


def test_imds_absent_disabled_v1_and_no_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    nothing = InstanceMetadataCredentials(f"http://127.0.0.1:{free_port()}")
    start = time.monotonic()
    assert nothing.get() is None
    assert time.monotonic() - start < 3
    assert nothing.unavailable is not None and "no instance metadata service" in nothing.unavailable
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    disabled = InstanceMetadataCredentials()
    assert (
        disabled.get() is None and disabled.unavailable == "disabled by AWS_EC2_METADATA_DISABLED"
    )
    with ImdsServer() as server:
        server.token_status, server.v1 = 404, True  # an old IMDS without tokens
        assert InstanceMetadataCredentials(server.url).get() is not None
        monkeypatch.setenv("AWS_EC2_METADATA_V1_DISABLED", "true")
        assert InstanceMetadataCredentials(server.url).get() is None
    with ImdsServer(role=None) as server:
        no_role = InstanceMetadataCredentials(server.url)
        assert no_role.get() is None and "no IAM role" in (no_role.unavailable or "")
    with ImdsServer() as server:
        server.code = "Failure"
        with pytest.raises(CredentialSourceError, match="Failure"):
            InstanceMetadataCredentials(server.url).get()


# --- end to end: a session without keys makes real requests ---------------------------------


def _round_trip(session: S3Session) -> None:
    bucket = new_bucket_name("cred")
    session.create_bucket(bucket)
    try:
        session.put_object("hello.txt", b"from the chain", bucket=bucket)
        assert session.get_object("hello.txt", bucket=bucket).data == b"from the chain"
    finally:
        session.delete_objects(prefix="", bucket=bucket)
        session.delete_bucket(bucket)
    assert_no_secret(repr(session.credentials) + repr(session))


def test_session_with_keys_from_the_environment(
    seaweed: LocalSeaweedFS, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    _round_trip(S3Session(endpoint_url=seaweed.endpoint_url, **FAST_RETRY))


def test_session_with_a_profile_file(seaweed: LocalSeaweedFS, files: AwsFiles) -> None:
    files.credentials(f"""
        [weed]
        aws_access_key_id = {seaweed.access_key}
        aws_secret_access_key = {seaweed.secret_key}
    """)
    files.config(f"[profile weed]\nregion = eu-north-1\nendpoint_url = {seaweed.endpoint_url}\n")
    session = S3Session(profile="weed", **FAST_RETRY)
    assert (session.region, session.endpoint_url) == ("eu-north-1", seaweed.endpoint_url)
    _round_trip(session)


def test_session_with_credential_process(
    seaweed: LocalSeaweedFS, files: AwsFiles, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    command = process_command(tmp_path, PROCESS_SCRIPT, seaweed.access_key, seaweed.secret_key)
    files.config(f"[profile tool]\ncredential_process = {command}\n")
    monkeypatch.setenv("AWS_PROFILE", "tool")
    session = S3Session(endpoint_url=seaweed.endpoint_url, **FAST_RETRY)
    _round_trip(session)
    assert isinstance(session.credentials, ChainProvider)
    assert isinstance(session.credentials.provider, ProfileCredentials)


def test_session_with_a_role_assumed_via_moto_sts(
    moto: MotoServer, files: AwsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint_url)  # both S3 and STS
    files.credentials(
        f"[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = {PROFILE_SECRET}\n"
    )
    files.config(f"[profile role]\nrole_arn = {ROLE}\nsource_profile = base\n")
    session = S3Session(profile="role", **FAST_RETRY)
    _round_trip(session)
    creds = session.credentials.get()
    assert creds is not None and creds.access_key.startswith("ASIA") and creds.token
    assert isinstance(session.credentials, ChainProvider)
    assert "AssumeRoleCredentials" in repr(session.credentials)


def test_static_and_assume_role_reprs_hide_secrets() -> None:
    source = StaticCredentials(Credentials("AKIDSRC", PROFILE_SECRET, TOKEN_PREFIX + "x"))
    provider = AssumeRoleCredentials(ROLE, source, external_id="e")
    process = ProcessCredentials(f"helper --secret {PROCESS_SECRET}")
    for obj in (source, provider, process, ProfileCredentials("p"), default_provider()):
        assert_no_secret(repr(obj) + str(obj))
    assert "helper" in repr(process)
