"""The telemetry spool: order, idempotence, ack, bounds, and survival of ``kill -9``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hedgerow.telemetry.spool import Spool, SpoolError


def test_fifo_idempotent_and_ack(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    for i in range(5):
        assert spool.put("finding", {"n": i}, event_id=f"e{i}")
    assert not spool.put("finding", {"n": 99}, event_id="e2")
    items = spool.peek(3)
    assert [it.event_id for it in items] == ["e0", "e1", "e2"]
    assert items[2].payload == {"n": 2}
    assert spool.ack(["e0", "e1", "unknown"]) == 2
    assert [it.event_id for it in spool.peek(10)] == ["e2", "e3", "e4"]
    assert len(spool) == 3
    spool.close()
    reopened = Spool(tmp_path / "s.db")
    assert len(reopened) == 3
    reopened.close()


def test_bounded_drops_oldest(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.db", max_items=10) as spool:
        for i in range(25):
            spool.put("alert", {"n": i}, event_id=str(i))
        assert len(spool) == 10
        assert spool.dropped == 15
        assert spool.peek(1)[0].event_id == "15"


def test_unwritable_path_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    try:
        Spool(blocker / "s.db")
    except SpoolError as exc:
        assert str(blocker) in str(exc)
    else:
        raise AssertionError("expected SpoolError")


_WRITER = """
import sys
from hedgerow.telemetry.spool import Spool
spool = Spool(sys.argv[1])
i = 0
while True:
    spool.put("alert", {"n": i, "pad": "x" * 200}, event_id=f"w{i}")
    if i == 50:
        print("ready", flush=True)
    i += 1
"""


def test_survives_sigkill_mid_write(tmp_path: Path) -> None:
    """A real writer process is killed with SIGKILL while writing; nothing committed is lost."""
    path = tmp_path / "s.db"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    with Spool(path) as spool:
        n = len(spool)
        assert n > 50
        items = spool.peek(n)
        # Every committed item is intact and the sequence has no holes: w0 .. w(n-1).
        assert [it.event_id for it in items] == [f"w{i}" for i in range(n)]
        assert all(it.payload["n"] == i for i, it in enumerate(items))
        # And the spool still takes writes after the crash.
        assert spool.put("alert", {"after": True}, event_id="after-crash")
