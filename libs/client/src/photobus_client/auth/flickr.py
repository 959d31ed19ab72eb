"""Flickr: OAuth 1.0a with flickrapi (request token, `oob` verifier, access token).

flickrapi is blocking (requests), so each step runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from photobus_client.auth import AuthFlowError, Prompter, pasted_value

OAUTH_PATHS = {
    "REQUEST_TOKEN_URL": "/services/oauth/request_token",
    "AUTHORIZE_URL": "/services/oauth/authorize",
    "ACCESS_TOKEN_URL": "/services/oauth/access_token",
}


def oauth_base_of(rest_url: str) -> str | None:
    """Where the OAuth endpoints are: flickrapi's own for Flickr itself (www.flickr.com),
    else beside the REST endpoint (same origin), as on look-alikes and the tests' fake."""
    parts = urlsplit(rest_url)
    if parts.hostname is None or parts.hostname.endswith("flickr.com"):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _flickr(api_key: str, api_secret: str, oauth_base: str | None) -> Any:
    import flickrapi  # only this command needs it

    # flickrapi logs each refusal with its whole response; the flow reports it in one line.
    logging.getLogger("flickrapi").addHandler(logging.NullHandler())
    logging.getLogger("flickrapi").propagate = False
    api = flickrapi.FlickrAPI(api_key, api_secret, store_token=False)
    if oauth_base is not None:
        for name, path in OAUTH_PATHS.items():
            setattr(api.flickr_oauth, name, oauth_base.rstrip("/") + path)  # this instance only
    return api


def _start(api: Any) -> str:
    api.get_request_token(oauth_callback="oob")
    return str(api.auth_url(perms="write"))


def _finish(api: Any, verifier: str) -> tuple[str, str, str]:
    api.get_access_token(verifier)
    token = api.token_cache.token
    return str(token.token), str(token.token_secret), str(token.username or "")


async def flickr_flow(
    prompt: Prompter, *, api_key: str, api_secret: str, oauth_base: str | None = None
) -> dict[str, str]:
    import flickrapi

    api = _flickr(api_key, api_secret, oauth_base)
    try:
        url = await asyncio.to_thread(_start, api)
    except flickrapi.exceptions.FlickrError as e:
        raise AuthFlowError(f"Flickr refused the API key or secret: {e}") from e
    except OSError as e:
        raise AuthFlowError(f"could not reach Flickr: {e}") from e
    prompt.say(
        "1. Open this address, sign in to Flickr and allow photobus to upload (write):\n"
        f"   {url}\n"
        "2. Flickr then shows a nine-digit code."
    )
    verifier = pasted_value(await prompt.ask("Type the code: "), "oauth_verifier")
    if not verifier:
        raise AuthFlowError("no code was typed; run `photobus auth flickr` again")
    try:
        token, secret, username = await asyncio.to_thread(_finish, api, verifier)
    except flickrapi.exceptions.FlickrError as e:
        raise AuthFlowError(f"Flickr refused the code: {e}") from e
    except OSError as e:
        raise AuthFlowError(f"could not reach Flickr: {e}") from e
    if username:
        prompt.say(f"Signed in as Flickr user {username}.")
    return {
        "PHOTOBUS_FLICKR_API_KEY": api_key,
        "PHOTOBUS_FLICKR_API_SECRET": api_secret,
        "PHOTOBUS_FLICKR_OAUTH_TOKEN": token,
        "PHOTOBUS_FLICKR_OAUTH_TOKEN_SECRET": secret,
    }
