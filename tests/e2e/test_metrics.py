"""Every service's /metrics moves with the work it does: one upload through all six
services as processes (publishing to the fakes of Imgur, Flickr and Google Photos) shows
up in each one's counters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.publishing_stack import PUBLISHERS, SERVICES, PublishingStack, publishing_stack
from tests.support.client import CORPUS, upload, wait_job

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
async def pub(amqp_url: str, admin_pg_url: str) -> AsyncIterator[PublishingStack]:
    async with publishing_stack("metrics", amqp_url=amqp_url, admin_pg_url=admin_pg_url) as stack:
        yield stack


async def scrape(http: aiohttp.ClientSession, url: str) -> Samples:
    async with http.get(f"{url}/metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        text = await r.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_an_upload_moves_every_services_counters(
    pub: PublishingStack, http: aiohttp.ClientSession
) -> None:
    namespace = pub.stack.env["PHOTOBUS_NAMESPACE"]
    before = {name: await scrape(http, pub.url(name)) for name in SERVICES}
    photo = CORPUS / "orientation" / "Landscape_3.jpg"

    reply = await upload(
        http, pub.url("ingest"), [(photo.name, photo.read_bytes())], tags="metrics"
    )
    job = await wait_job(http, pub.url("status"), reply["job_id"], timeout=120)
    assert job["status"] == "completed", job
    after = {name: await scrape(http, pub.url(name)) for name in SERVICES}

    def moved(service: str, name: str, **labels: str) -> float:
        return value(after[service], name, **labels) - value(before[service], name, **labels)

    # ingest: the request (by route and status), and the events it published, confirmed.
    assert (
        moved(
            "ingest", "photobus_http_requests_total", route="/v1/jobs", method="POST", status="202"
        )
        == 1
    )
    assert (
        moved("ingest", "photobus_http_request_seconds_count", route="/v1/jobs", method="POST") == 1
    )
    assert (
        moved("ingest", "photobus_messages_total", queue="-", outcome="published:job.accepted") == 1
    )
    assert (
        moved("ingest", "photobus_messages_total", queue="-", outcome="published:photo.received")
        == 1
    )
    # thumbnailer: the message it consumed and acked, the time it took, nothing left in flight.
    thumbnailer_queue = f"{namespace}.thumbnailer"
    assert (
        moved("thumbnailer", "photobus_messages_total", queue=thumbnailer_queue, outcome="acked")
        >= 1
    )
    assert moved("thumbnailer", "photobus_thumbnail_seconds_count") == 1
    assert (
        moved(
            "thumbnailer",
            "photobus_messages_total",
            queue="-",
            outcome="published:thumbnail.created",
        )
        == 1
    )
    assert ("photobus_in_flight", frozenset({("kind", thumbnailer_queue)})) in after["thumbnailer"]
    assert value(after["thumbnailer"], "photobus_in_flight", kind=thumbnailer_queue) == 0
    # each publisher: the attempt, its latency and its outcome, by destination.
    for destination in PUBLISHERS:
        service = f"publisher-{destination}"
        assert (
            moved(
                service, "photobus_messages_total", queue=f"{namespace}.{service}", outcome="acked"
            )
            >= 1
        ), service
        assert (
            moved(service, "photobus_publish_attempts_total", destination=destination, result="ok")
            >= 1
        ), service
        assert moved(service, "photobus_publish_seconds_count", destination=destination) >= 1, (
            service
        )
        assert (
            moved(
                service,
                "photobus_publish_outcomes_total",
                destination=destination,
                outcome="succeeded",
            )
            == 1
        ), service
        assert (
            moved(
                service, "photobus_messages_total", queue="-", outcome="published:publish.succeeded"
            )
            == 1
        ), service
    # status: every event of the job folded (acked), and the job read over HTTP.
    assert (
        moved("status", "photobus_messages_total", queue=f"{namespace}.status", outcome="acked")
        >= 6
    )
    assert (
        moved(
            "status",
            "photobus_http_requests_total",
            route="/v1/jobs/{job_id}",
            method="GET",
            status="200",
        )
        >= 1
    )
