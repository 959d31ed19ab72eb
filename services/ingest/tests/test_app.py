"""The ingest process: settings, health routes, and memory use under a huge upload."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from photobus_ingest.config import IngestSettings

from .conftest import BOUNDARY, CORPUS, MULTIPART, EventTap, part_head

Client = TestClient[web.Request, web.Application]
GIB = 1024**3


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOBUS_FETCH_ALLOW_NETWORKS", "127.0.0.2/32, 10.1.0.0/16")
    monkeypatch.setenv("PHOTOBUS_MAX_UPLOAD_BYTES", "1048576")
    monkeypatch.setenv("PHOTOBUS_INGEST_PORT", "9999")
    settings = IngestSettings()
    assert settings.fetch_allow_networks == ("127.0.0.2/32", "10.1.0.0/16")
    assert (settings.max_upload_bytes, settings.ingest_port) == (1048576, 9999)
    assert settings.bind_host == "127.0.0.1"

    monkeypatch.setenv("PHOTOBUS_FETCH_ALLOW_NETWORKS", '["192.168.1.0/24"]')
    assert IngestSettings().fetch_allow_networks == ("192.168.1.0/24",)

    monkeypatch.setenv("PHOTOBUS_PUBLISHERS", "imgur, flickr")
    assert IngestSettings().publishers == ("imgur", "flickr")
    monkeypatch.setenv("PHOTOBUS_PUBLISHERS", '["gphotos"]')
    assert IngestSettings().publishers == ("gphotos",)

    monkeypatch.setenv("PHOTOBUS_FETCH_ALLOW_NETWORKS", "not-a-network")
    with pytest.raises(ValueError, match="not-a-network"):
        IngestSettings()


async def test_health_and_readiness(client: Client) -> None:
    health = await client.get("/healthz")
    ready = await client.get("/readyz")
    metrics = await client.get("/metrics")
    missing = await client.get("/nowhere")
    spec = await client.get("/openapi.json")

    assert health.status == 200
    assert (ready.status, await ready.json()) == (200, {"status": "ready"})
    assert "photobus_http_requests_total" in await metrics.text()
    assert missing.status == 404
    assert (await missing.json())["error"] == "not_found"
    assert {"/v1/jobs", "/v1/images/upload", "/photos/"} <= set((await spec.json())["paths"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def ingest_process(
    amqp_url: str, namespace: str, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = _free_port()
    env = {
        **os.environ,
        "PHOTOBUS_AMQP_URL": amqp_url,
        "PHOTOBUS_NAMESPACE": namespace,
        "PHOTOBUS_BLOB_URL": f"file://{tmp_path / 'blobs'}",
        "PHOTOBUS_INGEST_PORT": str(port),
        "PHOTOBUS_LOG_FORMAT": "text",
    }
    log = (tmp_path / "ingest.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "photobus_ingest"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    yield process, f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)
    log.close()


async def _until_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as session, asyncio.timeout(30):
        while process.poll() is None:
            try:
                async with session.get(f"{base}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"ingest exited with {process.returncode}")


async def _huge_upload(filler_bytes: int) -> AsyncIterator[bytes]:
    """A real JPEG followed by `filler_bytes` of padding, generated as it is sent."""
    yield part_head("file", "huge.jpg") + (CORPUS / "camera" / "Nikon_D70.jpg").read_bytes()
    block = b"\0" * (1024 * 1024)
    for _ in range(filler_bytes // len(block)):
        yield block
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def _peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.mark.slow
async def test_a_1_gib_upload_streams_in_bounded_memory(
    ingest_process: tuple[subprocess.Popen[bytes], str], tap: EventTap, tmp_path: Path
) -> None:
    process, base = ingest_process
    await _until_ready(base, process)
    timeout = aiohttp.ClientTimeout(total=120)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(
            f"{base}/v1/jobs", data=_huge_upload(GIB), headers={"Content-Type": MULTIPART}
        ) as response,
    ):
        assert response.status == 202, await response.text()
        item = (await response.json())["items"][0]

    peak = _peak_rss_bytes(process.pid)
    assert peak < 200 * 1024 * 1024, f"peak RSS {peak / 2**20:.0f} MiB"
    stored = tmp_path / "blobs" / "originals" / item["photo_id"]
    assert stored.stat().st_size > GIB
    await tap.wait_for(lambda es: len(es) == 2)
