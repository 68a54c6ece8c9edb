"""A pathlib for buckets: `PureS3Path`, `S3Path` and `B2Path` on s3lite's sessions.

Paths look like `/bucket/key/parts`: the first part is the bucket, the rest is the key.
The pure logic is `pathlib.PurePosixPath`'s, held by composition (CPython's pathlib internals
changed in 3.12 and 3.13; nothing here depends on them), except that `..` is resolved
lexically (S3 has no symlinks) and `os.fspath()` is refused, so that an object path is never
mistaken for a local file.

A "directory" is a key prefix ending in `/` with at least one object under it (or a bucket,
or `/`, whose entries are the buckets). Objects whose key ends in `/` (folder markers made by
consoles and other tools) count as directories and are never listed as files.

Which session serves a path, and which put/copy options go with its objects, comes from
`register_configuration_parameter` (per `/`, bucket or key prefix; the most specific wins),
else from a default session built lazily from the environment (`S3Session()` for `S3Path`,
`B2Session()` for `B2Path`).

The modules of this package, from the bottom up: `patterns` (glob patterns), `pure` (pure
paths), `configuration` (the per-path registry and `TransferConfig`), `oserrors` and `stats`
(pathlib's errors and stat results), `streams` (the readers and writers of objects), `base`
(a path's session, existence and stat), the mixins `listing`, `files`, `changes` and
`access`, and `concrete`, which puts `S3Path`, `B2Path` and `VersionedS3Path` together.
"""

from __future__ import annotations

from .changes import B2_MAX_COPY as B2_MAX_COPY
from .concrete import B2Path, S3Path, VersionedS3Path
from .configuration import DEFAULT_CONCURRENCY as DEFAULT_CONCURRENCY
from .configuration import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD
from .configuration import (
    TransferConfig,
    clear_configuration,
    register_configuration_parameter,
)
from .files import READ_BUFFER as READ_BUFFER
from .pure import PureB2Path, PureS3Path, PureVersionedS3Path
from .stats import StatResult
from .streams import READ_WINDOW_MAX as READ_WINDOW_MAX
from .streams import READ_WINDOW_MIN as READ_WINDOW_MIN
from .streams import SKIP_LIMIT as SKIP_LIMIT
from .streams import S3ObjectReader, S3ObjectWriter

__all__ = [
    "B2Path",
    "PureB2Path",
    "PureS3Path",
    "PureVersionedS3Path",
    "S3ObjectReader",
    "S3ObjectWriter",
    "S3Path",
    "StatResult",
    "TransferConfig",
    "VersionedS3Path",
    "clear_configuration",
    "register_configuration_parameter",
]
