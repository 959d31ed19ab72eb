"""API keys: parsing, constant-time matching, the middleware, and the loopback-only rule."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from photobus_common import auth
from photobus_common.auth import ApiKeys, InvalidApiKeysError, hash_key, with_api_keys
from photobus_common.publishing.settings import PublisherSettings
from photobus_common.service import listen_host, new_app
from photobus_common.settings import CommonSettings
from pydantic import ValidationError

ALICE_KEY = "alice-key-0123456789"
BOB_KEY = "bob-key-9876543210"
KEYS = f"alice:{hash_key(ALICE_KEY)}, bob:{hash_key(BOB_KEY)}"


def test_entries_parse_into_names_and_digests() -> None:
    keys = ApiKeys.parse(KEYS + ",")
    assert [name for name, _ in keys.entries] == ["alice", "bob"]
    assert keys.owner_of(ALICE_KEY) == "alice"
    assert keys.owner_of(BOB_KEY) == "bob"
    assert keys.owner_of("nope") is None
    assert keys.owner_of("") is None


def test_one_name_may_hold_several_keys_for_rotation() -> None:
    keys = ApiKeys.parse(f"alice:{hash_key('old')},alice:{hash_key('new')}")
    assert keys.owner_of("old") == keys.owner_of("new") == "alice"


def test_upper_case_hashes_are_accepted() -> None:
    assert ApiKeys.parse(f"a:{hash_key('k').upper()}").owner_of("k") == "a"


@pytest.mark.parametrize(
    "text",
    [
        "alice",  # no hash
        "alice:",  # empty hash
        f":{hash_key('k')}",  # no name
        "alice:abc123",  # too short
        f"alice:{hash_key('k')}00",  # too long
        f"alice:{'g' * 64}",  # not hex
        f"al ice:{hash_key('k')}",  # a space in the name
        f"<b>:{hash_key('k')}",
        "alice:the-plain-key-by-mistake",
    ],
)
def test_malformed_entries_are_refused_without_echoing_them(text: str) -> None:
    with pytest.raises(InvalidApiKeysError, match="entry 1 is not `name:sha256hex`") as caught:
        ApiKeys.parse(text)
    assert text.partition(":")[2] not in str(caught.value) or not text.partition(":")[2]


def test_the_same_hash_under_two_names_is_refused() -> None:
    with pytest.raises(InvalidApiKeysError, match="same key hash twice"):
        ApiKeys.parse(f"a:{hash_key('k')},b:{hash_key('k')}")


def test_every_entry_is_compared_whichever_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return bool(real(a, b))

    monkeypatch.setattr(hmac, "compare_digest", counting)
    keys = ApiKeys.parse(",".join(f"n{i}:{hash_key(f'key{i}')}" for i in range(5)))
    for presented in ("key0", "key4", "unknown"):
        calls.clear()
        keys.owner_of(presented)
        assert len(calls) == 5, presented  # no early exit on a match
        assert all(len(a) == len(b) == 32 for a, b in calls)  # digests, never raw keys


def test_reprs_hide_hashes_and_secrets() -> None:
    keys = ApiKeys.parse(KEYS)
    assert hash_key(ALICE_KEY) not in repr(keys)
    settings = PublisherSettings(
        api_keys=KEYS,
        amqp_url="amqp://photobus:amqp-pass-123@rabbit:5672/",
        database_url="postgresql://photobus:pg-pass-456@db/photobus",
        imgur_client_secret="imgur-secret-789",
        imgur_refresh_token="imgur-refresh-000",
    )
    shown = repr(settings) + str(settings)
    for secret in (
        hash_key(ALICE_KEY),
        "amqp-pass-123",
        "pg-pass-456",
        "imgur-secret-789",
        "imgur-refresh-000",
    ):
        assert secret not in shown
    assert "rabbit:5672" in shown  # the rest of the URL still helps


def test_settings_refuse_malformed_keys_at_start_without_the_value() -> None:
    with pytest.raises(ValidationError, match="PHOTOBUS_API_KEYS entry 2") as caught:
        CommonSettings(api_keys=f"alice:{hash_key('k')},bob:plain-secret-key")
    assert "plain-secret-key" not in str(caught.value)


def test_settings_treat_an_empty_list_as_no_keys() -> None:
    assert CommonSettings(api_keys=" , ").api_keys is None
    assert not CommonSettings().api_key_table
    assert CommonSettings(api_keys=KEYS).api_key_table.owner_of(BOB_KEY) == "bob"


async def whoami(request: web.Request) -> web.Response:
    return web.json_response({"owner": auth.request_owner(request)})


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    app = new_app()
    app.router.add_get("/whoami", whoami)
    app.router.add_get("/openapi.json", whoami)
    with_api_keys(app, ApiKeys.parse(KEYS))
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_a_valid_key_names_the_owner(client: TestClient[Any, Any]) -> None:
    bearer = await client.get("/whoami", headers={"Authorization": f"Bearer {ALICE_KEY}"})
    assert (bearer.status, await bearer.json()) == (200, {"owner": "alice"})
    header = await client.get("/whoami", headers={"X-API-Key": BOB_KEY})
    assert (header.status, await header.json()) == (200, {"owner": "bob"})


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {ALICE_KEY}"},
        {"Authorization": "Bearer wrong-key-secret"},
        {"X-API-Key": "wrong-key-secret"},
        {"Authorization": f"Bearer {ALICE_KEY}x"},
    ],
)
async def test_a_missing_or_wrong_key_is_a_401_that_echoes_nothing(
    client: TestClient[Any, Any], headers: dict[str, str]
) -> None:
    response = await client.get("/whoami", headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = await response.json()
    assert body["error"] == "unauthorized"
    assert "API key" in body["detail"]
    text = await response.text()
    assert "wrong-key-secret" not in text and ALICE_KEY not in text


async def test_health_metrics_and_the_document_stay_open(client: TestClient[Any, Any]) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        response = await client.get(path)
        assert response.status == 200, path


async def test_without_keys_nothing_is_guarded() -> None:
    app = new_app()
    app.router.add_get("/whoami", whoami)
    with_api_keys(app, ApiKeys())
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/whoami")
        assert (response.status, await response.json()) == (200, {"owner": None})


def test_without_keys_services_listen_on_loopback_and_say_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        assert listen_host("0.0.0.0", api_keys_configured=False) == "127.0.0.1"
    assert "no API keys configured: listening on 127.0.0.1 only" in caplog.text
    assert "PHOTOBUS_BIND_HOST=0.0.0.0 is ignored" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert listen_host("0.0.0.0", api_keys_configured=True) == "0.0.0.0"
    assert caplog.text == ""
