"""`s3lite run FILE|-`: one command per line, run by a bounded pool of workers that share the
batch's sessions (one connection pool per service); a summary at the end, and exit code 1
if any line failed."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
import sys
from typing import Any

from .cli_context import Context
from .cli_errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, error_message, exit_code_for, usage_error

__all__ = ["cmd_run"]

#: global options: a line inherits the value given before `run` unless it sets its own
_GLOBALS = (
    "endpoint_url",
    "profile",
    "region",
    "b2_api_url",
    "no_verify_ssl",
    "quiet",
    "only_errors",
    "no_progress",
    "raw",
    "json",
    "debug",
)
#: options that decide how a session is made: a line that changes one gets its own sessions
_SESSION = ("endpoint_url", "profile", "region", "b2_api_url", "no_verify_ssl")
_NOT_IN_BATCH = ("run", "lock", "demo")


_SECRET_OPTION = re.compile(r"(--sse-c(?:-copy-source)?-key(?:=|\s+))(\"[^\"]*\"|'[^']*'|\S+)")


def shown(text: str) -> str:
    """A line as printed in messages and the summary: SSE-C keys hidden."""
    return _SECRET_OPTION.sub(r"\1<hidden>", text)


class Line:
    """One command of the batch: its line number, text and parsed arguments (or the exit
    code of a line that could not be parsed)."""

    __slots__ = ("args", "code", "number", "text")

    def __init__(self, number: int, text: str) -> None:
        self.number = number
        self.text = text
        self.args: argparse.Namespace | None = None
        self.code: int | None = None


def _read(name: str) -> list[Line]:
    """The commands of a batch file (or stdin): non-blank lines not starting with #."""
    try:
        if name == "-":
            text = sys.stdin.read()
        else:
            with open(name, encoding="utf-8") as f:
                text = f.read()
    except UnicodeDecodeError:
        raise usage_error(f"{name}: not UTF-8 text") from None
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped and not stripped.startswith("#"):
            lines.append(Line(number, stripped))
    return lines


def _parse(line: Line, run_args: argparse.Namespace, err: Any) -> None:
    """Parse a line with the command line's own parser (a usage error fails the line)."""
    from .cli import build_parser, parse

    try:
        tokens = shlex.split(line.text, comments=True)
    except ValueError as exc:
        err.write(f"s3lite: error: line {line.number}: {exc}\n")
        line.code = EXIT_USAGE
        return
    if tokens[:1] == ["s3lite"]:
        tokens = tokens[1:]
    if not tokens:
        line.code = EXIT_OK
        return
    if tokens[0] in _NOT_IN_BATCH:
        err.write(f"s3lite: error: line {line.number}: `{tokens[0]}` cannot run in a batch\n")
        line.code = EXIT_USAGE
        return
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            args = parse(build_parser(), tokens)
    except SystemExit as exc:
        message = captured.getvalue().strip().splitlines()
        err.write(f"s3lite: line {line.number}: {message[-1] if message else 'usage error'}\n")
        line.code = int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
        return
    if getattr(args, "func", None) is None or callable(args.func):
        err.write(f"s3lite: error: line {line.number}: name a command\n")
        line.code = EXIT_USAGE
        return
    for name in _GLOBALS:
        if not getattr(args, name, None):
            setattr(args, name, getattr(run_args, name, None))
    args.no_progress = True  # one bar per line would fight over the terminal
    line.args = args


def _execute(line: Line, batch: Context, err: Any, print_lock: Any) -> int:
    """Run one parsed line (on the batch's sessions unless it names other ones); its
    error is reported with the line's number and becomes its exit code."""
    from .cli import command_function, error_doc

    args = line.args
    assert args is not None
    own = any(getattr(args, n, None) != getattr(batch.args, n, None) for n in _SESSION)
    ctx = Context(args, shared=None if own else batch)
    ctx.cancelled = batch.cancelled
    try:
        return int(command_function(args.func)(ctx, args))
    except Exception as exc:
        ctx.done_progress()
        code = exit_code_for(exc)
        message = error_message(exc, code) if code is not None else f"{type(exc).__name__}: {exc}"
        code = EXIT_FAILURE if code is None else code
        with print_lock:
            if args.json:
                import json

                doc = error_doc(message, code, exc)
                doc["error"]["line"] = line.number
                err.write(json.dumps(doc) + "\n")
            else:
                err.write(f"s3lite: error: line {line.number} ({shown(line.text)}): {message}\n")
            err.flush()
        return code
    finally:
        if own:
            ctx.close()


def cmd_run(ctx: Context, args: argparse.Namespace) -> int:
    """Parse every line first (usage errors fail their line), run the rest on `--jobs`
    workers, then print the summary; exit code 1 if any line failed."""
    import threading

    err = sys.stderr
    ctx.pool_size = max(10, 4 * args.jobs)  # the lines' own workers share the pool too
    lines = _read(args.file)
    for line in lines:
        _parse(line, args, err)
    print_lock = threading.Lock()

    def work(line: Line) -> None:
        if line.code is None and not ctx.cancelled.is_set():
            line.code = _execute(line, ctx, err, print_lock)

    runnable = [line for line in lines if line.code is None]
    if runnable:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(args.jobs, len(runnable)), "s3lite-run") as pool:
            futures = [pool.submit(work, line) for line in runnable]
            try:
                for future in futures:
                    future.result()
            except KeyboardInterrupt:
                ctx.cancelled.set()
                for future in futures:
                    future.cancel()
                raise
    failed = [line for line in lines if line.code not in (EXIT_OK, None)]
    sys.stdout.flush()
    if ctx.json:
        ctx.emit({"command": "run", "total": len(lines), "ok": len(lines) - len(failed),
                  "failed": [{"line": line.number, "command": shown(line.text), "exit": line.code}
                             for line in failed]})  # fmt: skip
    elif not ctx.quiet or failed:
        err.write(
            f"run: {len(lines)} command{'' if len(lines) == 1 else 's'}, "
            f"{len(lines) - len(failed)} succeeded, {len(failed)} failed\n"
        )
    return EXIT_FAILURE if failed else EXIT_OK
