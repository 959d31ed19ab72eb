"""`photobus upload PATH... [--url URL]...`: send files and URLs, then (with --wait) follow them."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from rich.text import Text

from photobus_client.client import PhotobusClient
from photobus_client.commands import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, Terminal, print_json
from photobus_client.config import Config
from photobus_client.discovery import Discovery, discover
from photobus_client.follow import follow_jobs
from photobus_client.models import AcceptedJob, Job, Photo, UploadOptions
from photobus_client.progress import JobsLive, UploadProgress
from photobus_client.render import (
    human_size,
    job_failed,
    job_json,
    job_links,
    job_table,
    photo_links,
    photo_table,
    print_links,
    result_line,
)
from photobus_client.upload import FatalUploadError, FileResult, upload_all


def options_of(args: argparse.Namespace) -> UploadOptions:
    return UploadOptions(
        title=args.title,
        description=args.description,
        tags=tuple(args.tags or ()),
        album=args.album,
        destinations=tuple(args.only) if args.only is not None else None,
        skip=tuple(args.skip or ()),
        keep_location=args.keep_location,
    )


def _local_results(found: Discovery) -> list[FileResult]:
    return [
        FileResult(r.path, 0, "rejected", reason=r.reason, detail=r.detail) for r in found.refused
    ]


def _url_results(job: AcceptedJob) -> list[dict[str, Any]]:
    return [
        {"url": i.url, "item_id": i.item_id, "job_id": job.job_id}
        | ({"reason": i.rejected.reason, "detail": i.rejected.detail} if i.rejected else {})
        for i in job.items
    ]


def _entry(r: FileResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": str(r.path), "size": r.size, "photo_id": r.photo_id}
    if r.job_id:
        entry |= {"job_id": r.job_id, "item_id": r.item_id}
    if r.reason or r.detail:
        entry |= {"reason": r.reason, "detail": r.detail}
    return entry


async def _photos_already_there(client: PhotobusClient, results: list[FileResult]) -> list[Photo]:
    ids = list(
        dict.fromkeys(
            r.photo_id
            for r in results
            if r.outcome == "already_there" and r.photo_id and not r.job_id
        )
    )
    limit = asyncio.Semaphore(8)

    async def one(photo_id: str) -> Photo | None:
        async with limit:
            return await client.photo(photo_id)

    found = await asyncio.gather(*(one(p) for p in ids))
    return [p for p in found if p is not None]


async def run(args: argparse.Namespace, config: Config, term: Terminal) -> int:
    started = time.monotonic()
    found = await asyncio.to_thread(discover, [Path(p) for p in args.paths])
    urls: list[str] = args.url or []
    show = not args.json
    if not found.images and not urls and not found.refused:
        nowhere = ", ".join(args.paths) or "the arguments"
        print(f"photobus: nothing to upload: no image files in {nowhere}", file=sys.stderr)
        return EXIT_USAGE
    options = options_of(args)
    progress = UploadProgress(
        term.err,
        files=len(found.images),
        total_bytes=found.total_bytes,
        enabled=show,
    )

    def on_retry(attempt: int, wait: float, error: Exception) -> None:
        progress.note(f"retrying in {wait:.1f} s (attempt {attempt} failed: {error})")

    client = PhotobusClient(config.ingest_url, config.status_url, config.api_key, on_retry=on_retry)
    async with client:
        await client.ping()
        url_job = await client.upload_urls(urls, options) if urls else None
        try:
            with progress:
                results = await upload_all(
                    client, found.images, options, progress, concurrency=args.concurrency
                )
        except FatalUploadError as e:
            raise e.cause from e
        if client.status_url_known:
            config.remember_status_url(client.status_url)
        job_ids = [r.job_id for r in results if r.job_id and r.outcome == "uploaded"]
        job_ids += [url_job.job_id] if url_job else []
        followed: dict[str, Job] = {}
        earlier: list[Photo] = []
        if args.wait:
            live = JobsLive(term.err, job_ids, client.status_url, enabled=show)
            with live:
                followed = await follow_jobs(client, job_ids, live.update)
            earlier = await _photos_already_there(client, results)
        status_url = client.status_url

    results = _local_results(found) + results
    by = {
        k: [r for r in results if r.outcome == k]
        for k in ("uploaded", "already_there", "rejected", "failed")
    }
    url_items = _url_results(url_job) if url_job else []
    url_rejected = [u for u in url_items if "reason" in u]
    jobs = [followed[j] for j in dict.fromkeys(job_ids) if j in followed]
    bad = by["rejected"] or by["failed"] or url_rejected or any(job_failed(j) for j in jobs)
    code = EXIT_SOME_FAILED if bad else EXIT_OK
    if args.json:
        summary: dict[str, Any] = {k: [_entry(r) for r in v] for k, v in by.items()}
        summary |= {
            "ignored": [str(p) for p in found.ignored],
            "urls": url_items,
            "jobs": list(dict.fromkeys(job_ids)),
            "status_url": status_url,
            "bytes_sent": sum(r.size for r in by["uploaded"]),
            "elapsed_s": round(time.monotonic() - started, 3),
            "exit_code": code,
        }
        if args.wait:
            summary["results"] = [job_json(j, status_url) for j in jobs]
            summary["already_there_photos"] = [p.model_dump(mode="json") for p in earlier]
        print_json(summary)
        return code
    if jobs:
        term.out.print(job_table(jobs, status_url))
        print_links(term.out, job_links(jobs, status_url))
    if earlier:
        term.out.print(Text("already in photobus:", style="bold"))
        term.out.print(photo_table(earlier))
        print_links(term.out, photo_links(earlier, status_url))
    _print_summary(term, by, found, url_items, url_rejected, time.monotonic() - started)
    return code


def _print_summary(
    term: Terminal,
    by: dict[str, list[FileResult]],
    found: Discovery,
    url_items: list[dict[str, Any]],
    url_rejected: list[dict[str, Any]],
    elapsed: float,
) -> None:
    out = term.out  # soft_wrap: paths and reasons stay on their line, whatever the width
    sent = sum(r.size for r in by["uploaded"])
    out.print(
        f"uploaded {len(by['uploaded'])} file(s) ({human_size(sent)} in {elapsed:.1f} s), "
        f"{len(by['already_there'])} already there, {len(by['rejected'])} rejected, "
        f"{len(by['failed'])} failed"
        + (f", {len(url_items)} URL(s) sent ({len(url_rejected)} rejected)" if url_items else ""),
        highlight=False,
        soft_wrap=True,
    )
    if by["uploaded"] == [] and by["already_there"] and not by["rejected"] and not by["failed"]:
        out.print("nothing new: photobus already has every file", highlight=False, soft_wrap=True)
    for title, key in (("rejected", "rejected"), ("failed", "failed")):
        if by[key]:
            out.print(f"{title}:", style="red", highlight=False, soft_wrap=True)
            for r in by[key]:
                out.print(result_line(r), highlight=False, soft_wrap=True)
    for u in url_rejected:
        out.print(
            f"  rejected URL {u['url']} — {u['reason']}: {u['detail']}",
            highlight=False,
            soft_wrap=True,
        )
    if found.ignored:
        shown = ", ".join(str(p) for p in found.ignored[:10])
        more = f" and {len(found.ignored) - 10} more" if len(found.ignored) > 10 else ""
        out.print(
            f"ignored (not images): {shown}{more}", style="dim", highlight=False, soft_wrap=True
        )
