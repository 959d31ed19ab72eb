"""Google Photos: the installed-app OAuth 2.0 flow (authorization code with PKCE).

Google no longer shows codes on a page ("oob"), so the browser is sent to
`redirect_uri` (by default http://127.0.0.1, where nothing answers): the code is in
that address, which the person pastes back whole.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

from photobus_client.auth import AuthFlowError, Prompter, pasted_value
from photobus_client.auth.oauth2 import exchange_code

AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 (an address)
REDIRECT_URI = "http://127.0.0.1"
SCOPES = (
    "https://www.googleapis.com/auth/photoslibrary.appendonly",
    "https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata",
)


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) of RFC 7636."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def google_flow(
    prompt: Prompter,
    *,
    client_id: str,
    client_secret: str,
    authorize_url: str = AUTHORIZE_URL,
    token_url: str = TOKEN_URL,
    redirect_uri: str = REDIRECT_URI,
) -> dict[str, str]:
    verifier, challenge = pkce_pair()
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(SCOPES),
            "access_type": "offline",
            "prompt": "consent",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    prompt.say(
        "1. Open this address, choose your Google account and allow photobus:\n"
        f"   {authorize_url}?{query}\n"
        f"2. Your browser then goes to {redirect_uri}/?code=… (the page may not load); "
        "copy that whole address."
    )
    code = pasted_value(await prompt.ask("Paste the address (or just the code): "), "code")
    if not code:
        raise AuthFlowError("no code was pasted; run `photobus auth google` again")
    body = await exchange_code(
        token_url,
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
    )
    refresh_token = body.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise AuthFlowError(
            "Google answered without a refresh token; revoke photobus's access at "
            "https://myaccount.google.com/permissions and run `photobus auth google` again"
        )
    granted = set(str(body.get("scope", "")).split())
    if SCOPES[0] not in granted:
        raise AuthFlowError("the upload permission (photoslibrary.appendonly) was not granted")
    settings = {
        "PHOTOBUS_GPHOTOS_CLIENT_ID": client_id,
        "PHOTOBUS_GPHOTOS_CLIENT_SECRET": client_secret,
        "PHOTOBUS_GPHOTOS_REFRESH_TOKEN": refresh_token,
    }
    if token_url != TOKEN_URL:
        settings["PHOTOBUS_GPHOTOS_TOKEN_URL"] = token_url
    return settings
