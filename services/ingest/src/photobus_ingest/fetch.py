"""Fetch a user-supplied URL without letting it reach our own network (SSRF).

Every hop's host is resolved once, every address checked by `netguard`, and the
connection then goes to exactly those checked addresses: the connector's resolver
only answers from the pins set here, so a DNS answer that changes between our
check and aiohttp's connect (DNS rebinding) cannot redirect the connection.
Redirects are followed by hand so each hop goes through the same gate. The Host
header, TLS SNI and certificate checks keep using the URL's hostname.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import re
import socket
import ssl
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from photobus_ingest.netguard import BlockedAddress, IPAddress, IPNetwork, check_address

FetchReason = Literal["bad_url", "blocked_address", "fetch_failed", "too_large", "timeout"]
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
Sink = Callable[[bytes], Awaitable[None]]

CHUNK_BYTES = 256 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HEADERS = {"Accept": "image/*", "Accept-Encoding": "identity", "User-Agent": "photobus-ingest"}
# Hosts that inet_aton may read as an IPv4 address ("2130706433", "0x7f.1", "127.1").
_LEGACY_IPV4 = re.compile(r"^[0-9a-fx.]+$", re.IGNORECASE)


@dataclass(frozen=True)
class FetchLimits:
    """`read_timeout` bounds each connect and each read; `total_timeout` the whole fetch."""

    max_bytes: int
    total_timeout: float = 30.0
    read_timeout: float = 10.0
    max_redirects: int = 5


@dataclass(frozen=True)
class FetchedMeta:
    final_url: str
    status: int
    content_length: int | None  # as declared by the server
    received: int = 0  # bytes handed to the sink


class FetchError(Exception):
    """The URL could not be fetched; `reason` is the photo.rejected reason code."""

    def __init__(self, reason: FetchReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: FetchReason = reason
        self.detail = detail


# (host, the checked addresses) the current task may connect to
_pin: contextvars.ContextVar[tuple[str, Sequence[IPAddress]] | None] = contextvars.ContextVar(
    "photobus_fetch_pin", default=None
)
_pinned_sessions: weakref.WeakSet[aiohttp.ClientSession] = weakref.WeakSet()


class _PinnedResolver(AbstractResolver):
    """Answers only with the addresses `fetch_url` checked for this host, in this task."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        pin = _pin.get()
        addresses = pin[1] if pin is not None and pin[0] == _host_key(host) else ()
        results: list[ResolveResult] = [
            {
                "hostname": host,
                "host": str(ip),
                "port": port,
                "family": socket.AF_INET if ip.version == 4 else socket.AF_INET6,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for ip in addresses
            if family in (socket.AF_UNSPEC, socket.AF_INET if ip.version == 4 else socket.AF_INET6)
        ]
        if not results:
            raise OSError(f"{host} was not checked by photobus_ingest.fetch; refusing to connect")
        return results

    async def close(self) -> None:
        return None


def open_fetch_session(*, tls: ssl.SSLContext | None = None) -> aiohttp.ClientSession:
    """A session whose connections go only to addresses `fetch_url` has checked.

    No connection reuse (a pooled connection would skip the per-hop pinning), no
    proxies from the environment, no transparent decompression. `tls` replaces the
    default certificate verification context (e.g. a private CA); it is never off.
    """
    connector = aiohttp.TCPConnector(
        resolver=_PinnedResolver(), use_dns_cache=False, force_close=True, ssl=tls or True
    )
    session = aiohttp.ClientSession(connector=connector, auto_decompress=False, trust_env=False)
    _pinned_sessions.add(session)
    return session


async def fetch_url(
    session: aiohttp.ClientSession | None,
    url: str,
    sink: Sink,
    limits: FetchLimits,
    *,
    allowed: Sequence[IPNetwork] = (),
    resolver: Resolver | None = None,
) -> FetchedMeta:
    """Stream the body at `url` into `sink`, within `limits`, from public addresses only.

    `session` must come from `open_fetch_session()` (None: a session just for this
    call). `allowed` networks bypass the public-address rule; `resolver` replaces
    the system resolver (tests). Raises FetchError; whatever `sink` raises propagates.
    The total deadline covers resolving, connecting, redirects and the sink's awaits.
    """
    if session is not None and session not in _pinned_sessions:
        raise ValueError("fetch_url needs a session from open_fetch_session()")
    resolve = resolver or _resolve_with_getaddrinfo
    try:
        async with asyncio.timeout(limits.total_timeout):
            if session is None:
                async with open_fetch_session() as own_session:
                    return await _follow(own_session, url, sink, limits, allowed, resolve)
            return await _follow(session, url, sink, limits, allowed, resolve)
    except TimeoutError as e:  # includes aiohttp's per-read ServerTimeoutError
        raise FetchError(
            "timeout", f"{url} did not answer within {limits.total_timeout:g} s; try again later"
        ) from e
    except aiohttp.ClientError as e:
        why = str(e) or type(e).__name__
        raise FetchError("fetch_failed", f"could not download {url}: {why[:200]}") from e


async def _follow(
    session: aiohttp.ClientSession,
    url: str,
    sink: Sink,
    limits: FetchLimits,
    allowed: Sequence[IPNetwork],
    resolve: Resolver,
) -> FetchedMeta:
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=limits.read_timeout, sock_read=limits.read_timeout
    )
    current = _parse(url)
    for _hop in range(limits.max_redirects + 1):
        addresses = await _checked_addresses(current, allowed, resolve)
        token = _pin.set((_host_key(current.raw_host or ""), addresses))
        try:
            async with session.get(
                current, allow_redirects=False, timeout=timeout, headers=_HEADERS
            ) as resp:
                if resp.status in _REDIRECTS:
                    location = resp.headers.get("Location")
                    if not location:
                        raise FetchError(
                            "fetch_failed",
                            f"{current} redirected ({resp.status}) without a Location",
                        )
                    current = _parse(str(current.join(URL(location))), redirected_from=current)
                    continue
                if not 200 <= resp.status < 300:
                    raise FetchError(
                        "fetch_failed", f"{current} answered HTTP {resp.status} {resp.reason or ''}"
                    )
                received = await _stream(resp, sink, limits.max_bytes)
                return FetchedMeta(str(current), resp.status, resp.content_length, received)
        finally:
            _pin.reset(token)
    raise FetchError(
        "fetch_failed",
        f"{url} redirected more than {limits.max_redirects} times; too many redirects",
    )


