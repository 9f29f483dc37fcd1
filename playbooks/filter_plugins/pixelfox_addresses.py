"""Filters of site.yml's preflight: is an address (or the host a URL names) private?

"Private" is what internal plain-text traffic may use: loopback, RFC 1918 and
shared address space (100.64.0.0/10, carrier-grade NAT), and IPv6 unique local
addresses (fc00::/7). A wildcard bind (0.0.0.0, ::, *) listens on every address,
public ones too, and a name that is no inventory host cannot be proven private:
both count as public.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

_PRIVATE = tuple(
    ipaddress.ip_network(net)
    for net in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "::1/128",
        "fc00::/7",
    )
)


def _address(value: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(str(value).strip().lstrip("-").strip("[]"))
    except ValueError:
        return None


def pixelfox_is_ip(value: object) -> bool:
    return _address(value) is not None


def pixelfox_is_private(value: object) -> bool:
    """True for a loopback, RFC 1918, CGNAT or ULA address; False for anything else."""
    address = _address(value)
    if address is None or address.is_unspecified:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in net for net in _PRIVATE if net.version == address.version)


def pixelfox_public_addresses(values: Iterable[object]) -> list[str]:
    """The entries of ``values`` (e.g. redis_bind_addresses) that are not private."""
    return [str(v) for v in values if not pixelfox_is_private(v)]


def pixelfox_host_addresses(hostvars: Mapping[str, Any], hosts: Iterable[str]) -> dict[str, str]:
    """{name: address} for ``hosts``: by inventory name and pixelfox_dns_name.

    A host's address is its ansible_host when that is an IP address, else the
    address of its default route (gathered facts), as other hosts reach it.
    """
    found: dict[str, str] = {}
    for host in hosts:
        variables = hostvars[host]
        given = variables.get("ansible_host", host)
        if pixelfox_is_ip(given):
            address = str(given)
        else:
            address = str((variables.get("ansible_default_ipv4") or {}).get("address", ""))
        for name in (host, variables.get("pixelfox_dns_name")):
            if name:
                found[str(name)] = address
    return found


def pixelfox_url_address(url: str, addresses: Mapping[str, str]) -> str:
    """The address ``url`` goes to: its host if that is an IP, else the inventory host's."""
    host = urlsplit(str(url)).hostname or ""
    if pixelfox_is_ip(host):
        return host
    return addresses.get(host, host)


def pixelfox_plaintext_urls(urls: Iterable[str], addresses: Mapping[str, str]) -> list[str]:
    """The http:// URLs of ``urls`` that go to a public (or unknown) address."""
    return [
        f"{url} ({pixelfox_url_address(url, addresses)})"
        for url in urls
        if urlsplit(str(url)).scheme == "http"
        and not pixelfox_is_private(pixelfox_url_address(url, addresses))
    ]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "pixelfox_is_ip": pixelfox_is_ip,
            "pixelfox_is_private": pixelfox_is_private,
            "pixelfox_public_addresses": pixelfox_public_addresses,
            "pixelfox_host_addresses": pixelfox_host_addresses,
            "pixelfox_url_address": pixelfox_url_address,
            "pixelfox_plaintext_urls": pixelfox_plaintext_urls,
        }
