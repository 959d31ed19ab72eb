"""The fakes as a separate process, driven through their control API as e2e tests will."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from tests.fakes import FakeControl, Fault
from tests.fakes.credentials import publisher_env
from tests.fakes.process import fakes_process

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
JPEG = (CORPUS / "camera" / "Kodak_CX7530.jpg").read_bytes()


async def test_all_three_fakes_in_one_process(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({"imgur": {"client_id": "e2e-client"}}))

    async with fakes_process(tmp_path / "fakes.json", credentials_file=credentials) as urls:
        assert set(urls) == {"imgur", "flickr", "gphotos"}
        imgur = FakeControl(urls["imgur"])
        await imgur.set_faults(queue=[Fault.status(429, retry_after="1")])
        headers = {"Authorization": "Client-ID e2e-client"}
        statuses = []
        async with aiohttp.ClientSession() as http:
            for _ in range(2):
                form = aiohttp.FormData()
                form.add_field("image", JPEG, filename="k.jpg")
                async with http.post(f"{urls['imgur']}/3/image", data=form, headers=headers) as r:
                    statuses.append(r.status)

        assert statuses == [429, 200]
        [upload] = await imgur.uploads()
        assert upload.size == len(JPEG)
        assert await imgur.upload_content(upload.remote_id) == JPEG
        assert [r.status for r in await imgur.requests()] == [429, 200]
        assert await FakeControl(urls["flickr"]).uploads() == []
        assert await FakeControl(urls["gphotos"]).gphotos_received() == []
        env = publisher_env(urls)
        assert env["PHOTOBUS_FLICKR_UPLOAD_URL"] == f"{urls['flickr']}/services/upload/"
        assert env["PHOTOBUS_GPHOTOS_TOKEN_URL"] == f"{urls['gphotos']}/token"
