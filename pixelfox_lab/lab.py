"""The `Lab`: several hosts on this machine that behave like small VPS."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from pixelfox_lab import hosts, network
from pixelfox_lab.config import (
    DEFAULT_DOMAIN,
    DEFAULT_HOSTS,
    DEFAULT_PREFIX,
    DEFAULT_ROOT,
    DEFAULT_SUBNET,
    LabConfig,
    LabError,
    validate_host_name,
)
from pixelfox_lab.controller import Controller
from pixelfox_lab.procs import (
    HostProcess,
    check_result,
    kill_netns_processes,
    netns_file_inode,
)
from pixelfox_lab.state import HostRecord, LabState, lab_lock
from pixelfox_lab.teardown import find_leftovers, teardown


@dataclass(frozen=True)
class HostStatus:
    name: str
    address: str
    dns_name: str
    pid: int | None
    """Outside PID of the host's PID 1 (its sshd); None when the host is not running."""
    ssh_listening: bool
    bandwidth_mbit: float | None


@dataclass(frozen=True)
class LabStatus:
    prefix: str
    up: bool
    subnet: str
    controller_address: str
    hosts: list[HostStatus]
    leftovers: list[str]
    """Remains of this lab when it is not up: reasons to run `down`."""


class Lab:
    """Isolated hosts on one machine, reachable over SSH from a controller namespace.

    Each host has its own network namespace on a private bridge, hostname, PID and
    IPC namespace, and a copy-on-write view of the machine's `/`; its PID 1 is sshd.
    A `Lab` object plans a lab (`up`) or, for one that is up, uses it: a fresh
    object with the same prefix finds a running lab through its state file.

        with Lab(hosts=["app", "s01"], prefix="pfx") as lab:
            lab.run("s01", "hostname").stdout  # "s01\\n"
            lab.controller.ssh("s01", "hostname")
    """

    def __init__(
        self,
        hosts: Iterable[str] = DEFAULT_HOSTS,
        prefix: str = DEFAULT_PREFIX,
        bandwidth_mbit: float | None = None,
        *,
        subnet: str = DEFAULT_SUBNET,
        domain: str = DEFAULT_DOMAIN,
        root: Path | None = None,
    ) -> None:
        self._planned = [validate_host_name(h) for h in hosts]
        if len(set(self._planned)) != len(self._planned):
            raise LabError(f"duplicate host names in {self._planned}")
        self.bandwidth_mbit = bandwidth_mbit
        self._state: LabState | None = None
        self._inits: dict[str, int] = {}
        # Processes this object started (host launchers, services), reaped at down.
        self._children: list[subprocess.Popen[Any]] = []
        self._use(LabConfig(prefix, subnet, domain, root or DEFAULT_ROOT))

    def _use(self, config: LabConfig) -> None:
        self.config = config
        self.controller = Controller(config, self._children)

    @classmethod
    def attach(cls, prefix: str = DEFAULT_PREFIX, root: Path | None = None) -> Lab:
        """The lab with this prefix that is up; LabError if there is none."""
        lab = cls(hosts=(), prefix=prefix, root=root)
        lab._current_state()
        return lab

    def __enter__(self) -> Lab:
        self.up()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()

    @property
    def prefix(self) -> str:
        return self.config.prefix

    @property
    def hosts(self) -> list[str]:
        """Names of the hosts: those of the running lab, else those planned."""
        state = self._state or LabState.load(self.prefix, self.config.root)
        return list(state.hosts) if state else list(self._planned)

    def _current_state(self) -> LabState:
        if self._state is None:
            state = LabState.load(self.prefix, self.config.root)
            if state is None:
                raise LabError(f"lab {self.prefix!r} is not up (no {self.config.state_path})")
            self._use(state.config)
            self.bandwidth_mbit = state.bandwidth_mbit
            self._state = state
        return self._state

    # Lifecycle

    def up(self) -> None:
        """Create the switch, the controller and every planned host; wait for their sshd.

        On any failure, everything created so far is torn down before the error
        propagates. LabError if anything of a lab with this prefix exists already.
        """
        with lab_lock(self.config.root):
            leftovers = find_leftovers(self.config)
            if leftovers:
                raise LabError(
                    f"lab {self.prefix!r} exists already; run down first:\n" + "\n".join(leftovers)
                )
            hosts.check_lower_layer()
            try:
                self._up()
            except BaseException:
                self._teardown()
                raise

    def _up(self) -> None:
        state = LabState(self.config, self.bandwidth_mbit)
        for name in self._planned:
            state.hosts[name] = HostRecord(state.next_address(), self.bandwidth_mbit)
        self._state = state
        state.save()
        network.create_switch(self.config)
        self.controller.create()
        etc_hosts = self._etc_hosts()
        self.controller.set_names(etc_hosts)
        started = {name: self._launch(name, etc_hosts) for name in state.hosts}
        for name, (launcher, host_key) in started.items():
            self._inits[name] = hosts.wait_ready(self.config, name, launcher)
            self.controller.trust_host(name, state.hosts[name].address, host_key)

    def _launch(self, name: str, etc_hosts: str) -> tuple[subprocess.Popen[bytes], str]:
        record = self._current_state().hosts[name]
        netns = self.config.host_ns(name)
        network.add_netns(netns)
        network.attach(self.config, netns, name, record.address)
        if record.bandwidth_mbit is not None:
            network.set_bandwidth(self.config, netns, name, record.bandwidth_mbit)
        host_key = hosts.prepare(self.config, name, etc_hosts, self.controller.public_key)
        launcher = hosts.start(self.config, name)
        self._children.append(launcher)
        return launcher, host_key

    def down(self) -> None:
        """Kill every process of the lab, delete its namespaces, mounts and files.

        Idempotent; works after a failed `up`, after a crash and from a fresh
        process. LabError lists anything that could not be removed.
        """
        with lab_lock(self.config.root):
            self._teardown()

    def _teardown(self) -> None:
        try:
            teardown(self.config, self._children)
        finally:
            self._state = None
            self._inits.clear()
            self._children.clear()

    def add_host(self, name: str, *, bandwidth_mbit: float | None = None) -> None:
        """Add a host to the running lab and name it in every other host's /etc/hosts.

        `bandwidth_mbit` None means the lab's default cap.
        """
        validate_host_name(name)
        with lab_lock(self.config.root):
            state = self._current_state()
            if name in state.hosts:
                raise LabError(f"host {name!r} is already in lab {self.prefix!r}")
            cap = bandwidth_mbit if bandwidth_mbit is not None else state.bandwidth_mbit
            state.hosts[name] = HostRecord(state.next_address(), cap)
            state.save()
            try:
                launcher, host_key = self._launch(name, self._etc_hosts())
                self._inits[name] = hosts.wait_ready(self.config, name, launcher)
            except BaseException:
                self._remove_host(name)
                raise
            self.controller.trust_host(name, state.hosts[name].address, host_key)
            self._publish_names()

    def remove_host(self, name: str) -> None:
        """Stop a host, delete everything of it and drop it from every /etc/hosts."""
        with lab_lock(self.config.root):
            self._require_host(name)
            self._remove_host(name)
            self._publish_names()

    def _remove_host(self, name: str) -> None:
        state = self._current_state()
        netns = self.config.host_ns(name)
        inode = netns_file_inode(network.netns_path(netns))
        if inode is not None:
            kill_netns_processes([inode])
        self._reap()
        network.delete_netns(netns)
        hosts.remove_files(self.config, name)
        state.hosts.pop(name, None)
        self._inits.pop(name, None)
        state.save()

    def _etc_hosts(self) -> str:
        addresses = {n: r.address for n, r in self._current_state().hosts.items()}
        return hosts.render_etc_hosts(self.config, addresses)

    def _publish_names(self) -> None:
        etc_hosts = self._etc_hosts()
        self.controller.set_names(etc_hosts)
        for name in self.hosts:
            init = hosts.find_init(self.config, name)
            if init is not None:
                hosts.write_file(init, "/etc/hosts", etc_hosts)

    def set_bandwidth(self, host: str, mbit: float | None) -> None:
        """Cap a running host's bandwidth in both directions (None lifts the cap)."""
        with lab_lock(self.config.root):
            record = self._require_host(host)
            network.set_bandwidth(self.config, self.config.host_ns(host), host, mbit)
            record.bandwidth_mbit = mbit
            self._current_state().save()

    def status(self) -> LabStatus:
        """Hosts, addresses and liveness of the lab; leftovers when it is not up."""
        try:
            state = self._current_state()
        except LabError:
            return LabStatus(
                prefix=self.prefix,
                up=False,
                subnet=self.config.subnet,
                controller_address=self.config.controller_address,
                hosts=[],
                leftovers=find_leftovers(self.config),
            )
        rows = []
        for name, record in state.hosts.items():
            pid = hosts.find_init(self.config, name)
            rows.append(
                HostStatus(
                    name=name,
                    address=record.address,
                    dns_name=self.dns_name(name),
                    pid=pid,
                    ssh_listening=pid is not None and hosts.listens_on_ssh(pid),
                    bandwidth_mbit=record.bandwidth_mbit,
                )
            )
        return LabStatus(
            prefix=self.prefix,
            up=True,
            subnet=self.config.subnet,
            controller_address=self.config.controller_address,
            hosts=rows,
            leftovers=[],
        )

    # Using hosts

    def address(self, host: str) -> str:
        """The host's IPv4 address on the lab's bridge."""
        return self._require_host(host).address

    def dns_name(self, host: str) -> str:
        """The host's name in every lab /etc/hosts, e.g. `s01.pixelfox.test`."""
        return self.config.dns_name(host)

    def run(
        self,
        host: str,
        cmd: Sequence[str] | str,
        check: bool = True,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        input: str | None = None,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `cmd` inside a host to completion; stdout and stderr captured as text.

        A string runs through /bin/sh. The environment is a fresh one (PATH, HOME,
        LANG) plus `env`; `cwd` is a path inside the host. With `check`, a non-zero
        exit raises CommandError, whose message includes stderr.
        """
        pipe = subprocess.PIPE
        stdin = pipe if input is not None else subprocess.DEVNULL
        with self.popen(
            host, cmd, env=env, cwd=cwd, stdin=stdin, stdout=pipe, stderr=pipe, text=True
        ) as proc:
            try:
                out, err = proc.communicate(input, timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise
        result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        return check_result(result) if check else result

    def argv(self, host: str, cmd: Sequence[str] | str, cwd: str | None = None) -> list[str]:
        """argv of the machine that runs `cmd` inside a host, for tools that take one.

        Run it with an environment of your own, e.g. `hosts.BASE_ENV`; `popen`
        and `run` do that for you.
        """
        self._require_host(host)
        return hosts.enter_argv(self._init(host), cmd, cwd)

    def popen(
        self,
        host: str,
        cmd: Sequence[str] | str,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        **popen_kwargs: Any,
    ) -> HostProcess:
        """Start a long-running `cmd` inside a host; the caller stops it.

        Returns a `subprocess.Popen` whose `terminate()`/`kill()` signal the process
        inside the host (not the nsenter around it) and whose `wait()` returns its
        exit status. Give an argv list or `exec` in a shell string, so that the
        signalled process is the service itself. `down` kills whatever is left.
        """
        self._require_host(host)
        proc = hosts.popen(self._init(host), cmd, env=env, cwd=cwd, **popen_kwargs)
        self._reap()
        self._children.append(proc)
        return proc

    def _reap(self) -> None:
        self._children[:] = [c for c in self._children if c.poll() is None]

    def _require_host(self, host: str) -> HostRecord:
        record = self._current_state().hosts.get(host)
        if record is None:
            raise LabError(f"no host {host!r} in lab {self.prefix!r}; hosts: {self.hosts}")
        return record

    def _init(self, host: str) -> int:
        pid = self._inits.get(host)
        if pid is None or not hosts.is_init_of(pid, self.config, host):
            pid = hosts.find_init(self.config, host)
            if pid is None:
                raise LabError(f"host {host!r} of lab {self.prefix!r} is not running")
            self._inits[host] = pid
        return pid
