"""Issue 6, item 4: hostile uploads through ingest's HTTP API, on the live RabbitMQ.

Each hostile item travels in a job beside a good photo: the hostile one gets a
clear per-item rejection, the good one is stored and announced as if it were alone.
Request-level attacks (10,000 parts, a stalling body) get one clear error and
leave no spool, blob or event behind. One ingest serves the whole module (starting
one costs a second); each test looks only at its own job's events and blobs.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from photobus_common.events import JobAccepted, PhotoReceived, PhotoRejected
from photobus_ingest.app import create_app
from photobus_ingest.config import IngestSettings

from tests.fuzz import hostile_files
from tests.support import infra
from tests.support.cleanup import delete_namespace

from .conftest import BOUNDARY, MULTIPART, EventTap, raw_multipart, start_client

Client = TestClient[web.Request, web.Application]
GOOD = hostile_files.good_jpeg()
GOOD_ID = hashlib.sha256(GOOD).hexdigest()
MAX_ITEMS = 100  # below the default 1000, so 10,000 file parts are refused after 100 spools
READ_TIMEOUT = 3.0  # generous: the "not blocked" check must finish well inside it


@pytest.fixture(scope="module")
async def namespace(amqp_url: str) -> AsyncIterator[str]:
    ns = infra.unique("pbhostile")
    yield ns
    await delete_namespace(amqp_url, ns)


@pytest.fixture(scope="module")
def blob_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile") / "blobs"


@pytest.fixture(scope="module")
def settings(amqp_url: str, namespace: str, blob_dir: Path) -> IngestSettings:
    return IngestSettings(
        amqp_url=amqp_url,
        namespace=namespace,
        blob_url=f"file://{blob_dir}",
        publish_timeout=5.0,
        max_items_per_job=MAX_ITEMS,
        upload_read_timeout=READ_TIMEOUT,
    )


@pytest.fixture(scope="module")
async def tap(amqp_url: str, namespace: str) -> AsyncIterator[EventTap]:
    tap = EventTap()
    async with await aio_pika.connect(amqp_url) as connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            f"{namespace}.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, "#")
        await queue.consume(tap.on_message, no_ack=True)
        yield tap


@pytest.fixture(scope="module")
async def client(settings: IngestSettings, tap: EventTap) -> AsyncIterator[Client]:
    client = await start_client(create_app(settings))
    yield client
    await client.close()


def _jobs(tap: EventTap) -> int:
    return sum(isinstance(e, JobAccepted) for e in tap.events)


def _blobs(blob_dir: Path) -> list[str]:
    originals = blob_dir / "originals"
    return sorted(p.name for p in originals.iterdir()) if originals.exists() else []


def _spools(blob_dir: Path) -> list[Path]:
    spool = blob_dir / ".spool"
    return list(spool.iterdir()) if spool.exists() else []


async def post_raw(client: Client, body: bytes) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        "/v1/jobs", data=io.BytesIO(body), headers={"Content-Type": MULTIPART}
    )
    return response.status, await response.json()


async def upload_beside_a_good_photo(
    client: Client, tap: EventTap, name: str, data: bytes
) -> dict[str, Any]:
    """Upload `data` and a good photo in one job; check the good one is untouched."""
    status, reply = await post_raw(
        client, raw_multipart([("file", name, data), ("file", "good.jpg", GOOD)])
    )
    assert status == 202, reply
    hostile, good = reply["items"]
    assert good["photo_id"] == GOOD_ID
    events = await tap.wait_for(lambda es: len(tap.of_job(reply["job_id"])) == 3)
    job_events = [e for e in events if e.job_id == reply["job_id"]]
    assert isinstance(job_events[0], JobAccepted)
    received = [e for e in job_events if isinstance(e, PhotoReceived)]
    assert [e.item_id for e in received] == [good["item_id"]]
    rejected = [e for e in job_events if isinstance(e, PhotoRejected)]
    assert [e.item_id for e in rejected] == [hostile["item_id"]]
    assert rejected[0].reason == hostile["rejected"]["reason"]
    return dict(hostile)


# --- Decompression bombs -----------------------------------------------------------


@pytest.mark.parametrize(
    ("builder", "reason", "says"),
    [
        pytest.param(hostile_files.png_header_bomb, "too_many_pixels", "pixels", id="header-50000x50000"),
        pytest.param(hostile_files.png_zero_bomb, "too_many_pixels", "pixels", id="png-144-megapixels-of-zeros"),
        pytest.param(hostile_files.gif_many_frames, "too_many_frames", "1000 frames", id="gif-5000-frames"),
    ],
)  # fmt: skip
async def test_decompression_bomb_is_rejected_and_the_job_goes_on(
    client: Client, tap: EventTap, blob_dir: Path, builder: Any, reason: str, says: str
) -> None:
    bomb: bytes = builder()
    assert len(bomb) < 200_000  # small on the wire, huge once decoded
    hostile = await upload_beside_a_good_photo(client, tap, "bomb.png", bomb)
    assert hostile["rejected"]["reason"] == reason
    assert says in hostile["rejected"]["detail"]
    assert hashlib.sha256(bomb).hexdigest() not in _blobs(blob_dir)  # nothing of it is kept
    assert _spools(blob_dir) == []


def test_the_zero_bomb_sits_between_pillows_warning_and_error_limits() -> None:
    """Pillow alone would only warn about it and decode 144 MB: the check must be ours."""
    pixels = 12_000 * 12_000
    assert hostile_files.PILLOW_WARNING_PIXELS < pixels < 2 * hostile_files.PILLOW_WARNING_PIXELS


# --- Formats outside the allow-list ------------------------------------------------


@pytest.mark.parametrize("kind", list(hostile_files.outside_the_allow_list()))
async def test_format_outside_the_allow_list_is_rejected(
    client: Client, tap: EventTap, blob_dir: Path, kind: str
) -> None:
    data = hostile_files.outside_the_allow_list()[kind]
    hostile = await upload_beside_a_good_photo(client, tap, "photo.jpg", data)  # the name lies
    assert hostile["rejected"]["reason"] == "not_an_image"
    assert "JPEG, PNG" in hostile["rejected"]["detail"]
    assert hashlib.sha256(data).hexdigest() not in _blobs(blob_dir)


async def test_a_jpeg_with_a_zip_appended_is_kept_byte_exact_as_the_original(
    client: Client, tap: EventTap, blob_dir: Path
) -> None:
    """It is a valid JPEG, so it is accepted; the original is stored as sent (by design:
    originals are never served raw, only re-encoded renditions are; see the thumbnailer)."""
    polyglot = hostile_files.jpeg_with_zip()
    status, reply = await post_raw(client, raw_multipart([("file", "a.jpg", polyglot)]))
    assert status == 202, reply
    photo_id = hashlib.sha256(polyglot).hexdigest()
    assert reply["items"][0]["photo_id"] == photo_id
    assert (blob_dir / "originals" / photo_id).read_bytes() == polyglot


# --- Hostile filenames ------------------------------------------------------------


@pytest.mark.parametrize(
    ("disposition", "shown"),
    [
        pytest.param('filename="../../etc/passwd.jpg"', "passwd.jpg", id="path-traversal"),
        pytest.param('filename="..\\\\..\\\\windows\\\\evil.jpg"', "evil.jpg", id="path-traversal-backslashes"),
        pytest.param('filename="/etc/cron.d/evil.jpg"', "evil.jpg", id="absolute-path"),
        pytest.param("filename*=UTF-8''..%2F..%2Fx.jpg", "x.jpg", id="path-traversal-encoded"),
        pytest.param("filename*=UTF-8''evil%00.jpg", "evil.jpg", id="nul-byte-encoded"),
        pytest.param("filename*=UTF-8''a%0D%0AX-Injected%3A%201.jpg", "aX-Injected: 1.jpg", id="crlf-encoded"),
        pytest.param('filename="photo\u202egpj.exe"', "photogpj.exe", id="rtl-override"),
        pytest.param("filename*=UTF-8''photo%E2%80%AEgpj.exe", "photogpj.exe", id="rtl-override-encoded"),
        pytest.param('filename="<img src=x onerror=alert(1)>.jpg"', "<img src=x onerror=alert(1)>.jpg", id="html"),
        pytest.param('filename=".."', None, id="dot-dot-only"),
        pytest.param('filename="' + "x" * 5000 + '.jpg"', "x" * 255, id="very-long"),
    ],
)  # fmt: skip
async def test_hostile_filename_is_shown_clean_and_stored_by_hash(
    client: Client, tap: EventTap, blob_dir: Path, disposition: str, shown: str | None
) -> None:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; {disposition}\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    body = head + GOOD + f"\r\n--{BOUNDARY}--\r\n".encode()
    response = await client.post(
        "/v1/jobs", data=io.BytesIO(body), headers={"Content-Type": MULTIPART}
    )
    assert response.status == 202, await response.text()
    assert response.content_type == "application/json"  # never rendered as HTML here
    item = (await response.json())["items"][0]
    assert item["filename"] == shown
    job_id = (await response.json())["job_id"]
    await tap.wait_for(lambda es: len(tap.of_job(job_id)) == 2)
    received = next(e for e in tap.of_job(job_id) if isinstance(e, PhotoReceived))
    assert received.filename == shown
    assert received.blob_key == f"originals/{GOOD_ID}"  # the key is the hash, whatever the name
    assert GOOD_ID in _blobs(blob_dir)


async def test_a_raw_nul_byte_in_the_filename_is_refused_or_dropped(
    client: Client, tap: EventTap, blob_dir: Path
) -> None:
    status, reply = await post_raw(client, raw_multipart([("file", "evil\x00.jpg", GOOD)]))
    if status == 202:
        assert reply["items"][0]["filename"] == "evil.jpg"
        await tap.wait_for(lambda es: len(tap.of_job(reply["job_id"])) == 2)
    else:
        assert status == 400
        assert reply["error"] == "bad_multipart"
    assert _spools(blob_dir) == []


# --- Request-level attacks --------------------------------------------------------


def _many_parts(count: int, name: str, filename: str | None, data: bytes) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    part = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return part * count


async def test_ten_thousand_file_parts_are_refused_quickly_and_leave_nothing(
    client: Client, tap: EventTap, blob_dir: Path, settings: IngestSettings
) -> None:
    tiny = hostile_files.small_png()
    body = _many_parts(10_000, "file", "p.png", tiny) + f"--{BOUNDARY}--\r\n".encode()
    jobs = _jobs(tap)
    started = time.monotonic()
    status, reply = await post_raw(client, body)
    assert status == 400
    assert reply["error"] == "too_many_items"
    assert f"At most {settings.max_items_per_job} files" in reply["detail"]
    assert time.monotonic() - started < 10
    assert _spools(blob_dir) == []
    assert hashlib.sha256(tiny).hexdigest() not in _blobs(blob_dir)
    assert _jobs(tap) == jobs


async def test_ten_thousand_unknown_fields_are_refused_quickly(
    client: Client, tap: EventTap, blob_dir: Path
) -> None:
    body = (
        _many_parts(1, "file", "good.jpg", GOOD)
        + _many_parts(10_000, "junk", None, b"x" * 10)
        + f"--{BOUNDARY}--\r\n".encode()
    )
    jobs = _jobs(tap)
    started = time.monotonic()
    status, reply = await post_raw(client, body)
    assert status == 400, reply
    assert reply["error"] == "too_many_fields"
    assert time.monotonic() - started < 5
    assert _spools(blob_dir) == []  # the photo spooled before the fields is removed too
    assert _jobs(tap) == jobs


async def test_a_hundred_fields_are_still_a_form(client: Client, tap: EventTap) -> None:
    body = (
        _many_parts(100, "junk", None, b"x")
        + _many_parts(1, "file", "good.jpg", GOOD)
        + f"--{BOUNDARY}--\r\n".encode()
    )
    status, reply = await post_raw(client, body)
    assert status == 202, reply
    await tap.wait_for(lambda es: len(tap.of_job(reply["job_id"])) == 2)


async def test_ten_thousand_tag_fields_are_bounded(
    client: Client, tap: EventTap, blob_dir: Path
) -> None:
    """Repeated list fields add up in memory: their number is bounded like any field's."""
    body = (
        b"".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="tags"\r\n\r\ntag{i:05}\r\n'.encode()
            for i in range(10_000)
        )
        + _many_parts(1, "file", "good.jpg", GOOD)
        + f"--{BOUNDARY}--\r\n".encode()
    )
    jobs = _jobs(tap)
    status, reply = await post_raw(client, body)
    assert status == 400
    assert reply["error"] == "too_many_fields"
    assert _spools(blob_dir) == []
    assert _jobs(tap) == jobs


