"""End to end: N × 12 MP photos from the first byte sent to all thumbnails ready and all
three fake destinations published; and the thumbnailer alone, in the same run, for scale.

Three phases, each on photos not seen before:
  thumbnailer alone  only the thumbnailer runs; N `photo.received` events (originals
                     already in the blob store) are published at once: its throughput;
                     run before the full stack and again after it, their mean taken
  full               ingest, thumbnailer, status and the three publishers against the
                     fakes (bench/fakes.py); N uploads, `concurrency` at a time
  paced              the same stack offered uploads at 75% of the thumbnailer-alone
                     rate (the run before), each started on schedule whatever the
                     others are doing
Each upload's `thumbnail.created` and `publish.succeeded` events (read from a queue of
the benchmark's own, bound to the exchange) mark it ready and published. Reports
photos/s, latency percentiles from upload start, and CPU seconds per photo per service.

Everything shares this machine's cores, the fakes included. The fakes stand in for
Imgur, Flickr and Google, whose CPU is not ours: they run at niceness 19 under
SCHED_IDLE, as the publishers do by default (PHOTOBUS_PUBLISHER_NICE,
PHOTOBUS_PUBLISHER_CPU_IDLE), so both take only the CPU left over. The throughput
target is read at thumbnails-ready, what the user waits on; all-published is reported
beside it, as a fraction of the same alone rate. CPU per photo is reported both up to
thumbnails-ready (what competed with the thumbnailer) and up to all-published.

The bench client is kept light, as it shares the cores too: it runs on uvloop, each
upload's multipart body and photo id are made before the clock starts, and the event
tap takes its messages without acknowledgements.

    uv run python -m bench.pipeline [--photos 200] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import aiohttp
import uvloop
from photobus_common.blobs import open_blob_store, original_key
from photobus_common.events import (
    ItemOptions,
    PhotoReceived,
    PublishFailed,
    PublishSucceeded,
    ThumbnailCreated,
    ThumbnailFailed,
    dump_event,
    parse_event,
)
from photobus_common.topology import routing_key

from bench.fakes import fakes_process
from bench.harness import (
    MachineCpu,
    cpu_seconds,
    cpu_seconds_tree,
    running_stack,
    server_pids,
)
from bench.images import IMAGES, jpeg
from tests.fakes.credentials import publisher_env
from tests.support.infra import AMQP_URL
from tests.support.stack import Stack

DESTINATIONS = ("imgur", "flickr", "gphotos")
PUBLISHERS = [f"publisher-{d}" for d in DESTINATIONS]
SERVICES = ["ingest", "thumbnailer", "status", *PUBLISHERS]
WARM_UP = 4  # photos through each stack first: worker pools and connections started
WAIT_SECONDS = 900.0  # for a phase's last photo, before giving up
PACE = 0.75  # of the thumbnailer-alone rate
FAKES_NICE = 19  # remote services' CPU is not ours: the fakes take only what is left over,
FAKES_IDLE = True  # at niceness 19 and under SCHED_IDLE
BOUNDARY = "photobusbenchboundary"
# Targets (issue 7).
TARGET_FRACTION_OF_ALONE = 0.8
TARGET_PACED_P95_MS = 500.0


def distinct_photos(count: int, first: int = 0) -> list[bytes]:
    """`count` different files of the same 12 MP photo: a JPEG comment makes each unique."""
    base = jpeg(next(i for i in IMAGES if i.name == "12mp"))
    photos = []
    for n in range(first, first + count):
        comment = f"photobus bench {n}".encode()
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        photos.append(base[:2] + segment + base[2:])
    return photos


def photo_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Upload:
    """One photo's request body, made before the clock starts, and the id it will get."""

    photo_id: str
    body: bytes


def uploads(files: list[bytes]) -> list[Upload]:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bench.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    return [Upload(photo_id(f), head + f + tail) for f in files]


