"""Incremental checksums that S3 verifies: CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256 and MD5.

Each is sent base64-encoded in `x-amz-checksum-<name>` (MD5 as `Content-MD5`).
CRC32 is zlib's, or ISA-L's (several times faster) when the optional `isal` package is
installed (`s3lite[fast-crc]`). CRC32C is pure Python unless the optional `crc32c` module is
installed, and CRC64NVME unless the optional `awscrt` module is installed (then both run in
C); prefer CRC32 or SHA-256 for large bodies.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import zlib
from collections.abc import Callable
from typing import Any, Literal, Protocol

__all__ = [
    "ALGORITHMS",
    "Checksum",
    "ChecksumName",
    "crc32",
    "crc64nvme",
    "crc64nvme_combine",
    "crc64nvme_is_fast",
    "new_checksum",
]

ChecksumName = Literal["crc32", "crc32c", "crc64nvme", "sha1", "sha256", "md5"]
ALGORITHMS: tuple[str, ...] = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256", "md5")


class Checksum(Protocol):
    name: str

    def update(self, data: bytes | memoryview) -> None: ...

    def digest(self) -> bytes: ...


Crc32Function = Callable[[Any, int], int]
_CRC32: list[Crc32Function] = []  # the implementation, chosen on first use


def _crc32_function() -> Crc32Function:
    """ISA-L's CRC32 when `isal` is installed (same values as zlib's, GIL released), else
    zlib's; looked up once, on the first checksum, so `import s3lite` never loads it."""
    if not _CRC32:
        try:
            from isal.isal_zlib import crc32 as fast
        except ImportError:
            _CRC32.append(zlib.crc32)
        else:
            _CRC32.append(fast)
    return _CRC32[0]


