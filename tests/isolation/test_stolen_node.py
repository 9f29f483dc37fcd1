"""A stolen storage node costs one node: every attack from s02's own files fails as designed.

Each test is one attack, run on s02 with what s02 holds (its env file with its
Redis URL and node credential, its nginx site, its disk), against s01, the app
host or the shared Redis. Every refusal is the designed one and the test says
which: Redis answers NOPERM (s02's Redis user may touch only s02's keys and
run only the commands a node needs), the app answers its error code, s01's
nginx answers 403. A first test shows the attacker's access is real, so a
refusal is never a broken connection. All of it runs over TLS verified against
the lab's own CA, and a second test shows that is so.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from pixelfox_lab.ca import CertificateAuthority, IssuedCertificate
from pixelfox_protocol import grants, links
from pixelfox_protocol.internal import (
    COPY_FILE_PATH,
    HEARTBEAT_PATH,
    MOVE_GRANT_PATH,
    MOVE_IMAGE_PATH,
    REPAIR_PATH,
    UPLOAD_COMPLETE_PATH,
    VARIANTS_PATH,
)
from pixelfox_protocol.keys import RedisKeys
from pixelfox_protocol.tokens import new_signing_key
from tests.ansible.helpers import CurlClient
from tests.isolation.conftest import (
    APP_NAME,
    APP_ORIGIN,
    DOMAIN,
    REDIS_PREFIX,
    Image,
    Installation,
    StolenNode,
)

pytestmark = [pytest.mark.ansible, pytest.mark.lab, pytest.mark.timeout(1500)]

KEYS = RedisKeys(REDIS_PREFIX)
MARKER = "/var/tmp/pixelfox-stolen-node-ran-code"


def refused_by_acl(answers: list[dict[str, str]]) -> None:
    # redis-py raises NoPermissionError for Redis's NOPERM reply (and drops the word).
    for answer in answers:
        assert answer.get("error", "").startswith("NoPermissionError: "), answers


def marker_absent(installation: Installation, *hosts: str) -> None:
    for host in hosts:
        found = installation.lab.run(host, ["test", "-e", MARKER], check=False)
        assert found.returncode != 0, f"a pickled job ran code on {host}"


def test_s02s_own_redis_user_works_for_its_own_keys(stolen: StolenNode) -> None:
    probe = f"{KEYS.prefix}:node:s02:probe"
    answers = stolen.redis(["SET", probe, "1"], ["GET", probe], ["DEL", probe])
    assert [a.get("ok") for a in answers] == ["True", "b'1'", "1"], answers


def test_internal_traffic_is_tls_verified_against_the_lab_ca(
    installation: Installation, stolen: StolenNode, tmp_path: Path
) -> None:
    lab_ca = installation.tls.ca
    # s02's settings: https to the app, rediss:// to Redis, and the lab CA to trust.
    redis_url = stolen.setting("REDIS_URL")
    assert stolen.app_url == APP_ORIGIN, stolen.app_url
    assert redis_url.startswith(f"rediss://{REDIS_PREFIX}-node-s02:"), "Redis not over TLS"
    assert f"@{APP_NAME}:" in redis_url
    assert stolen.read(stolen.setting("CA_FILE")) == lab_ca.cert_file.read_text()

    # The node reaches the app over https, verified against the lab CA (and Redis: the
    # first test above); so does the operator's curl with the CA.
    status, body = stolen.http("GET", stolen.app_url + "/healthz", no_auth=True)
    assert status == 200, body
    status, body = installation.client.curl(f"{installation.client.app_origin}/healthz")
    assert status == 200, body

    # Plain text reaches neither the app nor Redis: nginx only redirects to https,
    # and Redis has no plain port at all.
    for url in (stolen.app_url, f"https://s01.{DOMAIN}"):
        plain = url.replace("https://", "http://", 1)
        status, _ = stolen.http("GET", plain + "/healthz", no_auth=True)
        assert status == 301, f"{plain} answers in plain text: {status}"
    [plain_redis] = stolen.redis(["PING"], url=redis_url.replace("rediss://", "redis://", 1))
    assert plain_redis.get("error", "").startswith("ConnectionError"), plain_redis

    # A client without the lab CA (the system's CAs) fails verification, on every path.
    status, body = stolen.http("GET", stolen.app_url + "/healthz", no_auth=True, ca_file="")
    assert status == 0 and "CERTIFICATE_VERIFY_FAILED" in str(body), body
    [untrusting] = stolen.redis(["PING"], ca_file="")
    assert "certificate verify failed" in untrusting.get("error", ""), untrusting
    without_ca = CurlClient(installation.lab, "", installation.client.app_origin)
    status, message = without_ca.curl(f"{installation.client.app_origin}/healthz")
    assert status == 0 and "certificate" in message, message

    # A server with a certificate for the app's name from another CA (one that took
    # over the name or the route) is refused by the node's own client context; the
    # same server with a lab certificate is taken, so the refusal is the CA's.
    def impostor(issued: IssuedCertificate) -> dict[str, Any]:
        order = {"name": APP_NAME, "cert": issued.cert_file.read_text(),
                 "key": issued.key_file.read_text()}  # fmt: skip
        answer: dict[str, Any] = stolen.attack({"impostor": order})
        return answer

    other_ca = CertificateAuthority.create(tmp_path / "other-ca", "Not the lab CA")
    forged = impostor(other_ca.issue(tmp_path / "forged", "app", [APP_NAME]))
    assert not forged["connected"] and "CERTIFICATE_VERIFY_FAILED" in forged["error"], forged
    assert impostor(lab_ca.issue(tmp_path / "genuine", "app", [APP_NAME]))["connected"]


def test_a_pickled_job_cannot_be_put_into_the_control_queue(
    installation: Installation, stolen: StolenNode
) -> None:
    job_id = f"{KEYS.prefix}:stolen-control"
    refused_by_acl(
        stolen.redis(
            ["SET", f"arq:job:{job_id}", {"pickle": f"touch {MARKER}"}],
            ["ZADD", KEYS.control_queue, "0", job_id],
        )
    )
    time.sleep(3)  # the control worker polls its queue every half second
    marker_absent(installation, "app")
    status, _ = installation.client.curl(f"{installation.client.app_origin}/healthz")
    assert status == 200


def test_a_pickled_job_cannot_be_put_into_s01s_lanes(
    installation: Installation, stolen: StolenNode
) -> None:
    for queue in (KEYS.node_queue("s01"), KEYS.node_background_queue("s01")):
        job_id = f"{queue}:stolen"
        refused_by_acl(
            stolen.redis(
                ["SET", f"arq:job:{job_id}", {"pickle": f"touch {MARKER}"}],
                ["ZADD", queue, "0", job_id],
            )
        )
    marker_absent(installation, "s01")


def test_a_pickled_job_in_s02s_own_lane_is_refused_and_s02_goes_on(
    installation: Installation, stolen: StolenNode, jpeg: Path
) -> None:
    queue = KEYS.node_queue("s02")
    job_id = f"{queue}:stolen-own"
    now_ms = str(int(time.time() * 1000))
    written = stolen.redis(
        ["SET", f"arq:job:{job_id}", {"pickle": f"touch {MARKER}"}, "EX", "600"],
        ["ZADD", queue, now_ms, job_id],
    )
    assert all("ok" in a for a in written), written  # its own lane: the node may write there
    deadline = time.monotonic() + 60
    while stolen.redis(["EXISTS", f"arq:result:{job_id}"])[0].get("ok") != "1":
        assert time.monotonic() < deadline, "s02's worker never took the job"
        time.sleep(1)
    marker_absent(installation, "s02")
    # The worker refused the job and went on: a fresh upload to s02 gets its variants.
    assert installation.upload(jpeg, "s02").status["variants"]


def test_s02_cannot_enqueue_a_valid_job_for_s01(
    stolen: StolenNode, images: dict[str, Image]
) -> None:
    job_id = f"{KEYS.node_queue('s01')}:process:{images['s01'].image_uuid}-again"
    job = {"t": 1, "f": "process_image", "a": [], "k": {"image_uuid": images["s01"].image_uuid}}
    refused_by_acl(
        stolen.redis(
            ["SET", f"arq:job:{job_id}", json.dumps(job)],
            ["ZADD", KEYS.node_queue("s01"), "0", job_id],
        )
    )


def test_s02_cannot_forge_s01s_heartbeat_reachability_or_health(
    stolen: StolenNode, images: dict[str, Image]
) -> None:
    pool_s01 = int(images["s01"].token_claims["pool_id"])
    refused_by_acl(
        stolen.redis(
            ["SET", KEYS.node_heartbeat("s01"), "{}"],
            ["SET", KEYS.pool_reachable(pool_s01), "1"],
            ["HSET", KEYS.node_health("s01"), "state", "up"],
            ["DEL", KEYS.node_health("s01")],
            ["SET", KEYS.pool_placed_bytes(pool_s01), "0"],
        )
    )
    beat = {"node_id": "s01", "version": "0", "pools": []}
    # s01's name with s02's credential: not s01.
    status, body = stolen.http("POST", stolen.app_url + HEARTBEAT_PATH, as_node="s01", json=beat)
    assert status == 401, body
    # s02's own name, reporting for s01.
    status, body = stolen.http("POST", stolen.app_url + HEARTBEAT_PATH, json=beat)
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN"), body


def test_s02_cannot_read_or_delete_s01s_used_token_ids(
    stolen: StolenNode, images: dict[str, Image]
) -> None:
    s01_jti = KEYS.node_token_jti("s01", images["s01"].token_claims["jti"])
    refused_by_acl(
        stolen.redis(["GET", s01_jti], ["DEL", s01_jti], ["TTL", s01_jti], ["KEYS", "*"])
    )
    # Its own used-token record is where the node keeps it (the name above is right).
    [own] = stolen.redis(["GET", KEYS.node_token_jti("s02", images["s02"].token_claims["jti"])])
    assert own.get("ok", "None") != "None", own


def test_s02_cannot_change_a_moves_state(stolen: StolenNode) -> None:
    refused_by_acl(
        stolen.redis(
            ["SET", KEYS.move_state(1), "cancelled"],
            ["DEL", KEYS.move_state(1)],
            ["SET", KEYS.move_outcomes(1), "{}"],
        )
    )


def test_s02_cannot_clear_rate_limits_or_run_admin_commands(stolen: StolenNode) -> None:
    refused_by_acl(
        stolen.redis(
            ["DEL", f"{KEYS.rate_limit_prefix}/login/admin"],
            ["SET", f"{KEYS.rate_limit_prefix}:x", "0"],
            ["FLUSHALL"],
            ["FLUSHDB"],
            ["CONFIG", "SET", "dir", "/tmp"],
            ["EVAL", "return redis.call('FLUSHALL')", "0"],
            ["SCRIPT", "FLUSH"],
            ["FUNCTION", "LIST"],
            ["ACL", "LIST"],
            ["ACL", "SETUSER", "s02-root", "on", ">x", "~*", "+@all"],
            ["MODULE", "LIST"],
            ["REPLICAOF", "NO", "ONE"],
            ["MIGRATE", "127.0.0.1", "6380", "x", "0", "100"],
            ["SHUTDOWN", "NOSAVE"],
        )
    )
    # DEBUG is refused to every client (enable-debug-command no) before the ACL is asked.
    [debug] = stolen.redis(["DEBUG", "SLEEP", "0"])
    assert "DEBUG command not allowed" in debug.get("error", ""), debug


def test_s02_cannot_report_a_completion_or_variants_for_s01s_pool(
    stolen: StolenNode, images: dict[str, Image]
) -> None:
    s01 = images["s01"]
    completion = {
        "session_id": s01.token_claims["sid"],
        "image_uuid": s01.image_uuid,
        "pool_id": int(s01.token_claims["pool_id"]),
        "path": "original/2026/01/01/x.jpg",
        "size": 1,
        "sha256": "0" * 64,
        "mime": "image/jpeg",
        "width": 1,
        "height": 1,
    }
    status, body = stolen.http("POST", stolen.app_url + UPLOAD_COMPLETE_PATH, json=completion)
    assert (status, body["error"]["code"]) == (403, "POOL_NOT_ON_NODE"), body
    report = {"state": "failed", "error": "forged"}
    url = stolen.app_url + VARIANTS_PATH.format(image_uuid=s01.image_uuid)
    status, body = stolen.http("POST", url, json=report)
    assert (status, body["error"]["code"]) == (403, "POOL_NOT_ON_NODE"), body


def _pool_path(url: str) -> str:
    """The pool-relative path of a file URL the app handed out (query dropped)."""
    return urlsplit(url).path.split("/uploads/", 1)[1]


def test_a_repair_reads_from_s01_only_the_files_of_s02s_own_copy(
    stolen: StolenNode, images: dict[str, Image]
) -> None:
    own, theirs, private = images["s02"], images["s01"], images["s01-private"]
    s02_pool, s01_pool = (int(i.token_claims["pool_id"]) for i in (own, theirs))
    original = _pool_path(str(own.status["url"]))
    url = stolen.app_url + REPAIR_PATH.format(image_uuid=own.image_uuid)
    # s02's upload has its replica on s01 verified within seconds (two nodes: two copies).
    deadline = time.monotonic() + 60
    while True:
        status, plan = stolen.http("POST", url, json={"pool_id": s02_pool, "paths": [original]})
        assert status == 200 and plan["primary"], plan
        if plan["peers"] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert [p["node_id"] for p in plan["peers"]] == ["s01"], plan
    # No plan for s01's pool, nor for a file that is not the image's.
    status, body = stolen.http("POST", url, json={"pool_id": s01_pool, "paths": [original]})
    assert (status, body["error"]["code"]) == (403, "POOL_NOT_ON_NODE"), body
    secret = _pool_path(str(private.status["url"]))
    status, body = stolen.http("POST", url, json={"pool_id": s02_pool, "paths": [secret]})
    assert (status, body["error"]["code"]) == (422, "MOVE_FILE_UNKNOWN"), body
    # A read grant s02 signs itself for s01's private original: s01 reads nothing out.
    origin = str(theirs.status["url"]).split("/uploads/", 1)[0]
    forged = grants.ReplicationGrant(
        node_id="s01",
        pool_id=s01_pool,
        image_uuid=private.image_uuid,
        move_id=0,
        files=(grants.GrantedFile(secret, 1, "0" * 64),),
        reads=True,
    )
    status, body = stolen.http(
        "GET",
        origin + COPY_FILE_PATH,
        params={"pool_id": s01_pool, "path": secret},
        headers={"Authorization": f"Bearer {grants.mint(forged, new_signing_key()[0])}"},
    )
    assert (status, body["error"]["code"]) == (401, "REPLICATION_DENIED"), body
    # The plan's grant for the one file asked: that file is read, s01's own images are not.
    [peer] = plan["peers"]
    bearer = {"Authorization": f"Bearer {peer['grant']}"}
    for path, expected in [
        (original, 200),
        (secret, 403),
        (_pool_path(str(theirs.status["url"])), 403),
    ]:
        params = {"pool_id": peer["pool_id"], "path": path}
        status, body = stolen.http("GET", peer["copy_file_url"], params=params, headers=bearer)
        assert status == expected, (path, body)


def _resign(url: str, secret: str, key_id: str) -> str:
    """``url`` signed again as nginx's secure_link_md5 checks it, with ``secret``."""
    parts = urlsplit(url)
    expires = parse_qs(parts.query)["expires"][0]
    md5 = links.signature(int(expires), parts.path, secret)
    return f"{parts.scheme}://{parts.netloc}{parts.path}?md5={md5}&expires={expires}&k={key_id}"


