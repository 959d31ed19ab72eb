"""The API contract with `PHOTOBUS_API_KEYS` set: schemathesis with a key against both
services' checked-in OpenAPI documents (no 5xx, no reply outside the document), and a
sweep of every documented operation with another owner's real ids (404 for the other
key, 401 without one). tests/e2e/test_openapi_fuzz.py is the same run without keys.

Both apps run in this process, on the live RabbitMQ and Postgres, sharing one namespace
so status folds what ingest accepts.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from photobus_common.auth import hash_key
from photobus_common.events import DESTINATIONS
from photobus_ingest.app import create_app as create_ingest
from photobus_ingest.config import IngestSettings
from photobus_status.app import create_app as create_status
from photobus_status.config import StatusSettings
from photobus_thumbnailer.app import create_app as create_thumbnailer
from photobus_thumbnailer.config import ThumbnailerSettings

from tests.support import infra
from tests.support.client import CORPUS, form_with_files

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCHEMATHESIS = Path(sys.executable).parent / "st"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# The live stream waits for a job to appear before its 404: covered by status's own tests.
EXCLUDED = "/v1/jobs/{job_id}/events"
PUBLIC = {"/healthz", "/readyz", "/metrics", "/openapi.json"}
ALICE_KEY, BOB_KEY = "alice-fuzz-key-0f9e51c2", "bob-fuzz-key-77d2a8b4"
KEYS = f"alice:{hash_key(ALICE_KEY)},bob:{hash_key(BOB_KEY)}"
ALICE = {"Authorization": f"Bearer {ALICE_KEY}"}
BOB = {"Authorization": f"Bearer {BOB_KEY}"}


@dataclass
class KeyedApis:
    ingest: str
    status: str


async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        await until(lambda: ready(url), what=f"{url} ready")
        yield url
    finally:
        await runner.cleanup()


async def ready(url: str) -> bool:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/readyz") as r:
        return r.status == 200


async def until(check: Callable[[], Awaitable[Any]], *, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := await check():
            return value
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{what}: not within {timeout}s")


@pytest.fixture
async def apis(
    amqp_url: str, namespace: str, database: infra.TestDatabase, tmp_path: Path
) -> AsyncIterator[KeyedApis]:
    common: dict[str, Any] = {
        "amqp_url": amqp_url,
        "namespace": namespace,
        "blob_url": f"file://{tmp_path}",
        "publishers": DESTINATIONS,
        "api_keys": KEYS,
    }
    ingest = create_ingest(IngestSettings(**common), fetch_worker=False)
    status = create_status(StatusSettings(**common, database_url=database.dsn))
    # The real thumbnailer, so the rendition routes have renditions to guard.
    thumbnailer = create_thumbnailer(ThumbnailerSettings(**common, workers=1))
    async for ingest_url in serve(ingest):
        async for status_url in serve(status):
            async for _ in serve(thumbnailer):
                yield KeyedApis(ingest_url, status_url)


async def schemathesis(document: Path, url: str, key: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS), "run", str(document), "--url", url,
        "--header", f"Authorization: Bearer {key}",
        "--checks", CHECKS, "--phases", "examples,fuzzing,stateful",
        "--max-examples", "25", "--seed", "20261123", "--generation-deterministic",
        "--workers", "4", "--request-timeout", "10",
        "--exclude-path", EXCLUDED, "--no-color",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def request(method: str, url: str, headers: dict[str, str], **kwargs: Any) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, headers=headers, **kwargs) as r,
    ):
        return r.status, (await r.read()).decode(errors="replace")


async def alices_job(apis: KeyedApis) -> tuple[str, str]:
    """Alice uploads a photo; once status shows it to her: (job_id, photo_id)."""
    photo = CORPUS / "camera" / "Canon_40D.jpg"
    form = form_with_files([(photo.name, photo.read_bytes())])
    code, body = await request("POST", f"{apis.ingest}/v1/jobs", ALICE, data=form)
    assert code == 202, body
    reply = json.loads(body)
    job_id, photo_id = reply["job_id"], reply["items"][0]["photo_id"]

    async def thumbnailed() -> bool:
        code, body = await request("GET", f"{apis.status}/v1/photos/{photo_id}", ALICE)
        return code == 200 and "thumb" in json.loads(body)["thumbnails"]

    await until(thumbnailed, what="alice's photo and its renditions in the job view")
    return job_id, photo_id


def operations(document: Path) -> list[tuple[str, str]]:
    paths: dict[str, dict[str, Any]] = json.loads(document.read_text())["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


async def test_ingest_keeps_to_its_document_with_a_key(apis: KeyedApis) -> None:
    code, output = await schemathesis(DOCS / "openapi-ingest.json", apis.ingest, BOB_KEY)
    assert code == 0, output
    assert "/v1/jobs" in output


async def test_status_keeps_to_its_document_with_a_key(apis: KeyedApis) -> None:
    await alices_job(apis)
    code, output = await schemathesis(DOCS / "openapi-status.json", apis.status, BOB_KEY)
    assert code == 0, output
    assert "/v1/photos" in output


async def test_every_documented_operation_is_closed_without_a_key(apis: KeyedApis) -> None:
    for service, url in (("ingest", apis.ingest), ("status", apis.status)):
        for method, path in operations(DOCS / f"openapi-{service}.json"):
            if path in PUBLIC:
                continue
            concrete = re.sub(r"{\w+}", "x", path)
            for headers in ({}, {"X-API-Key": "not-a-key"}):
                code, body = await request(method, f"{url}{concrete}", headers)
                assert code == 401, (service, method, path, body)
                assert json.loads(body)["error"] == "unauthorized"


async def test_no_documented_operation_reaches_another_keys_job_or_photo(
    apis: KeyedApis,
) -> None:
    job_id, photo_id = await alices_job(apis)
    ids = {"job_id": job_id, "photo_id": photo_id, "name": "thumb"}
    checked = []
    for method, path in operations(DOCS / "openapi-status.json"):
        if path in PUBLIC or path == EXCLUDED:
            continue
        url = apis.status + re.sub(r"{(\w+)}", lambda m: ids[m[1]], path)
        body = {"json": {"destination": "imgur"}} if method == "POST" else {}
        mine, _ = await request(method, url, ALICE, **body)
        theirs, text = await request(method, url, BOB, **body)
        if "{" in path:
            assert mine in (200, 202), (method, path, mine)
            assert theirs == 404, (method, path, theirs, text)  # not 403: nothing to learn
        else:  # lists: Bob's own (empty) view
            assert theirs == 200, (method, path, text)
            assert photo_id not in text and job_id not in text, (method, path, text)
        checked.append(path)
    assert "/v1/jobs/{job_id}" in checked and "/v1/photos/{photo_id}/publish" in checked
    code, text = await request("GET", f"{apis.status}{EXCLUDED.format(job_id=job_id)}", BOB)
    assert code == 404, text
