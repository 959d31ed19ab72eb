"""Google OAuth2 access tokens from a refresh token (google-auth), refreshed off the
event loop, once for all concurrent callers."""

from __future__ import annotations

import asyncio

import google.auth.transport.requests
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from photobus_common.publishing import PermanentError, TransientError

SCOPES = [
    "https://www.googleapis.com/auth/photoslibrary.appendonly",
    "https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata",
]


class GoogleTokens:
    def __init__(
        self, *, client_id: str, client_secret: str, refresh_token: str, token_uri: str
    ) -> None:
        self.credentials = Credentials(  # type: ignore[no-untyped-call]
            token=None,
            refresh_token=refresh_token,
            token_uri=token_uri,
            client_id=client_id,
            client_secret=client_secret,
            scopes=SCOPES,
        )
        self._lock = asyncio.Lock()

    async def access_token(self, *, stale: str | None = None) -> str:
        """A valid access token; `stale` is one the API refused, which forces a refresh."""
        async with self._lock:
            creds = self.credentials
            if creds.valid and creds.token and creds.token != stale:
                return str(creds.token)
            try:
                await asyncio.to_thread(creds.refresh, google.auth.transport.requests.Request())
            except RefreshError as e:
                message = str(e.args[0]) if e.args else str(e)  # args[1] is the raw answer
                if e.retryable:
                    raise TransientError(f"Google token refresh failed: {message}") from e
                raise PermanentError(f"invalid credentials: {message}") from e
            except TransportError as e:
                raise TransientError(f"Google token endpoint unreachable: {e}") from e
            return str(creds.token)
