"""Issue "The pipeline, end to end": uploads become thumbnails across real services.

ingest, thumbnailer and status run as processes on the live RabbitMQ and Postgres
and a real S3 server; these tests drive them over HTTP with the shared corpus.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from PIL import Image, ImageChops, ImageOps, ImageStat

from tests.support.client import CORPUS, upload, wait_job
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


RENDITION_TYPES = {"thumb": "image/webp", "preview": "image/jpeg"}


def is_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def riff_chunks(data: bytes) -> list[bytes]:
    chunks, offset = [], 12
    while offset + 8 <= len(data):
        name, size = (
            data[offset : offset + 4],
            struct.unpack("<I", data[offset + 4 : offset + 8])[0],
        )
        chunks.append(name)
        offset += 8 + size + (size & 1)
    return chunks


async def rendition(http: aiohttp.ClientSession, stack: Stack, photo_id: str, name: str) -> bytes:
    async with http.get(f"{stack.url('status')}/v1/photos/{photo_id}/renditions/{name}") as r:
        assert r.status == 200, await r.text()
        assert r.headers["Content-Type"] == RENDITION_TYPES[name]
        return await r.read()


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference of two images reduced to 32×32 grey."""
    small_a = ImageOps.grayscale(a).resize((32, 32))
    small_b = ImageOps.grayscale(b).resize((32, 32))
    diff = ImageChops.difference(small_a, small_b)
    return ImageStat.Stat(diff).mean[0]


def items_by_name(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["filename"]: item for item in job["items"]}


async def test_orientation_corpus_gives_upright_webp_thumbnails_without_exif(
    pipeline: Stack, http: aiohttp.ClientSession
) -> None:
    files = sorted((CORPUS / "orientation").glob("*.jpg"))
    reply = await upload(
        http,
        pipeline.url("ingest"),
        [(f.name, f.read_bytes()) for f in files],
        title="orientation",
        tags="corpus,orientation",
    )
    job = await wait_job(http, pipeline.url("status"), reply["job_id"])
    assert job["status"] == "completed", job
    items = items_by_name(job)
    thumbs: dict[str, Image.Image] = {}
    for f in files:
        item = items[f.name]
        assert item["photo_id"] == hashlib.sha256(f.read_bytes()).hexdigest()
        data = await rendition(http, pipeline, item["photo_id"], "thumb")
        assert is_webp(data)
        assert not {b"EXIF", b"XMP ", b"ICCP"} & set(riff_chunks(data)), riff_chunks(data)
        image = Image.open(io.BytesIO(data))
        assert max(image.size) <= 256
        assert not image.getexif()
        thumbs[f.name] = image.convert("RGB")
    for kind in ("Landscape", "Portrait"):
        upright = thumbs[f"{kind}_0.jpg"]
        for n in range(1, 9):
            thumb = thumbs[f"{kind}_{n}.jpg"]
            assert thumb.size == upright.size, (kind, n)
            assert difference(thumb, upright) < 12, f"{kind}_{n} is not upright"
            # The check can fail: the same thumbnail turned over is far from upright.
            assert difference(thumb.transpose(Image.Transpose.ROTATE_180), upright) > 25


async def test_gps_photos_thumbnails_carry_no_location(
    pipeline: Stack, http: aiohttp.ClientSession
) -> None:
    files = sorted((CORPUS / "gps").glob("*.jpg"))
    for f in files:  # the originals do carry GPS
        with Image.open(f) as original:
            assert original.getexif().get_ifd(0x8825)
    reply = await upload(http, pipeline.url("ingest"), [(f.name, f.read_bytes()) for f in files])
    job = await wait_job(http, pipeline.url("status"), reply["job_id"])
    assert job["status"] == "completed", job
    for item in job["items"]:
        assert item["metadata"]["has_location"] is True
        for name in ("thumb", "preview"):
            data = await rendition(http, pipeline, item["photo_id"], name)
            assert b"GPS" not in data
            assert not Image.open(io.BytesIO(data)).getexif()


