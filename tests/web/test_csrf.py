"""CSRF: every unsafe route of the app refuses a cookie-borne request without the token.

The invariant test walks ``app.url_map``: each route with an unsafe method
either rejects a logged-in browser's request that lacks the token (403
CSRF_FAILED, before the view runs) and lets the same request through once the
token is added, or its view says why it is exempt.
"""

from __future__ import annotations

import json

import pytest
from werkzeug.routing import Rule

from pixelfox_app.auth.tokens import create_api_token
from pixelfox_app.web.csrf import SAFE_METHODS, exemption
from tests.web.conftest import Web, sample_path

JSON = {"Accept": "application/json"}


def _unsafe_routes(web: Web) -> list[tuple[Rule, str]]:
    return [
        (rule, method)
        for rule in web.app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - SAFE_METHODS)
    ]


async def _code(response) -> str | None:  # type: ignore[no-untyped-def]
    try:
        body = json.loads(await response.get_data(as_text=True))
    except ValueError:
        return None  # an HTML page or a redirect: not our JSON error
    return body.get("error", {}).get("code") if isinstance(body, dict) else None


# An Authorization header that proves nobody must not switch the check off:
# the cookie is what authenticates such a request.
NOT_A_CREDENTIAL = [
    pytest.param({}, id="cookie-only"),
    pytest.param({"Authorization": "Basic cm9vdDpzZWNyZXQ="}, id="basic"),
    pytest.param({"Authorization": "Bearer junk"}, id="bearer-junk"),
    pytest.param({"Authorization": "Node s01:wrong-credential"}, id="wrong-node-credential"),
]


@pytest.mark.parametrize("extra", NOT_A_CREDENTIAL)
async def test_every_unsafe_route_enforces_csrf_or_says_why_it_is_exempt(
    web: Web, extra: dict[str, str]
):
    await web.admin()
    token = await web.csrf()
    routes = _unsafe_routes(web)
    assert len(routes) >= 10, "the walk found suspiciously few routes"
    unchecked = []
    for rule, method in routes:
        view = web.app.view_functions[rule.endpoint]
        reason = exemption(view)
        if reason is not None:
            assert reason.strip(), f"{rule.rule}: exempt without a reason"
            continue
        path = sample_path(rule)
        refused = await web.client.open(path, method=method, headers={**JSON, **extra}, json={})
        if refused.status_code != 403 or await _code(refused) != "CSRF_FAILED":
            unchecked.append(f"{method} {rule.rule} -> {refused.status_code}")
            continue
        allowed = await web.client.open(
            path, method=method, headers={**JSON, **extra, "X-CSRF-Token": token}, json={}
        )
        assert await _code(allowed) != "CSRF_FAILED", f"{method} {rule.rule} refuses a good token"
        # The probe may have changed the session (a logout does): take the current token.
        token = await web.csrf()
    assert unchecked == [], "unsafe routes without CSRF protection or exemption"


async def test_a_web_form_without_cookies_is_refused_too(web: Web):
    # A forged login needs no session of the victim; the form still needs its token.
    await web.user("ada")
    response = await web.client.post(
        "/login", form={"username": "ada", "password": "x"}, headers=JSON
    )
    assert response.status_code == 403
    assert await _code(response) == "CSRF_FAILED"


async def test_a_stale_form_in_a_browser_gets_a_page_that_says_to_reload(web: Web):
    await web.admin()
    response = await web.client.post(
        "/admin/settings", form={"csrf_token": "forged"}, headers={"Accept": "text/html"}
    )
    assert response.status_code == 403
    assert "reload the page" in (await response.get_data(as_text=True))


async def test_the_token_may_come_as_a_form_field_of_a_urlencoded_form(web: Web):
    await web.admin()
    response = await web.client.post(
        "/admin/settings",
        form={"csrf_token": await web.csrf(), "direct_upload": "on"},
    )
    assert response.status_code == 200


async def test_a_token_from_before_the_login_is_worthless_after_it(web: Web):
    await web.user("ada", is_admin=True)
    before = await web.csrf()
    await web.login("ada")
    response = await web.client.post(
        "/admin/settings", form={}, headers={**JSON, "X-CSRF-Token": before}
    )
    assert response.status_code == 403
    assert await _code(response) == "CSRF_FAILED"


async def test_a_token_of_another_user_is_refused(web: Web):
    await web.user("ada", is_admin=True)
    await web.user("bob", is_admin=True)
    await web.login("ada")
    adas = await web.csrf()
    await web.login("bob")  # same browser, new login
    response = await web.client.post(
        "/admin/settings", form={}, headers={**JSON, "X-CSRF-Token": adas}
    )
    assert await _code(response) == "CSRF_FAILED"


async def test_requests_with_an_api_token_are_not_asked_for_a_csrf_token(web: Web):
    user = await web.user("ada")
    token = await create_api_token(user, "script")
    response = await web.client.post(
        "/api/v1/upload/sessions",
        json={"file_size": 10, "filename": "a.jpg", "content_type": "image/jpeg"},
        headers={**JSON, "Authorization": f"Bearer {token}"},
    )
    assert await _code(response) != "CSRF_FAILED"


async def test_an_api_caller_without_the_header_is_told_what_to_send(web: Web):
    await web.admin()
    response = await web.client.post("/api/v1/upload/sessions", json={"file_size": 10})
    body = await response.get_json()
    assert response.status_code == 403
    assert body["error"]["code"] == "CSRF_FAILED"
    assert "reload the page" not in body["error"]["message"]
    assert "X-CSRF-Token" in body["error"]["message"]
    assert "GET /api/v1/csrf" in body["error"]["message"]
    assert "API token" in body["error"]["message"]
    assert body["error"]["details"] == {"header": "X-CSRF-Token", "token_url": "/api/v1/csrf"}


async def test_a_bad_api_token_is_refused_and_the_cookie_does_not_stand_in(web: Web):
    await web.admin()
    response = await web.client.post(
        "/admin/settings",
        form={},
        headers={**JSON, "Authorization": "Bearer pf_revoked-or-mistyped-token"},
    )
    assert response.status_code == 401
    assert await _code(response) == "AUTH_REQUIRED"
