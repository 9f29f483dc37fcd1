"""Deployment facts of the control app, read once from ``PIXELFOX_*`` variables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pixelfox_common.env import settings_from_env


@dataclass(frozen=True)
class AppSettings:
    # Where the appliance keeps its state (SQLite file, keys, local pool).
    data_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Prefix of every Redis key; lets several installations (or tests) share one Redis.
    redis_prefix: str = "pixelfox"
    # CA bundle (PEM) that signed the internal certificates (Redis over rediss://,
    # node and app HTTPS); empty: the system's CAs. See pixelfox_common.tls.
    ca_file: str = ""
    # Redis URL of the user that manages the installation's Redis users
    # (pixelfox_app.redis_users): the control worker's ``<prefix>-worker``. Empty:
    # redis_url, which on a Redis of our own is the app's user without ACL rights.
    redis_users_url: str = ""
    # Public origin of the app; the fallback base of image URLs (the seed's PUBLIC_DOMAIN).
    public_domain: str = "http://127.0.0.1:8080"
    # Origin the storage nodes use to reach the internal API.
    internal_url: str = ""
    secret_key: str = ""
    # Ed25519 signing key(s) of upload tokens: the first signs, all are published.
    token_signing_key: str = ""
    token_previous_public_keys: str = ""
    token_lifetime_minutes: int = 15
    # Signed download links (nginx secure_link): current and previous secret.
    link_secret: str = ""
    link_previous_secret: str = ""
    # Addresses (IPs or CIDRs, comma separated) of reverse proxies whose
    # X-Forwarded-For is believed; empty = the socket peer is the client.
    trusted_proxies: str = ""
    # Optional CDN base in front of every pool (a pool's own cdn_base_url wins);
    # may contain {node_id} or {pool} for a CDN that routes by path or host.
    cdn_base_url: str = ""
    # Region affinity of placement (see pixelfox_app.placement.region): a header a
    # trusted proxy or CDN sets, e.g. "CF-IPCountry", and how its values map to pool
    # regions, e.g. "de=eu-central,us=us-east" (unmapped values are used as they are).
    region_header: str = ""
    region_map: str = ""
    log_format: str = "console"
    log_level: str = "INFO"
    # /metrics listeners, "host[:port]" or "off"; a bare host means the role's
    # default port (app 9180, control worker 9182; see pixelfox_common.metrics).
    metrics_bind: str = "127.0.0.1"
    worker_metrics_bind: str = "127.0.0.1"
    testing: bool = False

    @classmethod
    def from_env(cls, **overrides: object) -> AppSettings:
        return settings_from_env(cls, overrides)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite://{self.data_dir / 'pixelfox.sqlite3'}"

    @property
    def effective_redis_users_url(self) -> str:
        return self.redis_users_url or self.redis_url

    @property
    def effective_internal_url(self) -> str:
        return (self.internal_url or self.public_domain).rstrip("/")
