"""The command's own errors: one line on stderr, exit code 2, never a traceback."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web


async def photobus(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "photobus_client",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("PHOTOBUS_")} | env,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def locked() -> AsyncIterator[str]:
    """A photobus that wants a key it is not given (as ingest/status answer with API keys on)."""

    async def refuse(request: web.Request) -> web.Response:
        if request.path == "/healthz":
            return web.json_response({"status": "ok"})
        detail = "the API key is not valid: check PHOTOBUS_API_KEY, or ask for a key"
        return web.json_response({"error": "unauthorized", "detail": detail}, status=401)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_a_refused_key_is_one_line_and_exit_2(locked: str, tmp_path: Path) -> None:
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xffphoto")
    env = {"PHOTOBUS_URL": locked, "PHOTOBUS_API_KEY": "wrong", "XDG_CACHE_HOME": str(tmp_path)}
    code, out, err = await photobus("upload", str(photo), env=env)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert lines[-1].startswith("photobus: error: photobus refused the API key (HTTP 401")
    assert "Traceback" not in err
    code, out, err = await photobus("ls", env=env | {"PHOTOBUS_STATUS_URL": locked})
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "check PHOTOBUS_API_KEY" in err


async def test_usage_errors_exit_2(tmp_path: Path) -> None:
    env = {"PHOTOBUS_URL": "http://127.0.0.1:9", "XDG_CACHE_HOME": str(tmp_path)}
    (tmp_path / "notes.txt").write_text("not a photo")
    code, _, err = await photobus(
        "upload", str(tmp_path / "empty-folder-missing"), "--only", "myspace", env=env
    )
    assert code == 2 and "unknown destination myspace" in err
    code, _, err = await photobus("upload", "--concurrency", "0", str(tmp_path), env=env)
    assert code == 2 and "must be 1 or more" in err
    (tmp_path / "empty").mkdir()
    code, _, err = await photobus("upload", str(tmp_path / "empty"), env=env)
    assert (
        code == 2
        and err.strip() == f"photobus: nothing to upload: no image files in {tmp_path / 'empty'}"
    )
