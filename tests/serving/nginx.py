"""Real nginx (Debian's) running the storage site of the nginx role on a loopback port.

``NginxSite`` renders the role's template (``pixelfox_lab.sites``: what Ansible
deploys, with the role's defaults under the test's values), wraps it in a
minimal main configuration of its own directory (pid, logs and temporary paths
there, nothing under /etc or /run touched) and runs ``nginx -p <dir> -c <conf>``
in the foreground as a child process. Used by the tests and by the benchmarks.
"""

from __future__ import annotations

import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixelfox_lab.sites import storage_site
from pixelfox_protocol.errors import APIError
from tests.support import Service, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MIME_TYPES = Path("/etc/nginx/mime.types")

# nginx's own refusals of an upload, in the node's error shape.
LENGTH_REQUIRED = APIError(
    "BAD_REQUEST",
    "Send the upload with a Content-Length header; a body of unknown length is not taken.",
    status=411,
)


def too_large(max_upload_bytes: int) -> APIError:
    return APIError("FILE_TOO_LARGE", details={"max_size": max_upload_bytes})


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
    # The master link secrets (pixelfox_link_secret, ..._previous_secret): the role
    # gives the site node ``node_id``'s own secrets, derived from them.
    secret: str
    previous_secret: str = ""
    node_id: str = "s01"
    upstream: str = "127.0.0.1:9"
    # PIXELFOX_SPOOL_SECRET of the node behind it; a node without it gets streamed uploads.
    spool_secret: str = "spool-secret"
    # nginx_storage_max_upload_bytes: longer upload bodies are refused by nginx.
    max_upload_bytes: int = 1024 * 1024
    workers: int = 1
    port: int = field(default_factory=free_port)
    service: Service | None = None
    # Further role variables (nginx_storage_*), as an inventory would set them.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def values(self) -> dict[str, Any]:
        """The role variables of this site."""
        return {
            "nginx_storage_listen": f"127.0.0.1:{self.port}",
            "nginx_ipv6": False,
            "nginx_storage_server_name": "localhost",
            "nginx_storage_pool_path": str(self.pool_path).rstrip("/"),
            "nginx_storage_upstream": self.upstream,
            "nginx_storage_node_id": self.node_id,
            "pixelfox_link_secret": self.secret,
            "pixelfox_link_previous_secret": self.previous_secret,
            "nginx_storage_spool_secret": self.spool_secret,
            "nginx_storage_max_upload_bytes": self.max_upload_bytes,
            **self.extra,
        }

    def write(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        site = storage_site(self.values())
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
