"""`POST /v1/jobs`: files (multipart) or URLs (JSON) in, one job out.

Emits `job.accepted`, then per item `photo.received` / `photo.rejected` (files) or
`fetch.requested` (URLs), all confirmed before the 202.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import hdrs, web
from photobus_common.auth import request_owner

from photobus_ingest.formdata import media_type
from photobus_ingest.intake import Refused
from photobus_ingest.multipart import read_upload
from photobus_ingest.routes.accept import Entry, announce, new_job_id, upload_entry, url_entry
from photobus_ingest.routes.context import INGEST
from photobus_ingest.routes.errors import ApiError, BodyTooLarge
from photobus_ingest.routes.options import OPTION_FIELDS, parse_options

# A list of up to 1000 URLs fits many times over; a bigger JSON body is not a job.
JSON_LIMIT = 8 * 1024 * 1024


async def post_job(request: web.Request) -> web.Response:
    return web.json_response(await accept(request), status=202)


async def accept(request: web.Request) -> dict[str, Any]:
    """Accept files or URLs, whichever the request carries."""
    kind = media_type(request.headers.get(hdrs.CONTENT_TYPE, ""))
    if kind == "multipart/form-data":
        return await accept_files(request)
    if kind == "application/json":
        return await accept_urls(request)
    raise ApiError(
        415,
        "unsupported_media_type",
        'Send files as multipart/form-data, or URLs as application/json {"urls": [...]}.',
    )


async def accept_files(request: web.Request, *, owner: str | None = None) -> dict[str, Any]:
    owner = owner or request_owner(request)
    ingest = request.app[INGEST]
    settings = ingest.settings
    upload = await read_upload(
        request,
        spool_dir=ingest.spool_dir,
        blobs=ingest.blobs,
        max_pixels=settings.max_pixels,
        max_bytes=settings.max_upload_bytes,
        max_items=settings.max_items_per_job,
        read_timeout=settings.upload_read_timeout,
    )
    try:
        options = parse_options(upload.fields)
        if not upload.files:
            raise ApiError(
                400, "no_files", "The request has no file parts: attach one or more photos."
            )
        job_id = new_job_id()
        entries: list[Entry] = []
        for f in upload.files:
            verdict = f.verdict
            outcome = verdict if isinstance(verdict, Refused) else await f.spool.store(verdict)
            entries.append(
                upload_entry(
                    job_id=job_id,
                    item_id=f.item_id,
                    filename=f.filename,
                    outcome=outcome,
                    options=options,
                    owner=owner,
                )
            )
        return await announce(ingest, job_id=job_id, owner=owner, options=options, entries=entries)
    finally:
        await upload.discard()


async def accept_urls(request: web.Request, *, owner: str | None = None) -> dict[str, Any]:
    owner = owner or request_owner(request)
    ingest = request.app[INGEST]
    body = await read_json(
        request,
        min(JSON_LIMIT, ingest.settings.max_upload_bytes),
        read_timeout=ingest.settings.upload_read_timeout,
    )
    if not isinstance(body, dict) or "urls" not in body:
        raise ApiError(400, "no_urls", 'Send a JSON object with a list of URLs: {"urls": [...]}.')
    urls = body["urls"]
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise ApiError(400, "no_urls", "`urls` must be a non-empty list of URL strings.")
    limit = ingest.settings.max_items_per_job
    if len(urls) > limit:
        raise ApiError(400, "too_many_items", f"At most {limit} URLs per request: split them.")
    options = parse_options({k: v for k, v in body.items() if k in OPTION_FIELDS})
    job_id = new_job_id()
    entries = [url_entry(job_id=job_id, url=u.strip(), options=options, owner=owner) for u in urls]
    return await announce(ingest, job_id=job_id, owner=owner, options=options, entries=entries)


async def read_json(request: web.Request, limit: int, *, read_timeout: float = 60.0) -> Any:
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(limit)
    data = bytearray()
    while True:
        try:
            async with asyncio.timeout(read_timeout):  # a stalled client: 408, like uploads
                chunk = await request.content.readany()
        except TimeoutError as e:
            raise ApiError(
                408,
                "body_timeout",
                f"Nothing of the request body arrived for {read_timeout:g} seconds: "
                "check the connection and send it again.",
            ) from e
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise BodyTooLarge(limit)
    try:
        return json.loads(data)
    except ValueError as e:
        raise ApiError(400, "bad_json", f"The body is not valid JSON: {e}.") from e
