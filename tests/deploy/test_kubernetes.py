"""deploy/kubernetes: every kustomization renders with `kubectl kustomize`, every built-in
manifest is valid (strictly) for a current Kubernetes, and the declared CRD kinds (KEDA and
the operators', which kubernetes-validate has no schemas for) are checked here by hand."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.validators import CRD_KINDS, REPO, kubernetes_problems, kustomize

KUBERNETES = REPO / "deploy" / "kubernetes"
KUSTOMIZATIONS = sorted(p.parent for p in KUBERNETES.rglob("kustomization.yaml"))
SERVICES = {
    "ingest": 8080,
    "status": 8081,
    "thumbnailer": 8090,
    "publisher-imgur": 8091,
    "publisher-flickr": 8092,
    "publisher-gphotos": 8093,
}
QUEUE_SCALED = ["thumbnailer", "publisher-imgur", "publisher-flickr", "publisher-gphotos"]

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def rendered() -> dict[Path, list[Manifest]]:
    return {directory: kustomize(directory) for directory in KUSTOMIZATIONS}


def of_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def test_the_base_overlay_and_operator_examples_are_all_found() -> None:
    names = {str(d.relative_to(KUBERNETES)) for d in KUSTOMIZATIONS}
    assert {"base", "overlays/example", "operators"} <= names


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda d: str(d.relative_to(KUBERNETES)))
def test_every_manifest_is_valid_for_current_kubernetes(
    directory: Path, rendered: dict[Path, list[Manifest]]
) -> None:
    manifests = rendered[directory]
    assert manifests
    assert kubernetes_problems(manifests) == []


def test_each_service_runs_probed_limited_and_locked_down(
    rendered: dict[Path, list[Manifest]],
) -> None:
    base = rendered[KUBERNETES / "base"]
    deployments = of_kind(base, "Deployment")
    assert set(deployments) == set(SERVICES)
    for name, port in SERVICES.items():
        pod = deployments[name]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["ports"] == [{"name": "http", "containerPort": port}], name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert {"cpu", "memory"} <= container["resources"]["limits"].keys(), name
        assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        locked = container["securityContext"]
        assert locked["readOnlyRootFilesystem"] is True, name
        assert locked["allowPrivilegeEscalation"] is False, name
        assert locked["capabilities"]["drop"] == ["ALL"], name
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/tmp", "/var/run/secrets/photobus"} <= mounts, name
        # Without API keys a service listens on 127.0.0.1 only, out of the probes' reach.
        secrets = next(v for v in pod["volumes"] if v["name"] == "secrets")["projected"]
        assert "photobus-api-keys" in {s["secret"]["name"] for s in secrets["sources"]}, name
    assert set(of_kind(base, "Service")) == set(SERVICES)
    assert set(of_kind(base, "PodDisruptionBudget")) == set(SERVICES)
    config = of_kind(base, "ConfigMap")["photobus-config"]["data"]
    assert config["PHOTOBUS_SECRETS_DIR"] == "/var/run/secrets/photobus"
    assert config["PHOTOBUS_BIND_HOST"] == "0.0.0.0"


def test_the_ingress_routes_like_the_gateway(rendered: dict[Path, list[Manifest]]) -> None:
    (ingress,) = of_kind(rendered[KUBERNETES / "base"], "Ingress").values()
    routes = {
        (p["path"], p["pathType"]): p["backend"]["service"]["name"]
        for p in ingress["spec"]["rules"][0]["http"]["paths"]
    }
    assert routes == {
        ("/v1/jobs", "Exact"): "ingest",
        ("/v1/images/upload", "Exact"): "ingest",
        ("/photos/", "Exact"): "ingest",
        ("/photos", "Exact"): "ingest",
        ("/", "Prefix"): "status",
    }


def test_keda_scales_the_thumbnailer_and_each_publisher_on_its_queue(
    rendered: dict[Path, list[Manifest]],
) -> None:
    base = rendered[KUBERNETES / "base"]
    scaled = of_kind(base, "ScaledObject")
    assert set(scaled) == set(QUEUE_SCALED)
    auth = set(of_kind(base, "TriggerAuthentication"))
    for name, scaled_object in scaled.items():
        spec = scaled_object["spec"]
        assert spec["scaleTargetRef"]["name"] == name
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "rabbitmq"
        assert trigger["metadata"]["queueName"] == f"photobus.{name}"
        assert trigger["metadata"]["mode"] == "QueueLength"
        assert trigger["authenticationRef"]["name"] in auth


def test_the_example_overlay_brings_the_operators_clusters(
    rendered: dict[Path, list[Manifest]],
) -> None:
    overlay = rendered[KUBERNETES / "overlays" / "example"]
    kinds = {(m["apiVersion"], m["kind"]) for m in overlay}
    assert kinds >= CRD_KINDS
    assert {m["metadata"].get("namespace") for m in overlay if m["kind"] != "Namespace"} == {
        "photobus"
    }
    database = of_kind(overlay, "Cluster")["photobus-db"]["spec"]["bootstrap"]["initdb"]
    assert database == {"database": "photobus", "owner": "photobus"}
    # The Deployments read CloudNativePG's `<cluster>-app` Secret for the database URL.
    status = of_kind(overlay, "Deployment")["status"]["spec"]["template"]["spec"]
    sources = next(v for v in status["volumes"] if v["name"] == "secrets")["projected"]["sources"]
    assert {"key": "uri", "path": "PHOTOBUS_DATABASE_URL"} in [
        item
        for s in sources
        if s["secret"]["name"] == "photobus-db-app"
        for item in s["secret"]["items"]
    ]


def test_a_broken_manifest_fails_validation(tmp_path: Path) -> None:
    """A kustomization over the base with a misspelt field and a wrong type is caught."""
    shutil.copytree(KUBERNETES / "base", tmp_path / "base")
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n- base\n- broken.yaml\n"
        "patches:\n- target: {kind: Deployment, name: status}\n"
        "  patch: |-\n    - {op: replace, path: /spec/replicas, value: two}\n"
    )
    (tmp_path / "broken.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: broken}\n"
        "spec:\n  selector: {app: x}\n  prots:\n  - port: 80\n"
    )
    problems = kubernetes_problems(kustomize(tmp_path))

    assert any(p.startswith("Service/broken") and "prots" in p for p in problems), problems
    assert any(p.startswith("Deployment/status") and "replicas" in p for p in problems), problems


def test_a_kustomization_that_cannot_render_fails(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n- missing.yaml\n")
    with pytest.raises(subprocess.CalledProcessError):
        kustomize(tmp_path)
