"""The Ansible appliance, end to end on lab hosts: from bare hosts to uploads, then one node more.

The tests run in file order on one lab and each builds on the one before:
site.yml builds the app host and two storage nodes; an upload through the
seed's curl flow lands on a node and its nginx serves the file by DNS name;
a second run and a --check --diff run change nothing; add-storage-node.yml
brings in s03 while uploads keep succeeding, new uploads reach s03, and
running it again changes nothing; drain-storage-node.yml empties s03 again
while uploads keep succeeding, every image it held served from another node
with the same bytes (its old URL redirected there), and running it again
changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from pixelfox_lab import Lab
from tests.ansible.helpers import (
    Ansible,
    CurlClient,
    PlaybookRun,
    Uploaded,
    create_api_token,
)

pytestmark = [pytest.mark.ansible, pytest.mark.lab, pytest.mark.timeout(1500)]

APP_ORIGIN = "http://app.pixelfox.test"
SERVICES = {
    "app": ["pixelfox-app", "pixelfox-control-worker"],
    "s01": ["pixelfox-storage", "pixelfox-worker@s01"],
    "s02": ["pixelfox-storage", "pixelfox-worker@s02"],
}
# How long uploads may take to start reaching a node that was just enabled: the
# app needs a few healthy heartbeats and a reachability check of the new pool.
NEW_NODE_GRACE_SECONDS = 90


@pytest.fixture(scope="module")
def jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    path = tmp_path_factory.mktemp("images") / "fox.jpg"
    Image.new("RGB", (64, 48), (200, 90, 20)).save(path, "JPEG", quality=90)
    return path


@pytest.fixture(scope="module")
def site(ansible: Ansible) -> PlaybookRun:
    return ansible.playbook("site.yml")


@pytest.fixture(scope="module")
def client(lab: Lab, site: PlaybookRun) -> CurlClient:
    if site.returncode != 0:
        pytest.fail(f"site.yml failed, nothing to upload to:\n{site.problem()}")
    return CurlClient(lab, create_api_token(lab, "admin"), APP_ORIGIN)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(client: CurlClient, url: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of a GET from the controller."""
    argv = ["curl", "-sS", "--max-time", "30", "-D", "-", "-o", "/dev/stdout", url]
    # Bytes, not text: the body is an image.
    result = subprocess.run(client.lab.controller.argv(argv), capture_output=True, timeout=40)
    assert result.returncode == 0, f"GET {url}: {result.stderr!r}"
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def original_url(client: CurlClient, uploaded: Uploaded, timeout: float = 90) -> str:
    """The original's public URL from the app's status API, once the node worker is done."""
    deadline = time.monotonic() + timeout
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        status = client.image_status(uploaded.image_uuid)
        if status.get("state") == "ready" and status.get("url"):
            return str(status["url"])
        assert status.get("state") != "failed", f"processing failed: {status}"
        time.sleep(1)
    raise AssertionError(f"image {uploaded.image_uuid} not ready after {timeout} s: {status}")


def assert_served_by_nginx(client: CurlClient, url: str, node_id: str, expected: bytes) -> None:
    assert url.startswith(f"http://{node_id}.pixelfox.test/uploads/original/"), url
    status, headers, body = fetch(client, url)
    assert status == 200, (url, status, headers)
    assert headers.get("server", "").startswith("nginx"), headers
    assert sha256(body) == sha256(expected)
    assert headers.get("x-content-type-options") == "nosniff"
    assert "immutable" in headers.get("cache-control", "")
    assert headers.get("access-control-allow-origin") == "*"


def assert_redirected_to_a_live_copy(
    client: CurlClient, old_url: str, pool: str, expected: bytes
) -> None:
    """``old_url`` names a file its node no longer holds: its nginx sends the client to the
    app, which sends it to a copy on another node (docs/copies.md, Reads)."""
    relative = old_url.split("/uploads/", 1)[1]
    status, headers, _ = fetch(client, old_url)
    assert (status, headers.get("location")) == (302, f"{APP_ORIGIN}/f/{pool}/{relative}"), old_url
    status, headers, _ = fetch(client, headers["location"])
    live = headers.get("location", "")
    assert status == 302, (old_url, status, headers)
    assert live.endswith(f"/uploads/{relative}?redirected=1") and live != old_url, live
    status, headers, body = fetch(client, live)
    assert status == 200, (live, status, headers)
    assert sha256(body) == sha256(expected)


