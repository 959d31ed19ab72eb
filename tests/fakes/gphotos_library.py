"""The library half of the fake Google Photos (§C.5, §C.6): media items from upload tokens,
albums, and listings that show only what this app created."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes import gphotos_models as g
from tests.fakes.faults import FaultKind

if TYPE_CHECKING:
    from tests.fakes.gphotos import FakeGooglePhotos

MAX_BATCH = 50
MAX_DESCRIPTION = 1000
MAX_ALBUM_TITLE = 500
READ_SCOPES = (g.READONLY_APP_CREATED,)


async def _json(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _size(value: object, default: int, maximum: int) -> int:
    try:
        size = int(str(value)) if value not in (None, "") else default
    except ValueError:
        size = default
    return min(max(size, 1), maximum)


class PhotosLibrary:
    def __init__(self, fake: FakeGooglePhotos, *, reusable_upload_tokens: bool) -> None:
        self.fake = fake
        self.reusable_upload_tokens = reusable_upload_tokens
        self.media_items: dict[str, g.MediaItem] = {}
        self.albums: dict[str, g.Album] = {}

    def clear(self) -> None:
        self.media_items.clear()
        self.albums.clear()

    def add_foreign_album(self, title: str) -> str:
        """An album the user made elsewhere: listed nowhere, and closed to this app."""
        album = g.Album(g.new_id(), title, app_created=False)
        self.albums[album.id] = album
        return album.id

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/mediaItems:batchCreate", self.batch_create)
        router.add_post("/v1/mediaItems:search", self.search)
        router.add_get("/v1/mediaItems", self.list_items)
        router.add_get("/v1/mediaItems/{id}", self.get_item)
        router.add_post("/v1/albums", self.create_album)
        router.add_get("/v1/albums", self.list_albums)
        router.add_post("/v1/albums/{id}:batchAddMediaItems", self.batch_add)
        router.add_get("/v1/albums/{id}", self.get_album)

    # -- batchCreate -----------------------------------------------------------------------

    def _batch_problem(self, body: dict[str, Any] | None) -> str | None:
        """Why a whole batchCreate request is invalid (HTTP 400), or None."""
        if body is None:
            return "Invalid JSON payload received."
        items = body.get("newMediaItems")
        if not isinstance(items, list) or not items:
            return "Request must contain at least one newMediaItem."
        if len(items) > MAX_BATCH:
            return "Request must have less than 50 items."
        if "albumPosition" in body and "albumId" not in body:
            return "An album position requires an album id."
        album_id = body.get("albumId")
        if album_id is not None:
            album = self.albums.get(str(album_id))
            if album is None:
                return "Request contains an invalid album id."
            if not album.app_created:
                return "No permission to add media items to this album."
        for item in items:
            if len(str(item.get("description", ""))) > MAX_DESCRIPTION:
                return "The description must be at most 1000 characters long."
        return None

    async def batch_create(self, request: web.Request) -> web.Response:
        refused = self.fake.authorize(request, g.APPENDONLY)
        if refused is not None:
            return refused
        fault = self.fake.faults.take("create")
        forced = await self.fake.fault_response(fault)
        if forced is not None:
            return forced
        body = await _json(request)
        problem = self._batch_problem(body)
        if problem is not None or body is None:
            return g.google_error(400, problem or "Invalid request.")
        forced_code = None
        if fault is not None and fault.kind is FaultKind.PERMANENT:
            forced_code = 3
        elif fault is not None and fault.kind is FaultKind.ERROR:
            forced_code = fault.code or 13
        album = self.albums.get(str(body.get("albumId")))
        results = [self._create(item, album, forced_code) for item in body["newMediaItems"]]
        outcomes = {"mediaItem" in result for result in results}
        mixed = len(outcomes) > 1
        status = 207 if mixed and self.fake.faults.multi_status else 200
        response = web.json_response({"newMediaItemResults": results}, status=status)
        if fault is not None and fault.kind is FaultKind.DELAY:
            await asyncio.sleep(fault.seconds)  # the items exist already
        return response

    def _create(
        self, item: dict[str, Any], album: g.Album | None, forced_code: int | None
    ) -> dict[str, Any]:
        simple = item.get("simpleMediaItem") or {}
        token = str(simple.get("uploadToken", ""))
        uploaded = self.fake.byte_uploads.get(token)
        failed = {"uploadToken": token, "status": {"code": 3, "message": g.ITEM_FAILED}}
        if uploaded is None or not uploaded.usable(time.time()) or uploaded.mime is None:
            return failed
        if uploaded.used and not self.reusable_upload_tokens:
            return failed
        code = forced_code or uploaded.failure_code
        if code is not None:
            return {**failed, "status": {"code": code, "message": g.ITEM_FAILED}}
        uploaded.used = True
        media_item = g.MediaItem(
            id=g.new_id(),
            description=str(item.get("description", "")),
            filename=str(simple.get("fileName") or uploaded.file_name or "photo"),
            mime=uploaded.mime,
            width=uploaded.width,
            height=uploaded.height,
            sha256=uploaded.sha256,
        )
        self.media_items[media_item.id] = media_item
        if album is not None:
            album.item_ids.append(media_item.id)
        fields = {"filename": media_item.filename, "description": media_item.description}
        if album is not None:
            fields["albumId"] = album.id
        self.fake.record_upload(uploaded.data, fields, media_item.id, media_item.product_url)
        return {
            "uploadToken": token,
            "status": {"message": "Success"},
            "mediaItem": media_item.model(),
        }

    # -- media items ---------------------------------------------------------------------------

    def _items_page(self, item_ids: list[str], token: str | None, size: int) -> web.Response:
        models = [self.media_items[i].model() for i in item_ids if i in self.media_items]
        body = g.page(models, token, size, "mediaItems")
        if body is None:
            return g.google_error(400, "Invalid page token.")
        return web.json_response(body)

    async def list_items(self, request: web.Request) -> web.Response:
        refused = self.fake.authorize(request, *READ_SCOPES)
        if refused is not None:
            return refused
        size = _size(request.query.get("pageSize"), 25, 100)
        return self._items_page(list(self.media_items), request.query.get("pageToken"), size)

    async def search(self, request: web.Request) -> web.Response:
        refused = self.fake.authorize(request, *READ_SCOPES)
        if refused is not None:
            return refused
        body = await _json(request) or {}
        if "albumId" in body and "filters" in body:
            return g.google_error(400, "An album id and filters can't be used together.")
        item_ids = list(self.media_items)
        if "albumId" in body:
            album = self.albums.get(str(body["albumId"]))
            if album is None or not album.app_created:
                return g.google_error(400, "Request contains an invalid album id.")
            item_ids = album.item_ids
        size = _size(body.get("pageSize"), 25, 100)
        return self._items_page(item_ids, body.get("pageToken"), size)

    async def get_item(self, request: web.Request) -> web.Response:
        refused = self.fake.authorize(request, *READ_SCOPES)
        if refused is not None:
            return refused
        item = self.media_items.get(request.match_info["id"])
        if item is None:
            return g.google_error(404, "Requested entity was not found.")
        return web.json_response(item.model())

    # -- albums -----------------------------------------------------------------------------

    async def create_album(self, request: web.Request) -> web.Response:
        refused = self.fake.authorize(request, g.APPENDONLY)
        if refused is not None:
            return refused
        body = await _json(request) or {}
        title = str((body.get("album") or {}).get("title", ""))
        if not title or len(title) > MAX_ALBUM_TITLE:
            return g.google_error(400, "The album title must be 1 to 500 characters long.")
        album = g.Album(g.new_id(), title, app_created=True)
        self.albums[album.id] = album
        return web.json_response(album.model())

    async def list_albums(self, request: web.Request) -> web.Response:
        refused = self.fake.authorize(request, *READ_SCOPES)
        if refused is not None:
            return refused
        mine = [album.model() for album in self.albums.values() if album.app_created]
        size = _size(request.query.get("pageSize"), 20, 50)
        body = g.page(mine, request.query.get("pageToken"), size, "albums")
        if body is None:
            return g.google_error(400, "Invalid page token.")
        return web.json_response(body)

    async def get_album(self, request: web.Request) -> web.Response:
        refused = self.fake.authorize(request, *READ_SCOPES)
        if refused is not None:
            return refused
        album = self.albums.get(request.match_info["id"])
        if album is None or not album.app_created:
            return g.google_error(404, "Requested entity was not found.")
        return web.json_response(album.model())

    async def batch_add(self, request: web.Request) -> web.Response:
        refused = self.fake.authorize(request, g.APPENDONLY, g.EDIT_APP_CREATED)
        if refused is not None:
            return refused
        album = self.albums.get(request.match_info["id"])
        if album is None or not album.app_created:
            return g.google_error(400, "No permission to add media items to this album.")
        ids = [str(i) for i in ((await _json(request)) or {}).get("mediaItemIds", [])]
        if not ids or len(ids) > MAX_BATCH or any(i not in self.media_items for i in ids):
            return g.google_error(400, "Request contains an invalid media item id.")
        album.item_ids.extend(i for i in ids if i not in album.item_ids)
        return web.json_response({})
