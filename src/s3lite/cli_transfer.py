"""Object options of the command line (aws-cli spellings) and the one-request download of
small objects that makes `cp -r` and `sync` of many small files fast.

Upload options become `upload_file`/`copy_object` arguments and headers: `--storage-class`,
`--acl`, `--sse`, `--sse-kms-key-id`, `--sse-c`/`--sse-c-key`, `--metadata`,
`--cache-control`, `--content-encoding`, `--expires`, `--metadata-directive`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
from collections.abc import Callable
from typing import Any

__all__ = [
    "add_object_options",
    "copy_kwargs",
    "download_headers",
    "sse_c_headers",
    "upload_kwargs",
]

_SSE_C = "x-amz-server-side-encryption-customer-"
_SSE_C_COPY = "x-amz-copy-source-server-side-encryption-customer-"


class _Secret(str):
    """A key given on the command line: kept out of reprs (a Namespace printed in a
    traceback shows `<hidden>`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<hidden>'"


def _secret(text: str) -> _Secret:
    """argparse type of the key options: the value, hidden from reprs."""
    return _Secret(text)


def _metadata_pair(text: str) -> tuple[str, str]:
    """`KEY=VALUE` as (KEY, VALUE); the value may be empty, the key may not."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return name.strip(), value


class _MetadataAction(argparse.Action):
    """`--metadata a=1 --metadata b=2` or `--metadata a=1,b=2`; aws-cli's JSON form too."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        import json

        found = dict(getattr(namespace, self.dest, None) or {})
        text = str(values)
        if text.lstrip().startswith("{"):
            try:
                doc = json.loads(text)
            except ValueError as exc:
                parser.error(f"--metadata: not valid JSON: {exc}")
            if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
                parser.error("--metadata JSON must be an object of strings")
            found.update(doc)
        else:
            for piece in text.split(","):
                try:
                    name, value = _metadata_pair(piece)
                except argparse.ArgumentTypeError as exc:
                    parser.error(f"--metadata: {exc}")
                found[name] = value
        setattr(namespace, self.dest, found)


def add_object_options(parser: argparse.ArgumentParser, *, copies: bool = True) -> None:
    """The options that set what an uploaded or copied object carries."""
    group = parser.add_argument_group("object options (uploads and copies)")
    group.add_argument(
        "--content-type", metavar="TYPE", help="Content-Type of uploads (default: guessed)"
    )
    group.add_argument(
        "--storage-class", metavar="CLASS", type=str.upper,
        help="e.g. STANDARD, STANDARD_IA, GLACIER_IR, INTELLIGENT_TIERING (S3)",
    )  # fmt: skip
    group.add_argument(
        "--acl", metavar="ACL",
        choices=["private", "public-read", "public-read-write", "authenticated-read",
                 "aws-exec-read", "bucket-owner-read", "bucket-owner-full-control"],
        help="a canned ACL, e.g. private, public-read, bucket-owner-full-control (S3)",
    )  # fmt: skip
    group.add_argument(
        "--sse", metavar="ALG", nargs="?", const="AES256", choices=["AES256", "aws:kms"],
        help="server-side encryption: AES256 (the default if no value) or aws:kms (S3)",
    )  # fmt: skip
    group.add_argument(
        "--sse-kms-key-id", metavar="KEY_ID", help="the KMS key for --sse aws:kms (S3)"
    )
    group.add_argument(
        "--sse-c", metavar="ALG", nargs="?", const="AES256", choices=["AES256"],
        help="encrypt (uploads) or decrypt (downloads) with your own key: AES256 (S3)",
    )  # fmt: skip
    group.add_argument(
        "--sse-c-key", metavar="KEY", type=_secret,
        help="the 32-byte key for --sse-c, as text, or fileb://PATH to read it from a file",
    )  # fmt: skip
    if copies:
        group.add_argument(
            "--sse-c-copy-source", metavar="ALG", nargs="?", const="AES256", choices=["AES256"],
            help="the source of a remote copy is encrypted with your own key (S3)",
        )  # fmt: skip
        group.add_argument(
            "--sse-c-copy-source-key", metavar="KEY", type=_secret,
            help="that key: text or fileb://PATH",
        )  # fmt: skip
    group.add_argument(
        "--metadata", metavar="KEY=VALUE", action=_MetadataAction, dest="metadata",
        help="user metadata (x-amz-meta-KEY); repeat, or KEY=V,KEY2=V2, or JSON",
    )  # fmt: skip
    group.add_argument("--cache-control", metavar="TEXT", help="the Cache-Control header")
    group.add_argument(
        "--content-encoding", metavar="TEXT", help="the Content-Encoding header, e.g. gzip"
    )
    group.add_argument(
        "--expires", metavar="DATE", dest="object_expires",
        help="the Expires header: an HTTP date or ISO 8601 time",
    )  # fmt: skip
    if copies:
        group.add_argument(
            "--metadata-directive", metavar="MODE", type=str.upper, choices=["COPY", "REPLACE"],
            help="remote copies: COPY the source's metadata (default) or REPLACE it",
        )  # fmt: skip


class OptionError(ValueError):
    """An object option that cannot apply here (shown as a usage error)."""


def _key_bytes(value: str, option: str) -> bytes:
    """An SSE-C key from the command line (text, or fileb://PATH): exactly 32 bytes."""
    if value.startswith("fileb://"):
        path = value[len("fileb://") :]
        try:
            with open(os.path.expanduser(path), "rb") as f:
                key = f.read()
        except OSError as exc:
            raise OptionError(f"{option}: cannot read {path}: {exc.strerror}") from None
    else:
        key = value.encode("utf-8")
    if len(key) != 32:
        raise OptionError(f"{option} must be 32 bytes (AES-256), got {len(key)}")
    return key


def sse_c_headers(key: bytes, *, copy_source: bool = False) -> dict[str, str]:
    """The SSE-C request headers for a 32-byte key: algorithm, base64 key, base64 key MD5."""
    prefix = _SSE_C_COPY if copy_source else _SSE_C
    return {
        prefix + "algorithm": "AES256",
        prefix + "key": base64.b64encode(key).decode(),
        prefix + "key-MD5": base64.b64encode(hashlib.md5(key).digest()).decode(),  # noqa: S324
    }


def _sse_c(args: argparse.Namespace, *, copy_source: bool = False) -> dict[str, str]:
    """The SSE-C headers the options ask for (the copy source's with `copy_source`)."""
    alg_name, key_name = (
        ("sse_c_copy_source", "sse_c_copy_source_key") if copy_source else ("sse_c", "sse_c_key")
    )
    option = "--" + key_name.replace("_", "-")
    alg, key = getattr(args, alg_name, None), getattr(args, key_name, None)
    if alg is None and key is None:
        return {}
    if key is None:
        raise OptionError(f"--{alg_name.replace('_', '-')} needs {option}")
    return sse_c_headers(_key_bytes(key, option), copy_source=copy_source)


def _expires(text: str) -> str:
    """An HTTP date from an HTTP date or an ISO 8601 time."""
    import datetime as dt
    import email.utils

    try:
        email.utils.parsedate_to_datetime(text)
        return text
    except (TypeError, ValueError):
        pass
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise OptionError(f"--expires {text!r} is not an HTTP date or ISO 8601 time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return email.utils.format_datetime(when.astimezone(dt.timezone.utc), usegmt=True)


_S3_ONLY = ("storage_class", "acl", "sse", "sse_kms_key_id", "sse_c", "sse_c_key")


def _check_scheme(args: argparse.Namespace, scheme: str) -> None:
    """Refuse S3-only options for b2:// (B2 has no storage classes, ACLs or SSE headers)."""
    if scheme != "b2":
        return
    for name in _S3_ONLY:
        if getattr(args, name, None) is not None:
            raise OptionError(
                f"--{name.replace('_', '-')} is for s3:// only; B2 has no such option"
            )


def upload_kwargs(args: argparse.Namespace, scheme: str) -> dict[str, Any]:
    """`upload_file` arguments (metadata, content_type, headers) from the object options."""
    _check_scheme(args, scheme)
    headers: dict[str, str] = {}
    fields = {
        "Cache-Control": getattr(args, "cache_control", None),
        "Content-Encoding": getattr(args, "content_encoding", None),
    }
    expires = getattr(args, "object_expires", None)
    if expires is not None:
        fields["Expires"] = _expires(expires)
    for name, value in fields.items():
        if value is None:
            continue
        if "\r" in value or "\n" in value:
            raise OptionError(f"--{name.lower()} must be one line")
        if scheme == "b2":  # B2 keeps these as b2-* file info, returned as headers
            headers["X-Bz-Info-b2-" + name.lower()] = value
        else:
            headers[name] = value
    if scheme == "s3":
        headers.update(_s3_headers(args))
    out: dict[str, Any] = {}
    if getattr(args, "metadata", None):
        out["metadata"] = dict(args.metadata)
    if getattr(args, "content_type", None):
        out["content_type"] = args.content_type
    if headers:
        out["headers"] = headers
    return out


def _s3_headers(args: argparse.Namespace) -> dict[str, str]:
    """Storage class, ACL and encryption headers of an S3 upload or copy."""
    headers: dict[str, str] = {}
    if getattr(args, "storage_class", None):
        headers["x-amz-storage-class"] = args.storage_class
    if getattr(args, "acl", None):
        headers["x-amz-acl"] = args.acl
    sse, kms_key = getattr(args, "sse", None), getattr(args, "sse_kms_key_id", None)
    if kms_key is not None and sse != "aws:kms":
        raise OptionError("--sse-kms-key-id goes with --sse aws:kms")
    if sse is not None:
        if getattr(args, "sse_c", None) is not None:
            raise OptionError("--sse and --sse-c exclude each other")
        headers["x-amz-server-side-encryption"] = sse
        if kms_key is not None:
            headers["x-amz-server-side-encryption-aws-kms-key-id"] = kms_key
    headers.update(_sse_c(args))
    return headers


def download_headers(args: argparse.Namespace, scheme: str) -> dict[str, str]:
    """Headers a download needs: the SSE-C key of an object encrypted with one."""
    if scheme == "b2":
        _check_scheme(args, scheme)
        return {}
    return _sse_c(args)


def copy_kwargs(args: argparse.Namespace, scheme: str) -> dict[str, Any]:
    """`copy_object` arguments for a copy within one service."""
    upload = upload_kwargs(args, scheme)
    out: dict[str, Any] = {}
    headers = dict(upload.get("headers") or {})
    directive = getattr(args, "metadata_directive", None)
    replacing = directive == "REPLACE" or "metadata" in upload or "content_type" in upload
    if directive == "COPY" and ("metadata" in upload or "content_type" in upload):
        raise OptionError("--metadata-directive COPY keeps the source's metadata: drop "
                          "--metadata/--content-type, or use REPLACE")  # fmt: skip
    if scheme == "b2":
        for name in ("cache-control", "content-encoding", "expires"):
            value = headers.pop("X-Bz-Info-b2-" + name, None)
            if value is not None:
                out[name.replace("-", "_")] = value
                replacing = True
    else:
        replacing = replacing or any(h in headers for h in ("Cache-Control", "Content-Encoding",
                                                            "Expires"))  # fmt: skip
        headers.update(_sse_c(args, copy_source=True))
    if "metadata" in upload:
        out["metadata"] = upload["metadata"]
    if "content_type" in upload:
        out["content_type"] = upload["content_type"]
    if replacing:
        out["metadata_directive"] = "REPLACE"
        if "metadata" not in out:
            out["metadata"] = {}
    if headers:
        out["headers"] = headers
    return out


def put_small(
    session: Any,
    path: str,
    key: str,
    bucket: str,
    *,
    progress: Callable[[int, int | None], None] | None = None,
    **options: Any,
) -> None:
    """Upload a small file with one plain PUT of its bytes (no aws-chunked stream, no
    second read): the fast path for many small files. The CRC32 goes along for the server to
    verify, as `upload_file` sends it."""
    from .checksums import crc32

    with open(path, "rb") as f:
        data = f.read()
    headers = dict(options.pop("headers", None) or {})
    if getattr(session, "supports_checksum_mode", False):
        crc = crc32(data).to_bytes(4, "big")
        headers["x-amz-checksum-crc32"] = base64.b64encode(crc).decode()
    session.put_object(key, data, bucket=bucket, headers=headers or None, **options)
    if progress is not None:
        progress(len(data), len(data))
