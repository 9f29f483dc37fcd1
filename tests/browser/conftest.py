"""A whole installation on loopback, driven by Debian's Chromium through Playwright.

One stack per test module (starting five processes costs seconds): the control
app, storage node ``s01`` with its worker, and node ``local`` (the app host's
own pool, which proxy-mode uploads go to) with its worker. Real Redis under a
prefix of this module alone, real SQLite. Screenshots of every state a test
checks land in ``test-artifacts/browser/``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pixelfox_app import knobs
from pixelfox_app.auth.passwords import hash_password
from pixelfox_app.db import close_db, init_db
from pixelfox_app.dbschema import migrate
from pixelfox_app.models import StoragePool, User
from pixelfox_app.nodes import register_node
from pixelfox_protocol import links
from pixelfox_protocol.tokens import new_signing_key
from tests.conftest import REDIS_URL, delete_redis_keys
from tests.support import PIXELFOX, ROOT, Service, free_port

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
PASSWORD = "correct horse battery staple"
# Small, so that a "too large" file is quick to make and to refuse.
MAX_UPLOAD_BYTES = 1 << 20


@dataclass
class Stack:
    app_url: str
    node_url: str
    local_url: str
    tmp: Path
    redis_prefix: str
    database_url: str
    services: dict[str, Service] = field(default_factory=dict)

    def log(self, name: str) -> str:
        return self.services[name].log()


async def _prepare(database_url: str, s01_dir: Path, local_dir: Path) -> dict[str, str]:
    await migrate(database_url)
    await init_db(database_url)
    try:
        credentials = {
            "s01": await register_node("s01", "s01.pixelfox.test"),
            "local": await register_node("local", "app.pixelfox.test"),
        }
        await User.create(username="root", password_hash=hash_password(PASSWORD), is_admin=True)
        await User.create(username="ada", password_hash=hash_password(PASSWORD))
        await knobs.put("max_upload_bytes", MAX_UPLOAD_BYTES, by="tests")
        await knobs.put("direct_upload", True, by="tests")
        # Deterministic placement: s01 (priority 10) takes direct uploads.
        await knobs.put("placement_strategy", "priority", by="tests")
        credentials["s01_dir"] = str(s01_dir)
        credentials["local_dir"] = str(local_dir)
    finally:
        await close_db()
    return credentials


async def _add_pools(
    database_url: str, node_url: str, local_url: str, s01: Path, local: Path
) -> None:
    await init_db(database_url)
    try:
        # s01 goes first in placement (priority 10); the local pool is the only one
        # on the app's own disk, so proxy-mode uploads land there.
        await StoragePool.create(
            name="s01-hot",
            node_id="s01",
            base_path=str(s01),
            public_base_url=node_url,
            upload_api_url=f"{node_url}/api/internal/upload",
            priority=10,
            capacity_bytes=10 << 30,
            reserve_bytes=0,
        )
        await StoragePool.create(
            name="local",
            node_id="local",
            base_path=str(local),
            public_base_url=local_url,
            upload_api_url=f"{local_url}/api/internal/upload",
            priority=100,
            capacity_bytes=10 << 30,
            reserve_bytes=0,
        )
    finally:
        await close_db()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("browser")
    prefix = f"pftest-{uuid.uuid4().hex[:10]}"
    database_url = f"sqlite://{tmp / 'pixelfox.sqlite3'}"
    s01_dir, local_dir = tmp / "pool-s01", tmp / "pool-local"
    s01_dir.mkdir()
    local_dir.mkdir()
    creds = asyncio.run(_prepare(database_url, s01_dir, local_dir))
    signing_key, public_key = new_signing_key()
    app_port, node_port, local_port = free_port(), free_port(), free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    node_url = f"http://127.0.0.1:{node_port}"
    local_url = f"http://127.0.0.1:{local_port}"
    asyncio.run(_add_pools(database_url, node_url, local_url, s01_dir, local_dir))
    common = {
        "PIXELFOX_REDIS_URL": REDIS_URL,
        "PIXELFOX_REDIS_PREFIX": prefix,
        "PIXELFOX_LINK_SECRET": "browser-test-link-secret",
        "PIXELFOX_METRICS_BIND": "off",
        "PIXELFOX_WORKER_METRICS_BIND": "off",
    }
    app_env = {
        **common,
        "PIXELFOX_DATABASE_URL": database_url,
        "PIXELFOX_DATA_DIR": str(tmp / "app"),
        "PIXELFOX_PUBLIC_DOMAIN": app_url,
        "PIXELFOX_SECRET_KEY": "browser-tests-secret-0123456789",
        "PIXELFOX_TOKEN_SIGNING_KEY": signing_key,
    }

    def node_env(node_id: str) -> dict[str, str]:
        return {
            **common,
            # The node's own link secret (the app holds the master).
            "PIXELFOX_LINK_SECRET": links.node_secret(common["PIXELFOX_LINK_SECRET"], node_id),
            "PIXELFOX_NODE_ID": node_id,
            "PIXELFOX_NODE_CREDENTIAL": creds[node_id],
            "PIXELFOX_APP_URL": app_url,
            "PIXELFOX_TOKEN_PUBLIC_KEYS": public_key,
            "PIXELFOX_STATE_DIR": str(tmp / f"state-{node_id}"),
            "PIXELFOX_CORS_ORIGIN": app_url,
            "PIXELFOX_HEARTBEAT_SECONDS": "2",
        }

    found = Stack(app_url, node_url, local_url, tmp, prefix, database_url)
    plan = [
        ("app", ["serve-app", "--bind", f"127.0.0.1:{app_port}"], app_env, f"{app_url}/healthz"),
        (
            "s01",
            ["serve-storage", "--bind", f"127.0.0.1:{node_port}"],
            node_env("s01"),
            f"{node_url}/healthz",
        ),
        ("s01-worker", ["worker", "--node", "s01"], node_env("s01"), None),
        (
            "local",
            ["serve-storage", "--bind", f"127.0.0.1:{local_port}"],
            node_env("local"),
            f"{local_url}/healthz",
        ),
        ("local-worker", ["worker", "--node", "local"], node_env("local"), None),
    ]
    try:
        for name, argv, env, health in plan:
            service = Service(name, [*PIXELFOX, *argv], env, tmp / f"{name}.log")
            found.services[name] = service
            service.start(health)
        yield found
    finally:
        for service in reversed(list(found.services.values())):
            service.stop()
        delete_redis_keys(prefix)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: pip install playwright (it needs no browser download)")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Shots:
    """Screenshots named ``<test>-<nn>-<state>.png``, in the order they were taken."""

    def __init__(self, page: Any, test_name: str) -> None:
        self.page = page
        self.test_name = test_name
        self.count = 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, state: str) -> Path:
        self.count += 1
        path = ARTIFACTS / f"{self.test_name}-{self.count:02d}-{state}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def page(browser: Any, stack: Stack, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(base_url=stack.app_url, viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.console_errors = errors  # type: ignore[attr-defined]
    page.shots = Shots(page, request.node.name.removeprefix("test_"))  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()
    # Every page runs under the strict CSP: anything it blocked is a bug in a page.
    blocked = [e for e in errors if "Content Security Policy" in e]
    assert blocked == [], blocked


def in_db(stack: Stack, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` with the ORM on the stack's database, beside the running app."""

    async def run() -> T:
        await init_db(stack.database_url)
        try:
            return await work()
        finally:
            await close_db()

    # Playwright's sync API owns this thread's event loop: the ORM runs in another thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def login(page: Any, username: str) -> None:
    """Log in through the form, like a person."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
