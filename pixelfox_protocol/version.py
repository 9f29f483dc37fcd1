"""The version both services report (health checks, heartbeats, OpenAPI)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _installed_version

try:
    VERSION = _installed_version("pixelfox")
except PackageNotFoundError:  # a source tree that was never installed
    VERSION = "0.0.0+source"
