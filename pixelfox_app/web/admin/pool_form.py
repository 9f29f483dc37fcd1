"""The pool form: every field of a storage pool, parsed and checked before anything is saved.

This turns form text into typed fields with one message per field; the rules
shared with the CLI (name and region patterns, registered nodes, unique
names) are pixelfox_app.pools', which also does the saving.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ...models import PoolTier, PoolType, StoragePool
from ...nodes import NODE_ID_PATTERN
from ...pools import NAME_PATTERN, REGION_PATTERN

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?i?b?)?\s*$", re.IGNORECASE)
_UNIT = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

TEXT_FIELDS = (
    "name",
    "base_path",
    "public_base_url",
    "cdn_base_url",
    "upload_api_url",
    "node_id",
    "region",
    "backup_bucket",
    "backup_prefix",
)
CHECKBOXES = ("is_active", "is_upload_target")


def parse_size(text: str) -> int:
    """``"500 GB"``, ``"1.5T"``, ``"1073741824"`` → bytes (powers of 1024)."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError("a size like 500 GB, 2 TB or a number of bytes")
    number, unit = match.groups()
    return int(float(number) * 1024 ** _UNIT[(unit or "").lower()[:1]])


def human_size(value: int) -> str:
    """The inverse of :func:`parse_size` for showing a stored value in the form."""
    for power, unit in ((4, "TB"), (3, "GB"), (2, "MB"), (1, "KB")):
        step = 1024**power
        if value and value % step == 0:
            return f"{value // step} {unit}"
    return str(value)


def _url(value: str, *, path_allowed: bool) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an http:// or https:// URL")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError("a URL without query, fragment or credentials")
    if not path_allowed and parts.path not in ("", "/"):
        raise ValueError("an origin only, e.g. https://s01.example.com")
    return value.rstrip("/") if not path_allowed else value


@dataclass
class PoolForm:
    """The submitted values (as typed, for re-rendering) and what is wrong with them."""

    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @classmethod
    def from_pool(cls, pool: StoragePool | None) -> PoolForm:
        """The form pre-filled from a pool (or the defaults for a new one)."""
        defaults = {
            "type": PoolType.LOCAL.value,
            "tier": PoolTier.HOT.value,
            "priority": "100",
            "weight": "100",
            "capacity": "0",
            "reserve": "1 GB",
            "is_active": "on",
            "is_upload_target": "on",
        }
        if pool is None:
            return cls(raw=defaults)
        raw = {name: str(getattr(pool, name) or "") for name in TEXT_FIELDS}
        raw.update(
            type=pool.type.value,
            tier=pool.tier.value,
            priority=str(pool.priority),
            weight=str(pool.weight),
            capacity=human_size(pool.capacity_bytes),
            reserve=human_size(pool.reserve_bytes),
            replication_factor=str(pool.replication_factor or ""),
        )
        raw.update({name: "on" for name in CHECKBOXES if getattr(pool, name)})
        return cls(raw=raw)


def parse(form: dict[str, str]) -> PoolForm:
    """Check every field; ``values`` holds the model fields when ``errors`` is empty."""
    raw = {k: str(v).strip() for k, v in form.items() if k != "csrf_token"}
    result = PoolForm(raw=raw)
    errors, values = result.errors, result.values

    def check(name: str, fn: Any) -> None:
        try:
            fn()
        except ValueError as exc:
            errors[name] = f"Expected {exc}." if not str(exc)[:1].isupper() else str(exc)

    def name() -> None:
        if not NAME_PATTERN.match(raw.get("name", "")):
            raise ValueError(
                "A name of 1 to 100 letters, digits, '.', '_' or '-' is required, "
                "starting with a letter or digit."
            )
        values["name"] = raw["name"]

    def kind() -> None:
        if raw.get("type") not in {t.value for t in PoolType}:
            raise ValueError("one of " + ", ".join(t.value for t in PoolType))
        values["type"] = PoolType(raw["type"])

    def tier() -> None:
        if raw.get("tier") not in {t.value for t in PoolTier}:
            raise ValueError("one of " + ", ".join(t.value for t in PoolTier))
        values["tier"] = PoolTier(raw["tier"])

    def base_path() -> None:
        path = raw.get("base_path", "")
        if not path.startswith("/") or ".." in path.split("/") or len(path) > 500:
            raise ValueError("an absolute directory on the node, e.g. /srv/pixelfox/pool1")
        values["base_path"] = path.rstrip("/") or "/"

    def number(field_name: str) -> Any:
        def parse_number() -> None:
            text = raw.get(field_name, "")
            if not text.isdigit() or int(text) > 1_000_000:
                raise ValueError("a whole number from 0 to 1000000")
            values[field_name] = int(text)

        return parse_number

    def size(form_name: str, model_name: str) -> Any:
        def parse_bytes() -> None:
            values[model_name] = parse_size(raw.get(form_name, "0") or "0")

        return parse_bytes

    def url(field_name: str, path_allowed: bool) -> Any:
        def parse_url() -> None:
            text = raw.get(field_name, "")
            values[field_name] = _url(text, path_allowed=path_allowed) if text else ""

        return parse_url

    def node_id() -> None:
        text = raw.get("node_id", "")
        if text and not NODE_ID_PATTERN.match(text):
            raise ValueError("a node id of lowercase letters, digits and dashes, e.g. s01")
        values["node_id"] = text

    def region() -> None:
        text = raw.get("region", "")
        if text and not REGION_PATTERN.match(text):
            raise ValueError("a region like eu-central (lowercase, digits, dashes)")
        values["region"] = text

    def replication_factor() -> None:
        text = raw.get("replication_factor", "")
        if text not in ("", "1", "2", "3"):
            raise ValueError("1, 2 or 3 copies (empty: the default)")
        values["replication_factor"] = int(text) if text else None

    def backup() -> None:
        bucket = raw.get("backup_bucket", "")
        if bucket and not _BUCKET.match(bucket):
            raise ValueError("an S3 bucket name (3 to 63 lowercase letters, digits, dots, dashes)")
        prefix = raw.get("backup_prefix", "")
        if len(prefix) > 255 or prefix.startswith("/") or ".." in prefix.split("/"):
            raise ValueError("a relative key prefix, e.g. pixelfox/pool1/")
        values["backup_bucket"], values["backup_prefix"] = bucket, prefix

    check("name", name)
    check("type", kind)
    check("tier", tier)
    check("base_path", base_path)
    check("priority", number("priority"))
    check("weight", number("weight"))
    check("capacity", size("capacity", "capacity_bytes"))
    check("reserve", size("reserve", "reserve_bytes"))
    check("public_base_url", url("public_base_url", path_allowed=False))
    check("cdn_base_url", url("cdn_base_url", path_allowed=False))
    check("upload_api_url", url("upload_api_url", path_allowed=True))
    check("node_id", node_id)
    check("region", region)
    check("backup_bucket", backup)
    check("replication_factor", replication_factor)
    for box in CHECKBOXES:
        values[box] = raw.get(box) in ("on", "true", "1")
    if (
        not errors
        and values["capacity_bytes"]
        and values["reserve_bytes"] >= values["capacity_bytes"]
    ):
        errors["reserve"] = "The reserve must be smaller than the capacity."
    return result
