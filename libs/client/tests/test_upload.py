"""The upload run: hash, skip what is there, send the rest, one result per file."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from photobus_client import PhotobusClient, RetryPolicy, UploadOptions
from photobus_client.upload import FatalUploadError, FileResult, upload_all

FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.01)


class Recorder:
    def __init__(self) -> None:
        self.bytes = 0
        self.done: list[FileResult] = []

    def sent(self, n: int) -> None:
        self.bytes += n

    def finished(self, result: FileResult) -> None:
        self.done.append(result)


class Photobus:
    """Ingest and status in one app: knows `known` photos, cuts off `cut.jpg`, rejects `bad.jpg`."""

    def __init__(self, known: set[str]) -> None:
        self.known = known
        self.posted: list[str] = []

    async def healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def photo(self, request: web.Request) -> web.Response:
        if request.match_info["photo_id"] in self.known:
            return web.json_response(
                {
                    "photo_id": request.match_info["photo_id"],
                    "created": "2026-01-01T00:00:00Z",
                    "state": "completed",
                }
            )
        return web.json_response({"error": "not_found", "detail": "no photo"}, status=404)

    async def post_job(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        self.posted.append(upload.filename)
        if upload.filename == "cut.jpg":
            assert request.transport is not None
            request.transport.close()  # as when a body goes over ingest's limit
            return web.Response()
        item: dict[str, object] = {"item_id": "i", "filename": upload.filename}
        if upload.filename == "bad.jpg":
            item["rejected"] = {"reason": "truncated", "detail": "the file ends early"}
        else:
            item["photo_id"] = hashlib.sha256(upload.file.read()).hexdigest()
        body = {
            "job_id": f"job-{upload.filename}",
            "status_url": f"{request.url.origin()}/v1/jobs/x",
            "items": [item],
        }
        return web.json_response(body, status=202)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[Photobus, str]]:
    known = tmp_path / "known.jpg"
    known.write_bytes(b"\xff\xd8\xffknown")
    fake = Photobus({hashlib.sha256(known.read_bytes()).hexdigest()})
    app = web.Application()
    app.router.add_get("/healthz", fake.healthz)
    app.router.add_get("/v1/photos/{photo_id}", fake.photo)
    app.router.add_post("/v1/jobs", fake.post_job)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield fake, f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_each_file_gets_its_outcome(server: tuple[Photobus, str], tmp_path: Path) -> None:
    fake, url = server
    names = {
        "new.jpg": b"\xff\xd8\xffnew",
        "copy.jpg": b"\xff\xd8\xffnew",
        "bad.jpg": b"\xff\xd8\xffbad",
        "cut.jpg": b"\xff\xd8\xffcut",
    }
    for name, data in names.items():
        (tmp_path / name).write_bytes(data)
    files = [tmp_path / n for n in ["known.jpg", *names]]
    watcher = Recorder()
    async with PhotobusClient(url, status_url=url, retry=FAST) as client:
        results = await upload_all(client, files, UploadOptions(), watcher, concurrency=1)
    outcomes = [(r.path.name, r.outcome, r.reason) for r in results]
    assert outcomes == [
        ("known.jpg", "already_there", None),
        ("new.jpg", "uploaded", None),
        ("copy.jpg", "already_there", None),
        ("bad.jpg", "rejected", "truncated"),
        ("cut.jpg", "failed", "connection_lost"),
    ]
    assert results[2].detail == f"same bytes as {tmp_path / 'new.jpg'}"
    assert (
        results[1].job_id == "job-new.jpg"
        and results[1].photo_id == hashlib.sha256(names["new.jpg"]).hexdigest()
    )
    # Nothing already there was sent; the cut-off file was tried once and retried once.
    assert fake.posted == ["new.jpg", "bad.jpg", "cut.jpg", "cut.jpg"]
    assert sorted(r.path.name for r in watcher.done) == sorted(f.name for f in files)
    # Sent and skipped files both move the byte count (the bar reaches its end).
    assert watcher.bytes >= sum(f.stat().st_size for f in files[:4])


async def test_an_unreachable_server_ends_the_run(tmp_path: Path) -> None:
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xffp")
    async with PhotobusClient("http://127.0.0.1:9", retry=FAST) as client:
        with pytest.raises(FatalUploadError, match="unreachable"):
            await upload_all(client, [photo], UploadOptions(), Recorder())
