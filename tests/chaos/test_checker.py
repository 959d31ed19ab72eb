"""The chaos checker's own rules, on made-up records: it must be able to fail."""

from __future__ import annotations

import json
from pathlib import Path

from tests.chaos.checker import UPLOAD_OPEN_SLACK, count_duplicates, dead_letter_lines


def test_one_copy_per_photo_is_no_duplicate() -> None:
    result = count_duplicates({"a" * 64: [100.0], "b" * 64: [101.0]}, kills=[])
    assert (result.extra, result.allowed, result.findings) == (0, 0, [])


def test_a_second_copy_without_a_crash_in_flight_is_a_finding() -> None:
    result = count_duplicates({"a" * 64: [100.0, 160.0]}, kills=[10.0, 500.0])
    assert (result.extra, result.allowed) == (1, 0)
    assert result.findings == [f"received {'a' * 12} 2 times; crashes in flight: 0"]


def test_a_crash_while_the_upload_was_open_allows_one_more_copy() -> None:
    # Killed after the request opened (within the slack before it was stored), before the retry.
    killed = 100.0 - UPLOAD_OPEN_SLACK / 2
    result = count_duplicates({"a" * 64: [100.0, 160.0]}, kills=[killed])
    assert (result.extra, result.allowed, result.findings) == (1, 1, [])


def test_one_crash_does_not_excuse_two_extra_copies() -> None:
    result = count_duplicates({"a" * 64: [100.0, 130.0, 160.0]}, kills=[120.0])
    assert (result.extra, result.allowed) == (2, 1)
    assert len(result.findings) == 1


def test_dead_letter_lines_are_read_from_every_service_log(tmp_path: Path) -> None:
    letter = {"message": "dead-lettering message m1 from thumbnailer: not an image", "job_id": "j1"}
    other = {"message": "listening on http://127.0.0.1:1", "job_id": None}
    (tmp_path / "thumbnailer.log").write_text(
        f"{json.dumps(other)}\nnot json\n{json.dumps(letter)}\n"
    )
    (tmp_path / "status.log").write_text(json.dumps(other) + "\n")
    assert dead_letter_lines(tmp_path) == [letter]
