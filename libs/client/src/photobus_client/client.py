"""`PhotobusClient`: the ingest and status HTTP APIs as typed async methods.

Uploads stream each file from disk; 503s (honouring Retry-After) and lost connections
are retried by the client's `RetryPolicy`. Errors are the types of `photobus_client.errors`.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from photobus_client.errors import ApiError, AuthError, ServerBusy, ServerUnreachable
from photobus_client.models import AcceptedJob, Job, Photo, PhotoPage, UploadOptions
from photobus_client.retry import RetryNotice, RetryPolicy, with_retries
from photobus_client.sse import parse_events
from photobus_client.streaming import ProgressReader

ByteProgress = Callable[[int], None]
"""Called with each number of bytes sent (negative when a retry starts a file over)."""

INGEST_PORT, STATUS_PORT = 8080, 8081
# Status pings an SSE stream every 15 s; a silence much longer than that is a dead stream.
SSE_READ_TIMEOUT = 60.0


def status_base_of(status_url: str) -> str:
    """`http://host:8081/v1/jobs/ID` (what ingest answers) → `http://host:8081`."""
    head, sep, _ = status_url.partition("/v1/jobs/")
    return head.rstrip("/") if sep else status_url.rstrip("/")


def guess_status_url(ingest_url: str) -> str:
    """Without being told: the default deployment's port, else the same origin (a gateway)."""
    parts = urlsplit(ingest_url)
    if parts.port == INGEST_PORT and parts.hostname:
        netloc = f"{parts.hostname}:{STATUS_PORT}"
        return urlunsplit((parts.scheme, netloc, "", "", ""))
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds or an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


