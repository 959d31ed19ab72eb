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


def publisher_env(urls: dict[str, str]) -> dict[str, str]:
    """`PHOTOBUS_*` variables pointing the publishers at running fakes with the default
    credentials; `urls` is what `python -m tests.fakes` writes (any subset of the three)."""
    env: dict[str, str] = {}
    if "imgur" in urls:
        imgur = ImgurCredentials()
        env |= {
            "PHOTOBUS_IMGUR_CLIENT_ID": imgur.client_id,
            "PHOTOBUS_IMGUR_CLIENT_SECRET": imgur.client_secret,
            "PHOTOBUS_IMGUR_REFRESH_TOKEN": imgur.refresh_token,
            "PHOTOBUS_IMGUR_API_URL": urls["imgur"],
        }
    if "flickr" in urls:
        flickr = FlickrCredentials()
        env |= {
            "PHOTOBUS_FLICKR_API_KEY": flickr.consumer_key,
            "PHOTOBUS_FLICKR_API_SECRET": flickr.consumer_secret,
            "PHOTOBUS_FLICKR_OAUTH_TOKEN": flickr.access_token,
            "PHOTOBUS_FLICKR_OAUTH_TOKEN_SECRET": flickr.access_token_secret,
            "PHOTOBUS_FLICKR_REST_URL": f"{urls['flickr']}/services/rest/",
            "PHOTOBUS_FLICKR_UPLOAD_URL": f"{urls['flickr']}/services/upload/",
        }
    if "gphotos" in urls:
        gphotos = GooglePhotosCredentials()
        env |= {
            "PHOTOBUS_GPHOTOS_CLIENT_ID": gphotos.client_id,
            "PHOTOBUS_GPHOTOS_CLIENT_SECRET": gphotos.client_secret,
            "PHOTOBUS_GPHOTOS_REFRESH_TOKEN": gphotos.refresh_token,
            "PHOTOBUS_GPHOTOS_TOKEN_URL": f"{urls['gphotos']}/token",
            "PHOTOBUS_GPHOTOS_API_URL": urls["gphotos"],
        }
    return env
