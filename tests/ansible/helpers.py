"""Running the playbooks against lab hosts, and the seed's curl upload flow from the controller."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pixelfox_lab import Lab

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# A prefix of this process alone: two test runs at once (or a developer's "pf" lab)
# never take each other's hosts down.
LAB_PREFIX = f"pfa{os.getpid() % 100000}"
LAB_SUBNET = "10.79.0.0/24"
APP = "app"
_RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


@dataclass
class PlaybookRun:
    argv: list[str]
    returncode: int
    output: str
    log: Path
    seconds: float
    recap: dict[str, dict[str, int]] = field(default_factory=dict)

    def changed(self) -> dict[str, int]:
        return {host: counts["changed"] for host, counts in self.recap.items()}

    def problem(self) -> str:
        """The end of the output, for assertion messages."""
        return f"{' '.join(self.argv[-3:])} (rc {self.returncode}, log {self.log}):\n" + "\n".join(
            self.output.splitlines()[-60:]
        )

    def changed_tasks(self) -> list[str]:
        """'changed: [host]' lines with the task they belong to, to explain a non-zero recap."""
        task, found = "", []
        for line in self.output.splitlines():
            if line.startswith("TASK ["):
                task = line.split("]")[0] + "]"
            elif line.startswith("changed:"):
                found.append(f"{task} {line}")
        return found


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    recap_at = output.rfind("PLAY RECAP")
    return {
        m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")}
        for m in _RECAP.finditer(output[recap_at:] if recap_at >= 0 else "")
    }


class Ansible:
    """ansible-playbook in the lab's controller namespace, as an operator runs it on a VPS fleet."""

    def __init__(self, lab: Lab, inventory: Path, wheelhouse: Path, work_dir: Path) -> None:
        self.lab = lab
        self.inventory = inventory
        self.wheelhouse = wheelhouse
        self.work_dir = work_dir
        self.runs = 0

    def env(self) -> dict[str, str]:
        return {
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
            # SSH control sockets of this lab only: another lab's hosts have the same names.
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.work_dir / "cp"),
            "ANSIBLE_LOCAL_TEMP": str(self.work_dir / "tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "TMPDIR": str(self.work_dir / "tmp"),
        }

    def playbook(self, name: str, *args: str, timeout: float = 900) -> PlaybookRun:
        self.runs += 1
        (self.work_dir / "tmp").mkdir(parents=True, exist_ok=True)
        argv = [
            str(BIN / "ansible-playbook"),
            "-i", str(self.inventory),
            "-e", f"pixelfox_wheelhouse_dir={self.wheelhouse}",
            *args,
            str(REPO / "playbooks" / name),
        ]  # fmt: skip
        started = time.monotonic()
        result = self.lab.controller.run(argv, check=False, env=self.env(), timeout=timeout)
        seconds = time.monotonic() - started
        output = result.stdout + result.stderr
        log = self.work_dir / f"{self.runs:02d}-{name.removesuffix('.yml')}.log"
        log.write_text(output)
        return PlaybookRun(argv, result.returncode, output, log, seconds, parse_recap(output))


