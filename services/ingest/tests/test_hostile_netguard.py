"""Issue 6, item 3: the address check over every special-purpose range, by name.

Each IPv4 special-purpose range (IANA's registry, plus the cloud metadata
addresses) is checked as written and in every IPv6 form that carries an IPv4
address: IPv4-mapped, IPv4-compatible, IPv4-translated, NAT64 (64:ff9b::/96) and
6to4 (2002::/16). Native IPv6 special ranges are checked on their own. The test
ids name the range, so a failure says which door is open.
"""

from __future__ import annotations

import ipaddress

import pytest
from photobus_ingest.netguard import BlockedAddress, check_address, is_public_address

# (name, an address inside the range); first, last and notable addresses where they matter.
SPECIAL_V4: list[tuple[str, str]] = [
    ("this-network-0/8", "0.0.0.0"),
    ("this-network-0/8-last", "0.255.255.255"),
    ("private-10/8", "10.0.0.1"),
    ("private-10/8-last", "10.255.255.255"),
    ("cgnat-100.64/10", "100.64.0.1"),
    ("cgnat-100.64/10-last", "100.127.255.255"),
    ("loopback-127/8", "127.0.0.1"),
    ("loopback-127/8-other", "127.53.0.9"),
    ("link-local-169.254/16", "169.254.0.1"),
    ("private-172.16/12", "172.16.0.1"),
    ("private-172.16/12-last", "172.31.255.255"),
    ("ietf-protocol-192.0.0/24", "192.0.0.1"),
    ("ietf-dummy-192.0.0.8", "192.0.0.8"),
    ("ietf-nat64-discovery-192.0.0.170", "192.0.0.170"),
    ("documentation-test-net-1", "192.0.2.1"),
    ("6to4-relay-anycast-192.88.99/24", "192.88.99.1"),
    ("private-192.168/16", "192.168.0.1"),
    ("private-192.168/16-last", "192.168.255.255"),
    ("benchmarking-198.18/15", "198.18.0.1"),
    ("benchmarking-198.18/15-last", "198.19.255.255"),
    ("documentation-test-net-2", "198.51.100.1"),
    ("documentation-test-net-3", "203.0.113.1"),
    ("multicast-224/4", "224.0.0.1"),
    ("multicast-224/4-ssdp", "239.255.255.250"),
    ("reserved-240/4", "240.0.0.1"),
    ("reserved-240/4-high", "254.255.255.255"),
    ("limited-broadcast", "255.255.255.255"),
]

CLOUD_METADATA: list[tuple[str, str]] = [
    ("metadata-aws-gcp-azure-169.254.169.254", "169.254.169.254"),
    ("metadata-aws-ipv6-fd00:ec2::254", "fd00:ec2::254"),
    ("metadata-aws-time-169.254.169.123", "169.254.169.123"),
    ("metadata-alibaba-100.100.100.200", "100.100.100.200"),
    ("metadata-oracle-192.0.0.192", "192.0.0.192"),
]

