"""The test harness itself: ports one test process owns, services healthy on their own port."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT, Service, free_port, listens_on, reserve

_HOLD_A_PORT = """
from tests.support import free_port
print(free_port(), flush=True)
input()
"""


class _Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stranger() -> Iterator[int]:
    """A port on which someone else (a server in this test process) answers 200 to anything."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_port_another_test_process_was_given_is_not_given_again_while_it_lives():
    other = subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_PORT],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None
        port = int(other.stdout.readline())
        assert not reserve(port)
    finally:
        other.communicate("\n", timeout=30)
    assert reserve(port)  # its reservation ended with it


def test_ports_come_from_below_the_ephemeral_range():
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert all(1024 <= free_port() < low for _ in range(20))


def test_a_service_is_healthy_only_once_its_own_process_answers(tmp_path: Path):
    port = free_port()
    service = Service(
        "http.server",
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        {},
        tmp_path / "server.log",
    )
    try:
        service.start(f"http://127.0.0.1:{port}/", timeout=30)
        assert service.proc is not None and listens_on(service.proc.pid, port)
    finally:
        service.stop()


def test_a_service_whose_port_another_process_serves_is_not_healthy(tmp_path: Path, stranger: int):
    # It cannot bind the port and exits; the stranger's 200 must not count for it.
    service = Service(
        "http.server",
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(stranger)],
        {},
        tmp_path / "server.log",
    )
    with pytest.raises(RuntimeError, match=r"exited early .*another process listens"):
        service.start(f"http://127.0.0.1:{stranger}/", timeout=30)


def test_a_service_that_never_listens_is_not_healthy_on_a_strangers_answer(
    tmp_path: Path, stranger: int
):
    service = Service("sleeper", ["sleep", "60"], {}, tmp_path / "sleeper.log")
    try:
        with pytest.raises(RuntimeError, match=r"not healthy .*another process listens"):
            service.start(f"http://127.0.0.1:{stranger}/healthz", timeout=1.5)
    finally:
        service.kill()
