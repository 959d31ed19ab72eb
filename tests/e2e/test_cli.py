"""Issue 4, the command line: the real `photobus` command against the running pipeline.

Most tests use ingest, thumbnailer and status as processes (no publishers: a destination
stays pending, and a photo's link is its thumbnail on status); the slow one adds the three
publishers and the fakes, so that `--wait` ends with each destination's link.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.publishing_stack import publishing_stack
from tests.support.client import CORPUS
from tests.support.stack import Stack, free_port

pytestmark = pytest.mark.e2e

CORPUS_IMAGES = 29  # every file of shared/corpus but README.md and orientation/LICENSE


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass(frozen=True)
class Cli:
    env: dict[str, str]

    async def __call__(self, *args: str | Path, env: dict[str, str] | None = None) -> Run:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "photobus_client",
            *map(str, args),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env | (env or {}),
        )
        async with asyncio.timeout(60):
            out, err = await process.communicate()
        assert process.returncode is not None
        return Run(process.returncode, out.decode(), err.decode())


def cli_env(ingest_url: str, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOBUS_")}
    # Status's address is learned from ingest's answers and remembered in this cache.
    return env | {
        "PHOTOBUS_URL": ingest_url,
        "XDG_CACHE_HOME": str(cache),
        "NO_PROXY": "127.0.0.1,localhost",
    }


@pytest.fixture(scope="module")
async def photobus(pipeline: Stack, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return Cli(cli_env(pipeline.url("ingest"), tmp_path_factory.mktemp("cli-cache")))


def unique_photo(folder: Path, name: str, source: Path) -> Path:
    """A corpus JPEG with a few bytes appended: still a valid image, a photo of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(source.read_bytes() + os.urandom(16))
    return path


async def test_uploading_the_corpus_twice_sends_nothing_the_second_time(photobus: Cli) -> None:
    first = await photobus("upload", CORPUS, "--tags", "corpus", "--concurrency", "6", "--json")
    assert first.code == 0, first.err
    summary = first.json()
    assert len(summary["uploaded"]) + len(summary["already_there"]) == CORPUS_IMAGES
    assert summary["rejected"] == [] and summary["failed"] == []
    assert sorted(Path(p).name for p in summary["ignored"]) == ["LICENSE", "README.md"]

    second = await photobus("upload", CORPUS)
    assert second.code == 0, second.err
    assert "uploaded 0 file(s) (0 B in" in second.out
    assert f"{CORPUS_IMAGES} already there" in second.out
    assert "nothing new: photobus already has every file" in second.out
    assert "Traceback" not in second.err


async def test_a_text_file_and_a_broken_jpeg_end_with_exit_1_naming_both(
    photobus: Cli, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("shopping list, not a photo\n")
    # JPEG magic, then text: ingest refuses it (its header cannot be read).
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"this is not a photo " * 20)
    good = unique_photo(tmp_path, "good.jpg", CORPUS / "camera" / "Canon_40D.jpg")

    run = await photobus("upload", tmp_path)
    assert run.code == 1, run.out + run.err
    assert "uploaded 1 file(s)" in run.out and "1 rejected" in run.out
    assert f"{tmp_path / 'broken.jpg'} — truncated: " in run.out
    assert f"ignored (not images): {tmp_path / 'notes.txt'}" in run.out
    assert str(good) not in run.out


async def test_wait_follows_the_job_and_ends_with_the_links(
    photobus: Cli, pipeline: Stack, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    photo = unique_photo(tmp_path, "waited.jpg", CORPUS / "camera" / "Nikon_D70.jpg")
    run = await photobus(
        "upload", photo, "--wait", "--json", "--tags", "cli-wait", "--only", "imgur,flickr"
    )
    assert run.code == 0, run.err
    summary = run.json()
    [job] = summary["results"]
    assert job["status"] == "completed"
    [item] = job["items"]
    assert item["name"] == "waited.jpg" and item["state"] == "completed"
    assert set(item["destinations"]) == {"imgur", "flickr"}
    thumbnail = item["thumbnail"]
    assert thumbnail.startswith(pipeline.url("status")) and thumbnail.endswith("/renditions/thumb")
    async with http.get(thumbnail) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "image/webp"

    # The same, as a person sees it: the final table names the file, its state and link.
    shown = await photobus("status", job["job_id"])
    assert shown.code == 0, shown.err
    assert "waited.jpg" in shown.out and "completed" in shown.out
    assert f"waited.jpg  thumbnail  {thumbnail}\n" in shown.out  # on one line, copyable
    assert "imgur" in shown.out and "flickr" in shown.out

    listed = await photobus("ls", "--tag", "cli-wait", "--json")
    assert [p["photo_id"] for p in listed.json()] == [item["photo_id"]]
    retried = await photobus("retry", item["photo_id"], "--destination", "imgur")
    assert retried.code == 0, retried.err
    assert "asked to publish" in retried.out


async def test_an_unreachable_server_gives_exit_2_and_one_line(tmp_path: Path) -> None:
    photo = unique_photo(tmp_path, "p.jpg", CORPUS / "camera" / "Canon_40D.jpg")
    nowhere = f"http://127.0.0.1:{free_port()}"
    run = await Cli(cli_env(nowhere, tmp_path / "cache"))("upload", photo)
    assert run.code == 2
    lines = (run.out + run.err).strip().splitlines()
    assert len(lines) == 1, lines
    assert (
        lines[0].startswith("photobus: error:")
        and nowhere in lines[0]
        and "unreachable" in lines[0]
    )


@pytest.mark.slow
async def test_wait_with_publishers_ends_with_every_destinations_link(
    amqp_url: str, admin_pg_url: str, tmp_path: Path
) -> None:
    async with publishing_stack(
        "cli-publishing", amqp_url=amqp_url, admin_pg_url=admin_pg_url
    ) as pub:
        photobus = Cli(cli_env(pub.url("ingest"), tmp_path / "cache"))
        photo = unique_photo(tmp_path, "linked.jpg", CORPUS / "camera" / "Pentax_K10D.jpg")
        run = await photobus("upload", photo, "--wait", "--title", "Linked", "--tags", "cli-links")
        assert run.code == 0, run.out + run.err
        links = dict(
            re.findall(r"^linked\.jpg  (imgur|flickr|gphotos)  (\S+)$", run.out, re.MULTILINE)
        )
        assert set(links) == {"imgur", "flickr", "gphotos"}, run.out
        assert "linked.jpg  thumbnail  http" in run.out

        listed = await photobus("ls", "--tag", "cli-links", "--json")
        [doc] = listed.json()
        assert {d: v["url"] for d, v in doc["destinations"].items()} == links
        assert all(v["state"] == "published" for v in doc["destinations"].values())