class Timeline(dict[str, float]):
    """When each upload started (the mapping), and when its 202 came (`accepted`)."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: dict[str, float] = {}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass
class Tracker:
    """When each photo's thumbnails were ready and when its last destination published."""

    destinations: int
    ready: dict[str, float] = field(default_factory=dict)
    published: dict[str, set[str]] = field(default_factory=dict)
    all_published: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        event = parse_event(message.body)  # taken with no_ack: nothing to acknowledge
        now = time.perf_counter()
        if isinstance(event, ThumbnailCreated):
            self.ready.setdefault(event.photo_id, now)
        elif isinstance(event, PublishSucceeded):
            done = self.published.setdefault(event.photo_id, set())
            done.add(event.destination)
            if len(done) == self.destinations:
                self.all_published.setdefault(event.photo_id, now)
        elif isinstance(event, ThumbnailFailed | PublishFailed):
            self.failures.append(f"{event.type} {event.photo_id[:12]}: {event.reason}")
        self.changed.set()

    async def wait(self, ids: Iterable[str], *, published: bool) -> None:
        wanted = set(ids)
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                seen = self.all_published if published else self.ready
                if wanted <= seen.keys():
                    return
                if self.failures:
                    raise RuntimeError(f"photos failed: {self.failures[:5]}")
                self.changed.clear()
                await self.changed.wait()


async def capture(namespace: str, tracker: Tracker) -> aio_pika.abc.AbstractRobustConnection:
    connection = await aio_pika.connect_robust(AMQP_URL)
    channel = await connection.channel()
    exchange = await channel.get_exchange(f"{namespace}.events")
    queue = await channel.declare_queue(exclusive=True)
    for key in ("thumbnail.*", "publish.succeeded", "publish.failed"):
        await queue.bind(exchange, key)
    await queue.consume(tracker.on_message, no_ack=True)
    return connection


BENCH = "bench client"  # this process: the uploads and the event tap, not its children


def cpu_by_service(pids: dict[str, int]) -> dict[str, float]:
    return {
        name: cpu_seconds(pid) if name == BENCH else cpu_seconds_tree(pid)
        for name, pid in pids.items()
    }


def cpu_per_photo(before: dict[str, float], pids: dict[str, int], photos: int) -> dict[str, float]:
    after = cpu_by_service(pids)
    return {name: round((after[name] - before[name]) / photos, 4) for name in pids}


async def thumbnailer_alone(photos: int, first: int) -> dict[str, object]:
    """Throughput of the thumbnailer by itself, fed `photo.received` for stored originals."""
    files = distinct_photos(WARM_UP + photos, first=first)
    async with running_stack("thumbs-alone", ["thumbnailer"]) as stack:
        namespace = stack.env["PHOTOBUS_NAMESPACE"]
        store = open_blob_store(stack.env["PHOTOBUS_BLOB_URL"])
        events = []
        for n, data in enumerate(files):
            pid = photo_id(data)
            await store.put_bytes(original_key(pid), data, content_type="image/jpeg")
            events.append(
                PhotoReceived(
                    producer="bench", job_id=f"alone-{n}", item_id=f"alone-{n}", photo_id=pid,
                    blob_key=original_key(pid), size=len(data), content_type="image/jpeg",
                    width=4000, height=3000, filename=f"{n}.jpg",
                    options=ItemOptions(destinations=()),
                )
            )  # fmt: skip
        await store.close()
        tracker = Tracker(destinations=0)
        connection = await capture(namespace, tracker)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.get_exchange(f"{namespace}.events")

            async def publish(batch: list[PhotoReceived]) -> None:
                await asyncio.gather(
                    *(
                        exchange.publish(aio_pika.Message(dump_event(e)), routing_key(e))
                        for e in batch
                    )
                )

            await publish(events[:WARM_UP])
            await tracker.wait((e.photo_id for e in events[:WARM_UP]), published=False)
            pids = {"thumbnailer": stack.services["thumbnailer"].process.pid}  # type: ignore[union-attr]
            before = cpu_by_service(pids)
            machine_cpu = MachineCpu()
            t0 = time.perf_counter()
            await publish(events[WARM_UP:])
            await tracker.wait((e.photo_id for e in events[WARM_UP:]), published=False)
            elapsed = time.perf_counter() - t0
            machine = machine_cpu.result()
            cpu = cpu_per_photo(before, pids, photos)
    return {
        "photos": photos,
        "seconds": round(elapsed, 2),
        "photos_per_s": round(photos / elapsed, 2),
        "cpu_s_per_photo": cpu["thumbnailer"],
        "machine_cpu": machine,
    }


