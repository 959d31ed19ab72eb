"""`photobus auth …` run as a command against the fakes: the test reads the printed URL,
plays the browser (the fakes' consent pages auto-approve), and types the code on stdin."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from tests.fakes.credentials import default_flickr, default_gphotos, default_imgur

URL = re.compile(r"https?://\S+")


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str


def settings(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


async def run_auth(
    args: list[str],
    answer: str | None = None,
    pick: Callable[[str], str] = str,
    browse: bool = True,
) -> tuple[Finished, str]:
    """Run `photobus auth ARGS`; open the printed URL (without following redirects) and
    answer the prompt with `answer`, or with what `pick` finds in the page/redirect."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOBUS_")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "photobus_client",
        "auth",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stdin and process.stdout and process.stderr
    shown = ""
    async with asyncio.timeout(30):
        while (match := URL.search(shown)) is None:
            line = await process.stderr.readline()
            if not line:
                break
            shown += line.decode()
        page = ""
        if match is not None and browse:
            async with (
                aiohttp.ClientSession() as browser,
                browser.get(match.group(0), allow_redirects=False) as r,
            ):
                page = r.headers.get("Location") or await r.text()
        typed = answer if answer is not None else pick(page)
        process.stdin.write(typed.encode() + b"\n")
        await process.stdin.drain()
        process.stdin.close()
        out, err = await process.communicate()
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), shown + err.decode()), page


def code_in(page: str, element_id: str) -> str:
    match = re.search(rf"<code id='{element_id}'>([^<]+)</code>", page)
    assert match is not None, page
    return match.group(1)


async def test_imgur_code_grant_prints_the_env_lines() -> None:
    async with default_imgur() as imgur:
        args = [
            "imgur",
            "--client-id",
            imgur.client_id,
            "--client-secret",
            imgur.client_secret,
            "--api-url",
            imgur.url,
        ]
        done, page = await run_auth(args, pick=lambda page: code_in(page, "code"))
    assert done.code == 0, done.stderr
    assert (
        f"{imgur.url}/oauth2/authorize?client_id={imgur.client_id}&response_type=code"
        in done.stderr
    )
    assert "code=" not in page and code_in(page, "code")
    assert settings(done.stdout) == {
        "PHOTOBUS_IMGUR_CLIENT_ID": imgur.client_id,
        "PHOTOBUS_IMGUR_CLIENT_SECRET": imgur.client_secret,
        "PHOTOBUS_IMGUR_REFRESH_TOKEN": imgur.refresh_token,
        "PHOTOBUS_IMGUR_API_URL": imgur.url,
    }
    assert "password" not in done.stderr.lower()


async def test_imgur_refuses_a_wrong_code_in_one_line() -> None:
    async with default_imgur() as imgur:
        args = [
            "imgur",
            "--client-id",
            imgur.client_id,
            "--client-secret",
            imgur.client_secret,
            "--api-url",
            imgur.url,
        ]
        done, _ = await run_auth(args, answer="not-the-code", browse=False)
    assert done.code == 2
    assert done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert "refused the code" in last and "Invalid authorization code" in last


async def test_missing_client_id_is_a_usage_error() -> None:
    done, _ = await run_auth(["imgur"], answer="", browse=False)
    assert done.code == 2
    assert "PHOTOBUS_IMGUR_CLIENT_ID" in done.stderr and "Traceback" not in done.stderr


async def test_google_installed_app_flow_with_a_pasted_redirect_address() -> None:
    async with default_gphotos() as google:
        args = [
            "google",
            "--client-id",
            google.client_id,
            "--client-secret",
            google.client_secret,
            "--authorize-url",
            f"{google.url}/o/oauth2/v2/auth",
            "--token-url",
            f"{google.url}/token",
        ]
        done, location = await run_auth(args)  # pastes the whole redirect address
    assert done.code == 0, done.stderr
    assert location.startswith("http://127.0.0.1?code=") or location.startswith(
        "http://127.0.0.1/?code="
    )
    assert "access_type=offline" in done.stderr and "prompt=consent" in done.stderr
    assert "photoslibrary.appendonly" in done.stderr
    assert settings(done.stdout) == {
        "PHOTOBUS_GPHOTOS_CLIENT_ID": google.client_id,
        "PHOTOBUS_GPHOTOS_CLIENT_SECRET": google.client_secret,
        "PHOTOBUS_GPHOTOS_REFRESH_TOKEN": google.refresh_token,
        "PHOTOBUS_GPHOTOS_TOKEN_URL": f"{google.url}/token",
    }


async def test_flickr_oauth1_flow_with_a_typed_verifier() -> None:
    async with default_flickr() as flickr:
        args = [
            "flickr",
            "--api-key",
            flickr.consumer_key,
            "--api-secret",
            flickr.consumer_secret,
            "--oauth-url",
            flickr.url,
        ]
        env_before = set(flickr.access_tokens)
        done, page = await run_auth(args, pick=lambda page: code_in(page, "verifier"))
        if done.code != 0:
            raise AssertionError(done.stderr)
        got = settings(done.stdout)
        token = got["PHOTOBUS_FLICKR_OAUTH_TOKEN"]
        assert token not in env_before
        issued = flickr.access_tokens[token]
    assert "perms=write" in done.stderr
    assert code_in(page, "verifier")
    assert issued.secret == got["PHOTOBUS_FLICKR_OAUTH_TOKEN_SECRET"]
    assert issued.perms == "write"
    assert got["PHOTOBUS_FLICKR_API_KEY"] == flickr.consumer_key
    assert got["PHOTOBUS_FLICKR_API_SECRET"] == flickr.consumer_secret


def test_pasted_codes_may_be_bare_or_whole_addresses() -> None:
    from photobus_client.auth import pasted_value

    assert pasted_value("  4/0Ab-xyz \n", "code") == "4/0Ab-xyz"
    assert pasted_value("http://127.0.0.1/?code=4%2F0Ab&scope=x", "code") == "4/0Ab"
    assert pasted_value("https://cb.example/?state=s&code=abc", "code") == "abc"


def test_flickr_oauth_endpoints_sit_beside_a_look_alike_rest_url() -> None:
    from photobus_client.auth.flickr import oauth_base_of

    assert oauth_base_of("https://api.flickr.com/services/rest/") is None  # flickrapi's own
    assert oauth_base_of("http://127.0.0.1:5000/services/rest/") == "http://127.0.0.1:5000"
