"""The validators of deploy/: the real tools from PyPI, each wrapped to return its problems.

No Docker engine is needed: Docker Compose's own parser (`config --quiet`), the Compose
specification schema, `kubectl kustomize` + kubernetes-validate, and hadolint.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]
import yaml
from kubernetes_validate.utils import SchemaNotFoundError  # type: ignore[import-untyped]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The package's `docker-compose` wrapper script exits 0 even when validation fails: call the binary.
COMPOSE = Path(str(importlib.util.find_spec("compose").origin)).parent / "docker-compose"  # type: ignore[union-attr]
KUBECTL = BIN / "kubectl"
HADOLINT = BIN / "hadolint"
COMPOSE_SCHEMA = REPO / "deploy" / "schemas" / "compose-spec.json"

# The Kubernetes version the manifests must be valid for: the newest kubernetes-validate knows.
KUBERNETES_VERSION = kubernetes_validate.utils.latest_version()

# Kinds from CRDs (KEDA, the RabbitMQ and CloudNativePG operators): kubernetes-validate has
# no schemas for them, so they are declared here and checked by the tests' own assertions.
# Any other kind without a schema is a problem, never silently skipped.
CRD_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("keda.sh/v1alpha1", "ScaledObject"),
        ("keda.sh/v1alpha1", "TriggerAuthentication"),
        ("rabbitmq.com/v1beta1", "RabbitmqCluster"),
        ("postgresql.cnpg.io/v1", "Cluster"),
    }
)

TIMEOUT = 60


def compose_config_errors(compose_file: Path, env_example: Path, workdir: Path) -> str:
    """`docker compose config --quiet` on a copy beside a `.env` made from the example;
    the tool's complaint, or '' when the file is valid."""
    shutil.copy(compose_file, workdir / "docker-compose.yml")
    shutil.copy(env_example, workdir / ".env")
    result = subprocess.run(
        [str(COMPOSE), "--project-directory", str(workdir), "-f", "docker-compose.yml",
         "config", "--quiet"],
        cwd=workdir, capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    return "" if result.returncode == 0 else (result.stderr or result.stdout or "failed")


def compose_schema_errors(document: Any) -> list[str]:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """The manifests `kubectl kustomize` renders (raises CalledProcessError if it cannot)."""
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(directory)],
        capture_output=True, text=True, timeout=TIMEOUT, check=True,
    )  # fmt: skip
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def kubernetes_problems(manifests: Iterable[dict[str, Any]]) -> list[str]:
    """Every way the manifests break their kinds' schemas (strict: unknown fields count)."""
    problems: list[str] = []
    for manifest in manifests:
        name = f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
        if (manifest.get("apiVersion"), manifest.get("kind")) in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            problems.append(f"{name}: {'/'.join(map(str, e.path))}: {e.message}")
        except SchemaNotFoundError:
            problems.append(f"{name}: no schema for {manifest.get('apiVersion')} in "
                            f"Kubernetes {KUBERNETES_VERSION} (and not a declared CRD kind)")  # fmt: skip
    return problems


def hadolint_findings(dockerfile: Path) -> str:
    """hadolint's findings ('' when clean)."""
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(dockerfile)],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    return "" if result.returncode == 0 else (result.stdout + result.stderr or "failed")
