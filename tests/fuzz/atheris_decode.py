"""`make fuzz`: coverage-guided fuzzing (atheris / libFuzzer) of sniff → probe → render.

Run as `python -m tests.fuzz.atheris_decode [libFuzzer flags]`, e.g.
`-max_total_time=300 -rss_limit_mb=2048`. It starts from the seed files (written to
var/fuzz-corpus, where libFuzzer also keeps the inputs that found new coverage) and
stops at the first input whose outcome is not documented, saving it as crash-<hash>.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import atheris  # type: ignore[import-untyped]

with atheris.instrument_imports(include=["photobus_ingest", "photobus_thumbnailer", "PIL"]):
    from tests.fuzz.decode_path import run_decode_path, seeds

CORPUS_DIR = Path(__file__).resolve().parents[2] / "var" / "fuzz-corpus"


def test_one_input(data: bytes) -> None:
    run_decode_path(data)


def main() -> None:
    CORPUS_DIR.mkdir(parents=True, exist_ok=True)
    for name, data in seeds(with_heic=True).items():
        (CORPUS_DIR / f"seed-{name}").write_bytes(data)
    # Pillow warns about damaged metadata and carries on; only the outcome matters here.
    warnings.simplefilter("ignore")
    atheris.Setup([*sys.argv, str(CORPUS_DIR)], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
