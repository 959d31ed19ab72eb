"""The summary table a chaos run prints: uploads, faults, terminal states, duplicates."""

from __future__ import annotations

from collections import Counter

from tests.chaos.checker import CheckResult
from tests.chaos.scheduler import KILL, FaultLog
from tests.chaos.uploader import UploadLog


def _rows(title: str, rows: list[tuple[str, object]]) -> list[str]:
    width = max([len(k) for k, _ in rows] + [24])
    return [f"{title}", *(f"  {key:<{width}}  {value}" for key, value in rows)]


def summary_table(
    *,
    photos: int,
    seed: int,
    uploads: UploadLog,
    faults: FaultLog,
    result: CheckResult,
    seconds: float,
    phases: dict[str, float],
) -> str:
    by_kind = Counter(f.kind for f in faults.injected)
    kills = Counter(f.target for f in faults.injected if f.kind == KILL)
    lines = _rows(
        f"chaos run: {photos} photos, seed {seed}, {seconds:.0f}s",
        [
            ("items answered 202", len(uploads.accepted)),
            ("jobs answered 202", len(uploads.jobs)),
            ("upload attempts", uploads.attempts),
            ("phases", ", ".join(f"{name} {t:.0f}s" for name, t in phases.items())),
            *((f"  retried after {why}", n) for why, n in sorted(uploads.retried.items())),
        ],
    )
    lines += _rows(
        "faults injected",
        [
            *((kind, n) for kind, n in sorted(by_kind.items())),
            *((f"  SIGKILL {service}", n) for service, n in sorted(kills.items())),
            ("total", len(faults.injected)),
            *(
                (f"  exited, restarted by supervisor: {s}", n)
                for s, n in sorted(result.supervisor_restarts.items())
            ),
        ],
    )
    lines += _rows(
        "terminal states",
        [
            *((f"jobs {state}", n) for state, n in sorted(result.terminal_states.items())),
            *((f"items {state}", n) for state, n in sorted(result.item_states.items())),
            ("dead letters (logged)", result.dead_letters),
            ("settled after", f"{result.settle_seconds:.0f}s"),
        ],
    )
    lines += _rows(
        "destinations (uploads stored / extra copies / extra allowed by crashes in flight)",
        [
            (
                d,
                f"{result.uploads_per_destination[d]} / {result.duplicates[d]} / {result.duplicates_allowed[d]}",
            )
            for d in sorted(result.uploads_per_destination)
        ],
    )
    verdict = "PASS" if result.ok else f"FAIL ({len(result.failures)} problems)"
    lines.append(f"result: {verdict}")
    lines += [f"  - {failure}" for failure in result.failures[:50]]
    if len(result.failures) > 50:
        lines.append(f"  ... and {len(result.failures) - 50} more")
    return "\n".join(lines)
