"""API keys: who may call ingest and status, and whose jobs and photos a caller sees.

`PHOTOBUS_API_KEYS` lists `name:sha256hex` entries, comma-separated. Only hashes are
configured; a presented key is hashed and compared with *every* stored hash through
`hmac.compare_digest`, with no early exit, so timing tells neither whether a key
matched nor which one. The entry's name becomes the request's owner: the jobs and
photos it creates belong to it. Several entries may share a name (key rotation).

Keys travel as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Health, readiness,
metrics and the OpenAPI document stay open; a failure is a 401 JSON error with
`WWW-Authenticate: Bearer`, never echoing what was sent.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

# request[OWNER]: the authenticated caller's name.
OWNER = web.RequestKey("owner", str)
PUBLIC_PATHS: frozenset[str] = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})
NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
DIGEST = re.compile(r"[0-9a-fA-F]{64}")

SessionOwner = Callable[[web.Request], str | None]
Challenge = Callable[[web.Request], web.StreamResponse | None]


class InvalidApiKeysError(ValueError):
    """`PHOTOBUS_API_KEYS` is malformed; the message says which entry and how to fix it."""


def hash_key(key: str) -> str:
    """The lowercase hex SHA-256 of a key: what `PHOTOBUS_API_KEYS` stores."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKeys:
    entries: tuple[tuple[str, bytes], ...] = ()  # (owner name, SHA-256 digest)

    @classmethod
    def parse(cls, text: str) -> ApiKeys:
        """`name:sha256hex,...`; raises InvalidApiKeysError naming the bad entry's position
        (never its text: a key pasted by mistake must not reach the logs)."""
        entries: list[tuple[str, bytes]] = []
        for position, raw in enumerate(text.split(","), start=1):
            entry = raw.strip()
            if not entry:
                continue
            name, sep, digest = entry.partition(":")
            if not sep or not NAME.fullmatch(name.strip()) or not DIGEST.fullmatch(digest.strip()):
                raise InvalidApiKeysError(
                    f"PHOTOBUS_API_KEYS entry {position} is not `name:sha256hex`: the name is "
                    "1-64 of A-Z a-z 0-9 _ . @ -, the hash 64 hex digits "
                    "(`printf %s KEY | sha256sum`); the key itself never goes in the setting"
                )
            entries.append((name.strip(), bytes.fromhex(digest.strip())))
        digests = [d for _, d in entries]
        if len(set(digests)) != len(digests):
            raise InvalidApiKeysError(
                "PHOTOBUS_API_KEYS lists the same key hash twice: each key belongs to one name"
            )
        return cls(tuple(entries))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __repr__(self) -> str:
        return f"ApiKeys(names={sorted({n for n, _ in self.entries})})"

    def owner_of(self, key: str) -> str | None:
        """The name whose hash matches `key`, comparing against every entry in constant time."""
        presented = hashlib.sha256(key.encode()).digest()
        owner: str | None = None
        for name, digest in self.entries:
            matched = hmac.compare_digest(presented, digest)
            owner = name if matched else owner
        return owner


def presented_key(request: web.Request) -> str | None:
    """The key from `Authorization: Bearer <key>` or else `X-API-Key`; None when absent."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    key = request.headers.get("X-API-Key", "").strip()
    return key or None


def is_public(request: web.Request) -> bool:
    return request.path in PUBLIC_PATHS


def unauthorized(detail: str, *, invalid: bool) -> web.Response:
    challenge = 'Bearer realm="photobus"' + (', error="invalid_token"' if invalid else "")
    return web.json_response(
        {"error": "unauthorized", "detail": detail},
        status=401,
        headers={"WWW-Authenticate": challenge},
    )


MISSING = (
    "this route needs an API key: send `Authorization: Bearer <key>` (or `X-API-Key: <key>`); "
    "the CLI reads it from PHOTOBUS_API_KEY"
)
INVALID = "the API key is not valid: check PHOTOBUS_API_KEY, or ask for a key"


def api_key_middleware(
    keys: ApiKeys,
    *,
    public: Callable[[web.Request], bool] = is_public,
    session_owner: SessionOwner | None = None,
    challenge: Challenge | None = None,
) -> Middleware:
    """Set `request["owner"]` from the key (or, failing one, `session_owner`), or answer 401.

    `challenge` may answer an unauthenticated request another way (the gallery sends
    browsers to its sign-in page); returning None keeps the 401.
    """

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if public(request):
            return await handler(request)
        key = presented_key(request)
        owner = keys.owner_of(key) if key is not None else None
        if owner is None and key is None and session_owner is not None:
            owner = session_owner(request)
        if owner is None:
            if key is None and challenge is not None:
                redirect = challenge(request)
                if redirect is not None:
                    return redirect
            return unauthorized(INVALID if key is not None else MISSING, invalid=key is not None)
        request[OWNER] = owner
        return await handler(request)

    return authenticate


def with_api_keys(
    app: web.Application,
    keys: ApiKeys,
    *,
    public: Callable[[web.Request], bool] = is_public,
    session_owner: SessionOwner | None = None,
    challenge: Challenge | None = None,
) -> None:
    """Guard every route of `app` (but the public ones) with `keys`; nothing when empty.

    Appended last, so it runs inside CORS (preflights need no key) and the metrics.
    """
    if keys:
        middleware = api_key_middleware(
            keys, public=public, session_owner=session_owner, challenge=challenge
        )
        app.middlewares.append(middleware)


def request_owner(request: web.Request) -> str | None:
    """The authenticated caller; None when the service runs without keys."""
    return request.get(OWNER)
