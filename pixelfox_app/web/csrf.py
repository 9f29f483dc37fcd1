"""CSRF protection for every unsafe request a browser can be tricked into sending.

The rule (one ``before_request``, so no route can forget it):

* safe methods (GET, HEAD, OPTIONS, TRACE) are never checked;
* a request that proves its caller with a valid personal ``pf_`` API token or
  a valid node credential is not checked: a cross-site page cannot set that
  header without a CORS preflight, which the app never grants, and the cookie
  plays no part in it. An invalid ``pf_`` token is refused (401 AUTH_REQUIRED);
  any other ``Authorization`` value (``Basic …``, ``Bearer junk``, an upload
  token on the proxy path) identifies nobody, so the cookie decides who is
  asking and the request is checked like any cookie request;
* a view marked with :func:`csrf_exempt` is not checked, and says why;
* everything else is checked when it carries a cookie (the browser session) or
  targets a page of the web UI (so a login form cannot be forged either).

The token is ``HMAC(secret_key, nonce | login)``: the nonce lives in the
signed Flask-style session cookie, the login is the quart-auth session. A
token therefore dies with the session it was issued for, and a cookie planted
by a sibling host (``s01.…`` could set a cookie for the parent domain) is
useless without the secret. Pages carry it in ``<meta name="csrf-token">``,
htmx sends it as the ``X-CSRF-Token`` header (``hx-headers`` on ``<body>``),
plain forms as the ``csrf_token`` field, and scripts that log in with a cookie
fetch it from ``GET /api/v1/csrf``. An API route (``/api/…``) that refuses a
request says exactly that in its message, with the header's name and the URL
in ``details``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from quart import Quart, current_app, request, session

from pixelfox_protocol.errors import APIError

from ..auth.current import proven_by_credential
from ..auth.login import session_key
from .render import error_page, is_htmx

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
HEADER = "X-CSRF-Token"
FORM_FIELD = "csrf_token"
SESSION_COOKIE = "pixelfox_csrf"
CSRF_ENDPOINT = "/api/v1/csrf"
API_MESSAGE = (
    f"This call rides on a session cookie, so it needs the {HEADER} header: get its "
    f"value from GET {CSRF_ENDPOINT} (with the same cookies), or authenticate with a "
    "personal API token instead (Authorization: Bearer pf_…)."
)
_NONCE = "csrf_nonce"
# Blueprints whose unsafe requests are checked even without a cookie.
WEB_BLUEPRINTS: set[str] = set()

F = TypeVar("F", bound=Callable[..., Any])


def csrf_exempt(reason: str) -> Callable[[F], F]:
    """Exempt a view from the check; the reason shows in the route invariant test."""
    if not reason.strip():
        raise ValueError("a CSRF exemption needs a reason")

    def mark(view: F) -> F:
        view.csrf_exempt = reason  # type: ignore[attr-defined]
        return view

    return mark


def exemption(view: Any) -> str | None:
    """Why ``view`` is exempt, or None when it is checked."""
    return getattr(view, "csrf_exempt", None)


def _sign(nonce: str, login_id: str) -> str:
    key = current_app.secret_key
    if not key:
        raise APIError("CSRF_FAILED", "Forms are disabled: PIXELFOX_SECRET_KEY is not set.")
    secret = key if isinstance(key, bytes) else str(key).encode()
    digest = hmac.new(secret, f"csrf|{nonce}|{login_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def generate_token() -> str:
    """The CSRF token of the current browser session (created on first use)."""
    nonce = session.get(_NONCE)
    if not isinstance(nonce, str) or not nonce:
        nonce = secrets.token_urlsafe(24)
        session[_NONCE] = nonce
    return _sign(nonce, session_key())


async def _needs_check() -> bool:
    if request.method in SAFE_METHODS or request.endpoint is None:
        return False
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and exemption(view):
        return False
    if request.headers.get("Authorization") and await proven_by_credential():
        return False
    return bool(request.cookies) or request.blueprint in WEB_BLUEPRINTS


async def _presented_token() -> str:
    token = request.headers.get(HEADER, "")
    # Only url-encoded forms are read here: parsing a multipart upload in a
    # before_request would swallow the whole file before anything is checked.
    if not token and request.mimetype == "application/x-www-form-urlencoded":
        token = (await request.form).get(FORM_FIELD, "")
    return token


async def check() -> None:
    """Refuse the current request with CSRF_FAILED unless it passes the rule above."""
    if not await _needs_check():
        return
    presented = await _presented_token()
    nonce = session.get(_NONCE)
    valid = bool(presented) and isinstance(nonce, str) and bool(nonce)
    if not valid or not hmac.compare_digest(presented, _sign(str(nonce), session_key())):
        raise _refusal()


def _refusal() -> APIError:
    if request.path.startswith("/api/"):
        # A script, not a stale page: say what to send instead of "reload the page".
        return APIError(
            "CSRF_FAILED", API_MESSAGE, details={"header": HEADER, "token_url": CSRF_ENDPOINT}
        )
    return APIError("CSRF_FAILED")


def install(app: Quart) -> None:
    """Configure the session cookie that holds the nonce and install the check."""
    secure = app.config["PIXELFOX"].public_domain.startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
    )

    async def _before() -> Any:
        try:
            await check()
        except APIError as error:
            # A stale page form gets a page that says what to do; htmx and
            # scripts get the JSON error (htmx shows its message in a toast).
            page = request.blueprint in WEB_BLUEPRINTS and not is_htmx() and _accepts_html()
            if error.code == "CSRF_FAILED" and page:
                return await error_page(error.status, "Form expired", error.message)
            raise
        return None

    app.before_request(_before)


def _accepts_html() -> bool:
    accept = request.accept_mimetypes
    return accept.quality("text/html") > accept.quality("application/json")