def test_a_link_signed_with_s02s_secret_is_refused_by_s01(
    installation: Installation, stolen: StolenNode, images: dict[str, Image]
) -> None:
    link = str(images["s01-private"].status["url"])
    assert "/uploads/private/" in link and "//s01." in link, link

    def fetch(url: str) -> int:
        status, _ = installation.client.curl("-o", "/dev/null", url)
        return status

    assert fetch(link) == 200  # the app's own link works: the refusals below are real
    site = stolen.read("/etc/nginx/sites-available/pixelfox-storage.conf")
    s02_keys = re.findall(r'^\s*"([0-9a-f]{8})" "([^"]+)";', site, re.MULTILINE)
    assert s02_keys, "no link secret in s02's nginx site"
    s01_key_id = parse_qs(urlsplit(link).query)["k"][0]
    for key_id, secret in s02_keys:
        assert fetch(_resign(link, secret, key_id)) == 403
        assert fetch(_resign(link, secret, s01_key_id)) == 403


def _secrets_s02_must_not_hold(installation: Installation) -> dict[str, str]:
    secrets = installation.secrets
    master = secrets["pixelfox_node_credential_master"]
    wanted = {
        name: secrets[name]
        for name in (
            "pixelfox_secret_key",
            "pixelfox_postgresql_password",
            "pixelfox_admin_password",
            "pixelfox_node_credential_master",
            "pixelfox_redis_password",
            "pixelfox_redis_worker_password",
            "pixelfox_link_secret",
        )
        if secrets.get(name)
    }
    # The signing key's body, line by line long enough to be unique.
    for i, line in enumerate(str(secrets["pixelfox_token_signing_key"]).splitlines()):
        if len(line) >= 32 and "PRIVATE KEY" not in line:
            wanted[f"pixelfox_token_signing_key line {i}"] = line
    wanted["s01's node credential"] = hashlib.sha256(f"s01:{master}".encode()).hexdigest()
    # TLS private keys: the lab CA's (it would sign a certificate for any name), the
    # app host's (nginx and Redis: it would impersonate both) and s01's.
    tls = installation.tls
    for name, key in (
        ("the lab CA's key", tls.ca.key_file),
        ("the app host's TLS key", tls.hosts["app"].key_file),
        ("s01's TLS key", tls.hosts["s01"].key_file),
    ):
        wanted.update(_key_lines(name, key))
    return wanted