async def send(http: aiohttp.ClientSession, url: str, upload: Upload, started: Timeline) -> None:
    started[upload.photo_id] = time.perf_counter()
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    async with http.post(url, data=upload.body, headers=headers) as r:
        assert r.status == 202, await r.text()
    started.accepted[upload.photo_id] = time.perf_counter()


async def upload_closed(
    http: aiohttp.ClientSession,
    url: str,
    files: list[Upload],
    concurrency: int,
    started: Timeline,
) -> None:
    """As fast as the system takes them: `concurrency` uploads in flight."""
    limiter = asyncio.Semaphore(concurrency)

    async def one(upload: Upload) -> None:
        async with limiter:
            await send(http, url, upload, started)

    await asyncio.gather(*(one(f) for f in files))


async def upload_paced(
    http: aiohttp.ClientSession,
    url: str,
    files: list[Upload],
    rate: float,
    started: Timeline,
) -> None:
    """Open loop: upload n starts at n / rate seconds, whatever the others are doing."""
    t0 = time.perf_counter()

    async def one(n: int, upload: Upload) -> None:
        await asyncio.sleep(max(0.0, t0 + n / rate - time.perf_counter()))  # the schedule
        await send(http, url, upload, started)

    await asyncio.gather(*(one(n, f) for n, f in enumerate(files)))


def latencies(tracker: Tracker, started: Timeline, ids: list[str]) -> dict[str, float]:
    ready = [tracker.ready[i] - started[i] for i in ids]
    result = {f"ready_p{p}_ms": round(percentile(ready, p) * 1000, 1) for p in (50, 95, 99)}
    # The upload's own share: from its first byte to the 202.
    accepted = [started.accepted[i] - started[i] for i in ids]
    result |= {f"accepted_p{p}_ms": round(percentile(accepted, p) * 1000, 1) for p in (50, 95)}
    if all(i in tracker.all_published for i in ids):
        published = [tracker.all_published[i] - started[i] for i in ids]
        result |= {
            f"published_p{p}_ms": round(percentile(published, p) * 1000, 1) for p in (50, 95, 99)
        }
    return result


async def full_pipeline(photos: int, concurrency: int, alone_rate: float) -> dict[str, object]:
    warm, main, paced = (
        uploads(distinct_photos(WARM_UP, first=0)),
        uploads(distinct_photos(photos, first=WARM_UP)),
        uploads(distinct_photos(photos, first=WARM_UP + photos)),
    )
    async with fakes_process(nice=FAKES_NICE, idle=FAKES_IDLE) as (fakes_pid, urls):
        env = {"PHOTOBUS_PUBLISHERS": ",".join(DESTINATIONS), **publisher_env(urls)}
        async with running_stack("pipeline", SERVICES, env) as stack:
            return await _phases(stack, fakes_pid, warm, main, paced, concurrency, alone_rate)


