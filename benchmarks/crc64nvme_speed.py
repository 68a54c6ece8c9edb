"""Throughput of the CRC64NVME implementations: `uv run python benchmarks/crc64nvme_speed.py`.

Prints MiB/s for the pure-Python slicing-by-8 loop and, when `awscrt` is installed, for its C
implementation (the one `s3lite.checksums.crc64nvme` then uses). Best of three runs.
"""

from __future__ import annotations

import os
import time

from s3lite import checksums


def best_mib_per_s(function: object, data: bytes, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        function(data)  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return len(data) / best / (1024 * 1024)


def main() -> None:
    data = os.urandom(16 * 1024 * 1024)
    assert checksums._crc64nvme_python(b"123456789") == 0xAE8B14860A799888
    python = best_mib_per_s(checksums._crc64nvme_python, data)
    print(f"pure Python (slicing-by-8): {python:.1f} MiB/s")
    if checksums.crc64nvme_is_fast():
        fast = best_mib_per_s(checksums.crc64nvme, data)
        print(f"awscrt (C):                 {fast:.1f} MiB/s")
    else:
        print("awscrt not installed: downloads use the pure-Python loop")


if __name__ == "__main__":
    main()
