"""Invariant: every route says who may call it; internal routes only take node credentials.

These tests read the declared policy; that admin routes really refuse everyone
else is proven by asking, in tests/web/test_admin_routes.py.
"""

from __future__ import annotations

from pixelfox_app import create_app
from pixelfox_app.config import AppSettings

# Framework routes: the OpenAPI document, its viewer and its assets, static files,
# the health check.
FRAMEWORK = {"static", "openapi", "api_docs.api_docs", "api_docs.static", "health.healthz"}
POLICIES = {"public", "login", "admin", "node"}


def _routes() -> list[tuple[str, str, str | None]]:
    app = create_app(AppSettings(metrics_bind="off"))
    return [
        (rule.rule, rule.endpoint, getattr(app.view_functions[rule.endpoint], "auth_policy", None))
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in FRAMEWORK
    ]


def test_every_route_declares_an_auth_policy():
    missing = [(rule, endpoint) for rule, endpoint, policy in _routes() if policy not in POLICIES]
    assert missing == []


def test_internal_routes_take_only_node_credentials():
    internal = [
        (rule, policy) for rule, _, policy in _routes() if rule.startswith("/api/internal/")
    ]
    assert internal, "the internal API is registered"
    assert {policy for _, policy in internal} == {"node"}


def test_upload_routes_require_a_user_except_the_token_carrying_proxy():
    policies = {rule: policy for rule, _, policy in _routes()}
    assert policies["/api/v1/upload/sessions"] == "login"
    assert policies["/api/v1/upload/server"] == "login"
    # Checks a login or an upload token itself (see pixelfox_app.upload.proxy).
    assert policies["/api/v1/upload"] == "public"


def test_the_file_redirect_is_open_to_anyone():
    # Old file URLs are followed by browsers and CDNs without a login; the route
    # counts each client against redirect_rate_limit_per_minute instead.
    policies = {rule: policy for rule, _, policy in _routes()}
    assert policies["/f/<pool_name>/<path:relative>"] == "public"
