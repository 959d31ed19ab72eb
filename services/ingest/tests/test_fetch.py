"""fetch_url against real HTTP servers on 127.0.0.2 (allowed) and a trap on 127.0.0.1.

The trap counts TCP connections: every blocked fetch must leave it at zero.
Nothing here connects anywhere but the loopback range.
"""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from photobus_ingest.fetch import (
    FetchedMeta,
    FetchError,
    FetchLimits,
    Resolver,
    fetch_url,
    ip_literal,
    open_fetch_session,
)
from photobus_ingest.netguard import IPAddress, parse_networks

ALLOWED = parse_networks("127.0.0.2/32")
BODY = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
LIMITS = FetchLimits(max_bytes=1_000_000, total_timeout=1.5, read_timeout=1.0)


@dataclass
class Servers:
    port: int
    raw_port: int  # a hand-written HTTP server on 127.0.0.2 for malformed answers
    trap_connections: int = 0
    served: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.2:{self.port}"

    @property
    def trap(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Collected:
    chunks: list[bytes] = field(default_factory=list)

    async def __call__(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


def bind_pair() -> tuple[socket.socket, socket.socket]:
    """Listening sockets on 127.0.0.2 and 127.0.0.1 with the same port."""
    for _ in range(20):
        allowed = socket.socket()
        allowed.bind(("127.0.0.2", 0))
        trap = socket.socket()
        try:
            trap.bind(("127.0.0.1", allowed.getsockname()[1]))
        except OSError:
            allowed.close()
            trap.close()
            continue
        allowed.listen()
        trap.listen()
        return allowed, trap
    raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")


def allowed_app(servers: Servers) -> web.Application:
    async def photo(request: web.Request) -> web.Response:
        servers.served.append(request.path)
        return web.Response(body=BODY, content_type="image/png")

    async def chain(request: web.Request) -> web.Response:
        left = int(request.match_info["left"])
        if left == 0:
            return web.Response(body=BODY)
        raise web.HTTPFound(f"/chain/{left - 1}")

    async def to_trap(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{servers.trap}/photo")

    async def to_file(request: web.Request) -> web.Response:
        raise web.HTTPFound("file:///etc/passwd")

    async def no_location(request: web.Request) -> web.Response:
        return web.Response(status=302)

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404, text="no such photo")

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(64):  # 64 KiB, no Content-Length
            await resp.write(b"x" * 1024)
        await resp.write_eof()
        return resp

    async def trickle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": "100"})
        await resp.prepare(request)
        # The server's pace is what is under test: each read is quick, the whole is slow.
        for _ in range(100):
            await resp.write(b"x")
            await asyncio.sleep(0.3)
        return resp

    async def stall(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": "100"})
        await resp.prepare(request)
        await resp.write(b"x")
        await asyncio.Event().wait()  # never finishes; cancelled at shutdown
        return resp

    app = web.Application()
    app.router.add_get("/photo", photo)
    app.router.add_get("/chain/{left}", chain)
    app.router.add_get("/to-trap", to_trap)
    app.router.add_get("/to-file", to_file)
    app.router.add_get("/no-location", no_location)
    app.router.add_get("/missing", missing)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/trickle", trickle)
    app.router.add_get("/stall", stall)
    return app


RAW_ANSWERS = {
    b"/lying-short": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" + b"y" * 5000,
    b"/lying-long": b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"y" * 10,
}


async def raw_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request_line = await reader.readline()
    await reader.readuntil(b"\r\n\r\n")
    writer.write(RAW_ANSWERS[request_line.split()[1]])
    await writer.drain()
    writer.close()


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    allowed_sock, trap_sock = bind_pair()
    raw = await asyncio.start_server(raw_answer, "127.0.0.2", 0)
    servers = Servers(port=allowed_sock.getsockname()[1], raw_port=raw.sockets[0].getsockname()[1])

    async def count(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        servers.trap_connections += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ntrap")
        await writer.drain()
        writer.close()

    trap = await asyncio.start_server(count, sock=trap_sock)
    runner = web.AppRunner(allowed_app(servers), shutdown_timeout=0.1)
    await runner.setup()
    await web.SockSite(runner, allowed_sock).start()
    yield servers
    await runner.cleanup()
    for server in (trap, raw):
        server.close()
        await server.wait_closed()


async def must_not_resolve(host: str, port: int) -> list[IPAddress]:
    raise AssertionError(f"resolved {host} although the URL should be refused first")


async def fetch(
    url: str, *, limits: FetchLimits = LIMITS, resolver: Resolver | None = None
) -> FetchedMeta:
    return await fetch_url(None, url, Collected(), limits, allowed=ALLOWED, resolver=resolver)


async def test_fetches_from_an_allowed_server(servers: Servers) -> None:
    sink = Collected()
    meta = await fetch_url(None, f"{servers.base}/photo", sink, LIMITS, allowed=ALLOWED)
    assert sink.body == BODY
    assert meta == FetchedMeta(f"{servers.base}/photo", 200, len(BODY), len(BODY))


async def test_a_shared_session_is_reused(servers: Servers) -> None:
    async with open_fetch_session() as session:
        for _ in range(2):
            sink = Collected()
            await fetch_url(session, f"{servers.base}/photo", sink, LIMITS, allowed=ALLOWED)
            assert sink.body == BODY
    assert servers.served == ["/photo", "/photo"]


async def test_an_ordinary_session_is_refused() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="open_fetch_session"):
            await fetch_url(session, "http://127.0.0.2/", Collected(), LIMITS)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/photo",
        "http://127.0.0.1.:{port}/photo",
        "http://[::1]:{port}/photo",
        "http://[::ffff:127.0.0.1]:{port}/photo",
        "http://[::ffff:7f00:1]:{port}/photo",
        "http://[64:ff9b::7f00:1]:{port}/photo",
        "http://0.0.0.0:{port}/photo",
        "http://0:{port}/photo",
        "http://2130706433:{port}/photo",
        "http://0x7f.1:{port}/photo",
        "http://0x7f000001:{port}/photo",
        "http://127.1:{port}/photo",
        "http://0177.0.0.1:{port}/photo",
        "http://localhost:{port}/photo",  # the system resolver's answer is checked too
        "https://127.0.0.1:{port}/photo",
        "http://10.0.0.1/photo",
        "http://192.168.0.1/photo",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/photo",
    ],
)
async def test_blocked_addresses(servers: Servers, url: str) -> None:
    with pytest.raises(FetchError) as caught:
        await fetch(url.format(port=servers.port))
    assert caught.value.reason == "blocked_address"
    assert "not on the public internet" in caught.value.detail
    assert servers.trap_connections == 0


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("::ffff:7f00:1", "::ffff:7f00:1"),
        ("8.8.8.8", "8.8.8.8"),
        ("127.0.0.1.", "127.0.0.1"),
        ("[::1]", "::1"),
        ("example.com", None),
        ("cafe.0x1", None),
        ("deadbeef", None),
    ],
)
def test_ip_literal_spellings(host: str, expected: str | None) -> None:
    assert ip_literal(host) == (ipaddress.ip_address(expected) if expected else None)


