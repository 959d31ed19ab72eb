"""The checker: once the faults stop and the pipeline settles, every guarantee is
checked against what the client was told, the blob store, the fakes, the broker and
the services' own logs."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from photobus_common.blobs import S3BlobStore

from tests.chaos.broker_admin import QueueState, list_queues
from tests.chaos.environment import ChaosEnvironment
from tests.chaos.scheduler import FaultLog
from tests.chaos.uploader import UploadLog
from tests.fakes.control import FakeControl
from tests.support.client import TERMINAL

# A crash "hit an upload in flight" when the publisher was killed between the first
# time the destination stored the photo (less this, the longest an upload request may
# have been open before it was stored) and the last time.
UPLOAD_OPEN_SLACK = 30.0


@dataclass
class Settled:
    jobs: dict[str, dict[str, Any]]  # job_id -> the job view
    queues: list[QueueState]
    seconds: float


@dataclass
class CheckResult:
    failures: list[str] = field(default_factory=list)
    terminal_states: Counter[str] = field(default_factory=Counter)
    item_states: Counter[str] = field(default_factory=Counter)
    uploads_per_destination: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)  # extra copies per destination
    duplicates_allowed: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    supervisor_restarts: dict[str, int] = field(
        default_factory=dict
    )  # services that exited on their own
    settle_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


async def fetch_jobs(status_url: str, job_ids: set[str]) -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:

        async def one(job_id: str) -> None:
            try:
                async with http.get(f"{status_url}/v1/jobs/{job_id}") as r:
                    if r.status == 200:
                        jobs[job_id] = await r.json()
            except (aiohttp.ClientError, TimeoutError):
                return  # status may be restarting; the caller polls again

        limit = asyncio.Semaphore(16)

        async def bounded(job_id: str) -> None:
            async with limit:
                await one(job_id)

        await asyncio.gather(*(bounded(j) for j in job_ids))
    return jobs


async def settle(env: ChaosEnvironment, uploads: UploadLog, *, timeout: float) -> Settled:
    """Poll (with a deadline) until every accepted job is terminal and no queue holds a message."""
    started = time.monotonic()
    deadline = started + timeout
    jobs: dict[str, dict[str, Any]] = {}
    queues: list[QueueState] = []
    while True:
        jobs = await fetch_jobs(env.stack.url("status"), uploads.jobs)
        terminal = len(jobs) == len(uploads.jobs) and all(
            j["status"] in TERMINAL for j in jobs.values()
        )
        if terminal:
            queues = await list_queues(env.rabbit, env.namespace)
            if all(q.messages == 0 for q in queues):
                return Settled(jobs, queues, time.monotonic() - started)
        if time.monotonic() > deadline:
            queues = queues or await list_queues(env.rabbit, env.namespace)
            return Settled(jobs, queues, time.monotonic() - started)
        await asyncio.sleep(2.0)  # polling interval, bounded by the deadline above


async def check(
    env: ChaosEnvironment, uploads: UploadLog, faults: FaultLog, settled: Settled
) -> CheckResult:
    result = CheckResult(
        settle_seconds=settled.seconds, supervisor_restarts=dict(env.stack.supervisor_restarts)
    )
    result.failures += uploads.failures
    result.failures += faults.problems
    _check_jobs(uploads, settled, result)
    await _check_originals(env, uploads, result)
    await _check_destinations(env, faults, result)
    _check_queues(settled, result)
    await _check_dead_letters(env, result)
    return result


def _check_jobs(uploads: UploadLog, settled: Settled, result: CheckResult) -> None:
    for job_id in sorted(uploads.jobs):
        job = settled.jobs.get(job_id)
        if job is None:
            result.failures.append(f"job {job_id} (answered 202) is not in the job view")
            continue
        result.terminal_states[job["status"]] += 1
        if job["status"] not in TERMINAL:
            result.failures.append(f"job {job_id} is not terminal: {job['status']}")
    for item in uploads.accepted:
        job = settled.jobs.get(item.job_id)
        if job is None:
            continue
        views = {i["item_id"]: i for i in job["items"]}
        view = views.get(item.item_id)
        if view is None:
            result.failures.append(
                f"item {item.item_id} of job {item.job_id} is missing from the job view"
            )
            continue
        result.item_states[view["state"]] += 1
        if view.get("photo_id") != item.photo_id:
            result.failures.append(
                f"item {item.item_id}: photo_id {view.get('photo_id')} != {item.photo_id}"
            )


async def _check_originals(env: ChaosEnvironment, uploads: UploadLog, result: CheckResult) -> None:
    store = S3BlobStore(env.bucket, endpoint_url=env.s3.endpoint_url)
    await store.start()
    try:
        for photo_id in sorted({i.photo_id for i in uploads.accepted}):
            try:
                data = await store.get_bytes(f"originals/{photo_id}")
            except Exception as e:  # any failure to read it is the finding
                result.failures.append(f"original {photo_id} unreadable: {e!r}")
                continue
            if hashlib.sha256(data).hexdigest() != photo_id:
                result.failures.append(f"original {photo_id} does not match its SHA-256")
    finally:
        await store.close()


@dataclass(frozen=True)
class Duplicates:
    extra: int  # copies beyond the first, over every photo
    allowed: int  # of those, the ones a crash in flight explains
    findings: list[str]


def count_duplicates(stored_at: dict[str, list[float]], kills: list[float]) -> Duplicates:
    """`stored_at`: sha256 -> when the destination stored each copy; `kills`: when its
    publisher was SIGKILLed. A photo may have one extra copy per kill in its window."""
    extra = allowed_total = 0
    findings: list[str] = []
    for sha, times in sorted(stored_at.items()):
        copies = len(times) - 1
        if copies == 0:
            continue
        low, high = min(times) - UPLOAD_OPEN_SLACK, max(times)
        allowed = sum(1 for k in kills if low <= k <= high)
        extra += copies
        allowed_total += min(copies, allowed)
        if copies > allowed:
            findings.append(f"received {sha[:12]} {copies + 1} times; crashes in flight: {allowed}")
    return Duplicates(extra, allowed_total, findings)


async def _check_destinations(env: ChaosEnvironment, faults: FaultLog, result: CheckResult) -> None:
    for destination, url in sorted(env.fakes.items()):
        records = await FakeControl(url).uploads()
        result.uploads_per_destination[destination] = len(records)
        stored_at: dict[str, list[float]] = {}
        for record in records:
            stored_at.setdefault(record.sha256, []).append(record.time)
        duplicates = count_duplicates(stored_at, faults.kills_of(f"publisher-{destination}"))
        result.duplicates[destination] = duplicates.extra
        result.duplicates_allowed[destination] = duplicates.allowed
        result.failures += [f"{destination} {finding}" for finding in duplicates.findings]


def _check_queues(settled: Settled, result: CheckResult) -> None:
    for queue in settled.queues:
        if queue.messages:
            result.failures.append(f"queue {queue.name} still holds {queue.messages} messages")


def dead_letter_lines(log_dir: Path) -> list[dict[str, Any]]:
    """The broker helper's "dead-lettering message <id> from <service>: <reason>" lines."""
    lines: list[dict[str, Any]] = []
    for path in sorted(log_dir.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if "dead-lettering message" not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and str(record.get("message", "")).startswith(
                "dead-lettering message"
            ):
                lines.append(record)
    return lines


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


async def _check_dead_letters(env: ChaosEnvironment, result: CheckResult) -> None:
    log_dir = next(iter(env.stack.services.values())).log_path.parent
    letters = dead_letter_lines(log_dir)
    result.dead_letters = len(letters)
    by_job: dict[str, list[str]] = {}
    for record in letters:
        reason = str(record["message"]).split(": ", 1)[-1]
        job_id = record.get("job_id")
        if not job_id:
            result.failures.append(f"dead letter without a job: {record['message']}")
            continue
        by_job.setdefault(str(job_id), []).append(reason)
    jobs = await fetch_jobs(env.stack.url("status"), set(by_job))
    for job_id, reasons in sorted(by_job.items()):
        job = jobs.get(job_id)
        if job is None:
            result.failures.append(
                f"dead letter(s) of job {job_id} but the job is not in the view: {reasons}"
            )
            continue
        shown = _strings(job)
        for reason in reasons:
            if not any(reason[:120] in s for s in shown):
                result.failures.append(f"job {job_id} does not show its dead letter: {reason}")
