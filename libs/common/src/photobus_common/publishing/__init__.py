"""The runtime the three publishers share: each service is one small `Destination` class.

The runtime owns the ledger (at most one upload per photo and destination), crash
recovery, retries by tier, the circuit breaker, what is sent (a location-free
re-encode) and the skip rules; a destination only speaks its own HTTP protocol.
"""

from photobus_common.publishing.destination import (
    AlbumBook,
    Destination,
    PermanentError,
    PreparedPhoto,
    Published,
    PublishingError,
    TransientError,
)

__all__ = [
    "AlbumBook",
    "Destination",
    "PermanentError",
    "PreparedPhoto",
    "Published",
    "PublishingError",
    "TransientError",
]
