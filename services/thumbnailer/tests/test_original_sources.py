"""Where the render pool gets an original: the file itself from a local store, the bytes otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from photobus_common.blobs import LocalBlobStore, original_key
from photobus_common.broker import Broker, Delivery, Reject
from photobus_common.events import Event, ThumbnailCreated, ThumbnailRequested
from photobus_thumbnailer.handlers import ThumbnailHandler
from photobus_thumbnailer.pool import RenderPool

from services.thumbnailer.tests.support import corpus

PHOTO_ID = "ab" * 32
DELIVERY = Delivery(
    queue="test.thumbnailer", attempt=1, max_attempts=3, redelivered=False, retry_delays=(1.0,)
)


class RecordingBroker:
    def __init__(self) -> None:
        self.published: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.published.append(event)


class BytesOnlyStore(LocalBlobStore):
    """A store whose blobs are not files a worker may open, as S3's are not."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads = 0

    def local_file(self, key: str) -> None:
        return None

    async def get_bytes(self, key: str) -> bytes:
        self.reads += 1
        return await super().get_bytes(key)


class FileOnlyStore(LocalBlobStore):
    """Fails the test if the thumbnailer reads the original's bytes itself."""

    async def get_bytes(self, key: str) -> bytes:
        raise AssertionError("the original went through the thumbnailer, not to the worker")


@pytest.fixture(scope="module")
def pool() -> Iterator[RenderPool]:
    render_pool = RenderPool(1, max_pixels=10**8, memory_limit_mb=0)
    yield render_pool
    render_pool.close()


async def render(store: LocalBlobStore, pool: RenderPool) -> list[Event]:
    broker = RecordingBroker()
    handler = ThumbnailHandler(blobs=store, broker=cast(Broker, broker), pool=pool)
    await handler(ThumbnailRequested(producer="test", photo_id=PHOTO_ID), DELIVERY)
    return broker.published


async def put_original(store: LocalBlobStore) -> None:
    await store.start()
    await store.put_bytes(
        original_key(PHOTO_ID), corpus("orientation/Landscape_6.jpg"), content_type="image/jpeg"
    )


@pytest.mark.parametrize("store_type", [FileOnlyStore, BytesOnlyStore])
async def test_renditions_are_made_from_the_file_or_from_its_bytes(
    store_type: type[LocalBlobStore], pool: RenderPool, tmp_path: Path
) -> None:
    store = store_type(tmp_path)
    await put_original(store)

    [event] = await render(store, pool)

    assert isinstance(event, ThumbnailCreated)
    assert [r.name for r in event.renditions] == ["preview", "thumb"]
    assert event.metadata.orientation == 6
    for rendition in event.renditions:
        assert (await store.stat(rendition.key)) is not None
    if isinstance(store, BytesOnlyStore):
        assert store.reads == 1


@pytest.mark.parametrize("store_type", [FileOnlyStore, BytesOnlyStore])
async def test_a_missing_original_is_rejected_either_way(
    store_type: type[LocalBlobStore], pool: RenderPool, tmp_path: Path
) -> None:
    store = store_type(tmp_path)
    await store.start()

    with pytest.raises(Reject, match="not in the blob store"):
        await render(store, pool)
