"""The upload's progress bar (bytes and files), and the live view of followed jobs."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from photobus_client.models import Job
from photobus_client.render import job_table, result_line
from photobus_client.upload import FileResult

LIVE_ROWS = 20


class UploadProgress:
    """An `UploadWatcher` drawing one bar: bytes, speed, files done, time left.

    Problems are printed above the bar as they happen; `enabled=False` draws nothing.
    """

    def __init__(self, console: Console, *, files: int, total_bytes: int, enabled: bool) -> None:
        self.enabled = enabled
        self.files_done = 0
        self._progress = Progress(
            TextColumn("[bold]uploading"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[files]}"),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
        )
        self._total_files = files
        self._task: TaskID = self._progress.add_task(
            "upload", total=max(total_bytes, 1), files=self._files_text()
        )

    def _files_text(self) -> str:
        return f"{self.files_done}/{self._total_files} files"

    def __enter__(self) -> UploadProgress:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def note(self, message: str) -> None:
        if self.enabled:
            self._progress.console.print(Text(message, style="yellow"))

    def sent(self, n: int) -> None:
        self._progress.advance(self._task, n)

    def finished(self, result: FileResult) -> None:
        self.files_done += 1
        self._progress.update(self._task, files=self._files_text())
        if self.enabled and result.outcome in ("rejected", "failed"):
            line = Text(f"{result.outcome}: ", style="red")
            line.append_text(result_line(result, indent=""))
            self._progress.console.print(line)


class JobsLive:
    """While following jobs: how many finished, and the unfinished ones' items live."""

    def __init__(self, console: Console, job_ids: list[str], status_url: str, *, enabled: bool):
        self.jobs: dict[str, Job] = {}
        self._total = len(set(job_ids))
        self._status_url = status_url
        self._live = Live(self._render(), console=console, transient=True, auto_refresh=False)
        self.enabled = enabled

    def _render(self) -> RenderableType:
        done = sum(1 for j in self.jobs.values() if j.terminal)
        waiting = [j for j in self.jobs.values() if not j.terminal][:LIVE_ROWS]
        header = Text(f"following {self._total} job(s): {done} finished", style="bold")
        if not waiting:
            return header
        return Group(header, job_table(waiting, self._status_url))

    def __enter__(self) -> JobsLive:
        if self.enabled:
            self._live.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.enabled:
            self._live.stop()

    def update(self, job: Job) -> None:
        self.jobs[job.job_id] = job
        if self.enabled:
            self._live.update(self._render(), refresh=True)
