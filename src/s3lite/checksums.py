"""Incremental checksums that S3 verifies: CRC32, CRC32C, SHA-1, SHA-256 and MD5.

Each is sent base64-encoded in `x-amz-checksum-<name>` (MD5 as `Content-MD5`).
CRC32C is pure Python unless the optional `crc32c` module is installed; prefer CRC32 or
SHA-256 for large bodies.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Literal, Protocol

__all__ = ["ALGORITHMS", "Checksum", "ChecksumName", "new_checksum"]

ChecksumName = Literal["crc32", "crc32c", "sha1", "sha256", "md5"]
ALGORITHMS: tuple[str, ...] = ("crc32", "crc32c", "sha1", "sha256", "md5")


class Checksum(Protocol):
    name: str

    def update(self, data: bytes | memoryview) -> None: ...

    def digest(self) -> bytes: ...


class _Crc32:
    name = "crc32"

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes | memoryview) -> None:
        self._value = zlib.crc32(data, self._value)

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
    if lname in ("sha1", "sha256", "md5"):
        return _Hashlib(lname)
    raise ValueError(f"unknown checksum {name!r}; choose one of {', '.join(ALGORITHMS)}")


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def header_name(name: str) -> str:
    """The request header that carries this checksum."""
    return "Content-MD5" if name == "md5" else f"x-amz-checksum-{name}"


# --- CRC32 of a concatenation from the CRC32s of its pieces ----------------------------------
# Arithmetic on polynomials over GF(2) modulo the (reflected) CRC-32 polynomial: appending
# n zero bytes to a message multiplies its CRC register by x^(8n).

_CRC32_POLY = 0xEDB88320


def _multmodp(a: int, b: int) -> int:
    """a(x) * b(x) modulo the CRC-32 polynomial (bit-reflected representation)."""
    m = 1 << 31
    p = 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ _CRC32_POLY if b & 1 else b >> 1


_X2N: list[int] = []


def _x2nmodp(n: int, k: int) -> int:
    """x^(n * 2^k) modulo the CRC-32 polynomial."""
    if not _X2N:
        p = 1 << 30  # x^1
        _X2N.append(p)
        for _ in range(31):
            p = _multmodp(p, p)
            _X2N.append(p)
    p = 1 << 31  # x^0
    while n:
        if n & 1:
            p = _multmodp(_X2N[k & 31], p)
        n >>= 1
        k += 1
    return p


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC32 of A+B from CRC32(A), CRC32(B) and len(B), without the bytes."""
    return _multmodp(_x2nmodp(len2, 3), crc1) ^ crc2
