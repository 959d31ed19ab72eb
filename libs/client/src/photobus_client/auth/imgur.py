"""Imgur: OAuth 2.0 authorization code → a refresh token tied to the person's account."""

from __future__ import annotations

from urllib.parse import urlencode

from photobus_client.auth import AuthFlowError, Prompter, pasted_value
from photobus_client.auth.oauth2 import exchange_code

DEFAULT_API_URL = "https://api.imgur.com"


async def imgur_flow(
    prompt: Prompter, *, client_id: str, client_secret: str, api_url: str = DEFAULT_API_URL
) -> dict[str, str]:
    api = api_url.rstrip("/")
    query = urlencode({"client_id": client_id, "response_type": "code"})
    prompt.say(
        "1. Open this address, sign in to Imgur and allow photobus:\n"
        f"   {api}/oauth2/authorize?{query}\n"
        "2. Imgur sends you to your app's callback address; copy the `code` from it."
    )
    code = pasted_value(await prompt.ask("Paste the code (or the whole address): "), "code")
    if not code:
        raise AuthFlowError("no code was pasted; run `photobus auth imgur` again")
    body = await exchange_code(
        f"{api}/oauth2/token",
        {
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": "authorization_code",
            "code": code,
        },
    )
    refresh_token = body.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise AuthFlowError("Imgur answered without a refresh token; try again")
    if username := body.get("account_username"):
        prompt.say(f"Signed in as Imgur user {username}.")
    settings = {
        "PHOTOBUS_IMGUR_CLIENT_ID": client_id,
        "PHOTOBUS_IMGUR_CLIENT_SECRET": client_secret,
        "PHOTOBUS_IMGUR_REFRESH_TOKEN": refresh_token,
    }
    if api != DEFAULT_API_URL:
        settings["PHOTOBUS_IMGUR_API_URL"] = api
    return settings
