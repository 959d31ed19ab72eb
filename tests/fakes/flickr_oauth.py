"""OAuth 1.0a HMAC-SHA1 signatures as Flickr checks them (contracts §B.2)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

_HEADER_PARAM = re.compile(r'(\w+)="([^"]*)"')


def percent_encode(value: str) -> str:
    """RFC 5849 §3.6: UTF-8, then everything but unreserved characters escaped."""
    return quote(value, safe="~")


def parse_authorization(header: str) -> dict[str, str]:
    """The parameters of an `Authorization: OAuth k="v", ...` header (empty if not OAuth)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "oauth":
        return {}
    return {key: unquote(value) for key, value in _HEADER_PARAM.findall(rest) if key != "realm"}


def base_string(method: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """`METHOD&enc(url without query)&enc(sorted, encoded params joined by &)`."""
    encoded = sorted((percent_encode(k), percent_encode(v)) for k, v in params)
    normalized = "&".join(f"{k}={v}" for k, v in encoded)
    return "&".join(percent_encode(part) for part in (method.upper(), url, normalized))


def sign(base: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}"
    digest = hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_matches(
    method: str,
    url: str,
    params: Iterable[tuple[str, str]],
    signature: str,
    consumer_secret: str,
    token_secret: str,
) -> bool:
    """Whether `signature` signs the request; `params` excludes oauth_signature itself."""
    expected = sign(base_string(method, url, params), consumer_secret, token_secret)
    return hmac.compare_digest(expected, signature)
