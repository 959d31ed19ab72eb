"""`GET /openapi.json`: the upload API, described by hand (its bodies are multipart streams)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

_ERROR = {
    "description": 'JSON {"error": code, "detail": what happened and what to do}',
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_UNAVAILABLE = {
    **_ERROR,
    "description": "RabbitMQ or the blob store is down; retry after Retry-After",
}
_OPTIONS: dict[str, Any] = {
    "title": {"type": "string"},
    "description": {"type": "string"},
    "tags": {"description": "comma list (form) or list of strings (JSON)"},
    "album": {"type": "string"},
    "destinations": {"description": "imgur, flickr, gphotos (default: all)"},
    "skip": {"description": "destinations to leave out"},
    "keep_location": {"type": "boolean", "default": False},
}
_MULTIPART = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "properties": {
                "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                **{k: {"type": "string"} for k in _OPTIONS},
            },
        }
    }
}
_URLS = {
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["urls"],
            "properties": {"urls": {"type": "array", "items": {"type": "string"}}, **_OPTIONS},
        }
    }
}
_JOB = {
    "description": "Accepted: every original stored, every event confirmed",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}},
}
_FAILURES = {"400": _ERROR, "413": _ERROR, "415": _ERROR, "503": _UNAVAILABLE}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "photobus ingest", "version": "1"},
    "paths": {
        "/v1/jobs": {
            "post": {
                "summary": "Upload files (multipart) or URLs (JSON) as one job",
                "requestBody": {"required": True, "content": {**_MULTIPART, **_URLS}},
                "responses": {"202": _JOB, **_FAILURES},
            }
        },
        "/v1/images/upload": {
            "post": {
                "summary": 'Seed-compatible: {"urls": [...]} → {"job_id"}',
                "requestBody": {"required": True, "content": _URLS},
                "responses": {"200": {"description": "The job's id"}, **_FAILURES},
            }
        },
        "/photos/": {
            "post": {
                "summary": "Seed-compatible: multipart photo_file, tags, skip",
                "requestBody": {"required": True, "content": _MULTIPART},
                "responses": {"202": _JOB, **_FAILURES},
            }
        },
    },
    "components": {
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "detail"],
                "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
            },
            "Job": {
                "type": "object",
                "required": ["job_id", "status_url", "items"],
                "properties": {
                    "job_id": {"type": "string"},
                    "status_url": {"type": "string"},
                    "items": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["item_id"],
                            "properties": {
                                "item_id": {"type": "string"},
                                "filename": {"type": ["string", "null"]},
                                "url": {"type": "string"},
                                "photo_id": {"type": "string"},
                                "duplicate": {"type": "boolean"},
                                "rejected": {
                                    "type": "object",
                                    "properties": {
                                        "reason": {"type": "string"},
                                        "detail": {"type": "string"},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(SPEC)
