"""POST /v1/jobs against the live RabbitMQ and a local blob store."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
from photobus_common.events import FetchRequested, JobAccepted, PhotoReceived, PhotoRejected

from .conftest import BOUNDARY, CORPUS, MULTIPART, EventTap, raw_multipart

Client = TestClient[web.Request, web.Application]

CANON = CORPUS / "camera" / "Canon_40D.jpg"
NIKON = CORPUS / "camera" / "Nikon_D70.jpg"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width`×`height` pixels (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


async def test_multipart_files_are_stored_and_announced(
    client: Client, tap: EventTap, blob_dir: Path
) -> None:
    form = aiohttp.FormData()
    form.add_field("title", "Cameras")
    form.add_field("files", CANON.read_bytes(), filename="Canon_40D.jpg")
    form.add_field("files", NIKON.read_bytes(), filename="Nikon_D70.jpg")
    # Options after the files are still honoured.
    form.add_field("tags", "exif, camera")
    form.add_field("destinations", "flickr,imgur")
    form.add_field("keep_location", "true")

    response = await client.post("/v1/jobs", data=form)

    assert response.status == 202
    body = await response.json()
    job_id = body["job_id"]
    assert len(job_id) == 22
    assert body["status_url"] == f"http://127.0.0.1:8081/v1/jobs/{job_id}"
    assert [i["filename"] for i in body["items"]] == ["Canon_40D.jpg", "Nikon_D70.jpg"]
    assert [i["photo_id"] for i in body["items"]] == [_sha(CANON), _sha(NIKON)]
    assert [i["duplicate"] for i in body["items"]] == [False, False]

    events = await tap.wait_for(lambda es: len(es) >= 3)
    accepted, *received = events
    assert isinstance(accepted, JobAccepted)
    assert accepted.job_id == job_id
    assert [i.item_id for i in accepted.items] == [i["item_id"] for i in body["items"]]
    assert all(isinstance(e, PhotoReceived) for e in received)
    canon = next(
        e for e in received if isinstance(e, PhotoReceived) and e.filename == "Canon_40D.jpg"
    )
    assert canon.photo_id == _sha(CANON)
    assert canon.size == CANON.stat().st_size
    assert canon.content_type == "image/jpeg"
    assert (canon.width, canon.height) == (100, 68)
    assert canon.blob_key == f"originals/{canon.photo_id}"
    assert canon.options.title == "Cameras"
    assert canon.options.tags == ("exif", "camera")
    assert canon.options.destinations == ("imgur", "flickr")
    assert canon.options.strip_location is False
    for path in (CANON, NIKON):
        assert (blob_dir / "originals" / _sha(path)).read_bytes() == path.read_bytes()
    assert list((blob_dir / ".spool").iterdir()) == []
    metrics = await (await client.get("/metrics")).text()
    assert 'photobus_ingest_items_total{outcome="received",source="upload"}' in metrics


async def test_the_same_bytes_again_are_the_same_photo(client: Client, tap: EventTap) -> None:
    replies = []
    for _ in range(2):
        form = aiohttp.FormData()
        form.add_field("file", CANON.read_bytes(), filename="a.jpg")
        response = await client.post("/v1/jobs", data=form)
        assert response.status == 202
        replies.append((await response.json())["items"][0])
    assert replies[0]["photo_id"] == replies[1]["photo_id"] == _sha(CANON)
    assert [r["duplicate"] for r in replies] == [False, True]


async def test_bad_items_are_rejected_one_by_one(client: Client, tap: EventTap) -> None:
    body = raw_multipart(
        [
            ("file", "notes.txt", b"just some text, not a photo\n" * 10),
            ("file", "corrupted.jpg", (CORPUS / "broken" / "corrupted.jpg").read_bytes()),
            ("file", "bomb.png", _png_claiming(30000, 30000)),
            ("file", "empty.jpg", b""),
            ("file", "../../x.jpg", CANON.read_bytes()),
            # A quoted-string escapes its backslashes: this is C:\Users\me\evil….exe
            ("file", "C:\\\\Users\\\\me\\\\evil\u202egpj\t.exe", NIKON.read_bytes()),
        ]
    )

    response = await client.post(
        "/v1/jobs", data=io.BytesIO(body), headers={"Content-Type": MULTIPART}
    )

    assert response.status == 202
    items = (await response.json())["items"]
    reasons = [i.get("rejected", {}).get("reason") for i in items]
    assert reasons[0] == "not_an_image"
    assert reasons[2] == "too_many_pixels"
    assert reasons[3] == "empty_file"
    assert reasons[4:] == [None, None]
    assert items[4]["filename"] == "x.jpg"
    assert items[4]["photo_id"] == _sha(CANON)
    assert items[5]["filename"] == "evilgpj.exe"
    assert "pixels" in items[2]["rejected"]["detail"]
    job_id = (await response.json())["job_id"]
    events = await tap.wait_for(lambda es: len(es) >= 7)
    rejected = [e for e in events if isinstance(e, PhotoRejected) and e.job_id == job_id]
    received = [e for e in events if isinstance(e, PhotoReceived) and e.job_id == job_id]
    assert {e.item_id for e in rejected} == {i["item_id"] for i in items if "rejected" in i}
    assert {"x.jpg", "evilgpj.exe"} <= {e.filename for e in received}
    # corrupted.jpg either has a readable header (received) or gets a clear reason.
    corrupted = items[1]
    assert "photo_id" in corrupted or corrupted["rejected"]["reason"] in {
        "not_an_image",
        "truncated",
    }


async def test_json_urls_become_fetch_requests(client: Client, tap: EventTap) -> None:
    response = await client.post(
        "/v1/jobs",
        json={
            "urls": [
                "https://example.com/a.jpg",
                "ftp://example.com/b.jpg",
                "https://me:secret@example.com/c.jpg",
                "not a url",
            ],
            "title": "From the web",
            "tags": "x,y",
            "skip": ["gphotos"],
        },
    )

    assert response.status == 202
    body = await response.json()
    first, second, *others = body["items"]
    assert first["url"] == "https://example.com/a.jpg"
    assert "rejected" not in first
    assert second["rejected"]["reason"] == "bad_url"
    assert "http://" in second["rejected"]["detail"]
    assert [i["rejected"]["reason"] for i in others] == ["bad_url", "bad_url"]
    events = await tap.wait_for(lambda es: len(es) >= 5)
    job_events = tap.of_job(body["job_id"])
    fetch = next(e for e in job_events if isinstance(e, FetchRequested))
    assert fetch.item_id == first["item_id"]
    assert fetch.url == "https://example.com/a.jpg"
    assert fetch.options.title == "From the web"
    assert fetch.options.tags == ("x", "y")
    assert fetch.options.destinations == ("imgur", "flickr")
    bad = {e.item_id for e in job_events if isinstance(e, PhotoRejected)}
    assert bad == {i["item_id"] for i in (second, *others)}
    assert isinstance(events[0], JobAccepted)


async def test_unknown_destination_is_a_clear_400(client: Client, tap: EventTap) -> None:
    form = aiohttp.FormData()
    form.add_field("destinations", "imgur,myspace")
    form.add_field("file", CANON.read_bytes(), filename="a.jpg")

    response = await client.post("/v1/jobs", data=form)

    assert response.status == 400
    body = await response.json()
    assert body["error"] == "bad_options"
    assert "myspace" in body["detail"] and "gphotos" in body["detail"]
    assert tap.events == []


async def test_a_request_without_files_or_urls_is_a_400(client: Client) -> None:
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("title", "nothing")
    no_files = await client.post("/v1/jobs", data=form)
    no_urls = await client.post("/v1/jobs", json={"urls": []})
    wrong_type = await client.post("/v1/jobs", data=b"x", headers={"Content-Type": "text/plain"})

    assert (no_files.status, (await no_files.json())["error"]) == (400, "no_files")
    assert (no_urls.status, (await no_urls.json())["error"]) == (400, "no_urls")
    assert (wrong_type.status, (await wrong_type.json())["error"]) == (
        415,
        "unsupported_media_type",
    )


async def test_a_malformed_form_is_a_400_and_leaves_nothing(
    client: Client, tap: EventTap, blob_dir: Path
) -> None:
    photo = raw_multipart([("file", "a.jpg", CANON.read_bytes())])
    nested = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"\r\n'
        "Content-Type: multipart/mixed; boundary=inner\r\n\r\n--inner--\r\n"
        f"--{BOUNDARY}--\r\n"
    ).encode()
    for body, content_type, says in [
        (photo[: len(photo) // 2], MULTIPART, "before its closing boundary"),  # cut short
        (photo, "multipart/form-data", "names no boundary"),
        (nested, MULTIPART, "Nested multipart bodies are not supported"),
    ]:
        response = await client.post(
            "/v1/jobs", data=io.BytesIO(body), headers={"Content-Type": content_type}
        )
        assert response.status == 400
        reply = await response.json()
        assert reply["error"] == "bad_multipart"
        assert says in reply["detail"]
    spool = blob_dir / ".spool"
    assert not spool.exists() or list(spool.iterdir()) == []
    assert not (blob_dir / "originals").exists()
    assert tap.events == []


async def test_a_field_in_an_unknown_charset_is_read_as_utf8(client: Client, tap: EventTap) -> None:
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n'
        "Content-Type: text/plain; charset=no-such-charset\r\n\r\nété\r\n"
    ).encode() + raw_multipart([("file", "a.jpg", CANON.read_bytes())])
    response = await client.post(
        "/v1/jobs", data=io.BytesIO(body), headers={"Content-Type": MULTIPART}
    )
    assert response.status == 202, await response.text()
    job_id = (await response.json())["job_id"]
    events = await tap.wait_for(lambda es: len(tap.of_job(job_id)) == 2)
    accepted = next(e for e in events if isinstance(e, JobAccepted))
    assert accepted.options.title == "été"
