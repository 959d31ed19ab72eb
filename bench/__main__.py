"""`make bench`: every benchmark, one table, and bench/results.json.

uv run python -m bench [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import MachineCpu

RESULTS = Path(__file__).resolve().parent / "results.json"


def sections(quick: bool, results: dict[str, Any]) -> list[tuple[str, Callable[[], Any]]]:
    from bench import cli, floors, ingest, pipeline, publishing, status, thumbnailer

    def floors_after_pipeline() -> dict[str, object]:
        """Floors for the pipeline's own thumbnailer cost and pace, when it has run."""
        ran = results.get("pipeline", {})
        if not ran:
            return floors.run(photos=60 if quick else 200)
        return floors.run(
            photos=60 if quick else 200,
            thumbnailer_cpu_s_per_photo=ran["thumbnailer_alone"]["cpu_s_per_photo"],
            pace=ran["full"]["photos_per_s_ready"],
        )

    return [
        ("thumbnailer", thumbnailer.run),
        ("ingest", lambda: ingest.run(big_mb=256 if quick else 1024, small=100 if quick else 1000)),
        ("pipeline", lambda: pipeline.run(photos=40 if quick else 200, repeats=1 if quick else 3)),
        ("floors", floors_after_pipeline),
        (
            "status",
            lambda: status.run(events=4000 if quick else 20_000, seconds=5 if quick else 10),
        ),
        ("cli", lambda: cli.run(files=100 if quick else 500, concurrency=8)),
        ("publishing", lambda: publishing.run(photos=60 if quick else 300)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    parser.add_argument("--only", nargs="*", help="run only these sections")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    for name, run in sections(args.quick, results):
        if args.only and name not in args.only:
            continue
        print(f"\n== {name} ==", flush=True)
        machine_cpu = MachineCpu()
        results[name] = run()
        if isinstance(results[name], dict):
            results[name]["machine_cpu"] = machine_cpu.result()
        _print(results[name])
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwrote {RESULTS}")


def _print(value: Any, indent: str = "  ") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list):
                print(f"{indent}{key}:")
                _print(item, indent + "  ")
            else:
                print(f"{indent}{key:<32} {item}")
    elif isinstance(value, list):
        for item in value:
            _print(item, indent)
            print()
    else:
        print(f"{indent}{value}")


if __name__ == "__main__":
    main()
