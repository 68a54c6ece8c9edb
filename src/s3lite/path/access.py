"""Who owns an object and who else may reach it: `owner`, and presigned URLs (`presign`,
s3path's `get_presigned_url`)."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .base import S3PathBase
from .configuration import is_b2_session
from .oserrors import OwnerNotFound, os_error, pathlib_errors

if TYPE_CHECKING:
    import datetime as _dt

__all__ = ["PathAccess"]


class PathAccess(S3PathBase):
    """`S3Path`'s owner and URLs: `owner`, `presign`, `get_presigned_url`."""

    __slots__ = ()

    def owner(self) -> str:
        """The owner of the object: its ACL owner's display name (else id) on S3, the account
        id on B2. Not an object: an error that is both FileNotFoundError and s3path's
        KeyError."""
        config = self._config()
        if not self.key or self._head(config) is None:
            raise OwnerNotFound(errno.ENOENT, "file not found", str(self))
        session = config.session
        if is_b2_session(session):
            return session.account_id  # type: ignore[no-any-return]
        from ..s3xml import parse_owner

        params = [("acl", "")] + [
            (k.replace("_id", "Id"), v) for k, v in self._version_args().items()
        ]
        with pathlib_errors(self):
            response = session.request("GET", self.key, fields=params, bucket=self.bucket)
            name = parse_owner(response.data)
        if not name:
            raise os_error(PermissionError, errno.EACCES, self, "the server names no owner")
        return name

    def presign(self, expires_in: int | _dt.timedelta = 3600, method: str = "GET") -> str:
        """A URL that lets anyone holding it `method` (GET, PUT...) this object for
        `expires_in` (seconds or a `datetime.timedelta`, 1 s .. 7 days)."""
        config = self._config()
        if not self.key:
            raise os_error(IsADirectoryError, errno.EISDIR, self)
        return config.session.presign(  # type: ignore[no-any-return]
            method, self.key, expires_in, bucket=self.bucket, **self._version_args()
        )

    def get_presigned_url(self, expire_in: _dt.timedelta | int = 3600) -> str:
        """s3path's presigned GET URL: `expire_in` seconds or a timedelta (positive)."""
        import datetime

        if not self._p.is_absolute():
            raise ValueError("relative path have no bucket, key specification")
        if isinstance(expire_in, datetime.timedelta):
            expire_in = int(expire_in.total_seconds())
        if isinstance(expire_in, bool) or not isinstance(expire_in, int):
            raise TypeError(f"expire_in must be seconds or a timedelta, not {expire_in!r}")
        if expire_in <= 0:
            raise ValueError(
                f"The expire_in argument can't represent a negative or null time delta "
                f"(got {expire_in} seconds)"
            )
        return self.presign(expire_in)
