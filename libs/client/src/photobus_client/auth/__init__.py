"""`photobus auth imgur|flickr|google`: get a destination's long-lived credentials.

Each flow prints an authorization URL, reads back what the person's browser shows
(a code or verifier), exchanges it at the destination's token endpoint and returns
the `PHOTOBUS_*` settings to put in `.env`. No password is ever asked for or stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

Ask = Callable[[str], Awaitable[str]]
"""Shows a prompt and returns the line the person typed."""
Say = Callable[[str], None]


class AuthFlowError(Exception):
    """The flow cannot finish; the message says why and what to do."""


@dataclass(frozen=True)
class Prompter:
    ask: Ask
    say: Say


def pasted_value(text: str, name: str) -> str:
    """What the person pasted: the bare value, or a whole redirect URL carrying `name=`."""
    text = text.strip()
    if "://" in text or text.startswith("?") or f"{name}=" in text:
        query = parse_qs(urlsplit(text).query or text.lstrip("?"))
        if values := query.get(name):
            return values[0]
    return text


def require(value: str | None, what: str, flag: str, variable: str, how: str) -> str:
    if not value:
        raise AuthFlowError(f"no {what}: pass {flag} or set {variable} ({how})")
    return value


def env_lines(settings: dict[str, str]) -> str:
    return "\n".join(f"{name}={value}" for name, value in settings.items())
