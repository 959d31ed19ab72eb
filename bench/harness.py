"""Start photobus as processes for a benchmark, on the live RabbitMQ and Postgres.

Each run gets its own namespace, database and local blob directory, removed after.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.support import infra
from tests.support.cleanup import delete_namespace
from tests.support.stack import Stack


@asynccontextmanager
async def running_stack(
    name: str, services: list[str], extra_env: dict[str, str] | None = None
) -> AsyncIterator[Stack]:
    infra.require(infra.AMQP_URL, "amqp", "rabbitmq-server -detached")
    infra.require(infra.PG_URL, "database", "pg_ctlcluster ... main start")
    namespace = infra.unique(f"pbbench_{name}")
    db = await infra.create_database(infra.PG_URL, infra.unique("photobus_bench"))
    blobs = Path(
        tempfile.mkdtemp(
            prefix="photobus-bench-",
            dir=Path.cwd() / "var" if (Path.cwd() / "var").exists() else None,
        )
    )
    env = {
        "PHOTOBUS_AMQP_URL": infra.AMQP_URL,
        "PHOTOBUS_DATABASE_URL": db.dsn,
        "PHOTOBUS_NAMESPACE": namespace,
        "PHOTOBUS_BLOB_URL": f"file://{blobs}",
        "PHOTOBUS_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    stack = Stack.create(f"bench-{name}", env, services)
    try:
        await stack.start()
        yield stack
    finally:
        stack.stop()
        await infra.drop_database(infra.PG_URL, db.name)
        await delete_namespace(infra.AMQP_URL, namespace)
        shutil.rmtree(blobs, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    import os

    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_seconds_tree(pid: int) -> float:
    """CPU of a process and its children (the thumbnailer's pool workers), live and reaped."""
    total = 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    import os

    tck = os.sysconf("SC_CLK_TCK")
    total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tck
    for child in _children(pid):
        total += cpu_seconds_tree(child)
    return total


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        path = task / "children"
        if path.exists():
            kids += [int(p) for p in path.read_text().split()]
    return kids


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def server_pids() -> dict[str, int]:
    """The local RabbitMQ node and PostgreSQL postmaster: their CPU is the pipeline's too."""
    found: dict[str, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            comm = (proc / "comm").read_text().strip()
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone, or not ours to read
        if comm == "beam.smp":
            found.setdefault("rabbitmq", int(proc.name))
        elif comm in ("postgres", "postmaster") and _comm(ppid) not in ("postgres", "postmaster"):
            found.setdefault("postgres", int(proc.name))
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class MachineCpu:
    """What the whole machine's CPUs did between `start` and `result` (/proc/stat).

    Steal is time the hypervisor gave this virtual machine's CPUs to someone else:
    wall-clock figures drop with it, while per-process CPU times barely notice.
    """

    def __init__(self) -> None:
        self._start = _cpu_ticks()

    def result(self) -> dict[str, float]:
        end = _cpu_ticks()
        spent = [b - a for a, b in zip(self._start, end, strict=True)]
        total = sum(spent) or 1
        idle = spent[3] + spent[4]  # idle, iowait
        steal = spent[7] if len(spent) > 7 else 0
        return {
            "busy_percent": round(100 * (total - idle - steal) / total, 1),
            "steal_percent": round(100 * steal / total, 1),
        }


def _cpu_ticks() -> list[int]:
    """The first line of /proc/stat: user nice system idle iowait irq softirq steal ..."""
    with open("/proc/stat") as stat:
        return [int(v) for v in stat.readline().split()[1:9]]
