"""Consumes `photo.received` and `thumbnail.requested`. Emits `thumbnail.created` or `thumbnail.failed`.

Renditions are written to the blob store before the event is published, and the
message is acked only after the event is confirmed: a crash at any point means a
redelivery that redoes the same, idempotent, work.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from photobus_common.blobs import (
    BlobNotFound,
    BlobStore,
    BlobStoreUnavailable,
    original_key,
    rendition_key,
)
from photobus_common.broker import Broker, Delivery, PublishError, Reject, RetryLater
from photobus_common.events import (
    Event,
    ImageMetadata,
    PhotoReceived,
    RenditionInfo,
    ThumbnailCreated,
    ThumbnailFailed,
    ThumbnailRequested,
)

from photobus_thumbnailer.imaging import ImagingError, ImagingResult
from photobus_thumbnailer.metrics import THUMBNAIL_SECONDS
from photobus_thumbnailer.pool import RenderPool

log = logging.getLogger(__name__)
PRODUCER = "thumbnailer"


@dataclass
class ThumbnailHandler:
    blobs: BlobStore
    broker: Broker
    pool: RenderPool

    async def __call__(self, event: Event, delivery: Delivery) -> None:
        if not isinstance(event, PhotoReceived | ThumbnailRequested):
            return
        missing = f"original {event.photo_id} is not in the blob store"
        key = original_key(event.photo_id)
        source: bytes | Path | None = self.blobs.local_file(key)  # the worker reads it
        if source is None:
            try:
                source = await self.blobs.get_bytes(key)
            except BlobNotFound as e:
                raise Reject(missing) from e
            except BlobStoreUnavailable as e:
                raise RetryLater(f"blob store unavailable: {e}") from e
        started = time.perf_counter()
        try:
            result = await self.pool.render(source)
        except FileNotFoundError as e:
            raise Reject(missing) from e
        except OSError as e:  # the file is there but cannot be read: the disk, not the photo
            raise RetryLater(f"blob store unavailable: could not read the original: {e}") from e
        except ImagingError as e:
            await self._emit(
                ThumbnailFailed(
                    producer=PRODUCER,
                    job_id=event.job_id,
                    photo_id=event.photo_id,
                    reason=e.reason,
                    detail=e.detail,
                )
            )
            return
        except BrokenProcessPool as e:
            raise RetryLater("a decoding process died") from e
        finally:
            del source
        THUMBNAIL_SECONDS.observe(time.perf_counter() - started)
        renditions = await self._store(event.photo_id, result)
        await self._emit(
            ThumbnailCreated(
                producer=PRODUCER,
                job_id=event.job_id,
                photo_id=event.photo_id,
                renditions=renditions,
                metadata=ImageMetadata(**vars(result.metadata)),
            )
        )

    async def _store(self, photo_id: str, result: ImagingResult) -> tuple[RenditionInfo, ...]:
        infos = []
        for r in result.renditions:
            key = rendition_key(photo_id, r.name, r.format)
            try:
                await self.blobs.put_bytes(key, r.data, content_type=f"image/{r.format}")
            except BlobStoreUnavailable as e:
                raise RetryLater(f"blob store unavailable: {e}") from e
            infos.append(
                RenditionInfo(
                    name=r.name,
                    key=key,
                    width=r.width,
                    height=r.height,
                    format=r.format,
                    bytes=len(r.data),
                )
            )
        return tuple(infos)

    async def _emit(self, event: ThumbnailCreated | ThumbnailFailed) -> None:
        try:
            await self.broker.publish(event)
        except PublishError as e:
            raise RetryLater(f"could not publish {event.type}: {e}") from e
