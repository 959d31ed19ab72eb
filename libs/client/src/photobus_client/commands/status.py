"""`photobus status JOB [--watch]`: a job's items and destinations, once or live."""

from __future__ import annotations

import argparse

from rich.live import Live

from photobus_client.client import PhotobusClient
from photobus_client.commands import EXIT_OK, EXIT_SOME_FAILED, Terminal, print_json
from photobus_client.config import Config
from photobus_client.models import Job
from photobus_client.render import job_failed, job_json, job_links, job_table, print_links


async def run(args: argparse.Namespace, config: Config, term: Terminal) -> int:
    async with PhotobusClient(config.ingest_url, config.status_url, config.api_key) as client:
        status_url = client.status_url
        if args.watch:
            job: Job | None = None
            with Live(console=term.err, transient=True, auto_refresh=False) as live:
                async for job in client.follow_job(args.job):
                    if not args.json:
                        live.update(job_table([job], status_url), refresh=True)
            assert job is not None  # the stream starts with the job, or raises
        else:
            job = await client.job(args.job)
    if args.json:
        print_json(job_json(job, status_url))
    else:
        term.out.print(f"job {job.job_id}: {job.status}", highlight=False)
        term.out.print(job_table([job], status_url))
        print_links(term.out, job_links([job], status_url))
    if job.terminal and job_failed(job):
        return EXIT_SOME_FAILED
    return EXIT_OK
