"""Deployment facts of a storage node, read once from ``PIXELFOX_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class StorageSettings:
    node_id: str = "local"
    # This node's own credential for the app's internal API.
    node_credential: str = ""
    # Where the app's internal API answers.
    app_url: str = "http://127.0.0.1:8080"
    # Public keys that verify upload tokens: "<kid>:<base64url>[,…]".
    token_public_keys: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "pixelfox"
    # Node-local state: outbox, cached pool map.
    state_dir: Path = Path("var/node")
    # Origin allowed to upload from browsers (the app's public origin).
    cors_origin: str = ""
    # Signed download links, for serving /uploads/ without nginx.
    link_secret: str = ""
    link_previous_secret: str = ""
    serve_uploads: bool = True
    heartbeat_seconds: int = 5
    log_format: str = "console"
    log_level: str = "INFO"
    testing: bool = False

    @classmethod
    def from_env(cls, **overrides: object) -> StorageSettings:
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f"PIXELFOX_{f.name.upper()}")
            if raw is None:
                continue
            if f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.type in ("bool", bool):
                values[f.name] = raw.lower() in ("1", "true", "yes", "on")
            elif f.type in ("Path", Path):
                values[f.name] = Path(raw)
            else:
                values[f.name] = raw
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
