"""Byte counts as people read them (pages, messages of errors such as QUOTA_EXCEEDED)."""

from __future__ import annotations

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")
NONE = "\u2013"  # an en dash: "no value"


def filesize(value: int | float | None) -> str:
    """``1536`` → ``1.5 KB`` (powers of 1024, as disk tools show them)."""
    if value is None:
        return NONE
    size = float(value)
    for unit in _UNITS:
        if abs(size) < 1024 or unit == _UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PB"  # unreachable; keeps type checkers calm
