"""What ingest answers, as models: the routes build their replies through these, and the
OpenAPI document (photobus_ingest.apidoc) is generated from the same classes."""

from __future__ import annotations

from typing import Annotated, Literal

from photobus_common.events import Destination
from pydantic import BaseModel, Field

# The comma-list spellings the option parser takes (routes/options.py), e.g. "imgur, flickr".
_NAMES = r"(imgur|flickr|gphotos{extra})"
_LIST = r"^\s*{n}?(\s*,\s*{n})*\s*,?\s*$"
DESTINATION_LIST = _LIST.format(n=_NAMES.format(extra=""))
SKIP_LIST = _LIST.format(n=_NAMES.format(extra="|s3"))
# "s3" is accepted in `skip` for the seed's clients: originals are always kept anyway.
Skippable = Literal["imgur", "flickr", "gphotos", "s3"]


class Rejection(BaseModel):
    """Why an item was refused (`not_an_image`, `too_large`, `bad_url`, …) and what to do."""

    reason: str
    detail: str


class ItemReply(BaseModel):
    """One file or URL of the job. A stored file has its `photo_id`; a refused one `rejected`."""

    item_id: str
    filename: str | None = None
    url: str | None = None
    photo_id: str | None = None
    duplicate: bool | None = None
    rejected: Rejection | None = None


class JobReply(BaseModel):
    """202: every original is stored and every event confirmed by RabbitMQ."""

    job_id: str
    status_url: str
    items: list[ItemReply]


class SeedJobReply(BaseModel):
    """The imgur seed's `POST /v1/images/upload` answer."""

    job_id: str


class UrlJobRequest(BaseModel):
    """`POST /v1/jobs` (JSON): photos to fetch, and what to do with them."""

    urls: list[str] = Field(min_length=1)
    title: str | None = None
    description: str | None = None
    tags: list[str] | str | None = Field(default=None, description="list, or a comma list")
    album: str | None = None
    destinations: list[Destination] | Annotated[str, Field(pattern=DESTINATION_LIST)] | None = (
        Field(default=None, description="imgur, flickr, gphotos (default: all of them)")
    )
    skip: list[Skippable] | Annotated[str, Field(pattern=SKIP_LIST)] | None = Field(
        default=None, description="destinations to leave out"
    )
    keep_location: bool = False


def job_reply(*, job_id: str, status_url: str, items: list[dict[str, object]]) -> dict[str, object]:
    """The reply body: validated by the model, and only the keys each item really has."""
    reply = JobReply(
        job_id=job_id, status_url=status_url, items=[ItemReply.model_validate(i) for i in items]
    )
    return reply.model_dump(mode="json", exclude_unset=True)
