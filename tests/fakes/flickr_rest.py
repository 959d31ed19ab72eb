"""The REST methods the publisher and its tests need (§B.4), over a `FlickrStore`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from tests.fakes.flickr_render import FlickrFault, element
from tests.fakes.flickr_store import (
    AccessToken,
    FlickrStore,
    Photo,
    Photoset,
    has_perms,
    machine_tag,
    machine_tag_query_matches,
    normalize_tag,
)


@dataclass(frozen=True)
class FlickrUser:
    nsid: str
    username: str
    fullname: str

    def photo_url(self, photo_id: str) -> str:
        return f"https://www.flickr.com/photos/{self.nsid}/{photo_id}"


Params = dict[str, str]
Method = Callable[[Params, AccessToken | None], list[ET.Element]]

# The permission each method needs; methods not listed work without a user token.
REQUIRED_PERMS = {
    "flickr.photosets.create": "write",
    "flickr.photosets.addPhoto": "write",
    "flickr.photos.delete": "delete",
    "flickr.auth.oauth.checkToken": "read",
    "flickr.test.login": "read",
    "flickr.photosets.getList": "read",
}


class FlickrRest:
    def __init__(self, store: FlickrStore, user: FlickrUser) -> None:
        self.store = store
        self.user = user
        self.methods: dict[str, Method] = {
            "flickr.photosets.create": self.photosets_create,
            "flickr.photosets.addPhoto": self.photosets_add_photo,
            "flickr.photosets.getList": self.photosets_get_list,
            "flickr.photosets.getPhotos": self.photosets_get_photos,
            "flickr.photos.delete": self.photos_delete,
            "flickr.photos.search": self.photos_search,
            "flickr.photos.getInfo": self.photos_get_info,
            "flickr.photos.upload.checkTickets": self.check_tickets,
            "flickr.auth.oauth.checkToken": self.check_token,
            "flickr.test.login": self.test_login,
        }

    def call(self, params: Params, token: AccessToken | None) -> list[ET.Element]:
        name = params.get("method", "")
        method = self.methods.get(name)
        if method is None:
            raise FlickrFault(112, f'Method "{name}" not found')
        needed = REQUIRED_PERMS.get(name)
        if needed is not None and (token is None or not has_perms(token.perms, needed)):
            granted = token.perms if token else "none"
            raise FlickrFault(
                99,
                f"Insufficient permissions. Method requires {needed} privileges; {granted} granted.",
            )
        return method(params, token)

    # -- helpers ------------------------------------------------------------------------

    def _viewer(self, token: AccessToken | None) -> str | None:
        return self.user.nsid if token is not None else None

    def _photo(self, photo_id: str, token: AccessToken | None, *, own: bool = False) -> Photo:
        photo = self.store.photos.get(photo_id)
        viewer = self._viewer(token)
        if photo is None or not photo.visible_to(viewer) or (own and photo.owner != viewer):
            raise FlickrFault(1, "Photo not found")
        return photo

    def _summary(self, photo: Photo, extras: set[str]) -> ET.Element:
        node = element(
            "photo",
            id=photo.id,
            owner=photo.owner,
            secret=photo.secret,
            server="65535",
            farm="66",
            title=photo.title,
            ispublic=photo.is_public,
            isfriend=photo.is_friend,
            isfamily=photo.is_family,
        )
        if "tags" in extras:
            node.set("tags", " ".join(normalize_tag(t) for t in photo.tags if not machine_tag(t)))
        if "machine_tags" in extras:
            node.set(
                "machine_tags", " ".join(normalize_tag(t) for t in photo.tags if machine_tag(t))
            )
        if "date_upload" in extras:
            node.set("dateupload", str(photo.posted))
        if "description" in extras:
            node.append(element("description", photo.description))
        return node

    # -- photosets ------------------------------------------------------------------------

    def photosets_create(self, params: Params, token: AccessToken | None) -> list[ET.Element]:
        title = params.get("title", "")
        if not title:
            raise FlickrFault(1, "No title specified")
        primary = self.store.photos.get(params.get("primary_photo_id", ""))
        if primary is None or primary.owner != self.user.nsid:
            raise FlickrFault(2, "Photo not found")
        photoset_id = self.store.new_set_id()
        self.store.photosets[photoset_id] = self._new_set(photoset_id, title, params, primary.id)
        url = f"https://www.flickr.com/photos/{self.user.nsid}/sets/{photoset_id}/"
        return [element("photoset", id=photoset_id, url=url)]

    def _new_set(self, photoset_id: str, title: str, params: Params, primary: str) -> Photoset:
        return Photoset(
            photoset_id, self.user.nsid, title, params.get("description", ""), [primary]
        )

    def photosets_add_photo(self, params: Params, token: AccessToken | None) -> list[ET.Element]:
        photoset = self.store.photosets.get(params.get("photoset_id", ""))
        if photoset is None:
            raise FlickrFault(1, "Photoset not found")
        photo = self._photo(params.get("photo_id", ""), token, own=True)
        if photo.id in photoset.photo_ids:
            raise FlickrFault(3, "Photo already in set")
        photoset.photo_ids.append(photo.id)
        return []

    def photosets_get_list(self, params: Params, token: AccessToken | None) -> list[ET.Element]:
        # Newest first: a new set goes to the front of the user's set order.
        sets = sorted(self.store.photosets.values(), key=lambda s: s.id, reverse=True)
        root = element(
            "photosets", page=1, pages=1, perpage=len(sets), total=len(sets), cancreate=1
        )
        for photoset in sets:
            node = element(
                "photoset",
                id=photoset.id,
                primary=photoset.photo_ids[0] if photoset.photo_ids else "",
                photos=len(photoset.photo_ids),
                videos=0,
            )
            node.append(element("title", photoset.title))
            node.append(element("description", photoset.description))
            root.append(node)
        return [root]

    def photosets_get_photos(self, params: Params, token: AccessToken | None) -> list[ET.Element]:
        photoset = self.store.photosets.get(params.get("photoset_id", ""))
        if photoset is None:
            raise FlickrFault(1, "Photoset not found")
        viewer = self._viewer(token)
        photos = [self.store.photos[i] for i in photoset.photo_ids if i in self.store.photos]
        visible = [p for p in photos if p.visible_to(viewer)]
        root = element("photoset", id=photoset.id, owner=photoset.owner, total=len(visible))
        extras = set(params.get("extras", "").split(","))
        root.extend(self._summary(photo, extras) for photo in visible)
        return [root]

    # -- photos -------------------------------------------------------------------------------

    def photos_delete(self, params: Params, token: AccessToken | None) -> list[ET.Element]:
        photo = self._photo(params.get("photo_id", ""), token, own=True)
        del self.store.photos[photo.id]
        for photoset in self.store.photosets.values():
            if photo.id in photoset.photo_ids:
                photoset.photo_ids.remove(photo.id)
        return []

    def photos_search(self, params: Params, token: AccessToken | None) -> list[ET.Element]:
        user_id = params.get("user_id", "")
        if user_id == "me" and token is None:
            raise FlickrFault(99, "Insufficient permissions: user_id=me needs a signed call")
        owner = self.user.nsid if user_id == "me" else user_id
        viewer = self._viewer(token)
        found = [
            p
            for p in self.store.photos.values()
            if p.visible_to(viewer) and (not owner or p.owner == owner) and self._matches(p, params)
        ]
        found.sort(key=lambda p: int(p.id), reverse=True)
        per_page = min(int(params.get("per_page", "100")), 500)
        page = max(int(params.get("page", "1")), 1)
        pages = max((len(found) + per_page - 1) // per_page, 1)
        root = element("photos", page=page, pages=pages, perpage=per_page, total=len(found))
        extras = set(params.get("extras", "").split(","))
        shown = found[(page - 1) * per_page : page * per_page]
        root.extend(self._summary(photo, extras) for photo in shown)
        return [root]

    @staticmethod
    def _matches(photo: Photo, params: Params) -> bool:
        checks: list[bool] = []
        if params.get("machine_tags"):
            terms = [t for t in params["machine_tags"].split(",") if t.strip()]
            hits = [machine_tag_query_matches(term, photo.tags) for term in terms]
            checks.append(all(hits) if params.get("machine_tag_mode") == "all" else any(hits))
        if params.get("tags"):
            have = {normalize_tag(t) for t in photo.tags}
            wanted = [normalize_tag(t) for t in params["tags"].split(",") if t.strip()]
            hits = [w in have for w in wanted]
            checks.append(all(hits) if params.get("tag_mode") == "all" else any(hits))
        if params.get("text"):
            text = params["text"].lower()
            checks.append(text in photo.title.lower() or text in photo.description.lower())
        return all(checks)

    def photos_get_info(self, params: Params, token: AccessToken | None) -> list[ET.Element]:
        photo = self._photo(params.get("photo_id", ""), token)
        node = element("photo", id=photo.id, secret=photo.secret, server="65535", farm="66")
        node.append(
            element(
                "owner", nsid=photo.owner, username=self.user.username, realname=self.user.fullname
            )
        )
        node.append(element("title", photo.title))
        node.append(element("description", photo.description))
        node.append(
            element(
                "visibility",
                ispublic=photo.is_public,
                isfriend=photo.is_friend,
                isfamily=photo.is_family,
            )
        )
        node.append(element("dates", posted=photo.posted, lastupdate=photo.posted))
        tags = element("tags")
        for raw in photo.tags:
            tags.append(
                element(
                    "tag",
                    normalize_tag(raw),
                    id=f"{photo.id}-{normalize_tag(raw)}",
                    author=photo.owner,
                    raw=raw,
                    machine_tag=int(machine_tag(raw) is not None),
                )
            )
        node.append(tags)
        urls = element("urls")
        urls.append(element("url", self.user.photo_url(photo.id), type="photopage"))
        node.append(urls)
        return [node]

    # -- uploads and auth ------------------------------------------------------------------------

    def check_tickets(self, params: Params, token: AccessToken | None) -> list[ET.Element]:
        root = element("uploader")
        for ticket_id in filter(None, params.get("tickets", "").split(",")):
            ticket = self.store.tickets.get(ticket_id.strip())
            if ticket is None:
                root.append(element("ticket", id=ticket_id, invalid=1))
            elif ticket.pending_checks > 0:
                ticket.pending_checks -= 1
                root.append(element("ticket", id=ticket.id, complete=0))
            elif ticket.photo_id is None:
                root.append(element("ticket", id=ticket.id, complete=2))
            else:
                root.append(element("ticket", id=ticket.id, complete=1, photoid=ticket.photo_id))
        return [root]

    def check_token(self, params: Params, token: AccessToken | None) -> list[ET.Element]:
        assert token is not None  # REQUIRED_PERMS guarantees it
        root = element("oauth")
        root.append(element("token", token.token))
        root.append(element("perms", token.perms))
        root.append(
            element(
                "user",
                nsid=self.user.nsid,
                username=self.user.username,
                fullname=self.user.fullname,
            )
        )
        return [root]

    def test_login(self, params: Params, token: AccessToken | None) -> list[ET.Element]:
        user = element("user", id=self.user.nsid)
        user.append(element("username", self.user.username))
        return [user]
