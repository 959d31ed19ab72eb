"""Default credentials, and fakes built with them (the standalone process uses these)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes.flickr import FakeFlickr
from tests.fakes.gphotos import FakeGooglePhotos
from tests.fakes.imgur import FakeImgur


@dataclass(frozen=True)
class ImgurCredentials:
    client_id: str = "fake-imgur-client-id"
    client_secret: str = "fake-imgur-client-secret"
    refresh_token: str = "fake-imgur-refresh-token"


@dataclass(frozen=True)
class FlickrCredentials:
    consumer_key: str = "fake-flickr-consumer-key"
    consumer_secret: str = "fake-flickr-consumer-secret"
    access_token: str = "72157000000000001-fakeflickrtoken"
    access_token_secret: str = "fake-flickr-token-secret"
    perms: str = "delete"


@dataclass(frozen=True)
class GooglePhotosCredentials:
    client_id: str = "fake-gphotos-client.apps.googleusercontent.com"
    client_secret: str = "fake-gphotos-client-secret"
    refresh_token: str = "1//fake-gphotos-refresh-token"


def default_imgur(**overrides: Any) -> FakeImgur:
    return FakeImgur(**{**vars(ImgurCredentials()), **overrides})


def default_flickr(**overrides: Any) -> FakeFlickr:
    return FakeFlickr(**{**vars(FlickrCredentials()), **overrides})


def default_gphotos(**overrides: Any) -> FakeGooglePhotos:
    return FakeGooglePhotos(**{**vars(GooglePhotosCredentials()), **overrides})
