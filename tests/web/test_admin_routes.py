"""Admin routes refuse everyone else, proven by asking: every admin route and method, as a user.

The walk reads ``app.url_map``; a route counts as an admin route by its path
(``/admin…``, ``/api/v1/admin/…``) or by its declared policy, so a new admin
route is walked without anyone listing it, and one whose decorator is missing
fails here rather than opening up.
"""

from __future__ import annotations

from werkzeug.routing import Rule

from tests.web.conftest import Web, sample_path

JSON = {"Accept": "application/json"}

ADMIN_PATHS = ("/admin", "/api/v1/admin/")
NEVER_SENT = {"HEAD", "OPTIONS"}  # answered by the framework from GET / the route list


def _admin_routes(web: Web) -> list[tuple[Rule, str]]:
    pairs = []
    for rule in web.app.url_map.iter_rules():
        view = web.app.view_functions[rule.endpoint]
        by_path = rule.rule.startswith(ADMIN_PATHS)
        if by_path or getattr(view, "auth_policy", None) == "admin":
            pairs += [(rule, m) for m in sorted((rule.methods or set()) - NEVER_SENT)]
    return pairs


async def test_a_plain_user_is_refused_on_every_admin_route_and_method(web: Web):
    await web.user("ada")
    assert (await web.login("ada")).status_code == 302
    token = await web.csrf()
    pairs = _admin_routes(web)
    # 28 pairs today (pages, the moves API, the users API); fewer means the walk broke.
    assert len(pairs) >= 25, pairs
    answered = {}
    for rule, method in pairs:
        response = await web.client.open(
            sample_path(rule),
            method=method,
            headers={**JSON, "X-CSRF-Token": token},
            json={},
        )
        answered[f"{method} {rule.rule}"] = response.status_code
    assert {k: v for k, v in answered.items() if v != 403} == {}


async def test_nobody_logged_in_is_sent_away_from_every_admin_route(web: Web):
    for rule, method in _admin_routes(web):
        response = await web.client.open(sample_path(rule), method=method, headers=JSON, json={})
        # A page sends the browser to the login form, the API answers 401, and
        # a page's form without a session is refused by the CSRF check first.
        assert response.status_code in (302, 401, 403), f"{method} {rule.rule}"
