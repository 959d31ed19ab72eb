"""End to end: N × 12 MP photos from the first byte sent to all thumbnails ready.

Each photo is its own upload; arrival of its `thumbnail.created` event (read from a
queue of the benchmark's own, bound to the exchange) marks it ready. Reports photos/s,
latency percentiles, and CPU seconds per photo for each service.

    uv run python -m bench.pipeline [--photos 200] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import time

import aio_pika
import aiohttp

from bench.harness import cpu_seconds_tree, running_stack
from bench.images import IMAGES, jpeg
from photobus_common.events import ThumbnailCreated, parse_event
from tests.support.client import form_with_files
from tests.support.infra import AMQP_URL

SERVICES = ["ingest", "thumbnailer", "status"]


def distinct_photos(count: int) -> list[bytes]:
    """`count` different files of the same 12 MP photo: a JPEG comment makes each unique."""
    base = jpeg(next(i for i in IMAGES if i.name == "12mp"))
    photos = []
    for n in range(count):
        comment = f"photobus bench {n}".encode()
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        photos.append(base[:2] + segment + base[2:])
    return photos


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def run_async(photos: int, concurrency: int) -> dict[str, object]:
    files = distinct_photos(photos)
    ids = [hashlib.sha256(f).hexdigest() for f in files]
    async with running_stack("pipeline", SERVICES) as stack:
        ready: dict[str, float] = {}
        done = asyncio.Event()
        connection = await aio_pika.connect(AMQP_URL)
        channel = await connection.channel()
        exchange = await channel.get_exchange(f"{stack.env['PHOTOBUS_NAMESPACE']}.events")
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, "thumbnail.*")

        async def on_event(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            event = parse_event(message.body)
            if isinstance(event, ThumbnailCreated):
                ready.setdefault(event.photo_id, time.perf_counter())
            if len(ready) >= photos:
                done.set()
            await message.ack()

        await queue.consume(on_event)
        pids = {name: stack.services[name].process.pid for name in SERVICES}  # type: ignore[union-attr]
        cpu_before = {name: cpu_seconds_tree(pid) for name, pid in pids.items()}
        started: dict[str, float] = {}
        limiter = asyncio.Semaphore(concurrency)
        async with aiohttp.ClientSession() as http:

            async def send(n: int) -> None:
                async with limiter:
                    started[ids[n]] = time.perf_counter()
                    form = form_with_files([(f"bench_{n}.jpg", files[n])])
                    async with http.post(f"{stack.url('ingest')}/v1/jobs", data=form) as r:
                        assert r.status == 202, await r.text()

            t0 = time.perf_counter()
            await asyncio.gather(*(send(n) for n in range(photos)))
            await asyncio.wait_for(done.wait(), timeout=600)
            elapsed = time.perf_counter() - t0
        cpu = {name: (cpu_seconds_tree(pid) - cpu_before[name]) / photos for name, pid in pids.items()}
        await connection.close()
    latencies = [ready[i] - started[i] for i in ids]
    return {
        "photos": photos,
        "megapixels": 12,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "photos_per_s": round(photos / elapsed, 2),
        "latency_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "latency_p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "latency_mean_ms": round(statistics.mean(latencies) * 1000, 1),
        "cpu_s_per_photo": {k: round(v, 4) for k, v in cpu.items()},
    }


def run(photos: int = 200, concurrency: int = 4) -> dict[str, object]:
    return asyncio.run(run_async(photos, concurrency))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    result = run(args.photos, args.concurrency)
    for key, value in result.items():
        print(f"{key:>18}: {value}")


if __name__ == "__main__":
    main()
