"""API documents generated from the code's own pydantic models: OpenAPI for the HTTP
services (`openapi`), AsyncAPI for the events on the bus (`asyncapi`).

Each service lists its operations next to its routes; `tools/gen_docs.py` writes the
documents to docs/, and tests fail when the checked-in copies drift.
"""

from photobus_common.apidocs.asyncapi import asyncapi_document
from photobus_common.apidocs.openapi import (
    ErrorReply,
    HealthReply,
    Operation,
    ReadinessReply,
    Reply,
    health_operations,
    openapi_document,
    openapi_route,
    undocumented_routes,
)

__all__ = [
    "ErrorReply",
    "HealthReply",
    "Operation",
    "ReadinessReply",
    "Reply",
    "asyncapi_document",
    "health_operations",
    "openapi_document",
    "openapi_route",
    "undocumented_routes",
]
