"""Parsers for S3's XML responses, and the few XML request bodies S3 needs.

Documents with a DTD are refused before parsing (S3 never sends one), which rules out
entity expansion and external entities; oversized documents are refused too.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote_plus

from .errors import MalformedResponse
from .s3_endpoint import MAX_XML_BYTES

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from .listing import ListPage, ObjectInfo, UploadInfo, VersionInfo

__all__ = [
    "MAX_XML_BYTES",
    "child_text",
    "parse_complete_multipart",
    "parse_copy_result",
    "parse_delete_result",
    "parse_document",
    "parse_error",
    "parse_initiate_multipart",
    "parse_list_buckets",
    "parse_list_multipart_uploads",
    "parse_list_objects",
    "parse_list_parts",
    "parse_list_versions",
    "parse_location",
]

Item = dict[str, Any]
_ItemT = TypeVar("_ItemT")


class _PrologRead(Exception):
    """The scan reached the root element: no DTD can come after it."""


class _DtdFound(Exception):
    """The scan met a document type declaration."""


def _prolog_read(*_args: object) -> None:
    raise _PrologRead


def _dtd_found(*_args: object) -> None:
    raise _DtdFound


def _refuse_dtd(data: bytes) -> None:
    """Refuse a DTD, in whatever encoding the document is in (UTF-16 or a declared
    single-byte encoding would hide `<!DOCTYPE` from a byte search). Expat reads the prolog
    exactly as the tree parser will, and the scan stops at the root element."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise MalformedResponse("XML response with a DTD or entity declaration refused")
    import pyexpat

    scanner = pyexpat.ParserCreate()
    scanner.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    scanner.StartDoctypeDeclHandler = _dtd_found
    scanner.EntityDeclHandler = _dtd_found
    scanner.StartElementHandler = _prolog_read
    try:
        scanner.Parse(data, True)
    except _DtdFound:
        raise MalformedResponse("XML response with a DTD or entity declaration refused") from None
    except (_PrologRead, pyexpat.ExpatError):
        pass  # malformed XML is reported by the tree parser
    except (ValueError, LookupError) as exc:  # e.g. a declared multi-byte codec expat lacks
        raise MalformedResponse(f"XML response in an unsupported encoding: {exc}") from None


def parse_document(data: bytes) -> Element:
    """The root element of an XML answer, namespaces removed; bounded and without DTDs."""
    if len(data) > MAX_XML_BYTES:
        raise MalformedResponse(f"XML response too large ({len(data)} bytes)")
    _refuse_dtd(data)
    from xml.etree.ElementTree import ParseError, fromstring

    try:
        root = fromstring(data)  # noqa: S314 - DTDs and entities were refused above
    except (ParseError, ValueError, LookupError) as exc:
        raise MalformedResponse(f"malformed XML response: {exc}") from None
    _strip_ns(root)
    return root


def _strip_ns(root: Element) -> None:
    for el in root.iter():
        tag = el.tag
        if isinstance(tag, str) and tag[:1] == "{":
            el.tag = tag.split("}", 1)[1]


def child_text(el: Element | None, name: str, default: str | None = None) -> str | None:
    """The text of `el`'s child `name` ("" if empty), or `default` if either is missing."""
    if el is None:
        return default
    child = el.find(name)
    if child is None:
        return default
    return child.text or ""


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise MalformedResponse(f"expected an integer, got {value[:40]!r}") from None


