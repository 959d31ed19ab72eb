"""A fake Flickr (contracts/destinations.md §B): OAuth 1.0a-signed uploads and REST calls,
verified the way Flickr verifies them, plus the three-legged OAuth endpoints."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.faults import FaultKind
from tests.fakes.flickr_oauth import parse_authorization, signature_matches
from tests.fakes.flickr_render import FlickrFault, element, fail_xml, ok_xml, rest_fail, rest_ok
from tests.fakes.flickr_rest import FlickrRest, FlickrUser
from tests.fakes.flickr_store import (
    AccessToken,
    FlickrStore,
    Photo,
    RequestToken,
    Ticket,
    has_perms,
    parse_tags,
)
from tests.fakes.recording import file_bytes
from tests.fakes.server import CONTROL_PREFIX, FakeServer
from tests.fakes.sniff import sniff_content_type

Pairs = list[tuple[str, str]]
UPLOAD_FIELDS = (
    "title",
    "description",
    "tags",
    "is_public",
    "is_friend",
    "is_family",
    "safety_level",
    "content_type",
    "hidden",
    "async",
    "dedup_check",
)


def _flag(value: str | None, default: int) -> int:
    return int(value) if value in ("0", "1") else default


def _oauth_reply(status: int, **fields: str) -> web.Response:
    """Token endpoints answer text/plain, form-encoded; failures as `oauth_problem=...`."""
    return web.Response(status=status, text=urlencode(fields), content_type="text/plain")


class FakeFlickr(FakeServer):
    name = "flickr"

    def __init__(
        self,
        *,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        perms: str = "delete",
        user_nsid: str = "12345678@N00",
        username: str = "photobus-test",
        fullname: str = "Photobus Test",
        max_upload_bytes: int = 200 * 1024 * 1024,
    ) -> None:
        super().__init__()
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.user = FlickrUser(user_nsid, username, fullname)
        self.max_upload_bytes = max_upload_bytes
        self.configured_token = AccessToken(access_token, access_token_secret, perms)
        self.access_tokens: dict[str, AccessToken] = {}
        self.store = FlickrStore()
        self.rest_api = FlickrRest(self.store, self.user)
        # Async uploads: checkTickets reports complete="0" this many times per ticket first.
        self.ticket_pending_checks = 0
        self.reset_state()

    def add_access_token(self, token: str, secret: str, perms: str) -> None:
        """Another token this user granted, e.g. one with only read perms."""
        self.access_tokens[token] = AccessToken(token, secret, perms)

    def expire_access_tokens(self) -> None:
        for token in self.access_tokens.values():
            token.revoked = True

    def reset_state(self) -> None:
        self.store = FlickrStore()
        self.rest_api = FlickrRest(self.store, self.user)
        self.access_tokens = {
            self.configured_token.token: AccessToken(**vars(self.configured_token))
        }

    def photo_url(self, photo_id: str) -> str:
        return self.user.photo_url(photo_id)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/services/upload/", self.upload)
        router.add_route("*", "/services/rest/", self.rest)
        router.add_route("*", "/services/oauth/request_token", self.request_token)
        router.add_get("/services/oauth/authorize", self.authorize)
        router.add_route("*", "/services/oauth/access_token", self.access_token)

    def add_control_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(CONTROL_PREFIX + "flickr/approve", self.control_approve)

    # -- signatures ------------------------------------------------------------------------

    @staticmethod
    async def _params(request: web.Request) -> Pairs:
        """Query and form fields as signed: every field but the `photo` file."""
        pairs = list(request.query.items())
        if request.method == "POST" and request.content_type in (
            "multipart/form-data",
            "application/x-www-form-urlencoded",
        ):
            form = await request.post()
            pairs += [(k, v) for k, v in form.items() if isinstance(v, str) and k != "photo"]
        return pairs

    def _verify(
        self, request: web.Request, pairs: Pairs, secret_of: dict[str, str]
    ) -> dict[str, str]:
        """Check the OAuth signature; returns the oauth_* parameters. `secret_of` maps the
        tokens this endpoint accepts to their secrets."""
        header = parse_authorization(request.headers.get("Authorization", ""))
        oauth = {**header, **{k: v for k, v in pairs if k.startswith("oauth_")}}
        consumer = oauth.get("oauth_consumer_key") or dict(pairs).get("api_key")
        if consumer != self.consumer_key:
            raise FlickrFault(100)
        if "oauth_signature" not in oauth:
            raise FlickrFault(97)
        token_secret = ""
        if "oauth_token" in oauth:
            if oauth["oauth_token"] not in secret_of:
                raise FlickrFault(98)
            token_secret = secret_of[oauth["oauth_token"]]
        signed = [*pairs, *header.items()]
        signed = [(k, v) for k, v in signed if k != "oauth_signature"]
        url = str(request.url.with_query(None))
        if oauth.get("oauth_signature_method") != "HMAC-SHA1" or not signature_matches(
            request.method,
            url,
            signed,
            oauth["oauth_signature"],
            self.consumer_secret,
            token_secret,
        ):
            raise FlickrFault(96)
        return oauth

    def _caller(self, request: web.Request, pairs: Pairs) -> AccessToken | None:
        """The user token of a signed call; None for an unsigned call carrying only api_key."""
        header = parse_authorization(request.headers.get("Authorization", ""))
        if not header and not any(k.startswith("oauth_") for k, _ in pairs):
            if dict(pairs).get("api_key") != self.consumer_key:
                raise FlickrFault(100)
            return None
        live = {t.token: t.secret for t in self.access_tokens.values() if not t.revoked}
        oauth = self._verify(request, pairs, live)
        return self.access_tokens[oauth["oauth_token"]] if "oauth_token" in oauth else None

    # -- REST ------------------------------------------------------------------------------

    async def rest(self, request: web.Request) -> web.Response:
        pairs = await self._params(request)
        params = dict(pairs)
        try:
            if params.get("format", "rest") not in ("rest", "json"):
                raise FlickrFault(111, f'Format "{params["format"]}" not found')
            token = self._caller(request, pairs)
            return rest_ok(params, self.rest_api.call(params, token))
        except FlickrFault as fault:
            return rest_fail(params, fault)

    # -- upload -----------------------------------------------------------------------------

    async def upload(self, request: web.Request) -> web.StreamResponse:
        pairs = await self._params(request)
        try:
            token = self._caller(request, pairs)
            if token is None or not has_perms(token.perms, "write"):
                granted = token.perms if token else "none"
                raise FlickrFault(
                    99,
                    f"Insufficient permissions. Method requires write privileges; {granted} granted.",
                )
        except FlickrFault as refused:
            return fail_xml(refused)
        fault = self.faults.take("upload")
        if fault is not None and fault.kind is FaultKind.HANG:
            return await self.hold_forever()
        if fault is not None and fault.kind is FaultKind.STATUS:
            status = fault.http_status or 500
            response = web.Response(status=status, text=f"<html><body>{status}</body></html>")
            response.content_type = "text/html"
            if fault.retry_after is not None:
                response.headers["Retry-After"] = fault.retry_after
            return response
        if fault is not None and fault.kind in (FaultKind.ERROR, FaultKind.PERMANENT):
            code = fault.code if fault.kind is FaultKind.ERROR and fault.code else 5
            return fail_xml(FlickrFault(code))
        try:
            answer = await self._store_upload(request, dict(pairs))
        except FlickrFault as refused:
            return fail_xml(refused)
        if fault is not None and fault.kind is FaultKind.DELAY:
            await asyncio.sleep(fault.seconds)  # stored already, as a real server would have
        return answer

    async def _store_upload(self, request: web.Request, params: dict[str, str]) -> web.Response:
        photo_field = (await request.post()).get("photo")
        data = file_bytes(photo_field)
        if data is None:
            raise FlickrFault(2)
        if not data:
            raise FlickrFault(4)
        if len(data) > self.max_upload_bytes:
            raise FlickrFault(8)
        mime = sniff_content_type(data)
        if mime is None or not mime.startswith("image/"):
            raise FlickrFault(5)
        sha256 = hashlib.sha256(data).hexdigest()
        if params.get("dedup_check") in ("1", "2"):
            for existing in self.store.photos.values():
                if existing.sha256 == sha256:
                    raise FlickrFault(9, duplicate_photo_id=existing.id)
        photo = Photo(
            id=self.store.new_photo_id(),
            owner=self.user.nsid,
            title=params.get("title", getattr(photo_field, "filename", None) or ""),
            description=params.get("description", ""),
            tags=parse_tags(params.get("tags", "")),
            is_public=_flag(params.get("is_public"), 1),
            is_friend=_flag(params.get("is_friend"), 0),
            is_family=_flag(params.get("is_family"), 0),
            sha256=sha256,
        )
        self.store.photos[photo.id] = photo
        fields = {key: params[key] for key in UPLOAD_FIELDS if key in params}
        self.record_upload(data, fields, photo.id, self.photo_url(photo.id))
        if params.get("async") == "1":
            ticket = Ticket(self.store.new_ticket_id(), photo.id, self.ticket_pending_checks)
            self.store.tickets[ticket.id] = ticket
            return ok_xml(element("ticketid", ticket.id))
        return ok_xml(element("photoid", photo.id))

    # -- three-legged OAuth -----------------------------------------------------------------------

    async def request_token(self, request: web.Request) -> web.Response:
        pairs = await self._params(request)
        try:
            oauth = self._verify(request, pairs, {})
        except FlickrFault as refused:
            problem = "consumer_key_unknown" if refused.code == 100 else "signature_invalid"
            return _oauth_reply(401, oauth_problem=problem)
        callback = oauth.get("oauth_callback")
        if not callback:
            return _oauth_reply(400, oauth_problem="parameter_absent")
        token = RequestToken(secrets.token_hex(8), secrets.token_hex(8), callback)
        self.store.request_tokens[token.token] = token
        return _oauth_reply(
            200,
            oauth_callback_confirmed="true",
            oauth_token=token.token,
            oauth_token_secret=token.secret,
        )

    def approve(self, oauth_token: str, perms: str | None = None) -> str:
        """The user grants a pending request token (as on Flickr's page); returns the verifier."""
        token = self.store.request_tokens[oauth_token]
        token.perms = perms or token.perms or "delete"
        token.verifier = token.verifier or secrets.token_hex(8)
        return token.verifier

    async def authorize(self, request: web.Request) -> web.Response:
        """The browser page, auto-approved: redirects to the callback with the verifier, or
        (callback "oob") shows the verifier for the user to type in."""
        oauth_token = request.query.get("oauth_token", "")
        perms = request.query.get("perms", "read")
        if oauth_token not in self.store.request_tokens or perms not in ("read", "write", "delete"):
            return web.Response(status=404, text="Unknown or expired request token")
        verifier = self.approve(oauth_token, perms)
        callback = self.store.request_tokens[oauth_token].callback
        if callback == "oob":
            page = f"<html><body>Your code: <code id='verifier'>{verifier}</code></body></html>"
            return web.Response(text=page, content_type="text/html")
        separator = "&" if "?" in callback else "?"
        query = urlencode({"oauth_token": oauth_token, "oauth_verifier": verifier})
        raise web.HTTPFound(f"{callback}{separator}{query}")

    async def access_token(self, request: web.Request) -> web.Response:
        pairs = await self._params(request)
        secret_of = {t.token: t.secret for t in self.store.request_tokens.values()}
        try:
            oauth = self._verify(request, pairs, secret_of)
        except FlickrFault as refused:
            problem = "token_rejected" if refused.code in (97, 98) else "signature_invalid"
            return _oauth_reply(401, oauth_problem=problem)
        pending = self.store.request_tokens.get(oauth.get("oauth_token", ""))
        if pending is None or pending.verifier is None or pending.perms is None:
            return _oauth_reply(401, oauth_problem="token_rejected")
        if oauth.get("oauth_verifier") != pending.verifier:
            return _oauth_reply(401, oauth_problem="verifier_invalid")
        del self.store.request_tokens[pending.token]
        granted = f"72157{secrets.randbelow(10**12):012d}-{secrets.token_hex(8)}"
        self.add_access_token(granted, secrets.token_hex(8), pending.perms)
        return _oauth_reply(
            200,
            fullname=self.user.fullname,
            oauth_token=granted,
            oauth_token_secret=self.access_tokens[granted].secret,
            user_nsid=self.user.nsid,
            username=self.user.username,
        )

    async def control_approve(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("oauth_token") not in self.store.request_tokens:
            return web.json_response({"error": "unknown request token"}, status=404)
        verifier = self.approve(body["oauth_token"], body.get("perms"))
        return web.json_response({"oauth_verifier": verifier})