async def raise_for_answer(response: aiohttp.ClientResponse) -> None:
    """Turn an error answer into the client's typed error; return quietly on 2xx/3xx."""
    if response.status < 400:
        return
    text = await response.text(errors="replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("error") or response.reason or "error")
        detail = str(body.get("detail") or body.get("error") or text)
    else:
        code = (response.reason or "error").lower().replace(" ", "_")
        detail = text.strip()[:200] or (response.reason or "")
    if response.status in (401, 403):
        raise AuthError(response.status, code, detail)
    if response.status == 503:
        raise ServerBusy(code, detail, parse_retry_after(response.headers.get("Retry-After")))
    raise ApiError(response.status, code, detail)


class PhotobusClient:
    """Talks to one photobus deployment. Use as `async with PhotobusClient(url) as client:`.

    `status_url` is status's base URL; when not given it is learned from ingest's answers
    (`status_url` of each job), and guessed until then.
    """

    def __init__(
        self,
        ingest_url: str,
        status_url: str | None = None,
        api_key: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        on_retry: RetryNotice | None = None,
        timeout: float = 600.0,
    ) -> None:
        self.ingest_url = ingest_url.rstrip("/")
        self._status_url = status_url.rstrip("/") if status_url else None
        self.status_url_known = status_url is not None
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=10)
        self._session: aiohttp.ClientSession | None = None

    @property
    def status_url(self) -> str:
        return self._status_url or guess_status_url(self.ingest_url)

    async def __aenter__(self) -> PhotobusClient:
        self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use PhotobusClient as `async with PhotobusClient(...) as client`")
        return self._session

    # -- plumbing ------------------------------------------------------------------------

    async def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        """One request; its JSON body (None for an empty one). Raises the typed errors."""
        try:
            async with self.session.request(method, url, **kwargs) as response:
                await raise_for_answer(response)
                text = await response.text()
                return json.loads(text) if text.strip() else None
        except aiohttp.ClientConnectionError as e:
            raise ServerUnreachable(_origin(url), _why(e)) from e
        except TimeoutError as e:
            raise ServerUnreachable(_origin(url), "timed out") from e

    async def _retried(self, method: str, url: str, **kwargs: Any) -> Any:
        return await with_retries(
            lambda: self._json(method, url, **kwargs), self.retry, self.on_retry
        )

    def _learn(self, job: AcceptedJob) -> AcceptedJob:
        if not self.status_url_known:
            self._status_url = status_base_of(job.status_url)
            self.status_url_known = True
        return job

    # -- ingest --------------------------------------------------------------------------

    async def ping(self) -> None:
        """Raise ServerUnreachable unless ingest answers HTTP at all (any status will do)."""
        url = f"{self.ingest_url}/healthz"
        try:
            async with self.session.get(url) as response:
                await response.read()
        except aiohttp.ClientConnectionError as e:
            raise ServerUnreachable(self.ingest_url, _why(e)) from e
        except TimeoutError as e:
            raise ServerUnreachable(self.ingest_url, "timed out") from e

    async def upload_files(
        self,
        paths: Sequence[Path],
        options: UploadOptions | None = None,
        progress: ByteProgress | None = None,
    ) -> AcceptedJob:
        """One job of these files, streamed from disk; retried from the start on 503."""
        fields = (options or UploadOptions()).form_fields()
        sent = [0]

        def count(n: int) -> None:
            sent[0] += n
            if progress is not None:
                progress(n)

        async def attempt() -> Any:
            if sent[0] and progress is not None:
                progress(-sent[0])  # the retry sends every byte again
            sent[0] = 0
            loop = asyncio.get_running_loop()
            async with AsyncExitStack() as files:
                form = aiohttp.FormData(quote_fields=False)
                for name, value in fields.items():
                    form.add_field(name, value)
                for path in paths:
                    reader = files.enter_context(ProgressReader.open(path, loop, count))
                    form.add_field(
                        "file", reader, filename=path.name, content_type="application/octet-stream"
                    )
                return await self._json("POST", f"{self.ingest_url}/v1/jobs", data=form)

        body = await with_retries(attempt, self.retry, self.on_retry)
        return self._learn(AcceptedJob.model_validate(body))

    async def upload_urls(
        self, urls: Sequence[str], options: UploadOptions | None = None
    ) -> AcceptedJob:
        """One job that has ingest fetch these URLs."""
        body = {"urls": list(urls), **(options or UploadOptions()).json_fields()}
        answer = await self._retried("POST", f"{self.ingest_url}/v1/jobs", json=body)
        return self._learn(AcceptedJob.model_validate(answer))

    # -- status --------------------------------------------------------------------------

    async def job(self, job_id: str) -> Job:
        """The job now. Raises ApiError(404) for an unknown job."""
        body = await self._retried("GET", f"{self.status_url}/v1/jobs/{job_id}")
        return Job.model_validate(body)

    async def follow_job(self, job_id: str) -> AsyncIterator[Job]:
        """The job at every change (status's SSE stream), until it is terminal.

        A stream that ends early (status restarting, its database away) is resumed. A job
        status does not know yet (ingest answered; status has not read the event) is
        waited for, within the retry policy.
        """
        url = f"{self.status_url}/v1/jobs/{job_id}/events"
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=SSE_READ_TIMEOUT)
        failures = 0
        while True:
            error: ApiError | ServerUnreachable
            try:
                async with self.session.get(
                    url, timeout=timeout, headers={"Accept": "text/event-stream"}
                ) as response:
                    await raise_for_answer(response)
                    async for event in parse_events(response.content):
                        if event.event == "job":
                            failures = 0
                            job = Job.model_validate_json(event.data)
                            yield job
                            if job.terminal:
                                return
                        elif event.event == "end":
                            return
                error = ServerUnreachable(self.status_url, "the event stream ended early")
            except ServerBusy as e:
                error = e
            except ApiError as e:
                if e.status != 404:
                    raise
                error = e
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as e:
                error = ServerUnreachable(self.status_url, _why(e))
            except TimeoutError:
                error = ServerUnreachable(self.status_url, "no event for a minute")
            failures += 1
            if failures >= self.retry.attempts:
                raise error
            wait = self.retry.delay(failures, error)
            if self.on_retry is not None:
                self.on_retry(failures, wait, error)
            await asyncio.sleep(wait)

    async def photos(
        self,
        *,
        tag: str | None = None,
        destination: str | None = None,
        state: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> PhotoPage:
        """One page of photos, newest first; pass `next_cursor` back for the next."""
        query = {"tag": tag, "destination": destination, "state": state, "cursor": cursor}
        params = {k: v for k, v in query.items() if v} | {"limit": str(limit)}
        body = await self._retried("GET", f"{self.status_url}/v1/photos", params=params)
        return PhotoPage.model_validate(body)

    async def photo(self, photo_id: str) -> Photo | None:
        """The photo with this id (the SHA-256 of its bytes); None when photobus lacks it."""
        try:
            body = await self._retried("GET", f"{self.status_url}/v1/photos/{photo_id}")
        except ApiError as e:
            if e.status == 404:
                return None
            raise
        return Photo.model_validate(body)

    async def publish_again(self, photo_id: str, destination: str) -> None:
        """Ask for the photo to be published to `destination` again (or its failure retried)."""
        url = f"{self.status_url}/v1/photos/{photo_id}/publish"
        await self._retried("POST", url, json={"destination": destination})


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _why(error: Exception) -> str:
    if isinstance(error, aiohttp.ClientConnectorError):
        if isinstance(error.os_error, ConnectionRefusedError):
            return "connection refused"
        return error.os_error.strerror or str(error.os_error) or "connection failed"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    return str(error) or type(error).__name__