def crc32(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    """The CRC32 of `data` continuing from `value`, as `zlib.crc32` gives it (computed by
    ISA-L when installed)."""
    return (_CRC32[0] if _CRC32 else _crc32_function())(data, value)


class _Crc32:
    name = "crc32"

    def __init__(self) -> None:
        self._value = 0
        self._crc32 = _crc32_function()

    def update(self, data: bytes | memoryview) -> None:
        self._value = self._crc32(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(4, "big")


_CRC32C_TABLE: list[int] = []


def _crc32c_table() -> list[int]:
    if not _CRC32C_TABLE:
        poly = 0x82F63B78  # Castagnoli, reflected
        for i in range(256):
            crc = i
            for _ in range(8):
                crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
            _CRC32C_TABLE.append(crc)
    return _CRC32C_TABLE


class _Crc32c:
    name = "crc32c"

    def __init__(self) -> None:
        self._crc = 0
        try:  # the optional C implementation, when installed
            import crc32c as _fast  # type: ignore[import-not-found]

            self._fast = _fast.crc32c
        except ImportError:
            self._fast = None

    def update(self, data: bytes | memoryview) -> None:
        if self._fast is not None:
            self._crc = self._fast(data, self._crc)
            return
        table = _crc32c_table()
        crc = self._crc ^ 0xFFFFFFFF
        for byte in bytes(data):
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        self._crc = crc ^ 0xFFFFFFFF

    def digest(self) -> bytes:
        return self._crc.to_bytes(4, "big")


class _Hashlib:
    def __init__(self, name: str) -> None:
        self.name = name
        self._h = hashlib.new(name)

    def update(self, data: bytes | memoryview) -> None:
        self._h.update(data)

    def digest(self) -> bytes:
        return self._h.digest()


def new_checksum(name: str) -> Checksum:
    """A fresh incremental checksum by S3's algorithm name."""
    lname = name.lower()
    if lname == "crc32":
        return _Crc32()
    if lname == "crc32c":
        return _Crc32c()
    if lname == "crc64nvme":
        return _Crc64Nvme()
    if lname in ("sha1", "sha256", "md5"):
        return _Hashlib(lname)
    raise ValueError(f"unknown checksum {name!r}; choose one of {', '.join(ALGORITHMS)}")


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def header_name(name: str) -> str:
    """The request header that carries this checksum."""
    return "Content-MD5" if name == "md5" else f"x-amz-checksum-{name}"


# --- a CRC of a concatenation from the CRCs of its pieces ------------------------------------
# Arithmetic on polynomials over GF(2) modulo a (bit-reflected) CRC polynomial: appending n
# zero bytes to a message multiplies its CRC register by x^(8n). One implementation for every
# width: CRC32 (parallel ranges of downloads) and CRC64NVME.


class _CrcCombiner:
    """`combine(crc1, crc2, len2)`: the CRC of A+B from CRC(A), CRC(B) and len(B), for a
    reflected CRC of `width` bits with polynomial `poly` (reflected form)."""

    def __init__(self, width: int, poly: int) -> None:
        self.width = width
        self.poly = poly
        self._x2n: list[int] = []  # x^(2^k) for k < width, built on first use

    def _multmod(self, a: int, b: int) -> int:
        """a(x) * b(x) modulo the polynomial (bit-reflected representation)."""
        m = 1 << (self.width - 1)
        p = 0
        while a and m:
            if a & m:
                p ^= b
                a ^= m
            m >>= 1
            b = (b >> 1) ^ self.poly if b & 1 else b >> 1
        return p

    def _x2nmod(self, n: int, k: int) -> int:
        """x^(n * 2^k) modulo the polynomial."""
        width = self.width
        if not self._x2n:
            p = 1 << (width - 2)  # x^1
            table = [p]
            for _ in range(width - 1):
                p = self._multmod(p, p)
                table.append(p)
            self._x2n = table
        p = 1 << (width - 1)  # x^0
        while n:
            if n & 1:
                p = self._multmod(self._x2n[k % width], p)
            n >>= 1
            k += 1
        return p

    def combine(self, crc1: int, crc2: int, len2: int) -> int:
        return self._multmod(self._x2nmod(len2, 3), crc1) ^ crc2


_CRC32_COMBINER = _CrcCombiner(32, 0xEDB88320)


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC32 of A+B from CRC32(A), CRC32(B) and len(B), without the bytes."""
    return _CRC32_COMBINER.combine(crc1, crc2, len2)


# --- CRC-64/NVME ------------------------------------------------------------------------------
# The full-object checksum recent AWS SDKs write by default. Parameters (as catalogued for
# CRC-64/NVME): polynomial 0xAD93D23594C93659, reflected in and out, initial value and final
# XOR all ones; the check value of b"123456789" is 0xAE8B14860A799888.

_CRC64_POLY = 0x9A6C9329AC4BC9B5  # 0xAD93D23594C93659, bit-reflected
_MASK64 = 0xFFFFFFFFFFFFFFFF
#: Slicing-by-8 tables: _CRC64_TABLES[k][b] is byte b's contribution k bytes from the end
#: of an 8-byte word (built on first use: about 2,000 small ints).
_CRC64_TABLES: list[list[int]] = []
_CRC64_FAST: list[Any] = []  # [function] once looked up: awscrt's C CRC64NVME, or None


def _crc64_tables() -> list[list[int]]:
    if not _CRC64_TABLES:
        first = []
        for i in range(256):
            crc = i
            for _ in range(8):
                crc = (crc >> 1) ^ _CRC64_POLY if crc & 1 else crc >> 1
            first.append(crc)
        tables = [first]
        for _ in range(7):
            prev = tables[-1]
            tables.append([first[v & 0xFF] ^ (v >> 8) for v in prev])
        _CRC64_TABLES.extend(tables)
    return _CRC64_TABLES


def _crc64_fast() -> Any:
    """awscrt's C implementation when it is installed, else None."""
    if not _CRC64_FAST:
        try:
            from awscrt.checksums import crc64nvme as fast  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError:
            fast = None
        _CRC64_FAST.append(fast)
    return _CRC64_FAST[0]


def crc64nvme_is_fast() -> bool:
    """Whether CRC64NVME runs in C here (the optional `awscrt` module); else pure Python,
    a few MiB/s (see the README)."""
    return _crc64_fast() is not None


def _crc64nvme_python(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-64/NVME in pure Python, slicing-by-8: one table lookup per byte, but the loop
    runs once per 8-byte word (the fastest pure-Python form measured)."""
    tables = _crc64_tables()
    t0, t1, t2, t3, t4, t5, t6, t7 = tables
    view = memoryview(data).cast("B")
    crc ^= _MASK64
    whole = len(view) // 8 * 8 if sys.byteorder == "little" else 0
    if whole:
        # Each little-endian word's low byte is the first byte of the eight.
        for word in view[:whole].cast("Q"):
            crc ^= word
            crc = (
                t7[crc & 0xFF] ^ t6[(crc >> 8) & 0xFF] ^ t5[(crc >> 16) & 0xFF]
                ^ t4[(crc >> 24) & 0xFF] ^ t3[(crc >> 32) & 0xFF] ^ t2[(crc >> 40) & 0xFF]
                ^ t1[(crc >> 48) & 0xFF] ^ t0[crc >> 56]
            )  # fmt: skip
    for byte in view[whole:]:
        crc = t0[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ _MASK64


def crc64nvme(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-64/NVME of `data`, continuing from `crc` (the value of the bytes before it), as
    an int; in C when `awscrt` is installed, else in pure Python."""
    fast = _crc64_fast()
    if fast is not None:
        return int(fast(data, crc))
    return _crc64nvme_python(data, crc)


class _Crc64Nvme:
    name = "crc64nvme"

    def __init__(self) -> None:
        self._crc = 0

    def update(self, data: bytes | memoryview) -> None:
        self._crc = crc64nvme(data, self._crc)

    def digest(self) -> bytes:
        return self._crc.to_bytes(8, "big")


_CRC64_COMBINER = _CrcCombiner(64, _CRC64_POLY)


def crc64nvme_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC64NVME of A+B from CRC64NVME(A), CRC64NVME(B) and len(B), without the bytes."""
    return _CRC64_COMBINER.combine(crc1, crc2, len2)
