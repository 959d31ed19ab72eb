"""Status under load: events folded per second from a burst, and job reads at 50 connections.

Burst: status is paused (SIGSTOP) while 20,000 events of whole job histories (accepted,
then per photo received, thumbnail created and three publishes) are published to the
exchange, then resumed; the clock runs until Postgres has recorded every one of them
(`processed_events`). Reads: `GET /v1/jobs/{id}` over those jobs with wrk (a light Python
client with 50 connections when wrk is not installed), requests/s and p99, right after
the burst (the first read of each job included). Both share this machine's two cores with
RabbitMQ, Postgres, the load generator and whatever else runs: each phase reports the
load average before and after it.

    uv run python -m bench.status [--events 20000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import aio_pika
import asyncpg
from photobus_common.events import (
    Event,
    ImageMetadata,
    ItemOptions,
    JobAccepted,
    JobItem,
    PhotoReceived,
    PublishSucceeded,
    RenditionInfo,
    ThumbnailCreated,
    dump_event,
)
from photobus_common.topology import routing_key

from bench.harness import cpu_seconds, running_stack
from tests.support.infra import AMQP_URL

DESTINATIONS = ("imgur", "flickr", "gphotos")
PHOTOS_PER_JOB = 4
CONNECTIONS = 50
# Targets (issue 7).
TARGET_EVENTS_PER_S = 3000.0
TARGET_P99_MS = 20.0


def job_history(job: int, photos: int = PHOTOS_PER_JOB) -> list[Event]:
    """One job of `photos` uploads, each received, thumbnailed and published thrice."""
    job_id = f"bench-{job:06d}"
    options = ItemOptions(title="bench", tags=("bench",), destinations=DESTINATIONS)
    items = [
        JobItem(item_id=f"{job_id}-{n}", source="upload", filename=f"{n}.jpg")
        for n in range(photos)
    ]
    events: list[Event] = [
        JobAccepted(
            producer="ingest", job_id=job_id, owner="bench", items=tuple(items), options=options
        )
    ]
    for item in items:
        photo = hashlib.sha256(item.item_id.encode()).hexdigest()
        events.append(
            PhotoReceived(
                producer="ingest", job_id=job_id, owner="bench", item_id=item.item_id,
                photo_id=photo, blob_key=f"originals/{photo}", size=3_000_000,
                content_type="image/jpeg", width=4000, height=3000, filename=item.filename,
                options=options,
            )
        )  # fmt: skip
        renditions = tuple(
            RenditionInfo(
                name=name, key=f"renditions/{photo}/{name}.webp", width=edge, height=edge * 3 // 4,
                format="webp", bytes=edge * 60,
            )
            for name, edge in (("preview", 1440), ("thumb", 256))
        )  # fmt: skip
        events.append(
            ThumbnailCreated(
                producer="thumbnailer", job_id=job_id, photo_id=photo, renditions=renditions,
                metadata=ImageMetadata(width=4000, height=3000),
            )
        )  # fmt: skip
        events += [
            PublishSucceeded(
                producer=f"publisher-{dest}", job_id=job_id, item_id=item.item_id, photo_id=photo,
                destination=dest, remote_id=f"r{photo[:8]}", url=f"https://{dest}.example/{photo[:8]}",
            )
            for dest in DESTINATIONS
        ]  # fmt: skip
    return events


def burst(count: int) -> tuple[list[Event], list[str]]:
    """About `count` events (whole jobs) and the ids of their jobs."""
    per_job = len(job_history(0))
    jobs = max(1, round(count / per_job))
    events = [e for job in range(jobs) for e in job_history(job)]
    return events, [f"bench-{job:06d}" for job in range(jobs)]


async def publish_all(namespace: str, events: list[Event]) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()  # publisher confirms on
        exchange = await channel.get_exchange(f"{namespace}.events")
        for start in range(0, len(events), 500):  # confirmed 500 at a time
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(
                            dump_event(e),
                            message_id=str(e.event_id),
                            content_type="application/json",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            type=e.type,
                        ),
                        routing_key(e),
                    )
                    for e in events[start : start + 500]
                )
            )


async def folded_count(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        count: int = await connection.fetchval("SELECT count(*) FROM processed_events")
        return count
    finally:
        await connection.close()


async def fold_burst(dsn: str, namespace: str, pid: int, events: list[Event]) -> dict[str, object]:
    load0 = os.getloadavg()[0]
    os.kill(pid, signal.SIGSTOP)  # the backlog builds up in RabbitMQ: a true burst
    try:
        await publish_all(namespace, events)
    finally:
        os.kill(pid, signal.SIGCONT)
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        deadline = t0 + 600
        while (await connection.fetchval("SELECT count(*) FROM processed_events")) < len(events):
            if time.perf_counter() > deadline:
                raise TimeoutError("status did not fold the burst within 10 minutes")
            await asyncio.sleep(0.02)  # polling Postgres, with a deadline
    finally:
        await connection.close()
    seconds = time.perf_counter() - t0
    cpu = cpu_seconds(pid) - cpu0
    return {
        "events": len(events),
        "seconds": round(seconds, 2),
        "events_per_s": round(len(events) / seconds),
        "status_cpu_ms_per_1000_events": round(cpu / len(events) * 1e6, 1),
        "load_average_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "target_events_per_s": TARGET_EVENTS_PER_S,
        "met": len(events) / seconds >= TARGET_EVENTS_PER_S,
    }


def wrk_reads(base: str, job_ids: list[str], seconds: int) -> dict[str, float]:
    """wrk at CONNECTIONS connections, each request a job from `job_ids` in turn."""
    ids = ", ".join(f'"{j}"' for j in job_ids)
    script = (
        f"local ids = {{{ids}}}\nlocal n = 0\n"
        "request = function()\n  n = n + 1\n"
        '  return wrk.format("GET", "/v1/jobs/" .. ids[(n % #ids) + 1])\nend\n'
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        command = [
            "wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", lua.name, base,
        ]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        Path(lua.name).unlink()
    wrk_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if rate is None or p99 is None or p50 is None:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed requests:\n{out}")
    requests = float(rate.group(1)) * seconds
    return {
        "requests_per_s": round(float(rate.group(1))),
        "p50_ms": _ms(p50),
        "p99_ms": _ms(p99),
        "generator_cpu_ms_per_request": round(wrk_cpu * 1000 / requests, 3),
    }


def _ms(match: re.Match[str]) -> float:
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return round(float(match.group(1)) * scale, 2)


class _Client(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request in flight: far lighter than an
    aiohttp client, so the generator does not take the server's CPU."""

    def __init__(self, requests: list[bytes], start: int, deadline: float) -> None:
        self.requests, self.n, self.deadline = requests, start, deadline
        self.latencies: list[float] = []
        self.failed = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buffer = b""
        self._sent = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._send()

    def _send(self) -> None:
        self._sent = time.perf_counter()
        if self._sent >= self.deadline:
            self.transport.close()
            return
        self.transport.write(self.requests[self.n % len(self.requests)])  # type: ignore[attr-defined]
        self.n += CONNECTIONS

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        head_end = self._buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self._buffer[:head_end].lower()
        length = int(head.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        if len(self._buffer) < head_end + 4 + length:
            return
        self.latencies.append(time.perf_counter() - self._sent)
        self.failed += not head.startswith(b"http/1.1 200")
        self._buffer = self._buffer[head_end + 4 + length :]
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


def python_reads(base: str, job_ids: list[str], seconds: int) -> dict[str, float]:
    """The same load without wrk: CONNECTIONS raw keep-alive connections on uvloop, in a
    thread of its own; reports its own CPU per request too."""
    import uvloop

    host, port = base.removeprefix("http://").split(":")
    requests = [
        f"GET /v1/jobs/{j} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode() for j in job_ids
    ]

    async def load() -> tuple[list[_Client], float]:
        loop = asyncio.get_running_loop()
        deadline = time.perf_counter() + seconds
        clients = [_Client(requests, n, deadline) for n in range(CONNECTIONS)]
        t0 = time.perf_counter()
        for client in clients:
            await loop.create_connection(lambda c=client: c, host, int(port))  # type: ignore[misc]
        await asyncio.gather(*(c.done for c in clients))
        return clients, time.perf_counter() - t0

    cpu0 = time.thread_time()
    clients, elapsed = uvloop.run(load())
    cpu = time.thread_time() - cpu0
    ordered = sorted(x for c in clients for x in c.latencies)
    failed = sum(c.failed for c in clients)
    if failed:
        raise RuntimeError(f"{failed} failed requests")
    return {
        "requests_per_s": round(len(ordered) / elapsed),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 2),
        "generator_cpu_ms_per_request": round(cpu * 1000 / len(ordered), 3),
    }