async def _stream(resp: aiohttp.ClientResponse, sink: Sink, max_bytes: int) -> int:
    declared = resp.content_length
    if declared is not None and declared > max_bytes:
        raise _too_large(resp.url, max_bytes, f"it declares {declared:,} bytes")
    received = 0
    async for chunk in resp.content.iter_chunked(CHUNK_BYTES):
        received += len(chunk)
        if received > max_bytes:
            raise _too_large(resp.url, max_bytes, "it sent more")
        await sink(chunk)
    return received


def _too_large(url: URL, max_bytes: int, why: str) -> FetchError:
    return FetchError("too_large", f"{url} is larger than the {max_bytes:,}-byte limit ({why})")


def _parse(url: str, *, redirected_from: URL | None = None) -> URL:
    via = f" (redirected from {redirected_from})" if redirected_from else ""
    try:
        parsed = URL(url)
    except (ValueError, TypeError) as e:
        raise FetchError("bad_url", f"{url!r} is not a valid URL{via}: {e}") from e
    if parsed.scheme not in ("http", "https"):
        raise FetchError("bad_url", f"{url!r}{via}: only http:// and https:// URLs can be fetched")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise FetchError(
            "bad_url",
            f"URLs with credentials cannot be fetched{via}; remove the user:password@ part",
        )
    if not parsed.raw_host:
        raise FetchError("bad_url", f"{url!r} has no host{via}")
    return parsed


async def _checked_addresses(
    url: URL, allowed: Sequence[IPNetwork], resolve: Resolver
) -> list[IPAddress]:
    host = url.host or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    literal = ip_literal(host)
    if literal is not None:
        addresses = [literal]
    elif ":" in host:  # aiohttp would connect to it as written, past the pinned resolver
        raise FetchError("bad_url", f"{host!r} is not a valid IPv6 address")
    else:
        try:
            addresses = await resolve(url.raw_host or host, port)
        except OSError as e:
            raise FetchError("fetch_failed", f"could not resolve {host}: {e}") from e
        if not addresses:
            raise FetchError("fetch_failed", f"{host} has no addresses")
    try:
        for ip in addresses:
            check_address(ip, allowed=allowed)
    except BlockedAddress as e:
        raise FetchError(
            "blocked_address",
            f"{host} resolves to {e.address}, which is not on the public internet; "
            "photobus only fetches from public addresses",
        ) from e
    return addresses


def ip_literal(host: str) -> IPAddress | None:
    """The address a host names literally, in any spelling the socket layer accepts."""
    host = host.strip("[]")
    if host.endswith(".") and ":" not in host:
        host = host[:-1]  # "127.0.0.1." is the same address to anything that resolves it
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


async def _resolve_with_getaddrinfo(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def _host_key(host: str) -> str:
    return host.rstrip(".").lower()
