"""Small HTTP helpers the end-to-end tests use to drive photobus like a user."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
TERMINAL = {"completed", "partial", "failed"}


def form_with_files(files: list[tuple[str, bytes]], **fields: str) -> aiohttp.FormData:
    # Unquoted field values, as curl and browsers send them (`../../x.jpg` stays as it is).
    form = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        form.add_field(name, value)
    for filename, data in files:
        # A stream, not raw bytes: aiohttp warns that large raw bodies block the event loop.
        form.add_field(
            "file", io.BytesIO(data), filename=filename, content_type="application/octet-stream"
        )
    return form


async def upload(
    http: aiohttp.ClientSession, ingest: str, files: list[tuple[str, bytes]], **fields: str
) -> dict[str, Any]:
    async with http.post(f"{ingest}/v1/jobs", data=form_with_files(files, **fields)) as r:
        body: dict[str, Any] = await r.json()
        assert r.status == 202, body
        return body


async def wait_job(
    http: aiohttp.ClientSession,
    status: str,
    job_id: str,
    *,
    timeout: float = 60.0,
    until: set[str] = TERMINAL,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        async with http.get(f"{status}/v1/jobs/{job_id}") as r:
            if r.status == 200:
                job = await r.json()
                if job["status"] in until:
                    return job
        await asyncio.sleep(0.2)
    raise TimeoutError(f"job {job_id} did not reach {until} in {timeout}s; last seen: {job}")
