"""The live analysis path gives the offline path's alerts (`hedgerow scan`), whatever the batch
size, and raises early alerts while an attack in a real capture is still going on."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgerow.capture import open_capture
from hedgerow.cli.scan import run_scan
from hedgerow.detect.ruleload import builtin_rules_dir
from hedgerow.model import Alert
from hedgerow.sense.analyze import StreamAnalyzer

CAPTURES = [
    "slips/dataset/test7-malicious.pcap",  # Hide and Seek telnet scanning from 192.168.2.16
    "slips/dataset/test19-malicious-ssh/malicious-ssh-bruteforce.pcap",
    "slips/dataset/test12-icmp-portscan.pcap",
    "ndpi/pcap/synscan.pcap",
    "ndpi/pcap/mining.pcapng",
    "stopddos/amp.TCP.reflection.SYNACK.pcap",
    "iot-sentinel/Aria/Setup-A-1-STA.pcap",  # benign: no alerts either way
]


def _stream(path: Path, batch_size: int) -> list[Alert]:
    analyzer = StreamAnalyzer.from_rules()
    alerts: list[Alert] = []
    with open_capture(str(path), batch_size=batch_size) as cap:
        for batch in cap:
            alerts += analyzer.feed(batch)
    return alerts + analyzer.finish()


@pytest.mark.parametrize("name", CAPTURES)
def test_final_alerts_equal_hedgerow_scan(corpus: Path, name: str) -> None:
    path = corpus / name
    if not path.exists():
        pytest.skip(f"{name} not in this corpus")
    offline = {a.dedup_key for a in run_scan([path]).alerts}
    for batch_size in (65536, 150):
        streamed = _stream(path, batch_size)
        assert {a.evidence["stage"] for a in streamed} <= {"final"}
        assert {a.dedup_key for a in streamed} == offline, batch_size


def test_arp_poisoning_from_packets_live_as_offline() -> None:
    """The ARP rule reads packets, not flows: the live path hands them over too."""
    path = builtin_rules_dir() / "spoof" / "cases" / "netns-arpspoof" / "arpspoof-router.pcap"
    offline = run_scan([path]).alerts
    assert [a.detector for a in offline] == ["spoof.arp"]
    for batch_size in (65536, 5):
        assert {a.dedup_key for a in _stream(path, batch_size)} == {offline[0].dedup_key}


def test_early_alert_while_the_scan_is_still_going_on(corpus: Path) -> None:
    """Hide and Seek scans telnet for minutes; the scan is flagged long before it ends (the
    final alert can only be raised after its last probe)."""
    analyzer = StreamAnalyzer.from_rules(early_every_s=1.0)
    first_early: tuple[float, Alert] | None = None
    finals: list[Alert] = []
    with open_capture(str(corpus / "slips/dataset/test7-malicious.pcap"), batch_size=50) as cap:
        for batch in cap:
            finals += analyzer.feed(batch)
            now = float(batch.ts_ns.max()) / 1e9
            early = [a for a in analyzer.early(now) if a.kind.value == "scan"]
            if early and first_early is None:
                first_early = (now, early[0])
    finals += analyzer.finish()
    assert first_early is not None
    raised_at, alert = first_early
    assert (alert.device, alert.direction, alert.evidence["stage"]) == (
        "192.168.2.16", "outbound", "early")
    final = next(a for a in finals if a.kind.value == "scan" and a.device == "192.168.2.16")
    assert alert.detector == final.detector
    # Flagged within the first minute of the scan, minutes before its last probe.
    assert raised_at - final.start < 60
    assert final.end - raised_at > 100
