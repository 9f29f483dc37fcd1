"""The operator is told when keys are missing or broken (the seed's UPLOAD_TOKEN_SECRET hint)."""

from __future__ import annotations

from pixelfox_app.config import AppSettings
from pixelfox_app.upload.token_keys import key_status, public_keys
from pixelfox_protocol.tokens import new_signing_key


def test_a_complete_configuration_has_no_warnings():
    private, public = new_signing_key()
    settings = AppSettings(token_signing_key=private, link_secret="s", secret_key="k")
    assert key_status(settings) == []
    assert public_keys(settings) == public


def test_each_missing_key_is_named():
    warnings = key_status(AppSettings())
    assert any("PIXELFOX_TOKEN_SIGNING_KEY is not set" in w for w in warnings)
    assert any("PIXELFOX_LINK_SECRET" in w for w in warnings)
    assert any("PIXELFOX_SECRET_KEY" in w for w in warnings)


def test_a_malformed_key_is_reported_not_raised():
    warnings = key_status(
        AppSettings(
            token_signing_key="no-colon-here",
            token_previous_public_keys="kid:",
            link_secret="s",
            secret_key="k",
        )
    )
    assert len(warnings) == 2
    assert "not a valid Ed25519 key" in warnings[0]
    assert "PREVIOUS_PUBLIC_KEYS" in warnings[1]


def test_during_a_rotation_both_public_keys_are_published():
    private, public = new_signing_key()
    _, previous = new_signing_key()
    settings = AppSettings(token_signing_key=private, token_previous_public_keys=previous)
    assert public_keys(settings) == f"{public},{previous}"