def png_header_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


async def test_bad_items_get_clear_reasons_and_never_sink_the_others(
    pipeline: Stack, http: aiohttp.ClientSession
) -> None:
    good = CORPUS / "camera" / "Canon_40D.jpg"
    files = [
        ("notes.txt", b"this is not a photo\n" * 10),
        ("corrupted.jpg", (CORPUS / "broken" / "corrupted.jpg").read_bytes()),
        ("image00971.jpg", (CORPUS / "broken" / "image00971.jpg").read_bytes()),
        ("huge.png", png_header_claiming(30000, 30000)),
        ("../../x.jpg", (CORPUS / "camera" / "Nikon_D70.jpg").read_bytes()),
        ("Canon_40D.jpg", good.read_bytes()),
    ]
    reply = await upload(http, pipeline.url("ingest"), files)
    job = await wait_job(http, pipeline.url("status"), reply["job_id"])
    assert job["status"] == "partial", job
    items = items_by_name(job)
    assert items["notes.txt"]["reason"].startswith("not_an_image")
    assert items["huge.png"]["reason"].startswith("too_many_pixels")
    # A path in a filename is never used as one: only its last part is kept, for display.
    assert "x.jpg" in items, sorted(items)
    assert items["x.jpg"]["state"] == "completed"
    assert items["Canon_40D.jpg"]["state"] == "completed"
    # Damaged files end with a clear reason or a best-effort thumbnail, never stuck.
    for name in ("corrupted.jpg", "image00971.jpg"):
        item = items[name]
        assert item["state"] in {"completed", "failed"}, item
        if item["state"] == "failed":
            assert item["reason"]


class RemoteServer:
    """A web server on 127.0.0.2 ("the internet", allowed for ingest) and one on 127.0.0.1 (must see nothing)."""

    def __init__(self) -> None:
        self.local_hits = 0
        self.runners: list[web.AppRunner] = []
        self.remote_port = 0
        self.local_port = 0

    async def start(self) -> None:
        photo = (CORPUS / "camera" / "Pentax_K10D.jpg").read_bytes()

        async def image(request: web.Request) -> web.Response:
            return web.Response(body=photo, content_type="image/jpeg")

        async def redirect_home(request: web.Request) -> web.Response:
            raise web.HTTPFound(f"http://127.0.0.1:{self.local_port}/secret")

        async def secret(request: web.Request) -> web.Response:
            self.local_hits += 1
            return web.Response(body=photo, content_type="image/jpeg")

        remote = web.Application()
        remote.router.add_get("/photo.jpg", image)
        remote.router.add_get("/redirect", redirect_home)
        local = web.Application()
        local.router.add_get("/{tail:.*}", secret)
        for app, host in ((remote, "127.0.0.2"), (local, "127.0.0.1")):
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, host, 0)
            await site.start()
            port = runner.addresses[0][1]
            if host == "127.0.0.2":
                self.remote_port = port
            else:
                self.local_port = port
            self.runners.append(runner)

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()


@pytest.fixture
async def remote() -> Any:
    server = RemoteServer()
    await server.start()
    yield server
    await server.stop()


