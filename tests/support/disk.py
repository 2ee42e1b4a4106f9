"""A full disk made by the test itself: a small tmpfs it mounts (as root) and
fills, so the machine's own disks are never touched.

Mounting needs root. Elsewhere a test that asks for a small disk skips, saying
why, unless CI=true or KIOSK_REQUIRE_MOUNT is set (.ci/run sets it), where that
is a failure. Every test that uses a `small_disk` fixture is marked `mount`
(tests/conftest.py).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

MOUNT_REQUIRED = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes") or os.environ.get(
    "KIOSK_REQUIRE_MOUNT", ""
).strip() not in ("", "0")


def skip_or_fail(why: str) -> None:
    if MOUNT_REQUIRED:
        pytest.fail(f"{why}; CI or KIOSK_REQUIRE_MOUNT is set, so this is a failure", pytrace=False)
    pytest.skip(why)


def fill(root: Path, leave: int = 0) -> Path:
    """Fill the file system under `root` to the last byte, then free `leave`
    bytes. Returns the filler file (deleting it frees the disk)."""
    filler = root / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (1 << 20, 1 << 12, 1):
            block = b"\0" * chunk
            while True:
                try:
                    os.write(fd, block)
                except OSError as error:
                    assert error.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    assert shutil.disk_usage(root).free == 0
    if leave:
        os.truncate(filler, filler.stat().st_size - leave)
        assert shutil.disk_usage(root).free >= leave
    return filler


class SmallDisk:
    """A mounted tmpfs, and a filler file to make it full."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.filler = root / "filler"

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def fill(self, leave: int = 0) -> None:
        """Fill the disk to the last byte, then free `leave` bytes."""
        fill(self.root, leave)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@contextmanager
def small_disk(where: Path, size_mb: int) -> Iterator[SmallDisk]:
    """A tmpfs of `size_mb` mounted at `where` (made here) for the block."""
    if os.geteuid() != 0:
        skip_or_fail("mounting a small file system for a full disk needs root")
    if shutil.which("mount") is None:
        skip_or_fail("mount is not installed")
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        skip_or_fail(f"could not mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield SmallDisk(where)
    finally:
        subprocess.run(["umount", str(where)], check=False)
        if os.path.ismount(where):
            subprocess.run(["umount", "-l", str(where)], check=False)
