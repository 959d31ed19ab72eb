"""`photobus retry PHOTO --destination D`: publish a photo again, or retry its failure."""

from __future__ import annotations

import argparse

from photobus_client.client import PhotobusClient
from photobus_client.commands import EXIT_OK, EXIT_USAGE, Terminal
from photobus_client.config import Config


async def run(args: argparse.Namespace, config: Config, term: Terminal) -> int:
    async with PhotobusClient(config.ingest_url, config.status_url, config.api_key) as client:
        if await client.photo(args.photo) is None:
            term.err.print(
                f"photobus: no photo {args.photo}; `photobus ls` lists them", highlight=False
            )
            return EXIT_USAGE
        await client.publish_again(args.photo, args.destination)
    term.out.print(
        f"asked to publish {args.photo[:16]}… to {args.destination}; `photobus ls` shows its state",
        highlight=False,
    )
    return EXIT_OK