async def test_seed_curl_examples_work(
    pipeline: Stack, http: aiohttp.ClientSession, remote: RemoteServer
) -> None:
    good = f"http://127.0.0.2:{remote.remote_port}/photo.jpg"
    bad = f"http://127.0.0.2:{remote.remote_port}/missing.jpg"
    # curl -X POST -H "Content-Type: application/json" -d '{"urls" : [...]}' .../v1/images/upload
    async with http.post(
        f"{pipeline.url('ingest')}/v1/images/upload",
        data=f'{{"urls" : ["{good}", "{bad}"]}}',
        headers={"Content-Type": "application/json"},
    ) as r:
        body = await r.json()
        assert set(body) == {"job_id"}, body
    await wait_job(http, pipeline.url("status"), body["job_id"])
    # curl .../v1/images/uploaded/<job_id>
    async with http.get(f"{pipeline.url('status')}/v1/images/uploaded/{body['job_id']}") as r:
        seed = await r.json()
    assert set(seed) == {"id", "status", "created", "finished", "uploaded"}
    assert seed["id"] == body["job_id"]
    assert seed["uploaded"]["completed"] == [good]
    assert seed["uploaded"]["failed"] == [bad]
    assert seed["uploaded"]["pending"] == []
    assert seed["finished"] is not None
    # curl -X POST -F "photo_file=@DSC00647.JPG" -F "tags=vegas,travel" -F "skip=gphotos" .../photos/
    form = aiohttp.FormData()
    form.add_field(
        "photo_file",
        io.BytesIO((CORPUS / "camera" / "Kodak_CX7530.jpg").read_bytes()),
        filename="DSC00647.JPG",
    )
    form.add_field("tags", "vegas,travel")
    form.add_field("skip", "gphotos")
    async with http.post(f"{pipeline.url('ingest')}/photos/", data=form) as r:
        assert r.status == 202, await r.text()
        reply = await r.json()
    job = await wait_job(http, pipeline.url("status"), reply["job_id"])
    assert job["status"] == "completed"
    assert job["options"]["tags"] == ["vegas", "travel"]
    assert "gphotos" not in job["options"]["destinations"]
    # curl -H "Accept: application/json" .../v1/images
    async with http.get(
        f"{pipeline.url('status')}/v1/images", headers={"Accept": "application/json"}
    ) as r:
        assert r.status == 200
        assert isinstance((await r.json())["images"], list)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{local}/secret",
        "http://[::1]:{local}/secret",
        "http://[::ffff:127.0.0.1]:{local}/secret",
        "http://0.0.0.0:{local}/secret",
        "http://10.11.12.13:{local}/secret",
        "http://2130706433:{local}/secret",
        "http://127.0.0.2:{remote}/redirect",
    ],
)
async def test_urls_into_private_addresses_are_blocked(
    pipeline: Stack, http: aiohttp.ClientSession, remote: RemoteServer, url: str
) -> None:
    target = url.format(local=remote.local_port, remote=remote.remote_port)
    async with http.post(f"{pipeline.url('ingest')}/v1/jobs", json={"urls": [target]}) as r:
        assert r.status == 202, await r.text()
        reply = await r.json()
    job = await wait_job(http, pipeline.url("status"), reply["job_id"])
    assert job["status"] == "failed"
    assert job["items"][0]["reason"].startswith("blocked_address"), job["items"][0]
    assert remote.local_hits == 0


async def test_thumbnailer_killed_mid_work_loses_nothing(
    pipeline: Stack, http: aiohttp.ClientSession
) -> None:
    photos = [(f"frame_{i}.jpg", _photo(i)) for i in range(24)]
    reply = await upload(http, pipeline.url("ingest"), photos)
    # Kill it once it is part-way through: it holds unacked messages at that moment.
    await wait_job(http, pipeline.url("status"), reply["job_id"], until={"processing"})
    pipeline.kill("thumbnailer")
    await pipeline.start("thumbnailer")
    job = await wait_job(http, pipeline.url("status"), reply["job_id"], timeout=120)
    assert job["status"] == "completed", job
    assert all(item["thumbnails"] for item in job["items"])


def _photo(seed: int, size: tuple[int, int] = (3000, 2000)) -> bytes:
    """A distinct photo-like JPEG, big enough that decoding takes a while."""
    image = Image.radial_gradient("L").resize(size).convert("RGB")
    image = Image.merge(
        "RGB",
        [
            c.point(lambda v, s=seed, k=k: (v * (k + 1) + s * 7) % 256)
            for k, c in enumerate(image.split())
        ],
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()
