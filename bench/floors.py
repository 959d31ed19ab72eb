"""What the rest of the system cannot cost less than, per photo of the pipeline's set.

The pipeline's target compares the full stack with the thumbnailer alone: with both
cores busy, the full stack makes 2 / (T + R) photos/s against 2 / T alone, where T is
the thumbnailer's CPU per photo and R everything else's. A ratio of 0.8 needs R ≤ T / 4.
Part of R is fixed by the design and by this machine, whatever the code; this section
measures that part on the pipeline's own 12 MP photo:

  sha256           hashing the original (`photo_id` is its SHA-256: design.md, Identity)
  loopback         the upload body over loopback TCP: the sender's and the receiver's
                   kernel work, with no HTTP or multipart on either side
  page_cache_write writing the original into a new file, no sync (the durability rule
                   wants it synced before the 202): into whatever pages the kernel hands
                   out first (`fresh`: on this VM a fault in the host per page, unless
                   something freed memory in the seconds before, as the pipeline's
                   clean-up does when this runs right after it), and into pages just
                   freed by deleting the files written before (`reused`)
  broker           RabbitMQ's CPU for the messages each photo needs up to its last
                   destination (design.md, Events): job.accepted and photo.received,
                   published together and routed to five quorum queues (the thumbnailer,
                   status, three publishers), thumbnail.created and three
                   publish.succeeded to status; each published with confirms through
                   photobus's own `Broker`, each delivered and acknowledged (status in
                   batches, as it does); flat out (4 photos at a time), and at the pace
                   the full pipeline ran (a photo every 1 / pace seconds), where each
                   message wakes the broker on its own

`floor_ms` adds sha256, loopback, a page-cache write and the broker, three ways:
`best` (pages reused, broker flat out), `at_pipeline_pace` (pages reused) and
`at_pipeline_pace_fresh_memory`. Ingest's HTTP and multipart handling, its sync,
status's fold, PostgreSQL and the bench client are all left out, so the real R is
higher. Given the thumbnailer's CPU per photo (from the pipeline section),
`ratio_ceiling` = T / (T + floor): no code within the design reaches a higher pipeline
ratio on this machine.

    uv run python -m bench.floors
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import aio_pika
import uvloop
from photobus_common.broker import Broker
from photobus_common.events import DESTINATIONS, Event
from photobus_common.topology import STATUS, THUMBNAILER, ConsumerSpec, publisher_spec, queue_name

from bench.harness import cpu_seconds_tree, server_pids
from bench.pipeline import distinct_photos, photo_id, uploads
from bench.status import job_history
from tests.support import infra
from tests.support.cleanup import delete_namespace

RECEIVE_BUFFER = 256 * 1024  # what ingest reads with
DEFAULT_PACE = 30.0  # photos/s: about what the full pipeline carries on this machine
STATUS_ACK_EVERY = 0.05  # seconds: status acknowledges what it has folded, batch by batch
SPECS: tuple[ConsumerSpec, ...] = (
    THUMBNAILER,
    STATUS,
    *(publisher_spec(d) for d in DESTINATIONS),
)


def cpu_ms_per_call(work: Callable[[], object], calls: int, rounds: int = 5) -> float:
    """This process's CPU (all threads) per call of `work`: the median of `rounds`."""
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(calls):
            work()
        samples.append((time.process_time() - start) / calls * 1000)
    return statistics.median(samples)


def sha256_ms(data: bytes) -> float:
    return cpu_ms_per_call(lambda: photo_id(data), calls=40)


