"""Where files live inside a pool. Paths are relative to the pool's base path.

Files of private images live in a subtree of their own, ``private/original/…``
and ``private/variants/…``, which nginx serves only with a signed link
(``links``); changing an image's visibility renames its files between the
subtrees (``in_subtree``).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path, PurePosixPath

# An image's uuid as it appears in file names (hex, with or without dashes).
_UUID = r"[0-9a-f]{32}|[0-9a-f-]{36}"
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
# Pool-relative directory of the files of private images.
PRIVATE_DIR = "private"

# Extension written for each accepted MIME type.
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/avif": "avif",
    "image/heic": "heic",
    "image/tiff": "tiff",
}
# Formats a node writes variants in; the name is also the file's extension.
VARIANT_FORMATS = ("jpg", "webp", "avif")
# A variant's name (``thumb200``, ``medium`` …), as the operator configures them.
VARIANT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,23}$")
_DATE = r"\d{4}/\d{2}/\d{2}"


def original_path(image_uuid: str, ext: str, when: datetime, *, private: bool = False) -> str:
    return in_subtree(f"original/{when:%Y/%m/%d}/{image_uuid}.{ext}", private)


def variant_dir(when: datetime, *, private: bool = False) -> str:
    """The folder of the variants of the originals uploaded on ``when``'s day."""
    return in_subtree(f"variants/{when:%Y/%m/%d}", private)


def variant_path(
    image_uuid: str, variant: str, fmt: str, when: datetime, *, private: bool = False
) -> str:
    return f"{variant_dir(when, private=private)}/{image_uuid}_{variant}.{fmt}"


def is_private(relative: str) -> bool:
    """Whether a pool-relative path lies in the private subtree (needs a signed link)."""
    parts = PurePosixPath(relative.lstrip("/")).parts
    return bool(parts) and parts[0] == PRIVATE_DIR


def in_subtree(relative: str, private: bool) -> str:
    """The same file's path in the private (``private/…``) or the public subtree."""
    public = relative.removeprefix(f"{PRIVATE_DIR}/")
    return f"{PRIVATE_DIR}/{public}" if private else public


class UnsafePath(ValueError):
    pass


def check(relative: str) -> PurePosixPath:
    """A pool-relative path of the layout, checked without any pool; else ``UnsafePath``.

    Accepts ``original/…`` and ``variants/…``, in the public or the private
    subtree, of plain names only (no ``..``, no absolute path). Returns the
    path as it is in the public subtree, so ``parts[0]`` says which kind of
    file it names. The app checks what nodes report with this; it has no pool
    directory to resolve against.
    """
    rel = PurePosixPath(relative)
    parts = rel.parts[1:] if rel.parts[:1] == (PRIVATE_DIR,) else rel.parts
    if rel.is_absolute() or not parts or any(p in ("..", "") for p in parts):
        raise UnsafePath(relative)
    if parts[0] not in ("original", "variants") or not all(_NAME.match(p) for p in parts):
        raise UnsafePath(relative)
    return PurePosixPath(*parts)


def resolve(base: Path, relative: str) -> Path:
    """Join a pool-relative path to the pool's base, refusing any escape."""
    if is_private(relative):  # only the public form is a path under ``base``
        raise UnsafePath(relative)
    full = (base / check(relative)).resolve()
    if not full.is_relative_to(base.resolve()):
        raise UnsafePath(relative)
    return full


def image_file(relative: str) -> str:
    """The uuid of the image whose original or variant ``relative`` names; else ``UnsafePath``.

    Stricter than ``check``: the path must be one a node writes, an original
    with an accepted image extension or a variant of a layout name and format,
    in the public or the private subtree (so no ``.html``, no stray folder).
    """
    extensions = "|".join(sorted(set(EXTENSIONS.values())))
    formats = "|".join(VARIANT_FORMATS)
    original = re.fullmatch(rf"(?:private/)?original/{_DATE}/({_UUID})\.(?:{extensions})", relative)
    if original is not None:
        return original.group(1)
    variant = re.fullmatch(
        rf"(?:private/)?variants/{_DATE}/({_UUID})_([a-z0-9-]+)\.(?:{formats})", relative
    )
    if variant is None or not VARIANT_NAME.match(variant.group(2)):
        raise UnsafePath(relative)
    return variant.group(1)


def image_files(image_uuid: str, paths: list[str]) -> str:
    """Check that ``paths`` are files of one image; returns its original's path.

    Exactly one path is the image's original, ``[private/]original/<date>/<uuid>.<ext>``
    with an accepted image extension; every other path is one of its variants in
    the same subtree and date folder, ``…variants/<date>/<uuid>_<name>.<format>``
    with a variant name and format of the layout (so no ``.html``, no other
    uuid, no ``..``, no file twice). Anything else raises ``UnsafePath`` naming it.
    """
    ident = re.escape(image_uuid.lower())
    extensions = "|".join(sorted(set(EXTENSIONS.values())))
    original = re.compile(rf"^(private/)?original/({_DATE})/{ident}\.({extensions})$")
    originals = [p for p in paths if original.match(p)]
    if len(originals) != 1 or len(set(paths)) != len(paths):
        raise UnsafePath(", ".join(originals) or "no original")
    found = original.match(originals[0])
    assert found is not None
    subtree, day = found.group(1) or "", found.group(2)
    formats = "|".join(VARIANT_FORMATS)
    variant = re.compile(
        rf"^{re.escape(subtree)}variants/{re.escape(day)}/{ident}_([a-z0-9-]+)\.({formats})$"
    )
    for path in paths:
        if path == originals[0]:
            continue
        match = variant.match(path)
        if match is None or not VARIANT_NAME.match(match.group(1)):
            raise UnsafePath(path)
    return originals[0]