async def test_every_resolved_address_is_checked(servers: Servers) -> None:
    async def public_and_loopback(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("127.0.0.1")]

    with pytest.raises(FetchError) as caught:
        await fetch(f"http://photos.example:{servers.port}/photo", resolver=public_and_loopback)
    assert caught.value.reason == "blocked_address"
    assert "127.0.0.1" in caught.value.detail
    assert servers.trap_connections == 0


async def test_connects_to_the_checked_address_not_a_fresh_lookup(servers: Servers) -> None:
    answers: list[str] = []

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        answers.append(host)
        first = len(answers) == 1
        return [ipaddress.ip_address("127.0.0.2" if first else "127.0.0.1")]

    sink = Collected()
    url = f"http://rebind.example:{servers.port}/photo"
    await fetch_url(None, url, sink, LIMITS, allowed=ALLOWED, resolver=rebinding)
    assert sink.body == BODY
    assert answers == ["rebind.example"]
    assert servers.served == ["/photo"]
    assert servers.trap_connections == 0


async def test_the_session_never_connects_to_unchecked_hosts(servers: Servers) -> None:
    async with open_fetch_session() as session:
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.get(f"http://localhost:{servers.port}/photo")
    assert servers.trap_connections == 0


async def test_redirect_to_loopback_is_blocked(servers: Servers) -> None:
    with pytest.raises(FetchError) as caught:
        await fetch(f"{servers.base}/to-trap")
    assert caught.value.reason == "blocked_address"
    assert servers.trap_connections == 0


