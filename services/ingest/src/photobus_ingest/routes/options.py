"""What an upload asks for (title, tags, destinations…), from form fields or JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

from photobus_common.events import DESTINATIONS, Destination, ItemOptions

from photobus_ingest.routes.errors import ApiError

# Steps older clients name that photobus always does anyway (the seed's "s3": originals are kept).
ALWAYS_DONE = frozenset({"s3"})

OPTION_FIELDS = frozenset(
    {"title", "description", "tags", "album", "destinations", "skip", "keep_location"}
)


def _bad(detail: str) -> ApiError:
    return ApiError(400, "bad_options", detail)


def _names(value: object, field: str) -> list[str]:
    """A comma list ("a, b") or a JSON list of strings, trimmed, empty entries dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        items: Iterable[object] = value.split(",")
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise _bad(f"`{field}` must be a list of strings or a comma-separated string.")
    names: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise _bad(f"`{field}` must be a list of strings or a comma-separated string.")
        name = item.strip()
        if name and name not in names:
            names.append(name)
    return names


def _destinations(names: list[str], field: str, *, ignore: frozenset[str]) -> set[Destination]:
    unknown = [n for n in names if n.lower() not in DESTINATIONS and n.lower() not in ignore]
    if unknown:
        raise _bad(
            f"Unknown destination {', '.join(repr(n) for n in unknown)} in `{field}`: "
            f"choose from {', '.join(DESTINATIONS)}."
        )
    return {cast(Destination, n.lower()) for n in names if n.lower() in DESTINATIONS}


def _text(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(f"`{field}` must be a string.")
    return value.strip() or None


def _flag(value: object, field: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"", "0", "false", "no", "off"}:
            return False
    raise _bad(f"`{field}` must be true or false.")


def parse_options(values: Mapping[str, object]) -> ItemOptions:
    """Options from form fields or a JSON object; raises ApiError(400) on anything wrong.

    `destinations` lists where to publish (all by default); `skip` removes from that.
    """
    wanted: set[Destination] = set(DESTINATIONS)
    if "destinations" in values:
        wanted = _destinations(
            _names(values["destinations"], "destinations"), "destinations", ignore=frozenset()
        )
    wanted -= _destinations(_names(values.get("skip"), "skip"), "skip", ignore=ALWAYS_DONE)
    return ItemOptions(
        title=_text(values.get("title"), "title"),
        description=_text(values.get("description"), "description"),
        tags=tuple(_names(values.get("tags"), "tags")),
        album=_text(values.get("album"), "album"),
        destinations=tuple(d for d in DESTINATIONS if d in wanted),
        strip_location=not _flag(values.get("keep_location"), "keep_location"),
    )
