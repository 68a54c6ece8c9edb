"""`ProcessCredentials`: credentials printed by an external program (`credential_process`)."""

from __future__ import annotations

import os

from .credentials_base import (
    Credentials,
    CredentialSourceError,
    RefreshingCredentials,
    credentials_from_document,
    json_document,
)

__all__ = ["ProcessCredentials"]


class ProcessCredentials(RefreshingCredentials):
    """Credentials printed by an external program (`credential_process`).

    The command is split with shlex and run without a shell; it must exit 0 and print JSON
    `{"Version": 1, "AccessKeyId": ..., "SecretAccessKey": ..., "SessionToken": ...,
    "Expiration": ...}` (the last two optional; without Expiration the credentials are
    kept until a service rejects them). Errors quote the program's name and the end of its
    stderr, never its output or its arguments.
    """

    def __init__(
        self,
        command: str,
        *,
        profile: str | None = None,
        timeout: float | None = None,
        advisory_refresh: float | None = None,
        mandatory_refresh: float | None = None,
    ) -> None:
        super().__init__(advisory_refresh=advisory_refresh, mandatory_refresh=mandatory_refresh)
        if not isinstance(command, str) or not command.strip():
            raise ValueError("credential_process needs a command")
        self._command = command
        self.profile = profile
        self.timeout = timeout

    @property
    def _program(self) -> str:
        return self._command.split(None, 1)[0].strip("'\"")

    def _fetch(self) -> Credentials | None:
        import shlex
        import subprocess

        where = f" of profile {self.profile!r}" if self.profile else ""
        what = f"credential_process{where} (program {self._program!r})"
        try:
            argv = shlex.split(self._command, posix=os.name != "nt")
        except ValueError:
            raise CredentialSourceError(
                f"{what}: the command line cannot be split (unbalanced quotes?)"
            ) from None
        if not argv:
            raise CredentialSourceError(f"{what}: the command is empty")
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError:
            raise CredentialSourceError(f"{what}: program not found") from None
        except subprocess.TimeoutExpired:
            raise CredentialSourceError(f"{what}: no answer within {self.timeout} s") from None
        except OSError as exc:
            raise CredentialSourceError(
                f"{what}: cannot run it: {exc.strerror or type(exc).__name__}"
            ) from None
        if done.returncode != 0:
            stderr = done.stderr.decode("utf-8", "replace").strip().splitlines()
            detail = f": {stderr[-1][:300]}" if stderr else ""
            raise CredentialSourceError(f"{what}: exited with status {done.returncode}{detail}")
        doc = json_document(done.stdout, f"{what}: output")
        if doc.get("Version") != 1:
            raise CredentialSourceError(f"{what}: the output is not Version 1")
        return credentials_from_document(
            doc, what, session_field="SessionToken", expiration_required=False
        )

    def __repr__(self) -> str:
        profile = f", profile={self.profile!r}" if self.profile else ""
        return f"ProcessCredentials(program={self._program!r}{profile})"
