"""Two pools of files, served by the storage service itself and by real nginx.

One storage service (``serve-storage`` with ``PIXELFOX_NODE_POOLS``, no app
needed) and one nginx running the shipped site template serve all tests of this
package; both read the same pool directory, so the same URL can be asked of
both. Tests do not change the pools (one adds a symlink and removes it again).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pixelfox_protocol import links
from tests.conftest import REDIS_URL, fresh_redis_prefix
from tests.serving.nginx import NginxSite
from tests.support import PIXELFOX, Service, free_port

# The app's master link secrets; node s01 (nginx and the storage service) holds its own.
CURRENT_SECRET = "current-link-secret"
PREVIOUS_SECRET = "previous-link-secret"
NODE_ID = "s01"
DAY = "2026/11/27"


@dataclass(frozen=True)
class Files:
    """The pools and what is in them (paths relative to a pool, bytes)."""

    pool: Path
    second_pool: Path
    public: str
    variant: str
    private: str
    large: str
    in_second_pool: str

    def data(self, relative: str, pool: Path | None = None) -> bytes:
        return ((pool or self.pool) / relative).read_bytes()


def _put(pool: Path, relative: str, data: bytes) -> str:
    path = pool / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return relative


@pytest.fixture(scope="package")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    root = tmp_path_factory.mktemp("pools")
    pool, second = root / "pool1", root / "pool2"
    ids = [str(uuid.uuid4()) for _ in range(5)]
    made = Files(
        pool=pool,
        second_pool=second,
        public=_put(pool, f"original/{DAY}/{ids[0]}.jpg", os.urandom(100_000)),
        variant=_put(pool, f"variants/{DAY}/{ids[0]}_thumb200.webp", os.urandom(1000)),
        private=_put(pool, f"private/original/{DAY}/{ids[1]}.jpg", os.urandom(5000)),
        large=_put(pool, f"original/{DAY}/{ids[2]}.png", os.urandom(2_000_000)),
        in_second_pool=_put(second, f"original/{DAY}/{ids[3]}.gif", os.urandom(700)),
    )
    # What a pool holds besides served files: a running upload, a crashed job's temp file.
    _put(pool, ".incoming/upload.part", b"half an upload")
    _put(pool, ".tmp/worker/x.tmp", b"temp")
    return made


@pytest.fixture(scope="package")
def package_prefix() -> Iterator[str]:
    """A Redis prefix for the storage service of these tests; its keys are deleted afterwards."""
    with fresh_redis_prefix() as prefix:
        yield prefix


def storage_env(files: Files, prefix: str, state: Path, **extra: str) -> dict[str, str]:
    return {
        "PIXELFOX_NODE_ID": NODE_ID,
        "PIXELFOX_NODE_POOLS": f"1={files.pool},2={files.second_pool}",
        "PIXELFOX_REDIS_URL": REDIS_URL,
        "PIXELFOX_REDIS_PREFIX": prefix,
        "PIXELFOX_STATE_DIR": str(state),
        "PIXELFOX_LINK_SECRET": links.node_secret(CURRENT_SECRET, NODE_ID),
        "PIXELFOX_LINK_PREVIOUS_SECRET": links.node_secret(PREVIOUS_SECRET, NODE_ID),
        "PIXELFOX_METRICS_BIND": "off",
        "PIXELFOX_LOG_LEVEL": "WARNING",
        **extra,
    }


@pytest.fixture(scope="package")
def storage(
    files: Files, package_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Base URL of a storage service serving /uploads/ itself (the single-host case)."""
    tmp = tmp_path_factory.mktemp("storage")
    port = free_port()
    service = Service(
        "storage",
        [*PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{port}"],
        storage_env(files, package_prefix, tmp / "state"),
        tmp / "storage.log",
    )
    url = f"http://127.0.0.1:{port}"
    service.start(f"{url}/healthz")
    yield url
    service.stop()


@pytest.fixture(scope="package")
def nginx(
    files: Files, storage: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NginxSite]:
    """nginx with the shipped site for pool 1, proxying the node API to ``storage``."""
    site = NginxSite(
        directory=tmp_path_factory.mktemp("nginx"),
        pool_path=files.pool,
        secret=CURRENT_SECRET,
        previous_secret=PREVIOUS_SECRET,
        upstream=storage.removeprefix("http://"),
    ).start()
    yield site
    site.stop()


@pytest.fixture(params=["nginx", "storage-service"])
def server(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs against nginx and against the storage service."""
    if request.param == "nginx":
        site: NginxSite = request.getfixturevalue("nginx")
        url = site.url
    else:
        url = request.getfixturevalue("storage")
    # Make sure the answer comes from the server the test is named for.
    software = httpx.get(f"{url}/uploads/").headers.get("server", "")
    assert software.startswith("nginx" if request.param == "nginx" else "hypercorn"), software
    return url
