"""Reading request bodies before they are sent: the local I/O kept out of the operations.

A stream of unknown length is spooled to a temporary file to learn its length; a body is
hashed when its payload is signed or a checksum is asked for; a part's checksum is computed
from the bytes or from the file section they are read from. Drivers call these (an asyncio
driver in a thread), then hand the result to the operation.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, NamedTuple

from .signing import UNSIGNED_PAYLOAD
from .transport import Body, BodyLike

if TYPE_CHECKING:
    from .checksums import Checksum
    from .parts import PartData

__all__ = ["SPOOL_MEMORY", "PreparedBody", "part_checksum_of", "prepare_body"]

#: Bodies of unknown length are spooled to find their length; this much stays in memory.
SPOOL_MEMORY = 8 * 1024 * 1024


class PreparedBody(NamedTuple):
    """A body ready to send: its `Body`, its payload hash (None: the endpoint decides) and the
    checksum computed over it when one was asked for."""

    body: Body
    payload_hash: str | None
    sums: Checksum | None


def prepare_body(
    body: BodyLike | Body,
    length: int | None,
    checksum: str | None,
    payload_signing: str,
) -> PreparedBody:
    """Turn any body into a sendable one, reading it once now when it must be hashed
    (`payload_signing` 'signed', or a `checksum` asked for) or spooled (unknown length)."""
    if length is not None and (not isinstance(length, int) or length < 0):
        raise ValueError(f"content_length must be a non-negative int, got {length!r}")
    sums: Checksum | None = None
    if checksum:
        from .checksums import new_checksum

        sums = new_checksum(checksum)
    prepared = body if isinstance(body, Body) else Body(body, length)
    if prepared.is_bytes:
        if sums is not None:
            sums.update(prepared.data)
        return PreparedBody(prepared, None, sums)
    need_hash = payload_signing == "signed"
    if prepared.length is None or (prepared.replayable is False and (sums or need_hash)):
        return _spool(prepared, sums, payload_signing)
    if sums is not None or need_hash:
        # A seekable file: one pass to hash now, one to send.
        sha = hashlib.sha256() if need_hash else None
        for chunk in prepared.chunks():
            if sums is not None:
                sums.update(chunk)
            if sha is not None:
                sha.update(chunk)
        return PreparedBody(prepared, sha.hexdigest() if sha else None, sums)
    return PreparedBody(prepared, None, sums)


def _spool(prepared: Body, sums: Checksum | None, payload_signing: str) -> PreparedBody:
    import tempfile

    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
    sha = hashlib.sha256()
    try:
        for chunk in prepared.chunks():
            spool.write(chunk)
            sha.update(chunk)
            if sums is not None:
                sums.update(chunk)
    except BaseException:
        spool.close()  # a failed read (or Ctrl-C) leaves no temporary file behind
        raise
    size = spool.tell()
    spool.seek(0)
    payload = UNSIGNED_PAYLOAD if payload_signing == "unsigned" else sha.hexdigest()
    return PreparedBody(Body(spool, size, owned=True), payload, sums)


def part_checksum_of(data: PartData, checksum: str | None) -> tuple[str, str]:
    """(algorithm, base64 checksum) of a part: `checksum` as `parts.part_checksum` reads it
    (default CRC32); a file section is read once for it (its bytes stay on disk)."""
    from .checksums import b64, new_checksum
    from .parts import FileSection, part_checksum

    sums = new_checksum(part_checksum(checksum) or "crc32")
    if isinstance(data, FileSection):
        for chunk in data.chunks():
            sums.update(chunk)
        data.seek(0)
    else:
        sums.update(data)  # type: ignore[arg-type]
    return sums.name, b64(sums.digest())
