"""OAuth 2.0 authorization-code grants for the Imgur and Google fakes (`photobus auth`).

The consent page auto-approves: it redirects to `redirect_uri` with `?code=`, or, with
no redirect URI (Imgur apps registered without a callback), shows the code as
`<code id='code'>…</code>` for the person to paste. Codes are single-use.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aiohttp import web


@dataclass(frozen=True)
class Grant:
    client_id: str
    redirect_uri: str | None
    scopes: frozenset[str]


@dataclass
class AuthorizationCodes:
    client_id: str
    pending: dict[str, Grant] = field(default_factory=dict)

    def consent_page(self, request: web.Request, *, scope_required: bool) -> web.Response:
        query = request.query
        if query.get("client_id") != self.client_id:
            return web.Response(status=400, text="Error 401: invalid_client (unknown client_id)")
        if query.get("response_type") != "code":
            return web.Response(status=400, text="unsupported_response_type")
        scopes = frozenset(query.get("scope", "").split())
        if scope_required and not scopes:
            return web.Response(status=400, text="Error 400: invalid_request (missing scope)")
        code = "fake-code-" + secrets.token_urlsafe(16)
        redirect_uri = query.get("redirect_uri")
        self.pending[code] = Grant(self.client_id, redirect_uri, scopes)
        if not redirect_uri:
            page = f"<html><body>Your code: <code id='code'>{code}</code></body></html>"
            return web.Response(text=page, content_type="text/html")
        separator = "&" if "?" in redirect_uri else "?"
        params = {"code": code} | ({"state": query["state"]} if "state" in query else {})
        raise web.HTTPFound(f"{redirect_uri}{separator}{urlencode(params)}")

    def redeem(self, code: object, redirect_uri: object) -> Grant | None:
        """The grant behind a code, once; None when unknown, used, or the redirect differs."""
        grant = self.pending.pop(str(code), None)
        if grant is None or (grant.redirect_uri or None) != (redirect_uri or None):
            return None
        return grant
