"""Start the fakes as a child process (`python -m tests.fakes ...`) from a test."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def fakes_process(
    state_file: Path,
    which: str = "all",
    *,
    credentials_file: Path | None = None,
    startup_timeout: float = 20.0,
) -> AsyncIterator[dict[str, str]]:
    """Yields `{"imgur": url, ...}` once the fakes listen; stops the process on exit.
    Drive them with `FakeControl(url)`."""
    state_file.unlink(missing_ok=True)
    args = [sys.executable, "-m", "tests.fakes", which, "--state-file", str(state_file)]
    if credentials_file is not None:
        args += ["--credentials", str(credentials_file)]
    child = await asyncio.create_subprocess_exec(
        *args, cwd=REPO_ROOT, stdout=asyncio.subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + startup_timeout
        while not state_file.exists():
            if child.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the fakes did not start (exit code {child.returncode})")
            await asyncio.sleep(0.05)  # polling the state file, with a deadline
        yield json.loads(state_file.read_text())
    finally:
        if child.returncode is None:
            child.terminate()
        await child.wait()
