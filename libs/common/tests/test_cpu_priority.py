"""`lower_cpu_priority`: background services give up CPU priority, never take it back."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os
from photobus_common.service import lower_cpu_priority
lower_cpu_priority(5)
print(os.nice(0))
lower_cpu_priority(3)  # lower than now: left at 5
print(os.nice(0))
lower_cpu_priority(0)
print(os.nice(0))
"""


def test_niceness_only_ever_goes_up() -> None:
    # In a child process: niceness cannot be undone, and the test runner must keep its own.
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["5", "5", "5"]
