"""A lab of one app host and two storage nodes built by site.yml, with s02 in an attacker's hands.

The installation is built as an operator builds it (``site.yml`` on bare
hosts, secrets from ``pixelfox secrets init``). Before any attack, the seed's
curl flow puts a public and a private image on s01 and a public one on s02.
Then :class:`StolenNode` runs ``attacker.py`` on s02 with s02's own env file:
whatever s02's account can reach, the attacker can.

Internal traffic runs over TLS with the lab's own CA (:func:`add_lab_tls`), as
issue 12 asks of an installation whose hosts talk over a network: every nginx
serves https with a certificate the CA signed, Redis listens with TLS only, and
every client (the services, the attacker's, the tests' curl) verifies against
the CA, never skipping verification.

Lab prefix ``pfi<pid>``, subnet 10.75.0.0/24: neither the appliance tests nor a
developer's lab are touched; the lab is torn down when the module ends, also
when building it failed.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml

from pixelfox_lab import Lab
from pixelfox_lab.ca import CertificateAuthority, IssuedCertificate
from tests.ansible.helpers import (
    Ansible,
    CurlClient,
    PlaybookRun,
    create_api_token,
    lab_inventory,
)
from tests.lab.helpers import require_lab, running_lab

LAB_PREFIX = f"pfi{os.getpid() % 100000}"
LAB_SUBNET = "10.75.0.0/24"
HOSTS = ("app", "s01", "s02")
DOMAIN = "pixelfox.test"  # inventory/lab's pixelfox_domain
APP_NAME = f"app.{DOMAIN}"
APP_ORIGIN = f"https://{APP_NAME}"
REDIS_PREFIX = "pixelfox"  # inventory/lab's pixelfox_redis_prefix
VENV_PYTHON = "/opt/pixelfox/venv/bin/python"
ENV_WRAPPER = "/opt/pixelfox/bin/pixelfox-env"
ATTACKER = (Path(__file__).parent / "attacker.py").read_text()


@pytest.fixture(autouse=True)
def _skip_without_lab_support(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("lab") is not None:
        require_lab()


@dataclass(frozen=True)
class LabTLS:
    """The lab's CA (its key stays on the controller) and each host's certificate."""

    ca: CertificateAuthority
    hosts: dict[str, IssuedCertificate]


# Appended to inventory/lab's group_vars/all/main.yml, as an operator would edit it.
_TLS_SETTINGS = """
# TLS with the lab's own CA (tests/isolation/conftest.py, add_lab_tls): each
# host's nginx serves https with its own certificate; Redis on the app host is
# TLS-only with the app host's; every client trusts the lab CA only.
pixelfox_ca_file: {files}/ca.crt
nginx_tls_certificate_src: "{files}/{{{{ inventory_hostname }}}}.crt"
nginx_tls_key_src: "{files}/{{{{ inventory_hostname }}}}.key"
redis_tls_cert_file: {files}/app.crt
redis_tls_key_file: {files}/app.key
redis_tls_ca_file: {files}/ca.crt
"""


def add_lab_tls(inventory: Path, ca_dir: Path) -> LabTLS:
    """A lab CA in ``ca_dir``, a certificate per host, and the inventory set to use them.

    The host certificates and the CA's certificate go into ``tls`` beside the
    inventory (what Ansible copies to the hosts; inside the inventory directory
    Ansible would try each file as an inventory source); the CA's key stays in
    ``ca_dir``, which no play reads. The scheme becomes https, so the app's
    origin and every node's URLs (upload API, files, replication) are https.
    """
    ca = CertificateAuthority.create(ca_dir)
    files = inventory.parent / "tls"
    hosts = {host: ca.issue(files, host, [f"{host}.{DOMAIN}"]) for host in HOSTS}
    (files / "ca.crt").write_bytes(ca.cert_file.read_bytes())
    settings = inventory / "group_vars" / "all" / "main.yml"
    text, replaced = re.subn(
        r"^pixelfox_scheme: http$", "pixelfox_scheme: https", settings.read_text(), flags=re.M
    )
    assert replaced == 1, f"no pixelfox_scheme: http in {settings}"
    settings.write_text(text + _TLS_SETTINGS.format(files=files))
    return LabTLS(ca, hosts)


@dataclass
class Image:
    node_id: str
    image_uuid: str
    token_claims: dict[str, Any]
    status: dict[str, Any]


class Installation:
    """The built lab as its operator sees it: secrets, an admin API token, the curl flow."""

    def __init__(self, lab: Lab, inventory: Path, client: CurlClient, tls: LabTLS) -> None:
        self.lab = lab
        self.client = client
        self.tls = tls
        self.secrets: dict[str, str] = yaml.safe_load(
            (inventory / "group_vars/all/secrets.yml").read_text()
        )

    def app_python(self, code: str, *args: str) -> str:
        """Run ``code`` with the app's own settings on the app host; its stdout."""
        argv = [ENV_WRAPPER, "/etc/pixelfox/app.env", VENV_PYTHON, "-c", code, *args]
        return self.lab.run("app", argv, timeout=120).stdout.strip()

    def upload(self, image: Path, node_id: str, visibility: str = "public") -> Image:
        """The seed's curl flow onto ``node_id``, waiting until the image is ready."""
        avoid = [n for n in ("s01", "s02") if n != node_id]
        request = {
            "file_size": image.stat().st_size,
            "filename": image.name,
            "content_type": "image/jpeg",
            "avoid_nodes": avoid,
            "visibility": visibility,
        }
        status, body = self.client.curl(
            "-X", "POST",
            "-H", "Content-Type: application/json",
            "-H", f"Authorization: Bearer {self.client.api_token}",
            "-d", json.dumps(request),
            f"{APP_ORIGIN}/api/v1/upload/sessions",
        )  # fmt: skip
        assert status == 201, body
        session = json.loads(body)
        assert f"//{node_id}." in session["upload_url"], session
        status, body = self.client.curl(
            "-X", "POST",
            "-H", f"Authorization: Bearer {session['token']}",
            "-F", f"file=@{image};type=image/jpeg",
            session["upload_url"],
        )  # fmt: skip
        assert status in (200, 201), body
        image_uuid = json.loads(body)["image_uuid"]
        claims = jwt.decode(session["token"], options={"verify_signature": False})
        return Image(node_id, image_uuid, claims, self.wait_ready(image_uuid))

    def wait_ready(self, image_uuid: str, seconds: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            status = self.client.image_status(image_uuid)
            if status["state"] == "ready" or time.monotonic() > deadline:
                assert status["state"] == "ready", status
                return status
            time.sleep(1)


class StolenNode:
    """s02 in an attacker's hands: its env file, its account, its disk."""

    def __init__(self, lab: Lab, node_id: str) -> None:
        self.lab = lab
        self.node_id = node_id

    def attack(self, order: dict[str, Any]) -> Any:
        """One order of attacker.py (see there), run as the node's account would; its answer."""
        argv = [ENV_WRAPPER, "/etc/pixelfox/storage.env", VENV_PYTHON, "-c", ATTACKER]
        result = self.lab.run(self.node_id, argv, input=json.dumps(order), timeout=60)
        return json.loads(result.stdout)

    def redis(self, *commands: list[Any], **order: str) -> list[dict[str, str]]:
        """Each command sent with the node's own Redis URL; ``{"ok"}`` or ``{"error"}`` each.

        ``url`` and ``ca_file`` replace the node's own (see attacker.py).
        """
        answers: list[dict[str, str]] = self.attack({"redis": [list(c) for c in commands], **order})
        return answers

    def http(self, method: str, url: str, **order: Any) -> tuple[int, dict[str, Any]]:
        """One request with the node's credential (``as_node`` claims another node's name)."""
        answer = self.attack({"http": {"method": method, "url": url, **order}})
        try:
            body = json.loads(answer["body"])
        except ValueError:
            body = {"text": answer["body"]}
        return int(answer["status"]), body

    def read(self, path: str) -> str:
        return self.lab.run(self.node_id, ["cat", path]).stdout

    def setting(self, name: str) -> str:
        """``PIXELFOX_<name>`` of the node's env file."""
        env = self.read("/etc/pixelfox/storage.env")
        [value] = re.findall(rf"^PIXELFOX_{name}=(.*)$", env, re.MULTILINE)
        return str(value)

    @property
    def app_url(self) -> str:
        return self.setting("APP_URL").rstrip("/")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(HOSTS, LAB_PREFIX, LAB_SUBNET) as running:
        yield running


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lab_inventory(tmp_path_factory.mktemp("inventory"))


@pytest.fixture(scope="module")
def lab_tls(inventory: Path, tmp_path_factory: pytest.TempPathFactory) -> LabTLS:
    return add_lab_tls(inventory, tmp_path_factory.mktemp("lab-ca"))


@pytest.fixture(scope="module")
def site(
    lab: Lab,
    inventory: Path,
    lab_tls: LabTLS,
    wheelhouse: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> PlaybookRun:
    run = Ansible(lab, inventory, wheelhouse, tmp_path_factory.mktemp("ansible")).playbook(
        "site.yml"
    )
    if run.returncode != 0:
        pytest.fail(f"site.yml failed, nothing to attack:\n{run.problem()}")
    return run


@pytest.fixture(scope="module")
def installation(lab: Lab, inventory: Path, lab_tls: LabTLS, site: PlaybookRun) -> Installation:
    client = CurlClient(lab, create_api_token(lab, "admin"), APP_ORIGIN, lab_tls.ca.cert_file)
    return Installation(lab, inventory, client, lab_tls)


@pytest.fixture(scope="module")
def jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image as PILImage

    path = tmp_path_factory.mktemp("images") / "fox.jpg"
    PILImage.new("RGB", (64, 48), (200, 90, 20)).save(path, "JPEG", quality=90)
    return path


@pytest.fixture(scope="module")
def images(installation: Installation, jpeg: Path) -> dict[str, Image]:
    """What s01 and s02 hold before the attack."""
    return {
        "s01": installation.upload(jpeg, "s01"),
        "s01-private": installation.upload(jpeg, "s01", visibility="private"),
        "s02": installation.upload(jpeg, "s02"),
    }


@pytest.fixture(scope="module")
def stolen(installation: Installation, images: dict[str, Image]) -> StolenNode:
    return StolenNode(installation.lab, "s02")
