"""`photobus auth imgur|flickr|google`: walk through a destination's OAuth flow.

Instructions and prompts go to stderr; the `PHOTOBUS_*` lines alone go to stdout, so
`photobus auth imgur >> .env` works.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from photobus_client.auth import AuthFlowError, Prompter, env_lines, require
from photobus_client.auth.flickr import flickr_flow, oauth_base_of
from photobus_client.auth.google import AUTHORIZE_URL, REDIRECT_URI, TOKEN_URL, google_flow
from photobus_client.auth.imgur import DEFAULT_API_URL, imgur_flow
from photobus_client.commands import EXIT_OK, Terminal
from photobus_client.config import Config


def _prompter(term: Terminal) -> Prompter:
    async def ask(question: str) -> str:
        term.err.print(question, end="", highlight=False)
        line: str = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            raise AuthFlowError("stdin closed before the code was typed")
        return line.strip()

    def say(text: str) -> None:
        term.err.print(text, highlight=False, soft_wrap=True)

    return Prompter(ask, say)


async def _settings(args: argparse.Namespace, prompt: Prompter) -> dict[str, str]:
    env = os.environ
    if args.destination == "imgur":
        how = "register an application at https://api.imgur.com/oauth2/addclient"
        return await imgur_flow(
            prompt,
            client_id=require(
                args.client_id, "client id", "--client-id", "PHOTOBUS_IMGUR_CLIENT_ID", how
            ),
            client_secret=require(
                args.client_secret,
                "client secret",
                "--client-secret",
                "PHOTOBUS_IMGUR_CLIENT_SECRET",
                how,
            ),
            api_url=args.api_url or env.get("PHOTOBUS_IMGUR_API_URL") or DEFAULT_API_URL,
        )
    if args.destination == "flickr":
        how = "get an API key at https://www.flickr.com/services/apps/create/"
        rest_url = env.get("PHOTOBUS_FLICKR_REST_URL")
        return await flickr_flow(
            prompt,
            api_key=require(args.api_key, "API key", "--api-key", "PHOTOBUS_FLICKR_API_KEY", how),
            api_secret=require(
                args.api_secret, "API secret", "--api-secret", "PHOTOBUS_FLICKR_API_SECRET", how
            ),
            oauth_base=args.oauth_url or (oauth_base_of(rest_url) if rest_url else None),
        )
    how = "create an OAuth client of type Desktop app in the Google Cloud console"
    return await google_flow(
        prompt,
        client_id=require(
            args.client_id, "client id", "--client-id", "PHOTOBUS_GPHOTOS_CLIENT_ID", how
        ),
        client_secret=require(
            args.client_secret,
            "client secret",
            "--client-secret",
            "PHOTOBUS_GPHOTOS_CLIENT_SECRET",
            how,
        ),
        authorize_url=args.authorize_url or AUTHORIZE_URL,
        token_url=args.token_url or env.get("PHOTOBUS_GPHOTOS_TOKEN_URL") or TOKEN_URL,
        redirect_uri=args.redirect_uri or REDIRECT_URI,
    )


async def run(args: argparse.Namespace, config: Config, term: Terminal) -> int:
    settings = await _settings(args, _prompter(term))
    term.err.print("Done. Put these lines in your .env:", highlight=False)
    print(env_lines(settings), flush=True)
    return EXIT_OK


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    auth = commands.add_parser("auth", help="get a destination's credentials (OAuth)")
    which = auth.add_subparsers(dest="destination", required=True, metavar="DESTINATION")
    imgur = which.add_parser("imgur", help="Imgur (OAuth 2.0, pasted code)")
    imgur.add_argument("--client-id", default=os.environ.get("PHOTOBUS_IMGUR_CLIENT_ID"))
    imgur.add_argument("--client-secret", default=os.environ.get("PHOTOBUS_IMGUR_CLIENT_SECRET"))
    imgur.add_argument("--api-url", help="Imgur's API base (default $PHOTOBUS_IMGUR_API_URL)")
    flickr = which.add_parser("flickr", help="Flickr (OAuth 1.0a, typed verifier)")
    flickr.add_argument("--api-key", default=os.environ.get("PHOTOBUS_FLICKR_API_KEY"))
    flickr.add_argument("--api-secret", default=os.environ.get("PHOTOBUS_FLICKR_API_SECRET"))
    flickr.add_argument(
        "--oauth-url", help="base of /services/oauth/... (default: beside PHOTOBUS_FLICKR_REST_URL)"
    )
    google = which.add_parser("google", help="Google Photos (OAuth 2.0 installed app)")
    google.add_argument("--client-id", default=os.environ.get("PHOTOBUS_GPHOTOS_CLIENT_ID"))
    google.add_argument("--client-secret", default=os.environ.get("PHOTOBUS_GPHOTOS_CLIENT_SECRET"))
    google.add_argument("--authorize-url", help=f"consent page (default {AUTHORIZE_URL})")
    google.add_argument("--token-url", help="token endpoint (default $PHOTOBUS_GPHOTOS_TOKEN_URL)")
    google.add_argument(
        "--redirect-uri", help=f"where Google sends the code (default {REDIRECT_URI})"
    )
    auth.set_defaults(run=run)
