"""File integrity: SHA-256 of critical files against a recorded baseline.

The baseline is a JSON file in the agent's state directory (``integrity.json``). Each check
first compares size, mtime and inode and hashes only files whose metadata changed, so a
monitoring cycle costs a handful of ``stat`` calls.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "etc").mkdir()
    >>> _ = (d / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\\n")
    >>> mon = IntegrityMonitor(str(d), ["/etc/passwd"], d / "integrity.json")
    >>> mon.load_or_record()
    False
    >>> _ = (d / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\\nevil:x:0:0::/:/bin/sh\\n")
    >>> [c["path"] for c in mon.changes()]
    ['/etc/passwd']
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from hedgerow.agent.observe import Snapshot
from hedgerow.model import Alert, AlertKind, Severity


def sha256_file(path: Path, limit: int = 256 << 20) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            remaining = limit
            while remaining > 0:
                chunk = fh.read(min(1 << 20, remaining))
                if not chunk:
                    break
                h.update(chunk)
                remaining -= len(chunk)
    except OSError:
        return None
    return h.hexdigest()


class IntegrityMonitor:
    name = "agent.integrity"
    version = "1"

    def __init__(self, root: str, files: list[str], baseline_path: Path,
                 device: str = "") -> None:
        self.root = root
        self.files = files
        self.baseline_path = baseline_path
        self.device = device
        self.baseline: dict[str, dict[str, Any]] = {}
        self._stat: dict[str, tuple[int, int, int]] = {}
        self._reported: dict[str, str | None] = {}

    def _real(self, device_path: str) -> Path:
        return Path(self.root) / device_path.lstrip("/")

    def _meta(self, device_path: str) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self._real(device_path))
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns, st.st_ino)

    def record(self) -> dict[str, dict[str, Any]]:
        """Hash every listed file now and save the baseline."""
        self.baseline = {}
        for f in self.files:
            digest = sha256_file(self._real(f))
            meta = self._meta(f)
            self.baseline[f] = {"sha256": digest, "size": meta[0] if meta else None}
            if meta:
                self._stat[f] = meta
        self.baseline_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.baseline_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"files": self.baseline}, indent=1, sort_keys=True))
        os.replace(tmp, self.baseline_path)
        return self.baseline

    def load_or_record(self) -> bool:
        """Load the saved baseline (True) or record a new one when none exists (False)."""
        try:
            doc = json.loads(self.baseline_path.read_text())
            self.baseline = dict(doc["files"])
            for f in self.files:
                if f not in self.baseline:
                    self.baseline[f] = {"sha256": sha256_file(self._real(f)), "size": None}
            return True
        except (OSError, ValueError, KeyError, TypeError):
            self.record()
            return False

    def changes(self) -> list[dict[str, Any]]:
        """Files whose hash differs from the baseline (appeared, changed or removed)."""
        out: list[dict[str, Any]] = []
        for f, entry in self.baseline.items():
            meta = self._meta(f)
            if meta is not None and self._stat.get(f) == meta:
                continue
            digest = sha256_file(self._real(f)) if meta is not None else None
            if meta is not None:
                self._stat[f] = meta
            if digest != entry.get("sha256"):
                out.append({"path": f, "baseline_sha256": entry.get("sha256"),
                            "sha256": digest})
        return out

    def observe(self, snap: Snapshot, prev: Snapshot | None) -> list[Alert]:
        alerts: list[Alert] = []
        for change in self.changes():
            if self._reported.get(change["path"], "unset") == change["sha256"]:
                continue
            self._reported[change["path"]] = change["sha256"]
            what = "removed" if change["sha256"] is None else (
                "created" if change["baseline_sha256"] is None else "modified")
            alerts.append(Alert(
                kind=AlertKind.ANOMALY, detector=self.name, detector_version=self.version,
                direction="internal", device=self.device, peers=(), severity=Severity.HIGH,
                confidence=0.7, start=snap.t, end=snap.t,
                summary=f"critical file {change['path']} was {what} since the baseline",
                evidence={**change, "change": what}, mitre=("T1565.001",),
                window_key=int(snap.t)))
        return alerts
