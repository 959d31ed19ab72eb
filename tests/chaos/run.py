"""One chaos run: the environment, the client and the scheduler together, then the checker."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from tests.chaos.checker import CheckResult, check, settle
from tests.chaos.environment import ALL_SERVICES, chaos_environment
from tests.chaos.photos import make_photos
from tests.chaos.scheduler import FaultLog, FaultPlanConfig, FaultScheduler
from tests.chaos.summary import summary_table
from tests.chaos.uploader import UploadLog, upload_all

log = logging.getLogger("chaos")


@dataclass
class ChaosConfig:
    photos: int = 300
    seed: int = 1
    faults: FaultPlanConfig = field(default_factory=lambda: FaultPlanConfig(services=ALL_SERVICES))
    concurrency: int = 4
    spacing: float = 0.5  # seconds between the starts of two upload batches
    settle_timeout: float = 300.0
    name: str = "chaos"


@dataclass
class ChaosReport:
    uploads: UploadLog
    faults: FaultLog
    result: CheckResult
    table: str

    @property
    def ok(self) -> bool:
        return self.result.ok


async def run_chaos(config: ChaosConfig) -> ChaosReport:
    started = time.monotonic()
    phases: dict[str, float] = {}

    def phase(name: str) -> None:
        phases[name] = time.monotonic() - started - sum(phases.values())
        log.info("chaos: %s in %.1fs", name, phases[name])

    photos = make_photos(config.photos, config.seed)
    async with chaos_environment(config.name) as env:
        phase("environment up")
        scheduler = FaultScheduler(env, config.faults, config.seed)
        faults_task = asyncio.create_task(scheduler.run())
        try:
            uploads = await upload_all(
                lambda: env.stack.url("ingest"),
                photos,
                seed=config.seed,
                concurrency=config.concurrency,
                spacing=config.spacing,
            )
        finally:
            scheduler.uploads_done.set()
        faults = await faults_task
        phase("uploads and faults")
        faults.problems += await env.stack.all_ready(timeout=120)
        settled = await settle(env, uploads, timeout=config.settle_timeout)
        phase("settling")
        result = await check(env, uploads, faults, settled)
        phase("checks")
    table = summary_table(
        photos=config.photos,
        seed=config.seed,
        uploads=uploads,
        faults=faults,
        result=result,
        seconds=time.monotonic() - started,
        phases=phases,
    )
    return ChaosReport(uploads, faults, result, table)
