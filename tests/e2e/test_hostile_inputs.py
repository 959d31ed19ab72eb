"""Issue 6, items 3 and 4, end to end: hostile files and URLs against the running pipeline.

Hostile items travel in one job beside good photos; the job ends `partial`, every
hostile item with a clear reason, every good one completed with its thumbnails. The
served renditions of a JPEG with a ZIP appended are re-encoded (JPEG, WebP) without the ZIP;
the original is stored byte-exact but no route serves it. Names are shown escaped.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from photobus_common.events import ItemOptions
from photobus_common.publishing.prepare import prepare
from PIL import Image
from yarl import URL

from tests.fuzz import hostile_files
from tests.support.client import CORPUS, upload, wait_job
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

MARKER = b"PHOTOBUS-E2E-ZIP-MARKER"
HTML_NAME = "<img src=x onerror=alert(1)>.jpg"


def by_name(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["filename"]: item for item in job["items"]}


async def test_hostile_files_fail_alone_and_good_photos_complete(
    pipeline: Stack, http: aiohttp.ClientSession
) -> None:
    hostile = hostile_files.outside_the_allow_list()
    files = [
        ("good.jpg", hostile_files.good_jpeg()),
        ("bomb-50000x50000.png", hostile_files.png_header_bomb()),
        ("bomb-144-megapixels.png", hostile_files.png_zero_bomb()),
        ("frames-5000.gif", hostile_files.gif_many_frames(5000)),
        ("layers.psd", hostile["psd"]),
        ("script.svg", hostile["svg-with-script"]),
        ("document.pdf", hostile["pdf"]),
        ("sky.fits", hostile["fits"]),
        ("favicon.ico", hostile["ico"]),
        ("polyglot.jpg", hostile_files.jpeg_with_zip(MARKER)),
        (HTML_NAME, (CORPUS / "camera" / "Nikon_D70.jpg").read_bytes()),
        ("photo\u202egpj.exe", (CORPUS / "camera" / "Kodak_CX7530.jpg").read_bytes()),
    ]
    reply = await upload(http, pipeline.url("ingest"), files)
    job = await wait_job(http, pipeline.url("status"), reply["job_id"], timeout=90)

    assert job["status"] == "partial", job
    items = by_name(job)
    expected_reasons = {
        "bomb-50000x50000.png": "too_many_pixels",
        "bomb-144-megapixels.png": "too_many_pixels",
        "frames-5000.gif": "too_many_frames",
        "layers.psd": "not_an_image",
        "script.svg": "not_an_image",
        "document.pdf": "not_an_image",
        "sky.fits": "not_an_image",
        "favicon.ico": "not_an_image",
    }
    for name, reason in expected_reasons.items():
        assert items[name]["state"] == "failed", items[name]
        assert items[name]["reason"].startswith(reason), items[name]
    # The RTL override is gone from the shown name; the HTML is kept as text.
    assert "photogpj.exe" in items, sorted(items)
    for name in ("good.jpg", "polyglot.jpg", HTML_NAME, "photogpj.exe"):
        assert items[name]["state"] == "completed", items[name]


async def test_a_jpeg_with_a_zip_is_only_ever_served_re_encoded(
    pipeline: Stack, http: aiohttp.ClientSession
) -> None:
    polyglot = hostile_files.jpeg_with_zip(MARKER)
    photo_id = hashlib.sha256(polyglot).hexdigest()
    reply = await upload(http, pipeline.url("ingest"), [("polyglot.jpg", polyglot)])
    job = await wait_job(http, pipeline.url("status"), reply["job_id"])
    assert job["status"] == "completed", job
    status = pipeline.url("status")
    for name, image_format in (("thumb", "WEBP"), ("preview", "JPEG")):
        async with http.get(f"{status}/v1/photos/{photo_id}/renditions/{name}") as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == f"image/{image_format.lower()}"
            served = await r.read()
        with Image.open(io.BytesIO(served)) as image:
            assert image.format == image_format
            image.load()
        assert MARKER not in served
        assert b"PK\x03\x04" not in served
    # The original is kept, byte-exact, in the blob store, and no route serves it.
    for path in (f"/v1/photos/{photo_id}/renditions/original", f"/v1/photos/{photo_id}/original"):
        async with http.get(f"{status}{path}") as r:
            assert r.status == 404
            assert MARKER not in await r.read()


def test_the_published_copy_of_a_jpeg_with_a_zip_is_re_encoded() -> None:
    """Publishers send `prepare`'s copy: re-encoded pixels, not the polyglot's bytes."""
    polyglot = hostile_files.jpeg_with_zip(MARKER)
    prepared = prepare(polyglot, "0" * 64, ItemOptions())
    assert prepared.content_type == "image/jpeg"
    assert prepared.data[:3] == b"\xff\xd8\xff"
    assert MARKER not in prepared.data
    assert b"PK\x03\x04" not in prepared.data


async def test_hostile_names_are_escaped_on_the_gallery_page(
    pipeline: Stack, http: aiohttp.ClientSession
) -> None:
    photo = (CORPUS / "camera" / "Pentax_K10D.jpg").read_bytes()
    reply = await upload(http, pipeline.url("ingest"), [(HTML_NAME, photo)])
    job = await wait_job(http, pipeline.url("status"), reply["job_id"])
    assert job["items"][0]["filename"] == HTML_NAME  # JSON carries it as text
    async with http.get(f"{pipeline.url('status')}/jobs/{reply['job_id']}") as r:
        assert r.status == 200
        page = await r.text()
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in page
    assert "<img src=x onerror" not in page


@pytest.fixture
async def internet() -> AsyncIterator[dict[str, Any]]:
    """A photo host on 127.0.0.2 (allowed for ingest) and a trap on 127.0.0.1 that counts hits."""
    photo = (CORPUS / "camera" / "Pentax_K10D.jpg").read_bytes()
    state: dict[str, Any] = {"trap_hits": 0}

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=photo, content_type="image/jpeg")

    async def to_trap(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"//127.0.0.1:{state['trap_port']}/private")

    async def trap(request: web.Request) -> web.Response:
        state["trap_hits"] += 1
        return web.Response(body=photo, content_type="image/jpeg")

    host = web.Application()
    host.router.add_get("/photo.jpg", image)
    host.router.add_get("/to-trap", to_trap)
    local = web.Application()
    local.router.add_get("/{tail:.*}", trap)
    runners = []
    for app, address, key in ((host, "127.0.0.2", "host_port"), (local, "127.0.0.1", "trap_port")):
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, address, 0).start()
        state[key] = runner.addresses[0][1]
        runners.append(runner)
    yield state
    for runner in runners:
        await runner.cleanup()


async def test_hostile_urls_fail_alone_and_the_good_url_completes(
    pipeline: Stack, http: aiohttp.ClientSession, internet: dict[str, Any]
) -> None:
    trap, host = internet["trap_port"], internet["host_port"]
    good = f"http://127.0.0.2:{host}/photo.jpg"
    hostile = {
        f"http://0177.0.0.1:{trap}/private": "blocked_address",
        f"http://0x7f000001:{trap}/private": "blocked_address",
        f"http://[::ffff:7f00:1]:{trap}/private": "blocked_address",
        "http://169.254.169.254/latest/meta-data/": "blocked_address",
        "http://100.100.100.200/latest/meta-data/": "blocked_address",
        f"http://127.0.0.2:{host}/to-trap": "blocked_address",
        "file:///etc/passwd": "bad_url",
        "gopher://127.0.0.1:6379/_FLUSHALL": "bad_url",
        f"http://user:hunter2pw@127.0.0.2:{host}/photo.jpg": "bad_url",
    }
    async with http.post(f"{pipeline.url('ingest')}/v1/jobs", json={"urls": [good, *hostile]}) as r:
        assert r.status == 202, await r.text()
        reply = await r.json()
    job = await wait_job(http, pipeline.url("status"), reply["job_id"], timeout=90)
    assert job["status"] == "partial", job
    sent = [good, *hostile]
    by_id = {item["item_id"]: item for item in job["items"]}
    items = {url: by_id[entry["item_id"]] for url, entry in zip(sent, reply["items"], strict=True)}
    assert items[good]["state"] == "completed", items[good]
    for url, reason in hostile.items():
        assert items[url]["state"] == "failed", items[url]
        assert items[url]["reason"].startswith(reason), items[url]
    assert "hunter2pw" not in str(job)  # the credentials are never kept or shown
    assert internet["trap_hits"] == 0


async def test_a_stalled_upload_does_not_hold_up_others(
    pipeline: Stack, http: aiohttp.ClientSession
) -> None:
    ingest = URL(pipeline.url("ingest"))
    _reader, writer = await asyncio.open_connection(ingest.host, ingest.port)
    boundary = "stall"
    head = (
        f"POST /v1/jobs HTTP/1.1\r\nHost: ingest\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 100000\r\n\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.jpg"\r\n\r\n'
    )
    writer.write(head.encode() + hostile_files.good_jpeg()[:1000])
    await writer.drain()
    try:
        started = time.monotonic()
        photo = (CORPUS / "orientation" / "Landscape_3.jpg").read_bytes()
        reply = await upload(http, pipeline.url("ingest"), [("meanwhile.jpg", photo)])
        assert time.monotonic() - started < 5
        job = await wait_job(http, pipeline.url("status"), reply["job_id"])
        assert job["status"] == "completed", job
    finally:
        writer.close()
        await writer.wait_closed()


async def test_ten_thousand_form_fields_get_a_clear_400(
    pipeline: Stack, http: aiohttp.ClientSession
) -> None:
    boundary = "many"
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="junk"\r\n\r\nx\r\n'
    body = (part * 10_000 + f"--{boundary}--\r\n").encode()
    started = time.monotonic()
    async with http.post(
        f"{pipeline.url('ingest')}/v1/jobs",
        data=io.BytesIO(body),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    ) as r:
        assert r.status == 400
        assert (await r.json())["error"] == "too_many_fields"
    assert time.monotonic() - started < 10
