"""Inventory benchmark: Hedgerow's device inventory against tshark extracting the same fields.

Uses the >= 1,000,000-packet capture of real corpus traffic built under ``.bench/`` (see
``build_capture.py``). Both run as child processes, timed over the whole process:

- ``hedgerow``: ``open_capture`` + ``InventoryBuilder`` (sightings, peers, services, DHCP,
  DNS, mDNS, SSDP, HTTP, TLS hellos; classification) + telnet login reading.
- ``tshark``: one pass printing the DHCP host name/vendor class, DNS query names, SSDP server,
  HTTP user agent and TLS SNI of the same packets (``-Y`` filter + ``-T fields``), without any
  per-device aggregation or classification - less work than ours.

Usage:
    .venv/bin/python benchmarks/bench_inventory.py [--packets 1000000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

from build_capture import build_capture

OURS = """
import sys
from hedgerow.capture import open_capture
from hedgerow.inventory import InventoryBuilder
from hedgerow.assess.network import TelnetSessions
builder, telnet, packets = InventoryBuilder(), TelnetSessions(), 0
with open_capture(sys.argv[1]) as reader:
    for batch in reader:
        builder.add_batch(batch)
        telnet.add_batch(batch)
        packets += len(batch)
inventory = builder.finish()
print(packets, len(inventory.devices), len(telnet.attempts()))
"""

TSHARK_FIELDS = ["dhcp.option.hostname", "dhcp.option.vendor_class_id", "dns.qry.name",
                 "ssdp", "http.user_agent", "tls.handshake.extensions_server_name"]


def _timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    args = parser.parse_args()
    capture = build_capture(min_packets=args.packets)
    ours_s, out = _timed([sys.executable, "-c", OURS, str(capture)])
    packets, devices, logins = (int(x) for x in out.split())
    print(f"hedgerow inventory: {packets:,} packets in {ours_s:.2f} s "
          f"({packets / ours_s:,.0f} pkt/s), {devices} devices, {logins} telnet logins")
    if shutil.which("tshark") is None:
        print("tshark not installed: no peer figure")
        return
    cmd = ["tshark", "-n", "-r", str(capture), "-Y",
           "dhcp || dns || ssdp || http.request || tls.handshake.type == 1", "-T", "fields"]
    for field in TSHARK_FIELDS:
        cmd += ["-e", field]
    peer_s, _ = _timed(cmd)
    print(f"tshark field extraction: {packets:,} packets in {peer_s:.2f} s "
          f"({packets / peer_s:,.0f} pkt/s)")
    print(f"ratio (hedgerow / tshark throughput): {peer_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()
