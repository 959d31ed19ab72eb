"""Every Dockerfile in the repository is hadolint-clean, and the image is built as promised."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.validators import REPO, hadolint_findings

DOCKERFILES = sorted(
    p for p in REPO.rglob("Dockerfile*") if not ({".venv", ".git", "var"} & set(p.parts))
)


def test_there_is_a_dockerfile() -> None:
    assert REPO / "Dockerfile" in DOCKERFILES


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    assert hadolint_findings(dockerfile) == ""


def test_the_image_builds_from_the_lock_and_runs_unprivileged() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev" in text
    assert "COPY --from=builder --chown=root:root /app/.venv /app/.venv" in text
    final_stage = text.rsplit("\nFROM ", 1)[1]
    assert "USER 10001" in final_stage
    assert "uv" not in final_stage.replace("/app/.venv", "")  # no build tools in the final image
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert ".venv" in ignored and "!tests/pyproject.toml" in ignored


def test_a_dockerfile_with_known_mistakes_is_flagged(tmp_path: Path) -> None:
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python:latest\nRUN cd /app && pip install requests\n")
    findings = hadolint_findings(broken)

    assert "DL3007" in findings  # the `latest` tag
    assert "DL3003" in findings  # cd instead of WORKDIR
