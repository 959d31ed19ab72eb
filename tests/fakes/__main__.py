"""Run fakes as their own process, for end-to-end tests of services that run as processes.

    python -m tests.fakes imgur|flickr|gphotos|all [--port N] [--state-file PATH]
                         [--credentials PATH]

Writes `{"imgur": url, ...}` to the state file (atomically) and prints it as one line,
then serves until SIGTERM or SIGINT. `--port` applies to a single fake; `all` picks
three free ports. `--credentials` is JSON like `{"imgur": {"client_id": ...}, ...}`,
merged over the defaults in tests/fakes/credentials.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.fakes.credentials import default_flickr, default_gphotos, default_imgur
from tests.fakes.server import FakeServer

NAMES = ("imgur", "flickr", "gphotos")


def build_fake(name: str, overrides: dict[str, Any]) -> FakeServer:
    builders = {"imgur": default_imgur, "flickr": default_flickr, "gphotos": default_gphotos}
    return builders[name](**overrides)


def write_state(path: Path, urls: dict[str, str]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(urls))
    os.replace(partial, path)


async def serve(names: list[str], port: int, state_file: Path | None, credentials: Any) -> None:
    fakes = {name: build_fake(name, credentials.get(name, {})) for name in names}
    for fake in fakes.values():
        await fake.start(port if len(fakes) == 1 else 0)
    urls = {name: fake.url for name, fake in fakes.items()}
    if state_file is not None:
        write_state(state_file, urls)
    print(json.dumps(urls), flush=True)
    await serve_until_signalled(fakes.values())


async def serve_until_signalled(fakes: Iterable[FakeServer]) -> None:
    """Keep the started fakes serving until SIGTERM or SIGINT, then stop them."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    for fake in fakes:
        await fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes", description=__doc__)
    parser.add_argument("which", choices=[*NAMES, "all"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-file", type=Path)
    parser.add_argument("--credentials", type=Path)
    args = parser.parse_args()
    credentials = json.loads(args.credentials.read_text()) if args.credentials else {}
    names = list(NAMES) if args.which == "all" else [args.which]
    asyncio.run(serve(names, args.port, args.state_file, credentials))


if __name__ == "__main__":
    main()
