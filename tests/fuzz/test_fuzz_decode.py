"""A short, deterministic fuzz run over sniff → probe → render (issue 6, item 4).

`make test` runs ~100 mutated files (derandomized: the same ones every run);
`make fuzz` runs this with PHOTOBUS_FUZZ_EXAMPLES in the thousands, then atheris.
Each input must end in a documented outcome — never another exception, never a hang.
"""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.decode_path import Outcome, run_decode_path, seeds
from tests.fuzz.hostile_files import (
    gif_many_frames,
    jpeg_with_zip,
    outside_the_allow_list,
    png_header_bomb,
)
from tests.fuzz.mutations import mutated

EXAMPLES = int(os.environ.get("PHOTOBUS_FUZZ_EXAMPLES", "100"))
SLOWEST_SECONDS = 5.0  # one input taking longer than this counts as a hang
SEEDS = seeds()


# Pillow warns about damaged EXIF and the like while it carries on; the outcome is what counts.
@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,  # timed below, with a bound that tolerates a loaded machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=mutated(SEEDS))
def test_mutated_files_end_in_a_documented_outcome(data: bytes) -> None:
    started = time.monotonic()
    run_decode_path(data)  # raises on an undocumented outcome
    assert time.monotonic() - started < SLOWEST_SECONDS, f"{len(data)} bytes took too long"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(png_header_bomb(), Outcome("probe", "too_many_pixels"), id="header-bomb"),
        pytest.param(gif_many_frames(5000), Outcome("probe", "too_many_frames"), id="gif-5000-frames"),
        pytest.param(jpeg_with_zip(), Outcome("done"), id="jpeg-with-zip"),
        *(pytest.param(v, Outcome("sniff", "not_an_image"), id=k) for k, v in outside_the_allow_list().items()),
        *(pytest.param(v, Outcome("done"), id=f"seed-{k}") for k, v in SEEDS.items()),
    ],
)  # fmt: skip
def test_hostile_and_seed_files_end_where_expected(data: bytes, expected: Outcome) -> None:
    assert run_decode_path(data) == expected