def parse_timestamp(value: str | None) -> _dt.datetime | None:
    """An ISO 8601 timestamp as S3 writes them (`2009-10-12T17:50:30.000Z`), aware UTC."""
    if not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = _dt.datetime.fromisoformat(text)
    except ValueError:
        # Python 3.10 accepts only 0, 3 or 6 fractional digits (SeaweedFS writes 1 to 9).
        try:
            parsed = _dt.datetime.fromisoformat(six_digit_fraction(text))
        except ValueError:
            raise MalformedResponse(f"bad timestamp {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    return parsed


def six_digit_fraction(text: str) -> str:
    """`text` with its fraction of a second cut or padded to six digits (`.55+00:00` ->
    `.550000+00:00`), the only length every supported Python's `fromisoformat` reads."""
    head, _, rest = text.partition(".")
    count = len(rest) - len(rest.lstrip("0123456789"))
    if not count:
        return text
    return f"{head}.{rest[:count][:6].ljust(6, '0')}{rest[count:]}"


def _etag(value: str | None) -> str | None:
    return value.strip().strip('"') if value is not None else None


def parse_error(
    data: bytes, status: int
) -> tuple[str | None, str, str | None, str | None, str | None]:
    """(code, message, request id, resource, host id) of an `<Error>` document."""
    stripped = data.lstrip()
    if not stripped.startswith(b"<"):
        text = stripped[:200].decode("utf-8", "replace")
        return None, text, None, None, None
    root = parse_document(data)
    if root.tag != "Error":
        err = root.find("Error")  # some servers wrap errors (<Errors><Error>...)
        if err is None:
            return None, "", None, None, None
        root = err
    return (
        child_text(root, "Code"),
        child_text(root, "Message", "") or "",
        child_text(root, "RequestId"),
        child_text(root, "Resource") or child_text(root, "Key") or child_text(root, "BucketName"),
        child_text(root, "HostId"),
    )


def _decoder(root: Element) -> Any:
    if (child_text(root, "EncodingType") or "").lower() == "url":
        # S3 encodes a space as '+' (and a literal '+' as %2B) in url-encoded listings.
        return lambda v: unquote_plus(v) if v is not None else None
    return lambda v: v


def _prefixes(root: Element, decode: Any) -> list[str]:
    return [decode(child_text(cp, "Prefix", "")) for cp in root.iter("CommonPrefixes")]


def _object_item(el: Element, decode: Any) -> ObjectInfo:
    return {
        "key": decode(child_text(el, "Key", "")),
        "content_length": _int(child_text(el, "Size")) or 0,
        "etag": _etag(child_text(el, "ETag")),
        "upload_timestamp": parse_timestamp(child_text(el, "LastModified")),
        "storage_class": child_text(el, "StorageClass"),
    }


def parse_list_objects(data: bytes) -> ListPage[ObjectInfo]:
    """A ListObjectsV2 (or V1) page."""
    from .listing import ListPage

    root = parse_document(data)
    if root.tag != "ListBucketResult":
        raise MalformedResponse(f"expected ListBucketResult, got {root.tag}")
    decode = _decoder(root)
    items = [_object_item(el, decode) for el in root.iter("Contents")]
    truncated = (child_text(root, "IsTruncated") or "").lower() == "true"
    token = child_text(root, "NextContinuationToken")
    if token is None and truncated:  # V1: NextMarker, or the last key
        token = decode(child_text(root, "NextMarker")) or (items[-1]["key"] if items else None)
    return ListPage(items, _prefixes(root, decode), truncated, token)


def parse_list_versions(data: bytes) -> ListPage[VersionInfo]:
    """A ListObjectVersions page: versions and delete markers in listing order."""
    from .listing import ListPage

    root = parse_document(data)
    if root.tag != "ListVersionsResult":
        raise MalformedResponse(f"expected ListVersionsResult, got {root.tag}")
    decode = _decoder(root)
    items: list[VersionInfo] = []
    for el in root:
        if el.tag == "Version":
            obj = _object_item(el, decode)
        elif el.tag == "DeleteMarker":
            obj = {
                "key": decode(child_text(el, "Key", "")),
                "content_length": 0,
                "etag": None,
                "upload_timestamp": parse_timestamp(child_text(el, "LastModified")),
                "storage_class": None,
            }
        else:
            continue
        items.append({
            **obj,
            "version_id": child_text(el, "VersionId"),
            "is_latest": (child_text(el, "IsLatest") or "").lower() == "true",
            "delete_marker": el.tag == "DeleteMarker",
        })  # fmt: skip
    truncated = (child_text(root, "IsTruncated") or "").lower() == "true"
    return ListPage(
        items,
        _prefixes(root, decode),
        truncated,
        decode(child_text(root, "NextKeyMarker")),
        child_text(root, "NextVersionIdMarker"),
    )


def parse_list_buckets(data: bytes) -> list[Item]:
    root = parse_document(data)
    return [
        {
            "name": child_text(b, "Name", ""),
            "creation_date": parse_timestamp(child_text(b, "CreationDate")),
        }
        for b in root.iter("Bucket")
    ]


def parse_owner(data: bytes) -> str | None:
    """The owner a GetObjectAcl response names: its display name, else its id."""
    owner = parse_document(data).find("Owner")
    return child_text(owner, "DisplayName") or child_text(owner, "ID")


def parse_location(data: bytes) -> str:
    root = parse_document(data)
    return root.text or "us-east-1"


def parse_delete_result(data: bytes) -> tuple[list[Item], list[Item]]:
    """(deleted, errors) of a DeleteObjects response."""
    root = parse_document(data)
    if root.tag == "Error":
        raise MalformedResponse("DeleteObjects answered with an error document")
    deleted = [
        {
            "key": child_text(el, "Key", ""),
            "version_id": child_text(el, "VersionId"),
            "delete_marker": (child_text(el, "DeleteMarker") or "").lower() == "true",
        }
        for el in root.iter("Deleted")
    ]
    errors = [
        {
            "key": child_text(el, "Key", ""),
            "version_id": child_text(el, "VersionId"),
            "code": child_text(el, "Code", ""),
            "message": child_text(el, "Message", ""),
        }
        for el in root.iter("Error")
    ]
    return deleted, errors


def parse_copy_result(data: bytes) -> tuple[str | None, _dt.datetime | None]:
    """(etag, last modified) of CopyObject / UploadPartCopy. An `<Error>` here is a failure
    reported with status 200, so it raises."""
    root = parse_document(data)
    if root.tag == "Error":
        raise _embedded_error(root)
    return _etag(child_text(root, "ETag")), parse_timestamp(child_text(root, "LastModified"))


def _embedded_error(root: Element) -> Exception:
    from .errors import error_class_for

    code = child_text(root, "Code") or "InternalError"
    cls = error_class_for(500, code)
    return cls(
        500,
        code,
        child_text(root, "Message", "") or "",
        request_id=child_text(root, "RequestId"),
        resource=child_text(root, "Resource"),
    )


def parse_initiate_multipart(data: bytes) -> str:
    root = parse_document(data)
    upload_id = child_text(root, "UploadId")
    if not upload_id:
        raise MalformedResponse("CreateMultipartUpload response has no UploadId")
    return upload_id


def parse_complete_multipart(data: bytes) -> dict[str, str | None]:
    """CompleteMultipartUpload's result; an `<Error>` (sent with status 200) raises."""
    root = parse_document(data)
    if root.tag == "Error":
        raise _embedded_error(root)
    return {
        "location": child_text(root, "Location"),
        "bucket": child_text(root, "Bucket"),
        "key": child_text(root, "Key"),
        "etag": _etag(child_text(root, "ETag")),
    }


def parse_list_parts(data: bytes) -> tuple[list[Item], bool, int | None]:
    """(parts, truncated, next part-number marker) of ListParts."""
    root = parse_document(data)
    parts = [
        {
            "part_number": _int(child_text(p, "PartNumber")),
            "etag": _etag(child_text(p, "ETag")),
            "size": _int(child_text(p, "Size")) or 0,
            "last_modified": parse_timestamp(child_text(p, "LastModified")),
            **{
                name.lower(): child_text(p, name)
                for name in ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumSHA1", "ChecksumSHA256")
                if child_text(p, name)
            },
        }
        for p in root.iter("Part")
    ]
    truncated = (child_text(root, "IsTruncated") or "").lower() == "true"
    return parts, truncated, _int(child_text(root, "NextPartNumberMarker"))


def parse_list_multipart_uploads(data: bytes) -> ListPage[UploadInfo]:
    """A ListMultipartUploads page; items have key, upload_id, initiated."""
    from .listing import ListPage

    root = parse_document(data)
    decode = _decoder(root)
    items: list[UploadInfo] = [
        {
            "key": decode(child_text(u, "Key", "")),
            "upload_id": child_text(u, "UploadId") or "",
            "initiated": parse_timestamp(child_text(u, "Initiated")),
            "storage_class": child_text(u, "StorageClass"),
        }
        for u in root.iter("Upload")
    ]
    truncated = (child_text(root, "IsTruncated") or "").lower() == "true"
    return ListPage(
        items,
        _prefixes(root, decode),
        truncated,
        decode(child_text(root, "NextKeyMarker")),
        child_text(root, "NextUploadIdMarker"),
    )


# --- request bodies --------------------------------------------------------------------------


def escape(value: str) -> str:
    """Escape &, < and > for XML text."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def _xml_text(value: str) -> str:
    """Escape text for an XML element; characters XML 1.0 cannot carry are refused."""
    for ch in value:
        code = ord(ch)
        if code < 0x20 and ch not in "\t\n\r":
            raise ValueError(
                f"key contains control character U+{code:04X}, which S3's XML APIs cannot "
                "carry; delete it with delete_object instead"
            )
    return escape(value)


def delete_objects_body(keys: Iterable[tuple[str, str | None]], quiet: bool) -> bytes:
    parts = [f"<Delete {_NS}><Quiet>{'true' if quiet else 'false'}</Quiet>"]
    for key, version in keys:
        parts.append(f"<Object><Key>{_xml_text(key)}</Key>")
        if version:
            parts.append(f"<VersionId>{_xml_text(version)}</VersionId>")
        parts.append("</Object>")
    parts.append("</Delete>")
    return "".join(parts).encode("utf-8")


def complete_multipart_body(
    parts: Iterable[tuple[int, str, str | None]], algorithm: str = "crc32"
) -> bytes:
    """The CompleteMultipartUpload document: (number, ETag, checksum or None) per part, the
    checksums of `algorithm` (crc32, crc32c, sha1, sha256)."""
    tag = "Checksum" + algorithm.upper()
    body = [f"<CompleteMultipartUpload {_NS}>"]
    for number, etag, crc in parts:
        body.append(f'<Part><PartNumber>{number}</PartNumber><ETag>"{escape(etag)}"</ETag>')
        if crc:
            body.append(f"<{tag}>{escape(crc)}</{tag}>")
        body.append("</Part>")
    body.append("</CompleteMultipartUpload>")
    return "".join(body).encode("utf-8")


def create_bucket_body(region: str) -> bytes:
    return (
        f"<CreateBucketConfiguration {_NS}><LocationConstraint>{escape(region)}"
        "</LocationConstraint></CreateBucketConfiguration>"
    ).encode()


def versioning_body(state: str) -> bytes:
    return (
        f"<VersioningConfiguration {_NS}><Status>{escape(state)}</Status></VersioningConfiguration>"
    ).encode()


# --- sub-resources: tagging, lifecycle, object lock -------------------------------------------
# Configurations are plain dicts in boto3's shape (element names as keys; repeated elements as
# lists under boto3's plural names; counts as ints, flags as bools, dates as the text S3 sent).

#: (parent element, repeated child) -> the list's key, as boto3 names it
_PLURALS = {
    ("LifecycleConfiguration", "Rule"): "Rules",
    ("Rule", "Transition"): "Transitions",
    ("Rule", "NoncurrentVersionTransition"): "NoncurrentVersionTransitions",
    ("And", "Tag"): "Tags",
}
_SINGULARS = {(parent, plural): child for (parent, child), plural in _PLURALS.items()}
_INT_FIELDS = frozenset(
    {
        "Days", "Years", "NoncurrentDays", "NewerNoncurrentVersions", "DaysAfterInitiation",
        "ObjectSizeGreaterThan", "ObjectSizeLessThan",
    }
)  # fmt: skip
_BOOL_FIELDS = frozenset({"ExpiredObjectDeleteMarker"})
_NAME = r"^[A-Za-z][A-Za-z0-9]*$"


#: Deepest configuration accepted (S3's own are about 6 levels deep).
_MAX_DEPTH = 32


def _to_python(el: Element, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise MalformedResponse(f"configuration nested deeper than {_MAX_DEPTH} levels")
    children = list(el)
    if not children:
        text = (el.text or "").strip()
        if el.tag in _INT_FIELDS:
            return _int(text)
        if el.tag in _BOOL_FIELDS:
            return text.lower() == "true"
        return text
    out: dict[str, Any] = {}
    for child in children:
        plural = _PLURALS.get((el.tag, child.tag))
        if plural is not None:
            out.setdefault(plural, []).append(_to_python(child, depth + 1))
        else:
            out[child.tag] = _to_python(child, depth + 1)
    return out


def parse_config(data: bytes, root_name: str) -> dict[str, Any]:
    """A configuration document (e.g. `LifecycleConfiguration`) as a dict in boto3's shape."""
    root = parse_document(data)
    if root.tag != root_name:
        raise MalformedResponse(f"expected a {root_name} document, got {root.tag[:60]!r}")
    value = _to_python(root)
    return value if isinstance(value, dict) else {}


def _checked_text(value: str, what: str) -> str:
    for ch in value:
        if ord(ch) < 0x20 and ch not in "\t\n\r":
            raise ValueError(f"{what} contains control character U+{ord(ch):04X}")
    return escape(value)


def _element(name: str, value: Any, parent: str, out: list[str]) -> None:
    import re

    if not isinstance(name, str) or not re.match(_NAME, name):
        raise ValueError(f"{name!r} is not a valid element name in a {parent} configuration")
    if isinstance(value, (list, tuple)):
        child = _SINGULARS.get((parent, name), name)
        for item in value:
            _element(child, item, parent, out)
        return
    out.append(f"<{name}>")
    if isinstance(value, dict):
        for key, item in value.items():
            _element(key, item, name, out)
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, str):
        out.append(_checked_text(value, name))
    else:
        raise TypeError(
            f"{name} must be a dict, list, str, int or bool, not {type(value).__name__}"
        )
    out.append(f"</{name}>")


