"""The running pipeline (ingest, thumbnailer, status as processes) on real RabbitMQ, Postgres and S3."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.support import infra
from tests.support.cleanup import delete_namespace
from tests.support.s3 import S3Server
from tests.support.stack import Stack

PIPELINE = ["ingest", "thumbnailer", "status"]


def pipeline_env(
    *, amqp_url: str, database_dsn: str, namespace: str, blob_url: str, s3: S3Server | None
) -> dict[str, str]:
    env = {
        "PHOTOBUS_AMQP_URL": amqp_url,
        "PHOTOBUS_DATABASE_URL": database_dsn,
        "PHOTOBUS_NAMESPACE": namespace,
        "PHOTOBUS_BLOB_URL": blob_url,
        # Ingest may fetch from the tests' "remote" server on 127.0.0.2; 127.0.0.1 stays blocked.
        "PHOTOBUS_FETCH_ALLOW_NETWORKS": "127.0.0.2/32",
        "PHOTOBUS_WORKERS": "2",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    if s3 is not None:
        env |= {
            "PHOTOBUS_S3_ENDPOINT_URL": s3.endpoint_url,
            "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        }
    return env


async def create_bucket(s3: S3Server, bucket: str) -> None:
    from photobus_common.blobs import S3BlobStore

    store = S3BlobStore(bucket, endpoint_url=s3.endpoint_url)
    await store.start()
    try:
        await store.create_bucket()
    finally:
        await store.close()


@pytest.fixture(scope="module")
async def pipeline(
    amqp_url: str, admin_pg_url: str, s3_server: S3Server, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    """One pipeline per test module, with its own namespace, database and bucket."""
    namespace = infra.unique("pbe2e")
    db = await infra.create_database(admin_pg_url, infra.unique("photobus_e2e"))
    bucket = namespace.replace("_", "-")
    await create_bucket(s3_server, bucket)
    env = pipeline_env(
        amqp_url=amqp_url,
        database_dsn=db.dsn,
        namespace=namespace,
        blob_url=f"s3://{bucket}",
        s3=s3_server,
    )
    stack = Stack.create(request.module.__name__.rsplit(".", 1)[-1], env, PIPELINE)
    try:
        await stack.start()
        yield stack
    finally:
        stack.stop()
        await infra.drop_database(admin_pg_url, db.name)
        await delete_namespace(amqp_url, namespace)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session
