"""Blobs in any S3-compatible bucket, through aiobotocore."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from photobus_common.blobs.base import (
    CHUNK,
    BlobInfo,
    BlobNotFound,
    BlobStore,
    BlobStoreUnavailable,
    Incoming,
)

PART_SIZE = 8 * 1024 * 1024  # S3 wants every part but the last to be at least 5 MiB
MULTIPART_THRESHOLD = 16 * 1024 * 1024
PARALLEL_PARTS = 4  # parts in memory at once, per file: PARALLEL_PARTS * PART_SIZE

_MISSING = {"404", "NoSuchKey", "NotFound"}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3BlobStore(BlobStore):
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
    ) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.endpoint_url = endpoint_url
        self.region = region
        self._stack = AsyncExitStack()
        self._client: Any = None

    def object_key(self, key: str) -> str:
        """The S3 object key of a blob key (under the store's prefix)."""
        return self.prefix + key

    @property
    def client(self) -> Any:
        """The aiobotocore S3 client (between `start` and `close`)."""
        return self._client

    def incoming(self, path: Path) -> Incoming:
        """Large files go up in parts while they are written (see s3_incoming)."""
        from photobus_common.blobs.s3_incoming import S3Incoming  # it builds on this module

        return S3Incoming(self, path)

    async def start(self) -> None:
        config = AioConfig(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        )
        session = get_session()
        self._client = await self._stack.enter_async_context(
            session.create_client(
                "s3", region_name=self.region, endpoint_url=self.endpoint_url, config=config
            )
        )

    async def close(self) -> None:
        await self._stack.aclose()

    async def create_bucket(self) -> None:
        """Create the bucket if missing (tests, `make run`); production buckets already exist."""
        try:
            if self.region == "us-east-1":
                await self._client.create_bucket(Bucket=self.bucket)
            else:
                await self._client.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": self.region},
                )
        except ClientError as e:
            if _code(e) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise

    async def check(self) -> None:
        try:
            await self._client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError, OSError) as e:
            raise BlobStoreUnavailable(f"S3 bucket {self.bucket} unavailable: {e}") from e

    async def put_bytes(self, key: str, data: bytes, *, content_type: str) -> None:
        try:
            await self._client.put_object(
                Bucket=self.bucket, Key=self.object_key(key), Body=data, ContentType=content_type
            )
        except (ClientError, BotoCoreError, OSError) as e:
            raise BlobStoreUnavailable(f"could not write {key}: {e}") from e

    async def put_file(
        self, key: str, path: Path, *, content_type: str, consume: bool = False
    ) -> None:
        size = (await asyncio.to_thread(path.stat)).st_size
        try:
            if size < MULTIPART_THRESHOLD:
                data = await asyncio.to_thread(path.read_bytes)
                await self._client.put_object(
                    Bucket=self.bucket,
                    Key=self.object_key(key),
                    Body=data,
                    ContentType=content_type,
                )
            else:
                await self._multipart(key, path, size, content_type)
        except (ClientError, BotoCoreError, OSError) as e:
            raise BlobStoreUnavailable(f"could not write {key}: {e}") from e
        if consume:
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def _multipart(self, key: str, path: Path, size: int, content_type: str) -> None:
        upload = await self._client.create_multipart_upload(
            Bucket=self.bucket, Key=self.object_key(key), ContentType=content_type
        )
        upload_id = upload["UploadId"]
        limiter = asyncio.Semaphore(PARALLEL_PARTS)

        def read_part(number: int) -> bytes:
            with path.open("rb") as f:
                f.seek((number - 1) * PART_SIZE)
                return f.read(PART_SIZE)

        async def send(number: int) -> dict[str, Any]:
            async with limiter:
                body = await asyncio.to_thread(read_part, number)
                part = await self._client.upload_part(
                    Bucket=self.bucket,
                    Key=self.object_key(key),
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=body,
                )
                return {"ETag": part["ETag"], "PartNumber": number}

        try:
            count = (size + PART_SIZE - 1) // PART_SIZE
            parts = await asyncio.gather(*(send(n) for n in range(1, count + 1)))
            await self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.object_key(key),
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            await self._client.abort_multipart_upload(
                Bucket=self.bucket, Key=self.object_key(key), UploadId=upload_id
            )
            raise

    async def get_bytes(self, key: str) -> bytes:
        try:
            response = await self._client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as e:
            if _code(e) in _MISSING:
                raise BlobNotFound(key) from e
            raise BlobStoreUnavailable(str(e)) from e
        async with response["Body"] as body:
            data: bytes = await body.read()
            return data

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        try:
            response = await self._client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as e:
            if _code(e) in _MISSING:
                raise BlobNotFound(key) from e
            raise BlobStoreUnavailable(str(e)) from e
        async with response["Body"] as body:
            while chunk := await body.read(CHUNK):
                yield chunk

    async def stat(self, key: str) -> BlobInfo | None:
        try:
            head = await self._client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as e:
            if _code(e) in _MISSING:
                return None
            raise BlobStoreUnavailable(str(e)) from e
        return BlobInfo(size=int(head["ContentLength"]), content_type=head.get("ContentType"))

    async def delete(self, key: str) -> None:
        await self._client.delete_object(Bucket=self.bucket, Key=self.object_key(key))
