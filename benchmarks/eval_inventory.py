"""Inventory accuracy on the IoT Sentinel captures: maker and kind per device, and the shares.

Ground truth: ``tests/inventory/data/iot_sentinel_truth.yaml`` (folder -> vendor, kind; see
its notes) and each folder's ``_iotdevice-mac.txt``. All captures of a folder are read into one
inventory; the device at the folder's MAC is compared with the truth.

Usage:
    .venv/bin/python benchmarks/eval_inventory.py [CORPUS]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from hedgerow.capture import open_capture
from hedgerow.inventory import InventoryBuilder

REPO = Path(__file__).resolve().parents[1]
TRUTH = REPO / "tests" / "inventory" / "data" / "iot_sentinel_truth.yaml"


def main() -> None:
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else
                  os.environ.get("HEDGEROW_CORPUS", REPO.parent / "shared" / "corpus"))
    root = corpus / "iot-sentinel"
    truth = yaml.safe_load(TRUTH.read_text())["devices"]
    vendors = kinds = 0
    for folder, expected in truth.items():
        mac = (root / folder / "_iotdevice-mac.txt").read_text().strip().lower()
        builder = InventoryBuilder()
        for pcap in sorted((root / folder).glob("*.pcap")):
            with open_capture(pcap) as reader:
                for batch in reader:
                    builder.add_batch(batch)
        device = builder.finish().device(mac)
        names = [expected["vendor"], *expected.get("also", [])]
        vendor = device.vendor if device else None
        kind = device.kind if device else None
        v_ok = vendor is not None and any(n.lower() in vendor.lower() for n in names)
        k_ok = kind == expected["kind"]
        vendors += v_ok
        kinds += k_ok
        print(f"{folder:20} {vendor or '-':18} {'ok' if v_ok else 'WRONG':6}"
              f"{kind or '-':9} truth {expected['kind']:10} {'ok' if k_ok else 'WRONG'}")
    n = len(truth)
    print(f"vendor {vendors}/{n} = {vendors / n:.1%} (target 90%); "
          f"kind {kinds}/{n} = {kinds / n:.1%} (target 75%)")


if __name__ == "__main__":
    main()
