"""The render pool's workers do not outlive a thumbnailer that was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

THUMBNAILER = """
import asyncio, sys
from photobus_thumbnailer.pool import RenderPool

async def main():
    pool = RenderPool(2, max_pixels=10**8, memory_limit_mb=0)
    # Starts the workers (as many as the pool needs so far).
    await asyncio.gather(pool.render(b"not an image"), pool.render(b"nor this"),
                         return_exceptions=True)
    print(*pool._executor._processes, flush=True)  # the workers' pids
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_workers_leave_when_the_thumbnailer_is_killed() -> None:
    thumbnailer = subprocess.Popen(
        [sys.executable, "-c", THUMBNAILER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert thumbnailer.stdout is not None
        workers = [int(pid) for pid in thumbnailer.stdout.readline().split()]
        assert workers and all(_alive(pid) for pid in workers)
    finally:
        os.kill(thumbnailer.pid, signal.SIGKILL)  # no cleanup of its own can run
        thumbnailer.wait()
        thumbnailer.stdout.close()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)
