"""One chaos run: the environment, the client and the scheduler together, then the checker."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from tests.chaos.checker import CheckResult, check, settle
from tests.chaos.environment import ALL_SERVICES, chaos_environment
from tests.chaos.photos import make_photos
from tests.chaos.scheduler import FaultLog, FaultPlanConfig, FaultScheduler
from tests.chaos.summary import summary_table
from tests.chaos.uploader import UploadLog, upload_all


@dataclass
class ChaosConfig:
    photos: int = 300
    seed: int = 1
    faults: FaultPlanConfig = field(default_factory=lambda: FaultPlanConfig(services=ALL_SERVICES))
    concurrency: int = 4
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
    photos = make_photos(config.photos, config.seed)
    async with chaos_environment(config.name) as env:
        scheduler = FaultScheduler(env, config.faults, config.seed)
        faults_task = asyncio.create_task(scheduler.run())
        try:
            uploads = await upload_all(
                lambda: env.stack.url("ingest"),
                photos,
                seed=config.seed,
                concurrency=config.concurrency,
            )
        finally:
            scheduler.uploads_done.set()
        faults = await faults_task
        settled = await settle(env, uploads, timeout=config.settle_timeout)
        result = await check(env, uploads, faults, settled)
    table = summary_table(
        photos=config.photos,
        seed=config.seed,
        uploads=uploads,
        faults=faults,
        result=result,
        seconds=time.monotonic() - started,
    )
    return ChaosReport(uploads, faults, result, table)
