"""Flickr (contracts/destinations.md §B) through flickrapi with an OAuth 1.0a access
token: uploads carry title, description, the tags and the machine tag
`photobus:sha256=<photo_id>` that `find_existing` searches for; albums are photosets,
created once (with the first photo as primary) and remembered."""

from __future__ import annotations

import io
import logging
from typing import ClassVar

from photobus_common.publishing import (
    AlbumBook,
    Destination,
    PermanentError,
    PreparedPhoto,
    Published,
    PublishingError,
    TransientError,
)
from photobus_common.publishing.settings import PublisherSettings, secret

from photobus_publisher_flickr.client import FlickrClients

log = logging.getLogger(__name__)


def machine_tag(photo_id: str) -> str:
    return f"photobus:sha256={photo_id}"


def flickr_tags(tags: tuple[str, ...], photo_id: str) -> str:
    """Space-separated, multi-word tags in double quotes, plus the machine tag."""
    words = [tag.replace('"', "").strip() for tag in tags]
    quoted = [f'"{word}"' if " " in word else word for word in words if word]
    return " ".join([*quoted, machine_tag(photo_id)])


class FlickrDestination(Destination):
    name: ClassVar = "flickr"

    def __init__(self, settings: PublisherSettings, albums: AlbumBook) -> None:
        self.credentials = (
            secret(settings.flickr_api_key),
            secret(settings.flickr_api_secret),
            secret(settings.flickr_oauth_token),
            secret(settings.flickr_oauth_token_secret),
        )
        self.rest_url = settings.flickr_rest_url
        self.upload_url = settings.flickr_upload_url
        self.timeout = settings.destination_timeout
        self.concurrency = settings.publish_concurrency
        self.albums = albums
        self._clients: FlickrClients | None = None
        self._user_id: str | None = None

    @property
    def is_configured(self) -> bool:
        return all(self.credentials)

    async def start(self) -> None:
        key, key_secret, token, token_secret = self.credentials
        self._clients = FlickrClients(
            api_key=key,
            api_secret=key_secret,
            oauth_token=token,
            oauth_token_secret=token_secret,
            rest_url=self.rest_url,
            upload_url=self.upload_url,
            timeout=self.timeout,
            size=self.concurrency,
        )

    async def close(self) -> None:
        if self._clients is not None:
            self._clients.close()

    @property
    def clients(self) -> FlickrClients:
        if self._clients is None:
            raise RuntimeError("start() the destination first")
        return self._clients

    async def upload(self, photo: PreparedPhoto) -> Published:
        fields = {"tags": flickr_tags(photo.tags, photo.photo_id), "title": photo.title or ""}
        if photo.description:
            fields["description"] = photo.description
        answer = await self.clients.run(
            "Flickr upload",
            lambda api: api.upload(
                filename=photo.filename, fileobj=io.BytesIO(photo.data), format="etree", **fields
            ),
        )
        photo_id = answer.findtext("photoid")
        if not photo_id:
            raise TransientError("Flickr accepted the upload but sent no photo id")
        published = Published(photo_id, await self._photo_url(photo_id))
        if photo.album:
            await self._add_to_photoset(photo.album, photo_id)
        return published

    async def find_existing(self, photo_id: str) -> Published | None:
        answer = await self.clients.rest(
            "flickr.photos.search", user_id="me", machine_tags=machine_tag(photo_id), per_page=1
        )
        found = answer.find("photos/photo")
        if found is None or not found.get("id"):
            return None
        remote_id = str(found.get("id"))
        return Published(remote_id, await self._photo_url(remote_id))

    async def _add_to_photoset(self, album: str, photo_id: str) -> None:
        """Best effort: the photo is published even if the photoset step fails."""

        async def create() -> str:
            answer = await self.clients.rest(
                "flickr.photosets.create", title=album, primary_photo_id=photo_id
            )
            node = answer.find("photoset")
            if node is None or not node.get("id"):
                raise PermanentError("Flickr created the photoset but sent no id")
            return str(node.get("id"))

        try:
            photoset_id, created = await self.albums.ensure(album, create)
            if not created:
                await self.clients.rest(
                    "flickr.photosets.addPhoto", photoset_id=photoset_id, photo_id=photo_id
                )
        except PublishingError as e:
            log.warning("photo %s is published but not in photoset %r: %s", photo_id, album, e)

    async def _photo_url(self, photo_id: str) -> str:
        """The photo page (`https://www.flickr.com/photos/<nsid>/<id>`); the nsid is the
        token's owner, asked once."""
        if self._user_id is None:
            answer = await self.clients.rest("flickr.test.login")
            user = answer.find("user")
            self._user_id = str(user.get("id")) if user is not None else "me"
        return f"https://www.flickr.com/photos/{self._user_id}/{photo_id}"
