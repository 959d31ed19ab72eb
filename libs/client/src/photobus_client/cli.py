"""The `photobus` command: upload, status, ls, retry, auth.

Exit codes: 0 all done; 1 some items failed or were rejected; 2 usage or connection
error. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from rich.console import Console

from photobus_client.auth import AuthFlowError
from photobus_client.commands import EXIT_USAGE, Terminal, auth, ls, retry, status, upload
from photobus_client.config import Config
from photobus_client.errors import PhotobusError
from photobus_client.models import DESTINATIONS

Command = Callable[[argparse.Namespace, Config, Terminal], Coroutine[Any, Any, int]]
WIDE = 160  # piped output: long links stay on one line


def comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def destinations(text: str) -> list[str]:
    names = [n.lower() for n in comma_list(text)]
    unknown = [n for n in names if n not in DESTINATIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown destination {', '.join(unknown) or '(none)'}: choose from {', '.join(DESTINATIONS)}"
        )
    return names


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _upload_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "upload",
        help="upload photos (files, folders, URLs)",
        description="Upload image files (folders are searched recursively; hidden files are "
        "skipped) and URLs. Files photobus already has are not sent again.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="image files or folders")
    p.add_argument("--url", action="append", metavar="URL", help="a photo for photobus to fetch")
    p.add_argument("--title")
    p.add_argument("--description")
    p.add_argument("--tags", type=comma_list, metavar="A,B", help="comma-separated tags")
    p.add_argument("--album", metavar="NAME")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--only", type=destinations, metavar="D,D", help="publish only here")
    where.add_argument("--skip", type=destinations, metavar="D,D", help="do not publish here")
    p.add_argument("--keep-location", action="store_true", help="keep GPS data in published copies")
    p.add_argument("--wait", action="store_true", help="follow the jobs until done; show the links")
    p.add_argument("--concurrency", type=positive, default=4, metavar="N", help="uploads at once")
    p.add_argument("--json", action="store_true", help="print one JSON summary, no progress bar")
    p.set_defaults(run=upload.run)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="photobus",
        description="Upload photos to photobus and see where they were published. "
        "Configure with PHOTOBUS_URL (ingest), PHOTOBUS_STATUS_URL and PHOTOBUS_API_KEY.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _upload_parser(commands)
    s = commands.add_parser("status", help="a job's progress and links")
    s.add_argument("job", metavar="JOB", help="the job id (one starting with '-' goes after '--')")
    s.add_argument("--watch", action="store_true", help="follow live until the job is done")
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=status.run)
    ls_ = commands.add_parser("ls", help="list photos, newest first")
    ls_.add_argument("--tag")
    ls_.add_argument("--destination", choices=DESTINATIONS)
    ls_.add_argument("--state", help="e.g. completed, partial, failed, processing")
    ls_.add_argument("--limit", type=positive, default=50)
    ls_.add_argument("--json", action="store_true")
    ls_.set_defaults(run=ls.run)
    r = commands.add_parser("retry", help="publish a photo again to one destination")
    r.add_argument("photo", metavar="PHOTO", help="the photo id (SHA-256)")
    r.add_argument("--destination", required=True, choices=DESTINATIONS)
    r.set_defaults(run=retry.run)
    auth.add_parser(commands)
    return root


def terminal() -> Terminal:
    out_tty = sys.stdout.isatty()
    return Terminal(
        out=Console(highlight=False, width=None if out_tty else WIDE),
        err=Console(stderr=True, highlight=False),
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    run: Command = args.run
    try:
        code = asyncio.run(run(args, Config.from_env(), terminal()))
    except (PhotobusError, AuthFlowError) as e:
        print(f"photobus: error: {e}", file=sys.stderr)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        print("photobus: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)