def _key_lines(name: str, key: Path) -> dict[str, str]:
    """A PEM key's body, line by line (each long enough to be unique)."""
    lines = [line for line in key.read_text().splitlines() if "PRIVATE KEY" not in line]
    return {f"{name} line {i}": line for i, line in enumerate(lines) if len(line) >= 32}


def test_nothing_on_s02s_disk_opens_the_app_or_another_node(installation: Installation) -> None:
    upper = installation.lab.config.host_dir("s02") / "upper"
    secrets = _secrets_s02_must_not_hold(installation)
    wanted = {name: value.encode() for name, value in secrets.items()}
    own_key = {
        n: v.encode() for n, v in _key_lines("", installation.tls.hosts["s02"].key_file).items()
    }
    found: list[str] = []
    own_key_at: set[str] = set()
    scanned = 0
    for path in upper.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        scanned += 1
        where = path.relative_to(upper)
        found += [f"{name} in {where}" for name, value in wanted.items() if value in data]
        if any(line in data for line in own_key.values()):
            own_key_at.add(str(where))
    assert scanned > 100, "s02's disk looks empty: was it built?"
    assert any(name.startswith("pixelfox_token_signing_key") for name in wanted), wanted
    assert any(name.startswith("the lab CA's key") for name in wanted), wanted
    assert not found, found
    # s02 holds its own TLS key, once, where nginx's master (root) reads it and the
    # node's account (nginx's workers, the services) cannot: the scan finds keys.
    assert own_key_at == {"etc/nginx/tls/pixelfox.key"}, own_key_at
    mode = installation.lab.run("s02", ["stat", "-c", "%a %U:%G", "/etc/nginx/tls/pixelfox.key"])
    assert mode.stdout.split() == ["600", "root:root"], mode.stdout


