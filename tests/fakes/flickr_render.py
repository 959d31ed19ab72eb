"""Flickr's response formats (§B.3, §B.4): `<rsp>` XML, and JSON by Flickr's mapping rules."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from aiohttp import web

MESSAGES = {
    2: "No photo specified",
    3: "General upload failure",
    4: "Filesize was zero",
    5: "Filetype was not recognised",
    6: "User exceeded upload limit",
    8: "Filesize too large",
    9: "Duplicate photo",
    95: "SSL is required",
    96: "Invalid signature",
    97: "Missing signature",
    98: "Invalid auth token",
    99: "Insufficient permissions",
    100: "Invalid API Key (Key not found)",
    105: "Service currently unavailable",
    106: "Write operation failed",
    111: "Format not found",
    112: "Method not found",
}

# Elements that are lists in Flickr's JSON even when there is one of them: (parent, child).
_ARRAYS = {
    ("photos", "photo"),
    ("photosets", "photoset"),
    ("photoset", "photo"),
    ("uploader", "ticket"),
    ("tags", "tag"),
    ("urls", "url"),
}
_ALWAYS_PRESENT = {pair for pair in _ARRAYS if pair[0] != "photoset"}  # `[]` when empty


class FlickrFault(Exception):
    """A `stat="fail"` answer: Flickr's error code and message."""

    def __init__(self, code: int, message: str | None = None, **extra: str) -> None:
        self.code = code
        self.message = message or MESSAGES.get(code, "Error")
        self.extra = extra  # more <err> attributes, e.g. duplicate_photo_id
        super().__init__(f"{code}: {self.message}")


def element(tag: str, text: str | None = None, /, **attributes: object) -> ET.Element:
    node = ET.Element(tag, {key: str(value) for key, value in attributes.items()})
    node.text = text
    return node


def _to_json(node: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = dict(node.attrib)
    if node.text is not None:  # leaf text, even empty: {"title": {"_content": ""}}
        out["_content"] = node.text
    for child in node:
        value = _to_json(child)
        if (node.tag, child.tag) in _ARRAYS:
            out.setdefault(child.tag, []).append(value)
        elif child.tag in out:
            previous = out[child.tag]
            out[child.tag] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[child.tag] = value
    for parent, child_tag in _ALWAYS_PRESENT:
        if parent == node.tag:
            out.setdefault(child_tag, [])
    return out


def xml_response(rsp: ET.Element) -> web.Response:
    body = '<?xml version="1.0" encoding="utf-8" ?>\n' + ET.tostring(rsp, encoding="unicode")
    return web.Response(text=body, content_type="text/xml")


def ok_xml(*children: ET.Element) -> web.Response:
    rsp = element("rsp", stat="ok")
    rsp.extend(children)
    return xml_response(rsp)


def fail_xml(fault: FlickrFault) -> web.Response:
    rsp = element("rsp", stat="fail")
    rsp.append(element("err", code=fault.code, msg=fault.message, **fault.extra))
    return xml_response(rsp)


def _json_body(body: dict[str, Any], params: dict[str, str]) -> web.Response:
    text = json.dumps(body)
    if params.get("nojsoncallback") != "1":
        text = f"{params.get('jsoncallback') or 'jsonFlickrApi'}({text})"
    return web.Response(text=text, content_type="application/json")


def rest_ok(params: dict[str, str], children: list[ET.Element]) -> web.Response:
    if params.get("format") == "json":
        body: dict[str, Any] = {}
        for child in children:
            body[child.tag] = _to_json(child)
        body["stat"] = "ok"
        return _json_body(body, params)
    return ok_xml(*children)


def rest_fail(params: dict[str, str], fault: FlickrFault) -> web.Response:
    if params.get("format") == "json":
        return _json_body({"stat": "fail", "code": fault.code, "message": fault.message}, params)
    return fail_xml(fault)
