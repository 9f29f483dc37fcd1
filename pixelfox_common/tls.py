"""How every PixelFox process trusts the servers it calls: one place for TLS.

Internal traffic (node → app, app → node, node → node, everyone → Redis) goes
over TLS once the inventory gives certificates. What a client trusts comes from
one setting, ``PIXELFOX_CA_FILE``: a PEM bundle of the CA(s) that signed the
internal certificates (the lab's own CA, or a private one of the operator);
when it is empty, the system's CAs (a public CA such as Let's Encrypt).
Hostname verification is always on: a certificate for another name, or one
signed by another CA, is refused, never silently accepted.

Every HTTP client takes :func:`http_verify` as httpx's ``verify=``; every Redis
client is built with :func:`redis_options` (redis-py) or :func:`arq_settings`
(arq). A ``rediss://`` URL turns TLS on; ``redis://`` stays plain text (the
single-host appliance on loopback, or a private network the operator named).

``ca_file`` arguments: ``None`` reads ``PIXELFOX_CA_FILE`` (for the few callers
without a settings object, e.g. the metrics listener); a string, also an empty
one, is the caller's settings value and wins.
"""

from __future__ import annotations

import os
import ssl
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from arq.connections import RedisSettings

CA_FILE_ENV = "PIXELFOX_CA_FILE"


def ca_file(explicit: str | None = None) -> str:
    """The CA bundle to trust: ``explicit`` when given, else ``PIXELFOX_CA_FILE``; "" = system."""
    if explicit is not None:
        return explicit
    return os.environ.get(CA_FILE_ENV, "")


@lru_cache(maxsize=8)
def _context(cafile: str) -> ssl.SSLContext:
    # create_default_context: CERT_REQUIRED and check_hostname on, TLS 1.2 at least.
    # Without a bundle it loads the system's CAs (not certifi's copy), as the
    # operator's other tools on the host do.
    context = ssl.create_default_context(cafile=cafile or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def ssl_context(ca: str | None = None) -> ssl.SSLContext:
    """A client context that verifies the server's certificate and name (shared, cached)."""
    return _context(ca_file(ca))


def http_verify(ca: str | None = None) -> ssl.SSLContext:
    """httpx's ``verify=`` for every internal HTTP client."""
    return ssl_context(ca)


def uses_tls(redis_url: str) -> bool:
    return urlsplit(redis_url).scheme == "rediss"


def redis_options(redis_url: str, ca: str | None = None) -> dict[str, Any]:
    """Keyword arguments of redis-py's ``from_url`` that make a ``rediss://`` URL verify."""
    if not uses_tls(redis_url):
        return {}
    cafile = ca_file(ca)
    # redis-py builds its own SSLContext from these (it takes no context object);
    # they say the same as ssl_context(): certificate and hostname checked.
    return {
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": True,
        "ssl_ca_certs": cafile or None,
        "ssl_min_version": ssl.TLSVersion.TLSv1_2,
    }


def arq_settings(redis_url: str, ca: str | None = None) -> RedisSettings:
    """arq's RedisSettings for ``redis_url`` (``rediss://``: verified TLS)."""
    settings = RedisSettings.from_dsn(redis_url)
    if settings.ssl:
        settings.ssl_cert_reqs = "required"
        settings.ssl_check_hostname = True
        settings.ssl_ca_certs = ca_file(ca) or None
    return settings
