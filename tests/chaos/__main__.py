"""`python -m tests.chaos --photos 300 --seed 7`: one full chaos run; exit code 1 on failure."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from tests.chaos.run import ChaosConfig, run_chaos


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--settle-timeout", type=float, default=300.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log
    report = asyncio.run(
        run_chaos(
            ChaosConfig(photos=args.photos, seed=args.seed, settle_timeout=args.settle_timeout)
        )
    )
    print(report.table, flush=True)
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
