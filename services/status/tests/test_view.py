"""The status view is a pure fold: any order, any duplicates, same result."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from photobus_common.events import Event, JobItem, MessageDeadLettered
from photobus_status.progress import ItemState, item_state, job_status, photo_state
from photobus_status.view import fold
from photobus_status.view_models import StatusView

from services.status.tests.histories import (
    accepted,
    failed,
    job_history,
    jobs_history,
    photo_id,
    published,
    received,
    rejected,
    republish,
    retrying,
    shuffled_with_duplicates,
    skipped,
    thumb_failed,
    thumbnailed,
    upload,
)

JOB = "job-1"
P1 = photo_id(1)


def all_orders(events: list[Event]) -> list[StatusView]:
    return [fold(order) for order in itertools.permutations(events)]


def one_result(events: list[Event]) -> StatusView:
    views = all_orders(events)
    assert all(v == views[0] for v in views)
    return views[0]


def item(view: StatusView, item_id: str, *, required: bool = True) -> ItemState:
    job = view.jobs[JOB]
    it = job.items[item_id]
    return item_state(job, it, view.photos.get(it.photo_id or ""), required)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_order_and_duplicates_give_the_same_view(data: st.DataObject) -> None:
    history = data.draw(jobs_history())
    expected = fold(history)
    delivered = data.draw(shuffled_with_duplicates(history))
    view = fold(delivered)
    assert view == expected
    for required, job in itertools.product((True, False), ("job-1", "job-2")):
        assert job_status(view.jobs[job], view.photos, required) == job_status(
            expected.jobs[job], expected.photos, required
        )
    assert StatusView.model_validate_json(view.model_dump_json()) == view


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_a_finished_history_is_terminal_without_destinations(data: st.DataObject) -> None:
    history = data.draw(job_history())
    view = fold(history)
    status, finished = job_status(view.jobs[JOB], view.photos, required=False)
    assert status in {"completed", "partial", "failed"}
    assert finished is not None
    assert finished >= view.jobs[JOB].created


def test_late_retry_does_not_undo_a_publish() -> None:
    view = one_result(
        [
            received(JOB, "i1", P1, 1),
            published(JOB, "i1", P1, "imgur", 5),
            retrying(JOB, "i1", P1, "imgur", 3, attempt=2),
        ]
    )
    delivery = view.photos[P1].deliveries[f"{JOB}/i1"]["imgur"]
    assert delivery.succeeded is not None
    assert item(view, "i1").destinations["imgur"].state == "published"


def test_highest_retry_attempt_wins() -> None:
    view = one_result(
        [
            received(JOB, "i1", P1, 1),
            retrying(JOB, "i1", P1, "imgur", 2, attempt=1),
            retrying(JOB, "i1", P1, "imgur", 4, attempt=3),
            retrying(JOB, "i1", P1, "imgur", 3, attempt=2),
        ]
    )
    imgur = item(view, "i1").destinations["imgur"]
    assert (imgur.state, imgur.attempt) == ("retrying", 3)


def test_thumbnail_created_beats_failed() -> None:
    view = one_result([thumb_failed(P1, 3), thumbnailed(P1, 2)])
    assert view.photos[P1].thumbnail.created_at is not None
    assert photo_state(view.photos[P1], required=False)[0] == "completed"


def test_photo_received_before_job_accepted_merges() -> None:
    view = one_result([received(JOB, "i1", P1, 2), accepted(JOB, [upload("i1"), upload("i2")], 1)])
    job = view.jobs[JOB]
    assert job.accepted
    assert job.created == accepted(JOB, [], 1).occurred_at
    assert job.items["i1"].photo_id == P1
    assert job.items["i1"].source == "upload"
    assert set(job.items) == {"i1", "i2"}
    assert job_status(job, view.photos, True)[0] == "processing"


def test_job_moves_from_accepted_to_processing_to_completed() -> None:
    history: list[Event] = [accepted(JOB, [upload("i1")], 0)]
    assert job_status(fold(history).jobs[JOB], {}, True) == ("accepted", None)
    history += [received(JOB, "i1", P1, 1), thumbnailed(P1, 2)]
    view = fold(history)
    assert job_status(view.jobs[JOB], view.photos, True)[0] == "processing"
    assert job_status(view.jobs[JOB], view.photos, False)[0] == "completed"
    history += [published(JOB, "i1", P1, "imgur", 3), skipped(JOB, "i1", P1, "flickr", 4)]
    view = fold(history)
    status, finished = job_status(view.jobs[JOB], view.photos, True)
    assert (status, finished) == ("completed", skipped(JOB, "i1", P1, "flickr", 4).occurred_at)


def test_rejected_and_failed_items_make_a_job_partial_or_failed() -> None:
    items = [upload("i1"), upload("i2")]
    partial = fold([accepted(JOB, items, 0), rejected(JOB, "i1", 1),
                    received(JOB, "i2", P1, 2), thumbnailed(P1, 3)])  # fmt: skip
    assert job_status(partial.jobs[JOB], partial.photos, False)[0] == "partial"
    assert item(partial, "i1").reason == "not_an_image: not a picture"
    failed_job = fold([accepted(JOB, items, 0), rejected(JOB, "i1", 1),
                       received(JOB, "i2", P1, 2), thumb_failed(P1, 3)])  # fmt: skip
    assert job_status(failed_job.jobs[JOB], failed_job.photos, False)[0] == "failed"
    assert item(failed_job, "i2").state == "failed"


def test_republish_reopens_only_an_earlier_failure() -> None:
    base: list[Event] = [received(JOB, "i1", P1, 1), failed(JOB, "i1", P1, "imgur", 5)]
    reopened = one_result([*base, republish(P1, "imgur", 6)])
    assert item(reopened, "i1").destinations["imgur"].state == "pending"
    stale = one_result([*base, republish(P1, "imgur", 4)])
    assert item(stale, "i1").destinations["imgur"].state == "failed"
    again = one_result([*base, republish(P1, "imgur", 6), published(None, None, P1, "imgur", 7)])
    assert item(again, "i1").destinations["imgur"].state == "published"


def test_dead_letters_attach_to_what_they_name() -> None:
    to_destination = MessageDeadLettered(producer="publisher-imgur", job_id=JOB, item_id="i1",
        photo_id=P1, destination="imgur", queue="photobus.imgur", reason="invalid")  # fmt: skip
    to_item = MessageDeadLettered(producer="ingest", job_id=JOB, item_id="i2",
                                  queue="photobus.ingest", reason="undecodable")  # fmt: skip
    view = one_result([received(JOB, "i1", P1, 1), to_destination, to_item])
    imgur = item(view, "i1").destinations["imgur"]
    assert (imgur.state, imgur.reason) == ("failed", "dead_lettered: invalid")
    assert item(view, "i2").state == "failed"
    assert item(view, "i2").reason == "dead_lettered: undecodable"


def test_the_same_photo_in_a_second_job_is_a_duplicate() -> None:
    view = one_result(
        [
            received(JOB, "i1", P1, 1),
            received("job-2", "j1", P1, 10),
            published(JOB, "i1", P1, "imgur", 2),
            published("job-2", "j1", P1, "imgur", 11, duplicate=True),
        ]
    )
    first = item(view, "i1")
    photo = view.photos[P1]
    second = item_state(view.jobs["job-2"], view.jobs["job-2"].items["j1"], photo, True)
    assert not first.duplicate
    assert not first.destinations["imgur"].duplicate
    assert second.duplicate
    assert second.destinations["imgur"].duplicate
    assert second.destinations["imgur"].url == first.destinations["imgur"].url


def test_items_declared_later_keep_the_declared_source() -> None:
    url_item = JobItem(item_id="i1", source="url", url="https://example.com/cat.jpg")
    view = one_result([received(JOB, "i1", P1, 2), accepted(JOB, [url_item], 1)])
    it = view.jobs[JOB].items["i1"]
    assert (it.source, it.url, it.filename) == ("url", "https://example.com/cat.jpg", "i1.jpg")
