"""Flickr's three-legged OAuth 1.0a endpoints (§B.2), so `photobus auth flickr` can be
tested: request token, an auto-approving authorize page, access token."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.flickr_render import FlickrFault
from tests.fakes.flickr_store import RequestToken

if TYPE_CHECKING:
    from tests.fakes.flickr import FakeFlickr


def _oauth_reply(status: int, **fields: str) -> web.Response:
    """Token endpoints answer text/plain, form-encoded; failures as `oauth_problem=...`."""
    return web.Response(status=status, text=urlencode(fields), content_type="text/plain")


class FlickrOAuthFlow:
    def __init__(self, fake: FakeFlickr) -> None:
        self.fake = fake

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", "/services/oauth/request_token", self.request_token)
        router.add_get("/services/oauth/authorize", self.authorize)
        router.add_route("*", "/services/oauth/access_token", self.access_token)

    async def request_token(self, request: web.Request) -> web.Response:
        pairs = await self.fake.params(request)
        try:
            oauth = self.fake.verify(request, pairs, {})
        except FlickrFault as refused:
            problem = "consumer_key_unknown" if refused.code == 100 else "signature_invalid"
            return _oauth_reply(401, oauth_problem=problem)
        callback = oauth.get("oauth_callback")
        if not callback:
            return _oauth_reply(400, oauth_problem="parameter_absent")
        token = RequestToken(secrets.token_hex(8), secrets.token_hex(8), callback)
        self.fake.store.request_tokens[token.token] = token
        return _oauth_reply(
            200,
            oauth_callback_confirmed="true",
            oauth_token=token.token,
            oauth_token_secret=token.secret,
        )

    def approve(self, oauth_token: str, perms: str | None = None) -> str:
        """The user grants a pending request token (as on Flickr's page); returns the verifier."""
        token = self.fake.store.request_tokens[oauth_token]
        token.perms = perms or token.perms or "delete"
        token.verifier = token.verifier or secrets.token_hex(8)
        return token.verifier

    async def authorize(self, request: web.Request) -> web.Response:
        """The browser page, auto-approved: redirects to the callback with the verifier, or
        (callback "oob") shows the verifier for the user to type in."""
        oauth_token = request.query.get("oauth_token", "")
        perms = request.query.get("perms", "read")
        if oauth_token not in self.fake.store.request_tokens or perms not in (
            "read",
            "write",
            "delete",
        ):
            return web.Response(status=404, text="Unknown or expired request token")
        verifier = self.approve(oauth_token, perms)
        callback = self.fake.store.request_tokens[oauth_token].callback
        if callback == "oob":
            page = f"<html><body>Your code: <code id='verifier'>{verifier}</code></body></html>"
            return web.Response(text=page, content_type="text/html")
        separator = "&" if "?" in callback else "?"
        query = urlencode({"oauth_token": oauth_token, "oauth_verifier": verifier})
        raise web.HTTPFound(f"{callback}{separator}{query}")

    async def access_token(self, request: web.Request) -> web.Response:
        pairs = await self.fake.params(request)
        secret_of = {t.token: t.secret for t in self.fake.store.request_tokens.values()}
        try:
            oauth = self.fake.verify(request, pairs, secret_of)
        except FlickrFault as refused:
            problem = "token_rejected" if refused.code in (97, 98) else "signature_invalid"
            return _oauth_reply(401, oauth_problem=problem)
        pending = self.fake.store.request_tokens.get(oauth.get("oauth_token", ""))
        if pending is None or pending.verifier is None or pending.perms is None:
            return _oauth_reply(401, oauth_problem="token_rejected")
        if oauth.get("oauth_verifier") != pending.verifier:
            return _oauth_reply(401, oauth_problem="verifier_invalid")
        del self.fake.store.request_tokens[pending.token]
        granted = f"72157{secrets.randbelow(10**12):012d}-{secrets.token_hex(8)}"
        self.fake.add_access_token(granted, secrets.token_hex(8), pending.perms)
        return _oauth_reply(
            200,
            fullname=self.fake.user.fullname,
            oauth_token=granted,
            oauth_token_secret=self.fake.access_tokens[granted].secret,
            user_nsid=self.fake.user.nsid,
            username=self.fake.user.username,
        )

    async def control_approve(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("oauth_token") not in self.fake.store.request_tokens:
            return web.json_response({"error": "unknown request token"}, status=404)
        verifier = self.approve(body["oauth_token"], body.get("perms"))
        return web.json_response({"oauth_verifier": verifier})