# --- site.yml ---------------------------------------------------------------------


def test_site_builds_the_app_host_and_two_storage_nodes_from_bare_hosts(
    lab: Lab, site: PlaybookRun, inventory: Path
) -> None:
    assert site.returncode == 0, site.problem()
    assert set(site.recap) == {"app", "s01", "s02"}
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in site.recap.values())
    for host, services in SERVICES.items():
        for service in services:
            # No systemd in the lab: the roles chose sysv init scripts with a restart loop.
            lab.run(host, ["/etc/init.d/" + service, "status"])
    # The code runs from the host's own venv, installed from the wheelhouse.
    argv = ["/opt/pixelfox/venv/bin/pixelfox", "--version"]
    assert "pixelfox" in lab.run("s01", argv).stdout.lower()
    # A storage node holds only the token's public key and its own credential.
    secrets = yaml.safe_load((inventory / "group_vars/all/secrets.yml").read_text())
    node_env = lab.run("s01", ["cat", "/etc/pixelfox/storage.env"]).stdout
    assert f"PIXELFOX_TOKEN_PUBLIC_KEYS={secrets['pixelfox_token_public_key']}\n" in node_env
    app_only = ("pixelfox_token_signing_key", "pixelfox_secret_key", "pixelfox_postgresql_password",
                "pixelfox_node_credential_master", "pixelfox_admin_password",
                "pixelfox_redis_password", "pixelfox_redis_worker_password")  # fmt: skip
    for secret in app_only:
        assert secrets[secret] not in node_env, secret
    # Redis as the node's own user, its credential the password.
    assert "PIXELFOX_REDIS_URL=redis://pixelfox-node-s01:" in node_env
    assert "DATABASE_URL" not in node_env
    # One spool secret per node, derived once, the same in its nginx site and its settings.
    spool_secrets = set()
    for node in ("s01", "s02"):
        env = lab.run(node, ["cat", "/etc/pixelfox/storage.env"]).stdout
        [secret] = re.findall(r"^PIXELFOX_SPOOL_SECRET=(.+)$", env, re.MULTILINE)
        site = lab.run(node, ["cat", "/etc/nginx/sites-available/pixelfox-storage.conf"]).stdout
        assert site.count(f'X-Pixelfox-Spool-Secret "{secret}";') == 2, node
        spool_secrets.add(secret)
    assert len(spool_secrets) == 2
    # Every host knows the others by name.
    hosts = lab.run("app", ["cat", "/etc/hosts"]).stdout
    assert "s02.pixelfox.test" in hosts.split("PixelFox hosts")[1]


def test_an_upload_through_the_seed_curl_flow_is_served_by_the_nodes_nginx(
    lab: Lab, client: CurlClient, jpeg: Path
) -> None:
    uploaded = client.upload(jpeg)

    assert uploaded.node_id in ("s01", "s02")
    assert uploaded.upload_url == f"http://{uploaded.node_id}.pixelfox.test/api/internal/upload"
    url = original_url(client, uploaded)
    assert_served_by_nginx(client, url, uploaded.node_id, jpeg.read_bytes())
    # nginx received the body and the node took it over: the site and the node agree.
    log = lab.run(uploaded.node_id, ["cat", "/var/log/pixelfox/pixelfox-storage.log"]).stdout
    [stored] = [
        record
        for line in log.splitlines()
        if uploaded.image_uuid in line and line.startswith("{")
        and (record := json.loads(line)).get("event") == "upload stored"
    ]  # fmt: skip
    assert stored["body"] == "spooled", stored


