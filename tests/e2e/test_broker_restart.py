"""RabbitMQ stopped and started mid-run: nothing is lost and every consumer comes back.

This test runs its own RabbitMQ node (never the machine's shared one) so it can restart it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.conftest import PIPELINE, create_bucket, pipeline_env
from tests.support import infra
from tests.support.client import CORPUS, upload, wait_job
from tests.support.rabbit_node import RabbitNode
from tests.support.s3 import S3Server
from tests.support.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def rabbit(tmp_path_factory: pytest.TempPathFactory) -> RabbitNode:
    node = RabbitNode.create(Path(tmp_path_factory.mktemp("rabbit")))
    node.start()
    yield node  # type: ignore[misc]
    node.stop()


@pytest.fixture(scope="module")
async def own_pipeline(
    rabbit: RabbitNode, admin_pg_url: str, s3_server: S3Server
) -> AsyncIterator[Stack]:
    namespace = infra.unique("pbrestart")
    db = await infra.create_database(admin_pg_url, infra.unique("photobus_restart"))
    bucket = namespace.replace("_", "-")
    await create_bucket(s3_server, bucket)
    env = pipeline_env(
        amqp_url=rabbit.url,
        database_dsn=db.dsn,
        namespace=namespace,
        blob_url=f"s3://{bucket}",
        s3=s3_server,
    )
    stack = Stack.create("broker_restart", env, PIPELINE)
    try:
        await stack.start()
        yield stack
    finally:
        stack.stop()
        await infra.drop_database(admin_pg_url, db.name)


async def test_rabbitmq_restart_loses_nothing_and_consumers_come_back(
    own_pipeline: Stack, rabbit: RabbitNode
) -> None:
    files = sorted((CORPUS / "orientation").glob("Landscape_*.jpg"))
    async with aiohttp.ClientSession() as http:
        before = await upload(
            http, own_pipeline.url("ingest"), [(f.name, f.read_bytes()) for f in files]
        )
        rabbit.restart()
        # Services reconnect on their own; readiness says so once the broker is back.
        for name in PIPELINE:
            await own_pipeline.wait_ready(name, timeout=60)
        camera = sorted((CORPUS / "camera").glob("*.jpg"))
        after = await upload(
            http, own_pipeline.url("ingest"), [(f.name, f.read_bytes()) for f in camera]
        )
        for reply in (before, after):
            job = await wait_job(http, own_pipeline.url("status"), reply["job_id"], timeout=90)
            assert job["status"] == "completed", job
            assert all(item["thumbnails"] for item in job["items"])
