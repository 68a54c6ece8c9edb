"""The listing entries' TypedDicts say exactly what S3 and B2 listings hold, with those types."""

from __future__ import annotations

import datetime

import s3lite
from s3lite import B2Session, MultipartUpload, ObjectInfo, S3Session, UploadInfo, VersionInfo


def _check(item: object, typed: type, types: dict[str, tuple[type, ...]]) -> None:
    assert isinstance(item, dict)
    assert set(item) == set(typed.__required_keys__), (item, typed.__name__)  # type: ignore[attr-defined]
    for name, value in item.items():
        assert isinstance(value, types[name]), (name, value)


OBJECT_TYPES: dict[str, tuple[type, ...]] = {
    "key": (str,),
    "content_length": (int,),
    "etag": (str, type(None)),
    "upload_timestamp": (datetime.datetime, type(None)),
    "storage_class": (str, type(None)),
}
VERSION_TYPES = {
    **OBJECT_TYPES,
    "version_id": (str, type(None)),
    "is_latest": (bool,),
    "delete_marker": (bool,),
}
UPLOAD_TYPES: dict[str, tuple[type, ...]] = {
    "key": (str,),
    "upload_id": (str,),
    "initiated": (datetime.datetime, type(None)),
    "storage_class": (str, type(None)),
}


def test_listing_entries_match_their_typed_dicts(backend: S3Session | B2Session) -> None:
    if isinstance(backend, S3Session):
        backend.set_bucket_versioning(True)
    backend.put_object("dir/a.txt", b"one")
    backend.put_object("dir/a.txt", b"two!")
    backend.delete_object("dir/a.txt")  # S3: a delete marker; B2: every version goes
    backend.put_object("dir/b.txt", b"bee")
    if isinstance(backend, B2Session):
        backend.hide_object("dir/b.txt")
        backend.put_object("dir/b.txt", b"bee again")

    objects = list(backend.list_objects("dir/"))
    assert [o["key"] for o in objects] == ["dir/b.txt"]
    for obj in objects:
        _check(obj, ObjectInfo, OBJECT_TYPES)
        assert obj["upload_timestamp"] is not None and obj["upload_timestamp"].tzinfo

    versions = list(backend.list_object_versions("dir/"))
    assert any(v["delete_marker"] for v in versions) and any(v["is_latest"] for v in versions)
    for version in versions:
        _check(version, VersionInfo, VERSION_TYPES)

    upload = MultipartUpload(backend, b"x", "dir/unfinished.bin")
    upload.start()
    try:
        uploads = list(backend.list_multipart_uploads("dir/"))
        assert [u["upload_id"] for u in uploads] == [upload.upload_id]
        for entry in uploads:
            _check(entry, UploadInfo, UPLOAD_TYPES)
    finally:
        upload.abort()


def test_typed_dicts_are_exported() -> None:
    for cls in (s3lite.ObjectInfo, s3lite.VersionInfo, s3lite.UploadInfo):
        assert issubclass(cls, dict) and cls.__module__ == "s3lite.listing"
    assert set(OBJECT_TYPES) <= set(VERSION_TYPES)
