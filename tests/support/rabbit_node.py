"""A RabbitMQ node of the test's own, on spare ports in a temporary directory.

Tests that restart RabbitMQ use this node, never the machine's shared server. It runs
from /usr/lib/rabbitmq/bin/ as the current user (the /usr/sbin wrapper switches user),
with its own node name, ports, data and config, and is stopped by its own pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

BIN = Path("/usr/lib/rabbitmq/bin")


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
class RabbitNode:
    base: Path
    port: int
    dist_port: int
    nodename: str
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, base: Path) -> RabbitNode:
        if not (BIN / "rabbitmq-server").exists():
            raise RuntimeError(
                "RabbitMQ is not installed (/usr/lib/rabbitmq/bin/rabbitmq-server missing)"
            )
        base.mkdir(parents=True, exist_ok=True)
        node = cls(
            base=base,
            port=_free_port(),
            dist_port=_free_port(),
            nodename=f"pbtest-{uuid.uuid4().hex[:8]}@localhost",
        )
        (base / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{node.port}\n"
            "loopback_users = none\n"
            "log.console = false\n"
            "log.file.level = warning\n"
        )
        (base / "rabbitmq-env.conf").write_text("")
        (base / "enabled_plugins").write_text("[].\n")
        return node

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "HOME": str(self.base),
        }

    def start(self, timeout: float = 60.0) -> None:
        cookie = Path("/var/lib/rabbitmq/.erlang.cookie")
        if cookie.exists() and not (self.base / ".erlang.cookie").exists():
            shutil.copy(cookie, self.base / ".erlang.cookie")
            os.chmod(self.base / ".erlang.cookie", 0o400)
        log = (self.base / "server.out").open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "rabbitmq-server")],
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"rabbitmq-server exited: {(self.base / 'server.out').read_text()[-2000:]}"
                )
            if _port_open(self.port):
                return
            time.sleep(0.2)
        raise TimeoutError(f"RabbitMQ node did not open port {self.port} in {timeout}s")

    def stop(self, *, kill: bool = False) -> None:
        """Stop the node: SIGKILL (a crash) or SIGTERM (an orderly stop), by its own pid."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # The Erlang VM's children (epmd is shared, erl_child_setup is ours) go with the group.
        deadline = time.monotonic() + 10
        while _port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def restart(self, *, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start()
