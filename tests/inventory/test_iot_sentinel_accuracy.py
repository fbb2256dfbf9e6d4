"""Vendor and kind accuracy of the inventory on the real IoT Sentinel setup captures."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hedgerow.capture import open_capture
from hedgerow.inventory import InventoryBuilder

TRUTH = Path(__file__).parent / "data" / "iot_sentinel_truth.yaml"
VENDOR_TARGET, KIND_TARGET = 0.90, 0.75


def _vendor_ok(found: str | None, truth: dict[str, object]) -> bool:
    names = [str(truth["vendor"]), *(str(a) for a in truth.get("also", []))]  # type: ignore[attr-defined]
    return found is not None and any(n.lower() in found.lower() for n in names)


@pytest.fixture(scope="module")
def results(corpus: Path) -> dict[str, tuple[str | None, str | None, bool, bool]]:
    truth = yaml.safe_load(TRUTH.read_text())["devices"]
    root = corpus / "iot-sentinel"
    out = {}
    for folder, expected in truth.items():
        mac = (root / folder / "_iotdevice-mac.txt").read_text().strip().lower()
        builder = InventoryBuilder()
        for pcap in sorted((root / folder).glob("*.pcap")):
            with open_capture(pcap) as reader:
                for batch in reader:
                    builder.add_batch(batch)
        device = builder.finish().device(mac)
        assert device is not None, f"{folder}: device {mac} missing from the inventory"
        out[folder] = (device.vendor, device.kind, _vendor_ok(device.vendor, expected),
                       device.kind == expected["kind"])
    return out


def test_every_folder_has_ground_truth(corpus: Path) -> None:
    truth = yaml.safe_load(TRUTH.read_text())["devices"]
    folders = {p.name for p in (corpus / "iot-sentinel").iterdir() if p.is_dir()}
    assert folders == set(truth)


def test_vendor_accuracy(results: dict[str, tuple[str | None, str | None, bool, bool]]) -> None:
    share = sum(r[2] for r in results.values()) / len(results)
    wrong = {f: r[0] for f, r in results.items() if not r[2]}
    assert share >= VENDOR_TARGET, f"vendor accuracy {share:.0%}; wrong: {wrong}"


def test_kind_accuracy(results: dict[str, tuple[str | None, str | None, bool, bool]]) -> None:
    share = sum(r[3] for r in results.values()) / len(results)
    wrong = {f: r[1] for f, r in results.items() if not r[3]}
    assert share >= KIND_TARGET, f"kind accuracy {share:.0%}; wrong: {wrong}"
