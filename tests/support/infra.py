"""The real servers tests run against: RabbitMQ, Postgres and an S3-compatible store.

RabbitMQ and Postgres are used live when reachable (CI and dev machines run them);
otherwise testcontainers starts them when a Docker engine is there; with neither, the
fixture fails and says what to start — never a silent skip. S3 is moto's real HTTP
server, started in-process on a free port.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

import asyncpg
import pytest

AMQP_URL = os.environ.get("PHOTOBUS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
PG_URL = os.environ.get(
    "PHOTOBUS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=2
        ):
            return True
    except OSError:
        return False


def docker_available() -> bool:
    return os.path.exists("/var/run/docker.sock") or bool(os.environ.get("DOCKER_HOST"))


def require(url: str, what: str, how: str) -> None:
    if not reachable(url):
        pytest.fail(
            f"{what} is not reachable at {url} and no Docker engine is available for testcontainers. "
            f"Start it ({how}) or point PHOTOBUS_TEST_{what.upper()}_URL at one.",
            pytrace=False,
        )


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@dataclass
class TestDatabase:
    dsn: str
    name: str


async def create_database(admin_dsn: str, name: str) -> TestDatabase:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    parsed = urlparse(admin_dsn)
    return TestDatabase(dsn=parsed._replace(path=f"/{name}").geturl(), name=name)


async def drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
