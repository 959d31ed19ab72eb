"""Thumbnailer metrics."""

from prometheus_client import Histogram

THUMBNAIL_SECONDS = Histogram(
    "photobus_thumbnail_seconds",
    "Wall time to decode a photo and encode its renditions.",
    buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10),
)
