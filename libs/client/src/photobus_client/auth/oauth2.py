"""The OAuth 2.0 token-endpoint call shared by the Imgur and Google flows."""

from __future__ import annotations

from typing import Any

import aiohttp

from photobus_client.auth import AuthFlowError


async def exchange_code(token_url: str, form: dict[str, str]) -> dict[str, Any]:
    """POST the authorization-code grant; the token response, or AuthFlowError with its error."""
    timeout = aiohttp.ClientTimeout(total=60)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(token_url, data=form) as response,
        ):
            text = await response.text()
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
    except (aiohttp.ClientError, TimeoutError) as e:
        raise AuthFlowError(f"could not reach the token endpoint {token_url}: {e}") from e
    if response.status != 200 or not isinstance(body, dict):
        raise AuthFlowError(
            f"the token endpoint refused the code (HTTP {response.status}): {_why(body, text)}"
        )
    return body


def _why(body: object, text: str) -> str:
    if isinstance(body, dict):
        for key in ("error_description", "error", "data"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("error")
            if value:
                return str(value)
    return text.strip()[:200]
