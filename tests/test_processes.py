"""Children die with their parent (prctl) and the reaper stops what escaped (processes of a dead owner)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

from workbench.processes import OWNER_ENV, reap_orphans

PARENT = """
import subprocess, sys, time
from workbench.processes import die_with_parent
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], preexec_fn=die_with_parent)
print(child.pid, flush=True)
time.sleep(120)
"""


def test_a_child_dies_with_its_killed_parent():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    try:
        assert child.is_running()
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        gone, _ = psutil.wait_procs([child], timeout=5)
        assert gone == [child]
    finally:
        for p in (child,):
            try:
                p.kill()
            except psutil.Error:
                pass


def test_the_reaper_stops_processes_whose_owner_is_dead(tmp_path):
    """A process marked with a dead owner (as an escaped Chromium helper would be) is killed; others are not."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    orphan = subprocess.Popen(sleeper, env={**os.environ, OWNER_ENV: str(dead.pid)})
    owned = subprocess.Popen(sleeper, env={**os.environ, OWNER_ENV: str(os.getpid())})
    try:
        time.sleep(0.2)
        killed = reap_orphans()
        assert orphan.pid in killed and owned.pid not in killed
        orphan.wait(timeout=5)                                  # gone (the reaper already collected it)
        assert owned.poll() is None
    finally:
        for p in (orphan, owned):
            p.kill()
            p.wait()


def test_a_profile_written_to_while_it_is_removed_is_still_removed(tmp_path):
    """Chromium's network service can write "Default/Network Persistent State" just after the browser has exited
    (seen in CI: the folder outlived close()); remove_profile tries again until the folder is gone."""
    import threading
    import time

    from workbench.processes import remove_profile
    profile = tmp_path / "workbench-chromium-1-x"
    (profile / "Default").mkdir(parents=True)
    stop = time.monotonic() + 0.3

    def late_writer() -> None:          # writes into the folder it has, as long as it is there, for 0.3 s
        while time.monotonic() < stop:
            try:
                (profile / "Default" / "Network Persistent State").write_text("{}")
            except OSError:
                pass
        return
    t = threading.Thread(target=late_writer)
    t.start()
    time.sleep(0.02)
    remove_profile(str(profile), wait=3.0)
    t.join()
    assert not profile.exists()
