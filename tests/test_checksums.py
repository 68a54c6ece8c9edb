"""CRC64NVME: the algorithm against public vectors and an independent C implementation,
uploads that carry it (SeaweedFS verifies it, moto stores it), and downloads that check it."""

from __future__ import annotations

import base64
import os
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from s3lite import S3Session, checksums
from s3lite.errors import BadDigest, ChecksumMismatch

#: CRC-64/NVME's published check value: the CRC of the nine ASCII digits.
CHECK_VALUE = 0xAE8B14860A799888


def bitwise_crc64nvme(data: bytes) -> int:
    """The textbook definition, one bit at a time (normal polynomial, reflected in/out)."""
    poly = 0xAD93D23594C93659
    crc = 0xFFFFFFFFFFFFFFFF
    for byte in data:
        crc ^= int(f"{byte:08b}"[::-1], 2) << 56  # reflect the input byte
        for _ in range(8):
            crc = ((crc << 1) ^ poly if crc >> 63 else crc << 1) & 0xFFFFFFFFFFFFFFFF
    reflected = int(f"{crc:064b}"[::-1], 2)
    return reflected ^ 0xFFFFFFFFFFFFFFFF


@pytest.fixture(params=["python", "awscrt"])
def implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the pure-Python loop, then with the optional C module."""
    if request.param == "python":
        monkeypatch.setattr(checksums, "_CRC64_FAST", [None])
    else:
        monkeypatch.setattr(checksums, "_CRC64_FAST", [])
        assert checksums.crc64nvme_is_fast()
    return str(request.param)


@pytest.fixture(params=["zlib", "isal"])
def crc32_implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with zlib's CRC32, then with ISA-L's (the `fast-crc` extra)."""
    import zlib

    from isal.isal_zlib import crc32 as isal_crc32

    chosen = zlib.crc32 if request.param == "zlib" else isal_crc32
    monkeypatch.setattr(checksums, "_CRC32", [chosen])
    assert checksums.new_checksum("crc32")._crc32 is chosen  # type: ignore[attr-defined]
    return str(request.param)


def test_crc32_by_isal_is_zlibs() -> None:
    import zlib

    from isal.isal_zlib import crc32 as isal_crc32

    assert checksums._crc32_function() is isal_crc32  # installed: chosen
    data = os.urandom(3 * 1024 * 1024 + 7)
    for length in [*range(70), 1000, 4099, len(data)]:
        for seed in (0, 1, 0xFFFFFFFF, zlib.crc32(b"123456789")):
            assert checksums.crc32(data[:length], seed) == zlib.crc32(data[:length], seed)
    for offset in range(9):  # unaligned memory, views and bytearrays
        view = memoryview(data)[offset : offset + 100_000]
        assert checksums.crc32(view) == zlib.crc32(view) == checksums.crc32(bytearray(view))
    sums = checksums.new_checksum("crc32")
    sums.update(data[:12345])
    sums.update(memoryview(data)[12345:])
    assert sums.digest() == zlib.crc32(data).to_bytes(4, "big")


def test_crc32_without_isal_is_zlibs() -> None:
    """Without the extra, zlib's CRC32 serves (and `import s3lite` never loads isal)."""
    import subprocess
    import sys

    code = (
        "import sys, zlib\n"
        "import s3lite\n"
        "assert 'isal' not in sys.modules\n"
        "sys.modules['isal'] = None  # as if not installed\n"
        "from s3lite import checksums\n"
        "assert checksums._crc32_function() is zlib.crc32\n"
        "assert checksums.crc32(b'123456789') == 0xCBF43926\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_multipart_crc32_verified_by_seaweedfs(
    s3: S3Session, tmp_path, crc32_implementation: str
) -> None:
    """Each part's CRC32 (zlib's or ISA-L's) is checked by the server, and the download by
    the client: the same values either way."""
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(5 * 1024 * 1024 + 123))
    s3.upload_file(str(src), "crc32-parts.bin", part_size=5 * 1024 * 1024, concurrency=2)
    dst = tmp_path / "dst.bin"
    s3.download_file("crc32-parts.bin", str(dst), part_size=5 * 1024 * 1024)
    assert dst.read_bytes() == src.read_bytes()


