"""Schemathesis against the checked-in OpenAPI documents (docs/openapi-*.json): each app
runs in this process on the live RabbitMQ (and Postgres for status); a bounded, seeded
run must find no 5xx and no response that breaks its document."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from photobus_common.events import (
    DESTINATIONS,
    Event,
    ImageMetadata,
    ItemOptions,
    JobAccepted,
    JobItem,
    PhotoReceived,
    PublishFailed,
    PublishSucceeded,
    RenditionInfo,
    ThumbnailCreated,
)
from photobus_ingest.app import create_app as create_ingest
from photobus_ingest.config import IngestSettings
from photobus_status import store
from photobus_status.app import create_app as create_status
from photobus_status.config import StatusSettings

from tests.support import infra

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCHEMATHESIS = Path(sys.executable).parent / "st"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# The live stream waits for a job to appear before its 404: covered by status's own tests.
EXCLUDED = "/v1/jobs/{job_id}/events"
JOB_ID = "fuzz-job-0123456789abcdef"
PHOTO_ID = hashlib.sha256(b"fuzz").hexdigest()


async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}"
    try:
        await until_ready(url)
        yield url
    finally:
        await runner.cleanup()


async def until_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            async with http.get(f"{url}/readyz") as r:
                if r.status == 200:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} not ready in {timeout}s")


async def schemathesis(document: Path, url: str, workdir: Path, *exclude: str) -> tuple[int, str]:
    """Run `st` in `workdir`, where it keeps its cache (not in the repository)."""
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS), "run", str(document), "--url", url,
        "--checks", CHECKS, "--phases", "examples,fuzzing",  # examples: the seeded ids
        "--max-examples", "50", "--generation-deterministic",
        "--workers", "4", "--request-timeout", "10",
        *(f"--exclude-path={path}" for path in exclude), "--no-color",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=workdir,
    )  # fmt: skip
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


@pytest.fixture
async def ingest_url(amqp_url: str, namespace: str, tmp_path: Path) -> AsyncIterator[str]:
    settings = IngestSettings(
        amqp_url=amqp_url,
        namespace=namespace,
        blob_url=f"file://{tmp_path}",
        publishers=DESTINATIONS,
    )
    async for url in serve(create_ingest(settings, fetch_worker=False)):
        yield url


@pytest.fixture
async def status_url(
    amqp_url: str, namespace: str, database: infra.TestDatabase, tmp_path: Path
) -> AsyncIterator[str]:
    settings = StatusSettings(
        amqp_url=amqp_url,
        namespace=namespace,
        database_url=database.dsn,
        blob_url=f"file://{tmp_path}",
        publishers=DESTINATIONS,
    )
    # The thumbnail the seeded photo's rendition route streams.
    thumb = tmp_path / "renditions" / PHOTO_ID / "thumb.webp"
    thumb.parent.mkdir(parents=True)
    thumb.write_bytes(b"RIFF\x0c\x00\x00\x00WEBPVP8 " + bytes(4))
    async for url in serve(create_status(settings, consume=False)):
        await seed_view(database.dsn)
        yield url


async def seed_view(dsn: str) -> None:
    """One job with one photo, thumbnailed, published to Flickr and failed on Imgur, so the
    examples phase reads real documents and not only 404s."""
    item = JobItem(item_id="item-1", source="upload", filename="cat.jpg")
    options = ItemOptions(title="A cat", tags=("cat", "fuzz"))
    events: list[Event] = [
        JobAccepted(producer="fuzz", job_id=JOB_ID, items=(item,), options=options),
        PhotoReceived(producer="fuzz", job_id=JOB_ID, item_id="item-1", photo_id=PHOTO_ID,
                      blob_key=f"originals/{PHOTO_ID}", size=1234, content_type="image/jpeg",
                      width=640, height=480, filename="cat.jpg", options=options),
        ThumbnailCreated(producer="fuzz", photo_id=PHOTO_ID,
                         renditions=(RenditionInfo(name="thumb", key=f"renditions/{PHOTO_ID}/thumb.webp",
                                                   width=256, height=192, format="webp", bytes=999),),
                         metadata=ImageMetadata(width=640, height=480, camera_make="Fuzz")),
        PublishSucceeded(producer="fuzz", job_id=JOB_ID, photo_id=PHOTO_ID, item_id="item-1",
                         destination="flickr", remote_id="42", url="https://flickr.example/42"),
        PublishFailed(producer="fuzz", job_id=JOB_ID, photo_id=PHOTO_ID, item_id="item-1",
                      destination="imgur", attempt=3, permanent=True, reason="rejected"),
    ]  # fmt: skip
    pool = await store.create_pool(dsn, min_size=1, max_size=1)
    try:
        await store.EventStore(pool, terminal_destinations_required=True).apply(events)
    finally:
        await pool.close()


def with_examples(document: Path, target: Path) -> Path:
    """A copy of `document` whose `job_id` and `photo_id` parameters carry the seeded ids."""
    spec = json.loads(document.read_text())
    for operation in (op for path in spec["paths"].values() for op in path.values()):
        for parameter in operation.get("parameters", []):
            example = {"job_id": JOB_ID, "photo_id": PHOTO_ID}.get(parameter["name"])
            if example is not None:
                parameter["example"] = example
    target.write_text(json.dumps(spec))
    return target


async def test_ingest_and_status_keep_to_their_documents(
    ingest_url: str, status_url: str, tmp_path: Path
) -> None:
    """Both runs at once (each takes seconds to start): one result per document."""
    async with aiohttp.ClientSession() as http, http.get(f"{status_url}/v1/jobs/{JOB_ID}") as r:
        assert r.status == 200, await r.text()  # the seeded job the examples point at
    status_document = with_examples(DOCS / "openapi-status.json", tmp_path / "status.json")

    def workdir(name: str) -> Path:
        (tmp_path / name).mkdir()
        return tmp_path / name

    (ingest_code, ingest_out), (status_code, status_out) = await asyncio.gather(
        schemathesis(DOCS / "openapi-ingest.json", ingest_url, workdir("ingest")),
        schemathesis(status_document, status_url, workdir("status"), EXCLUDED),
    )

    assert ingest_code == 0, ingest_out
    assert status_code == 0, status_out
    for output in (ingest_out, status_out):
        counts = re.search(r"(\d+) generated, (\d+) passed", output)
        assert counts is not None, output
        generated, passed = map(int, counts.groups())
        assert generated == passed >= 50, output
