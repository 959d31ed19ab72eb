"""Hypothesis strategies that turn valid seed files into hostile ones.

Bit flips, truncations, spliced headers (one format's start on another's body),
inserted and overwritten runs of bytes, and dimension fields rewritten to extremes:
the damage real corrupted and crafted files carry.
"""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import strategies as st


@st.composite
def bit_flips(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(out) - 1))
        out[i] ^= 1 << draw(st.integers(0, 7))
    return bytes(out)


@st.composite
def truncations(draw: st.DrawFn, data: bytes) -> bytes:
    return data[: draw(st.integers(0, len(data) - 1))]


@st.composite
def splices(draw: st.DrawFn, data: bytes, others: tuple[bytes, ...]) -> bytes:
    other = draw(st.sampled_from(others))
    cut = draw(st.integers(1, min(len(other), 512)))
    return other[:cut] + data[draw(st.integers(0, len(data) - 1)) :]


@st.composite
def overwrites(draw: st.DrawFn, data: bytes) -> bytes:
    """A run of chosen bytes written over the file, often in its header."""
    at = draw(st.one_of(st.integers(0, min(64, len(data) - 1)), st.integers(0, len(data) - 1)))
    run = draw(
        st.one_of(
            st.binary(min_size=1, max_size=16),
            st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff"]),
        )
    )
    return data[:at] + run + data[at + len(run) :]


@st.composite
def insertions(draw: st.DrawFn, data: bytes) -> bytes:
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:]


def mutated(seeds: Mapping[str, bytes]) -> st.SearchStrategy[bytes]:
    """A seed file, damaged in one to three ways."""
    files = tuple(seeds.values())

    @st.composite
    def one(draw: st.DrawFn) -> bytes:
        data = draw(st.sampled_from(files))
        for _ in range(draw(st.integers(1, 3))):
            if len(data) < 2:
                break
            mutate = draw(st.sampled_from(["flip", "truncate", "splice", "overwrite", "insert"]))
            if mutate == "flip":
                data = draw(bit_flips(data))
            elif mutate == "truncate":
                data = draw(truncations(data))
            elif mutate == "splice":
                data = draw(splices(data, files))
            elif mutate == "overwrite":
                data = draw(overwrites(data))
            else:
                data = draw(insertions(data))
        return data

    return one()
