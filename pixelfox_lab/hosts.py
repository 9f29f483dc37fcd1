"""One lab host: an overlay over the machine's `/`, its own namespaces, sshd as PID 1.

A host starts as `nsenter --net=<its netns> unshare --mount --uts --ipc --pid
--fork` running `_INIT_SCRIPT`, which mounts the host's root, pivots into it and
execs sshd. Commands enter it with `nsenter --target <PID 1> ... --root --wd`.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pixelfox_lab.config import CONTROLLER, LabConfig, LabError
from pixelfox_lab.network import netns_path
from pixelfox_lab.procs import (
    HostProcess,
    children,
    is_pid_ns_init,
    listens_on_tcp,
    netns_file_inode,
    ns_inode,
    pids_in_netns,
    run,
)

# What a command inside a host starts with, as over SSH on a fresh VPS: the
# caller's environment (virtualenvs, pytest variables) stays outside.
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
}
SSH_PORT = 22
# A fresh Debian root's dotfiles. The machine's own (e.g. a pyenv init costing
# 0.8 s) would otherwise run in every SSH command, since bash sources ~/.bashrc
# when started by sshd.
_ROOT_DOTFILES = {".bashrc": "dot.bashrc", ".profile": "dot.profile"}
_BASE_FILES = Path("/usr/share/base-files")
_AUTHORIZED_KEYS = "etc/ssh/authorized_keys"
_HOST_KEY = "etc/ssh/ssh_host_ed25519_key"
# Options on sshd's command line win over /etc/ssh/sshd_config, which stays the
# distribution's own for Ansible to manage. authorized_keys lives under /etc/ssh
# because StrictModes refuses one below a world-writable directory such as /tmp.
_SSHD = [
    "/usr/sbin/sshd", "-D", "-e",
    "-o", "PidFile=none",
    "-o", f"HostKey=/{_HOST_KEY}",
    "-o", f"AuthorizedKeysFile=/{_AUTHORIZED_KEYS}/%u",
    "-o", "PermitRootLogin=prohibit-password",
    "-o", "PasswordAuthentication=no",
    "-o", "UseDNS=no",
]  # fmt: skip
# Runs as the host's PID 1 in fresh mount/UTS/IPC/PID namespaces. The overlay's
# lower layer is the machine's root filesystem only (no submounts), so proc, sys
# and dev are mounted anew; /run, /tmp and /dev/shm are private tmpfs. pivot_root
# and the lazy umount drop every mount of the machine from the host's view.
_INIT_SCRIPT = """\
set -e
hostname "$1"
root=$2
mount -t overlay overlay -o "lowerdir=/,upperdir=$3,workdir=$4" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
mount -t tmpfs -o mode=755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
for share in $PIXELFOX_LAB_SHARES; do
  mkdir -p "$root$share"
  mount --bind "$share" "$root$share"
done
mkdir -m 755 "$root/run/sshd"
mkdir -m 1777 "$root/run/lock"
cd "$root"
pivot_root . .
umount -l .
cd /
shift 4
exec "$@"
"""
_READY_TIMEOUT = 15.0


def render_etc_hosts(config: LabConfig, addresses: Mapping[str, str]) -> str:
    lines = [
        "# Written by pixelfox_lab; rewritten whenever a host joins or leaves the lab.",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        f"{config.controller_address}\t{config.dns_name(CONTROLLER)} {CONTROLLER}",
    ]
    lines += [f"{addr}\t{config.dns_name(name)} {name}" for name, addr in addresses.items()]
    return "\n".join(lines) + "\n"


def render_resolv_conf(config: LabConfig) -> str:
    # Nothing answers DNS on the gateway, so a look-up of an outside name fails
    # at once instead of hanging on a resolver the lab cannot reach.
    return f"nameserver {config.gateway}\noptions timeout:1 attempts:1\n"


def _mkdir_like_lower(upper: Path, rel: Path) -> Path:
    """Create upper/rel with each component's owner and mode taken from the machine's `/`.

    An upper directory shadows the attributes of the lower one it merges with, so a
    plain mkdir would, for example, loosen /etc/ssh enough for sshd to refuse keys.
    """
    current = upper
    lower = Path("/")
    for part in rel.parts:
        current, lower = current / part, lower / part
        if current.exists():
            continue
        current.mkdir()
        try:
            st = lower.stat()
            os.chown(current, st.st_uid, st.st_gid)
            os.chmod(current, st.st_mode & 0o7777)
        except FileNotFoundError:
            os.chmod(current, 0o755)  # noqa: S103 - as plain `mkdir -p` would
    return current


def _write(upper: Path, rel: str, text: str, mode: int = 0o644) -> Path:
    path = upper / rel
    _mkdir_like_lower(upper, Path(rel).parent)
    path.write_text(text)
    os.chmod(path, mode)
    return path


def check_lower_layer() -> None:
    """Fail early if the project or its Python lie outside what hosts see of the machine."""
    root_dev = os.stat("/").st_dev
    for path in (Path(__file__).resolve().parents[1], Path(sys.base_prefix)):
        if os.stat(path).st_dev != root_dev:
            raise LabError(
                f"{path} is not on the root filesystem: lab hosts see only the root "
                "filesystem (their overlay's lower layer), so they could not run the project"
            )


def prepare(config: LabConfig, host: str, etc_hosts: str, authorized_key: str) -> str:
    """Create the host's upper layer with its identity files; return its public host key."""
    base = config.host_dir(host)
    if base.exists():
        shutil.rmtree(base)
    upper = base / "upper"
    for d in (upper, base / "work", base / "root"):
        d.mkdir(parents=True)
    # The upper root's mode becomes the host's `/`: under a strict umask, services
    # running as other users (nginx workers, postgres) could not traverse it.
    os.chmod(upper, os.stat("/").st_mode & 0o7777)
    config.log_path(host).parent.mkdir(parents=True, exist_ok=True)

    _write(upper, "etc/hostname", f"{host}\n")
    _write(upper, "etc/hosts", etc_hosts)
    _write(upper, "etc/resolv.conf", render_resolv_conf(config))
    _write(upper, "etc/machine-id", uuid.uuid4().hex + "\n", mode=0o444)
    _write(upper, f"{_AUTHORIZED_KEYS}/root", authorized_key)
    for name, template in _ROOT_DOTFILES.items():
        if (_BASE_FILES / template).exists():
            _write(upper, f"root/{name}", (_BASE_FILES / template).read_text())
    key = upper / _HOST_KEY
    _mkdir_like_lower(upper, Path(_HOST_KEY).parent)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host, "-f", str(key)])

    # A whiteout (character device 0:0) hides the lab root, and with it every
    # host's upper layer and the controller's private key, from inside the hosts.
    hidden = config.root.relative_to("/")
    _mkdir_like_lower(upper, hidden.parent)
    os.mknod(upper / hidden, stat.S_IFCHR | 0o600, os.makedev(0, 0))
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


