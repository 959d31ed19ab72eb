"""The Grafana dashboard only charts metrics the code really exports."""

from __future__ import annotations

import json
import re

from tests.deploy.validators import REPO

DASHBOARD = REPO / "deploy" / "grafana" / "photobus.json"
SOURCES = [REPO / "libs" / "common" / "src", *(REPO / "services").glob("*/src")]
DEFINED = re.compile(r'(?:Counter|Gauge|Histogram|Summary)\(\s*"(photobus_\w+)"')
USED = re.compile(r"\bphotobus_\w+")
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def exported_metrics() -> set[str]:
    names: set[str] = set()
    for root in SOURCES:
        for path in root.rglob("*.py"):
            names |= set(DEFINED.findall(path.read_text()))
    return names


def base_name(series: str) -> str:
    for suffix in SUFFIXES:
        if series.endswith(suffix) and suffix != "_total":
            return series.removesuffix(suffix)
    return series


def test_every_panel_queries_an_exported_metric() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_metrics()
    assert {
        "photobus_messages_total",
        "photobus_in_flight",
        "photobus_thumbnail_seconds",
    } <= exported
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used = {base_name(name) for name in USED.findall(target["expr"])}
            assert used, target["expr"]
            assert used <= exported, (panel["title"], used - exported)
