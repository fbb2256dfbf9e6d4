"""``hedgerow scan`` judges retried SYNs by the DNS answers in the same capture."""

from __future__ import annotations

from pathlib import Path

from hedgerow.cli.scan import run_scan


def test_hide_and_seeks_retried_8080_scan_is_found(corpus: Path) -> None:
    """Hide'n'Seek scans 8080 with connect(): every SYN retransmitted, no target looked up."""
    result = run_scan([corpus / "slips/dataset/test7-malicious.pcap"])
    got = {(a.evidence["group"]["id.resp_p"], a.device, a.direction)
           for a in result.alerts if a.detector == "scan.horizontal"}
    assert (8080, "192.168.2.16", "outbound") in got


def test_benign_devices_retrying_their_cloud_hosts_are_not_scanners(corpus: Path) -> None:
    """Every IoT Sentinel setup capture (WeMoLink retries 23 resolved hosts on 443)."""
    result = run_scan([corpus / "iot-sentinel"])
    assert len(result.inputs) == 64
    assert [a for a in result.alerts if a.detector.startswith("scan.")] == []
