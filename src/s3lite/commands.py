"""What each `s3lite` subcommand does; `cli.py` parses the command line and calls these.

Every command is `cmd_NAME(ctx, args) -> exit code`, in the module of its kind (`cli_objects`,
`cli_copy`, `cli_sync`, `cli_buckets`, `cli_lock`, `cli_inspect`, `cli_batch`); this module
gathers them with the names commands share. Expected failures are raised as `CLIError` (or
library errors, mapped to exit codes by `exit_code_for`); `cli.main` prints them without a
traceback.
"""

from __future__ import annotations

from .cli_batch import cmd_run
from .cli_buckets import cmd_mb, cmd_rb
from .cli_context import DEFAULT_JOBS, Context
from .cli_copy import cmd_cp, cmd_mv
from .cli_errors import (
    EXIT_ACCESS_DENIED,
    EXIT_CONFLICT,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_NO_CREDENTIALS,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_SKIPPED,
    EXIT_USAGE,
    CLIError,
    error_message,
    exit_code_for,
    usage_error,
)
from .cli_inspect import cmd_du, cmd_stat
from .cli_locations import Location, UnsafeKey, parse_location, safe_local_path
from .cli_lock import cmd_lock
from .cli_objects import cmd_cat, cmd_head, cmd_ls, cmd_presign, cmd_rm
from .cli_sync import cmd_sync

__all__ = [
    "DEFAULT_JOBS",
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
    "Context",
    "Location",
    "UnsafeKey",
    "cmd_cat",
    "cmd_cp",
    "cmd_du",
    "cmd_head",
    "cmd_lock",
    "cmd_ls",
    "cmd_mb",
    "cmd_mv",
    "cmd_presign",
    "cmd_rb",
    "cmd_rm",
    "cmd_run",
    "cmd_stat",
    "cmd_sync",
    "error_message",
    "exit_code_for",
    "parse_location",
    "safe_local_path",
    "usage_error",
]
