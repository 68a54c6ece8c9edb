"""pandas, pyarrow, DuckDB and a Dask cluster reading and writing SeaweedFS through s3lite.fs."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pytest

from conftest import new_bucket_name
from s3lite.devserver import LocalSeaweedFS
from s3lite.fs import S3LiteFileSystem, register_s3


@pytest.fixture(scope="module")
def opts(seaweed: LocalSeaweedFS) -> dict[str, Any]:
    """Storage options exactly as s3fs users spell them."""
    return {
        "key": seaweed.access_key,
        "secret": seaweed.secret_key,
        "client_kwargs": {"endpoint_url": seaweed.endpoint_url, "region_name": "us-east-1"},
    }


@pytest.fixture(scope="module")
def bucket(opts: dict[str, Any]) -> Iterator[str]:
    fs = fsspec.filesystem("s3lite", **opts)
    name = new_bucket_name("df")
    fs.mkdir(name)
    yield name
    fs.rm(name, recursive=True)


@pytest.fixture(scope="module")
def sales() -> pd.DataFrame:
    """A small table with a partition column."""
    rng = np.random.default_rng(7)
    n = 20_000
    return pd.DataFrame(
        {
            "store": rng.choice(["north", "south", "east", "west"], n),
            "item": rng.integers(0, 50, n),
            "amount": rng.random(n).round(4),
        }
    )


def test_pandas_csv_and_parquet_via_s3lite(
    bucket: str, opts: dict[str, Any], sales: pd.DataFrame
) -> None:
    sales.to_csv(f"s3lite://{bucket}/pd/sales.csv", index=False, storage_options=opts)
    back = pd.read_csv(f"s3lite://{bucket}/pd/sales.csv", storage_options=opts)
    pd.testing.assert_frame_equal(back, sales, check_dtype=False)
    sales.to_parquet(f"s3lite://{bucket}/pd/sales.parquet", engine="pyarrow", storage_options=opts)
    back = pd.read_parquet(
        f"s3lite://{bucket}/pd/sales.parquet", engine="pyarrow", storage_options=opts
    )
    pd.testing.assert_frame_equal(back, sales)


def test_pandas_via_s3_after_register(
    bucket: str, opts: dict[str, Any], sales: pd.DataFrame
) -> None:
    registry = importlib.import_module("fsspec.registry")
    saved = {p: registry._registry.get(p) for p in ("s3", "s3a")}
    try:
        register_s3()
        assert type(fsspec.filesystem("s3", **opts)).__module__ == "s3lite.fs"
        head = sales.head(500)
        head.to_csv(f"s3://{bucket}/s3/sales.csv", index=False, storage_options=opts)
        pd.testing.assert_frame_equal(
            pd.read_csv(f"s3://{bucket}/s3/sales.csv", storage_options=opts),
            head,
            check_dtype=False,
        )
        head.to_parquet(f"s3://{bucket}/s3/sales.parquet", storage_options=opts)
        back = pd.read_parquet(f"s3://{bucket}/s3/sales.parquet", storage_options=opts)
        pd.testing.assert_frame_equal(back, head)
    finally:
        for protocol, value in saved.items():
            if value is None:
                registry._registry.pop(protocol, None)
            else:
                registry._registry[protocol] = value


def test_pyarrow_partitioned_dataset(
    bucket: str, opts: dict[str, Any], sales: pd.DataFrame
) -> None:
    import pyarrow as pa
    import pyarrow.dataset as ds
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    fs = fsspec.filesystem("s3lite", **opts)
    pafs = PyFileSystem(FSSpecHandler(fs))
    table = pa.Table.from_pandas(sales, preserve_index=False)
    root = f"{bucket}/arrow"
    ds.write_dataset(table, root, format="parquet", partitioning=["store"],
                     partitioning_flavor="hive", filesystem=pafs)  # fmt: skip
    assert sorted(fs.ls(root, detail=False)) == [
        f"{root}/store={s}" for s in ("east", "north", "south", "west")
    ]
    dataset = ds.dataset(root, format="parquet", partitioning="hive", filesystem=pafs)
    south = dataset.to_table(filter=ds.field("store") == "south").to_pandas()
    expected = sales[sales.store == "south"]
    assert len(south) == len(expected)
    assert south["amount"].sum() == pytest.approx(expected["amount"].sum())


def test_duckdb_reads_parquet_through_the_filesystem(
    bucket: str, opts: dict[str, Any], sales: pd.DataFrame
) -> None:
    import duckdb

    sales.to_parquet(f"s3lite://{bucket}/duck/sales.parquet", storage_options=opts)
    fs = fsspec.filesystem("s3lite", **opts)
    con = duckdb.connect()
    try:
        con.register_filesystem(fs)
        url = f"s3lite://{bucket}/duck/sales.parquet"
        query = "SELECT store, count(*) AS n, sum(amount) AS total FROM read_parquet(?) "
        query += "GROUP BY store ORDER BY store"
        rows = con.execute(query, [url]).fetchall()
        # a hive-partitioned dataset, found through the filesystem's glob
        sales.to_parquet(
            f"s3lite://{bucket}/duck/parts", partition_cols=["store"], storage_options=opts
        )
        glob = f"s3lite://{bucket}/duck/parts/*/*.parquet"
        query = "SELECT store, count(*) FROM read_parquet(?, hive_partitioning = true) "
        query += "GROUP BY store ORDER BY store"
        parts = con.execute(query, [glob]).fetchall()
    finally:
        con.close()
    expected = sales.groupby("store")["amount"].agg(["count", "sum"]).sort_index()
    assert [r[0] for r in rows] == list(expected.index)
    assert [r[1] for r in rows] == list(expected["count"])
    assert [r[2] for r in rows] == pytest.approx(list(expected["sum"]))
    assert parts == [(store, n) for store, n in expected["count"].items()]


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    """One LocalCluster with two worker processes for the module."""
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def test_dask_cluster_groupby_round_trip(
    bucket: str, opts: dict[str, Any], sales: pd.DataFrame, dask_client: Any
) -> None:
    import dask.dataframe as dd

    source = f"s3lite://{bucket}/dask/sales"
    sales.to_parquet(source, partition_cols=["store"], storage_options=opts)
    ddf = dd.read_parquet(source, storage_options=opts)
    assert ddf.npartitions >= 4  # one file per store: read by the workers in parallel
    result = ddf.groupby("item")["amount"].sum().to_frame()
    target = f"s3lite://{bucket}/dask/by_item"
    result.to_parquet(target, storage_options=opts)

    # the work ran in the worker processes, each with its own s3lite session
    loaded = dask_client.run(lambda: "s3lite.fs" in __import__("sys").modules)
    assert len(loaded) == 2 and all(loaded.values())

    back = pd.read_parquet(target, storage_options=opts).sort_index()
    expected = sales.groupby("item")["amount"].sum().to_frame().sort_index()
    pd.testing.assert_frame_equal(back, expected, check_exact=False, check_names=False)
    fs = S3LiteFileSystem(**opts)
    assert fs.find(target.removeprefix("s3lite://"))  # written back to the bucket
