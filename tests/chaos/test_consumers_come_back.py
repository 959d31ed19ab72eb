"""Consumers come back: after each of 10 consecutive restarts of the suite's own RabbitMQ
node, every service is consuming again within 10 s (its queue's consumer count, read by
a passive declare), or its process exited so its supervisor started it again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from tests.chaos.broker_admin import passive_queue_states
from tests.chaos.environment import ALL_SERVICES, ChaosEnvironment, chaos_environment

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.chaos, pytest.mark.timeout(900)]

RESTARTS = 10
COME_BACK_SECONDS = 10.0
# Each service's main queue: where its consumer must reappear.
QUEUE_OF = {
    "ingest": "ingest-fetch",
    "thumbnailer": "thumbnailer",
    "status": "status",
    **{p: p for p in ALL_SERVICES if p.startswith("publisher-")},
}


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[ChaosEnvironment]:
    async with chaos_environment("consumers_come_back") as environment:
        yield environment


async def consumers_back(
    env: ChaosEnvironment, exits_before: dict[str, int], *, within: float
) -> dict[str, str]:
    """Poll until every service consumes (or exited and was restarted); returns what is still missing."""
    names = {service: f"{env.namespace}.{queue}" for service, queue in QUEUE_OF.items()}
    deadline = time.monotonic() + within
    missing: dict[str, str] = {}
    while True:
        try:
            states = await passive_queue_states(env.rabbit.url, list(names.values()))
        except Exception as e:  # the node may still be finishing its boot
            states = {}
            reason = repr(e)
        else:
            reason = "no consumer"
        missing = {}
        for service, queue in names.items():
            exited = env.stack.supervisor_restarts.get(service, 0) > exits_before.get(service, 0)
            state = states.get(queue)
            if not exited and (state is None or state.consumers < 1):
                missing[service] = reason if state is None else "no consumer"
        if not missing or time.monotonic() > deadline:
            return missing
        await asyncio.sleep(0.25)


async def test_every_service_consumes_again_after_each_rabbitmq_restart(
    env: ChaosEnvironment,
) -> None:
    assert await consumers_back(env, {}, within=30) == {}
    report: list[str] = []
    for restart in range(1, RESTARTS + 1):
        exits_before = dict(env.stack.supervisor_restarts)
        # An orderly restart (SIGTERM): see rabbit_node.py for why not SIGKILL on 3.10.
        await asyncio.to_thread(env.rabbit.restart)
        started = time.monotonic()
        missing = await consumers_back(env, exits_before, within=COME_BACK_SECONDS)
        report.append(
            f"restart {restart}: {time.monotonic() - started:.1f}s, missing {missing or 'none'}"
        )
        assert not missing, "\n".join(report)
    print("\n".join(report))  # the come-back time of each restart, for the record
    # Services that exited were started again by the supervisor: they must consume too.
    assert await consumers_back(env, {}, within=60) == {}, env.stack.supervisor_restarts
