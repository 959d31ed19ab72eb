"""The intake path on its own: spool, hash, sniff, probe, store; and display names."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path

import pytest
from photobus_common.blobs import BlobStoreUnavailable, LocalBlobStore
from photobus_ingest import hashfile
from photobus_ingest.intake import Checked, Refused, Spool, safe_filename, spool_directory

from .conftest import CORPUS

PHOTO = CORPUS / "orientation" / "Landscape_6.jpg"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("IMG_0001.JPG", "IMG_0001.JPG"),
        ("../../x.jpg", "x.jpg"),
        ("/etc/passwd", "passwd"),
        ("C:\\Users\\me\\photo.jpg", "photo.jpg"),
        ("a\x00b\x1fc.jpg", "abc.jpg"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ("\u2066x\u2069.png", "x.png"),
        ("..", None),
        ("dir/", None),
        ("", None),
        (None, None),
        ("été 2024 🌞.heic", "été 2024 🌞.heic"),
    ],
)
def test_display_names_keep_only_a_clean_basename(raw: str | None, shown: str | None) -> None:
    assert safe_filename(raw) == shown


def test_display_names_are_bounded() -> None:
    assert len(safe_filename("x" * 1000) or "") == 255


@pytest.fixture
async def store(tmp_path: Path) -> LocalBlobStore:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.start()
    return store


async def _spool(store: LocalBlobStore, data: bytes, chunk: int = 1000) -> Spool:
    spool = Spool(spool_directory(store), store)
    for start in range(0, len(data), chunk):
        await spool.write(data[start : start + chunk])
    return spool


async def test_an_image_is_hashed_probed_and_stored_once(store: LocalBlobStore) -> None:
    data = PHOTO.read_bytes()
    async with await _spool(store, data) as first:
        checked = await first.check(max_pixels=10**8)
        assert isinstance(checked, Checked)
        assert checked.photo_id == hashlib.sha256(data).hexdigest()
        assert (checked.size, checked.content_type) == (len(data), "image/jpeg")
        stored = await first.store(checked)
    async with await _spool(store, data) as second:
        again = await second.check(max_pixels=10**8)
        assert isinstance(again, Checked)
        duplicate = await second.store(again)

    assert stored.duplicate is False and duplicate.duplicate is True
    assert stored.blob_key == duplicate.blob_key == f"originals/{checked.photo_id}"
    assert await store.get_bytes(stored.blob_key) == data
    assert list(spool_directory(store).iterdir()) == []


async def test_a_non_image_is_not_kept_while_it_streams(store: LocalBlobStore) -> None:
    async with await _spool(store, b"%PDF-1.7\n" + b"x" * 100_000) as spool:
        assert spool.size == 100_009
        verdict = await spool.check(max_pixels=10**8)
        assert spool.path.stat().st_size == 0  # sniffed early, drained, never written
    assert isinstance(verdict, Refused) and verdict.reason == "not_an_image"


async def test_empty_and_oversized_images_are_refused(store: LocalBlobStore) -> None:
    async with await _spool(store, b"") as empty:
        assert await empty.check(max_pixels=10**8) == Refused(
            "empty_file", "The file is empty: send the photo's bytes."
        )
    async with await _spool(store, PHOTO.read_bytes()) as spool:
        verdict = await spool.check(max_pixels=100)
    assert isinstance(verdict, Refused) and verdict.reason == "too_many_pixels"


async def test_a_spool_discarded_while_its_file_is_being_created_leaves_no_file(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    class SlowToCreate:  # hashfile's `os`, with a file system slow to create files
        def __getattr__(self, name: str) -> object:
            return getattr(os, name)

        @staticmethod
        def open(path: Path, flags: int, mode: int) -> int:
            time.sleep(0.1)
            return os.open(path, flags, mode)

    monkeypatch.setattr(hashfile, "os", SlowToCreate())
    spool = Spool(spool_directory(store), store)
    await asyncio.sleep(0.02)  # the writer's thread is creating the file now
    await spool.discard()
    await asyncio.sleep(0.2)  # past the creation, however it went
    assert list(spool_directory(store).iterdir()) == []


async def test_a_spool_discarded_before_its_file_is_created_leaves_no_file(
    store: LocalBlobStore,
) -> None:
    for _ in range(50):
        spool = Spool(spool_directory(store), store)
        await spool.discard()
        assert list(spool_directory(store).iterdir()) == []


async def test_a_spool_that_cannot_create_its_file_says_storage_is_unavailable(
    store: LocalBlobStore, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-directory"
    async with Spool(missing, store) as spool:

        async def spool_and_check() -> None:
            await spool.write(PHOTO.read_bytes())
            await spool.check(max_pixels=10**8)

        with pytest.raises(BlobStoreUnavailable, match="could not spool the upload"):
            await spool_and_check()
