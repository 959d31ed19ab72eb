"""How jobs, photos and upload results look in a terminal (rich tables and lines)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

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


def destination_cell(d: Destination) -> Text:
    """`published <url>`, `retrying (attempt 2, next at 12:00:05): reason`, `failed: reason`…"""
    cell = styled(d.state)
    if d.state == "published" and d.url:
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
    """One row per item: its state, thumbnail link and every destination's state or link."""
    items: list[tuple[Job, JobItem]] = [(j, i) for j in jobs for i in j.items]
    destinations = sorted({d for _, i in items for d in i.destinations})
    table = Table(show_lines=False, expand=False)
    table.add_column("item", overflow="fold")
    table.add_column("state")
    table.add_column("photo", overflow="fold")
    for name in destinations:
        table.add_column(name, overflow="fold")
    for _, item in items:
        state = styled(item.state)
        if item.reason:
            state.append(f": {item.reason}")
        photo = rendition_link(status_url, item.thumbnails) or (item.photo_id or "")[:12]
        cells = [
            destination_cell(item.destinations[d]) if d in item.destinations else Text("")
            for d in destinations
        ]
        table.add_row(item.name, state, photo, *cells)
    return table


def photo_table(photos: Iterable[Photo], status_url: str) -> Table:
    table = Table()
    for column in ("photo", "added", "state", "tags", "destinations", "thumbnail"):
        table.add_column(column, overflow="fold")
    for p in photos:
        dests = Text()
        for name, d in sorted(p.destinations.items()):
            if dests:
                dests.append("\n")
            dests.append(f"{name}: ")
            dests.append_text(destination_cell(d))
        table.add_row(
            p.photo_id[:16],
            p.created.astimezone().strftime("%Y-%m-%d %H:%M"),
            styled(p.state),
            ", ".join(p.tags),
            dests,
            rendition_link(status_url, p.thumbnails),
        )
    return table


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
