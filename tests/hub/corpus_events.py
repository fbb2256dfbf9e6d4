"""Telemetry built from real captures of the shared corpus (Zeek conn.logs with ground truth).

* inbound attacks: ``stratosphere/008-zeek-mixed`` — 24 h of a host on a public address, with
  every flow from the Internet labelled ``External-Attack-to-Device``;
* an outbound scan: ``slips/dataset/port-scans/horizontal`` — host 10.0.2.112 connecting to
  many external addresses;
* devices: ``iot-sentinel`` — real device types and their MAC addresses.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from hedgerow.model import Alert, AlertKind, Device, Severity

STRATO = "stratosphere/008-zeek-mixed/data/conn.log.labeled"
SLIPS_HSCAN = "slips/dataset/port-scans/horizontal/conn.log"
VENDOR_PREFIXES = {"D-Link": "D-Link", "TP-Link": "TP-Link", "Edimax": "Edimax",
                   "WeMo": "Belkin", "Ednet": "Ednet", "HomeMatic": "eQ-3"}


def read_zeek(path: Path) -> list[dict[str, str]]:
    """Rows of a Zeek TSV log as dicts keyed by its ``#fields`` header."""
    names: list[str] = []
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("#fields"):
            names = line.split("\t")[1:]
        elif line and not line.startswith("#"):
            rows.append(dict(zip(names, line.split("\t"), strict=False)))
    return rows


def labelled_attacks(corpus: Path) -> list[dict[str, str]]:
    return [r for r in read_zeek(corpus / STRATO)
            if r.get("detailedlabel") == "External-Attack-to-Device"]


def inbound_alerts(rows: list[dict[str, str]]) -> list[Alert]:
    """One inbound scan alert per attacking address, as a gateway would report it."""
    by_src: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_src[r["id.orig_h"]].append(r)
    alerts = []
    for src, flows in sorted(by_src.items()):
        ts = [float(f["ts"]) for f in flows]
        ports = sorted({int(f["id.resp_p"]) for f in flows})
        victim = flows[0]["id.resp_h"]
        alerts.append(Alert(
            kind=AlertKind.SCAN, detector="scan.inbound", detector_version="1",
            direction="inbound", device=victim, peers=(src,), severity=Severity.MEDIUM,
            confidence=0.9, start=min(ts), end=max(ts),
            summary=f"{src} probed {victim} on {len(ports)} ports",
            evidence={"flows": len(flows), "uids": [f["uid"] for f in flows[:50]],
                      "ports": ports[:50]},
            mitre=("T1046",)))
    return alerts


def outbound_scan_alert(corpus: Path, device: str) -> Alert:
    """The horizontal scan leaving 10.0.2.112 (attributed to ``device``)."""
    rows = [r for r in read_zeek(corpus / SLIPS_HSCAN) if r["id.orig_h"] == "10.0.2.112"]
    targets = sorted({r["id.resp_h"] for r in rows})
    ts = [float(r["ts"]) for r in rows]
    return Alert(kind=AlertKind.SCAN, detector="scan.horizontal", detector_version="1",
                 direction="outbound", device=device, peers=tuple(targets[:20]),
                 severity=Severity.HIGH, confidence=0.95, start=min(ts), end=max(ts),
                 summary=f"{device} contacted {len(targets)} external hosts",
                 evidence={"flows": len(rows), "targets": len(targets)}, mitre=("T1046",))


def sentinel_devices(corpus: Path) -> list[Device]:
    """IoT Sentinel's device types with their recorded MAC; vendor/model from the folder."""
    devices = []
    for folder in sorted((corpus / "iot-sentinel").iterdir()):
        mac_file = folder / "_iotdevice-mac.txt"
        if not mac_file.exists():
            continue
        mac = mac_file.read_text().strip()[:17]
        vendor = next((v for p, v in VENDOR_PREFIXES.items() if folder.name.startswith(p)),
                      None)
        if vendor is None:
            continue
        devices.append(Device(mac=mac, ips=(), vendor=vendor, model=folder.name,
                              kind="iot", first_seen=1.0, last_seen=2.0))
    return devices


def event(kind: str, payload: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {"id": event_id, "kind": kind, "payload": payload}
