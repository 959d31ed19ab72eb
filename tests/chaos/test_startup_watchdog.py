"""A service whose start never finishes exits non-zero, so its supervisor restarts it
(photobus_common.service: PHOTOBUS_STARTUP_TIMEOUT)."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from tests.support.stack import ROOT, free_port

pytestmark = [pytest.mark.timeout(300)]


async def test_a_start_stuck_past_the_limit_exits_with_code_3() -> None:
    # Nothing listens on this port: the broker connect retries and the start never finishes.
    env = {
        **os.environ,
        "PHOTOBUS_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}/",
        "PHOTOBUS_THUMBNAILER_PORT": str(free_port()),
        "PHOTOBUS_STARTUP_TIMEOUT": "2",
        "PHOTOBUS_LOG_FORMAT": "json",
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "photobus_thumbnailer",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(child.communicate(), 240)
    assert child.returncode == 3
    assert b"start did not finish in 2s" in stderr
