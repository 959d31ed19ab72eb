"""Upload options from form fields or JSON: what each spelling means, and clear 400s."""

from __future__ import annotations

import pytest
from photobus_common.events import ItemOptions
from photobus_ingest.routes.errors import ApiError
from photobus_ingest.routes.options import parse_options


def test_no_options_mean_every_destination_and_no_location() -> None:
    assert parse_options({}) == ItemOptions(destinations=("imgur", "flickr", "gphotos"))


@pytest.mark.parametrize(
    ("values", "destinations"),
    [
        ({"destinations": "flickr, IMGUR"}, ("imgur", "flickr")),
        ({"destinations": ["gphotos"]}, ("gphotos",)),
        ({"destinations": []}, ()),
        ({"skip": "gphotos"}, ("imgur", "flickr")),
        ({"skip": "s3,flickr"}, ("imgur", "gphotos")),  # the seed's "s3": originals are kept
        ({"destinations": "imgur,flickr", "skip": ["flickr"]}, ("imgur",)),
    ],
)
def test_destinations_and_skip(values: dict[str, object], destinations: tuple[str, ...]) -> None:
    assert parse_options(values).destinations == destinations


def test_text_tags_and_location() -> None:
    options = parse_options(
        {
            "title": "  Holiday ",
            "description": "",
            "tags": "sea, sun,,sea",
            "album": "2024",
            "keep_location": "yes",
        }
    )
    assert options.title == "Holiday"
    assert options.description is None
    assert options.tags == ("sea", "sun")
    assert options.album == "2024"
    assert options.strip_location is False
    assert parse_options({"tags": ["a", " b "], "keep_location": False}).tags == ("a", "b")


@pytest.mark.parametrize(
    ("values", "mentions"),
    [
        ({"destinations": "imgur,myspace"}, "myspace"),
        ({"skip": "s3,tumblr"}, "tumblr"),
        ({"destinations": "s3"}, "s3"),  # only skip tolerates the seed's step name
        ({"tags": 7}, "tags"),
        ({"title": ["a"]}, "title"),
        ({"keep_location": "maybe"}, "keep_location"),
    ],
)
def test_bad_options_are_a_clear_400(values: dict[str, object], mentions: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_options(values)
    assert caught.value.status == 400
    assert caught.value.code == "bad_options"
    assert mentions in caught.value.detail
