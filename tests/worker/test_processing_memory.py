"""A node worker's memory: large buffers go back, whole-image decodes take turns."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import pyvips

from pixelfox_storage.processing import ImageLimits, inspect

ROOT = Path(__file__).resolve().parents[2]

# Frees an 8 MB block (the size of a decoded 1500x1000 base and then some) three
# times and prints how much more the process holds than before. With glibc's
# sliding mmap threshold, the first free raises the threshold to 8 MB, the next
# blocks come from the heap and stay resident after they are freed.
FREE_THREE_BLOCKS = """
import ctypes
from pixelfox_storage.processing import harden

def resident_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))

harden()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 8 << 20
before = resident_kb()
for _ in range(3):
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    libc.free(block)
print(resident_kb() - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_a_freed_image_buffer_is_given_back_to_the_system() -> None:
    # A fresh process: the mmap threshold is process-wide and slides with history.
    out = subprocess.run(
        [sys.executable, "-c", FREE_THREE_BLOCKS],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )

    kept_kb = int(out.stdout.strip().splitlines()[-1])
    assert kept_kb < 2048, f"{kept_kb} KB of freed 8 MB blocks stayed resident"


def _save(image: pyvips.Image, path: Path, **options: object) -> Path:
    image.write_to_file(str(path), **options)
    return path


@pytest.mark.parametrize(
    ("name", "options", "whole"),
    [
        ("baseline.jpg", {}, False),
        ("progressive.jpg", {"interlace": True}, True),
        ("plain.png", {}, False),
        ("interlaced.png", {"interlace": True}, True),
        ("still.webp", {}, False),
        ("still.gif", {}, True),
        ("still.avif", {"compression": "av1", "effort": 0}, True),
    ],
)
def test_originals_that_decode_as_a_whole_are_told_from_their_header(
    tmp_path: Path, name: str, options: dict[str, object], whole: bool
) -> None:
    image = pyvips.Image.black(64, 48, bands=3).new_from_image([90, 120, 200])
    original = _save(image, tmp_path / name, **options)

    assert inspect(original, ImageLimits()).whole is whole


# Decodes two progressive 4:4:4 JPEGs of 12 MP in two threads at once and prints
# how much the process's peak grew: each decode holds ~72 MB of coefficients.
TWO_PROGRESSIVE_DECODES = """
import sys
import threading
from pathlib import Path
from pixelfox_storage.processing import harden, parse_variants, render

def peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))

harden()
originals = [Path(arg) for arg in sys.argv[1:]]
specs = parse_variants("thumb:200:jpg")
before = peak_kb()
threads = [threading.Thread(target=lambda p=p: list(render(p, specs))) for p in originals]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print((peak_kb() - before) // 1024)
"""


def test_two_progressive_jpegs_are_not_decoded_at_once(tmp_path: Path) -> None:
    # Q95 keeps full-resolution chroma: 3 x 12 M coefficients of 2 bytes each.
    image = pyvips.Image.black(4000, 3000, bands=3).new_from_image([90, 120, 200])
    originals = [str(_save(image, tmp_path / f"{n}.jpg", Q=95, interlace=True)) for n in range(2)]

    out = subprocess.run(
        [sys.executable, "-c", TWO_PROGRESSIVE_DECODES, *originals],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )

    grew_mb = int(out.stdout.strip().splitlines()[-1])
    assert grew_mb < 110, f"two decodes at once: the peak grew by {grew_mb} MB"
