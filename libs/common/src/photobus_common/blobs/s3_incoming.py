"""An original going up to S3 in parts while it still arrives, before its key is known.

Its key is its SHA-256, known once the last byte is in, but a multipart upload needs
its key when it starts. So past the multipart threshold, parts go to a staging key
(`incoming/<random>`) as the local file grows by a part, each read back from the
file (the page cache) when its turn comes; at the end the last part goes up, the
object is copied inside S3 to its key, and the staging object is deleted. A file that
stays under the threshold goes up in one request at the end, straight to its key.

An ingest killed mid-upload leaves an incomplete multipart upload or a staging object
under `incoming/`: a lifecycle rule on that prefix (AbortIncompleteMultipartUpload,
Expiration after a day) clears them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from photobus_common.blobs.base import BlobStoreUnavailable, Incoming
from photobus_common.blobs.s3 import MULTIPART_THRESHOLD, PARALLEL_PARTS, PART_SIZE, S3BlobStore

# Server-side copy from the staging key, in parts (CopyObject stops at 5 GiB).
COPY_PART_SIZE = 512 * 1024 * 1024

_FAILURES = (ClientError, BotoCoreError, OSError)


class S3Incoming(Incoming):
    def __init__(self, store: S3BlobStore, path: Path) -> None:
        self._store = store
        self._path = path
        self._size = 0
        self._staging = store.object_key(f"incoming/{uuid.uuid4().hex}")
        self._started: asyncio.Task[str] | None = None  # the upload id
        self._parts: list[asyncio.Task[dict[str, Any]]] = []
        self._limiter = asyncio.Semaphore(PARALLEL_PARTS)

    def grown(self, size: int) -> None:
        self._size = size
        if self._started is None:
            if size < MULTIPART_THRESHOLD:
                return
            self._started = asyncio.create_task(self._start())
        while (len(self._parts) + 1) * PART_SIZE <= size:  # another whole part is written
            self._parts.append(asyncio.create_task(self._send(len(self._parts) + 1, PART_SIZE)))

    async def commit(self, key: str, *, content_type: str) -> None:
        if self._started is None:  # small: one request, straight to its key
            await self._store.put_file(key, self._path, content_type=content_type, consume=True)
            return
        client, bucket = self._store.client, self._store.bucket
        try:
            rest = self._size - len(self._parts) * PART_SIZE
            if rest:
                self._parts.append(asyncio.create_task(self._send(len(self._parts) + 1, rest)))
            upload_id = await self._started
            parts = await asyncio.gather(*self._parts)
            await client.complete_multipart_upload(
                Bucket=bucket,
                Key=self._staging,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
            self._started = None  # the staging object exists: nothing to abort any more
            await self._copy(self._store.object_key(key), content_type)
        except _FAILURES as e:
            raise BlobStoreUnavailable(f"could not write {key}: {e}") from e
        finally:
            await self.abort()
            with contextlib.suppress(Exception):
                await client.delete_object(Bucket=bucket, Key=self._staging)
        await asyncio.to_thread(self._path.unlink, missing_ok=True)

    async def abort(self) -> None:
        started, self._started = self._started, None
        for part in self._parts:
            part.cancel()
        await asyncio.gather(*self._parts, return_exceptions=True)
        self._parts = []
        if started is None or started.cancelled():
            return
        with contextlib.suppress(Exception):  # not started, or the bucket is gone: no upload
            upload_id = await started
            await self._store.client.abort_multipart_upload(
                Bucket=self._store.bucket, Key=self._staging, UploadId=upload_id
            )

    async def _start(self) -> str:
        upload = await self._store.client.create_multipart_upload(
            Bucket=self._store.bucket, Key=self._staging
        )
        return str(upload["UploadId"])

    async def _send(self, number: int, size: int) -> dict[str, Any]:
        assert self._started is not None
        # Shielded: cancelling a part must not cancel the upload's start, shared by all.
        upload_id = await asyncio.shield(self._started)
        async with self._limiter:
            body = await asyncio.to_thread(_read, self._path, (number - 1) * PART_SIZE, size)
            part = await self._store.client.upload_part(
                Bucket=self._store.bucket,
                Key=self._staging,
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
            )
        return {"ETag": part["ETag"], "PartNumber": number}

    async def _copy(self, target: str, content_type: str) -> None:
        """The staging object to `target`, inside S3, in parts of COPY_PART_SIZE."""
        client, bucket = self._store.client, self._store.bucket
        upload = await client.create_multipart_upload(
            Bucket=bucket, Key=target, ContentType=content_type
        )
        upload_id = upload["UploadId"]
        limiter = asyncio.Semaphore(PARALLEL_PARTS)

        async def copy(number: int) -> dict[str, Any]:
            first = (number - 1) * COPY_PART_SIZE
            last = min(first + COPY_PART_SIZE, self._size) - 1
            async with limiter:
                part = await client.upload_part_copy(
                    Bucket=bucket,
                    Key=target,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": bucket, "Key": self._staging},
                    CopySourceRange=f"bytes={first}-{last}",
                )
            return {"ETag": part["CopyPartResult"]["ETag"], "PartNumber": number}

        try:
            count = (self._size + COPY_PART_SIZE - 1) // COPY_PART_SIZE
            parts = await asyncio.gather(*(copy(n) for n in range(1, count + 1)))
            await client.complete_multipart_upload(
                Bucket=bucket, Key=target, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await client.abort_multipart_upload(Bucket=bucket, Key=target, UploadId=upload_id)
            raise


def _read(path: Path, offset: int, size: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, size, offset)
    finally:
        os.close(fd)
