"""The controller: a network namespace on the lab's switch from which SSH reaches every host.

It has no filesystem of its own. `ip netns exec` binds the files under
/etc/netns/<prefix>-ctl over /etc, so inside it `/etc/hosts` names the lab hosts
and `/etc/ssh` holds an ssh_config (key, user root) and the hosts' public keys:
`ssh root@s01.pixelfox.test` there behaves as towards a VPS, and so does Ansible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pixelfox_lab.config import CONTROLLER, LabConfig
from pixelfox_lab.hosts import render_resolv_conf
from pixelfox_lab.network import add_netns, attach
from pixelfox_lab.procs import check_result, run

_PORT = "ctl"


def _ssh_config(config: LabConfig, key: Path) -> str:
    return f"""\
# Written by pixelfox_lab for the controller of lab {config.prefix!r}.
Host *
    User root
    IdentityFile {key}
    IdentitiesOnly yes
    GlobalKnownHostsFile /etc/ssh/ssh_known_hosts
    UserKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    ConnectTimeout 10
"""


class Controller:
    """Run commands in the controller namespace, e.g. `ssh` or `ansible-playbook`.

    Unlike commands in hosts, these see the machine's own filesystem and inherit
    the caller's environment.
    """

    def __init__(self, config: LabConfig, children: list[subprocess.Popen[Any]]) -> None:
        self.config = config
        self._children = children
        self.netns = config.controller_ns
        self.private_key = config.controller_dir / "id_ed25519"
        self.etc_dir = config.netns_etc_dir

    @property
    def public_key(self) -> str:
        return self.private_key.with_suffix(".pub").read_text()

    def create(self) -> None:
        """Make the key pair, the namespace on the switch and the /etc files."""
        self.config.controller_dir.mkdir(parents=True, exist_ok=True)
        if not self.private_key.exists():
            comment = f"{self.config.prefix}-{CONTROLLER}"
            run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    comment,
                    "-f",
                    str(self.private_key),
                ]
            )
        add_netns(self.netns)
        attach(self.config, self.netns, _PORT, self.config.controller_address)
        ssh_dir = self.etc_dir / "ssh"
        ssh_dir.mkdir(parents=True, exist_ok=True)
        (self.etc_dir / "resolv.conf").write_text(render_resolv_conf(self.config))
        (ssh_dir / "ssh_config").write_text(_ssh_config(self.config, self.private_key))
        (ssh_dir / "ssh_known_hosts").touch()

    def set_names(self, etc_hosts: str) -> None:
        (self.etc_dir / "hosts").write_text(etc_hosts)

    def trust_host(self, host: str, address: str, host_key: str) -> None:
        names = f"{self.config.dns_name(host)},{host},{address}"
        with open(self.etc_dir / "ssh" / "ssh_known_hosts", "a") as known:
            known.write(f"{names} {host_key}\n")

    def remove_files(self) -> None:
        shutil.rmtree(self.etc_dir, ignore_errors=True)

    def argv(self, cmd: Sequence[str] | str) -> list[str]:
        """argv that runs `cmd` in the controller; a string runs in sh."""
        inner = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        return ["ip", "netns", "exec", self.netns, *inner]

    def popen(
        self, cmd: Sequence[str] | str, *, env: Mapping[str, str] | None = None, **kwargs: Any
    ) -> subprocess.Popen[Any]:
        """Start `cmd` in the controller; the caller stops it, or `down` kills it."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(self.argv(cmd), env={**os.environ, **(env or {})}, **kwargs)
        self._children.append(proc)
        return proc

    def run(
        self,
        cmd: Sequence[str] | str,
        check: bool = True,
        *,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `cmd` in the controller to completion, output captured as text."""
        result = subprocess.run(
            self.argv(cmd),
            env={**os.environ, **(env or {})},
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return check_result(result) if check else result

    def ssh(
        self, host: str, cmd: str, check: bool = True, *, timeout: float | None = 60
    ) -> subprocess.CompletedProcess[str]:
        """`ssh -o BatchMode=yes root@<host's DNS name> cmd`, from the controller."""
        target = f"root@{self.config.dns_name(host)}"
        return self.run(["ssh", "-o", "BatchMode=yes", target, cmd], check, timeout=timeout)
