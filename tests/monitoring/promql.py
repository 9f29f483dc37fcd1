"""What the shipped alerting rules and dashboard ask Prometheus for: their metric names."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs/monitoring/pixelfox-alerts.yml"
RULES_TESTS = Path(__file__).with_name("pixelfox-alerts.test.yml")
DASHBOARD = ROOT / "docs/monitoring/pixelfox-dashboard.json"

# Recorded by Prometheus itself for every scrape target, not exported by anyone.
PROMETHEUS_OWN = frozenset({"up"})
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords, labels left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = _GROUPING.sub("", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        if following.startswith("(") or match.group().lower() in _KEYWORDS:
            continue
        # A digit right before it: part of a number or a duration (26h, 1e3).
        if match.start() > 0 and text[match.start() - 1].isdigit():
            continue
        names.add(match.group())
    return names


def exported_names(exposition: str) -> set[str]:
    """Every sample name a Prometheus text exposition can carry, from its ``# TYPE`` lines."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("_count", "_sum", "_created", ""),
        "gauge": ("",),
        "untyped": ("",),
    }
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            if kind == "counter":  # the text format names a counter with its _total
                name = name.removesuffix("_total")
            names.update(name + suffix for suffix in suffixes.get(kind, ("",)))
    return names
