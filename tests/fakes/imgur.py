"""A fake Imgur API v3 (contracts/destinations.md §A): OAuth refresh, uploads, images,
account listings and albums, with Imgur's auth rules, rate-limit headers and error shapes."""

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
from tests.fakes.imgur_models import Owner, StoredAlbum, StoredImage
from tests.fakes.recording import file_bytes
from tests.fakes.server import FakeServer
from tests.fakes.sniff import image_size, sniff_content_type

IMGUR_ACCEPTED = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/tiff", "image/bmp", "application/pdf"}
)
PAGE_SIZE = 50
UPLOAD_COST = 10  # credits per upload; every other /3 call costs 1, OAuth nothing


def _many(form: MultiDictProxy[Any], name: str) -> list[str]:
    """`ids[]=a&ids[]=b` or `ids=a,b` (imgurpython joins with commas)."""
    values = [str(v) for v in form.getall(f"{name}[]", [])]
    for joined in form.getall(name, []):
        values.extend(part for part in str(joined).split(",") if part)
    return values


def _text(form: MultiDictProxy[Any], name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


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
        self.albums: dict[str, StoredAlbum] = {}

    def expire_access_tokens(self) -> None:
        self.access_tokens.clear()

    def reset_state(self) -> None:
        self.credits = shapes.Credits()
        self.access_tokens.clear()
        self.images.clear()
        self.albums.clear()

    def on_response(self, request: web.Request, response: web.StreamResponse) -> None:
        for name, value in self.credits.headers().items():
            response.headers.setdefault(name, value)  # a scripted 429 sets its own

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/oauth2/token", self.token)
        router.add_get("/3/credits", self.get_credits)
        router.add_post("/3/image", self.upload)
        router.add_post("/3/upload", self.upload)
        router.add_get("/3/image/{hash}", self.get_image)
        router.add_post("/3/image/{hash}", self.update_image)
        router.add_delete("/3/image/{hash}", self.delete_image)
        account = "/3/account/{user}"
        router.add_get(account + "/images/count", self.count_images)
        router.add_get(account + r"/images/ids/{page:\d+}", self.image_ids)
        router.add_get(account + "/images", self.account_images)
        router.add_get(account + r"/images/{page:\d+}", self.account_images)
        router.add_get(account + "/albums", self.account_albums)
        router.add_get(account + r"/albums/{page:\d+}", self.account_albums)
        router.add_post("/3/album", self.create_album)
        router.add_get("/3/album/{hash}", self.get_album)
        router.add_get("/3/album/{hash}/images", self.album_images)
        router.add_post("/3/album/{hash}/add", self.add_to_album)

    # -- auth and credits -----------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        if self.faults.token_status is not None:
            return shapes.error(request, self.faults.token_status, "Fake token endpoint failure")
        form = await request.post()
        if form.get("client_id") != self.client_id:
            return shapes.error(request, 400, "Invalid client_id")
        if form.get("client_secret") != self.client_secret:
            return shapes.error(request, 400, "Invalid client_secret")
        if form.get("grant_type") != "refresh_token":
            return shapes.error(request, 400, "Invalid grant_type parameter or parameter missing")
        if form.get("refresh_token") != self.refresh_token:
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

    def _caller(
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
        caller = self._caller(request, cost=0)
        if isinstance(caller, web.Response):
            return caller
        return shapes.envelope(request, self.credits.as_data())

    # -- upload --------------------------------------------------------------------------

    async def upload(self, request: web.Request) -> web.Response:
        caller = self._caller(request, cost=UPLOAD_COST)
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
        album = self._album_for_upload(request, caller, _text(form, "album"))
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
            name=_text(form, "name"),
            title=_text(form, "title"),
            description=_text(form, "description"),
        )
        self.images[image_id] = image
        fields = {
            key: value
            for key in ("title", "description", "name", "album", "type")
            if (value := _text(form, key)) is not None
        }
        self.record_upload(data, fields, image_id, image.link)
        return image

    def _album_for_upload(
        self, request: web.Request, caller: Owner, album_ref: str | None
    ) -> StoredAlbum | web.Response | None:
        if not album_ref:
            return None
        album = self._find_album(album_ref)
        if album is None:
            return shapes.error(request, 404, f"Unable to find an album with the id, {album_ref}")
        owned = caller.is_account and album.owner == caller
        if album.deletehash != album_ref and not owned:
            return shapes.error(request, 403, "You do not have permission to edit this album.")
        return album

    # -- images ----------------------------------------------------------------------------

    def _find_image(self, ref: str) -> tuple[StoredImage, bool] | None:
        """The image by id or deletehash, and whether it was found by deletehash."""
        if ref in self.images:
            return self.images[ref], False
        for image in self.images.values():
            if image.deletehash == ref:
                return image, True
        return None

    def _editable_image(self, request: web.Request, caller: Owner) -> StoredImage | web.Response:
        ref = request.match_info["hash"]
        found = self._find_image(ref)
        if found is None:
            return shapes.error(request, 404, f"Unable to find an image with the id, {ref}")
        image, by_deletehash = found
        if not by_deletehash and (not caller.is_account or image.owner != caller):
            return shapes.error(request, 403, "Permission denied")
        return image

    async def get_image(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        if isinstance(caller, web.Response):
            return caller
        image = self.images.get(request.match_info["hash"])
        if image is None:
            ref = request.match_info["hash"]
            return shapes.error(request, 404, f"Unable to find an image with the id, {ref}")
        owned = caller.is_account and image.owner == caller
        return shapes.envelope(request, image.model(with_deletehash=owned))

    async def update_image(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        if isinstance(caller, web.Response):
            return caller
        image = self._editable_image(request, caller)
        if isinstance(image, web.Response):
            return image
        form = await request.post()
        image.title = _text(form, "title") or image.title
        image.description = _text(form, "description") or image.description
        return shapes.envelope(request, True)

    async def delete_image(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        if isinstance(caller, web.Response):
            return caller
        image = self._editable_image(request, caller)
        if isinstance(image, web.Response):
            return image
        del self.images[image.id]
        for album in self.albums.values():
            if image.id in album.image_ids:
                album.image_ids.remove(image.id)
        return shapes.envelope(request, True)

    # -- account ------------------------------------------------------------------------------

    def _account_images(self, request: web.Request) -> list[StoredImage] | web.Response:
        caller = self._caller(request, account_only=True)
        if isinstance(caller, web.Response):
            return caller
        user = request.match_info["user"]
        if user not in ("me", self.account.account_url):
            return []
        mine = [image for image in self.images.values() if image.owner == caller]
        return sorted(mine, key=lambda image: image.datetime, reverse=True)

    @staticmethod
    def _page(request: web.Request, items: list[Any]) -> list[Any]:
        page = int(request.match_info.get("page", "0"))
        return items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]

    async def account_images(self, request: web.Request) -> web.Response:
        images = self._account_images(request)
        if isinstance(images, web.Response):
            return images
        page = self._page(request, images)
        return shapes.envelope(request, [image.model(with_deletehash=True) for image in page])

    async def image_ids(self, request: web.Request) -> web.Response:
        images = self._account_images(request)
        if isinstance(images, web.Response):
            return images
        return shapes.envelope(request, [image.id for image in self._page(request, images)])

    async def count_images(self, request: web.Request) -> web.Response:
        images = self._account_images(request)
        if isinstance(images, web.Response):
            return images
        return shapes.envelope(request, len(images))

    async def account_albums(self, request: web.Request) -> web.Response:
        caller = self._caller(request, account_only=True)
        if isinstance(caller, web.Response):
            return caller
        user = request.match_info["user"]
        mine = [
            album
            for album in self.albums.values()
            if album.owner == caller and user in ("me", self.account.account_url)
        ]
        mine.sort(key=lambda album: album.datetime, reverse=True)
        page = self._page(request, mine)
        return shapes.envelope(request, [album.model(None, with_deletehash=True) for album in page])

    # -- albums ---------------------------------------------------------------------------------

    def _find_album(self, ref: str) -> StoredAlbum | None:
        if ref in self.albums:
            return self.albums[ref]
        return next((album for album in self.albums.values() if album.deletehash == ref), None)

    def _images_to_add(
        self, request: web.Request, caller: Owner, form: MultiDictProxy[Any]
    ) -> list[str] | web.Response:
        ids = _many(form, "ids")
        if ids and not caller.is_account:
            return shapes.error(request, 403, "You must be logged in to add images by id.")
        for image_id in ids:
            image = self.images.get(image_id)
            if image is None or image.owner != caller:
                return shapes.error(
                    request, 404, f"Unable to find an image with the id, {image_id}"
                )
        for deletehash in _many(form, "deletehashes"):
            found = self._find_image(deletehash)
            if found is None or not found[1]:
                return shapes.error(
                    request, 404, f"Unable to find an image with the id, {deletehash}"
                )
            ids.append(found[0].id)
        return ids

    async def create_album(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        if isinstance(caller, web.Response):
            return caller
        form = await request.post()
        ids = self._images_to_add(request, caller, form)
        if isinstance(ids, web.Response):
            return ids
        privacy = _text(form, "privacy") or "hidden"
        if privacy not in ("public", "hidden", "secret"):
            return shapes.error(request, 400, "Invalid privacy setting")
        album = StoredAlbum(
            id=shapes.random_hash(7),
            deletehash=shapes.random_hash(15),
            owner=caller,
            title=_text(form, "title"),
            description=_text(form, "description"),
            privacy=privacy,
            image_ids=ids,
        )
        self.albums[album.id] = album
        return shapes.envelope(request, {"id": album.id, "deletehash": album.deletehash})

    def _album_images(self, album: StoredAlbum) -> list[dict[str, Any]]:
        return [self.images[i].model(with_deletehash=False) for i in album.image_ids]

    async def get_album(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        if isinstance(caller, web.Response):
            return caller
        album = self.albums.get(request.match_info["hash"])
        if album is None:
            ref = request.match_info["hash"]
            return shapes.error(request, 404, f"Unable to find an album with the id, {ref}")
        owned = caller.is_account and album.owner == caller
        return shapes.envelope(
            request, album.model(self._album_images(album), with_deletehash=owned)
        )

    async def album_images(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        if isinstance(caller, web.Response):
            return caller
        album = self.albums.get(request.match_info["hash"])
        if album is None:
            ref = request.match_info["hash"]
            return shapes.error(request, 404, f"Unable to find an album with the id, {ref}")
        return shapes.envelope(request, self._album_images(album))

    async def add_to_album(self, request: web.Request) -> web.Response:
        caller = self._caller(request)
        if isinstance(caller, web.Response):
            return caller
        album = self._album_for_upload(request, caller, request.match_info["hash"])
        if isinstance(album, web.Response) or album is None:
            return album or shapes.error(request, 404, "Unable to find an album")
        form = await request.post()
        ids = self._images_to_add(request, caller, form)
        if isinstance(ids, web.Response):
            return ids
        album.image_ids.extend(i for i in ids if i not in album.image_ids)
        return shapes.envelope(request, True)
