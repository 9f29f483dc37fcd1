"""The tus 1.0 vocabulary this node speaks: version, extensions, and the headers it reads.

Every parse refuses what it cannot read with a stable code (``BAD_REQUEST``
unless tus names a status of its own), before a byte of a body is read.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from werkzeug.datastructures import Headers

from pixelfox_protocol.errors import APIError

VERSION = "1.0.0"
EXTENSIONS = ("creation", "creation-with-upload", "expiration", "checksum", "termination")
CHUNK_TYPE = "application/offset+octet-stream"
# tus names the algorithms as hashlib does.
CHECKSUM_ALGORITHMS: dict[str, Callable[[], hashlib._Hash]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}
# Metadata keys tus clients send for the file's name and type (tus-js-client, Uppy).
NAME_KEYS = ("filename", "name")
TYPE_KEYS = ("filetype", "type")
# Upload-Metadata is echoed on every HEAD: keep it to a sane size.
MAX_METADATA_BYTES = 4096


def discovery_headers(max_size: int) -> dict[str, str]:
    """What OPTIONS answers (and a 412 names): the server's version and abilities."""
    return {
        "Tus-Version": VERSION,
        "Tus-Extension": ",".join(EXTENSIONS),
        "Tus-Max-Size": str(max_size),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
    }


def check_version(headers: Headers) -> None:
    """412 TUS_VERSION_UNSUPPORTED unless the request speaks tus 1.0.0."""
    sent = headers.get("Tus-Resumable", "")
    if sent != VERSION:
        raise APIError(
            "TUS_VERSION_UNSUPPORTED",
            details={"sent": sent[:32], "supported": VERSION},
            headers={"Tus-Version": VERSION},
        )


def parse_size(value: str | None, header: str) -> int:
    """A header holding a byte count or offset: decimal digits only."""
    text = (value or "").strip()
    if not text.isdigit() or not text.isascii() or len(text) > 19:
        raise APIError("BAD_REQUEST", f"{header} must be a non-negative integer.")
    return int(text)


def parse_metadata(value: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs (the value optional)."""
    text = (value or "").strip()
    if len(text) > MAX_METADATA_BYTES:
        raise APIError("BAD_REQUEST", "Upload-Metadata is too long.")
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, encoded = item.partition(" ")
        if not key.isascii() or not key.isprintable() or key in pairs:
            raise APIError("BAD_REQUEST", "Upload-Metadata has a bad or repeated key.")
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise APIError("BAD_REQUEST", f"Upload-Metadata {key!r} is not base64.") from exc
    return pairs


def first_of(metadata: Mapping[str, str], keys: tuple[str, ...]) -> str:
    return next((metadata[k] for k in keys if metadata.get(k)), "")


@dataclass(frozen=True)
class Checksum:
    """A chunk's ``Upload-Checksum``: the algorithm and the digest it must have."""

    algorithm: str
    digest: bytes

    def new(self) -> hashlib._Hash:
        return CHECKSUM_ALGORITHMS[self.algorithm]()


def parse_checksum(value: str | None) -> Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``; None when the chunk has none."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise APIError(
            "TUS_CHECKSUM_UNSUPPORTED",
            details={"algorithm": algorithm[:32], "supported": list(CHECKSUM_ALGORITHMS)},
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise APIError("BAD_REQUEST", "Upload-Checksum's digest is not base64.") from exc
    if len(digest) != CHECKSUM_ALGORITHMS[algorithm]().digest_size:
        raise APIError("BAD_REQUEST", f"Upload-Checksum's digest is no {algorithm} digest.")
    return Checksum(algorithm, digest)


def http_date(unix_time: float) -> str:
    """``Upload-Expires``: an HTTP date (RFC 9110)."""
    return email.utils.formatdate(unix_time, usegmt=True)