def test_check_value() -> None:
    assert bitwise_crc64nvme(b"123456789") == CHECK_VALUE
    assert checksums._crc64nvme_python(b"123456789") == CHECK_VALUE
    assert checksums._crc64nvme_python(b"") == 0
    sums = checksums.new_checksum("CRC64NVME")
    sums.update(b"1234")
    sums.update(memoryview(b"56789"))
    assert sums.digest() == CHECK_VALUE.to_bytes(8, "big")
    assert checksums.b64(sums.digest()) == "rosUhgp5mIg="
    assert checksums.header_name("crc64nvme") == "x-amz-checksum-crc64nvme"


def test_python_matches_the_definition_and_awscrt() -> None:
    from awscrt.checksums import crc64nvme as c_crc64nvme

    data = os.urandom(4099)
    for length in [*range(40), 1000, 4099]:
        piece = data[:length]
        assert checksums._crc64nvme_python(piece) == bitwise_crc64nvme(piece)
    for offset in range(9):  # words read from unaligned memory
        view = memoryview(data)[offset:]
        assert checksums._crc64nvme_python(view) == c_crc64nvme(bytes(view))
    big = os.urandom(3 * 1024 * 1024 + 5)
    assert checksums._crc64nvme_python(big) == c_crc64nvme(big)


def test_incremental_and_combine(implementation: str) -> None:
    data = os.urandom(100_003)
    whole = checksums.crc64nvme(data)
    for cut in (0, 1, 7, 8, 9, 50_000, len(data)):
        first, second = data[:cut], data[cut:]
        assert checksums.crc64nvme(second, checksums.crc64nvme(first)) == whole
        combined = checksums.crc64nvme_combine(
            checksums.crc64nvme(first), checksums.crc64nvme(second), len(second)
        )
        assert combined == whole


def test_put_object_crc64nvme_is_verified_by_seaweedfs(s3: S3Session) -> None:
    response = s3.put_object("nvme", b"123456789", checksum="crc64nvme")
    assert response.headers.get("x-amz-checksum-crc64nvme") == "rosUhgp5mIg="
    head = s3.head_object("nvme", checksum_mode=True)
    assert head.headers.get("x-amz-checksum-crc64nvme") == "rosUhgp5mIg="
    with pytest.raises(BadDigest):  # the server compares the header with the body
        s3.put_object("bad", b"12345678X", headers={"x-amz-checksum-crc64nvme": "rosUhgp5mIg="})


def test_put_object_crc64nvme_is_stored_by_moto(moto_s3: S3Session, implementation: str) -> None:
    data = os.urandom(300_000)
    expected = base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()
    moto_s3.put_object("nvme", data, checksum="crc64nvme")
    head = moto_s3.head_object("nvme", checksum_mode=True)
    assert head.headers.get("x-amz-checksum-crc64nvme") == expected


def test_download_checks_crc64nvme_in_c(moto_s3: S3Session, tmp_path, implementation) -> None:
    """With the C implementation the CRC64NVME is preferred to the MD5 ETag: a stored value
    that does not match the bytes is caught even though the ETag matches."""
    data = os.urandom(200_000)
    moto_s3.put_object(
        "good", data, headers={"x-amz-sdk-checksum-algorithm": "CRC64NVME"}, checksum="crc64nvme"
    )
    moto_s3.download_file("good", tmp_path / "good", threshold=50_000, part_size=30_000)
    assert (tmp_path / "good").read_bytes() == data
    wrong = base64.b64encode((checksums.crc64nvme(data) ^ 1).to_bytes(8, "big")).decode()
    moto_s3.put_object(
        "bad", data,
        headers={"x-amz-sdk-checksum-algorithm": "CRC64NVME", "x-amz-checksum-crc64nvme": wrong},
    )  # fmt: skip
    if implementation == "awscrt":
        with pytest.raises(ChecksumMismatch, match="crc64nvme"):
            moto_s3.download_file("bad", tmp_path / "bad")
        assert not (tmp_path / "bad").exists()
    else:  # the pure-Python CRC is slow: the MD5 ETag proves these bytes instead
        moto_s3.download_file("bad", tmp_path / "bad")
        assert (tmp_path / "bad").read_bytes() == data