def config_body(root_name: str, config: dict[str, Any]) -> bytes:
    """The XML document for a configuration given as a dict in boto3's shape."""
    if not isinstance(config, dict):
        raise TypeError(f"the {root_name} must be a dict, not {type(config).__name__}")
    out = [f"<{root_name} {_NS}>"]
    for key, value in config.items():
        _element(key, value, root_name, out)
    out.append(f"</{root_name}>")
    return "".join(out).encode("utf-8")


def parse_tagging(data: bytes) -> dict[str, str]:
    """A GetObjectTagging response as {key: value}."""
    root = parse_document(data)
    tags: dict[str, str] = {}
    for tag in root.iter("Tag"):
        key = child_text(tag, "Key")
        if key is None:
            raise MalformedResponse("a Tag without a Key")
        tags[key] = child_text(tag, "Value", "") or ""
    return tags


def tagging_body(tags: dict[str, str]) -> bytes:
    """The Tagging document for {key: value}."""
    if not isinstance(tags, dict):
        raise TypeError(f"tags must be a dict of str to str, not {type(tags).__name__}")
    out = [f"<Tagging {_NS}><TagSet>"]
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"tag {key!r}: tag keys and values must be str")
        if not key:
            raise ValueError("a tag key must not be empty")
        key_xml, value_xml = _checked_text(key, "a tag key"), _checked_text(value, "a tag value")
        out.append(f"<Tag><Key>{key_xml}</Key><Value>{value_xml}</Value></Tag>")
    out.append("</TagSet></Tagging>")
    return "".join(out).encode("utf-8")
