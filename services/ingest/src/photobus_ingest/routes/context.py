"""What the request handlers share, wired once by `create_app`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from photobus_common.blobs import BlobStore
from photobus_common.broker import Broker, PublishError
from photobus_common.events import Event

from photobus_ingest.config import IngestSettings


@dataclass
class Ingest:
    settings: IngestSettings
    blobs: BlobStore
    broker: Broker
    spool_dir: Path
    # Set once the whole topology is declared: publishing earlier could reach some
    # consumers' queues and not others.
    broker_connected: bool = False

    async def publish(self, *events: Event) -> None:
        """Publish and wait for RabbitMQ's confirms; PublishError if any is missing."""
        if not self.broker_connected:
            raise PublishError("not connected to RabbitMQ yet")
        await self.broker.publish(*events)


INGEST = web.AppKey("ingest", Ingest)
