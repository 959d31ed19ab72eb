"""Publishing: N × 2 MP photos through the three publishers to the fakes, no faults.

ingest takes every upload first; then the three publishers start as processes and
work through their full queues, so their own pace is measured, not ingest's
(thumbnailer and status are left out). The fakes of Imgur, Flickr and Google Photos
run in a thread of this process, timing how long they spend on each request. Imgur's fake gets
unlimited credits here: the real account budget (~200 uploads an hour) would make the
publisher wait for the reset, which measures Imgur, not photobus.

Per destination it reports:
- `photos_per_s`: photos from the first request reaching the fake to the last
  `publish.succeeded` of that destination;
- `fake_ms_per_publish`: the fake's own time for one photo (its requests, summed);
- `overhead_ms_per_publish`: the publisher's time per photo beyond that, from throughput:
  each of its `PHOTOBUS_PUBLISH_CONCURRENCY` slots stays busy while photos queue, so one
  publish occupies `seconds × concurrency / photos`, of which the fake's share is known;
- `after_first_call_ms`: p50/p95 of the time from the first request reaching the fake to
  `publish.succeeded`, minus the fake's time (between-call work, ledger, confirmed event);
- `cpu_ms_per_publish`: the publisher process's CPU per photo over the same window
  (re-encoding included).

    uv run python -m bench.publishing [--photos 300]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import aiohttp
from aiohttp import web
from photobus_common.events import PublishFailed, PublishSucceeded, parse_event

import tests.fakes.server as fake_server
from bench.harness import cpu_seconds_tree, running_stack
from bench.images import photo_like
from tests.fakes.credentials import default_flickr, default_gphotos, default_imgur, publisher_env
from tests.fakes.imgur_shapes import Credits
from tests.fakes.recording import RecordedRequest, record_request
from tests.fakes.server import FakeServer
from tests.support.client import form_with_files
from tests.support.infra import AMQP_URL
from tests.support.stack import OUTPUT, Service, free_port

DESTINATIONS = ("imgur", "flickr", "gphotos")
CONCURRENCY = 4  # PHOTOBUS_PUBLISH_CONCURRENCY, the publishers' default
PHOTOS_PER_JOB = 10
WIDTH, HEIGHT = 1632, 1224  # 2.0 MP
UNLIMITED = 10**9


def distinct_photos(count: int) -> list[bytes]:
    """`count` different 2 MP files of one photo: a JPEG comment makes each unique."""
    out = io.BytesIO()
    photo_like(WIDTH, HEIGHT, seed=2).save(out, "JPEG", quality=90)
    base = out.getvalue()
    photos = []
    for n in range(count):
        comment = f"photobus publishing bench {n}".encode()
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        photos.append(base[:2] + segment + base[2:])
    return photos


# -- the fakes, in a thread, with the time spent on every request --------------------------


@dataclass
class FakeTimings:
    """(arrival, seconds spent) of every request a fake answered, by path."""

    spans: list[tuple[str, float, float]] = field(default_factory=list)


_STARTED = "bench_started"
# The fakes' recording middleware looks this name up in tests.fakes.server at each request.
_HOOK = "record_request"


async def _timed_record_request(request: web.Request) -> Any:
    request[_STARTED] = time.time()  # before the body is read: receiving it is the fake's time
    return await record_request(request)


def _timed(fake: FakeServer, timings: FakeTimings) -> None:
    answer = fake.on_response

    def on_response(request: web.Request, response: web.StreamResponse) -> None:
        started = request.get(_STARTED)
        if started is not None:
            timings.spans.append((request.path, started, time.time() - started))
        answer(request, response)

    fake.on_response = on_response  # type: ignore[method-assign]


@asynccontextmanager
async def fakes_in_thread() -> AsyncIterator[tuple[dict[str, FakeServer], dict[str, FakeTimings]]]:
    """The three fakes serving from their own event loop in a thread of this process."""
    vars(fake_server)[_HOOK] = _timed_record_request
    imgur = default_imgur()
    imgur.credits = Credits(
        user_limit=UNLIMITED,
        user_remaining=UNLIMITED,
        client_limit=UNLIMITED,
        client_remaining=UNLIMITED,
        post_limit=UNLIMITED,
        post_remaining=UNLIMITED,
    )
    fakes: dict[str, FakeServer] = {
        "imgur": imgur,
        "flickr": default_flickr(),
        "gphotos": default_gphotos(),
    }
    timings = {name: FakeTimings() for name in fakes}
    for name, fake in fakes.items():
        _timed(fake, timings[name])
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fakes", daemon=True)
    thread.start()

    def in_thread(call: Callable[[], Awaitable[None]]) -> None:
        async def wrapped() -> None:
            await call()

        asyncio.run_coroutine_threadsafe(wrapped(), loop).result(timeout=30)

    try:
        for fake in fakes.values():
            in_thread(fake.start)
        yield fakes, timings
    finally:
        for fake in fakes.values():
            in_thread(fake.stop)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        vars(fake_server)[_HOOK] = record_request


# -- the run ---------------------------------------------------------------------------------


def fake_seconds_per_photo(
    destination: str, fake: FakeServer, timings: FakeTimings
) -> dict[str, tuple[float, float]]:
    """photo_id -> (first arrival, total seconds) over the requests that carried that photo."""
    by_photo: dict[str, tuple[float, float]] = {}
    # Requests are recorded in arrival order, and so are spans of the same paths; pair them.
    spans = defaultdict(list)
    for path, started, seconds in timings.spans:
        spans[path].append((started, seconds))
    for request in (r for r in fake.requests if r.status == 200):
        photo = _photo_of(destination, request)
        if photo is None:
            continue
        match = _span_for(spans[request.path], request.time)
        if match is None:
            continue
        first, total = by_photo.get(photo, (match[0], 0.0))
        by_photo[photo] = (min(first, match[0]), total + match[1])
    return by_photo


def _span_for(spans: list[tuple[float, float]], arrival: float) -> tuple[float, float] | None:
    """The timed span that began closest to a recorded request's arrival."""
    if not spans:
        return None
    return min(spans, key=lambda span: abs(span[0] - arrival))


