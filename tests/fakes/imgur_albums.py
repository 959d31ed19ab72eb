"""The account half of the fake Imgur (§A.5, §A.6): account listings and albums."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import MultiDictProxy

from tests.fakes import imgur_shapes as shapes
from tests.fakes.imgur_models import Owner, StoredAlbum, StoredImage

if TYPE_CHECKING:
    from tests.fakes.imgur import FakeImgur

PAGE_SIZE = 50


def _many(form: MultiDictProxy[Any], name: str) -> list[str]:
    """`ids[]=a&ids[]=b` or `ids=a,b` (imgurpython joins with commas)."""
    values = [str(v) for v in form.getall(f"{name}[]", [])]
    for joined in form.getall(name, []):
        values.extend(part for part in str(joined).split(",") if part)
    return values


def form_text(form: MultiDictProxy[Any], name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


class ImgurAlbums:
    def __init__(self, fake: FakeImgur) -> None:
        self.fake = fake
        self.albums: dict[str, StoredAlbum] = {}

    def clear(self) -> None:
        self.albums.clear()

    def forget_image(self, image_id: str) -> None:
        for album in self.albums.values():
            if image_id in album.image_ids:
                album.image_ids.remove(image_id)

    def add_routes(self, router: web.UrlDispatcher) -> None:
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

    def album_for_upload(
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

    # -- account ------------------------------------------------------------------------------

    def _account_images(self, request: web.Request) -> list[StoredImage] | web.Response:
        caller = self.fake.caller(request, account_only=True)
        if isinstance(caller, web.Response):
            return caller
        user = request.match_info["user"]
        if user not in ("me", self.fake.account.account_url):
            return []
        mine = [image for image in self.fake.images.values() if image.owner == caller]
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
        caller = self.fake.caller(request, account_only=True)
        if isinstance(caller, web.Response):
            return caller
        user = request.match_info["user"]
        mine = [
            album
            for album in self.albums.values()
            if album.owner == caller and user in ("me", self.fake.account.account_url)
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
            image = self.fake.images.get(image_id)
            if image is None or image.owner != caller:
                return shapes.error(
                    request, 404, f"Unable to find an image with the id, {image_id}"
                )
        for deletehash in _many(form, "deletehashes"):
            found = self.fake.find_image(deletehash)
            if found is None or not found[1]:
                return shapes.error(
                    request, 404, f"Unable to find an image with the id, {deletehash}"
                )
            ids.append(found[0].id)
        return ids

    async def create_album(self, request: web.Request) -> web.Response:
        caller = self.fake.caller(request)
        if isinstance(caller, web.Response):
            return caller
        form = await request.post()
        ids = self._images_to_add(request, caller, form)
        if isinstance(ids, web.Response):
            return ids
        privacy = form_text(form, "privacy") or "hidden"
        if privacy not in ("public", "hidden", "secret"):
            return shapes.error(request, 400, "Invalid privacy setting")
        album = StoredAlbum(
            id=shapes.random_hash(7),
            deletehash=shapes.random_hash(15),
            owner=caller,
            title=form_text(form, "title"),
            description=form_text(form, "description"),
            privacy=privacy,
            image_ids=ids,
        )
        self.albums[album.id] = album
        return shapes.envelope(request, {"id": album.id, "deletehash": album.deletehash})

    def _album_images(self, album: StoredAlbum) -> list[dict[str, Any]]:
        return [self.fake.images[i].model(with_deletehash=False) for i in album.image_ids]

    async def get_album(self, request: web.Request) -> web.Response:
        caller = self.fake.caller(request)
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
        caller = self.fake.caller(request)
        if isinstance(caller, web.Response):
            return caller
        album = self.albums.get(request.match_info["hash"])
        if album is None:
            ref = request.match_info["hash"]
            return shapes.error(request, 404, f"Unable to find an album with the id, {ref}")
        return shapes.envelope(request, self._album_images(album))

    async def add_to_album(self, request: web.Request) -> web.Response:
        caller = self.fake.caller(request)
        if isinstance(caller, web.Response):
            return caller
        album = self.album_for_upload(request, caller, request.match_info["hash"])
        if isinstance(album, web.Response) or album is None:
            return album or shapes.error(request, 404, "Unable to find an album")
        form = await request.post()
        ids = self._images_to_add(request, caller, form)
        if isinstance(ids, web.Response):
            return ids
        album.image_ids.extend(i for i in ids if i not in album.image_ids)
        return shapes.envelope(request, True)