SPECIAL_V6: list[tuple[str, str]] = [
    ("unspecified-::", "::"),
    ("loopback-::1", "::1"),
    ("ipv4-compatible-::/96-zero", "::2"),
    ("discard-100::/64", "100::1"),
    ("nat64-local-use-64:ff9b:1::/48", "64:ff9b:1::a00:1"),
    ("teredo-2001::/32-loopback-server", "2001:0:7f00:1::1"),
    ("benchmarking-2001:2::/48", "2001:2::1"),
    ("orchid-2001:10::/28", "2001:10::1"),
    ("documentation-2001:db8::/32", "2001:db8::1"),
    ("documentation-3fff::/20", "3fff::1"),
    ("srv6-sid-5f00::/16", "5f00::1"),
    ("unique-local-fc00::/7", "fc00::1"),
    ("unique-local-fd00::/8", "fd12:3456:789a::1"),
    ("link-local-fe80::/10", "fe80::1"),
    ("link-local-fe80::/10-with-zone", "fe80::1%eth0"),
    ("link-local-fe80::/10-last", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("site-local-fec0::/10", "fec0::1"),
    ("multicast-ff00::/8-link", "ff02::1"),
    ("multicast-ff00::/8-global", "ff0e::1"),
    ("multicast-ff00::/8-with-zone", "ff02::1%eth0"),
    ("reserved-ietf-200::/7", "200::1"),
    ("reserved-ietf-400::/6", "400::1"),
    ("reserved-ietf-4000::/3", "4000::1"),
    ("reserved-ietf-e000::/4", "e000::1"),
    ("reserved-ietf-fe00::/9", "fe00::1"),
]


def _v4_in_v6(v4: str) -> list[tuple[str, str]]:
    """Every IPv6 spelling that carries `v4`, named by its form."""
    packed = int(ipaddress.IPv4Address(v4))
    hi, lo = packed >> 16, packed & 0xFFFF
    return [
        ("ipv4-mapped", f"::ffff:{v4}"),
        ("ipv4-mapped-hex", f"::ffff:{hi:x}:{lo:x}"),
        ("ipv4-compatible", f"::{v4}"),
        ("ipv4-translated", f"::ffff:0:{v4}"),
        ("nat64", f"64:ff9b::{v4}"),
        ("nat64-hex", f"64:ff9b::{hi:x}:{lo:x}"),
        ("6to4", f"2002:{hi:x}:{lo:x}::1"),
    ]


def _blocked_cases() -> list[object]:
    cases: list[object] = []
    for name, address in SPECIAL_V4 + CLOUD_METADATA + SPECIAL_V6:
        cases.append(pytest.param(address, id=name))
    for name, v4 in SPECIAL_V4 + CLOUD_METADATA:
        if ":" not in v4:
            cases += [pytest.param(a, id=f"{form}-of-{name}") for form, a in _v4_in_v6(v4)]
    return cases


@pytest.mark.parametrize("address", _blocked_cases())
def test_special_purpose_address_is_blocked(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert not is_public_address(ip)
    with pytest.raises(BlockedAddress, match="not a public internet address"):
        check_address(ip)


# Public addresses that sit right next to blocked ranges or wrap a public IPv4:
# the check must not over-block (a photo host on them must stay reachable).
NEIGHBOURS: list[tuple[str, str]] = [
    ("just-below-private-10/8", "9.255.255.255"),
    ("just-above-private-10/8", "11.0.0.1"),
    ("just-below-cgnat", "100.63.255.255"),
    ("just-above-cgnat", "100.128.0.1"),
    ("just-below-private-172.16/12", "172.15.255.255"),
    ("just-above-private-172.16/12", "172.32.0.1"),
    ("just-above-ietf-192.0.0/24", "192.0.1.1"),
    ("just-above-benchmarking", "198.20.0.1"),
    ("just-below-multicast", "223.255.255.254"),
    (
        "azure-wireserver-168.63.129.16",
        "168.63.129.16",
    ),  # public space; reachable only inside Azure
    ("public-dns", "8.8.8.8"),
    ("public-ipv6", "2606:4700:4700::1111"),
    ("ipv4-mapped-public", "::ffff:8.8.8.8"),
    ("nat64-public", "64:ff9b::808:808"),
    ("6to4-public", "2002:808:808::1"),
]


@pytest.mark.parametrize("address", [pytest.param(a, id=n) for n, a in NEIGHBOURS])
def test_public_neighbour_is_allowed(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert is_public_address(ip)
    check_address(ip)


def test_the_table_covers_every_ipv4_form() -> None:
    """Guard against the generator silently producing nothing for a range."""
    generated = [a for _, v4 in SPECIAL_V4 for _, a in _v4_in_v6(v4)]
    assert len(generated) == 7 * len(SPECIAL_V4)
    assert len(set(generated)) == len(generated)
