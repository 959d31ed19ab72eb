"""Issue 6, item 3: hostile URLs against live servers; the loopback trap must count zero.

A "photo host" on 127.0.0.2 (allowed for the test, standing in for the internet)
answers redirects and misbehaves on request; traps on 127.0.0.1 and [::1], on the
same port, count every TCP connection. Every hostile fetch must fail with a clear
FetchError *and* leave both traps at zero. test_fetch.py covers the basic cases;
this file adds the spellings, redirect forms, DNS answers and slow or endless
responses the issue lists, one named case each.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from aiohttp import web
from photobus_ingest.fetch import FetchError, FetchLimits, Resolver, fetch_url
from photobus_ingest.netguard import IPAddress, parse_networks

ALLOWED = parse_networks("127.0.0.2/32")
BODY = b"\x89PNG\r\n\x1a\n" + b"\0" * 1000
LIMITS = FetchLimits(max_bytes=100_000, total_timeout=2.0, read_timeout=1.0)


@dataclass
class Hosts:
    port: int
    trap_hits: list[str] = field(default_factory=list)  # "127.0.0.1" / "::1", one per connection
    served: list[str] = field(default_factory=list)

    @property
    def photo_host(self) -> str:
        return f"http://127.0.0.2:{self.port}"


def _bind_trio() -> tuple[socket.socket, socket.socket, socket.socket]:
    """Listening sockets on 127.0.0.2, 127.0.0.1 and ::1, all on one port."""
    for _ in range(50):
        socks: list[socket.socket] = []
        try:
            allowed = socket.socket()
            socks.append(allowed)
            allowed.bind(("127.0.0.2", 0))
            port = allowed.getsockname()[1]
            trap4 = socket.socket()
            socks.append(trap4)
            trap4.bind(("127.0.0.1", port))
            trap6 = socket.socket(socket.AF_INET6)
            socks.append(trap6)
            trap6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            trap6.bind(("::1", port))
        except OSError:
            for s in socks:
                s.close()
            continue
        for s in socks:
            s.listen()
        return allowed, trap4, trap6
    raise RuntimeError("no port free on 127.0.0.2, 127.0.0.1 and ::1 at once")


def _photo_host_app(hosts: Hosts) -> web.Application:
    async def photo(request: web.Request) -> web.Response:
        hosts.served.append(request.path_qs)
        return web.Response(body=BODY, content_type="image/png")

    async def redirect(request: web.Request) -> web.Response:
        """`/redirect/<code>?to=<Location>`: answers <code> with that Location, verbatim."""
        hosts.served.append(request.path_qs)
        return web.Response(
            status=int(request.match_info["code"]), headers={"Location": request.query["to"]}
        )

    async def hop(request: web.Request) -> web.Response:
        """`/hop/<n>?to=...`: n more redirects on this host, then to `to`."""
        left = int(request.match_info["n"])
        to = request.query["to"]
        location = f"/hop/{left - 1}?to={to}" if left else to
        return web.Response(status=302, headers={"Location": location})

    async def endless(request: web.Request) -> web.StreamResponse:
        """A chunked body that never ends, as fast as the client reads."""
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        while True:
            await resp.write(b"\0" * 65536)

    async def drip(request: web.Request) -> web.StreamResponse:
        """One byte a second, for ever: every read is quick, the whole never ends."""
        resp = web.StreamResponse(headers={"Content-Length": "100000"})
        await resp.prepare(request)
        while True:
            await resp.write(b"x")
            await asyncio.sleep(1.0)  # the server's pace is what is under test

    async def silent(request: web.Request) -> web.StreamResponse:
        """Headers, then nothing: the body never starts."""
        resp = web.StreamResponse(headers={"Content-Length": "1000"})
        await resp.prepare(request)
        await asyncio.Event().wait()
        return resp

    app = web.Application()
    app.router.add_get("/photo", photo)
    app.router.add_get("/redirect/{code}", redirect)
    app.router.add_get("/hop/{n}", hop)
    app.router.add_get("/endless", endless)
    app.router.add_get("/drip", drip)
    app.router.add_get("/silent", silent)
    return app


@pytest.fixture
async def hosts() -> AsyncIterator[Hosts]:
    allowed, trap4, trap6 = _bind_trio()
    hosts = Hosts(port=allowed.getsockname()[1])

    def counting(
        name: str,
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def count(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            hosts.trap_hits.append(name)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ntrap")
            await writer.drain()
            writer.close()

        return count

    traps = [
        await asyncio.start_server(counting("127.0.0.1"), sock=trap4),
        await asyncio.start_server(counting("::1"), sock=trap6),
    ]
    runner = web.AppRunner(_photo_host_app(hosts), shutdown_timeout=0.1)
    await runner.setup()
    await web.SockSite(runner, allowed).start()
    yield hosts
    await runner.cleanup()
    for trap in traps:
        trap.close()
        await trap.wait_closed()


class Sink:
    def __init__(self) -> None:
        self.received = 0

    async def __call__(self, chunk: bytes) -> None:
        self.received += len(chunk)


async def fetch_refused(
    url: str, *, resolver: Resolver | None = None, limits: FetchLimits = LIMITS
) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetch_url(None, url, Sink(), limits, allowed=ALLOWED, resolver=resolver)
    return caught.value


# --- IP literals in every spelling aiohttp/yarl accept --------------------------------

LOOPBACK_SPELLINGS = {
    "dotted": "127.0.0.1",
    "decimal": "2130706433",
    "decimal-trailing-dot": "2130706433.",
    "octal": "0177.0.0.1",
    "octal-padded": "00000177.0.0.01",
    "octal-whole": "017700000001",
    "hex": "0x7f000001",
    "hex-padded": "0x00007f000001",
    "hex-dotted": "0x7f.0x0.0x0.0x1",
    "hex-upper": "0X7F.0.0.1",
    "short-two-parts": "127.1",
    "short-three-parts": "127.0.1",
    "zero-padded-octets": "127.000.000.001",
    "fullwidth-digits-idna": "１２７.０.０.１",
    "ideographic-full-stops-idna": "127。0。0。1",
    "circled-digits-idna": "①②⑦.0.0.1",
    "other-loopback-127.53.0.9": "127.53.0.9",
    "ipv6-short": "[::1]",
    "ipv6-long": "[0:0:0:0:0:0:0:1]",
    "ipv6-zero-padded": "[0000:0000:0000:0000:0000:0000:0000:0001]",
    "ipv6-zone-id": "[::1%25lo]",
    "ipv6-zone-id-unencoded": "[::1%lo]",
    "ipv4-mapped-hex": "[::ffff:7f00:1]",
    "ipv4-mapped-dotted": "[::ffff:127.0.0.1]",
    "ipv4-mapped-long": "[0:0:0:0:0:ffff:7f00:1]",
    "ipv4-compatible": "[::127.0.0.1]",
    "ipv4-translated": "[::ffff:0:7f00:1]",
    "nat64": "[64:ff9b::7f00:1]",
    "6to4": "[2002:7f00:1::1]",
    "unspecified-0.0.0.0": "0.0.0.0",
    "unspecified-0": "0",
    "unspecified-ipv6": "[::]",
    "link-local-zone-id": "[fe80::1%25eth0]",
}


@pytest.mark.parametrize(
    "host", [pytest.param(h, id=name) for name, h in LOOPBACK_SPELLINGS.items()]
)
async def test_ip_literal_spelling_is_blocked(hosts: Hosts, host: str) -> None:
    error = await fetch_refused(f"http://{host}:{hosts.port}/photo", resolver=_never_resolve)
    assert error.reason == "blocked_address", error
    assert "not on the public internet" in error.detail
    assert hosts.trap_hits == []


async def _never_resolve(host: str, port: int) -> list[IPAddress]:
    raise AssertionError(f"{host} is an IP literal; it must be judged without DNS")


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("%31%32%37.0.0.1", id="percent-encoded-host"),
        pytest.param("localhost", id="localhost"),
        pytest.param("LOCALHOST.", id="localhost-upper-trailing-dot"),
    ],
)
async def test_names_that_mean_loopback_are_refused(hosts: Hosts, host: str) -> None:
    """Whatever the system resolver makes of them, nothing reaches loopback."""
    error = await fetch_refused(f"http://{host}:{hosts.port}/photo")
    assert error.reason in {"blocked_address", "fetch_failed"}, error
    assert hosts.trap_hits == []


# --- DNS answers: a stub resolver ------------------------------------------------------


def stub_dns(table: Mapping[str, list[str]]) -> Resolver:
    """A resolver answering from `table` (name -> addresses), as a hostile DNS server would."""

    async def resolve(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in table[host.rstrip(".").lower()]]

    return resolve


DNS_ANSWERS = {
    "only-loopback": ["127.0.0.1"],
    "public-then-loopback": ["8.8.8.8", "127.0.0.1"],
    "loopback-then-public": ["127.0.0.1", "8.8.8.8"],
    "public-and-private-10": ["1.1.1.1", "10.0.0.5"],
    "public-and-metadata": ["93.184.215.14", "169.254.169.254"],
    "ipv6-loopback": ["::1"],
    "ipv6-unique-local-and-public": ["2606:4700:4700::1111", "fd00:ec2::254"],
    "ipv4-mapped-loopback": ["::ffff:127.0.0.1"],
    "nat64-of-metadata": ["64:ff9b::a9fe:a9fe"],
    "cgnat-alibaba-metadata": ["100.100.100.200"],
    "allowed-and-loopback": ["127.0.0.2", "127.0.0.1"],  # even beside an allowed address
}


@pytest.mark.parametrize("name", list(DNS_ANSWERS))
async def test_dns_answer_with_a_private_address_is_blocked(hosts: Hosts, name: str) -> None:
    resolver = stub_dns({f"{name}.photos.example": DNS_ANSWERS[name]})
    error = await fetch_refused(
        f"http://{name}.photos.example:{hosts.port}/photo", resolver=resolver
    )
    assert error.reason == "blocked_address", error
    assert hosts.trap_hits == []


async def test_dns_answer_that_changes_on_the_next_hop_is_checked_again(hosts: Hosts) -> None:
    """Rebinding across a redirect: the first lookup is allowed, the second (a new hop) is not."""
    answers = iter([["127.0.0.2"], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in next(answers)]

    url = f"http://rebind.photos.example:{hosts.port}/hop/1?to=/photo"
    error = await fetch_refused(url, resolver=rebinding)
    assert error.reason == "blocked_address"
    assert hosts.served == []  # the first hop was served by /hop, which records nothing
    assert hosts.trap_hits == []


async def test_connection_goes_to_the_checked_address_whatever_dns_says_later(
    hosts: Hosts,
) -> None:
    """One lookup per hop: aiohttp's connector never asks DNS again (it would get loopback)."""
    lookups: list[str] = []

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        lookups.append(host)
        return [ipaddress.ip_address("127.0.0.2" if len(lookups) == 1 else "127.0.0.1")]

    sink = Sink()
    url = f"http://rebind.photos.example:{hosts.port}/photo"
    await fetch_url(None, url, sink, LIMITS, allowed=ALLOWED, resolver=rebinding)
    assert lookups == ["rebind.photos.example"]
    assert sink.received == len(BODY)
    assert hosts.served == ["/photo"]
    assert hosts.trap_hits == []


