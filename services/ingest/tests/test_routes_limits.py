"""Oversize bodies and unavailable dependencies: clear errors, nothing left behind."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
from photobus_common.broker import Broker
from photobus_ingest.app import create_app
from photobus_ingest.config import IngestSettings

from .conftest import BOUNDARY, CORPUS, MULTIPART, EventTap, part_head, raw_multipart, start_client

CANON = CORPUS / "camera" / "Canon_40D.jpg"
Client = TestClient[web.Request, web.Application]
MIB = 1024 * 1024


async def _chunked_upload(total: int) -> AsyncIterator[bytes]:
    """A multipart body of about `total` bytes, sent chunked (no Content-Length)."""
    yield part_head("file", "big.jpg") + CANON.read_bytes()
    sent = 0
    filler = b"\0" * (256 * 1024)
    while sent < total:
        yield filler
        sent += len(filler)
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def _leftovers(blob_dir: Path) -> list[Path]:
    return [p for p in blob_dir.rglob("*") if p.is_file()] if blob_dir.exists() else []


async def test_a_chunked_body_over_the_limit_is_413_and_leaves_nothing(
    settings: IngestSettings, tap: EventTap, blob_dir: Path
) -> None:
    limited = settings.model_copy(update={"max_upload_bytes": MIB})
    client = await start_client(create_app(limited))
    try:
        small = raw_multipart([("file", "a.jpg", CANON.read_bytes())])
        ok = await client.post(
            "/v1/jobs", data=io.BytesIO(small), headers={"Content-Type": MULTIPART}
        )
        assert ok.status == 202
        await tap.wait_for(lambda es: len(es) == 2)
        before = sorted(_leftovers(blob_dir))

        response = await client.post(
            "/v1/jobs", data=_chunked_upload(4 * MIB), headers={"Content-Type": MULTIPART}
        )

        assert response.status == 413
        body = await response.json()
        assert body["error"] == "body_too_large"
        assert str(MIB) in body["detail"]
        assert sorted(_leftovers(blob_dir)) == before  # no new blob, no spool file
        assert len(tap.events) == 2  # the first job's events only
    finally:
        await client.close()


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    settings: IngestSettings, tap: EventTap
) -> None:
    limited = settings.model_copy(update={"max_upload_bytes": MIB})
    client = await start_client(create_app(limited))
    try:
        body = raw_multipart([("file", "a.jpg", b"\xff\xd8\xff" + b"\0" * (2 * MIB))])
        response = await client.post(
            "/v1/jobs", data=io.BytesIO(body), headers={"Content-Type": MULTIPART}
        )
        assert response.status == 413
        assert (await response.json())["error"] == "body_too_large"
        # A URL list is bounded too.
        big_json = await client.post(
            "/v1/jobs",
            data=io.BytesIO(b'{"urls": ["' + b"a" * (2 * MIB) + b'"]}'),
            headers={"Content-Type": "application/json"},
        )
        assert big_json.status == 413
    finally:
        await client.close()


async def test_rabbitmq_down_is_503_with_retry_after(
    settings: IngestSettings, blob_dir: Path
) -> None:
    unreachable = Broker(url="amqp://guest:guest@127.0.0.1:1/", namespace="none", producer="ingest")
    client: TestClient[aiohttp.web.Request, aiohttp.web.Application] = await start_client(
        create_app(settings, broker=unreachable), connected=False
    )
    try:
        upload = raw_multipart([("file", "a.jpg", CANON.read_bytes())])
        response = await client.post(
            "/v1/jobs", data=io.BytesIO(upload), headers={"Content-Type": MULTIPART}
        )
        urls = await client.post("/v1/images/upload", json={"urls": ["https://example.com/a.jpg"]})
        ready = await client.get("/readyz")

        assert response.status == 503
        assert response.headers["Retry-After"] == "5"
        body = await response.json()
        assert body["error"] == "broker_unavailable"
        assert "Retry" in body["detail"]
        assert urls.status == 503
        assert ready.status == 503
        assert "broker" in (await ready.json())["failures"]
        assert list((blob_dir / ".spool").iterdir()) == []
    finally:
        await client.close()


async def _raw_request(
    client: Client, head: str, body: bytes = b""
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(head.encode() + body)
    await writer.drain()
    return reader, writer


async def test_expect_100_continue_over_the_limit_is_413_before_the_body(
    client: Client, settings: IngestSettings
) -> None:
    head = (
        "POST /v1/jobs HTTP/1.1\r\nHost: ingest\r\n"
        f"Content-Type: {MULTIPART}\r\n"
        f"Content-Length: {settings.max_upload_bytes + 1}\r\n"
        "Expect: 100-continue\r\n\r\n"
    )
    reader, writer = await _raw_request(client, head)
    async with asyncio.timeout(10):
        head_lines = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        length = next(int(h.split(":")[1]) for h in head_lines if h.startswith("Content-Length"))
        body = await reader.readexactly(length)
    writer.close()
    await writer.wait_closed()
    assert head_lines[0].startswith("HTTP/1.1 413")
    assert "Connection: close" in head_lines
    assert b'"body_too_large"' in body


async def test_a_client_hanging_up_mid_upload_leaves_no_spool(
    client: Client, tap: EventTap, blob_dir: Path
) -> None:
    started = part_head("file", "a.jpg") + CANON.read_bytes() + b"\0" * MIB
    head = (
        "POST /v1/jobs HTTP/1.1\r\nHost: ingest\r\n"
        f"Content-Type: {MULTIPART}\r\nContent-Length: {len(started) * 4}\r\n\r\n"
    )
    _, writer = await _raw_request(client, head, started)
    spool = blob_dir / ".spool"
    async with asyncio.timeout(10):
        while not any(spool.iterdir()):  # the handler is streaming the file into a spool
            await asyncio.sleep(0.02)
        writer.close()  # hang up mid-body
        await writer.wait_closed()
        while any(spool.iterdir()):  # the handler sees the hang-up and cleans up
            await asyncio.sleep(0.02)
    assert _leftovers(blob_dir) == []
    assert tap.events == []