async def _phases(
    stack: Stack,
    fakes_pid: int,
    warm: list[Upload],
    main: list[Upload],
    paced: list[Upload],
    concurrency: int,
    alone_rate: float,
) -> dict[str, object]:
    tracker = Tracker(destinations=len(DESTINATIONS))
    connection = await capture(stack.env["PHOTOBUS_NAMESPACE"], tracker)
    pids = {name: stack.services[name].process.pid for name in SERVICES}  # type: ignore[union-attr]
    pids["fakes"] = fakes_pid
    # Shared servers: on a busy machine other work's CPU lands here too.
    pids |= server_pids()
    pids[BENCH] = os.getpid()
    url = f"{stack.url('ingest')}/v1/jobs"
    started = Timeline()
    result: dict[str, object] = {}
    async with connection, aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as http:
        await upload_closed(http, url, warm, concurrency, started)
        await tracker.wait((u.photo_id for u in warm), published=True)

        ids = [u.photo_id for u in main]
        before = cpu_by_service(pids)
        machine_cpu = MachineCpu()
        t0 = time.perf_counter()
        await upload_closed(http, url, main, concurrency, started)
        to_accepted = time.perf_counter() - t0
        await tracker.wait(ids, published=False)
        to_ready = time.perf_counter() - t0
        machine_to_ready = machine_cpu.result()
        cpu_to_ready = cpu_per_photo(before, pids, len(main))
        await tracker.wait(ids, published=True)
        to_published = time.perf_counter() - t0
        result["full"] = {
            "photos": len(main),
            "concurrency": concurrency,
            # Uploads all answered 202: when close to seconds_to_all_ready, ingest limits.
            "seconds_to_all_accepted": round(to_accepted, 2),
            "seconds_to_all_ready": round(to_ready, 2),
            "seconds_to_all_published": round(to_published, 2),
            "photos_per_s_ready": round(len(main) / to_ready, 2),
            "photos_per_s_published": round(len(main) / to_published, 2),
            **latencies(tracker, started, ids),
            # What competed with the thumbnailer, then everything up to all-published.
            "cpu_s_per_photo_to_ready": cpu_to_ready,
            "cpu_s_per_photo": cpu_per_photo(before, pids, len(main)),
            "machine_cpu_to_ready": machine_to_ready,
        }

        rate = alone_rate * PACE
        ids = [u.photo_id for u in paced]
        before = cpu_by_service(pids)
        machine_cpu = MachineCpu()
        t0 = time.perf_counter()
        await upload_paced(http, url, paced, rate, started)
        await tracker.wait(ids, published=False)
        to_ready = time.perf_counter() - t0
        machine_to_ready = machine_cpu.result()
        cpu_to_ready = cpu_per_photo(before, pids, len(paced))
        await tracker.wait(ids, published=True)
        to_published = time.perf_counter() - t0
        result["paced"] = {
            "photos": len(paced),
            "offered_photos_per_s": round(rate, 2),
            "photos_per_s_ready": round(len(paced) / to_ready, 2),
            "photos_per_s_published": round(len(paced) / to_published, 2),
            **latencies(tracker, started, ids),
            "cpu_s_per_photo_to_ready": cpu_to_ready,
            "machine_cpu_to_ready": machine_to_ready,
        }
    return result


def bracketing(before: dict[str, object], after: dict[str, object]) -> dict[str, object]:
    """The thumbnailer-alone figures the full stack is compared with: the mean of a run
    before it and one after it, so that the machine's speed drifting during the section
    (steal seen from 0 to 17%) cancels. A single run before it, about six seconds long,
    gave ratios from 0.72 to 0.93 on the same code."""

    def mean(key: str) -> float:
        values = [v for v in (before[key], after[key]) if isinstance(v, float)]
        assert len(values) == 2, (key, before, after)
        return statistics.fmean(values)

    return {
        "photos_per_s": round(mean("photos_per_s"), 2),
        "cpu_s_per_photo": round(mean("cpu_s_per_photo"), 4),
        "before": before,
        "after": after,
    }


def rest_of_system_share(cpu_s_per_photo: dict[str, float]) -> float:
    """photobus's CPU besides the thumbnailer's, as a share of all photobus's CPU."""
    ours = {k: v for k, v in cpu_s_per_photo.items() if k not in (BENCH, "fakes")}
    return round(1 - ours["thumbnailer"] / sum(ours.values()), 3)


