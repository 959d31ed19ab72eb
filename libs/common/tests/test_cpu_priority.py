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


IDLE_SCRIPT = """
import os, threading
from photobus_common.service import lower_cpu_priority
started = threading.Event()
before = threading.Thread(target=started.wait)  # a thread that exists before the switch
before.start()
lower_cpu_priority(0, idle=True)
policies = {}
after = threading.Thread(target=lambda: policies.update(after=os.sched_getscheduler(0)))
after.start()
after.join()
policies["main"] = os.sched_getscheduler(0)
policies["before"] = os.sched_getscheduler(before.native_id)
started.set()
before.join()
print(" ".join(f"{k}={v == os.SCHED_IDLE}" for k, v in sorted(policies.items())), os.nice(0))
"""


def test_idle_policy_covers_every_thread() -> None:
    done = subprocess.run(
        [sys.executable, "-c", IDLE_SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["after=True", "before=True", "main=True", "0"]
