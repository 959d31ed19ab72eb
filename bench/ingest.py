"""Ingest throughput on loopback: one 1 GB multipart upload, and 1,000 × 3 MB uploads.

Reports MB/s (hashing, sniffing, probing and the blob write included) and the ingest
process's peak resident memory. The client shares the machine's cores with ingest, so
it is kept lean: uvloop, and the large body sent in 1 MiB pieces with its length
declared, as curl and browsers send files (chunked encoding would cost both sides
more). Its CPU and the load average at the start are reported beside the MB/s: the
wall-clock figure needs an otherwise idle machine, CPU per GB does not.

    uv run python -m bench.ingest [--big-mb 1024] [--small 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import AsyncIterator

import aiohttp
import uvloop

from bench.harness import MachineCpu, cpu_seconds, peak_rss_mb, running_stack
from bench.images import IMAGES, jpeg

BOUNDARY = "photobusbenchboundary"
CHUNK = 1024 * 1024
# Targets (issue 7): one large upload on loopback, hashing included; memory whatever the size.
TARGET_BIG_MB_PER_S = 400.0
TARGET_PEAK_RSS_MB = 200.0


def photo_head() -> bytes:
    return jpeg(next(i for i in IMAGES if i.name == "12mp"))


BIG_HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
    "Content-Type: image/jpeg\r\n\r\n"
).encode()
BIG_TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


def big_body_length(total: int) -> int:
    return len(BIG_HEAD) + max(total, len(photo_head())) + len(BIG_TAIL)


async def big_body(total: int) -> AsyncIterator[bytes]:
    """One file part of `total` bytes: a real JPEG followed by filler, made on the fly."""
    head = photo_head()
    yield BIG_HEAD + head
    filler = bytes(range(256)) * (CHUNK // 256)
    sent = len(head)
    while sent < total:
        piece = filler if total - sent >= CHUNK else filler[: total - sent]
        sent += len(piece)
        yield piece
    yield BIG_TAIL


def distinct(base: bytes, n: int) -> bytes:
    comment = f"photobus ingest bench {n}".encode()
    return base[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + base[2:]


async def run_async(big_mb: int, small: int, concurrency: int) -> dict[str, object]:
    result: dict[str, object] = {}
    async with running_stack(
        "ingest", ["ingest"], {"PHOTOBUS_MAX_UPLOAD_BYTES": str(4 * 1024**3)}
    ) as stack:
        url = f"{stack.url('ingest')}/v1/jobs"
        pid = stack.services["ingest"].process.pid  # type: ignore[union-attr]
        timeout = aiohttp.ClientTimeout(total=None)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            total = big_mb * 1024 * 1024
            headers = {
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "Content-Length": str(big_body_length(total)),
            }
            result["load_average_at_start"] = round(os.getloadavg()[0], 2)
            cpu0, client0 = cpu_seconds(pid), time.process_time()
            machine_cpu = MachineCpu()
            t0 = time.perf_counter()
            async with http.post(url, data=big_body(total), headers=headers) as r:
                assert r.status == 202, await r.text()
            elapsed = time.perf_counter() - t0
            result["big_upload_machine_cpu"] = machine_cpu.result()
            result["big_upload_mb"] = big_mb
            result["big_upload_mb_per_s"] = round(big_mb / elapsed, 1)
            result["big_upload_ingest_cpu_s_per_gb"] = round(
                (cpu_seconds(pid) - cpu0) * 1024 / big_mb, 2
            )
            result["big_upload_client_cpu_s_per_gb"] = round(
                (time.process_time() - client0) * 1024 / big_mb, 2
            )
            result["peak_rss_mb_after_big"] = round(peak_rss_mb(pid), 1)

            base = jpeg(next(i for i in IMAGES if i.name == "12mp"))
            limiter = asyncio.Semaphore(concurrency)

            async def send(n: int) -> int:
                data = distinct(base, n)
                async with limiter:
                    form = aiohttp.FormData()
                    form.add_field("file", data, filename=f"p{n}.jpg", content_type="image/jpeg")
                    async with http.post(url, data=form) as r:
                        assert r.status == 202, await r.text()
                return len(data)

            cpu0 = cpu_seconds(pid)
            t0 = time.perf_counter()
            sizes = await asyncio.gather(*(send(n) for n in range(small)))
            elapsed = time.perf_counter() - t0
            result["small_uploads"] = small
            result["small_upload_mb_each"] = round(sizes[0] / 1e6, 2)
            result["small_uploads_mb_per_s"] = round(sum(sizes) / 1024 / 1024 / elapsed, 1)
            result["small_uploads_per_s"] = round(small / elapsed, 1)
            result["small_uploads_ingest_cpu_ms_each"] = round(
                (cpu_seconds(pid) - cpu0) * 1000 / small, 2
            )
            result["peak_rss_mb"] = round(peak_rss_mb(pid), 1)
    big_rate, rss = result["big_upload_mb_per_s"], result["peak_rss_mb"]
    assert isinstance(big_rate, float) and isinstance(rss, float)
    result["targets"] = {
        "big_upload_mb_per_s": {
            "value": big_rate,
            "target": TARGET_BIG_MB_PER_S,
            "met": big_rate >= TARGET_BIG_MB_PER_S,
        },
        "peak_rss_mb": {
            "value": rss,
            "target": TARGET_PEAK_RSS_MB,
            "met": rss < TARGET_PEAK_RSS_MB,
        },
    }
    return result


def run(big_mb: int = 1024, small: int = 1000, concurrency: int = 4) -> dict[str, object]:
    return uvloop.run(run_async(big_mb, small, concurrency))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big-mb", type=int, default=1024)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    for key, value in run(args.big_mb, args.small, args.concurrency).items():
        print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
