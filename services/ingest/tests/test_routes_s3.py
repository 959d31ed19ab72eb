"""Uploads into an S3 blob store (moto's real HTTP server), and what happens when it fails."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import AsyncIterator

import pytest
from photobus_common.blobs import S3BlobStore
from photobus_common.events import PhotoReceived
from photobus_ingest.app import create_app
from photobus_ingest.config import IngestSettings

from tests.support.s3 import S3Server

from .conftest import CORPUS, MULTIPART, EventTap, raw_multipart, start_client

PENTAX = CORPUS / "camera" / "Pentax_K10D.jpg"


@pytest.fixture
async def bucket(s3_server: S3Server) -> AsyncIterator[S3BlobStore]:
    store = S3BlobStore(f"ingest-{uuid.uuid4().hex[:12]}", endpoint_url=s3_server.endpoint_url)
    await store.start()
    await store.create_bucket()
    yield store
    await store.close()


async def test_an_upload_lands_in_s3_byte_identical(
    settings: IngestSettings, tap: EventTap, bucket: S3BlobStore, s3_server: S3Server
) -> None:
    store = S3BlobStore(bucket.bucket, endpoint_url=s3_server.endpoint_url)
    client = await start_client(create_app(settings, blobs=store))
    try:
        body = raw_multipart([("photo_file", "pentax.jpg", PENTAX.read_bytes())])
        response = await client.post(
            "/v1/jobs", data=io.BytesIO(body), headers={"Content-Type": MULTIPART}
        )
        assert response.status == 202
        photo_id = (await response.json())["items"][0]["photo_id"]
        assert photo_id == hashlib.sha256(PENTAX.read_bytes()).hexdigest()
        assert await bucket.get_bytes(f"originals/{photo_id}") == PENTAX.read_bytes()
        events = await tap.wait_for(lambda es: len(es) == 2)
        received = events[1]
        assert isinstance(received, PhotoReceived)
        assert received.blob_key == f"originals/{photo_id}"
    finally:
        await client.close()


async def test_a_missing_bucket_is_503_and_no_event(
    settings: IngestSettings, tap: EventTap, s3_server: S3Server
) -> None:
    store = S3BlobStore(f"missing-{uuid.uuid4().hex[:12]}", endpoint_url=s3_server.endpoint_url)
    client = await start_client(create_app(settings, blobs=store))
    try:
        body = raw_multipart([("file", "pentax.jpg", PENTAX.read_bytes())])
        response = await client.post(
            "/v1/jobs", data=io.BytesIO(body), headers={"Content-Type": MULTIPART}
        )
        assert response.status == 503
        assert response.headers["Retry-After"] == "5"
        assert (await response.json())["error"] == "blob_store_unavailable"
        assert tap.events == []
    finally:
        await client.close()
