"""Deployment facts of a storage node, read once from ``PIXELFOX_*`` variables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pixelfox_common.env import settings_from_env


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
    # CA bundle (PEM) that signed the internal certificates (Redis over rediss://,
    # node and app HTTPS); empty: the system's CAs. See pixelfox_common.tls.
    ca_file: str = ""
    # Node-local state: outbox, cached pool map.
    state_dir: Path = Path("var/node")
    # Origin allowed to upload from browsers (the app's public origin).
    cors_origin: str = ""
    # Signed download links, for serving /uploads/ without nginx.
    link_secret: str = ""
    link_previous_secret: str = ""
    serve_uploads: bool = True
    heartbeat_seconds: int = 5
    # Operator override of the pool map, "<id>=<path>,…" (see pixelfox_storage.pools).
    node_pools: str = ""
    # Temporary files of cut-off uploads (<pool>/.incoming/) untouched this long are
    # removed; the sweep runs at start-up and then every upload_sweep_seconds.
    upload_temp_max_age: int = 1800
    upload_sweep_seconds: int = 300
    # Resumable (tus) uploads: an unfinished one lives this long after its creation
    # (Upload-Expires), holding its token and its disk space, then it is swept.
    tus_expiry_seconds: int = 24 * 3600
    # The largest Upload-Length taken at all (Tus-Max-Size); each token allows at
    # most its own max_size.
    tus_max_size: int = 4 * 1024**3
    # Shared with this host's nginx, which receives upload bodies into <pool>/.spool/
    # and hands the node the file (see upload.spooled); empty: only streamed uploads.
    spool_secret: str = ""
    # Variant set made by the node worker; empty = the built-in set (see processing.specs).
    variants: str = ""
    # S3-compatible store of the cold backup (bucket and prefix are per pool, from the
    # app); an empty endpoint means AWS itself, empty keys the usual boto3 lookup.
    s3_endpoint_url: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_region: str = ""
    # Scheduled scrub (pixelfox_storage.scrub): each slice works this long, reading at
    # most scrub_bytes_per_second; a full pass starts again scrub_pass_days after the
    # last one started. Files without a row younger than scrub_grace_seconds are no
    # orphans (an upload or a copy on its way). scrub_repair: heal what it finds.
    # The background lane runs one job at a time, so a slice holds up moves and
    # backups that long: a minute in ten by default.
    scrub_enabled: bool = True
    scrub_hashes: bool = True
    scrub_repair: bool = False
    scrub_bytes_per_second: int = 8 * 1024 * 1024
    scrub_pass_days: int = 7
    scrub_slice_seconds: int = 60
    scrub_grace_seconds: int = 86400
    # Delivered outbox records kept this long (upload.outbox's journal): an image
    # uploaded within it survives a database restored from a backup that old.
    outbox_journal_days: int = 45

    @property
    def incoming_lifetime(self) -> int:
        """The longest an upload part stays in ``.incoming/`` on purpose (plus an hour)."""
        return max(self.upload_temp_max_age, self.tus_expiry_seconds) + 3600

    log_format: str = "console"
    log_level: str = "INFO"
    # /metrics listeners, "host[:port]" or "off"; a bare host means the role's
    # default port (storage 9181, node worker 9183; see pixelfox_common.metrics).
    metrics_bind: str = "127.0.0.1"
    worker_metrics_bind: str = "127.0.0.1"
    testing: bool = False

    @classmethod
    def from_env(cls, **overrides: object) -> StorageSettings:
        return settings_from_env(cls, overrides)
