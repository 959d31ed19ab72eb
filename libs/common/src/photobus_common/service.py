"""What every photobus process shares: resources as aiohttp cleanup contexts, health
and metrics routes, and a runner with graceful shutdown on SIGTERM.

Each service builds `create_app(settings) -> web.Application`; even the workers without
an HTTP API (thumbnailer, publishers) serve `/healthz`, `/readyz` and `/metrics`.
On SIGTERM aiohttp runs the cleanup contexts in reverse: consumers stop, in-flight
messages finish (or stay unacked and are redelivered), then connections close.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import asyncpg
from aiohttp import web

from photobus_common.blobs import BlobStore, S3BlobStore, open_blob_store
from photobus_common.broker import Broker
from photobus_common.metrics import metrics_handler, metrics_middleware
from photobus_common.settings import CommonSettings
from photobus_common.topology import ConsumerSpec, deployment_specs

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]

BROKER = web.AppKey("broker", Broker)
BLOBS = web.AppKey("blobs", BlobStore)
PG_POOL = web.AppKey("pg_pool", asyncpg.Pool)
READINESS = web.AppKey("readiness", list[tuple[str, ReadinessCheck]])


def blob_store_from(settings: CommonSettings) -> BlobStore:
    """The blob store `PHOTOBUS_BLOB_URL` names (with the S3 endpoint and region)."""
    return open_blob_store(
        settings.blob_url, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region
    )


def broker_from(
    settings: CommonSettings, producer: str, *, topology: Sequence[ConsumerSpec] | None = None
) -> Broker:
    """A broker for `producer`, declaring the deployment's whole topology by default."""
    return Broker(
        url=settings.amqp_url,
        namespace=settings.namespace,
        producer=producer,
        publish_timeout=settings.publish_timeout,
        topology=deployment_specs(settings.publishers) if topology is None else topology,
    )


def new_app(
    *, middlewares: Sequence[object] = (), client_max_size: int = 1024**2
) -> web.Application:
    app = web.Application(
        middlewares=[metrics_middleware, *middlewares],  # type: ignore[list-item]
        client_max_size=client_max_size,
    )
    app[READINESS] = []
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", metrics_handler)
    return app


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    failures: dict[str, str] = {}
    for name, check in request.app[READINESS]:
        try:
            async with asyncio.timeout(3):
                await check()
        except Exception as e:
            failures[name] = str(e) or type(e).__name__
    if failures:
        return web.json_response({"status": "unavailable", "failures": failures}, status=503)
    return web.json_response({"status": "ready"})


