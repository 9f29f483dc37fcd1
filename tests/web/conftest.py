"""The control app in-process (Quart's test client) on a fresh SQLite and a private Redis prefix.

The app is started the way hypercorn starts it (its before/after-serving hooks
run), so pages see the real database, Redis and settings. ``Web`` is the
browser: it keeps cookies, fetches the CSRF token and logs in through the form.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from quart import Quart
from quart.testing import QuartClient
from werkzeug.routing import Rule

from pixelfox_app.app import create_app
from pixelfox_app.auth.passwords import hash_password
from pixelfox_app.config import AppSettings
from pixelfox_app.dbschema import migrate
from pixelfox_app.models import StoragePool, User
from pixelfox_protocol.tokens import new_signing_key

PASSWORD = "correct horse battery staple"
PUBLIC = "http://app.pixelfox.test"


@dataclass
class Web:
    app: Quart
    client: QuartClient

    async def csrf(self) -> str:
        response = await self.client.get("/api/v1/csrf")
        return str((await response.get_json())["csrf_token"])

    async def user(self, username: str = "ada", *, is_admin: bool = False) -> User:
        return await User.create(
            username=username, password_hash=hash_password(PASSWORD), is_admin=is_admin
        )

    async def login(self, username: str = "ada", password: str = PASSWORD) -> Any:
        return await self.client.post(
            "/login",
            form={"username": username, "password": password, "csrf_token": await self.csrf()},
        )

    async def admin(self, username: str = "root") -> User:
        """An admin, logged in."""
        user = await self.user(username, is_admin=True)
        response = await self.login(username)
        assert response.status_code == 302, await response.get_data(as_text=True)
        return user

    async def get(self, path: str, *, htmx: bool = False) -> tuple[int, str]:
        headers = {"HX-Request": "true"} if htmx else {}
        response = await self.client.get(path, headers=headers)
        return response.status_code, await response.get_data(as_text=True)

    async def post(self, path: str, form: dict[str, str], *, htmx: bool = False) -> Any:
        headers = {"X-CSRF-Token": await self.csrf()}
        if htmx:
            headers["HX-Request"] = "true"
        return await self.client.post(path, form=form, headers=headers)

    async def pool(self, name: str = "hot-1", node_id: str = "s01", **fields: Any) -> StoragePool:
        values: dict[str, Any] = {
            "base_path": f"/srv/pixelfox/{name}",
            "public_base_url": f"http://{node_id}.pixelfox.test",
            "upload_api_url": f"http://{node_id}.pixelfox.test/api/internal/upload",
        }
        values.update(fields)
        return await StoragePool.create(name=name, node_id=node_id, **values)


def make_settings(
    sqlite_url: str, redis_url: str, redis_prefix: str, **overrides: Any
) -> AppSettings:
    signing_key, _ = new_signing_key()
    values: dict[str, Any] = {
        "database_url": sqlite_url,
        "redis_url": redis_url,
        "redis_prefix": redis_prefix,
        "public_domain": PUBLIC,
        "secret_key": "web-test-secret-0123456789",
        "token_signing_key": signing_key,
        "link_secret": "web-test-link-secret",
        "testing": True,
    }
    values.update(overrides)
    return AppSettings(**values)


@pytest.fixture
def settings(sqlite_url: str, redis_url: str, redis_prefix: str) -> AppSettings:
    return make_settings(sqlite_url, redis_url, redis_prefix)


@pytest.fixture
async def web(settings: AppSettings) -> AsyncIterator[Web]:
    await migrate(settings.effective_database_url)
    app = create_app(settings)
    async with app.test_app() as test_app:
        yield Web(app, test_app.test_client())


SAMPLE_ARGS = {"int": "1", "string": "sample", "default": "sample", "path": "a/b", "uuid": ""}


def sample_path(rule: Rule) -> str:
    """A concrete path for a route rule: each ``<converter:name>`` filled with a sample value."""

    def fill(match: re.Match[str]) -> str:
        converter = match.group(1) or "default"
        if converter == "uuid" or match.group(2) == "image_uuid":
            return "00000000-0000-4000-8000-000000000000"
        return SAMPLE_ARGS.get(converter, "sample")

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", fill, rule.rule)


def text_of(html: str) -> str:
    """The visible words of a page, whitespace collapsed (for asserting what a person reads)."""
    no_tags = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", no_tags).strip()