async def test_redirect_to_another_scheme_is_a_bad_url(servers: Servers) -> None:
    with pytest.raises(FetchError) as caught:
        await fetch(f"{servers.base}/to-file")
    assert caught.value.reason == "bad_url"
    assert "redirected from" in caught.value.detail


async def test_redirects_are_followed_up_to_the_limit(servers: Servers) -> None:
    sink = Collected()
    meta = await fetch_url(None, f"{servers.base}/chain/5", sink, LIMITS, allowed=ALLOWED)
    assert meta.final_url == f"{servers.base}/chain/0"
    assert sink.body == BODY


async def test_too_many_redirects(servers: Servers) -> None:
    with pytest.raises(FetchError) as caught:
        await fetch(f"{servers.base}/chain/6")
    assert caught.value.reason == "fetch_failed"
    assert "too many redirects" in caught.value.detail


async def test_redirect_without_location(servers: Servers) -> None:
    with pytest.raises(FetchError) as caught:
        await fetch(f"{servers.base}/no-location")
    assert caught.value.reason == "fetch_failed"
    assert "without a Location" in caught.value.detail


async def test_error_status(servers: Servers) -> None:
    with pytest.raises(FetchError) as caught:
        await fetch(f"{servers.base}/missing")
    assert caught.value.reason == "fetch_failed"
    assert "404" in caught.value.detail


async def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.2", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        await fetch(f"http://127.0.0.2:{port}/photo")
    assert caught.value.reason == "fetch_failed"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.2:70/_",
        "data:image/png;base64,iVBORw0KGgo=",
        "ftp://example.com/photo.jpg",
        "javascript:alert(1)",
        "//example.com/photo.jpg",
        "http:///photo.jpg",
        "http://user:pass@example.com/photo.jpg",
        "http://user@example.com/photo.jpg",
        "http://:@example.com/photo.jpg",
        "http://127.0.0.2:99999/photo.jpg",
    ],
)
async def test_bad_urls(url: str) -> None:
    with pytest.raises(FetchError) as caught:
        await fetch(url, resolver=must_not_resolve)
    assert caught.value.reason == "bad_url"


async def test_declared_length_over_the_limit_is_refused_unread(servers: Servers) -> None:
    sink = Collected()
    limits = FetchLimits(max_bytes=len(BODY) - 1, total_timeout=1.5)
    with pytest.raises(FetchError) as caught:
        await fetch_url(None, f"{servers.base}/photo", sink, limits, allowed=ALLOWED)
    assert caught.value.reason == "too_large"
    assert sink.chunks == []


async def test_undeclared_length_is_counted(servers: Servers) -> None:
    sink = Collected()
    limits = FetchLimits(max_bytes=10_000, total_timeout=1.5)
    with pytest.raises(FetchError) as caught:
        await fetch_url(None, f"{servers.base}/chunked", sink, limits, allowed=ALLOWED)
    assert caught.value.reason == "too_large"
    assert len(sink.body) <= 10_000