# --- Slow clients ------------------------------------------------------------------


async def _start_trickle(client: Client) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client that sends headers and the first half of a photo, then goes quiet."""
    body = raw_multipart([("file", "slow.jpg", GOOD)])
    head = (
        f"POST /v1/jobs HTTP/1.1\r\nHost: ingest\r\nContent-Type: {MULTIPART}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(head.encode() + body[: len(body) // 2])
    await writer.drain()
    return reader, writer


async def test_a_stalling_client_does_not_block_other_uploads(
    client: Client, tap: EventTap, blob_dir: Path
) -> None:
    _reader, writer = await _start_trickle(client)
    try:
        started = time.monotonic()
        status, reply = await post_raw(client, raw_multipart([("file", "good.jpg", GOOD)]))
        assert status == 202, reply
        # Done before the stalled request could have been answered (it gets 408 at
        # READ_TIMEOUT): so it was served while the other one stalled.
        assert time.monotonic() - started < READ_TIMEOUT
        await tap.wait_for(lambda es: len(tap.of_job(reply["job_id"])) == 2)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_a_stalling_client_gets_408_and_its_spool_is_removed(
    client: Client, tap: EventTap, blob_dir: Path
) -> None:
    jobs = _jobs(tap)
    reader, writer = await _start_trickle(client)
    started = time.monotonic()
    try:
        async with asyncio.timeout(10):
            status_line = await reader.readline()
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            rest = await reader.readexactly(length)
    finally:
        writer.close()
        await writer.wait_closed()
    assert status_line.startswith(b"HTTP/1.1 408"), status_line
    assert b'"body_timeout"' in rest
    assert READ_TIMEOUT <= time.monotonic() - started < READ_TIMEOUT + 3
    assert _spools(blob_dir) == []
    assert _jobs(tap) == jobs


async def test_a_slow_but_steady_client_is_not_cut_off(
    client: Client, tap: EventTap, blob_dir: Path
) -> None:
    """The timeout is between reads, not for the whole body: a slow link still uploads."""

    async def steady() -> AsyncIterator[bytes]:
        body = raw_multipart([("file", "steady.jpg", GOOD)])
        step = len(body) // 3 + 1
        for i in range(0, len(body), step):
            yield body[i : i + step]
            await asyncio.sleep(READ_TIMEOUT / 2)  # the client's pace is what is under test

    response = await client.post("/v1/jobs", data=steady(), headers={"Content-Type": MULTIPART})
    assert response.status == 202, await response.text()
    job_id = (await response.json())["job_id"]
    await tap.wait_for(lambda es: len(tap.of_job(job_id)) == 2)


async def test_a_stalling_json_client_gets_408(client: Client, tap: EventTap) -> None:
    """The URL-list route has the same read timeout as uploads."""
    jobs = _jobs(tap)
    head = (
        "POST /v1/jobs HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(head.encode() + b'{"urls": ["https://photos.example/a.jpg"')
    await writer.drain()
    started = time.monotonic()
    try:
        async with asyncio.timeout(10):
            status_line = await reader.readline()
    finally:
        writer.close()
        await writer.wait_closed()
    assert status_line.startswith(b"HTTP/1.1 408"), status_line
    assert READ_TIMEOUT <= time.monotonic() - started < READ_TIMEOUT + 3
    assert _jobs(tap) == jobs
