"""The `photobus` subcommands, one module each: `run(args, config, io) -> exit code`."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from rich.console import Console

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class Terminal:
    """Results go to `out` (stdout); progress, notes and errors to `err` (stderr)."""

    out: Console
    err: Console


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, never wrapped or styled."""
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()
