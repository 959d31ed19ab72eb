"""Which network addresses ingest may fetch from: the public internet only.

A URL a user hands us must never reach loopback, the private network, the cloud
metadata service or anything else behind our firewall (SSRF). `ip.is_global`
is the base rule; the explicit tables below close the gaps it has had across
Python versions (multicast, 192.0.0.0/24, new documentation prefixes) and
IPv6 forms that carry an IPv4 address are judged by the IPv4 address inside.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes broadcast
    )
)

_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",  # local-use NAT64: the embedded IPv4's place varies by site
        "100::/64",  # discard
        "2001:db8::/32",  # documentation
        "2001:10::/28",  # ORCHID
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 segment ids
        "fc00::/7",  # unique-local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated, still routable inside sites)
        "ff00::/8",  # multicast
    )
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


class BlockedAddress(Exception):
    """The address is not on the public internet and is not in the allow-list."""

    def __init__(self, address: IPAddress) -> None:
        super().__init__(f"{address} is not a public internet address")
        self.address = address


def is_public_address(ip: IPAddress) -> bool:
    """Whether `ip` is a public internet address we may connect to."""
    if isinstance(ip, ipaddress.IPv4Address):
        return _is_public_v4(ip)
    ip = ipaddress.IPv6Address(int(ip))  # drop any %zone: it only narrows a local address
    if any(ip in net for net in _BLOCKED_V6):
        return False
    inner = embedded_ipv4(ip)
    if inner:
        return all(_is_public_v4(v4) for v4 in inner)
    # IETF-reserved space (4000::/3, e000::/4, ...) is unallocated: `is_global` calls
    # it global, but a network that routes it internally is not the internet.
    return ip.is_global and not ip.is_reserved


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip in _IPV4_TRANSLATED or ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        return ip.teredo  # (server, client)
    return ()


def check_address(ip: IPAddress, *, allowed: Sequence[IPNetwork] = ()) -> None:
    """Raise BlockedAddress unless `ip` is public or inside an operator-allowed network."""
    if any(ip.version == net.version and ip in net for net in allowed):
        return
    if not is_public_address(ip):
        raise BlockedAddress(ip)


def parse_networks(cidrs: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """Networks from CIDRs ("127.0.0.2/32, 10.1.0.0/16"), e.g. PHOTOBUS_FETCH_ALLOW_NETWORKS."""
    items = cidrs.split(",") if isinstance(cidrs, str) else cidrs
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in items if c.strip())


def _is_public_v4(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not any(ip in net for net in _BLOCKED_V4)
