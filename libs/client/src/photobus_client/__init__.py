"""The photobus Python client (`PhotobusClient`) and the `photobus` command."""

from photobus_client.client import PhotobusClient
from photobus_client.errors import ApiError, AuthError, PhotobusError, ServerBusy, ServerUnreachable
from photobus_client.models import (
    AcceptedItem,
    AcceptedJob,
    Destination,
    Job,
    JobItem,
    Photo,
    PhotoPage,
    UploadOptions,
)
from photobus_client.retry import RetryPolicy

__all__ = [
    "AcceptedItem",
    "AcceptedJob",
    "ApiError",
    "AuthError",
    "Destination",
    "Job",
    "JobItem",
    "Photo",
    "PhotoPage",
    "PhotobusClient",
    "PhotobusError",
    "RetryPolicy",
    "ServerBusy",
    "ServerUnreachable",
    "UploadOptions",
]
