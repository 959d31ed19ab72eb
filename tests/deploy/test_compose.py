"""docker-compose.yml: valid for Docker Compose itself and for the Compose specification,
and shaped so it runs (health-gated start, scalable workers, one origin on :8080)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from photobus_common.auth import ApiKeys

from tests.deploy.validators import REPO, compose_config_errors, compose_schema_errors

COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
PHOTOBUS = ["ingest", "status", "thumbnailer", "publisher-imgur", "publisher-flickr", "publisher-gphotos"]  # fmt: skip


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict)
    return document


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    assert compose_config_errors(COMPOSE_FILE, ENV_EXAMPLE, tmp_path) == ""


def test_the_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    assert compose_schema_errors(compose) == []


def test_every_service_waits_for_healthy_backing_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in PHOTOBUS:
        service = services[name]
        assert service["command"][:2] == ["python", "-m"], name
        assert "readyz" in " ".join(service["healthcheck"]["test"]), name
        assert service["environment"]["PHOTOBUS_BIND_HOST"] == "0.0.0.0", name
        depends = service["depends_on"]
        assert depends["rabbitmq"]["condition"] == "service_healthy", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["s3-init"]["condition"] == "service_completed_successfully", name
    for backing in ("rabbitmq", "postgres", "minio", "gateway"):
        assert "healthcheck" in services[backing], backing


def test_workers_scale_and_only_the_gateway_publishes_a_port(compose: dict[str, Any]) -> None:
    """`--scale publisher-flickr=3` needs no fixed container names or host ports."""
    services = compose["services"]
    for name in PHOTOBUS:
        assert "container_name" not in services[name], name
        assert "ports" not in services[name], name
    assert services["gateway"]["ports"] == ["127.0.0.1:${PHOTOBUS_HTTP_PORT:-8080}:8080"]


def test_credentials_come_from_the_env_file(compose: dict[str, Any]) -> None:
    text = COMPOSE_FILE.read_text()
    example = ENV_EXAMPLE.read_text()
    for variable in ("RABBITMQ_DEFAULT_PASS", "POSTGRES_PASSWORD", "AWS_SECRET_ACCESS_KEY",
                     "PHOTOBUS_API_KEYS", "PHOTOBUS_GATEWAY_API_KEY"):  # fmt: skip
        assert f"${{{variable}:?" in text, variable
        assert f"\n{variable}=" in example, variable
    assert "change-me" not in text


def test_the_example_gateway_key_is_one_the_services_accept() -> None:
    """Keyless requests through the gateway (the seeds' curl examples) carry its key."""
    env = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    keys = ApiKeys.parse(env["PHOTOBUS_API_KEYS"])
    assert keys.owner_of(env["PHOTOBUS_GATEWAY_API_KEY"]) == "gateway"
    conf = (REPO / "deploy" / "gateway" / "default.conf.template").read_text()
    assert '""      "${PHOTOBUS_GATEWAY_API_KEY}";' in conf
    assert "proxy_set_header X-API-Key $photobus_api_key;" in conf


def test_the_gateway_routes_uploads_to_ingest_and_the_rest_to_status() -> None:
    conf = (REPO / "deploy" / "gateway" / "default.conf.template").read_text()
    blocks = {block.split("{", 1)[0].strip(): block for block in conf.split("location ")[1:]}
    for upload in ("= /v1/jobs", "= /v1/images/upload", "= /photos/", "= /photos"):
        assert "proxy_pass http://photobus_ingest" in blocks[upload], upload
    assert "proxy_pass http://photobus_status" in blocks["/"]
    assert "proxy_buffering off" in blocks["/"]  # Server-Sent Events


def test_a_broken_compose_file_is_refused(tmp_path: Path) -> None:
    """The check above can fail: a service with a misspelt key and a bad port is caught."""
    broken = yaml.safe_load(COMPOSE_FILE.read_text())
    broken["services"]["ingest"]["healthchek"] = broken["services"]["ingest"].pop("healthcheck")
    broken["services"]["gateway"]["ports"] = ["eighty:8080"]
    broken_file = tmp_path / "broken.yml"
    broken_file.write_text(yaml.safe_dump(broken))
    workdir = tmp_path / "project"
    workdir.mkdir()

    assert "healthchek" in compose_config_errors(broken_file, ENV_EXAMPLE, workdir)
    assert any("healthchek" in e for e in compose_schema_errors(broken))
