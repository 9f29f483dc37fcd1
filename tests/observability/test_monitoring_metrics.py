"""Every metric the shipped alerts and dashboard use is served by a running PixelFox process."""

from __future__ import annotations

from tests.monitoring.promql import (
    PROMETHEUS_OWN,
    dashboard_exprs,
    exported_names,
    metric_names,
    rules,
)
from tests.observability.conftest import Live, scrape

# prometheus-node-exporter's own (the role option installs it on every host).
NODE_EXPORTER = frozenset(
    {"node_filesystem_avail_bytes", "node_filesystem_size_bytes", "node_cpu_seconds_total"}
)


def test_every_metric_of_the_alerts_and_the_dashboard_is_exported(live: Live) -> None:
    exported = set()
    for url in (live.app_metrics, live.node_metrics, live.worker_metrics):
        exported |= exported_names(scrape(url))
    used = set().union(*(metric_names(r["expr"]) for r in rules()))
    used |= set().union(*(metric_names(expr) for expr in dashboard_exprs()))

    assert used - exported - PROMETHEUS_OWN - NODE_EXPORTER == set()
    # The figures this issue added are among them, so the check has teeth.
    assert {
        "pixelfox_upload_api_up",
        "pixelfox_pool_reserve_bytes",
        "pixelfox_queue_oldest_job_age_seconds",
        "pixelfox_scrub_faults_found",
        "pixelfox_database_backup_last_success_timestamp_seconds",
        "pixelfox_tls_certificate_expiry_timestamp_seconds",
    } <= exported


def test_the_worker_reports_how_long_its_oldest_job_has_waited(live: Live) -> None:
    text = scrape(live.worker_metrics)
    queue = f"{live.redis_prefix}:node:s01"
    assert f'pixelfox_queue_oldest_job_age_seconds{{queue="{queue}"}}' in text
