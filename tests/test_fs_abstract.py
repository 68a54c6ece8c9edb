"""fsspec's own abstract test suite (copy, get, put, open, pipe), as s3fs runs it, on SeaweedFS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fsspec.tests import abstract

from conftest import new_bucket_name
from s3lite.devserver import LocalSeaweedFS
from s3lite.fs import S3LiteFileSystem


class SeaweedFixtures(abstract.AbstractFixtures):  # type: ignore[misc]
    """The abstract suite's fixtures: one bucket per test class, '/'-joined paths."""

    @pytest.fixture(scope="class")
    @classmethod
    def fs(cls, seaweed: LocalSeaweedFS) -> Iterator[S3LiteFileSystem]:
        fs = S3LiteFileSystem(
            key=seaweed.access_key,
            secret=seaweed.secret_key,
            endpoint_url=seaweed.endpoint_url,
            skip_instance_cache=True,
        )
        bucket = new_bucket_name("fsa")
        fs.mkdir(bucket)
        fs._test_bucket = bucket
        yield fs
        fs.rm(bucket, recursive=True)

    @pytest.fixture
    def fs_path(self, fs: S3LiteFileSystem) -> str:
        return str(fs._test_bucket)

    @pytest.fixture
    def fs_join(self) -> Callable[..., str]:
        return lambda *args: "/".join(args)

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return False

    @pytest.fixture
    def fs_sanitize_path(self) -> Callable[[Any], Any]:
        return lambda x: x


class TestS3LiteCopy(abstract.AbstractCopyTests, SeaweedFixtures):  # type: ignore[misc]
    """fsspec's copy tests (cp_file server-side)."""


class TestS3LiteGet(abstract.AbstractGetTests, SeaweedFixtures):  # type: ignore[misc]
    """fsspec's get tests (download_file)."""


class TestS3LitePut(abstract.AbstractPutTests, SeaweedFixtures):  # type: ignore[misc]
    """fsspec's put tests (upload_file)."""


class TestS3LiteOpen(abstract.AbstractOpenTests, SeaweedFixtures):  # type: ignore[misc]
    """fsspec's open tests (exclusive create)."""


class TestS3LitePipe(abstract.AbstractPipeTests, SeaweedFixtures):  # type: ignore[misc]
    """fsspec's pipe tests (exclusive create)."""