def loopback_ms(body: bytes, sends: int = 200) -> float:
    """CPU of sending `body` to a socket on 127.0.0.1 and receiving it, both sides."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        sender = socket.create_connection(server.getsockname())
        receiver, _ = server.accept()
        with sender, receiver:
            total = len(body) * sends

            def receive() -> None:
                buffer, got = bytearray(RECEIVE_BUFFER), 0
                while got < total:
                    got += receiver.recv_into(buffer)

            thread = threading.Thread(target=receive)
            start = time.process_time()
            thread.start()
            for _ in range(sends):
                sender.sendall(body)
            thread.join()
            return (time.process_time() - start) / sends * 1000


def page_cache_write_ms(data: bytes, files: int = 300) -> dict[str, float]:
    """CPU of writing `data` to new files: into fresh memory, then into pages just freed."""
    parent = Path.cwd() / "var" if (Path.cwd() / "var").exists() else None
    root = Path(tempfile.mkdtemp(prefix="photobus-floors-", dir=parent))
    try:

        def write_all(directory: Path) -> float:
            directory.mkdir()
            start = time.process_time()
            for n in range(files):
                with open(directory / str(n), "wb") as f:
                    f.write(data)
            return (time.process_time() - start) / files * 1000

        fresh = write_all(root / "fresh")
        reused = []
        for n in range(3):  # each pass deletes the last one's files first
            shutil.rmtree(root / ("fresh" if n == 0 else f"reused-{n - 1}"))
            reused.append(write_all(root / f"reused-{n}"))
        return {"fresh": round(fresh, 2), "reused": round(statistics.median(reused), 2)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def photo_events(n: int) -> list[list[Event]]:
    """A one-photo job's events, grouped as photobus publishes them: ingest's pair
    (job.accepted, photo.received), the thumbnailer's, then each publisher's."""
    accepted, received, created, *published = job_history(n, photos=1)
    return [[accepted, received], [created], *([p] for p in published)]


class Acknowledger:
    """Consumes one queue and acknowledges it: each message (the thumbnailer and the
    publishers), or batches with `multiple` (status)."""

    def __init__(self, batched: bool, arrived: asyncio.Event) -> None:
        self.batched = batched
        self.count = 0
        self.arrived = arrived
        self._last: aio_pika.abc.AbstractIncomingMessage | None = None

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.count += 1
        self.arrived.set()
        if self.batched:
            self._last = message
        else:
            await message.ack()

    async def flush(self) -> None:
        last, self._last = self._last, None
        if last is not None:
            await last.ack(multiple=True)


async def broker_ms(photos: int, rate: float | None = None) -> float:
    """RabbitMQ's CPU per photo for the messages the design sends per photo: as fast as
    it takes them (4 photos at a time), or one photo every 1 / `rate` seconds."""
    rabbit = server_pids().get("rabbitmq")
    if rabbit is None:
        raise RuntimeError("no local RabbitMQ (beam.smp) to measure: start it (see README)")
    namespace = infra.unique("pbbench_floors")
    broker = Broker(
        url=infra.AMQP_URL, namespace=namespace, producer="bench-floors", topology=SPECS
    )
    await broker.connect()
    connection = await aio_pika.connect(infra.AMQP_URL)
    try:
        channel = await connection.channel()
        consumers: dict[str, Acknowledger] = {}
        arrived = asyncio.Event()
        for spec in SPECS:
            await channel.set_qos(prefetch_count=spec.prefetch)  # applies to the next consume
            queue = await channel.get_queue(queue_name(namespace, spec.service))
            consumers[spec.service] = acknowledger = Acknowledger(spec is STATUS, arrived)
            await queue.consume(acknowledger.on_message)
        per_photo = len(SPECS) + 5  # photo.received to five queues; five more to status
        status = consumers["status"]

        def delivered() -> int:
            return sum(c.count for c in consumers.values())

        async def acknowledge_status() -> None:
            while True:
                await status.flush()
                await asyncio.sleep(STATUS_ACK_EVERY)

        async def send(first: int, count: int, rate: float | None) -> None:
            limiter = asyncio.Semaphore(4 if rate is None else count)
            start = time.perf_counter()

            async def one(n: int) -> None:
                if rate is not None:  # on schedule, whatever the others are doing
                    await asyncio.sleep(max(0.0, start + (n - first) / rate - time.perf_counter()))
                async with limiter:
                    for group in photo_events(n):
                        await broker.publish(*group)

            target = delivered() + count * per_photo
            await asyncio.gather(*(one(n) for n in range(first, first + count)))
            async with asyncio.timeout(60):
                while delivered() < target:
                    arrived.clear()
                    await arrived.wait()
            await status.flush()

        acknowledging = asyncio.create_task(acknowledge_status())
        try:
            await send(0, 20, None)  # warm-up: queues and channels in use
            before = cpu_seconds_tree(rabbit)
            await send(20, photos, rate)
            spent = cpu_seconds_tree(rabbit) - before
        finally:
            acknowledging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acknowledging
        assert delivered() == (20 + photos) * per_photo, delivered()  # nothing more or less
        return spent / photos * 1000
    finally:
        await connection.close()
        await broker.close(drain_timeout=1)
        await delete_namespace(infra.AMQP_URL, namespace, SPECS)


def run(
    photos: int = 200,
    thumbnailer_cpu_s_per_photo: float | None = None,
    pace: float = DEFAULT_PACE,
) -> dict[str, object]:
    """`pace`: the photos/s the full pipeline ran at; `thumbnailer_cpu_s_per_photo`: the
    thumbnailer alone's CPU per photo, both from the pipeline section when it ran."""
    data = distinct_photos(1, first=900_000)[0]
    body = uploads([data])[0].body
    page_cache = page_cache_write_ms(data)
    sha256, loopback = sha256_ms(data), loopback_ms(body)
    bytes_ms = sha256 + loopback
    broker = {
        "flat_out": uvloop.run(broker_ms(photos)),
        "at_pipeline_pace": uvloop.run(broker_ms(photos, rate=pace)),
    }
    floors = {
        "best": bytes_ms + page_cache["reused"] + broker["flat_out"],
        "at_pipeline_pace": bytes_ms + page_cache["reused"] + broker["at_pipeline_pace"],
        "at_pipeline_pace_fresh_memory": (
            bytes_ms + page_cache["fresh"] + broker["at_pipeline_pace"]
        ),
    }
    result: dict[str, object] = {
        "photo_mb": round(len(data) / 1e6, 2),
        "cpu_ms_per_photo": {
            "sha256": round(sha256, 2),
            "loopback": round(loopback, 2),
            "page_cache_write": page_cache,
            "broker": {k: round(v, 2) for k, v in broker.items()},
            "pipeline_pace_photos_per_s": round(pace, 1),
        },
        "floor_ms": {k: round(v, 2) for k, v in floors.items()},
    }
    if thumbnailer_cpu_s_per_photo:
        thumbnailer_ms = thumbnailer_cpu_s_per_photo * 1000
        result["thumbnailer_alone_cpu_ms_per_photo"] = round(thumbnailer_ms, 1)
        result["rest_allowed_at_target_ms"] = round(thumbnailer_ms / 4, 1)
        result["ratio_ceiling"] = {
            k: round(thumbnailer_ms / (thumbnailer_ms + v), 3) for k, v in floors.items()
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument(
        "--pace", type=float, default=DEFAULT_PACE, help="photos/s, as the pipeline"
    )
    parser.add_argument(
        "--thumbnailer-ms", type=float, help="the thumbnailer's CPU-ms per photo, for the ceiling"
    )
    args = parser.parse_args()
    seconds = args.thumbnailer_ms / 1000 if args.thumbnailer_ms else None
    for key, value in run(args.photos, seconds, args.pace).items():
        print(f"{key:>36}: {value}")


if __name__ == "__main__":
    main()
