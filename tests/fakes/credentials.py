"""Default credentials the standalone fakes accept (tests may configure others)."""

from __future__ import annotations

from dataclasses import dataclass


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
