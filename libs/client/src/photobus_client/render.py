"""How jobs, photos and upload results look in a terminal (rich tables and lines)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from photobus_client.models import Destination, Job, JobItem, Photo, Rendition
from photobus_client.upload import FileResult

STATE_STYLES = {
    "published": "green",
    "completed": "green",
    "created": "green",
    "skipped": "dim",
    "retrying": "yellow",
    "pending": "cyan",
    "processing": "cyan",
    "accepted": "cyan",
    "partial": "yellow",
    "failed": "red",
}


def styled(state: str) -> Text:
    return Text(state, style=STATE_STYLES.get(state, ""))


def _clock(at: datetime) -> str:
    return at.astimezone().strftime("%H:%M:%S")


def destination_cell(d: Destination, *, with_url: bool = True) -> Text:
    """`published <url>`, `retrying (attempt 2, next at 12:00:05): reason`, `failed: reason`…"""
    cell = styled(d.state)
    if d.state == "published":
        if d.url and with_url:
            cell.append(f" {d.url}")
        if d.duplicate:
            cell.append(" (already published)", style="dim")
    elif d.state == "retrying":
        when = f", next at {_clock(d.retry_at)}" if d.retry_at else ""
        cell.append(f" (attempt {d.attempt or '?'}{when})")
        if d.reason:
            cell.append(f": {d.reason}")
    elif d.reason:
        cell.append(f": {d.reason}")
    return cell


def rendition_link(status_url: str, renditions: dict[str, Rendition]) -> str:
    for name in ("thumb", "preview"):
        r = renditions.get(name)
        if r is not None and r.url:
            return status_url.rstrip("/") + r.url
    return ""


def job_table(jobs: Iterable[Job], status_url: str) -> Table:
    """One row per item: its state, photo id and every destination's state (links below)."""
    items: list[tuple[Job, JobItem]] = [(j, i) for j in jobs for i in j.items]
    destinations = sorted({d for _, i in items for d in i.destinations})
    table = Table(show_lines=False, expand=False)
    table.add_column("item", overflow="fold")
    table.add_column("state")
    table.add_column("photo")
    for name in destinations:
        table.add_column(name, overflow="fold")
    for _, item in items:
        state = styled(item.state)
        if item.reason:
            state.append(f": {item.reason}")
        cells = [
            destination_cell(item.destinations[d], with_url=False)
            if d in item.destinations and item.photo_id
            else Text("")
            for d in destinations
        ]
        table.add_row(item.name, state, (item.photo_id or "")[:12], *cells)
    return table


def job_links(jobs: Iterable[Job], status_url: str) -> list[str]:
    """Every link of every item, one per line (never wrapped, so they can be copied)."""
    lines: list[str] = []
    for job in jobs:
        for item in job.items:
            if thumbnail := rendition_link(status_url, item.thumbnails):
                lines.append(f"{item.name}  thumbnail  {thumbnail}")
            for name, d in item.destinations.items():
                if d.url:
                    lines.append(f"{item.name}  {name}  {d.url}")
    return lines


def photo_table(photos: Iterable[Photo]) -> Table:
    table = Table()
    for column in ("photo", "added", "state", "tags", "destinations"):
        table.add_column(column, overflow="fold")
    for p in photos:
        dests = Text()
        for name, d in sorted(p.destinations.items()):
            if dests:
                dests.append("\n")
            dests.append(f"{name}: ")
            dests.append_text(destination_cell(d, with_url=False))
        table.add_row(
            p.photo_id[:16],
            p.created.astimezone().strftime("%Y-%m-%d %H:%M"),
            styled(p.state),
            ", ".join(p.tags),
            dests,
        )
    return table


def photo_links(photos: Iterable[Photo], status_url: str) -> list[str]:
    lines: list[str] = []
    for p in photos:
        if thumbnail := rendition_link(status_url, p.thumbnails):
            lines.append(f"{p.photo_id[:16]}  thumbnail  {thumbnail}")
        for name, d in sorted(p.destinations.items()):
            if d.url:
                lines.append(f"{p.photo_id[:16]}  {name}  {d.url}")
    return lines


def print_links(console: Console, lines: list[str]) -> None:
    """Links one per line, never wrapped or cropped, so they can be copied."""
    if lines:
        console.print("links:", style="bold")
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False)


def human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def result_line(result: FileResult, indent: str = "  ") -> Text:
    line = Text(f"{indent}{result.path}")
    why = result.reason or ""
    if result.detail:
        why = f"{why}: {result.detail}" if why else result.detail
    if why:
        line.append(f" — {why}", style="red" if result.outcome != "already_there" else "dim")
    return line


def job_json(job: Job, status_url: str) -> dict[str, Any]:
    """A job as `--json` prints it: each item's state, thumbnail and destinations."""
    return {
        "job_id": job.job_id,
        "status": job.status,
        "items": [
            {
                "name": i.name,
                "photo_id": i.photo_id,
                "state": i.state,
                "reason": i.reason,
                "thumbnail": rendition_link(status_url, i.thumbnails) or None,
                "destinations": {
                    d: v.model_dump(mode="json", exclude_defaults=True)
                    for d, v in i.destinations.items()
                },
            }
            for i in job.items
        ],
    }


def job_failed(job: Job) -> bool:
    """Whether anything in the job ended other than completed (exit code 1)."""
    return job.status != "completed" or any(i.state != "completed" for i in job.items)
