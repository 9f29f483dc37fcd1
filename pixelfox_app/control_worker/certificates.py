"""When do the certificates of the public hosts expire? (control worker, hourly).

The hosts are those browsers talk to over HTTPS: the app's public domain and
every active pool's upload API and public file URL. Each is asked for its
certificate the way a browser would (TLS with SNI) and its ``notAfter`` goes
to ``pixelfox_tls_certificate_expiry_timestamp_seconds{host}``. The chain is
not verified here: the upload API check already refuses an untrusted one, and
an expiry date is worth knowing even for a certificate nobody trusts yet.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from pixelfox_common import metrics

from ..config import AppSettings
from ..models import StoragePool
from ..pools import effective_public_base_url, effective_upload_api_url

log = logging.getLogger(__name__)

TIMEOUT = 5.0


def https_hosts(urls: list[str]) -> list[tuple[str, int]]:
    """The distinct (host, port) of the ``https://`` URLs, sorted."""
    found = set()
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            found.add((parts.hostname, parts.port or 443))
    return sorted(found)


def certificate_expiry(host: str, port: int, timeout: float = TIMEOUT) -> float:
    """Unix time at which the certificate ``host:port`` presents expires."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as conn,
    ):
        der = conn.getpeercert(binary_form=True)
    if der is None:
        raise ssl.SSLError(f"{host}:{port} presented no certificate")
    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()


async def public_urls(settings: AppSettings) -> list[str]:
    urls = [settings.public_domain]
    for pool in await StoragePool.filter(is_active=True).order_by("id"):
        urls.append(effective_upload_api_url(pool, settings))
        urls.append(effective_public_base_url(pool, settings))
    return urls


async def check_certificates(ctx: dict[str, Any]) -> dict[str, float]:
    """Cron: every public HTTPS host's certificate expiry as a metric; unreachable hosts logged."""
    expiries: dict[str, float] = {}
    for host, port in https_hosts(await public_urls(ctx["settings"])):
        name = host if port == 443 else f"{host}:{port}"
        try:
            expiries[name] = await asyncio.to_thread(certificate_expiry, host, port)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            log.warning("certificate of %s not read: %s", name, exc)
            continue
        metrics.set_certificate_expiry(name, expiries[name])
    return expiries
