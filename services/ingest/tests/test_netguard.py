from __future__ import annotations

import ipaddress

import pytest
from photobus_ingest.netguard import (
    BlockedAddress,
    check_address,
    embedded_ipv4,
    is_public_address,
    parse_networks,
)

BLOCKED = [
    # IPv4
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "169.254.0.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",
    "100.127.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "198.51.100.1",
    "203.0.113.1",
    "198.18.0.1",
    "198.19.255.254",
    "192.0.0.1",
    "192.0.0.9",
    "192.0.0.170",
    # IPv6
    "::",
    "::1",
    "fe80::1",
    "fe80::1%eth0",
    "febf:ffff::1",
    "fc00::1",
    "fd12:3456:789a::1",
    "ff02::1",
    "ff0e::1",  # global-scope multicast
    "2001:db8::1",
    "3fff::1",
    "fec0::1",
    "100::1",
    # IPv6 wrappers around blocked IPv4
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0:127.0.0.1",  # IPv4-translated
    "::127.0.0.1",  # IPv4-compatible
    "::10.0.0.1",
    "64:ff9b::127.0.0.1",  # NAT64
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::8.8.8.8",  # local-use NAT64: blocked whatever it wraps
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo, client 192.0.2.45
    "2001:0:7f00:1::1",  # Teredo, server 127.0.0.1
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",  # just below CGNAT
    "100.128.0.1",  # just above CGNAT
    "172.15.255.255",
    "172.32.0.1",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize("text", BLOCKED)
def test_blocked(text: str) -> None:
    ip = ipaddress.ip_address(text)
    assert not is_public_address(ip)
    with pytest.raises(BlockedAddress) as caught:
        check_address(ip)
    assert caught.value.address == ip


@pytest.mark.parametrize("text", PUBLIC)
def test_public(text: str) -> None:
    ip = ipaddress.ip_address(text)
    assert is_public_address(ip)
    check_address(ip)


@pytest.mark.parametrize(
    "text",
    [
        "224.0.0.1",
        "239.255.255.250",
        "192.0.0.9",
        "ff0e::1",
        "64:ff9b::7f00:1",
        "::127.0.0.1",
        "2002:7f00:1::1",
        "3fff::1",
        "fec0::1",
    ],
)
def test_gaps_of_is_global_are_closed(text: str) -> None:
    """`is_global` calls each of these global on Python 3.11.7; the explicit rules do not."""
    assert not is_public_address(ipaddress.ip_address(text))


@pytest.mark.parametrize(
    ("text", "inner"),
    [
        ("::ffff:1.2.3.4", ["1.2.3.4"]),
        ("::1.2.3.4", ["1.2.3.4"]),
        ("64:ff9b::102:304", ["1.2.3.4"]),
        ("2002:102:304::5", ["1.2.3.4"]),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", ["65.54.227.120", "192.0.2.45"]),
        ("2606:4700:4700::1111", []),
    ],
)
def test_embedded_ipv4(text: str, inner: list[str]) -> None:
    ip = ipaddress.IPv6Address(text)
    assert [str(a) for a in embedded_ipv4(ip)] == inner


def test_allow_list_bypasses_the_block_for_its_networks_only() -> None:
    allowed = parse_networks("127.0.0.2/32, fd00:1::/64")
    check_address(ipaddress.ip_address("127.0.0.2"), allowed=allowed)
    check_address(ipaddress.ip_address("fd00:1::5"), allowed=allowed)
    for still_blocked in ("127.0.0.1", "127.0.0.3", "fd00:2::5", "::ffff:127.0.0.2"):
        with pytest.raises(BlockedAddress):
            check_address(ipaddress.ip_address(still_blocked), allowed=allowed)


def test_parse_networks() -> None:
    assert parse_networks("") == ()
    assert parse_networks(["10.1.2.3/8"]) == (ipaddress.ip_network("10.0.0.0/8"),)
    with pytest.raises(ValueError, match="does not appear"):
        parse_networks("not-a-network")
