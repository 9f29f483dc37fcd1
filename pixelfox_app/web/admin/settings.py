"""Operator settings: every knob of pixelfox_app.knobs, and the upload-token key status."""

from __future__ import annotations

from typing import Any

from quart import current_app, g, request

from ... import knobs
from ...upload.token_keys import key_status
from ..access import page_admin_required
from ..render import page
from .base import blueprint
from .pool_form import human_size, parse_size

# Knobs shown together, in this order; a knob missing here still shows under "Other".
GROUPS = (
    (
        "Uploads",
        (
            "direct_upload",
            "max_upload_bytes",
            "resumable_upload_bytes",
            "allowed_types",
            "max_pixels",
            "max_frames",
        ),
    ),
    (
        "Rate limits",
        (
            "upload_rate_limit_per_minute",
            "upload_user_rate_limit_per_minute",
            "redirect_rate_limit_per_minute",
        ),
    ),
    (
        "Accounts",
        (
            "signup_mode",
            "signup_quota_bytes",
            "signup_rate_limit_per_minute",
            "guest_uploads",
            "guest_max_upload_bytes",
            "guest_rate_limit_per_minute",
        ),
    ),
    ("Placement", ("placement_strategy",)),
    ("Trash", ("trash_retention_days",)),
    ("Copies", ("repair_jobs_per_node",)),
)


def key_warnings() -> list[str]:
    """Missing or broken keys (upload tokens, links, sessions), as the app logs them at start."""
    return key_status(current_app.config["PIXELFOX"])


def grouped() -> list[tuple[str, list[knobs.Knob]]]:
    listed = {key for _, keys in GROUPS for key in keys}
    groups = [(title, [knobs.KNOBS[k] for k in keys if k in knobs.KNOBS]) for title, keys in GROUPS]
    others = [k for key, k in knobs.KNOBS.items() if key not in listed]
    if others:
        groups.append(("Other", others))
    return groups


def display(knob: knobs.Knob, value: Any) -> str:
    if isinstance(value, str):
        return value
    if knob.key.endswith("_bytes") and isinstance(value, int):
        return human_size(value)
    if knob.kind is list:
        return ", ".join(str(v) for v in value)
    return str(value)


def _pre_parse(key: str, raw: str) -> str:
    # Byte limits may be typed the way people think of them: "50 MB".
    if key.endswith("_bytes") and raw.strip() and not raw.strip().isdigit():
        return str(parse_size(raw))
    return raw


def _check(key: str, value: Any) -> Any:
    if key == "allowed_types":
        bad = [t for t in value if not t.startswith("image/") or "svg" in t or "xml" in t]
        if bad or not value:
            raise ValueError(
                "Accepted image types must be image MIME types (SVG is never accepted): "
                + ", ".join(bad or ["none given"])
            )
    return value


async def _render(values: dict[str, Any], errors: dict[str, str], saved: bool, status: int = 200):
    body = await page(
        "admin/settings/index.html",
        "admin/settings/_form.html",
        groups=grouped(),
        values=values,
        errors=errors,
        saved=saved,
        display=display,
        key_warnings=key_warnings(),
    )
    return body, status


@blueprint.get("/settings")
@page_admin_required
async def settings_index():
    """The settings form with the current values."""
    return await _render(await knobs.get_all(), {}, saved=False)


@blueprint.post("/settings")
@page_admin_required
async def settings_save():
    """Check every knob first; save all of them only if all are valid."""
    form = await request.form
    current = await knobs.get_all()
    typed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, knob in knobs.KNOBS.items():
        # An unticked checkbox is absent from a form: absent means off.
        raw = form.get(key, "off") if knob.kind is bool else form.get(key)
        if raw is None:
            typed[key] = current[key]
            continue
        try:
            typed[key] = _check(key, knobs.coerce(knob, _pre_parse(key, raw)))
        except ValueError as exc:
            errors[key] = str(exc) if "must" in str(exc) else f"{knob.label}: expected a number"
    if errors:
        shown = {**current, **{k: form.get(k, "") for k in errors}}
        return await _render(shown, errors, saved=False, status=422)
    by = g.user.username
    for key, value in typed.items():
        if value != current[key]:
            await knobs.put(key, value, by=by)
    return await _render(await knobs.get_all(), {}, saved=True)
