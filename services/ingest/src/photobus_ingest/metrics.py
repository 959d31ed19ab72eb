"""Ingest's own Prometheus metrics (the shared HTTP and message metrics come from common)."""

from __future__ import annotations

from photobus_common.events import FetchRequested, PhotoReceived, PhotoRejected
from prometheus_client import Counter

ITEMS = Counter(
    "photobus_ingest_items_total",
    "Items announced, by source (upload, url) and outcome (received, rejected:<reason>, fetching).",
    ["source", "outcome"],
)
ORIGINAL_BYTES = Counter(
    "photobus_ingest_original_bytes_total", "Bytes of originals received, duplicates included."
)


def record(event: PhotoReceived | PhotoRejected | FetchRequested, *, source: str) -> None:
    """Count one item's announced outcome."""
    if isinstance(event, PhotoReceived):
        ITEMS.labels(source=source, outcome="received").inc()
        ORIGINAL_BYTES.inc(event.size)
    elif isinstance(event, PhotoRejected):
        ITEMS.labels(source=source, outcome=f"rejected:{event.reason}").inc()
    else:
        ITEMS.labels(source=source, outcome="fetching").inc()
