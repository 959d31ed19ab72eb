"""Event bodies in and out: what any consumer gets from `parse_event`."""

from __future__ import annotations

import pytest
from photobus_common.events import (
    ItemOptions,
    JobAccepted,
    JobItem,
    PublishFailed,
    dump_event,
    parse_event,
)

ITEM = JobItem(item_id="i1", source="upload", filename="cat.jpg")


def test_an_event_comes_back_as_it_was_sent() -> None:
    sent = JobAccepted(producer="t", job_id="j", items=(ITEM,), options=ItemOptions(title="A cat"))
    assert parse_event(dump_event(sent)) == sent


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("a\x00b", "a\ufffdb"),
        ("\x00\x00", "\ufffd\ufffd"),
        ("\\u0000", "\\u0000"),  # a backslash, then 'u0000': text, not a NUL
        ("\\\x00", "\\\ufffd"),  # a backslash, then a NUL
    ],
)
def test_a_nul_character_arrives_as_the_replacement_character(text: str, parsed: str) -> None:
    # Postgres takes no NUL in text or jsonb: a title, tag or remote error message holding
    # one would make the job view's batch fail again and again, and reach no one.
    sent = PublishFailed(
        producer="t", job_id="j", photo_id="p", item_id="i1", destination="flickr",
        attempt=1, permanent=True, reason=text,
    )  # fmt: skip
    received = parse_event(dump_event(sent))
    assert isinstance(received, PublishFailed)
    assert received.reason == parsed
    options = ItemOptions(title=text, tags=(text,), album=text)
    job = parse_event(dump_event(JobAccepted(producer="t", items=(ITEM,), options=options)))
    assert isinstance(job, JobAccepted)
    assert (job.options.title, job.options.tags, job.options.album) == (parsed, (parsed,), parsed)
