"""A PostgreSQL cluster of the test's own, on a spare port in a temporary directory.

Tests that stop Postgres use this cluster, never the machine's shared server. `initdb`
refuses to run as root, so when the tests run as root the cluster belongs to the
`postgres` system user: the data and socket directories are chowned to it and
`initdb`/`pg_ctl` run through `runuser -u postgres --`. As any other user they run
directly. The server is stopped with `pg_ctl -D <our data dir>`, which signals only the
postmaster whose pid is in that directory — ours.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")
SYSTEM_USER = "postgres"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class PgCluster:
    base: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "socket"

    @property
    def log_path(self) -> Path:
        return self.base / "postgres.log"

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @classmethod
    def create(cls, base: Path) -> PgCluster:
        """Run initdb (trust auth, superuser `postgres`) in `base`/data. As root, every
        parent of `base` must be searchable by the postgres user (mkdtemp's are 0700)."""
        if not (BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL is not installed ({BIN / 'initdb'} missing)")
        cluster = cls(base=base, port=_free_port())
        base.mkdir(parents=True, exist_ok=True)
        cluster.data_dir.mkdir(exist_ok=True)
        cluster.socket_dir.mkdir(exist_ok=True)
        cluster.log_path.touch()
        if os.geteuid() == 0:
            # The postgres user must reach the directories through every parent.
            os.chmod(base, 0o755)
            owner = pwd.getpwnam(SYSTEM_USER)
            for path in (cluster.data_dir, cluster.socket_dir, cluster.log_path):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        cluster._run(
            "initdb", "-D", str(cluster.data_dir), "-U", "postgres", "--auth=trust", "--no-sync"
        )
        return cluster

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(BIN / tool), *args]
        return ["runuser", "-u", SYSTEM_USER, "--", *command] if os.geteuid() == 0 else command

    def _run(self, tool: str, *args: str, timeout: float = 60.0) -> None:
        done = subprocess.run(
            self._command(tool, *args),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stdout}{done.stderr}")

    def start(self, timeout: float = 60.0) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "start",
            timeout=timeout,
        )
        deadline = time.monotonic() + timeout
        while not _port_open(self.port):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Postgres did not open port {self.port} in {timeout}s; see {self.log_path}"
                )
            time.sleep(0.1)

    def stop(self, *, immediate: bool = False) -> None:
        """`-m immediate` is a crash (no checkpoint, clients cut off); `fast` an orderly stop."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-m",
            "immediate" if immediate else "fast",
            "-w",
            "stop",
        )

    def restart(self, *, immediate: bool = True) -> None:
        self.stop(immediate=immediate)
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
