"""Fixtures every test tree shares: the real RabbitMQ, Postgres and S3 servers, isolated per run."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support import infra
from tests.support.cleanup import delete_namespace
from tests.support.s3 import S3Server, start_s3_server

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="session")
def amqp_url() -> str:
    if not infra.reachable(infra.AMQP_URL) and infra.docker_available():
        from testcontainers.rabbitmq import RabbitMqContainer  # pragma: no cover

        container = RabbitMqContainer("rabbitmq:3.13-management").start()  # pragma: no cover
        return f"amqp://guest:guest@{container.get_container_host_ip()}:{container.get_exposed_port(5672)}/"
    infra.require(infra.AMQP_URL, "amqp", "rabbitmq-server -detached")
    return infra.AMQP_URL


@pytest.fixture(scope="session")
def admin_pg_url() -> str:
    if not infra.reachable(infra.PG_URL) and infra.docker_available():
        from testcontainers.postgres import PostgresContainer  # pragma: no cover

        container = PostgresContainer("postgres:16", driver=None).start()  # pragma: no cover
        return container.get_connection_url()  # pragma: no cover
    infra.require(
        infra.PG_URL,
        "database",
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    )
    return infra.PG_URL


@pytest.fixture
async def namespace(amqp_url: str) -> AsyncIterator[str]:
    """A namespace of exchange and queue names no other test shares, removed afterwards."""
    ns = infra.unique("pbtest")
    yield ns
    await delete_namespace(amqp_url, ns)


@pytest.fixture
async def database(admin_pg_url: str) -> AsyncIterator[infra.TestDatabase]:
    db = await infra.create_database(admin_pg_url, infra.unique("photobus_test"))
    yield db
    await infra.drop_database(admin_pg_url, db.name)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = start_s3_server()
    yield server
    server.stop()
