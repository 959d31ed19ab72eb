"""flickrapi, made safe for an event loop: every call runs in a thread, on one of a few
clients that each own their `requests.Session` (flickrapi shares one class-wide
session between instances, which threads must not use at once)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar
from xml.etree.ElementTree import Element

import requests
from flickrapi import FlickrAPI
from flickrapi.auth import FlickrAccessToken
from flickrapi.exceptions import FlickrError
from photobus_common.publishing import PermanentError, PublishingError, TransientError

T = TypeVar("T")

NOT_AN_IMAGE = 5
# Worth trying again: general upload failure, capacity, service unavailable, write failed.
TRANSIENT_CODES = frozenset({3, 14, 105, 106})
# Signature invalid or missing, login failed, not logged in / too few perms, bad API key.
CREDENTIAL_CODES = frozenset({96, 97, 98, 99, 100})


def flickr_error(error: FlickrError) -> PublishingError:
    """What a Flickr refusal means for the delivery, with Flickr's own message."""
    code: int | None = error.code
    message = str(error)
    if code is None:  # flickrapi's way of saying "HTTP status was not 200"
        return TransientError(f"Flickr answered: {message}")
    if code == NOT_AN_IMAGE:
        return PermanentError(f"not_an_image: {message}")
    if code in CREDENTIAL_CODES:
        return PermanentError(f"invalid credentials: {message}")
    if code in TRANSIENT_CODES:
        return TransientError(f"Flickr error {code}: {message}")
    return PermanentError(f"Flickr error {code}: {message}")


class FlickrClients:
    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        oauth_token: str,
        oauth_token_secret: str,
        rest_url: str,
        upload_url: str,
        timeout: float,
        size: int,
    ) -> None:
        self._idle: asyncio.Queue[FlickrAPI] = asyncio.Queue()
        self._all: list[FlickrAPI] = []
        for _ in range(size):
            api = FlickrAPI(
                api_key,
                api_secret,
                token=FlickrAccessToken(oauth_token, oauth_token_secret, "write"),
                format="etree",
                store_token=False,
                timeout=timeout,
            )
            api.REST_URL = rest_url
            api.UPLOAD_URL = upload_url
            api.flickr_oauth.session = requests.Session()
            self._all.append(api)
            self._idle.put_nowait(api)

    async def run(self, what: str, call: Callable[[FlickrAPI], T]) -> T:
        """`call(api)` in a thread; Flickr and network errors become publishing errors."""
        api = await self._idle.get()
        try:
            return await asyncio.to_thread(call, api)
        except FlickrError as e:
            raise flickr_error(e) from e
        except (requests.Timeout, requests.ConnectionError) as e:
            raise TransientError(f"{what}: {type(e).__name__}") from e
        finally:
            self._idle.put_nowait(api)

    async def rest(self, method: str, **params: Any) -> Element:
        """One REST method, e.g. `rest("flickr.photosets.create", title=...)`."""
        result: Element = await self.run(method, lambda api: api.do_flickr_call(method, **params))
        return result

    def close(self) -> None:
        for api in self._all:
            api.flickr_oauth.session.close()