def test_the_nodes_nginx_checks_signed_links_with_the_apps_secret_and_hides_the_rest(
    lab: Lab, client: CurlClient, inventory: Path, jpeg: Path
) -> None:
    from pixelfox_protocol.links import node_secret, sign

    master = yaml.safe_load((inventory / "group_vars/all/secrets.yml").read_text())[
        "pixelfox_link_secret"
    ]
    # Each node checks links with its own secret, derived from the master one.
    secret = node_secret(master, "s01")
    relative = "private/original/2026/01/01/0b7c5a1e-private.jpg"
    pool = "/srv/pixelfox/pools/s01-hot"
    # As the node would store a private image's file: in the pool's private/ subtree.
    target = f"{pool}/{relative}"
    lab.run(
        "s01",
        f"mkdir -p $(dirname {target}) && base64 -d > {target} && "
        f"chown -R pixelfox:pixelfox {pool}/private && chmod 0640 {target}",
        input=base64.b64encode(jpeg.read_bytes()).decode(),
    )
    uri = f"/uploads/{relative}"
    base = "http://s01.pixelfox.test"
    now = int(time.time())

    signed = fetch(client, f"{base}{uri}?{sign(uri, secret, now + 600)}")
    tampered = fetch(client, f"{base}{uri}?{sign(uri + 'x', secret, now + 600)}")
    expired = fetch(client, f"{base}{uri}?{sign(uri, secret, now - 10)}")
    unsigned = fetch(client, f"{base}{uri}")
    with_master = fetch(client, f"{base}{uri}?{sign(uri, master, now + 600)}")
    with_other_node = fetch(
        client, f"{base}{uri}?{sign(uri, node_secret(master, 's02'), now + 600)}"
    )

    assert signed[0] == 200, signed[:2]
    assert sha256(signed[2]) == sha256(jpeg.read_bytes())
    assert signed[1].get("cache-control") == "private, max-age=300"
    assert (tampered[0], expired[0], unsigned[0]) == (403, 410, 403)
    assert (with_master[0], with_other_node[0]) == (403, 403)
    assert fetch(client, f"{base}/uploads/.incoming/x.part")[0] == 404
    assert fetch(client, f"{base}/")[0] == 404


def test_a_second_site_run_changes_nothing(ansible: Ansible, site: PlaybookRun) -> None:
    again = ansible.playbook("site.yml")

    assert again.returncode == 0, again.problem()
    assert again.changed() == {"app": 0, "s01": 0, "s02": 0}, again.changed_tasks()


def test_a_check_run_with_diff_is_clean(ansible: Ansible, site: PlaybookRun) -> None:
    check = ansible.playbook("site.yml", "--check", "--diff")

    assert check.returncode == 0, check.problem()
    assert check.changed() == {"app": 0, "s01": 0, "s02": 0}, check.changed_tasks()


def test_the_nightly_database_backup_is_scheduled_and_doctor_sees_it(
    lab: Lab, site: PlaybookRun
) -> None:
    # No systemd in the lab: the postgresql role chose a cron file, and cron runs.
    cron = lab.run("app", ["cat", "/etc/cron.d/pixelfox-postgresql-backup"]).stdout
    assert "root /usr/local/sbin/pixelfox-postgresql-backup" in cron
    lab.run("app", ["pgrep", "-x", "cron"])

    done = lab.run("app", ["/usr/local/sbin/pixelfox-postgresql-backup"])
    doctor = lab.run("app", ["/usr/local/sbin/pixelfox-admin", "doctor"], check=False)

    assert "backup: /var/backups/pixelfox-postgresql/pixelfox-" in done.stdout, done.stdout
    [line] = [line for line in doctor.stdout.splitlines() if line.split()[1:2] == ["backup"]]
    assert line.startswith("ok") and "/var/backups/pixelfox-postgresql/pixelfox-" in line, line


# --- add-storage-node.yml -----------------------------------------------------------