def with_broker(app: web.Application, broker: Broker) -> None:
    """Connect at start (retrying until RabbitMQ answers), drain and close at stop."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        await _until_connected(broker)
        app[BROKER] = broker
        yield
        await broker.close()

    async def ready() -> None:
        if not broker.is_ready:
            raise RuntimeError("RabbitMQ connection is down")

    app.cleanup_ctx.append(ctx)
    app[READINESS].append(("broker", ready))


async def _until_connected(broker: Broker, attempts: int = 60) -> None:
    for attempt in range(1, attempts + 1):
        try:
            await broker.connect()
            return
        except Exception as e:  # aiormq raises several unrelated types for "not reachable"
            if attempt == attempts:
                raise
            log.warning("RabbitMQ not reachable (%r); retrying", e)
            await asyncio.sleep(1)


def with_blobs(app: web.Application, blobs: BlobStore, *, create_bucket: bool = False) -> None:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        await blobs.start()
        if create_bucket and isinstance(blobs, S3BlobStore):
            await blobs.create_bucket()
        app[BLOBS] = blobs
        yield
        await blobs.close()

    app.cleanup_ctx.append(ctx)
    app[READINESS].append(("blobs", blobs.check))


def with_pg_pool(
    app: web.Application,
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    setup: Callable[[asyncpg.Pool], Awaitable[None]] | None = None,
) -> None:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        pool = await _pool_until_connected(dsn, min_size=min_size, max_size=max_size)
        if setup is not None:
            await setup(pool)
        app[PG_POOL] = pool
        yield
        await pool.close()

    async def ready() -> None:
        async with app[PG_POOL].acquire() as conn:
            await conn.execute("SELECT 1")

    app.cleanup_ctx.append(ctx)
    app[READINESS].append(("database", ready))


async def _pool_until_connected(
    dsn: str, *, min_size: int, max_size: int, attempts: int = 60
) -> asyncpg.Pool:
    for attempt in range(1, attempts + 1):
        try:
            pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
            assert pool is not None
            return pool
        except (OSError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError) as e:
            if attempt == attempts:
                raise
            log.warning("Postgres not reachable (%s); retrying", e)
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


LOOPBACK = "127.0.0.1"


def listen_host(bind_host: str, *, api_keys_configured: bool) -> str:
    """`bind_host` once API keys guard the routes; 127.0.0.1 until then, whatever was asked."""
    if api_keys_configured:
        return bind_host
    log.warning("no API keys configured: listening on %s only", LOOPBACK)
    if bind_host != LOOPBACK:
        log.warning(
            "PHOTOBUS_BIND_HOST=%s is ignored: set PHOTOBUS_API_KEYS to listen beyond this machine",
            bind_host,
        )
    return LOOPBACK


def run(
    app: web.Application,
    *,
    host: str,
    port: int,
    api_keys_configured: bool = False,
    niceness: int = 0,
    cpu_idle: bool = False,
) -> None:
    """Serve until SIGTERM/SIGINT, then shut down gracefully.

    Without API keys anyone who can reach the port could upload and read every photo,
    so the service then listens on 127.0.0.1 only (see `listen_host`). `niceness` and
    `cpu_idle` lower the process's CPU priority (background services).
    """
    import uvloop

    lower_cpu_priority(niceness, idle=cpu_idle)
    host = listen_host(host, api_keys_configured=api_keys_configured)
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    _exit_if_startup_hangs(app, loop)
    log.info("listening on http://%s:%d", host, port)
    web.run_app(
        app, host=host, port=port, print=None, shutdown_timeout=30, access_log=None, loop=loop
    )


def lower_cpu_priority(niceness: int, *, idle: bool = False) -> None:
    """Run at no better than `niceness` (0-19) and, with `idle`, under Linux's SCHED_IDLE
    policy. A process can lower its priority, never raise it.

    Niceness 19 still takes a share of a busy core (about 1.5% against each task at 0, and
    a woken nice-19 task may run before the busy ones). A SCHED_IDLE thread yields the
    core to any normal one at once, so it runs only on CPU time nothing else wants.
    """
    current = os.nice(0)
    if niceness > current:
        os.nice(niceness - current)
        log.info("running at CPU niceness %d", niceness)
    if idle and hasattr(os, "SCHED_IDLE") and os.sched_getscheduler(0) != os.SCHED_IDLE:
        # The policy is per thread: set it on every thread there is; later ones inherit it.
        try:
            for tid in os.listdir("/proc/self/task"):
                os.sched_setscheduler(int(tid), os.SCHED_IDLE, os.sched_param(0))
        except OSError as e:  # a sandbox that forbids it: niceness alone still holds
            log.warning("could not switch to the SCHED_IDLE CPU policy: %r", e)
        else:
            log.info("running under the SCHED_IDLE CPU policy")


def _exit_if_startup_hangs(app: web.Application, loop: asyncio.AbstractEventLoop) -> None:
    """Exit non-zero if the start (every cleanup context) neither finishes nor fails in
    time, so the process supervisor starts it afresh.

    Seen in the chaos suite: RabbitMQ closing every connection while a service declares
    its topology leaves an aio-pika call waiting forever — a process alive but never
    ready, that no supervisor would restart. The limit (`PHOTOBUS_STARTUP_TIMEOUT`,
    seconds, default 180) is read here, at start, and must exceed the connect retries.
    """
    limit = float(os.environ.get("PHOTOBUS_STARTUP_TIMEOUT", "180"))

    def give_up() -> None:
        log.critical("start did not finish in %.0fs; exiting so the supervisor restarts it", limit)
        logging.shutdown()
        os._exit(3)  # the loop is stuck on a call that never returns: no graceful path

    timer = loop.call_later(limit, give_up)

    async def started(app: web.Application) -> None:
        timer.cancel()

    # After the cleanup contexts: aiohttp runs them as the first on_startup handler.
    app.on_startup.append(started)
