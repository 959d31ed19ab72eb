"""Both blob backends behave the same: the local directory and a real S3 server (moto)."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from photobus_common.blobs import (
    BlobNotFound,
    BlobStore,
    Incoming,
    LocalBlobStore,
    open_blob_store,
    s3_incoming,
)
from photobus_common.blobs.s3 import MULTIPART_THRESHOLD, PART_SIZE, S3BlobStore

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


@pytest.mark.parametrize("key", ["../../etc/passwd", "/etc/passwd", "a/../../x", "", ".", "a/.."])
def test_local_keys_cannot_escape(tmp_path: Path, key: str) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(ValueError, match="escapes"):
        store.path(key)


def test_local_keys_name_files_inside_the_store(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    assert store.path("originals/ab/cd/abcd") == store.root / "originals/ab/cd/abcd"
    assert store.path("thumbs//x/./y") == store.root / "thumbs/x/y"
    assert store.path("a/../b") == store.root / "b"


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


class SyncCalls:
    """What reached the disk, in order: ("data", file) and ("dir", directory) syncs, renames."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, str]] = []
        fdatasync, fsync, rename = os.fdatasync, os.fsync, os.rename

        def name_of(fd: int) -> str:
            return os.readlink(f"/proc/self/fd/{fd}")

        def spy_fdatasync(fd: int) -> None:
            self.calls.append(("data", name_of(fd)))
            fdatasync(fd)

        def spy_fsync(fd: int) -> None:
            self.calls.append(("dir" if os.path.isdir(name_of(fd)) else "file", name_of(fd)))
            fsync(fd)

        def spy_rename(src: str | Path, dst: str | Path) -> None:
            self.calls.append(("rename", str(dst)))
            rename(src, dst)

        monkeypatch.setattr(os, "fdatasync", spy_fdatasync)
        monkeypatch.setattr(os, "fsync", spy_fsync)
        monkeypatch.setattr(os, "rename", spy_rename)


async def test_an_original_is_on_disk_before_put_file_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.start()
    sources = [tmp_path / "blobs" / "first", tmp_path / "blobs" / "second"]
    for source in sources:
        source.write_bytes(source.name.encode())
    disk = SyncCalls(monkeypatch)
    await store.put_file("originals/abc", sources[0], content_type="image/jpeg", consume=True)
    first = store.path("originals/abc")
    # The new directory's name, then the file's data, then its name (the rename, then
    # the directory holding it).
    assert disk.calls == [
        ("dir", str(store.root)),
        ("data", str(sources[0])),
        ("rename", str(first)),
        ("dir", str(first.parent)),
    ]
    disk.calls.clear()
    await store.put_file("originals/def", sources[1], content_type="image/jpeg", consume=True)
    second = store.path("originals/def")
    assert disk.calls == [  # its directory is there already
        ("data", str(sources[1])),
        ("rename", str(second)),
        ("dir", str(second.parent)),
    ]


async def test_a_copied_in_original_is_on_disk_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.start()
    source = tmp_path / "elsewhere"
    source.write_bytes(b"original")
    disk = SyncCalls(monkeypatch)
    await store.put_file("originals/abc", source, content_type="image/jpeg")
    target = store.path("originals/abc")
    assert [kind for kind, _ in disk.calls] == ["dir", "data", "dir"]
    assert disk.calls[0][1] == str(store.root)  # originals/ was made
    assert disk.calls[1][1].startswith(str(target.parent / ".incoming-"))  # before os.replace
    assert disk.calls[2][1] == str(target.parent)


async def test_renditions_are_not_synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # They are made again from the original; syncing each would slow every thumbnail.
    store = LocalBlobStore(tmp_path / "blobs")
    await store.start()
    disk = SyncCalls(monkeypatch)
    await store.put_bytes("renditions/abc/thumb.webp", b"webp", content_type="image/webp")
    assert disk.calls == []


async def test_only_a_store_that_keeps_the_spooled_file_wants_it_written_behind(
    store: BlobStore, tmp_path: Path
) -> None:
    incoming = store.incoming(tmp_path / "spool")
    assert incoming.keeps_file is isinstance(store, LocalBlobStore)


async def _grow(store: BlobStore, path: Path, data: bytes, step: int = 1024 * 1024) -> Incoming:
    """Write `data` to `path` a step at a time, telling the store as it grows."""
    incoming = store.incoming(path)
    with path.open("wb") as f:
        for start in range(0, len(data), step):
            f.write(data[start : start + step])
            f.flush()
            incoming.grown(min(start + step, len(data)))
            await asyncio.sleep(0)  # let part uploads start, as they would while receiving
    return incoming


@pytest.mark.parametrize("size", [1000, MULTIPART_THRESHOLD + 3 * PART_SIZE // 2])
async def test_a_growing_file_is_committed_under_its_key(
    store: BlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    monkeypatch.setattr(s3_incoming, "COPY_PART_SIZE", PART_SIZE)  # the copy in parts, too
    data = os.urandom(size)
    path = tmp_path / "spool"
    incoming = await _grow(store, path, data)
    await incoming.commit("originals/grown", content_type="image/png")
    assert await store.get_bytes("originals/grown") == data
    info = await store.stat("originals/grown")
    assert info is not None and info.size == size
    if isinstance(store, S3BlobStore):
        assert info.content_type == "image/png"
        assert await _leftovers(store) == ([], [])
    assert not path.exists()  # taken over


async def test_a_large_file_goes_up_while_it_is_written(
    tmp_path: Path, s3_server: S3Server
) -> None:
    store = open_blob_store(
        f"s3://{unique('pb').replace('_', '-')}", endpoint_url=s3_server.endpoint_url
    )
    assert isinstance(store, S3BlobStore)
    await store.start()
    await store.create_bucket()
    try:
        data = os.urandom(MULTIPART_THRESHOLD + 2 * PART_SIZE)
        incoming = await _grow(store, tmp_path / "spool", data)
        async with asyncio.timeout(20):  # before commit: parts are there already
            while not await _uploaded_parts(store):
                await asyncio.sleep(0.05)
        await incoming.commit("originals/early", content_type="image/jpeg")
        assert await store.get_bytes("originals/early") == data
    finally:
        await store.close()


async def test_an_aborted_file_leaves_nothing(store: BlobStore, tmp_path: Path) -> None:
    path = tmp_path / "spool"
    incoming = await _grow(store, path, os.urandom(MULTIPART_THRESHOLD + PART_SIZE))
    await incoming.abort()
    await incoming.abort()  # twice is harmless
    assert await store.stat("originals/grown") is None
    if isinstance(store, S3BlobStore):
        assert await _leftovers(store) == ([], [])
    assert path.exists()  # still the writer's


async def _leftovers(store: S3BlobStore) -> tuple[list[str], list[str]]:
    """Staging objects, and multipart uploads not completed or aborted."""
    listed = await store.client.list_objects_v2(Bucket=store.bucket)
    objects = [o["Key"] for o in listed.get("Contents", []) if "/incoming/" in f"/{o['Key']}"]
    uploads = await store.client.list_multipart_uploads(Bucket=store.bucket)
    return objects, [u["Key"] for u in uploads.get("Uploads", [])]


async def _uploaded_parts(store: S3BlobStore) -> int:
    uploads = await store.client.list_multipart_uploads(Bucket=store.bucket)
    count = 0
    for upload in uploads.get("Uploads", []):
        parts = await store.client.list_parts(
            Bucket=store.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
        )
        count += len(parts.get("Parts", []))
    return count