def _photo_of(destination: str, request: RecordedRequest) -> str | None:
    if destination == "imgur" and request.path == "/3/image":
        return request.field("name")
    if destination == "flickr" and request.path == "/services/upload/":
        tags = request.field("tags") or ""
        return next(
            (t.split("=", 1)[1] for t in tags.split() if t.startswith("photobus:sha256=")), None
        )
    if destination == "gphotos" and request.path == "/v1/uploads":
        name = request.headers.get("X-Goog-Upload-File-Name", "")
        return name.split(".", 1)[0] or None
    if destination == "gphotos" and request.path == "/v1/mediaItems:batchCreate":
        items = (request.json or {}).get("newMediaItems", [])
        return items[0]["simpleMediaItem"]["fileName"].split(".", 1)[0] if len(items) == 1 else None
    return None


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run_async(photos: int) -> dict[str, Any]:
    files = distinct_photos(photos)
    async with fakes_in_thread() as (fakes, timings):
        urls = {name: fake.url for name, fake in fakes.items()}
        env = {**publisher_env(urls), "PHOTOBUS_PUBLISHERS": ",".join(DESTINATIONS)}
        async with running_stack("publishing", ["ingest"], extra_env=env) as stack:
            succeeded: dict[str, dict[str, float]] = {name: {} for name in DESTINATIONS}
            failures: list[str] = []
            done = asyncio.Event()
            connection = await aio_pika.connect(AMQP_URL)
            channel = await connection.channel()
            exchange = await channel.get_exchange(f"{stack.env['PHOTOBUS_NAMESPACE']}.events")
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(exchange, "publish.*")

            async def on_event(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                event = parse_event(message.body)
                if isinstance(event, PublishSucceeded):
                    succeeded[event.destination][event.photo_id] = event.occurred_at.timestamp()
                elif isinstance(event, PublishFailed):
                    failures.append(f"{event.destination}: {event.reason}")
                if all(len(s) >= photos for s in succeeded.values()) or failures:
                    done.set()
                await message.ack()

            await queue.consume(on_event)
            limiter = asyncio.Semaphore(3)
            async with aiohttp.ClientSession() as http:

                async def send(first: int) -> None:
                    batch = [
                        (f"bench_{n}.jpg", files[n])
                        for n in range(first, min(first + PHOTOS_PER_JOB, photos))
                    ]
                    async with (
                        limiter,
                        http.post(
                            f"{stack.url('ingest')}/v1/jobs", data=form_with_files(batch)
                        ) as r,
                    ):
                        assert r.status == 202, await r.text()

                await asyncio.gather(*(send(n) for n in range(0, photos, PHOTOS_PER_JOB)))
            # Every photo.received now waits in the publishers' queues (ingest declared them).
            publishers = [f"publisher-{name}" for name in DESTINATIONS]
            for service in publishers:
                log = OUTPUT / "logs" / "bench-publishing" / f"{service}.log"
                stack.services[service] = Service(service, free_port(), log)
            cpu_samples: list[tuple[float, dict[str, float]]] = []

            def cpu_now() -> dict[str, float]:
                processes = {n: stack.services[f"publisher-{n}"].process for n in DESTINATIONS}
                return {n: cpu_seconds_tree(p.pid) for n, p in processes.items() if p is not None}

            async def sample_cpu() -> None:
                while not done.is_set():
                    cpu_samples.append((time.time(), cpu_now()))
                    await asyncio.sleep(0.1)

            # Sampling from the spawn on, so the window's start has a sample before it.
            start = asyncio.create_task(stack.start(*publishers, timeout=180))
            sampler = asyncio.create_task(sample_cpu())
            await start
            await asyncio.wait_for(done.wait(), timeout=1200)
            await sampler
            cpu_samples.append((time.time(), cpu_now()))
            if failures:
                raise RuntimeError(f"publishing failed: {failures[:3]}")
            await connection.close()
    results: dict[str, Any] = {
        "photos": photos,
        "megapixels": round(WIDTH * HEIGHT / 1e6, 1),
        "publish_concurrency": CONCURRENCY,
    }
    for name in DESTINATIONS:
        done_at = succeeded[name]
        fake_time = fake_seconds_per_photo(name, fakes[name], timings[name])
        started = min(first for first, _ in fake_time.values())
        seconds = max(done_at.values()) - started
        # CPU within the same window: the start-up before it is not publishing.
        cpu_at_start = max((s for s in cpu_samples if s[0] <= started), key=lambda s: s[0])
        cpu = cpu_samples[-1][1][name] - cpu_at_start[1][name]
        fake_mean = statistics.mean(total for _, total in fake_time.values())
        after_first = [
            done_at[p] - first - total for p, (first, total) in fake_time.items() if p in done_at
        ]
        results[name] = {
            "seconds": round(seconds, 2),
            "photos_per_s": round(photos / seconds, 2),
            "fake_ms_per_publish": round(fake_mean * 1000, 1),
            "overhead_ms_per_publish": round(
                (seconds * CONCURRENCY / photos - fake_mean) * 1000, 1
            ),
            "after_first_call_ms_p50": round(percentile(after_first, 50) * 1000, 1),
            "after_first_call_ms_p95": round(percentile(after_first, 95) * 1000, 1),
            "cpu_ms_per_publish": round(cpu / photos * 1000, 1),
        }
    return results


def run(photos: int = 300) -> dict[str, Any]:
    return asyncio.run(run_async(photos))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=300)
    args = parser.parse_args()
    for key, value in run(args.photos).items():
        print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
