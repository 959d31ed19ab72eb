"""Uploads into an S3 blob store (moto's real HTTP server), and what happens when it fails."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from photobus_common.blobs import S3BlobStore
from photobus_common.blobs.s3 import MULTIPART_THRESHOLD, PART_SIZE
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


async def test_a_large_upload_goes_up_in_parts_and_leaves_no_staging_object(
    settings: IngestSettings, tap: EventTap, bucket: S3BlobStore, s3_server: S3Server
) -> None:
    data = PENTAX.read_bytes() + os.urandom(MULTIPART_THRESHOLD + PART_SIZE)
    store = S3BlobStore(bucket.bucket, endpoint_url=s3_server.endpoint_url)
    client = await start_client(create_app(settings, blobs=store))
    try:
        body = raw_multipart([("file", "big.jpg", data)])
        response = await client.post(
            "/v1/jobs", data=io.BytesIO(body), headers={"Content-Type": MULTIPART}
        )
        assert response.status == 202, await response.text()
        photo_id = (await response.json())["items"][0]["photo_id"]
        assert photo_id == hashlib.sha256(data).hexdigest()
        assert await bucket.get_bytes(f"originals/{photo_id}") == data
        info = await bucket.stat(f"originals/{photo_id}")
        assert info is not None and info.content_type == "image/jpeg"
        listed = await bucket.client.list_objects_v2(Bucket=bucket.bucket)
        assert [o["Key"] for o in listed["Contents"]] == [f"originals/{photo_id}"]
        uploads = await bucket.client.list_multipart_uploads(Bucket=bucket.bucket)
        assert uploads.get("Uploads", []) == []
    finally:
        await client.close()
