"""A fake Google Photos Library API with Google's OAuth token endpoint (§C): refresh,
byte uploads (raw and resumable), batchCreate, albums and app-created listings."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from tests.fakes import gphotos_models as g
from tests.fakes.faults import Fault, FaultKind
from tests.fakes.gphotos_library import PhotosLibrary
from tests.fakes.gphotos_uploads import CHUNK_GRANULARITY, ResumableSession, UploadedBytes
from tests.fakes.oauth_codes import AuthorizationCodes
from tests.fakes.recording import RecordedUpload
from tests.fakes.server import CONTROL_PREFIX, FakeServer

DEFAULT_SCOPES = frozenset({g.APPENDONLY, g.READONLY_APP_CREATED, g.EDIT_APP_CREATED})


class FakeGooglePhotos(FakeServer):
    name = "gphotos"

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        granted_scopes: frozenset[str] = DEFAULT_SCOPES,
        access_token_lifetime: int = 3599,
        max_upload_bytes: int = 200 * 1024 * 1024,
        reusable_upload_tokens: bool = False,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.granted_scopes = granted_scopes
        self.access_token_lifetime = access_token_lifetime
        self.max_upload_bytes = max_upload_bytes
        self.access_tokens: dict[str, g.IssuedToken] = {}
        self.byte_uploads: dict[str, UploadedBytes] = {}
        self.sessions: dict[str, ResumableSession] = {}
        # Bytes received at /v1/uploads (remote_id = upload token); `uploads` holds media items.
        self.received: list[RecordedUpload] = []
        self.library = PhotosLibrary(self, reusable_upload_tokens=reusable_upload_tokens)
        self.codes = AuthorizationCodes(client_id)

    def expire_access_tokens(self) -> None:
        self.access_tokens.clear()

    def expire_upload_tokens(self) -> None:
        for uploaded in self.byte_uploads.values():
            uploaded.expired = True

    def reset_state(self) -> None:
        self.access_tokens.clear()
        self.byte_uploads.clear()
        self.sessions.clear()
        self.received.clear()
        self.library.clear()

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/o/oauth2/v2/auth", self.consent)
        router.add_post("/token", self.token)
        router.add_post("/oauth2/v4/token", self.token)  # the legacy endpoint, same contract
        router.add_post("/v1/uploads", self.upload)
        self.library.add_routes(router)

    def add_control_routes(self, router: web.UrlDispatcher) -> None:
        async def expire_upload_tokens(_: web.Request) -> web.Response:
            self.expire_upload_tokens()
            return web.json_response({"expired": True})

        async def received(_: web.Request) -> web.Response:
            return web.json_response([upload.to_json() for upload in self.received])

        router.add_post(CONTROL_PREFIX + "gphotos/expire_upload_tokens", expire_upload_tokens)
        router.add_get(CONTROL_PREFIX + "gphotos/received", received)

    # -- OAuth ---------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        if self.faults.token_status is not None:
            body = {"error": "temporarily_unavailable", "error_description": "Fake outage"}
            return web.json_response(body, status=self.faults.token_status)
        form = await request.post()
        if form.get("grant_type") == "authorization_code":
            return self._exchange_code(form)
        if form.get("grant_type") != "refresh_token":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            body = {"error": "invalid_client", "error_description": "Unauthorized"}
            return web.json_response(body, status=401)
        if form.get("refresh_token") != self.refresh_token:
            body = {
                "error": "invalid_grant",
                "error_description": "Token has been expired or revoked.",
            }
            return web.json_response(body, status=400)
        requested = frozenset(str(form.get("scope") or "").split()) or self.granted_scopes
        if not requested <= self.granted_scopes:
            body = {"error": "invalid_scope", "error_description": "Bad Request"}
            return web.json_response(body, status=400)
        access_token = "ya29.fake-" + secrets.token_urlsafe(32)
        expires_at = time.time() + self.access_token_lifetime
        self.access_tokens[access_token] = g.IssuedToken(requested, expires_at)
        granted: dict[str, str | int] = {
            "access_token": access_token,
            "expires_in": self.access_token_lifetime,
            "scope": " ".join(sorted(requested)),
            "token_type": "Bearer",
        }
        return web.json_response(granted)

    async def consent(self, request: web.Request) -> web.Response:
        """Google's consent page for `photobus auth google` (auto-approved)."""
        return self.codes.consent_page(request, scope_required=True)

    def _exchange_code(self, form: MultiDictProxy[Any]) -> web.Response:
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            body = {"error": "invalid_client", "error_description": "Unauthorized"}
            return web.json_response(body, status=401)
        grant = self.codes.redeem(form.get("code"), form.get("redirect_uri"))
        if grant is None:
            body = {"error": "invalid_grant", "error_description": "Malformed auth code."}
            return web.json_response(body, status=400)
        scopes = grant.scopes & self.granted_scopes
        access_token = "ya29.fake-" + secrets.token_urlsafe(32)
        expires_at = time.time() + self.access_token_lifetime
        self.access_tokens[access_token] = g.IssuedToken(scopes, expires_at)
        granted: dict[str, str | int] = {
            "access_token": access_token,
            "expires_in": self.access_token_lifetime,
            "refresh_token": self.refresh_token,
            "scope": " ".join(sorted(scopes)),
            "token_type": "Bearer",
        }
        return web.json_response(granted)

    def authorize(self, request: web.Request, *any_of: str) -> web.Response | None:
        """None when the Bearer token is live and holds one of the scopes; else the refusal."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        issued = self.access_tokens.get(token.strip()) if scheme == "Bearer" else None
        if issued is None or issued.expires_at < time.time():
            return g.google_error(401, g.UNAUTHENTICATED)
        if not issued.scopes & set(any_of):
            return g.google_error(403, g.INSUFFICIENT_SCOPES)
        return None

    async def fault_response(self, fault: Fault | None) -> web.Response | None:
        """The answer a hang or HTTP-status fault forces; None lets the request proceed."""
        if fault is None:
            return None
        if fault.kind is FaultKind.HANG:
            return await self.hold_forever()
        if fault.kind is FaultKind.STATUS:
            status = fault.http_status or 500
            response = g.google_error(status, g.default_message(status))
            if fault.retry_after is not None:
                response.headers["Retry-After"] = fault.retry_after
            return response
        return None

    # -- byte uploads -----------------------------------------------------------------------

    async def upload(self, request: web.Request) -> web.Response:
        refused = self.authorize(request, g.APPENDONLY)
        if refused is not None:
            return refused
        if "upload_id" in request.query:
            return await self._resumable_command(request)
        protocol = request.headers.get("X-Goog-Upload-Protocol", "raw")
        if protocol == "resumable":
            return self._resumable_start(request)
        if protocol != "raw":
            return g.google_error(400, f"Unknown upload protocol {protocol!r}.")
        fault = self.faults.take("upload")
        forced = await self.fault_response(fault)
        if forced is not None:
            return forced
        data = await request.read()
        if not data:
            return g.google_error(400, "The upload is empty.")
        if len(data) > self.max_upload_bytes:
            return g.google_error(400, "The upload is larger than the size limit.")
        uploaded = self._store_bytes(data, request.headers.get("X-Goog-Upload-File-Name"), fault)
        response = web.Response(text=uploaded.token, content_type="text/plain")
        if fault is not None and fault.kind is FaultKind.DELAY:
            await asyncio.sleep(fault.seconds)  # the token is already issued and valid
        return response

    def _store_bytes(
        self, data: bytes, file_name: str | None, fault: Fault | None
    ) -> UploadedBytes:
        uploaded = UploadedBytes.of(data, file_name)
        if fault is not None and fault.kind is FaultKind.PERMANENT:
            uploaded.failure_code = 3  # surfaces in batchCreate, as for unreadable bytes
        elif fault is not None and fault.kind is FaultKind.ERROR:
            uploaded.failure_code = fault.code or 13
        self.byte_uploads[uploaded.token] = uploaded
        recorded = RecordedUpload.of(data, {"file_name": file_name or ""}, uploaded.token, "")
        self.received.append(recorded)
        return uploaded

    def _resumable_start(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Goog-Upload-Command") != "start":
            return g.google_error(400, "A resumable upload must start with the start command.")
        try:
            raw_size = int(request.headers["X-Goog-Upload-Raw-Size"])
        except (KeyError, ValueError):
            return g.google_error(400, "X-Goog-Upload-Raw-Size is required.")
        session = ResumableSession(
            secrets.token_urlsafe(16), raw_size, request.headers.get("X-Goog-Upload-File-Name")
        )
        self.sessions[session.id] = session
        return web.Response(
            headers={
                "X-Goog-Upload-URL": f"{self.url}/v1/uploads?upload_id={session.id}&upload_protocol=resumable",
                "X-Goog-Upload-Chunk-Granularity": str(CHUNK_GRANULARITY),
                "X-Goog-Upload-Status": "active",
            }
        )

    async def _resumable_command(self, request: web.Request) -> web.Response:
        session = self.sessions.get(request.query["upload_id"])
        if session is None:
            return g.google_error(404, "Unknown upload session.")
        commands = {c.strip() for c in request.headers.get("X-Goog-Upload-Command", "").split(",")}
        if "query" in commands or "cancel" in commands:
            session.cancelled = session.cancelled or "cancel" in commands
            return self._session_status(session)
        if session.status != "active":
            return g.google_error(400, f"The upload session is {session.status}.")
        fault = self.faults.take("upload")
        forced = await self.fault_response(fault)
        if forced is not None:
            return forced
        chunk = await request.read()
        offset = int(request.headers.get("X-Goog-Upload-Offset", "-1"))
        if offset != len(session.received):
            return self._session_status(session, status=400)
        finalize = "finalize" in commands
        if not finalize and len(chunk) % CHUNK_GRANULARITY:
            return g.google_error(400, "Chunks must be a multiple of the granularity.")
        session.received.extend(chunk)
        if not finalize:
            return self._session_status(session)
        if len(session.received) != session.raw_size:
            return g.google_error(400, "The upload size does not match X-Goog-Upload-Raw-Size.")
        uploaded = self._store_bytes(bytes(session.received), session.file_name, fault)
        session.token = uploaded.token
        response = web.Response(text=uploaded.token, content_type="text/plain")
        response.headers["X-Goog-Upload-Status"] = "final"
        if fault is not None and fault.kind is FaultKind.DELAY:
            await asyncio.sleep(fault.seconds)
        return response

    @staticmethod
    def _session_status(session: ResumableSession, status: int = 200) -> web.Response:
        return web.Response(
            status=status,
            headers={
                "X-Goog-Upload-Status": session.status,
                "X-Goog-Upload-Size-Received": str(len(session.received)),
            },
        )
