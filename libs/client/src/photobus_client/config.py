"""Where photobus is and how to sign in, from the environment.

`PHOTOBUS_URL` is ingest. Status's address comes from `PHOTOBUS_STATUS_URL`, else from
what ingest last answered for this `PHOTOBUS_URL` (remembered in the user's cache
folder), else a guess (`photobus_client.client.guess_status_url`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_INGEST_URL = "http://127.0.0.1:8080"


def cache_file(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "photobus" / "servers.json"


def _remembered(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Config:
    ingest_url: str
    status_url: str | None
    api_key: str | None
    cache: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Config:
        ingest = (env.get("PHOTOBUS_URL") or DEFAULT_INGEST_URL).rstrip("/")
        cache = cache_file(env)
        status = env.get("PHOTOBUS_STATUS_URL") or _remembered(cache).get(ingest)
        return cls(ingest, status, env.get("PHOTOBUS_API_KEY") or None, cache)

    def remember_status_url(self, status_url: str) -> None:
        """Keep what ingest said status's address is, for the next run (best effort)."""
        known = _remembered(self.cache)
        if known.get(self.ingest_url) == status_url:
            return
        known[self.ingest_url] = status_url
        try:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            self.cache.write_text(json.dumps(known, indent=2) + "\n")
        except OSError:
            pass  # a read-only home only costs a guess next time
