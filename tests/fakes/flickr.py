"""A fake Flickr (contracts/destinations.md §B): OAuth 1.0a-signed uploads and REST calls,
verified the way Flickr verifies them (the three-legged OAuth endpoints: flickr_oauth_flow.py)."""

from __future__ import annotations

import asyncio
import hashlib

from aiohttp import web

from tests.fakes.faults import FaultKind
from tests.fakes.flickr_oauth import parse_authorization, signature_matches
from tests.fakes.flickr_oauth_flow import FlickrOAuthFlow
from tests.fakes.flickr_render import FlickrFault, element, fail_xml, ok_xml, rest_fail, rest_ok
from tests.fakes.flickr_rest import FlickrRest, FlickrUser
from tests.fakes.flickr_store import (
    AccessToken,
    FlickrStore,
    Photo,
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
        self.oauth_flow = FlickrOAuthFlow(self)
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
        self.oauth_flow.add_routes(router)

    def add_control_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post(CONTROL_PREFIX + "flickr/approve", self.oauth_flow.control_approve)

    # -- signatures ------------------------------------------------------------------------

    @staticmethod
    async def params(request: web.Request) -> Pairs:
        """Query and form fields as signed: every field but the `photo` file."""
        pairs = list(request.query.items())
        if request.method == "POST" and request.content_type in (
            "multipart/form-data",
            "application/x-www-form-urlencoded",
        ):
            form = await request.post()
            pairs += [(k, v) for k, v in form.items() if isinstance(v, str) and k != "photo"]
        return pairs

    def verify(
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
        oauth = self.verify(request, pairs, live)
        return self.access_tokens[oauth["oauth_token"]] if "oauth_token" in oauth else None

    # -- REST ------------------------------------------------------------------------------

    async def rest(self, request: web.Request) -> web.Response:
        pairs = await self.params(request)
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
        pairs = await self.params(request)
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