class _OneObject(BaseHTTPRequestHandler):
    """Serves one object whose ETag is not an MD5 (as for SSE-KMS or multipart objects of
    unknown part size), so its CRC64NVME is the only check left."""

    data = b""
    etag = '"opaque-etag"'
    crc = ""

    def log_message(self, *args: object) -> None:
        pass

    def _headers(self, status: int, length: int, extra: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(length))
        self.send_header("ETag", self.etag)
        self.send_header("x-amz-checksum-crc64nvme", self.crc)
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()

    def do_HEAD(self) -> None:
        self._headers(200, len(self.data), {})

    def do_GET(self) -> None:
        match = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if not match:
            self._headers(200, len(self.data), {})
            self.wfile.write(self.data)
            return
        start = int(match.group(1))
        end = int(match.group(2) or len(self.data) - 1)
        body = self.data[start : end + 1]
        self._headers(206, len(body), {"Content-Range": f"bytes {start}-{end}/{len(self.data)}"})
        self.wfile.write(body)


@pytest.fixture
def one_object() -> Iterator[tuple[S3Session, type[_OneObject]]]:
    handler = type("Handler", (_OneObject,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    session = S3Session(
        endpoint_url=f"http://127.0.0.1:{server.server_address[1]}", anonymous=True,
        bucket="bucket", addressing_style="path", max_attempts=1,
    )  # fmt: skip
    try:
        yield session, handler
    finally:
        session.close()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("etag", ['"opaque-etag"', '"0123456789abcdef0123456789abcdef-3"'])
def test_download_falls_back_to_crc64nvme(one_object, tmp_path, implementation, etag) -> None:
    session, handler = one_object
    data = os.urandom(70_001)
    handler.data = data
    handler.etag = etag
    handler.crc = base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()
    for threshold in (10**6, 20_000):  # one GET; parallel ranges whose CRCs are combined
        session.download_file("k", tmp_path / "ok", threshold=threshold, part_size=25_000)
        assert (tmp_path / "ok").read_bytes() == data
        handler.data = data[:-1] + bytes([data[-1] ^ 1])  # one flipped bit, same size
        with pytest.raises(ChecksumMismatch, match="crc64nvme"):
            session.download_file("k", tmp_path / "bad", threshold=threshold, part_size=25_000)
        assert not (tmp_path / "bad").exists()
        handler.data = data


def test_objects_written_by_an_aws_sdk(moto_s3: S3Session, tmp_path) -> None:
    """boto3 writes a single-PUT and a multipart object with only a full-object CRC64NVME;
    the stored value is the pure-Python CRC of the bytes, and download_file brings them back
    verified. (The pure-Python download path is covered by the tests above: moto refuses the
    If-Match that pins the part-size probe a multipart MD5-of-parts check needs.)"""
    import io

    import boto3
    from boto3.s3.transfer import TransferConfig

    client = boto3.client(
        "s3", endpoint_url=moto_s3.endpoint_url, region_name="us-east-1",
        aws_access_key_id="AKIDMOTO", aws_secret_access_key="moto-secret",
    )  # fmt: skip
    data = os.urandom(11 * 1024 * 1024 + 5)
    client.put_object(
        Bucket=moto_s3.bucket, Key="single", Body=data[:300_000], ChecksumAlgorithm="CRC64NVME"
    )
    part = 5 * 1024 * 1024
    client.upload_fileobj(
        io.BytesIO(data), moto_s3.bucket, "multi", ExtraArgs={"ChecksumAlgorithm": "CRC64NVME"},
        Config=TransferConfig(multipart_threshold=part, multipart_chunksize=part),
    )  # fmt: skip
    client.close()
    for key, body in (("single", data[:300_000]), ("multi", data)):
        head = moto_s3.head_object(key, checksum_mode=True)
        stored = head.headers.get("x-amz-checksum-crc64nvme")
        assert stored == checksums.b64(checksums._crc64nvme_python(body).to_bytes(8, "big"))
        moto_s3.download_file(key, tmp_path / key, threshold=4 * 1024 * 1024)
        assert (tmp_path / key).read_bytes() == body
