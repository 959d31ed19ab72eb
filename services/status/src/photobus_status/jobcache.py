"""`GET /v1/jobs/{id}` bodies kept in memory until their job changes.

The store renders a job's body whenever it writes the job (`jobs.body`). The replica
that commits a write keeps the body at once (`written`); others load it on their first
read (one row). Later reads answer with the same bytes, and an ETag, until a commit
touches the job. What keeps an entry from going stale:

- Every transaction that changes the view also sends `NOTIFY photobus_jobs` for the
  jobs it touched, with its transaction id, delivered at its commit: no commit goes
  unannounced (`photobus_status.store`). Writers are serialised, so a later commit
  has a larger id: a notification drops a kept body unless that body is at least as
  new (the replica's own write, whose notification comes back to it).
- `photobus_status.live.listen` forwards every notification here (`changed`) and pings
  its connection every second. Postgres sends a listener the notifications of
  transactions committed before a query it answers ahead of that answer, so an
  answered ping that was sent at `t` proves that every change committed before `t`
  has reached this cache. The cache trusts itself only up to `trust_seconds` after
  the last such `t` (`caught_up`): should the listener fail silently, entries stop
  being served within that window; when it fails visibly, everything is dropped at
  once (`lost`).
- A load that began before a change and ends after its notification is not kept
  (each load holds a token that `changed` and `written` revoke).

So a reader sees a job at most one notification's delay (milliseconds) after a commit
on another replica, at once on this one, and never more than `trust_seconds` after it
even if notifications stop. Access is checked on every read against the job's owner,
which is kept with the body; the body itself is the same for everyone who may see it.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from prometheus_client import Counter

READS = Counter(
    "photobus_status_job_cache_reads_total",
    "Job reads answered from memory (hit) or loaded: kept (miss), or not kept because "
    "notifications were not known to arrive (untrusted).",
    ["outcome"],
)
HIT, MISS, UNTRUSTED = (READS.labels(o) for o in ("hit", "miss", "untrusted"))


@dataclass(frozen=True, slots=True)
class Rendered:
    owner: str | None
    body: bytes
    etag: str
    version: int | None = None  # the writing transaction's id (jobs.version); None: unknown

    @classmethod
    def of(cls, owner: str | None, body: bytes, version: int | None = None) -> Rendered:
        etag = f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
        return cls(owner, body, etag, version)


Load = Callable[[], Awaitable[Rendered | None]]


class JobCache:
    def __init__(
        self,
        *,
        max_bytes: int = 32 * 1024**2,
        trust_seconds: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self._bytes = 0
        self.trust_seconds = trust_seconds
        self._clock = clock
        self._entries: OrderedDict[str, Rendered] = OrderedDict()
        self._loads: dict[str, object] = {}  # job_id -> token of the load in progress
        self._trusted_until = float("-inf")

    @property
    def trusted(self) -> bool:
        return self._clock() < self._trusted_until

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, job_id: str, load: Load) -> Rendered | None:
        """The job's body: the kept one, else `load()`'s (kept when still current)."""
        if self.trusted:
            found = self._entries.get(job_id)
            if found is not None:
                self._entries.move_to_end(job_id)
                HIT.inc()
                return found
            MISS.inc()
        else:
            UNTRUSTED.inc()
            if self._entries:
                self._clear()  # notifications may have been missed: nothing is certain
        token = self._loads[job_id] = object()
        try:
            found = await load()
        finally:
            current = self._loads.get(job_id) is token
            if current:
                del self._loads[job_id]
        if found is not None and current:
            self._keep(job_id, found)
        return found

    def written(self, job_id: str, rendered: Rendered) -> None:
        """This replica just committed `rendered` (with its version): keep it, so the job's
        next read is answered from memory. Loads in progress read older state: revoked."""
        self._loads.pop(job_id, None)
        self._keep(job_id, rendered)

    def changed(self, job_ids: Iterable[str], version: int | None = None) -> None:
        """These jobs changed (in the transaction `version`, when known): drop their older
        bodies, and the loads in progress."""
        for job_id in job_ids:
            self._loads.pop(job_id, None)
            kept = self._entries.get(job_id)
            if kept is not None and not _covers(kept, version):
                self._drop(job_id)

    def caught_up(self, as_of: float) -> None:
        """Every change committed before `as_of` (on this clock) has been notified."""
        self._trusted_until = max(self._trusted_until, as_of + self.trust_seconds)

    def lost(self) -> None:
        """Notifications may have been missed: drop everything until caught up again."""
        self._trusted_until = float("-inf")
        self._clear()
        self._loads.clear()

    def _keep(self, job_id: str, found: Rendered) -> None:
        kept = self._entries.get(job_id)
        if kept is not None:
            if _covers(kept, found.version):
                return  # what is kept is as new already
            self._drop(job_id)
        if not self.trusted:
            return
        self._entries[job_id] = found
        self._bytes += len(found.body)
        while self._bytes > self.max_bytes:  # the least recently read go first
            self._bytes -= len(self._entries.popitem(last=False)[1].body)

    def _drop(self, job_id: str) -> None:
        self._bytes -= len(self._entries.pop(job_id).body)

    def _clear(self) -> None:
        self._entries.clear()
        self._bytes = 0


def _covers(kept: Rendered, version: int | None) -> bool:
    """Whether `kept` is at least as new as the change `version` (unknown: assume not)."""
    return kept.version is not None and version is not None and kept.version >= version