# Replication: s02 takes part in a move out of its own pool, as an operator may
# start one, and uses its grant against s01. Its own worker is stopped first, so
# the move stays running and every push below is the attacker's own.

_LOOK_UP = """
import asyncio, json, sys
from pixelfox_app.config import AppSettings
from pixelfox_app.db import close_db, init_db
from pixelfox_app.models import Image, StoragePool

async def main():
    await init_db(AppSettings.from_env().effective_database_url)
    try:
        images = {str(i.uuid): i.id for i in await Image.filter(uuid__in=sys.argv[1:])}
        pools = {p.id: p.base_path for p in await StoragePool.all()}
        print(json.dumps({"images": images, "pools": pools}))
    finally:
        await close_db()

asyncio.run(main())
"""


@dataclass
class MoveUnderAttack:
    move_id: int
    image_ids: dict[str, int]  # by image uuid
    pool_roots: dict[int, str]
    moved: Image  # on s02, an item of the move
    other: Image  # on s02 too, another item
    ticket: dict[str, Any]

    def grant_url(self, app_url: str, image_id: int) -> str:
        return app_url + MOVE_GRANT_PATH.format(move_id=self.move_id, image_id=image_id)

    def files(self) -> list[dict[str, Any]]:
        return [self.ticket["original"], *self.ticket["variants"]]