# --- Redirect chains into loopback ----------------------------------------------------


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
async def test_redirect_status_into_loopback_is_blocked(hosts: Hosts, code: int) -> None:
    to = f"http://127.0.0.1:{hosts.port}/photo"
    error = await fetch_refused(f"{hosts.photo_host}/redirect/{code}?to={to}")
    assert error.reason == "blocked_address"
    assert "127.0.0.1" in error.detail
    assert hosts.trap_hits == []


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        pytest.param("//127.0.0.1:{port}/photo", "blocked_address", id="protocol-relative"),
        pytest.param("//[::1]:{port}/photo", "blocked_address", id="protocol-relative-ipv6"),
        pytest.param(
            "//2130706433:{port}/photo", "blocked_address", id="protocol-relative-decimal"
        ),
        pytest.param("HTTP://127.0.0.1:{port}/photo", "blocked_address", id="upper-case-scheme"),
        pytest.param("https://127.0.0.1:{port}/photo", "blocked_address", id="to-https"),
        pytest.param("http://[::ffff:7f00:1]:{port}/", "blocked_address", id="ipv4-mapped"),
        pytest.param("http://169.254.169.254/latest/meta-data/", "blocked_address", id="metadata"),
        pytest.param("http://[fd00:ec2::254]/latest/", "blocked_address", id="metadata-ipv6"),
        pytest.param("file:///etc/passwd", "bad_url", id="to-file-scheme"),
        pytest.param("gopher://127.0.0.1:{port}/_GET", "bad_url", id="to-gopher-scheme"),
        pytest.param("ftp://127.0.0.1:{port}/photo", "bad_url", id="to-ftp-scheme"),
        pytest.param("data:image/png;base64,iVBORw0KGgo=", "bad_url", id="to-data-scheme"),
        pytest.param("http://user:pw@127.0.0.2:{port}/photo", "bad_url", id="to-credentials"),
        pytest.param(
            "http://127.0.0.2:{port}@127.0.0.1:{port}/photo", "bad_url", id="userinfo-confusion"
        ),
    ],
)
async def test_redirect_location_form_is_refused(hosts: Hosts, location: str, reason: str) -> None:
    to = location.format(port=hosts.port)
    error = await fetch_refused(f"{hosts.photo_host}/redirect/302?to={_quote(to)}")
    assert error.reason == reason, error
    assert hosts.trap_hits == []


