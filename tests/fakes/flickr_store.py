"""What the fake Flickr stores: tokens, photos, sets and upload tickets; tags and machine tags."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field

PERMS = ("read", "write", "delete")  # each level includes the ones before it

_TAG = re.compile(r'"([^"]*)"|(\S+)')
_MACHINE_TAG = re.compile(r"^([A-Za-z_]\w*):([A-Za-z_]\w*)=(.+)$")


def has_perms(granted: str, needed: str) -> bool:
    return PERMS.index(granted) >= PERMS.index(needed)


def parse_tags(field_value: str) -> list[str]:
    """Space-separated tags; a tag containing spaces is wrapped in double quotes."""
    return [quoted or bare for quoted, bare in _TAG.findall(field_value) if quoted or bare]


def machine_tag(raw: str) -> tuple[str, str, str] | None:
    """(namespace, predicate, value) lower-cased, or None for an ordinary tag."""
    match = _MACHINE_TAG.match(raw)
    if match is None:
        return None
    namespace, predicate, value = match.groups()
    return namespace.lower(), predicate.lower(), value.strip('"').lower()


def normalize_tag(raw: str) -> str:
    """Flickr's clean form: machine tags kept whole, other tags lower-cased alphanumerics."""
    parts = machine_tag(raw)
    if parts is not None:
        return "{}:{}={}".format(*parts)
    return re.sub(r"[^0-9a-z]", "", raw.lower())


def machine_tag_query_matches(query: str, tags: list[str]) -> bool:
    """One `machine_tags` search term: `ns:pred=value`, `ns:pred=`, `ns:`, `*` wildcards."""
    namespace, _, rest = query.strip().strip('"').partition(":")
    predicate, _, value = rest.partition("=")
    want = (namespace.lower(), predicate.lower(), value.strip('"').lower())
    for tag in tags:
        parts = machine_tag(tag)
        if parts is not None and all(
            w in ("", "*") or w == have for w, have in zip(want, parts, strict=True)
        ):
            return True
    return False


@dataclass
class AccessToken:
    token: str
    secret: str
    perms: str
    revoked: bool = False


@dataclass
class RequestToken:
    token: str
    secret: str
    callback: str
    perms: str | None = None
    verifier: str | None = None


@dataclass
class Photo:
    id: str
    owner: str
    title: str
    description: str
    tags: list[str]
    is_public: int
    is_friend: int
    is_family: int
    sha256: str
    secret: str = field(default_factory=lambda: secrets.token_hex(5))
    posted: int = field(default_factory=lambda: int(time.time()))

    def visible_to(self, nsid: str | None) -> bool:
        return self.is_public == 1 or self.owner == nsid


@dataclass
class Photoset:
    id: str
    owner: str
    title: str
    description: str
    photo_ids: list[str]


@dataclass
class Ticket:
    id: str
    photo_id: str | None  # None: conversion failed (complete="2")
    pending_checks: int = 0  # checkTickets answers complete="0" this many more times


@dataclass
class FlickrStore:
    photos: dict[str, Photo] = field(default_factory=dict)
    photosets: dict[str, Photoset] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    request_tokens: dict[str, RequestToken] = field(default_factory=dict)
    next_photo: int = 52900000001
    next_set: int = 72177720300000001
    next_ticket: int = 1000

    def new_photo_id(self) -> str:
        self.next_photo += 1
        return str(self.next_photo - 1)

    def new_set_id(self) -> str:
        self.next_set += 1
        return str(self.next_set - 1)

    def new_ticket_id(self) -> str:
        self.next_ticket += 1
        return str(self.next_ticket - 1)
