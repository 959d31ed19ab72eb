"""A fake Imgur API v3 (contracts/destinations.md §A): OAuth refresh, uploads and images,
with Imgur's auth rules, rate-limit headers and error shapes (albums: imgur_albums.py)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
from typing import Any

import aiohttp
from aiohttp import web
from multidict import MultiDictProxy

from tests.fakes import imgur_shapes as shapes
from tests.fakes.faults import FaultKind
from tests.fakes.imgur_albums import ImgurAlbums, form_text
from tests.fakes.imgur_models import Owner, StoredImage
from tests.fakes.oauth_codes import AuthorizationCodes
from tests.fakes.recording import file_bytes
from tests.fakes.server import FakeServer
from tests.fakes.sniff import image_size, sniff_content_type

IMGUR_ACCEPTED = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/tiff", "image/bmp", "application/pdf"}
)
UPLOAD_COST = 10  # credits per upload; every other /3 call costs 1, OAuth nothing


class FakeImgur(FakeServer):
    name = "imgur"

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        account_id: int = 123456,
        account_username: str = "photobus-test",
        max_upload_bytes: int = 20 * 1024 * 1024,
        accepted_types: frozenset[str] = IMGUR_ACCEPTED,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.account = Owner(account_id, account_username)
        self.max_upload_bytes = max_upload_bytes
        self.accepted_types = accepted_types
        self.credits = shapes.Credits()
        self.access_tokens: set[str] = set()
        self.images: dict[str, StoredImage] = {}
        self.album_api = ImgurAlbums(self)
        self.codes = AuthorizationCodes(client_id)

    def expire_access_tokens(self) -> None:
        self.access_tokens.clear()

    def reset_state(self) -> None:
        self.credits = shapes.Credits()
        self.access_tokens.clear()
        self.images.clear()
        self.album_api.clear()

    def on_response(self, request: web.Request, response: web.StreamResponse) -> None:
        for name, value in self.credits.headers().items():
            response.headers.setdefault(name, value)  # a scripted 429 sets its own

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/oauth2/authorize", self.authorize)
        router.add_post("/oauth2/token", self.token)
        router.add_get("/3/credits", self.get_credits)
        router.add_post("/3/image", self.upload)
        router.add_post("/3/upload", self.upload)
        router.add_get("/3/image/{hash}", self.get_image)
        router.add_post("/3/image/{hash}", self.update_image)
        router.add_delete("/3/image/{hash}", self.delete_image)
        self.album_api.add_routes(router)

    # -- auth and credits -----------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        if self.faults.token_status is not None:
            return shapes.error(request, self.faults.token_status, "Fake token endpoint failure")
        form = await request.post()
        if form.get("client_id") != self.client_id:
            return shapes.error(request, 400, "Invalid client_id")
        if form.get("client_secret") != self.client_secret:
            return shapes.error(request, 400, "Invalid client_secret")
        if form.get("grant_type") == "authorization_code":
            if self.codes.redeem(form.get("code"), form.get("redirect_uri")) is None:
                return shapes.error(request, 400, "Invalid authorization code")
        elif form.get("grant_type") != "refresh_token":
            return shapes.error(request, 400, "Invalid grant_type parameter or parameter missing")
        elif form.get("refresh_token") != self.refresh_token:
            return shapes.error(request, 400, "Invalid refresh token")
        access_token = secrets.token_hex(20)
        self.access_tokens.add(access_token)
        body = {
            "access_token": access_token,
            "expires_in": 315360000,
            "token_type": "bearer",
            "scope": None,
            "refresh_token": self.refresh_token,
            "account_id": self.account.account_id,
            "account_username": self.account.account_url,
        }
        return web.json_response(body)

    async def authorize(self, request: web.Request) -> web.Response:
        """The consent page of `photobus auth imgur` (authorization-code grant)."""
        return self.codes.consent_page(request, scope_required=False)

    def caller(
        self, request: web.Request, *, account_only: bool = False, cost: int = 1
    ) -> Owner | web.Response:
        """Who is calling, charging the call's credits; or the refusal to send."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        value = value.strip()
        if scheme == "Bearer":
            if value not in self.access_tokens:
                return shapes.error(request, 403, shapes.INVALID_TOKEN)
            caller = self.account
        elif scheme == "Client-ID" and not account_only:
            if value != self.client_id:
                return shapes.error(request, 403, "Invalid client_id")
            caller = Owner()
        else:
            return shapes.error(request, 401, "Authentication required")
        is_post = request.method == "POST"
        if not self.credits.afford(cost, is_post):
            return shapes.too_many_requests(request, None)
        self.credits.charge(cost, is_post)
        return caller

    async def get_credits(self, request: web.Request) -> web.Response:
        caller = self.caller(request, cost=0)
        if isinstance(caller, web.Response):
            return caller
        return shapes.envelope(request, self.credits.as_data())

    # -- upload --------------------------------------------------------------------------

    async def upload(self, request: web.Request) -> web.Response:
        caller = self.caller(request, cost=UPLOAD_COST)
        if isinstance(caller, web.Response):
            return caller
        fault = self.faults.take("upload")
        if fault is not None and fault.kind is FaultKind.HANG:
            return await self.hold_forever()
        if fault is not None and fault.kind in (FaultKind.STATUS, FaultKind.ERROR):
            return shapes.fault_response(request, fault)
        if fault is not None and fault.kind is FaultKind.PERMANENT:
            return shapes.invalid_file(request)
        form = await request.post()
        data = await self._image_bytes(form)
        if data is None:
            return shapes.error(request, 400, "No image data was sent to the upload api")
        if len(data) > self.max_upload_bytes:
            return shapes.error(request, 417, "Internal expectation failed")
        mime = sniff_content_type(data)
        if mime is None or mime not in self.accepted_types:
            return shapes.invalid_file(request)
        album = self.album_api.album_for_upload(request, caller, form_text(form, "album"))
        if isinstance(album, web.Response):
            return album
        image = self._store_image(caller, data, mime, form)
        if album is not None:
            album.image_ids.append(image.id)
        response = shapes.envelope(request, image.model(with_deletehash=True))
        if fault is not None and fault.kind is FaultKind.DELAY:
            # Stored already: a client that gives up waiting still left a photo behind.
            await asyncio.sleep(fault.seconds)
        return response

    async def _image_bytes(self, form: MultiDictProxy[Any]) -> bytes | None:
        image = form.get("image") or form.get("video")
        data = file_bytes(image)
        if data is not None:
            return data
        if not isinstance(image, str) or not image:
            return None
        kind = form.get("type") or (
            "url" if image.startswith(("http://", "https://")) else "base64"
        )
        if kind == "url":
            timeout = aiohttp.ClientTimeout(total=10)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(image) as response,
            ):
                return await response.read() if response.status == 200 else b""
        try:
            return base64.b64decode(image, validate=False)
        except (binascii.Error, ValueError):
            return b""

    def _store_image(
        self, owner: Owner, data: bytes, mime: str, form: MultiDictProxy[Any]
    ) -> StoredImage:
        image_id = shapes.random_hash(7)
        width, height = image_size(data)
        image = StoredImage(
            id=image_id,
            deletehash=shapes.random_hash(15),
            owner=owner,
            mime=mime,
            width=width,
            height=height,
            size=len(data),
            name=form_text(form, "name"),
            title=form_text(form, "title"),
            description=form_text(form, "description"),
        )
        self.images[image_id] = image
        fields = {
            key: value
            for key in ("title", "description", "name", "album", "type")
            if (value := form_text(form, key)) is not None
        }
        self.record_upload(data, fields, image_id, image.link)
        return image

    # -- images ----------------------------------------------------------------------------

    def find_image(self, ref: str) -> tuple[StoredImage, bool] | None:
        """The image by id or deletehash, and whether it was found by deletehash."""
        if ref in self.images:
            return self.images[ref], False
        for image in self.images.values():
            if image.deletehash == ref:
                return image, True
        return None

    def _editable_image(self, request: web.Request, caller: Owner) -> StoredImage | web.Response:
        ref = request.match_info["hash"]
        found = self.find_image(ref)
        if found is None:
            return shapes.error(request, 404, f"Unable to find an image with the id, {ref}")
        image, by_deletehash = found
        if not by_deletehash and (not caller.is_account or image.owner != caller):
            return shapes.error(request, 403, "Permission denied")
        return image

    async def get_image(self, request: web.Request) -> web.Response:
        caller = self.caller(request)
        if isinstance(caller, web.Response):
            return caller
        image = self.images.get(request.match_info["hash"])
        if image is None:
            ref = request.match_info["hash"]
            return shapes.error(request, 404, f"Unable to find an image with the id, {ref}")
        owned = caller.is_account and image.owner == caller
        return shapes.envelope(request, image.model(with_deletehash=owned))

    async def update_image(self, request: web.Request) -> web.Response:
        caller = self.caller(request)
        if isinstance(caller, web.Response):
            return caller
        image = self._editable_image(request, caller)
        if isinstance(image, web.Response):
            return image
        form = await request.post()
        image.title = form_text(form, "title") or image.title
        image.description = form_text(form, "description") or image.description
        return shapes.envelope(request, True)

    async def delete_image(self, request: web.Request) -> web.Response:
        caller = self.caller(request)
        if isinstance(caller, web.Response):
            return caller
        image = self._editable_image(request, caller)
        if isinstance(image, web.Response):
            return image
        del self.images[image.id]
        self.album_api.forget_image(image.id)
        return shapes.envelope(request, True)
