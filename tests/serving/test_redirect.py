"""A URL naming a node that no longer holds the file keeps working: nginx and the app redirect.

Three nodes (s01, s02, s03), each a real nginx with the shipped site serving its
own pool directory, and a real control app (hypercorn) whose database says where
each image's copies are and whose Redis holds the nodes' heartbeats. A request
for a public file a pool lacks goes to the app (``/f/<pool>/<path>``), which sends
it on to a live copy with ``?redirected=1``; that one is never redirected again.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio

from pixelfox_app.models import (
    CopyState,
    Image,
    ImageCopy,
    ImageState,
    ImageVariant,
    StoragePool,
    User,
    Visibility,
)
from pixelfox_protocol import layout, links
from tests.app.conftest import AppServer, Servers, app_servers
from tests.serving.nginx import NginxSite

pytestmark = pytest.mark.asyncio(loop_scope="module")

NODES = ("s01", "s02", "s03")
# The app's master link secret (tests.app.conftest); each nginx holds its node's own.
LINK_SECRET = "test-link-secret"
WHEN = datetime(2026, 11, 27, tzinfo=UTC)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Servers]:
    async with app_servers(tmp_path_factory.mktemp("app")) as registry:
        yield registry


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def app_url(servers: Servers) -> str:
    return (await servers.get("sqlite")).url


@pytest.fixture(scope="module")
def sites(app_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NginxSite]]:
    """node id → its nginx, serving pool ``<node>-hot``, sending misses to the app."""
    root = tmp_path_factory.mktemp("nodes")
    started: dict[str, NginxSite] = {}
    try:
        for node_id in NODES:
            started[node_id] = NginxSite(
                directory=root / node_id / "nginx",
                pool_path=root / node_id / "pool",
                secret=LINK_SECRET,
                node_id=node_id,
                extra={
                    "nginx_storage_pool_name": f"{node_id}-hot",
                    "nginx_storage_resolver_url": app_url,
                },
            )
            started[node_id].pool_path.mkdir(parents=True)
            started[node_id].start()
        yield started
    finally:
        for site in started.values():
            site.stop()


@dataclass
class Cluster:
    app: AppServer
    sites: dict[str, NginxSite]
    pools: dict[str, StoragePool]
    owner: User

    def url(self, node_id: str, relative: str) -> str:
        return f"{self.sites[node_id].url}{links.URI_PREFIX}{relative}"

    def put(self, node_id: str, relative: str, data: bytes) -> None:
        path = self.sites[node_id].pool_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    async def image(
        self,
        primary: str,
        copies: dict[str, CopyState],
        on_disk: tuple[str, ...],
        *,
        variant: bool = False,
    ) -> tuple[Image, str, bytes]:
        """An image whose primary is on ``primary``'s pool, with ``copies`` on other nodes'
        pools and its file (the original, or a variant) on the pools of ``on_disk``."""
        ident = uuid.uuid4()
        original = layout.original_path(str(ident), "jpg", WHEN)
        data = hashlib.sha256(ident.bytes).digest() * 100
        image = await Image.create(
            uuid=ident,
            short_id=ident.hex[:10],
            owner=self.owner,
            pool=self.pools[primary],
            path=original,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            mime="image/jpeg",
            state=ImageState.READY,
        )
        relative = original
        if variant:
            relative = layout.variant_path(str(ident), "thumb200", "webp", WHEN)
            await ImageVariant.create(
                image=image,
                pool=self.pools[primary],
                kind="thumb200",
                format="webp",
                path=relative,
                size=len(data),
                width=20,
                height=10,
            )
        for node_id, state in {primary: CopyState.VERIFIED, **copies}.items():
            await ImageCopy.create(image=image, pool=self.pools[node_id], state=state)
        for node_id in on_disk:
            self.put(node_id, relative, data)
        return image, relative, data


@pytest_asyncio.fixture(loop_scope="module")
async def cluster(servers: Servers, sites: dict[str, NginxSite], app_url: str) -> Cluster:
    """The three pools, fresh rows and keys; no node beats until a test says so."""
    app = await servers.get("sqlite")
    assert app.url == app_url
    pools = {
        node_id: await app.pool(
            f"{node_id}-hot",
            node_id,
            beat=False,
            public_base_url=site.url,
            base_path=str(site.pool_path),
        )
        for node_id, site in sites.items()
    }
    return Cluster(app, sites, pools, await app.user("owner"))


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url)


async def hops(url: str, limit: int = 5) -> list[httpx.Response]:
    """Every answer from ``url`` on, following redirects one at a time."""
    answers = [await get(url)]
    while answers[-1].is_redirect and len(answers) <= limit:
        answers.append(await get(answers[-1].headers["location"]))
    return answers


def resolver(cluster: Cluster, node_id: str, relative: str) -> str:
    return f"{cluster.app.url}{links.REDIRECT_PREFIX}{node_id}-hot/{relative}"


async def test_a_miss_is_redirected_through_the_app_to_a_live_copy(cluster: Cluster):
    # s01 lost its copy of the file; the app knows a verified one on s02.
    _, relative, data = await cluster.image("s01", {"s02": CopyState.VERIFIED}, on_disk=("s02",))
    await cluster.app.beat("s01")
    await cluster.app.beat("s02")

    nginx, app, copy = await hops(cluster.url("s01", relative))

    assert nginx.status_code == 302
    assert nginx.headers["location"] == resolver(cluster, "s01", relative)
    assert nginx.headers["cache-control"] == "public, max-age=15"
    assert nginx.headers["access-control-allow-origin"] == "*"
    # Never back to the pool that asked, though its node beats.
    assert app.status_code == 302
    assert app.headers["location"] == cluster.url("s02", relative) + "?redirected=1"
    assert app.headers["cache-control"] == "public, max-age=15"
    assert app.headers["access-control-allow-origin"] == "*"
    assert (copy.status_code, copy.content) == (200, data)


async def test_a_variant_that_moved_is_found_at_its_primary_while_that_node_beats(
    cluster: Cluster,
):
    # An old URL names s03 (the image lived there before a move); s02 holds a replica.
    _, relative, data = await cluster.image(
        "s01", {"s02": CopyState.VERIFIED}, on_disk=("s01", "s02"), variant=True
    )
    for node_id in NODES:
        await cluster.app.beat(node_id)

    answers = await hops(cluster.url("s03", relative))

    assert [a.status_code for a in answers] == [302, 302, 200]
    assert answers[-1].url == cluster.url("s01", relative) + "?redirected=1"
    assert answers[-1].content == data


async def test_a_quiet_primary_sends_the_request_to_a_replica_whose_node_beats(cluster: Cluster):
    _, relative, data = await cluster.image(
        "s01", {"s02": CopyState.VERIFIED}, on_disk=("s01", "s02")
    )
    await cluster.app.beat("s02")
    await cluster.app.beat("s03")  # s01 is quiet: no beat at all

    answers = await hops(cluster.url("s03", relative))

    assert [a.status_code for a in answers] == [302, 302, 200]
    assert answers[-1].url == cluster.url("s02", relative) + "?redirected=1"
    assert answers[-1].content == data


async def test_a_redirected_request_that_misses_again_is_a_plain_404(cluster: Cluster):
    # The app believes s02 holds a verified copy, but s02 lost it too.
    _, relative, _ = await cluster.image("s01", {"s02": CopyState.VERIFIED}, on_disk=())
    await cluster.app.beat("s02")

    answers = await hops(cluster.url("s01", relative))

    assert [a.status_code for a in answers] == [302, 302, 404]
    assert "location" not in answers[-1].headers
    direct = await get(cluster.url("s01", relative) + "?redirected=1")
    assert direct.status_code == 404
    assert "location" not in direct.headers


async def test_private_files_are_never_redirected(cluster: Cluster):
    for node_id in NODES:
        await cluster.app.beat(node_id)
    relative = f"private/original/2026/11/27/{uuid.uuid4()}.jpg"
    uri = f"{links.URI_PREFIX}{relative}"
    secret = links.node_secret(LINK_SECRET, "s01")
    signed = await get(
        f"{cluster.url('s01', relative)}?{links.sign(uri, secret, int(time.time()) + 600)}"
    )
    unsigned = await get(cluster.url("s01", relative))

    assert (signed.status_code, unsigned.status_code) == (404, 403)
    assert "location" not in signed.headers and "location" not in unsigned.headers
    # Nor does the app answer for them, or for the public path of a private image.
    asked = await get(resolver(cluster, "s01", relative))
    assert (asked.status_code, asked.json()["error"]["code"]) == (404, "NOT_FOUND")
    image, public_path, _ = await cluster.image(
        "s01", {"s02": CopyState.VERIFIED}, on_disk=("s02",)
    )
    await Image.filter(id=image.id).update(visibility=Visibility.PRIVATE)
    assert [a.status_code for a in await hops(cluster.url("s01", public_path))] == [302, 404]
    await Image.filter(id=image.id).update(
        visibility=Visibility.PUBLIC, visibility_target=Visibility.PRIVATE
    )
    assert [a.status_code for a in await hops(cluster.url("s01", public_path))] == [302, 404]


async def test_an_image_in_the_trash_is_not_found(cluster: Cluster):
    image, relative, _ = await cluster.image("s01", {"s02": CopyState.VERIFIED}, on_disk=("s02",))
    await Image.filter(id=image.id).update(deleted_at=datetime.now(UTC))
    for node_id in NODES:
        await cluster.app.beat(node_id)

    nginx, app = await hops(cluster.url("s01", relative))

    assert nginx.status_code == 302
    assert (app.status_code, app.json()["error"]["code"]) == (404, "NOT_FOUND")


async def test_no_live_copy_is_a_503_the_client_may_retry(cluster: Cluster):
    # s01 (the primary) and s02 (a verified replica) are quiet; s03's copy is not verified yet.
    _, relative, _ = await cluster.image(
        "s01", {"s02": CopyState.VERIFIED, "s03": CopyState.PENDING}, on_disk=()
    )
    await cluster.app.beat("s03")

    nginx, app = await hops(cluster.url("s03", relative))

    assert nginx.status_code == 302
    assert app.status_code == 503
    assert app.json()["error"]["code"] == "NO_LIVE_COPY"
    assert int(app.headers["retry-after"]) > 0
    assert app.headers["cache-control"] == "no-store"


async def test_only_paths_of_the_public_layout_are_redirected(cluster: Cluster):
    for node_id in NODES:
        await cluster.app.beat(node_id)
    unknown = layout.original_path(str(uuid.uuid4()), "png", WHEN)
    never = [
        "original/2026/11/27/not-a-uuid.jpg",
        f"original/2026/11/27/{uuid.uuid4()}.html",
        f"variants/2026/11/27/{uuid.uuid4()}_thumb200.png",
        "original/1999/01/01/",
    ]

    for relative in never:
        answer = await get(cluster.url("s01", relative))
        assert answer.status_code == 404, relative
        assert "location" not in answer.headers, relative
    for hidden in (".incoming/x.part", ".trash/original/x.jpg"):
        assert (await get(cluster.url("s01", hidden))).status_code == 404
    # A path of the layout that no image has: the app does not know it.
    nginx, app = await hops(cluster.url("s01", unknown))
    assert nginx.status_code == 302
    assert (app.status_code, app.json()["error"]["code"]) == (404, "NOT_FOUND")


async def test_redirects_are_rate_limited_per_client(cluster: Cluster):
    _, relative, _ = await cluster.image("s01", {"s02": CopyState.VERIFIED}, on_disk=("s02",))
    await cluster.app.beat("s02")
    await cluster.app.knob("redirect_rate_limit_per_minute", 2)

    answers = [await get(resolver(cluster, "s01", relative)) for _ in range(3)]

    assert [a.status_code for a in answers] == [302, 302, 429]
    assert answers[-1].json()["error"]["code"] == "RATE_LIMITED"
