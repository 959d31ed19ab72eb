"""A real S3-compatible HTTP server for tests: moto in server mode, on a free port."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from moto.server import ThreadedMotoServer


@dataclass
class S3Server:
    endpoint_url: str
    server: Any

    def stop(self) -> None:
        self.server.stop()


def start_s3_server() -> S3Server:
    # Any credentials work against moto; botocore still needs some to sign with.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "photobus-test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "photobus-test-secret")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return S3Server(endpoint_url=f"http://{host}:{port}", server=server)
