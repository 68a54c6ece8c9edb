"""The command line's exit codes, its expected failure (`CLIError`), and how any error maps
to an exit code and a one-line message."""

from __future__ import annotations

import re

from .errors import (
    AccessDenied,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    ClientError,
    ExpiredToken,
    InvalidAccessKeyId,
    NoCredentialsError,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    NoSuchVersion,
    S3LiteError,
    SignatureDoesNotMatch,
    Unauthorized,
)

__all__ = [
    "EXIT_ACCESS_DENIED",
    "EXIT_CONFLICT",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_NO_CREDENTIALS",
    "EXIT_OK",
    "EXIT_SKIPPED",
    "EXIT_USAGE",
    "CLIError",
    "describe",
    "error_message",
    "exit_code_for",
    "usage_error",
]

EXIT_OK = 0
#: The operation failed: a server or network error, a failed transfer, an unsafe key refused.
EXIT_FAILURE = 1
#: Bad options or arguments (argparse uses 2 too).
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
#: The credentials were rejected, or are not allowed to do this.
EXIT_ACCESS_DENIED = 4
#: No credentials found (or a configured credentials/config source is broken).
EXIT_NO_CREDENTIALS = 5
#: The bucket exists already or is not empty; the lock is held by someone else.
EXIT_CONFLICT = 6
#: cp -r / sync skipped keys or files that have no faithful counterpart on the other side
#: (`dir//file`, `./x`, names that cannot be keys); everything else was done.
EXIT_SKIPPED = 7
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """An expected failure: printed as `s3lite: error: MESSAGE`, exits with `code`."""

    def __init__(
        self, message: str, code: int = EXIT_FAILURE, error_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        #: the service's or s3lite's error code for --json (e.g. NoSuchKey)
        self.error_code = error_code


def usage_error(message: str) -> CLIError:
    """Bad options or arguments: exit code 2."""
    return CLIError(message, EXIT_USAGE)


# --- errors -> exit codes --------------------------------------------------------------------

_NOT_FOUND = (NoSuchKey, NoSuchBucket, NoSuchVersion, NoSuchUpload, FileNotFoundError)
_DENIED = (
    AccessDenied,
    Unauthorized,
    InvalidAccessKeyId,
    SignatureDoesNotMatch,
    ExpiredToken,
    PermissionError,
)
_CONFLICT = (BucketAlreadyExists, BucketAlreadyOwnedByYou, BucketNotEmpty)


def exit_code_for(exc: BaseException) -> int | None:
    """The exit code of an expected error; None for an unexpected one (a bug)."""
    from .config import ConfigError

    if isinstance(exc, CLIError):
        return exc.code
    if isinstance(exc, _NOT_FOUND):
        return EXIT_NOT_FOUND
    if isinstance(exc, _DENIED):
        return EXIT_ACCESS_DENIED
    if isinstance(exc, (NoCredentialsError, ConfigError)):
        return EXIT_NO_CREDENTIALS
    if isinstance(exc, _CONFLICT):
        return EXIT_CONFLICT
    if isinstance(exc, (S3LiteError, OSError)):
        return EXIT_FAILURE
    if isinstance(exc, ValueError):
        return EXIT_USAGE  # the library refused an argument (bucket name, key length...)
    return None


def describe(exc: BaseException) -> str:
    """A one-line description of an error for the terminal."""
    if isinstance(exc, CLIError):
        return exc.message
    if isinstance(exc, ClientError):
        text = exc.message or exc.code
        if exc.code and exc.code not in text:
            text = f"{text} ({exc.code})"
        if exc.resource:
            text += f" [{exc.resource}]"
        return text
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ValueError) and not isinstance(exc, S3LiteError):
        # The library refused an argument: name the option, not the Python parameter.
        text = re.sub(r"\b(part_size|expires_in)\b", lambda m: _FLAGS[m.group(1)], text)
    return text


#: Library parameter names as the command line spells them (in refused-argument messages).
_FLAGS = {"part_size": "--part-size", "expires_in": "--expires"}


_PREFIXES = {
    EXIT_NOT_FOUND: "not found: ",
    EXIT_ACCESS_DENIED: "access denied: ",
    EXIT_NO_CREDENTIALS: "no credentials: ",
}


def error_message(exc: BaseException, code: int) -> str:
    """The line printed after `s3lite: error: ` for an error that exits with `code`."""
    text = describe(exc)
    if isinstance(exc, NoCredentialsError):  # the library's advice is for library users
        text = re.sub(r"\.? *Pass access_key_id and access_key.*$", "", text)
        if "B2_APPLICATION_KEY" not in text:
            text += "; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile"
    prefix = _PREFIXES.get(code, "")
    if isinstance(exc, CLIError) or text.lower().startswith(prefix.rstrip(": ")):
        return text
    return prefix + text