async def run_async(events: int, seconds: int) -> dict[str, object]:
    batch, job_ids = burst(events)
    env = {"PHOTOBUS_PUBLISHERS": ",".join(DESTINATIONS)}
    async with running_stack("status", ["status"], env) as stack:
        pid = stack.services["status"].process.pid  # type: ignore[union-attr]
        dsn = stack.env["PHOTOBUS_DATABASE_URL"]
        baseline = await folded_count(dsn)  # events status wrote itself at start, if any
        if baseline:
            raise RuntimeError(f"processed_events is not empty at start ({baseline})")
        result: dict[str, object] = {
            "burst": await fold_burst(dsn, stack.env["PHOTOBUS_NAMESPACE"], pid, batch)
        }
        base = stack.url("status")
        cpu0 = cpu_seconds(pid)
        load0 = os.getloadavg()[0]
        if shutil.which("wrk"):
            reads = await asyncio.to_thread(wrk_reads, base, job_ids, seconds)
            tool = "wrk -t2"
        else:
            reads = await asyncio.to_thread(python_reads, base, job_ids, seconds)
            tool = "python (uvloop, raw HTTP/1.1)"
        cpu = cpu_seconds(pid) - cpu0
        result["get_job"] = {
            "tool": tool,
            # Other work on this machine shares its cores: the figures mean little above ~1.
            "load_average_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
            "connections": CONNECTIONS,
            "jobs": len(job_ids),
            "photos_per_job": PHOTOS_PER_JOB,
            **reads,
            "status_cpu_ms_per_request": round(cpu * 1000 / (reads["requests_per_s"] * seconds), 3),
            "target_p99_ms": TARGET_P99_MS,
            "met": reads["p99_ms"] < TARGET_P99_MS,
        }
    return result


def run(events: int = 20_000, seconds: int = 10) -> dict[str, object]:
    return asyncio.run(run_async(events, seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=10, help="duration of the read load")
    args = parser.parse_args()
    for key, value in run(args.events, args.seconds).items():
        print(f"{key:>10}: {value}")


if __name__ == "__main__":
    main()
