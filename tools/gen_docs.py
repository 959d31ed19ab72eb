"""Write the API documents to docs/ from the code: `uv run python tools/gen_docs.py`.

docs/openapi-ingest.json and docs/openapi-status.json come from each service's operation
table and pydantic models (what `/openapi.json` serves); docs/asyncapi.json from the event
models and the broker topology. tests/deploy/test_api_documents.py fails when they drift.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[1] / "docs"


def documents() -> dict[str, Callable[[], dict[str, Any]]]:
    from photobus_common.apidocs import asyncapi_document
    from photobus_ingest.apidoc import openapi_spec as ingest_openapi
    from photobus_status.apidoc import openapi_spec as status_openapi

    return {
        "openapi-ingest.json": ingest_openapi,
        "openapi-status.json": status_openapi,
        "asyncapi.json": asyncapi_document,
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    for name, build in documents().items():
        (DOCS / name).write_text(render(build()))
        print(f"wrote docs/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
