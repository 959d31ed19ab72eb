"""Both blob backends behave the same: the local directory and a real S3 server (moto)."""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from photobus_common.blobs import BlobNotFound, BlobStore, LocalBlobStore, open_blob_store
from photobus_common.blobs.s3 import MULTIPART_THRESHOLD, S3BlobStore

from tests.support.infra import unique
from tests.support.s3 import S3Server


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "local":
        blobs: BlobStore = open_blob_store(f"file://{tmp_path}/blobs")
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        bucket = unique("pb").replace("_", "-")
        blobs = open_blob_store(f"s3://{bucket}/prefix", endpoint_url=server.endpoint_url)
    await blobs.start()
    if isinstance(blobs, S3BlobStore):
        await blobs.create_bucket()
    yield blobs
    await blobs.close()


async def test_round_trip(store: BlobStore) -> None:
    await store.put_bytes("renditions/abc/thumb.webp", b"RIFF-data", content_type="image/webp")
    assert await store.get_bytes("renditions/abc/thumb.webp") == b"RIFF-data"
    info = await store.stat("renditions/abc/thumb.webp")
    assert info is not None and info.size == 9 and info.content_type == "image/webp"
    chunks = [c async for c in store.stream("renditions/abc/thumb.webp")]
    assert b"".join(chunks) == b"RIFF-data"
    await store.check()


async def test_missing_blob(store: BlobStore) -> None:
    assert await store.stat("originals/nope") is None
    with pytest.raises(BlobNotFound):
        await store.get_bytes("originals/nope")
    with pytest.raises(BlobNotFound):
        [c async for c in store.stream("originals/nope")]


async def test_large_file_goes_in_parts(store: BlobStore, tmp_path: Path) -> None:
    data = bytes(range(256)) * ((MULTIPART_THRESHOLD + 3_000_000) // 256)
    path = tmp_path / "big"
    path.write_bytes(data)
    await store.put_file("originals/big", path, content_type="image/jpeg", consume=True)
    got = await store.get_bytes("originals/big")
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_local_keys_cannot_escape(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(ValueError, match="escapes"):
        store.path("../../etc/passwd")


def test_blob_urls() -> None:
    s3 = open_blob_store("s3://bucket/some/prefix", endpoint_url="http://127.0.0.1:9000")
    assert isinstance(s3, S3BlobStore) and s3.bucket == "bucket" and s3.prefix == "some/prefix/"
    local = open_blob_store("file://./var/blobs")
    assert isinstance(local, LocalBlobStore) and local.root == Path("./var/blobs").resolve()
    with pytest.raises(ValueError, match="unsupported"):
        open_blob_store("ftp://x")
    assert urlparse("s3://b").netloc == "b"


async def test_a_consumed_file_is_renamed_straight_onto_its_key(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.start()
    spool = tmp_path / "blobs" / ".spool"
    spool.mkdir()
    source = spool / "upload"
    source.write_bytes(b"original")
    inode = source.stat().st_ino
    await store.put_file("originals/abc", source, content_type="image/jpeg", consume=True)
    target = store.path("originals/abc")
    assert target.read_bytes() == b"original"
    assert target.stat().st_ino == inode  # moved, not copied
    assert not source.exists()
    assert [p.name for p in target.parent.iterdir()] == ["abc"]  # no temporary left


async def test_a_file_on_another_filesystem_is_copied_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cross_device(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    store = LocalBlobStore(tmp_path / "blobs")
    await store.start()
    source = tmp_path / "elsewhere"
    source.write_bytes(b"original")
    monkeypatch.setattr(os, "rename", cross_device)
    await store.put_file("originals/abc", source, content_type="image/jpeg", consume=True)
    assert store.path("originals/abc").read_bytes() == b"original"
