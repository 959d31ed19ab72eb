"""Everything the chaos suite runs on, all its own: a RabbitMQ node, a PostgreSQL
cluster, an S3 server (moto), the fake destinations, and every photobus service as a
process. Torn down in reverse; only what it started is ever stopped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.conftest import create_bucket, pipeline_env
from tests.fakes.credentials import publisher_env
from tests.fakes.process import fakes_process
from tests.support.pg_cluster import PgCluster
from tests.support.rabbit_node import RabbitNode
from tests.support.s3 import S3Server, start_s3_server
from tests.support.stack import Service, Stack

PIPELINE = ["ingest", "thumbnailer", "status"]
DESTINATIONS = ("imgur", "flickr", "gphotos")
PUBLISHERS = [f"publisher-{d}" for d in DESTINATIONS]
ALL_SERVICES = [*PIPELINE, *PUBLISHERS]

# Short retry tiers, breaker and timeouts, so a run settles in minutes, not hours.
CHAOS_TUNING = {
    "PHOTOBUS_PUBLISH_RETRY_DELAYS": "1,2,4,8,15",
    "PHOTOBUS_BREAKER_COOL_DOWN": "3",
    "PHOTOBUS_DESTINATION_TIMEOUT": "8",
    "PHOTOBUS_PUBLISH_TIMEOUT": "5",
    "PHOTOBUS_LOG_LEVEL": "INFO",
    # A start stuck on a closed connection exits (photobus_common.service) and is restarted.
    "PHOTOBUS_STARTUP_TIMEOUT": "60",
}


# PHOTOBUS_PUBLISHERS is read as a comma list by status but as JSON by ingest and the
# thumbnailer (pydantic-settings' default for tuples), so each gets the form it parses.
PUBLISHERS_SETTING = {
    "status": {"PHOTOBUS_PUBLISHERS": ",".join(DESTINATIONS)},
    "ingest": {"PHOTOBUS_PUBLISHERS": json.dumps(list(DESTINATIONS))},
    "thumbnailer": {"PHOTOBUS_PUBLISHERS": json.dumps(list(DESTINATIONS))},
}


@dataclass
class ChaosStack(Stack):
    """A Stack whose services may each add variables of their own."""

    per_service: dict[str, dict[str, str]] = field(default_factory=dict)
    # Held while the scheduler kills and starts a service, so the supervisor keeps off it.
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    supervisor_restarts: dict[str, int] = field(default_factory=dict)

    def lock(self, name: str) -> asyncio.Lock:
        return self.locks.setdefault(name, asyncio.Lock())

    def respawn(self, name: str) -> None:
        """Start a service again without waiting for it to be ready."""
        self.services[name].restarts += 1
        self._spawn(self.services[name])

    async def all_ready(self, timeout: float) -> list[str]:
        """Wait for every service to be ready; the problems of those that are not."""
        problems: list[str] = []
        for name in self.services:
            try:
                await self.wait_ready(name, timeout=timeout)
            except (RuntimeError, TimeoutError) as e:
                problems.append(f"{name} is not ready after the faults: {str(e)[:500]}")
        return problems

    async def supervise(self) -> None:
        """Start again any service that exited on its own, as a process supervisor
        (systemd, Kubernetes) would: a service may exit when it cannot recover."""
        while True:
            for name, service in self.services.items():
                lock = self.lock(name)
                if service.process is None or service.process.poll() is None or lock.locked():
                    continue
                async with lock:
                    self.supervisor_restarts[name] = self.supervisor_restarts.get(name, 0) + 1
                    self._spawn(service)
            await asyncio.sleep(0.5)  # a supervisor's polling interval

    def _spawn(self, service: Service) -> None:
        shared = self.env
        self.env = {**shared, **self.per_service.get(service.name, {})}
        try:
            super()._spawn(service)
        finally:
            self.env = shared


@dataclass
class ChaosEnvironment:
    workdir: Path
    rabbit: RabbitNode
    pg: PgCluster
    s3: S3Server
    fakes: dict[str, str]  # destination -> fake's base URL
    stack: ChaosStack
    namespace: str
    bucket: str


@asynccontextmanager
async def chaos_environment(
    name: str, services: list[str] = ALL_SERVICES
) -> AsyncIterator[ChaosEnvironment]:
    workdir = Path(tempfile.mkdtemp(prefix=f"photobus-{name}-"))
    workdir.chmod(0o755)  # PgCluster's server runs as the postgres user when we are root
    namespace = f"chaos{uuid.uuid4().hex[:8]}"
    bucket = f"chaos-{uuid.uuid4().hex[:8]}"
    async with AsyncExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, workdir, True)
        rabbit = RabbitNode.create(workdir / "rabbit")
        cleanup.callback(rabbit.stop)
        # RabbitMQ takes the longest to boot: everything else, the services' start
        # included (they retry until the broker answers), happens meanwhile.
        rabbit_started = asyncio.create_task(asyncio.to_thread(rabbit.start))
        cleanup.push_async_callback(_cancel, rabbit_started)
        pg = PgCluster.create(workdir / "pg")
        cleanup.callback(pg.remove)
        await asyncio.to_thread(pg.start)
        s3 = start_s3_server()
        cleanup.callback(s3.stop)
        await create_bucket(s3, bucket)
        fakes = await cleanup.enter_async_context(fakes_process(workdir / "fakes.json"))
        env = pipeline_env(
            amqp_url=rabbit.url,
            database_dsn=pg.dsn("photobus"),
            namespace=namespace,
            blob_url=f"s3://{bucket}",
            s3=s3,
        )
        env |= publisher_env(fakes) | CHAOS_TUNING
        stack = ChaosStack.create(name, env, services)
        assert isinstance(stack, ChaosStack)
        stack.per_service = PUBLISHERS_SETTING
        for service in stack.services.values():
            service.log_path.unlink(missing_ok=True)  # the checker reads this run's logs only
        cleanup.callback(stack.stop)
        starting = asyncio.create_task(stack.start(timeout=120))
        await rabbit_started
        await starting
        supervisor = asyncio.create_task(stack.supervise())
        cleanup.push_async_callback(_cancel, supervisor)
        yield ChaosEnvironment(workdir, rabbit, pg, s3, fakes, stack, namespace, bucket)


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