@pytest.mark.parametrize(
    "location",
    [
        pytest.param("\\\\127.0.0.1:{port}/photo", id="backslashes"),
        pytest.param("/\\127.0.0.1:{port}/photo", id="slash-backslash"),
        pytest.param("///127.0.0.1:{port}/photo", id="triple-slash"),
        pytest.param("http:/127.0.0.1:{port}/photo", id="scheme-one-slash"),
        pytest.param("http:127.0.0.1:{port}/photo", id="scheme-no-slash"),
    ],
)
async def test_relative_locations_that_look_like_hosts_stay_on_the_same_host(
    hosts: Hosts, location: str
) -> None:
    """Browsers read some of these as a new host; aiohttp joins them as paths on this one."""
    to = location.format(port=hosts.port)
    with pytest.raises(FetchError) as caught:  # the photo host answers 404 for such a path
        await fetch_url(
            None,
            f"{hosts.photo_host}/redirect/302?to={_quote(to)}",
            Sink(),
            LIMITS,
            allowed=ALLOWED,
        )
    assert caught.value.reason == "fetch_failed"
    assert "404" in caught.value.detail
    assert hosts.trap_hits == []


async def test_a_long_redirect_chain_ending_in_loopback_is_blocked(hosts: Hosts) -> None:
    to = _quote(f"http://127.0.0.1:{hosts.port}/photo")
    error = await fetch_refused(f"{hosts.photo_host}/hop/4?to={to}")
    assert error.reason == "blocked_address"
    assert hosts.trap_hits == []


