"""Garbage collection for services that allocate per request or per event: rarer, and
skipping what start-up loaded.

Serving allocates many short-lived containers (requests, models, events). With the
default threshold, a collection every 700 allocations, collections took ~10% of the
status fold's CPU (bench/status.py) and ~3% of ingest's per upload (`perf record` of
bench/ingest.py). What is loaded by the time a service starts lives as long as the
process: frozen, later collections skip it.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 50, 100)


def collect_rarely() -> None:
    """Collect young objects every 50,000 allocations; freeze everything alive now."""
    gc.set_threshold(*THRESHOLDS)
    gc.freeze()
