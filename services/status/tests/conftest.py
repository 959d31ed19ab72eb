"""The status service running in-process on the live RabbitMQ and Postgres, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.status.tests.status_harness import RunningStatus, running_status
from tests.support import infra


@pytest.fixture
async def status(
    amqp_url: str, namespace: str, database: infra.TestDatabase, tmp_path: Path
) -> AsyncIterator[RunningStatus]:
    async with running_status(
        amqp_url=amqp_url,
        namespace=namespace,
        dsn=database.dsn,
        blob_dir=tmp_path / "blobs",
        publishers=("imgur", "flickr"),
    ) as running:
        yield running
