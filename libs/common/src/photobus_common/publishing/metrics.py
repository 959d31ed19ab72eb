"""Prometheus metrics of the publishers, labelled by destination."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PUBLISH_OUTCOMES = Counter(
    "photobus_publish_outcomes_total",
    "Publish requests handled, by destination and outcome"
    " (succeeded, duplicate, recovered, retrying, failed, skipped).",
    ["destination", "outcome"],
)
PUBLISH_ATTEMPTS = Counter(
    "photobus_publish_attempts_total",
    "Calls that sent a photo to a destination, by destination and result.",
    ["destination", "result"],
)
PUBLISH_SECONDS = Histogram(
    "photobus_publish_seconds",
    "Time one upload to a destination took (the destination's own calls included).",
    ["destination"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
