"""`durable`: write-out started as a file is written, and the syncs of files and directories."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from photobus_common.blobs import durable


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_write_out_is_started_through_the_kernel(tmp_path: Path) -> None:
    assert durable._SYNC_FILE_RANGE is not None  # found in libc: the call is not a no-op
    path = tmp_path / "file"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"x" * 100_000)
        durable.start_writeback(fd, 0, 100_000)  # returns at once, raises nothing
        durable.start_writeback(fd, 100_000, 0)  # nothing to start
    finally:
        os.close(fd)
    durable.sync_file(path)
    durable.sync_directory(tmp_path)
    assert path.read_bytes() == b"x" * 100_000


def test_syncing_a_missing_file_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        durable.sync_file(tmp_path / "missing")
