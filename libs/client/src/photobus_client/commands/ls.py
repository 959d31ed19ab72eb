"""`photobus ls [--tag] [--destination] [--state]`: photos, newest first."""

from __future__ import annotations

import argparse

from photobus_client.client import PhotobusClient
from photobus_client.commands import EXIT_OK, Terminal, print_json
from photobus_client.config import Config
from photobus_client.models import Photo
from photobus_client.render import photo_links, photo_table, print_links

PAGE = 100


async def run(args: argparse.Namespace, config: Config, term: Terminal) -> int:
    photos: list[Photo] = []
    cursor: str | None = None
    async with PhotobusClient(config.ingest_url, config.status_url, config.api_key) as client:
        while len(photos) < args.limit:
            page = await client.photos(
                tag=args.tag,
                destination=args.destination,
                state=args.state,
                cursor=cursor,
                limit=min(PAGE, args.limit - len(photos)),
            )
            photos += page.photos
            cursor = page.next_cursor
            if cursor is None:
                break
        status_url = client.status_url
    if args.json:
        print_json([p.model_dump(mode="json") for p in photos])
        return EXIT_OK
    term.out.print(photo_table(photos))
    print_links(term.out, photo_links(photos, status_url))
    more = " (more with --limit)" if cursor else ""
    term.out.print(f"{len(photos)} photo(s){more}", highlight=False)
    return EXIT_OK