def _admin(installation: Installation, method: str, path: str, body: Any = None) -> Any:
    args = ["-X", method, "-H", f"Authorization: Bearer {installation.client.api_token}"]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    status, text = installation.client.curl(*args, f"{installation.client.app_origin}{path}")
    assert status < 300, (path, status, text)
    return json.loads(text)


@pytest.fixture(scope="module")
def move(
    installation: Installation, stolen: StolenNode, images: dict[str, Image], jpeg: Path
) -> Iterator[MoveUnderAttack]:
    other = installation.upload(jpeg, "s02")
    worker = "/etc/init.d/pixelfox-worker@s02"
    installation.lab.run("s02", [worker, "stop"])
    move_id = 0
    try:
        source, target = (int(images[n].token_claims["pool_id"]) for n in ("s02", "s01"))
        move_id = int(
            _admin(
                installation,
                "POST",
                "/api/v1/admin/moves",
                {"source": str(source), "target": str(target)},
            )["id"]
        )
        deadline = time.monotonic() + 60
        while _admin(installation, "GET", f"/api/v1/admin/moves/{move_id}")["state"] != "running":
            assert time.monotonic() < deadline, "the move never ran"
            time.sleep(1)
        uuids = [images["s02"].image_uuid, other.image_uuid, images["s01"].image_uuid]
        found = json.loads(installation.app_python(_LOOK_UP, *uuids))
        image_ids = {u: int(i) for u, i in found["images"].items()}
        url = stolen.app_url + MOVE_IMAGE_PATH.format(
            move_id=move_id, image_id=image_ids[images["s02"].image_uuid]
        )
        status, ticket = stolen.http("GET", url)
        assert status == 200, ticket
        pools = {int(p): root for p, root in found["pools"].items()}
        # The ticket names the variants without hashes: the source hashes what it pushes.
        root = pools[int(ticket["source_pool_id"])]
        for file in ticket["variants"]:
            summed = installation.lab.run("s02", ["sha256sum", f"{root}/{file['path']}"])
            file["sha256"] = summed.stdout.split()[0]
        yield MoveUnderAttack(move_id, image_ids, pools, images["s02"], other, ticket)
    finally:
        if move_id:
            _admin(installation, "POST", f"/api/v1/admin/moves/{move_id}/cancel")
        installation.lab.run("s02", [worker, "start"])


