"""A running lab: hosts that behave like separate small VPS, reachable from the controller."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pixelfox_lab import Lab
from tests.lab.helpers import TEST_PREFIX, TEST_SUBNET

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
# 2 s at the cap: long against tbf's burst (0.1 MB here), and a cap far below what
# even a busy machine moves between two hosts, so "uncapped" is never the limit.
TRANSFER_BYTES = 4_000_000
CAP_MBIT = 16
_DOWNLOAD = """
import sys, time, urllib.request
url = sys.argv[1]
deadline = time.monotonic() + 60  # until the server (started just before) answers
while True:
    try:
        urllib.request.urlopen(url + "ok").read()
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
started = time.monotonic()
size = len(urllib.request.urlopen(url + "blob").read())
print(size / (time.monotonic() - started))
"""


def _getent(lab: Lab, where: str, names: list[str]) -> dict[str, str]:
    cmd = ["getent", "hosts", *names]
    result = lab.controller.run(cmd) if where == "controller" else lab.run(where, cmd)
    out = result.stdout
    return {fields[1]: fields[0] for fields in (line.split() for line in out.splitlines())}


def test_each_host_has_its_own_hostname(lab: Lab) -> None:
    for host in lab.hosts:
        assert lab.run(host, "hostname; cat /etc/hostname").stdout.split() == [host, host]


def test_lab_names_resolve_from_every_host_and_the_controller(lab: Lab) -> None:
    names = [lab.dns_name(h) for h in lab.hosts]
    expected = {lab.dns_name(h): lab.address(h) for h in lab.hosts}
    for where in [*lab.hosts, "controller"]:
        assert _getent(lab, where, names) == expected, where


def test_outside_names_fail_fast_inside_hosts(lab: Lab) -> None:
    result = lab.run("s01", ["getent", "hosts", "deb.debian.org"], check=False)
    assert result.returncode != 0
    # Fast by construction, not by luck: the one resolver is the gateway, where
    # nothing listens on port 53 (the kernel refuses the query at once), and a
    # query that got no answer at all would be given up after one second.
    gateway = TEST_SUBNET.rsplit(".", 1)[0] + ".1"
    resolv = lab.run("s01", "cat /etc/resolv.conf").stdout.splitlines()
    assert resolv == [f"nameserver {gateway}", "options timeout:1 attempts:1"]
    listening = subprocess.run(
        ["ip", "netns", "exec", f"{TEST_PREFIX}-sw", "ss", "-Hlntu", "sport = :53"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert listening.stdout.strip() == ""


def test_hosts_have_a_default_route_to_a_gateway_that_forwards_nothing(lab: Lab) -> None:
    gateway = TEST_SUBNET.rsplit(".", 1)[0] + ".1"
    assert lab.run("s02", "ip route show default").stdout.startswith(f"default via {gateway} ")
    forwarding = subprocess.run(
        ["ip", "netns", "exec", f"{TEST_PREFIX}-sw", "cat", "/proc/sys/net/ipv4/ip_forward"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert forwarding.stdout.strip() == "0"


def test_the_machine_gets_no_lab_address_route_or_interface(lab: Lab) -> None:
    net = TEST_SUBNET.rsplit(".", 1)[0] + "."
    for what in (["route"], ["addr"]):
        out = subprocess.run(["ip", "-o", *what], capture_output=True, text=True).stdout
        assert net not in out
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f" {TEST_PREFIX}-" not in links


def test_loopback_is_up_inside_hosts(lab: Lab) -> None:
    echo = (
        "import socket; s = socket.create_server(('127.0.0.1', 0)); "
        "c = socket.create_connection(s.getsockname()); a, _ = s.accept(); "
        "c.sendall(b'ping'); print(a.recv(4).decode())"
    )
    assert lab.run("app", [sys.executable, "-c", echo]).stdout.strip() == "ping"


def test_unprivileged_users_inside_hosts_can_use_the_filesystem(lab: Lab) -> None:
    as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    assert lab.run("app", [*as_nobody, "cat", "/etc/hostname"]).stdout == "app\n"
    assert lab.run("app", [*as_nobody, "touch", "/tmp/nobody-was-here"]).returncode == 0


def test_hosts_run_the_project_from_its_virtualenv(lab: Lab) -> None:
    probe = "import pixelfox_lab, sys; print(pixelfox_lab.__file__)"
    out = lab.run("s03", [sys.executable, "-c", probe], cwd="/srv").stdout
    assert out.strip() == str(REPO / "pixelfox_lab" / "__init__.py")


def test_a_host_does_not_see_another_hosts_files(lab: Lab) -> None:
    lab.run("s01", "mkdir -p /srv/pool && echo s01-only > /srv/pool/marker")
    assert lab.run("s01", "cat /srv/pool/marker").stdout == "s01-only\n"
    assert lab.run("s02", "test -e /srv/pool/marker", check=False).returncode == 1
    assert not Path("/srv/pool/marker").exists()
    assert lab.run("s02", "test -e /var/lib/pixelfox-lab", check=False).returncode == 1


def test_a_host_does_not_see_another_hosts_processes(lab: Lab) -> None:
    service = lab.popen("s01", ["sleep", "3607"])
    try:
        inner = service.inner_pid(timeout=60)
        assert inner is not None
        # nsenter forks, then the child execs sleep: wait for the exec, not a while.
        deadline = time.monotonic() + 60
        while Path(f"/proc/{inner}/cmdline").read_bytes() != b"sleep\x003607\x00":
            assert time.monotonic() < deadline, Path(f"/proc/{inner}/cmdline").read_bytes()
            time.sleep(0.01)
        assert "sleep 3607" in lab.run("s01", "ps -eo args").stdout
        assert "sleep 3607" not in lab.run("s02", "ps -eo args").stdout
        assert lab.run("s02", "cat /proc/1/comm").stdout.strip() == "sshd"
    finally:
        service.terminate()
    assert service.wait(timeout=10) == -15
    assert "sleep 3607" not in lab.run("s01", "ps -eo args").stdout


def test_the_controller_reaches_every_host_over_ssh_by_name(lab: Lab) -> None:
    sessions = {
        host: lab.controller.popen(
            ["ssh", "-o", "BatchMode=yes", f"root@{lab.dns_name(host)}", "hostname"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for host in lab.hosts
    }
    for host, session in sessions.items():
        out, err = session.communicate(timeout=60)
        assert (session.returncode, out) == (0, f"{host}\n"), err


def test_a_bandwidth_cap_limits_throughput(lab: Lab) -> None:
    lab.run("s02", f"mkdir -p /srv/bw && head -c {TRANSFER_BYTES} /dev/zero > /srv/bw/blob")
    lab.run("s02", "touch /srv/bw/ok")
    server = lab.popen(
        "s02",
        [sys.executable, "-m", "http.server", "8080", "--directory", "/srv/bw"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{lab.dns_name('s02')}:8080/"
    try:
        uncapped = float(lab.run("s01", [sys.executable, "-c", _DOWNLOAD, url]).stdout)
        lab.set_bandwidth("s01", CAP_MBIT)
        capped = float(lab.run("s01", [sys.executable, "-c", _DOWNLOAD, url]).stdout)
    finally:
        lab.set_bandwidth("s01", None)
        server.terminate()
        server.wait(timeout=10)
    cap_bytes_per_s = CAP_MBIT * 1e6 / 8
    assert capped < 1.5 * cap_bytes_per_s
    assert uncapped > 2 * capped


def test_add_host_joins_a_running_lab(lab: Lab) -> None:
    lab.add_host("s04")
    try:
        assert "s04" in Lab.attach(TEST_PREFIX).hosts
        assert lab.controller.ssh("s04", "hostname").stdout == "s04\n"
        for where in ("s01", "controller"):
            assert _getent(lab, where, ["s04.pixelfox.test"]) == {
                "s04.pixelfox.test": lab.address("s04")
            }
        assert lab.run("s04", "getent hosts app").stdout.split()[0] == lab.address("app")
    finally:
        lab.remove_host("s04")
    assert "s04" not in lab.run("s01", "cat /etc/hosts").stdout
    assert lab.run("s01", ["getent", "hosts", "s04"], check=False).returncode != 0


def test_the_command_line_shows_and_enters_the_lab(lab: Lab) -> None:
    cli = [sys.executable, "-m", "pixelfox_lab", "--prefix", TEST_PREFIX]
    status = subprocess.run([*cli, "status"], capture_output=True, text=True, check=True)
    for host in lab.hosts:
        assert f"{lab.address(host)}  {lab.dns_name(host)}" in status.stdout
    hostname = subprocess.run(
        [*cli, "exec", "s02", "--", "hostname"], capture_output=True, text=True, check=True
    )
    assert hostname.stdout == "s02\n"
    over_ssh = subprocess.run(
        [*cli, "ssh", "s03", "hostname"], capture_output=True, text=True, check=True
    )
    assert over_ssh.stdout == "s03\n"


def test_forward_reaches_a_hosts_web_server_from_this_machines_loopback(lab: Lab) -> None:
    import urllib.request

    cli = [sys.executable, "-m", "pixelfox_lab", "--prefix", TEST_PREFIX]
    server = subprocess.Popen(
        [*cli, "exec", "s01", "--", sys.executable, "-m", "http.server", "80"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    relay = subprocess.Popen([*cli, "forward", "s01"], stdout=subprocess.PIPE, text=True)
    try:
        assert relay.stdout is not None
        relay.stdout.readline()  # the comment line
        line = relay.stdout.readline()
        assert line.startswith("127.0.80.1 s01.pixelfox.test"), line
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen("http://127.0.80.1/", timeout=5) as answer:
                    body = answer.read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert b"Directory listing" in body
    finally:
        relay.terminate()
        server.terminate()
        relay.wait(timeout=30)
        server.wait(timeout=30)