def local_playbook(
    playbook: Path, *args: str, roles_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook on localhost with the project's ansible.cfg (roles from ``roles_path``)."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    if roles_path is not None:
        env["ANSIBLE_ROLES_PATH"] = str(roles_path)
    argv = [str(BIN / "ansible-playbook"), "-i", "localhost,", *args, str(playbook)]
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def lab_inventory(parent: Path) -> Path:
    """inventory/lab copied, with fresh secrets from `pixelfox secrets init` (an operator's way)."""
    target = parent / "lab"
    shutil.copytree(REPO / "inventory" / "lab", target)
    secrets = target / "group_vars" / "all" / "secrets.yml"
    secrets.unlink(missing_ok=True)
    subprocess.run(
        [str(BIN / "python"), "-m", "pixelfox_cli", "secrets", "init", "--file", str(secrets)],
        check=True,
        capture_output=True,
    )
    return target


def build_wheelhouse(target: Path, cache: Path) -> Path:
    """The project's wheel plus every dependency's, built outside the lab (it has no index).

    By the documented command, ``scripts/wheelhouse``, into a cache kept per version
    of pyproject.toml (dependency wheels are reused; the project's own is built fresh,
    since the code under test changes between runs), then copied to ``target``.
    """
    import hashlib

    pins = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()[:16]
    built = cache / f"wheelhouse-{pins}"
    for stale in cache.glob("*"):
        if stale != built and stale.is_dir():  # wheels of an older pyproject.toml
            shutil.rmtree(stale, ignore_errors=True)
    subprocess.run([str(REPO / "scripts" / "wheelhouse"), str(built)], check=True)
    target.mkdir(parents=True, exist_ok=True)
    for wheel in built.glob("*.whl"):
        shutil.copy2(wheel, target / wheel.name)
    return target


@dataclass(frozen=True)
class Uploaded:
    node_id: str
    upload_url: str
    image_uuid: str
    answer: dict[str, object]


class CurlClient:
    """The seed's curl flow, run in the controller namespace where the hosts' names resolve.

    ``ca_file``: the CA that signed the hosts' certificates (https origins), passed
    as ``--cacert``; without it curl trusts the system's CAs. Never ``-k``.
    """

    def __init__(
        self, lab: Lab, api_token: str, app_origin: str, ca_file: Path | None = None
    ) -> None:
        self.lab = lab
        self.api_token = api_token
        self.app_origin = app_origin
        self.ca_file = ca_file

    def curl(self, *args: str, timeout: float = 60) -> tuple[int, str]:
        """HTTP status and body of one curl call (no exception on 4xx/5xx; 0 and curl's error)."""
        trust = ["--cacert", str(self.ca_file)] if self.ca_file else []
        argv = ["curl", "-sS", "--max-time", str(int(timeout)), "-w", "\n%{http_code}", *trust]
        argv += args
        result = self.lab.controller.run(argv, check=False, timeout=timeout + 10)
        if result.returncode != 0:
            return 0, result.stderr.strip()
        body, _, status = result.stdout.rpartition("\n")
        return int(status), body

    def open_session(self, image: Path, avoid_nodes: tuple[str, ...] = ()) -> dict[str, object]:
        request = {
            "file_size": image.stat().st_size,
            "filename": image.name,
            "content_type": "image/jpeg",
            "avoid_nodes": list(avoid_nodes),
        }
        status, body = self.curl(
            "-X", "POST",
            "-H", "Content-Type: application/json",
            "-H", f"Authorization: Bearer {self.api_token}",
            "-d", json.dumps(request),
            f"{self.app_origin}/api/v1/upload/sessions",
        )  # fmt: skip
        if status != 201:
            raise AssertionError(f"upload session refused: {status} {body}")
        answer: dict[str, object] = json.loads(body)
        return answer

    def upload(self, image: Path, avoid_nodes: tuple[str, ...] = ()) -> Uploaded:
        """Ask the app where to upload, then POST the file straight to that node."""
        session = self.open_session(image, avoid_nodes)
        upload_url = str(session["upload_url"])
        status, body = self.curl(
            "-X", "POST",
            "-H", f"Authorization: Bearer {session['token']}",
            "-F", f"file=@{image};type=image/jpeg",
            upload_url,
        )  # fmt: skip
        if status not in (200, 201):
            raise AssertionError(f"upload to {upload_url} refused: {status} {body}")
        answer = json.loads(body)
        # The node by the upload URL's host name (s01.pixelfox.test -> s01).
        node_id = (urlsplit(upload_url).hostname or "").split(".")[0]
        return Uploaded(node_id, upload_url, str(answer["image_uuid"]), answer)

    def image_status(self, image_uuid: str) -> dict[str, object]:
        status, body = self.curl(
            "-H", f"Authorization: Bearer {self.api_token}",
            f"{self.app_origin}/api/v1/image/status/{image_uuid}",
        )  # fmt: skip
        assert status == 200, f"status of {image_uuid}: {status} {body}"
        answer: dict[str, object] = json.loads(body)
        return answer


# Run on the app host with the app's settings: what an admin does in the web UI.
_CREATE_API_TOKEN = """
import asyncio, sys
from pixelfox_app.auth import create_api_token
from pixelfox_app.config import AppSettings
from pixelfox_app.db import close_db, init_db
from pixelfox_app.models import User

async def main():
    await init_db(AppSettings.from_env().effective_database_url)
    try:
        user = await User.get(username=sys.argv[1])
        print(await create_api_token(user, "ansible lab test"))
    finally:
        await close_db()

asyncio.run(main())
"""


def create_api_token(lab: Lab, username: str) -> str:
    argv = [
        "/opt/pixelfox/bin/pixelfox-env", "/etc/pixelfox/app.env",
        "/opt/pixelfox/venv/bin/python", "-c", _CREATE_API_TOKEN, username,
    ]  # fmt: skip
    return lab.run(APP, argv, timeout=120).stdout.strip()
