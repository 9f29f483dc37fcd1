"""The control worker reads when the public hosts' certificates expire, over real TLS."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from prometheus_client import generate_latest

from pixelfox_app.config import AppSettings
from pixelfox_app.control_worker.certificates import check_certificates, https_hosts
from pixelfox_lab.ca import CertificateAuthority
from pixelfox_protocol.internal import UPLOAD_PATH
from tests.placement.conftest import Fleet


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, float]]:
    """A TLS listener on 127.0.0.1 with a certificate of a CA nobody trusts; (port, notAfter)."""
    ca = CertificateAuthority.create(tmp_path / "ca")
    issued = ca.issue(tmp_path, "server", ["127.0.0.1"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert_file, issued.key_file)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    cert = x509.load_pem_x509_certificate(issued.cert_file.read_bytes())
    try:
        yield port, cert.not_valid_after_utc.timestamp()
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


async def test_each_public_https_host_reports_its_certificate_expiry(
    fleet: Fleet, tls_server: tuple[int, float]
) -> None:
    port, not_after = tls_server
    await fleet.node("s01")
    await fleet.pool("p1", "s01", upload_api_url=f"https://127.0.0.1:{port}{UPLOAD_PATH}")
    settings = AppSettings(public_domain="http://127.0.0.1:8080")

    found = await check_certificates({"settings": settings})

    assert found == {f"127.0.0.1:{port}": not_after}
    assert not_after > (datetime.now(UTC) + timedelta(days=300)).timestamp()
    line = f'pixelfox_tls_certificate_expiry_timestamp_seconds{{host="127.0.0.1:{port}"}}'
    assert line in generate_latest().decode()


async def test_a_host_that_does_not_answer_is_left_out(fleet: Fleet) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    await fleet.node("s01")
    await fleet.pool("p1", "s01", upload_api_url=f"https://127.0.0.1:{port}{UPLOAD_PATH}")

    assert await check_certificates({"settings": AppSettings()}) == {}


def test_only_https_hosts_are_asked_once_each() -> None:
    urls = [
        "https://s01.example.net/api/internal/upload",
        "https://s01.example.net/uploads/",
        "http://s02.example.net/api/internal/upload",
        "https://cdn.example.net:8443/x",
    ]
    assert https_hosts(urls) == [("cdn.example.net", 8443), ("s01.example.net", 443)]
