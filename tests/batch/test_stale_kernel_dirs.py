"""A fork server killed with SIGKILL cannot remove its kernel connection folder; the next fork
server removes the folders of servers that are gone and keeps those of live ones."""

from __future__ import annotations

import os
import subprocess
import sys

from perfkit.batch.forkserver import KERNEL_DIR_PREFIX, remove_stale_kernel_dirs


def test_folders_of_dead_servers_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    gone = tmp_path / f"{KERNEL_DIR_PREFIX}{dead.stdout.strip()}-abc123"
    live = tmp_path / f"{KERNEL_DIR_PREFIX}{os.getpid()}-def456"
    other = tmp_path / "perfkit-render-xyz"
    for folder in (gone, live, other):
        folder.mkdir()
        (folder / "kernel-1.json").write_text("{}")
    assert remove_stale_kernel_dirs(str(tmp_path)) == [gone.name]
    assert not gone.exists() and live.exists() and other.exists()
