"""Where the lab cannot run, its tests skip and say why; under PIXELFOX_REQUIRE_LAB=1 they fail.

And a lab prefix is one run's at a time: a second run waits for it instead of
tearing down the first run's lab.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.helpers import LOCK_DIR, prefix_held

ROOT = Path(__file__).resolve().parents[2]
A_LAB_TEST = "tests/lab/test_lab.py::test_each_host_has_its_own_hostname"
# What the run below lacks: root, or (run as root) the lab's tools, which it cannot find.
WHY = "lab tests need root" if os.geteuid() != 0 else "missing ip, tc, nsenter"


def _run_without_lab_support(**env: str) -> subprocess.CompletedProcess[str]:
    """One lab test in a pytest of its own, with no lab tools on its PATH."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("PIXELFOX_", "PYTEST_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", A_LAB_TEST],
        cwd=ROOT,
        env={**environment, "PATH": "/nonexistent", "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_lab_test_that_cannot_run_is_skipped_and_the_summary_says_why() -> None:
    run = _run_without_lab_support()

    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped" in run.stdout
    assert "1 lab tests SKIPPED" in run.stdout
    assert WHY in run.stdout


def test_under_require_lab_a_lab_test_that_cannot_run_fails() -> None:
    run = _run_without_lab_support(PIXELFOX_REQUIRE_LAB="1")

    assert run.returncode == 1, run.stdout + run.stderr
    assert f"PIXELFOX_REQUIRE_LAB=1, but lab tests cannot run here: {WHY}" in run.stdout
    assert "skipped" not in run.stdout


_HOLD = """
import sys
from tests.lab.helpers import LOCK_DIR, prefix_held
with prefix_held(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_lab_prefix_another_run_holds_is_waited_for_and_named_then_taken() -> None:
    prefix = f"pfl{os.getpid() % 100000}"
    other = subprocess.Popen(
        [sys.executable, "-c", _HOLD, prefix],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline() == "held\n"
        in_use = pytest.raises(pytest.fail.Exception, match=f"still in use by pid {other.pid}:")
        with in_use, prefix_held(prefix, wait=0.5):
            pass
    finally:
        other.communicate("", timeout=30)  # the other run ends: its lock goes with it
    with prefix_held(prefix, wait=0):
        pass
    (LOCK_DIR / f"pixelfox-test-lab-{prefix}.lock").unlink()  # this test's prefix alone