def start(config: LabConfig, host: str) -> subprocess.Popen[bytes]:
    """Launch the host; its PID 1 is the child of the returned process."""
    base = config.host_dir(host)
    argv = [
        "nsenter", f"--net={netns_path(config.host_ns(host))}",
        "unshare", "--mount", "--uts", "--ipc", "--pid", "--fork", "--propagation", "private",
        "sh", "-c", _INIT_SCRIPT, "pixelfox-lab-init",
        host, str(base / "root"), str(base / "upper"), str(base / "work"),
        *_SSHD,
    ]  # fmt: skip
    with open(config.log_path(host), "ab") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**BASE_ENV, "PIXELFOX_LAB_SHARES": " ".join(_shares())},
            start_new_session=True,
        )


def _shares() -> list[str]:
    """The project and its virtualenv, where a host's private /tmp or /run would hide them.

    A checkout under /tmp (a CI clone, say) is in the overlay's lower layer but
    covered by the host's own tmpfs; it is bound in at the same path instead.
    """
    project = Path(__file__).resolve().parent.parent
    places = {str(project), str(Path(sys.prefix).resolve())}
    hidden = ("/tmp/", "/run/")  # noqa: S108 - paths the host covers, not files we write
    return sorted(p for p in places if p.startswith(hidden) and " " not in p)


def wait_ready(config: LabConfig, host: str, launcher: subprocess.Popen[bytes]) -> int:
    """Wait until the host's sshd listens; return the outside PID of its PID 1."""
    deadline = time.monotonic() + _READY_TIMEOUT
    init: int | None = None
    while time.monotonic() < deadline:
        if launcher.poll() is not None:
            break
        if init is None:
            init = next((c for c in children(launcher.pid) if is_pid_ns_init(c)), None)
        if init is not None and listens_on_tcp(init, SSH_PORT):
            return init
        time.sleep(0.01)
    log = config.log_path(host).read_text(errors="replace")[-2000:]
    raise LabError(f"host {host} did not come up (sshd not listening); its log:\n{log}")


def listens_on_ssh(init: int) -> bool:
    return listens_on_tcp(init, SSH_PORT)


def remove_files(config: LabConfig, host: str) -> None:
    shutil.rmtree(config.host_dir(host), ignore_errors=True)
    config.log_path(host).unlink(missing_ok=True)


def find_init(config: LabConfig, host: str) -> int | None:
    """Outside PID of a running host's PID 1, found through its network namespace."""
    inode = netns_file_inode(netns_path(config.host_ns(host)))
    if inode is None:
        return None
    return next((p for p in pids_in_netns([inode]) if is_pid_ns_init(p)), None)


def is_init_of(pid: int, config: LabConfig, host: str) -> bool:
    inode = netns_file_inode(netns_path(config.host_ns(host)))
    return inode is not None and ns_inode(pid, "net") == inode and is_pid_ns_init(pid)


def enter_argv(init: int, cmd: Sequence[str] | str, cwd: str | None = None) -> list[str]:
    """argv that runs `cmd` inside the host whose PID 1 is `init`; a string runs in sh."""
    argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
    if cwd is not None:
        argv = ["env", f"--chdir={cwd}", *argv]
    nsenter = ["nsenter", f"--target={init}", "--mount", "--uts", "--ipc", "--net", "--pid"]
    return [*nsenter, "--root", "--wd", "--", *argv]


def popen(
    init: int,
    cmd: Sequence[str] | str,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    **kwargs: Any,
) -> HostProcess:
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return HostProcess(enter_argv(init, cmd, cwd), env={**BASE_ENV, **(env or {})}, **kwargs)


def write_file(init: int, path: str, text: str) -> None:
    """Write a file inside a running host, through its PID 1's view of `/`."""
    Path(f"/proc/{init}/root{path}").write_text(text)
