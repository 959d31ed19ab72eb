"""The chaos suite's short form, run by `make test`: a couple of dozen photos while a
few faults of each family hit (a thumbnailer and a publisher SIGKILLed, RabbitMQ's
connections closed, Postgres stopped immediately, destinations answering 429/5xx).
The full run is `make chaos` (python -m tests.chaos --photos 300)."""

from __future__ import annotations

import pytest

from tests.chaos.environment import ALL_SERVICES
from tests.chaos.run import ChaosConfig, run_chaos
from tests.chaos.scheduler import DEST_5XX, DEST_429, PG_RESTART, RABBIT_CLOSE, FaultPlanConfig

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

SHORT = ChaosConfig(
    photos=24,
    seed=20261123,
    faults=FaultPlanConfig(
        services=["thumbnailer", "publisher-imgur", "ingest"],
        infra=[RABBIT_CLOSE, PG_RESTART],
        destinations=["flickr", "gphotos"],
        destination_faults=[DEST_429, DEST_5XX],
        gap=(1.0, 3.0),
        repeat=False,
    ),
    concurrency=3,
    spacing=1.5,
    settle_timeout=120.0,
    name="chaos_short",
)


async def test_short_chaos_run_loses_nothing_and_duplicates_nothing() -> None:
    assert set(SHORT.faults.services) <= set(ALL_SERVICES)
    report = await run_chaos(SHORT)
    print(report.table)
    assert report.ok, report.table
    assert len(report.uploads.accepted) == SHORT.photos, report.table
    assert report.result.terminal_states.total() == len(report.uploads.jobs), report.table
    assert len(report.faults.injected) >= 7, report.table
