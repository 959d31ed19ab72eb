"""How the gallery words what the job view says: badges, times, sizes.

`static/gallery.js` words the live job page the same way; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from photobus_common.events import DESTINATIONS

from photobus_status.queries import DestinationDoc

DELIVERY_STATES: tuple[str, ...] = ("pending", "retrying", "published", "failed", "skipped")
PHOTO_STATES: tuple[str, ...] = ("pending", "processing", "completed", "partial", "failed")

T = TypeVar("T")


@dataclass(frozen=True)
class Badge:
    """One destination's state on a tile, the photo page or the job page."""

    destination: str
    state: str  # one of DELIVERY_STATES, or "unrequested"
    text: str
    href: str | None = None  # the published copy, when it is an http(s) link
    detail: str | None = None  # why it failed, was skipped or is retried


def in_order(destinations: Mapping[str, T]) -> list[tuple[str, T]]:
    """Destinations in the order photobus lists them everywhere (imgur, flickr, gphotos)."""
    rank: dict[str, int] = {name: i for i, name in enumerate(DESTINATIONS)}
    return sorted(destinations.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def web_link(url: str | None) -> str | None:
    """Only http(s) links become hrefs: a destination's URL never runs script."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def badge(destination: str, doc: DestinationDoc | None) -> Badge:
    if doc is None:
        return Badge(destination, "unrequested", "not requested")
    state = doc.state if doc.state in DELIVERY_STATES else "pending"
    if state == "published":
        text = "published (already there)" if doc.duplicate else "published"
        return Badge(destination, state, text, href=web_link(doc.url))
    if state == "retrying":
        text = f"retrying at {when(doc.retry_at)}" if doc.retry_at else "retrying"
        return Badge(destination, state, text, detail=doc.reason)
    if state in ("failed", "skipped"):
        return Badge(destination, state, state, detail=doc.reason)
    return Badge(destination, state, "pending")


def when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def size(count: int | None) -> str:
    if count is None:
        return ""
    if count < 1000:
        return f"{count} bytes"
    units = ("KB", "MB", "GB", "TB")
    amount, unit = count / 1000, 0
    while amount >= 1000 and unit < len(units) - 1:
        amount, unit = amount / 1000, unit + 1
    return f"{amount:.1f} {units[unit]}"


def camera(make: str | None, model: str | None) -> str:
    """ "Canon EOS R5", not "Canon Canon EOS R5": many models repeat the make."""
    make, model = (make or "").strip(), (model or "").strip()
    if make and model.lower().startswith(make.lower()):
        return model
    return " ".join(part for part in (make, model) if part)