async def run_async(photos: int, concurrency: int) -> dict[str, object]:
    before = await thumbnailer_alone(photos, first=100_000)
    pace_base = before["photos_per_s"]  # the paced phase needs its rate before it starts
    assert isinstance(pace_base, float)
    phases = await full_pipeline(photos, concurrency, pace_base)
    alone = bracketing(before, await thumbnailer_alone(photos, first=200_000))
    rate = alone["photos_per_s"]
    assert isinstance(rate, float)
    result: dict[str, object] = {"thumbnailer_alone": alone, **phases}
    full, paced = result["full"], result["paced"]
    assert isinstance(full, dict) and isinstance(paced, dict)
    fraction = full["photos_per_s_ready"] / rate
    result["targets"] = {
        "end_to_end_ready_over_thumbnailer_alone": {
            "value": round(fraction, 2), "target": TARGET_FRACTION_OF_ALONE,
            "met": fraction >= TARGET_FRACTION_OF_ALONE,
        },
        # Not a target: publishing finishes after the thumbnails, on left-over CPU.
        "end_to_end_published_over_thumbnailer_alone": round(
            full["photos_per_s_published"] / rate, 2
        ),
        # Not a target either: the "the rest of the system costs under 20%" read
        # as CPU, without the bench client and the fakes, which are not photobus.
        "rest_of_system_cpu_share_to_ready": rest_of_system_share(
            full["cpu_s_per_photo_to_ready"]
        ),
        "paced_p95_ready_ms": {
            "value": paced["ready_p95_ms"], "target": TARGET_PACED_P95_MS,
            "met": paced["ready_p95_ms"] < TARGET_PACED_P95_MS,
        },
    }  # fmt: skip
    return result


def summary(run: dict[str, Any]) -> dict[str, float]:
    """One run's figures that move from run to run, for the list beside the median."""
    targets, full = run["targets"], run["full"]
    return {
        "ratio": targets["end_to_end_ready_over_thumbnailer_alone"]["value"],
        "paced_p95_ms": targets["paced_p95_ready_ms"]["value"],
        "alone_photos_per_s": run["thumbnailer_alone"]["photos_per_s"],
        "full_photos_per_s_ready": full["photos_per_s_ready"],
        "ingest_cpu_ms_per_photo": round(full["cpu_s_per_photo_to_ready"]["ingest"] * 1000, 1),
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, object]:
    """The run with the median ratio, its targets judged on the medians of all runs.

    Runs of unchanged code gave ratios from 0.71 to 0.83 (ingest's CPU per upload from
    8 to 13 ms as the VM's memory was fresh or reused): a single run says little.
    """
    summaries = [summary(r) for r in runs]
    ratios = [s["ratio"] for s in summaries]
    ratio = statistics.median_low(ratios)
    result = dict(runs[ratios.index(ratio)])
    p95 = statistics.median(s["paced_p95_ms"] for s in summaries)
    targets = dict(result["targets"])
    targets["end_to_end_ready_over_thumbnailer_alone"] = {
        "value": ratio,
        "target": TARGET_FRACTION_OF_ALONE,
        "met": ratio >= TARGET_FRACTION_OF_ALONE,
        "of_runs": "median",
    }
    targets["paced_p95_ready_ms"] = {
        "value": p95,
        "target": TARGET_PACED_P95_MS,
        "met": p95 < TARGET_PACED_P95_MS,
        "of_runs": "median",
    }
    result["targets"] = targets
    result["runs"] = summaries
    return result


def run(photos: int = 200, concurrency: int = 4, repeats: int = 1) -> dict[str, object]:
    """`repeats` whole runs, one after the other; with more than one, the figures are the
    median-ratio run's and the targets are judged on the medians (`runs` lists each)."""
    runs = [
        uvloop.run(run_async(photos, concurrency))  # a lean client: it shares the cores
        for _ in range(repeats)
    ]
    return runs[0] if repeats == 1 else median_of(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1, help="runs; targets on their medians")
    args = parser.parse_args()
    for key, value in run(args.photos, args.concurrency, args.repeats).items():
        print(f"{key:>18}: {value}")


if __name__ == "__main__":
    main()
