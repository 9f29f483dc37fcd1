"""Real nginx (Debian's) running the shipped site template on a loopback port.

``render_site`` fills the placeholders of ``docs/nginx/pixelfox-storage.conf``;
``NginxSite`` wraps it in a minimal main configuration of its own directory
(pid, logs and temporary paths there, nothing under /etc or /run touched) and
runs ``nginx -p <dir> -c <conf>`` in the foreground as a child process.
Used by the tests and by bench/downloads.py.
"""

from __future__ import annotations

import re
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from pixelfox_protocol.links import key_id
from tests.support import ROOT, Service, free_port

TEMPLATE = ROOT / "docs" / "nginx" / "pixelfox-storage.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MIME_TYPES = Path("/etc/nginx/mime.types")
_PLACEHOLDER = re.compile(r"@[A-Z_]+@")


def render_site(
    *,
    listen: str,
    pool_path: Path,
    upstream: str,
    secret: str,
    previous_secret: str = "",
    server_name: str = "localhost",
    max_body_size: str = "1m",
    cors_origin: str = "*",
    spool_secret: str = "spool-secret",
) -> str:
    """The shipped template with every placeholder filled (an operator's job)."""
    text = TEMPLATE.read_text()
    if not previous_secret:
        text = "\n".join(ln for ln in text.splitlines() if "@LINK_PREVIOUS_" not in ln) + "\n"
    values = {
        "@LISTEN@": listen,
        "@SERVER_NAME@": server_name,
        "@POOL_PATH@": str(pool_path).rstrip("/"),
        "@STORAGE_UPSTREAM@": upstream,
        "@MAX_BODY_SIZE@": max_body_size,
        "@CORS_ORIGIN@": cors_origin,
        "@SPOOL_SECRET@": spool_secret,
        "@LINK_KEY_ID@": key_id(secret),
        "@LINK_SECRET@": secret,
        "@LINK_PREVIOUS_KEY_ID@": key_id(previous_secret) if previous_secret else "",
        "@LINK_PREVIOUS_SECRET@": previous_secret,
    }
    for name, value in values.items():
        text = text.replace(name, value)
    # Only the comment block may still name placeholders.
    leftover = [
        p
        for ln in text.splitlines()
        if not ln.lstrip().startswith("#")
        for p in _PLACEHOLDER.findall(ln)
    ]
    if leftover:
        raise ValueError(f"unfilled placeholders: {sorted(set(leftover))}")
    return text


def main_conf(directory: Path, site: str, *, workers: int = 1) -> str:
    return f"""
# The test pool lives under a root-only temporary directory.
user root;
worker_processes {workers};
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include {MIME_TYPES};
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
{site}
}}
"""


@dataclass
class NginxSite:
    directory: Path
    pool_path: Path
    secret: str
    previous_secret: str = ""
    upstream: str = "127.0.0.1:9"
    # PIXELFOX_SPOOL_SECRET of the node behind it; a node without it gets streamed uploads.
    spool_secret: str = "spool-secret"
    max_body_size: str = "1m"
    workers: int = 1
    port: int = field(default_factory=free_port)
    service: Service | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        site = render_site(
            listen=f"127.0.0.1:{self.port}",
            pool_path=self.pool_path,
            upstream=self.upstream,
            secret=self.secret,
            previous_secret=self.previous_secret,
            spool_secret=self.spool_secret,
            max_body_size=self.max_body_size,
        )
        conf = self.directory / "nginx.conf"
        conf.write_text(main_conf(self.directory, site, workers=self.workers))
        return conf

    def start(self, timeout: float = 15.0) -> NginxSite:
        conf = self.write()
        self.service = Service(
            "nginx",
            [NGINX, "-p", str(self.directory), "-c", str(conf)],
            {},
            self.directory / "nginx.out",
        ).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.service.proc is not None
            if self.service.proc.poll() is not None:
                raise RuntimeError(f"nginx exited:\n{self.service.log()}{self.error_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen within {timeout}s:\n{self.error_log()}")

    def error_log(self) -> str:
        try:
            return (self.directory / "error.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