async def test_a_body_longer_than_declared_is_never_read_past_the_declared_length(
    servers: Servers,
) -> None:
    sink = Collected()
    url = f"http://127.0.0.2:{servers.raw_port}/lying-short"
    with pytest.raises(FetchError) as caught:
        await fetch_url(None, url, sink, LIMITS, allowed=ALLOWED)
    assert caught.value.reason == "fetch_failed"
    assert len(caught.value.detail) < 400  # the junk is not echoed back to the user
    assert len(sink.body) <= 10


async def test_a_body_shorter_than_declared_fails(servers: Servers) -> None:
    with pytest.raises(FetchError) as caught:
        await fetch(f"http://127.0.0.2:{servers.raw_port}/lying-long")
    assert caught.value.reason == "fetch_failed"


async def test_a_trickling_server_hits_the_total_deadline(servers: Servers) -> None:
    limits = FetchLimits(max_bytes=1000, total_timeout=0.8, read_timeout=5.0)
    started = asyncio.get_running_loop().time()
    with pytest.raises(FetchError) as caught:
        await fetch(f"{servers.base}/trickle", limits=limits)
    assert caught.value.reason == "timeout"
    assert asyncio.get_running_loop().time() - started < 1.5


async def test_a_stalled_server_hits_the_read_timeout(servers: Servers) -> None:
    limits = FetchLimits(max_bytes=1000, total_timeout=30.0, read_timeout=0.3)
    started = asyncio.get_running_loop().time()
    with pytest.raises(FetchError) as caught:
        await fetch(f"{servers.base}/stall", limits=limits)
    assert caught.value.reason == "timeout"
    assert asyncio.get_running_loop().time() - started < 1.5


@dataclass
class TlsServer:
    port: int
    ca: ssl.SSLContext  # trusts the server's self-signed certificate
    sni: list[str | None] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)


def self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.fail(
            "needs the openssl command to make a certificate: apt-get install openssl",
            pytrace=False,
        )
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[TlsServer]:
    cert, key = self_signed(tmp_path, "photos.example")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    sock = socket.socket()
    sock.bind(("127.0.0.2", 0))
    sock.listen()
    server = TlsServer(port=sock.getsockname()[1], ca=ssl.create_default_context(cafile=cert))

    def record_sni(_conn: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        server.sni.append(name)

    server_tls.sni_callback = record_sni

    async def photo(request: web.Request) -> web.Response:
        server.hosts.append(request.host)
        return web.Response(body=BODY)

    app = web.Application()
    app.router.add_get("/photo", photo)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=server_tls).start()
    yield server
    await runner.cleanup()


def resolving_to_allowed_server(name: str) -> Resolver:
    async def resolve(host: str, port: int) -> list[IPAddress]:
        assert host == name
        return [ipaddress.ip_address("127.0.0.2")]

    return resolve


async def test_tls_keeps_the_hostname_for_sni_host_and_certificate(tls_server: TlsServer) -> None:
    sink = Collected()
    url = f"https://photos.example:{tls_server.port}/photo"
    async with open_fetch_session(tls=tls_server.ca) as session:
        await fetch_url(
            session,
            url,
            sink,
            LIMITS,
            allowed=ALLOWED,
            resolver=resolving_to_allowed_server("photos.example"),
        )
    assert sink.body == BODY
    assert tls_server.sni == ["photos.example"]
    assert tls_server.hosts == [f"photos.example:{tls_server.port}"]


async def test_tls_certificate_for_another_name_is_refused(tls_server: TlsServer) -> None:
    sink = Collected()
    url = f"https://other.example:{tls_server.port}/photo"
    async with open_fetch_session(tls=tls_server.ca) as session:
        with pytest.raises(FetchError) as caught:
            await fetch_url(
                session,
                url,
                sink,
                LIMITS,
                allowed=ALLOWED,
                resolver=resolving_to_allowed_server("other.example"),
            )
    assert caught.value.reason == "fetch_failed"
    assert "certificate" in caught.value.detail.lower()
    assert sink.chunks == []
    assert tls_server.hosts == []
