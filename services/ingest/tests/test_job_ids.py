"""Job ids: random, URL-safe, and usable as a command-line argument."""

from __future__ import annotations

import re

from photobus_ingest.routes.accept import new_job_id


def test_job_ids_are_unique_url_safe_and_never_start_with_a_dash() -> None:
    ids = [new_job_id() for _ in range(5000)]  # about 78 would start with '-' by chance
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", i) for i in ids)
    assert not [i for i in ids if i.startswith("-")]
