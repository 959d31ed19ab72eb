"""`photobus upload` of N small photos with `--concurrency 8`, as a person runs it.

The real command (a process) uploads a folder to ingest + status; reported: files/s
and MB/s of the first run (hash, status lookup, upload), and files/s of a second run
where every file is already there (hash + lookup only). Wall times include the
command's own start-up.

    uv run python -m bench.cli [--files 500] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import running_stack
from bench.images import photo_like

SERVICES = ["ingest", "status"]


def small_photos(folder: Path, count: int) -> int:
    """`count` distinct ~640×480 JPEGs (a comment segment makes each unique); total bytes."""
    buffer = io.BytesIO()
    photo_like(640, 480).save(buffer, "JPEG", quality=85)
    base = buffer.getvalue()
    total = 0
    for n in range(count):
        comment = f"photobus cli bench {n}".encode()
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        data = base[:2] + segment + base[2:]
        (folder / f"photo-{n:04d}.jpg").write_bytes(data)
        total += len(data)
    return total


async def upload(
    folder: Path, env: dict[str, str], concurrency: int
) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "photobus_client",
        "upload",
        str(folder),
        "--concurrency",
        str(concurrency),
        "--json",
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    out, _ = await process.communicate()
    elapsed = time.perf_counter() - t0
    assert process.returncode == 0, f"photobus upload exited {process.returncode}"
    return elapsed, json.loads(out)


async def run_async(files: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="photobus-cli-bench-") as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        total = small_photos(folder, files)
        async with running_stack("cli", SERVICES) as stack:
            env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOBUS_")}
            env |= {
                "PHOTOBUS_URL": stack.url("ingest"),
                "PHOTOBUS_STATUS_URL": stack.url("status"),
                "XDG_CACHE_HOME": str(Path(tmp) / "cache"),
                "NO_PROXY": "127.0.0.1,localhost",
            }
            first, summary = await upload(folder, env, concurrency)
            assert len(summary["uploaded"]) == files, summary
            second, again = await upload(folder, env, concurrency)
            assert len(again["already_there"]) == files, again
    return {
        "files": files,
        "concurrency": concurrency,
        "mb_total": round(total / 1e6, 1),
        "kb_per_file": round(total / files / 1e3, 1),
        "upload_s": round(first, 2),
        "upload_files_per_s": round(files / first, 1),
        "upload_mb_per_s": round(total / 1e6 / first, 2),
        "upload_files_per_s_excluding_startup": round(files / summary["elapsed_s"], 1),
        "already_there_s": round(second, 2),
        "already_there_files_per_s": round(files / second, 1),
    }


def run(files: int = 500, concurrency: int = 8) -> dict[str, Any]:
    return asyncio.run(run_async(files, concurrency))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    for key, value in run(args.files, args.concurrency).items():
        print(f"{key:>40}: {value}")


if __name__ == "__main__":
    main()
