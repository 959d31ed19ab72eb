"""The three fake destinations in a process of their own, with Imgur's budget raised.

The fake Imgur charges 10 credits an upload against the real hourly budget (about
200 uploads), which a benchmark of hundreds of photos would exhaust: here every
budget is a million credits. Otherwise `python -m tests.fakes all`.

    python -m bench.fakes [--nice N] [--idle]   # prints {"imgur": url, ...} as one line, serves until SIGTERM
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from photobus_common.service import lower_cpu_priority

from tests.fakes.__main__ import NAMES, build_fake, serve_until_signalled
from tests.fakes.imgur import FakeImgur
from tests.fakes.imgur_shapes import Credits
from tests.fakes.process import REPO_ROOT

BUDGET = 1_000_000
STARTUP_SECONDS = 30.0


def plentiful_credits() -> Credits:
    return Credits(
        user_limit=BUDGET,
        user_remaining=BUDGET,
        client_limit=BUDGET,
        client_remaining=BUDGET,
        post_limit=BUDGET,
        post_remaining=BUDGET,
    )


async def serve() -> None:
    fakes = {name: build_fake(name, {}) for name in NAMES}
    imgur = fakes["imgur"]
    assert isinstance(imgur, FakeImgur)
    imgur.credits = plentiful_credits()
    for fake in fakes.values():
        await fake.start(0)
    print(json.dumps({name: fake.url for name, fake in fakes.items()}), flush=True)
    await serve_until_signalled(fakes.values())


@asynccontextmanager
async def fakes_process(
    *, nice: int = 0, idle: bool = False
) -> AsyncIterator[tuple[int, dict[str, str]]]:
    """Yields (pid, {"imgur": url, ...}) once the fakes listen; stops them on exit.

    `nice` and `idle` (SCHED_IDLE): the fakes' CPU priority, for benchmarks where they
    stand in for remote services whose CPU would not be this machine's.
    """
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.fakes", "--nice", str(nice), *(["--idle"] if idle else []),
        cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    try:
        async with asyncio.timeout(STARTUP_SECONDS):
            line = await child.stdout.readline()
        if not line:
            raise RuntimeError(f"the fakes did not start (exit code {child.returncode})")
        yield child.pid, json.loads(line)
    finally:
        if child.returncode is None:
            child.terminate()
        await child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nice", type=int, default=0, help="CPU niceness to run at")
    parser.add_argument("--idle", action="store_true", help="run under SCHED_IDLE")
    args = parser.parse_args()
    lower_cpu_priority(args.nice, idle=args.idle)
    asyncio.run(serve())


if __name__ == "__main__":
    main()
