"""Reading a settings dataclass from ``PIXELFOX_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def _typed(kind: object, raw: str) -> object:
    # Field types are strings under ``from __future__ import annotations``.
    if kind in ("int", int):
        return int(raw)
    if kind in ("float", float):
        return float(raw)
    if kind in ("bool", bool):
        return raw.lower() in ("1", "true", "yes", "on")
    if kind in ("Path", Path):
        return Path(raw)
    return raw


def settings_from_env(cls: type[T], overrides: dict[str, Any]) -> T:
    """``cls`` with each field from ``PIXELFOX_<FIELD>`` where set, then ``overrides``."""
    values: dict[str, object] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        raw = os.environ.get(f"PIXELFOX_{f.name.upper()}")
        if raw is not None:
            values[f.name] = _typed(f.type, raw)
    values.update(overrides)
    return cls(**values)
