"""The Procfile (`make run`) is the list of services: docker compose and Kubernetes run
exactly those, with the same commands, so a new service cannot be left out of either."""

from __future__ import annotations

import yaml

from tests.deploy.validators import REPO, kustomize


def procfile() -> dict[str, list[str]]:
    entries = (
        line.split(":", 1) for line in (REPO / "Procfile").read_text().splitlines() if ":" in line
    )
    return {name.strip(): command.split() for name, command in entries}


def test_compose_runs_every_service_of_the_procfile() -> None:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    photobus = {
        name: service["command"]
        for name, service in services.items()
        if service.get("command", [None])[:2] == ["python", "-m"]
    }
    assert photobus == procfile()


def test_kubernetes_runs_every_service_of_the_procfile() -> None:
    manifests = kustomize(REPO / "deploy" / "kubernetes" / "base")
    deployments = {
        m["metadata"]["name"]: m["spec"]["template"]["spec"]["containers"][0]["command"]
        for m in manifests
        if m["kind"] == "Deployment"
    }
    assert deployments == procfile()