async def test_a_redirect_to_a_name_resolving_to_loopback_is_blocked(hosts: Hosts) -> None:
    resolver = stub_dns({"cdn.photos.example": ["127.0.0.1"]})
    to = _quote(f"http://cdn.photos.example:{hosts.port}/photo")
    error = await fetch_refused(f"{hosts.photo_host}/redirect/307?to={to}", resolver=resolver)
    assert error.reason == "blocked_address"
    assert hosts.trap_hits == []


def _quote(location: str) -> str:
    return quote(location, safe="")


# --- Schemes and credentials ----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("file://127.0.0.1/etc/passwd", id="file-with-host"),
        pytest.param("gopher://127.0.0.1:6379/_FLUSHALL", id="gopher-redis"),
        pytest.param("data:image/png;base64,iVBORw0KGgo=", id="data"),
        pytest.param("ftp://127.0.0.1/photo.jpg", id="ftp"),
        pytest.param("dict://127.0.0.1:11211/stats", id="dict"),
        pytest.param("ws://127.0.0.1/", id="websocket"),
        pytest.param("jar:http://127.0.0.1/a.zip!/photo.jpg", id="jar"),
        pytest.param("http://user:secret@127.0.0.2/photo", id="credentials-user-password"),
        pytest.param("http://token@127.0.0.2/photo", id="credentials-user-only"),
        pytest.param("http://:secret@127.0.0.2/photo", id="credentials-password-only"),
        pytest.param("http://127.0.0.2@127.0.0.1/photo", id="credentials-host-confusion"),
        pytest.param("https://photos.example%2F@127.0.0.1/", id="credentials-encoded-slash"),
    ],
)
async def test_scheme_or_credentials_are_refused_before_any_lookup(url: str) -> None:
    error = await fetch_refused(url, resolver=_never_resolve)
    assert error.reason == "bad_url"


# --- Responses that never end, lie or trickle -----------------------------------------


async def test_a_response_that_never_ends_stops_at_the_byte_limit(hosts: Hosts) -> None:
    sink = Sink()
    limits = FetchLimits(max_bytes=1_000_000, total_timeout=10.0, read_timeout=1.0)
    with pytest.raises(FetchError) as caught:
        await fetch_url(None, f"{hosts.photo_host}/endless", sink, limits, allowed=ALLOWED)
    assert caught.value.reason == "too_large"
    assert sink.received <= 1_000_000


async def test_a_response_that_trickles_one_byte_a_second_hits_the_deadline(hosts: Hosts) -> None:
    """Each read arrives within the read timeout; only the total deadline stops it."""
    limits = FetchLimits(max_bytes=1_000_000, total_timeout=2.5, read_timeout=2.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    error = await fetch_refused(f"{hosts.photo_host}/drip", limits=limits)
    assert error.reason == "timeout"
    assert "try again later" in error.detail
    assert 2.0 < loop.time() - started < 4.0


async def test_a_response_whose_body_never_starts_hits_the_read_timeout(hosts: Hosts) -> None:
    limits = FetchLimits(max_bytes=1_000_000, total_timeout=30.0, read_timeout=0.5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    error = await fetch_refused(f"{hosts.photo_host}/silent", limits=limits)
    assert error.reason == "timeout"
    assert loop.time() - started < 2.0
