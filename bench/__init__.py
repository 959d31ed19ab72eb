"""Benchmarks: run as `uv run python -m bench.<name>`; not part of `make test`."""
