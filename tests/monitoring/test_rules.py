"""The alerting rules and dashboard in docs/monitoring: valid, each alert fires on its condition."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.monitoring.promql import (
    DASHBOARD,
    RULES,
    RULES_TESTS,
    dashboard,
    dashboard_exprs,
    metric_names,
    rules,
)

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing: scripts/install-system-deps test installs it"
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    # The timeout only stops a hung promtool: its rule tests take about 18 s of CPU,
    # which is well over a minute on a busy machine.
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=600, cwd=RULES_TESTS.parent
    )


@needs_promtool
def test_the_rules_pass_promtool_check() -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout


@needs_promtool
def test_the_example_prometheus_config_loads_the_rules() -> None:
    checked = promtool("check", "config", str(RULES.with_name("prometheus.example.yml")))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
def test_every_alert_fires_in_the_rule_unit_tests() -> None:
    result = promtool("test", "rules", str(RULES_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr

    cases = yaml.safe_load(RULES_TESTS.read_text())["tests"]
    firing = {
        case["alertname"]
        for test in cases
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    quiet = {
        case["alertname"]
        for test in cases
        for case in test["alert_rule_test"]
        if not case.get("exp_alerts")
    }
    alerts = {rule["alert"] for rule in rules()}
    # Each alert is shown firing, and shown quiet before its condition holds long enough.
    assert alerts - firing == set()
    assert alerts - quiet == set()


def test_every_alert_has_a_severity_and_a_summary() -> None:
    for rule in rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_the_dashboard_is_grafana_json_with_a_query_per_panel() -> None:
    board = dashboard()
    assert board["uid"] and board["title"] == "PixelFox"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert metric_names(target["expr"]), (panel["title"], target["expr"])
    assert DASHBOARD.read_text().endswith("\n")


def test_the_dashboard_shows_every_figure_an_alert_watches() -> None:
    alerting = set().union(*(metric_names(rule["expr"]) for rule in rules()))
    shown = set().union(*(metric_names(expr) for expr in dashboard_exprs()))
    assert alerting - shown == set()


def test_metric_names_are_read_out_of_promql() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (job, le) (rate(pixelfox_x_bucket{a="b"}[5m])))'
        " and on (pool) time() - pixelfox_y > 26 * 3600"
    )
    assert metric_names(expr) == {"pixelfox_x_bucket", "pixelfox_y"}
