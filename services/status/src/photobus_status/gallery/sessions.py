"""Gallery sessions: a signed cookie naming who signed in, never holding their key.

The cookie carries `{name, session id, CSRF token, expiry}` and an HMAC-SHA256 of them
under `PHOTOBUS_SESSION_SECRET` (random at start when unset: sessions then end with the
process). Pages need only the name, so any replica sharing the secret serves them. The
key itself stays in this process's memory, by session id, for one purpose: forwarding
the gallery's uploads to ingest (see `photobus_status.gallery.signin`). Browsers get it
HttpOnly, SameSite=Strict, and Secure whenever the request came over TLS.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field

from aiohttp import web
from photobus_common.auth import ApiKeys

COOKIE = "photobus_session"
LIFETIME_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Session:
    name: str
    session_id: str
    csrf_token: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Sessions:
    secret: bytes
    keys: ApiKeys
    lifetime: int = LIFETIME_SECONDS
    # session id -> (key, expiry): only to forward uploads; lost on restart by design.
    _held: dict[str, tuple[str, int]] = field(default_factory=dict, repr=False)

    def sign_in(self, key: str, *, now: float | None = None) -> Session | None:
        """A new session for a valid key; None for any other."""
        name = self.keys.owner_of(key)
        if name is None:
            return None
        expires = int(now if now is not None else time.time()) + self.lifetime
        session = Session(name, secrets.token_urlsafe(18), secrets.token_urlsafe(24), expires)
        self._forget_expired(now)
        self._held[session.session_id] = (key, expires)
        return session

    def sign_out(self, session: Session) -> None:
        self._held.pop(session.session_id, None)

    def key_of(self, session: Session) -> str | None:
        held = self._held.get(session.session_id)
        return held[0] if held is not None else None

    def encode(self, session: Session) -> str:
        payload = json.dumps(
            {
                "n": session.name,
                "s": session.session_id,
                "c": session.csrf_token,
                "e": session.expires,
            },
            separators=(",", ":"),
        ).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def decode(self, value: str, *, now: float | None = None) -> Session | None:
        """The session in a cookie value, if this secret signed it and it has not expired."""
        payload_text, _, mac_text = value.partition(".")
        try:
            payload, mac = _unb64(payload_text), _unb64(mac_text)
            if not hmac.compare_digest(mac, self._mac(payload)):
                return None
            fields = json.loads(payload)
            session = Session(
                str(fields["n"]), str(fields["s"]), str(fields["c"]), int(fields["e"])
            )
        except (ValueError, binascii.Error, KeyError, TypeError):
            return None
        if session.expires <= (now if now is not None else time.time()):
            return None
        # A key revoked since sign-in ends the session: the name must still hold a key.
        if session.name not in {name for name, _ in self.keys.entries}:
            return None
        return session

    def read(self, request: web.Request) -> Session | None:
        value = request.cookies.get(COOKIE)
        return self.decode(value) if value else None

    def set_cookie(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        response.set_cookie(
            COOKIE,
            self.encode(session),
            max_age=self.lifetime,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=behind_tls(request),
        )

    def clear_cookie(self, request: web.Request, response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path="/", secure=behind_tls(request), samesite="Strict")

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.secret, payload, hashlib.sha256).digest()

    def _forget_expired(self, now: float | None) -> None:
        moment = now if now is not None else time.time()
        for session_id in [s for s, (_, e) in self._held.items() if e <= moment]:
            del self._held[session_id]


def behind_tls(request: web.Request) -> bool:
    """Whether the browser reached us over HTTPS, directly or through the gateway."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"
