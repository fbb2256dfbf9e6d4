"""Run inside a namespace by the live-capture tests: capture N packets, save their columns.

    python capture_child.py IFACE COUNT OUT.npz [SNAPLEN]

Prints ``ready`` once the ring is open; stops after COUNT packets or 30 seconds.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from hedgerow.capture.batch import PacketBatch
from hedgerow.sense.live import LiveCapture


def main() -> None:
    iface, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    snaplen = int(sys.argv[4]) if len(sys.argv) > 4 else 256
    batches: list[PacketBatch] = []
    with LiveCapture(iface, batch_size=4096, max_wait_s=0.1, snaplen=snaplen) as cap:
        print("ready", flush=True)
        deadline = time.monotonic() + 30
        while sum(len(b) for b in batches) < count and time.monotonic() < deadline:
            batch = cap.next_batch()
            if len(batch):
                batches.append(batch)
        drops = cap.stats().kernel_drops
    columns = {name: np.concatenate([getattr(b, name) for b in batches])
               for name in PacketBatch.column_names()} if batches else {}
    np.savez(out, kernel_drops=np.array([drops]), **columns)


if __name__ == "__main__":
    main()