def test_s02_gets_no_grant_for_files_or_images_outside_its_move(
    stolen: StolenNode, images: dict[str, Image], move: MoveUnderAttack
) -> None:
    own_id = move.image_ids[move.moved.image_uuid]
    original = move.ticket["original"]["path"]
    html = {"path": str(Path(original.replace("original/", "variants/", 1)).with_suffix(".html")),
            "size": 30, "sha256": "0" * 64}  # fmt: skip
    status, body = stolen.http(
        "POST", move.grant_url(stolen.app_url, own_id), json={"files": [*move.files(), html]}
    )
    assert (status, body["error"]["code"]) == (422, "MOVE_FILE_UNKNOWN"), body
    # An image of s01's pool is no item of a move out of s02's.
    s01_id = move.image_ids[images["s01"].image_uuid]
    status, body = stolen.http(
        "POST", move.grant_url(stolen.app_url, s01_id), json={"files": move.files()}
    )
    assert (status, body["error"]["code"]) == (409, "MOVE_ITEM_UNKNOWN"), body


def test_a_grant_writes_only_its_own_files_once_and_no_more_bytes(
    installation: Installation, stolen: StolenNode, move: MoveUnderAttack
) -> None:
    own_id = move.image_ids[move.moved.image_uuid]
    status, granted = stolen.http(
        "POST", move.grant_url(stolen.app_url, own_id), json={"files": move.files()}
    )
    assert status == 200, granted
    source_root = move.pool_roots[int(move.ticket["source_pool_id"])]
    target_root = move.pool_roots[int(move.ticket["target_pool_id"])]
    target_pool = int(move.ticket["target_pool_id"])

    def push(file: dict[str, Any], content_file: str, **order: Any) -> tuple[int, str]:
        params = {"pool_id": target_pool, "path": file["path"], "size": file["size"],
                  "sha256": file["sha256"]}  # fmt: skip
        status, body = stolen.http(
            "PUT", move.ticket["replicate_url"], params=params, content_file=content_file,
            headers={"Authorization": f"Bearer {granted['grant']}",
                     "Content-Type": "application/octet-stream"},
            **order,
        )  # fmt: skip
        return status, body.get("error", {}).get("code", "")

    original = move.ticket["original"]
    own_file = f"{source_root}/{original['path']}"
    # Another image's original, with its true size and hash: not in the grant.
    other_status, other_ticket = stolen.http(
        "GET",
        stolen.app_url + MOVE_IMAGE_PATH.format(
            move_id=move.move_id, image_id=move.image_ids[move.other.image_uuid]
        ),
    )  # fmt: skip
    assert other_status == 200, other_ticket
    other = other_ticket["original"]

    def on_s01(relative: str) -> bool:
        look = ["test", "-e", f"{target_root}/{relative}"]
        return installation.lab.run("s01", look, check=False).returncode == 0

    # Its replica may be on s01 already (pushed by s02's worker before the fixture stopped it).
    other_replicated = on_s01(other["path"])
    assert push(other, f"{source_root}/{other['path']}") == (403, "REPLICATION_FORBIDDEN")
    # An .html file beside the variants: no path of the layout at all.
    html = dict(original, path=str(Path(original["path"].replace("original/", "variants/", 1))
                                   .with_suffix(".html")))  # fmt: skip
    assert push(html, own_file) == (400, "BAD_REQUEST")
    # The granted file with more bytes than granted.
    assert push(original, own_file, extra_bytes=4096) == (413, "FILE_TOO_LARGE")
    # The granted file itself: once, not twice. s01 may hold it already as the image's
    # replica (two nodes: two copies, docs/copies.md): then "already there", 200.
    assert push(original, own_file) == (200 if on_s01(original["path"]) else 201, "")
    assert push(original, own_file) == (409, "REPLICATION_USED")
    assert not on_s01(html["path"]), f"{html['path']} was written on s01"
    assert other_replicated or not on_s01(other["path"]), f"{other['path']} was written on s01"


def test_no_grant_once_the_move_is_paused(
    installation: Installation, stolen: StolenNode, move: MoveUnderAttack
) -> None:
    _admin(installation, "POST", f"/api/v1/admin/moves/{move.move_id}/pause")
    own_id = move.image_ids[move.moved.image_uuid]
    status, body = stolen.http(
        "POST", move.grant_url(stolen.app_url, own_id), json={"files": move.files()}
    )
    assert (status, body["error"]["code"]) == (409, "MOVE_NOT_RUNNING"), body
