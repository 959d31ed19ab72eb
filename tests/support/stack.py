"""Run photobus services as real processes, the way `make run` does, for end-to-end tests.

Each stack has its own namespace, database and blob location, free ports, and one
log file per service under test-output/logs/. Services can be SIGKILLed and started
again to prove nothing is lost.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"

MODULES = {
    "ingest": "photobus_ingest",
    "thumbnailer": "photobus_thumbnailer",
    "status": "photobus_status",
    "publisher-imgur": "photobus_publisher_imgur",
    "publisher-flickr": "photobus_publisher_flickr",
    "publisher-gphotos": "photobus_publisher_gphotos",
}
PORT_VARIABLES = {
    "ingest": "PHOTOBUS_INGEST_PORT",
    "thumbnailer": "PHOTOBUS_THUMBNAILER_PORT",
    "status": "PHOTOBUS_STATUS_PORT",
    "publisher-imgur": "PHOTOBUS_PUBLISHER_IMGUR_PORT",
    "publisher-flickr": "PHOTOBUS_PUBLISHER_FLICKR_PORT",
    "publisher-gphotos": "PHOTOBUS_PUBLISHER_GPHOTOS_PORT",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Service:
    name: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    # Variables only this service sees, over the stack's (e.g. one publisher's bad secret).
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    """A set of photobus processes sharing one configuration."""

    env: dict[str, str]
    services: dict[str, Service] = field(default_factory=dict)

    @classmethod
    def create(cls, name: str, env: dict[str, str], services: list[str]) -> Stack:
        logs = OUTPUT / "logs" / name
        logs.mkdir(parents=True, exist_ok=True)
        stack = cls(env=env)
        for service in services:
            stack.services[service] = Service(service, free_port(), logs / f"{service}.log")
        stack.env.setdefault(
            "PHOTOBUS_STATUS_PUBLIC_URL", stack.url("status") if "status" in services else ""
        )
        if "ingest" in services and "status" in services:
            # The gallery (status) uploads to ingest, another origin on its own port.
            stack.env.setdefault("PHOTOBUS_INGEST_PUBLIC_URL", stack.url("ingest"))
            stack.env.setdefault("PHOTOBUS_CORS_ORIGINS", stack.url("status"))
        return stack

    def url(self, service: str) -> str:
        return self.services[service].url

    def _spawn(self, service: Service) -> None:
        env = {
            **os.environ,
            **self.env,
            **service.env,
            PORT_VARIABLES[service.name]: str(service.port),
        }
        env.setdefault("PHOTOBUS_LOG_FORMAT", "json")
        log = service.log_path.open("ab")
        service.process = subprocess.Popen(
            [sys.executable, "-m", MODULES[service.name]],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    async def start(
        self, *names: str, timeout: float = 60.0, extra_env: dict[str, str] | None = None
    ) -> None:
        """Start these services (all by default); `extra_env` replaces their own variables
        (kept across restarts; `extra_env={}` returns them to the stack's)."""
        targets = [self.services[n] for n in (names or self.services)]
        for service in targets:
            if extra_env is not None:
                service.env = dict(extra_env)
            self._spawn(service)
        await asyncio.gather(*(self.wait_ready(s.name, timeout=timeout) for s in targets))

    async def wait_ready(self, name: str, *, timeout: float = 60.0) -> None:
        service = self.services[name]
        deadline = time.monotonic() + timeout
        last = "no answer"
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if service.process is not None and service.process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {service.process.returncode}; see {service.log_path}\n"
                        + self.tail(name)
                    )
                try:
                    async with http.get(
                        f"{service.url}/readyz", timeout=aiohttp.ClientTimeout(total=2)
                    ) as r:
                        if r.status == 200:
                            return
                        last = await r.text()
                except (aiohttp.ClientError, TimeoutError) as e:
                    last = repr(e)
                await asyncio.sleep(0.1)
        raise TimeoutError(
            f"{name} not ready after {timeout}s ({last}); see {service.log_path}\n{self.tail(name)}"
        )

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.services[name].log_path
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.services[name].process
        if process is not None and process.poll() is None:
            process.send_signal(sig)
            process.wait(timeout=60)

    async def restart(self, name: str, *, sig: int = signal.SIGKILL) -> None:
        self.kill(name, sig)
        self.services[name].restarts += 1
        await self.start(name)

    def stop(self) -> None:
        for service in self.services.values():
            if service.process is not None and service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        for service in self.services.values():
            if service.process is None:
                continue
            try:
                service.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()