@dataclass
class UploadLoop:
    """Uploads one file after another from a thread until stopped; records every outcome."""

    client: CurlClient
    image: Path
    ok: list[tuple[float, Uploaded]] = field(default_factory=list)
    failed: list[tuple[float, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.ok.append((time.monotonic(), self.client.upload(self.image)))
            except Exception as exc:  # every failure is a finding, reported by the test
                self.failed.append((time.monotonic(), f"{type(exc).__name__}: {exc}"))
            # One upload every two seconds stays below the default limit of 60 a minute.
            self.stop.wait(2.0)

    def nodes_between(self, start: float, end: float) -> set[str]:
        return {u.node_id for t, u in self.ok if start <= t <= end}


@pytest.fixture(scope="module")
def uploads_during_add(client: CurlClient, jpeg: Path) -> Iterator[UploadLoop]:
    loop = UploadLoop(client, jpeg)
    thread = threading.Thread(target=loop.run, name="upload-loop", daemon=True)
    thread.start()
    yield loop
    loop.stop.set()
    thread.join(timeout=120)


@pytest.fixture(scope="module")
def added(
    lab: Lab, ansible: Ansible, inventory: Path, site: PlaybookRun, uploads_during_add: UploadLoop
) -> tuple[PlaybookRun, float, float]:
    """s03 joins the lab and the inventory, then add-storage-node.yml builds it; uploads run on."""
    lab.add_host("s03")
    hosts_file = inventory / "hosts.yml"
    hosts = yaml.safe_load(hosts_file.read_text())
    hosts["all"]["children"]["storage"]["hosts"]["s03"] = None
    hosts_file.write_text(yaml.safe_dump(hosts))
    started = time.monotonic()
    run = ansible.playbook("add-storage-node.yml", "-e", "node=s03")
    return run, started, time.monotonic()


def test_add_storage_node_brings_in_s03_while_uploads_to_the_others_keep_working(
    added: tuple[PlaybookRun, float, float],
    uploads_during_add: UploadLoop,
    client: CurlClient,
    jpeg: Path,
) -> None:
    run, started, finished = added
    assert run.returncode == 0, run.problem()
    # Only the new node was built; the app host and the others only learned its name,
    # and the app host's Redis its user.
    assert run.recap["s03"]["changed"] > 0
    for host in ("app", "s01", "s02"):
        changed = [t for t in run.changed_tasks() if f"changed: [{host}]" in t]
        allowed = ("TASK [dns :", "TASK [redis : Write the Redis users]") if host == "app" else ()
        assert all(t.startswith(("TASK [dns :", *allowed)) for t in changed), changed

    # New uploads reach s03 once the app has seen it healthy; asked to avoid the
    # others, the app must place the upload there.
    deadline = time.monotonic() + NEW_NODE_GRACE_SECONDS
    on_new_node: Uploaded | None = None
    refusals: list[str] = []
    while on_new_node is None and time.monotonic() < deadline:
        try:
            on_new_node = client.upload(jpeg, avoid_nodes=("s01", "s02"))
        except AssertionError as exc:
            refusals.append(str(exc))
            time.sleep(2)
    assert on_new_node is not None, f"no upload reached s03: {refusals[-3:]}"
    assert on_new_node.node_id == "s03"
    assert_served_by_nginx(client, original_url(client, on_new_node), "s03", jpeg.read_bytes())

    uploads_during_add.stop.set()
    during = uploads_during_add.nodes_between(started, finished)
    assert not uploads_during_add.failed, uploads_during_add.failed[:5]
    assert len([t for t, _ in uploads_during_add.ok if started <= t <= finished]) >= 3
    assert during & {"s01", "s02"}, during


def test_add_storage_node_run_again_changes_nothing(
    ansible: Ansible, added: tuple[PlaybookRun, float, float]
) -> None:
    again = ansible.playbook("add-storage-node.yml", "-e", "node=s03")

    assert again.returncode == 0, again.problem()
    assert set(again.changed().values()) == {0}, again.changed_tasks()


# --- drain-storage-node.yml ---------------------------------------------------------


@dataclass
class Drained:
    run: PlaybookRun
    # Images s03 held before the drain: (upload, its URL then)
    held: list[tuple[Uploaded, str]]
    during: UploadLoop


@pytest.fixture(scope="module")
def drained(
    lab: Lab,
    ansible: Ansible,
    client: CurlClient,
    jpeg: Path,
    added: tuple[PlaybookRun, float, float],
) -> Iterator[Drained]:
    """s03 holds a few images; the drain runs while another upload loop goes on."""
    held = []
    for _ in range(3):
        uploaded = client.upload(jpeg, avoid_nodes=("s01", "s02"))
        assert uploaded.node_id == "s03"
        held.append((uploaded, original_url(client, uploaded)))
    loop = UploadLoop(client, jpeg)
    thread = threading.Thread(target=loop.run, name="upload-loop-drain", daemon=True)
    thread.start()
    try:
        run = ansible.playbook(
            "drain-storage-node.yml", "-e", "node=s03", "-e", "retire=true", timeout=1200
        )
    finally:
        loop.stop.set()
        thread.join(timeout=120)
    yield Drained(run, held, loop)


def test_drain_moves_every_image_off_s03_while_uploads_keep_working(
    lab: Lab, client: CurlClient, jpeg: Path, drained: Drained
) -> None:
    assert drained.run.returncode == 0, drained.run.problem()

    for uploaded, old_url in drained.held:
        url = original_url(client, uploaded)
        node = url.removeprefix("http://").split(".", 1)[0]
        assert node in ("s01", "s02"), url
        assert_served_by_nginx(client, url, node, jpeg.read_bytes())
        # The old URL (kept by a browser or a CDN) still leads to the file.
        assert_redirected_to_a_live_copy(client, old_url, "s03-hot", jpeg.read_bytes())
    # Every upload made during the drain succeeded and ended up off s03.
    assert not drained.during.failed, drained.during.failed[:5]
    assert len(drained.during.ok) >= 3
    for _, uploaded in drained.during.ok:
        assert "//s03." not in original_url(client, uploaded)
    # No image is left only on s03: the drain placed its replicas anew elsewhere
    # and removed them (docs/copies.md); a file still there would have to be
    # served from s01 or s02.
    left = lab.run("s03", "find /srv/pixelfox/pools/s03-hot/original -type f").stdout.split()
    for path in left:
        image_uuid = Path(path).stem
        url = str(client.image_status(image_uuid).get("url", ""))
        assert url.removeprefix("http://").split(".", 1)[0] in ("s01", "s02"), (path, url)
        assert fetch(client, url)[0] == 200, url


def test_drain_run_again_changes_nothing(ansible: Ansible, drained: Drained) -> None:
    again = ansible.playbook("drain-storage-node.yml", "-e", "node=s03", "-e", "retire=true")

    assert again.returncode == 0, again.problem()
    assert set(again.changed().values()) == {0}, again.changed_tasks()
    # No fixed pause: the drain waited only until every node held the new pool map.
    assert "pause" not in drained.run.output.lower()


def _running(lab: Lab, host: str, service: str) -> bool:
    return lab.run(host, ["/etc/init.d/" + service, "status"], check=False).returncode == 0


def _admin(lab: Lab, *argv: str) -> tuple[int, str]:
    result = lab.run("app", ["/usr/local/sbin/pixelfox-admin", *argv], check=False, timeout=120)
    return result.returncode, result.stdout + result.stderr


def test_a_retired_node_stays_stopped_when_site_runs_with_it_still_in_the_inventory(
    lab: Lab, ansible: Ansible, drained: Drained
) -> None:
    assert _admin(lab, "nodes", "state", "s03")[1].strip() == "retired"

    run = ansible.playbook("site.yml")

    assert run.returncode == 0, run.problem()
    assert "Node s03 is retired: its services stay stopped" in run.output
    for service in ("pixelfox-storage", "pixelfox-worker@s03"):
        assert not _running(lab, "s03", service), service
    # Silent by design: doctor counts it as retired, not as a failure.
    rc, report = _admin(lab, "doctor")
    assert "retired: no heartbeat expected" in report, report
    assert rc == 0, report


def test_the_removed_node_is_gone_and_site_then_doctor_pass(
    lab: Lab, ansible: Ansible, inventory: Path, drained: Drained
) -> None:
    hosts_file = inventory / "hosts.yml"
    hosts = yaml.safe_load(hosts_file.read_text())
    del hosts["all"]["children"]["storage"]["hosts"]["s03"]
    hosts_file.write_text(yaml.safe_dump(hosts))
    rc, said = _admin(lab, "nodes", "remove", "s03")
    assert rc == 0, said
    assert "removed node 's03'" in said

    run = ansible.playbook("site.yml")

    assert run.returncode == 0, run.problem()
    assert "s03" not in run.recap
    rc, report = _admin(lab, "doctor")
    assert rc == 0, report
    # Doctor checked every node's nginx by itself (the app role tells it to).
    assert "--nginx-url" not in report and "nginx s01" in report, report
    assert "s03" not in _admin(lab, "nodes", "list")[1]
    for service in ("pixelfox-storage", "pixelfox-worker@s03"):
        assert not _running(lab, "s03", service), service
