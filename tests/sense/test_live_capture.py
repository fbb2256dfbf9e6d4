"""Live capture through the TPACKET_V3 ring decodes real traffic exactly like the file reader:
corpus captures are replayed with tcpreplay into a veth pair inside a namespace made here."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from conftest import require_root, require_tool
from hedgerow.capture import open_capture
from hedgerow.sense.live import LiveCapture
from hedgerow.sense.ring import RingError

pytestmark = pytest.mark.root

CHILD = Path(__file__).with_name("capture_child.py")
SAME = ("l3", "src_hi", "src_lo", "dst_hi", "dst_lo", "proto", "ttl", "ip_len", "ip_id", "frag",
        "sport", "dport", "tcp_flags", "seq", "ack", "window", "payload_len", "wire_len",
        "eth_src", "eth_dst", "status")


@pytest.fixture()
def veth_ns() -> Iterator[str]:
    require_root()
    require_tool("tcpreplay")
    ns = f"hr-gw-cap-{secrets.token_hex(2)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for cmd in (["ip", "link", "add", "tx0", "mtu", "9000", "type", "veth", "peer", "name",
                     "rx0", "mtu", "9000"],
                    ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
                    ["ip", "link", "set", "tx0", "up"], ["ip", "link", "set", "rx0", "up"]):
            subprocess.run(["ip", "netns", "exec", ns, *cmd], check=True, capture_output=True)
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


@pytest.mark.parametrize("name", ["ndpi/pcap/synscan.pcap", "slips/dataset/test7-malicious.pcap"])
def test_replayed_capture_decodes_like_the_file(corpus: Path, veth_ns: str, tmp_path: Path,
                                                name: str) -> None:
    path = corpus / name
    with open_capture(str(path)) as reader:
        offline = list(reader)
    expected = {col: np.concatenate([getattr(b, col) for b in offline]) for col in SAME}
    count = len(expected["l3"])
    out = tmp_path / "live.npz"
    child = subprocess.Popen(["ip", "netns", "exec", veth_ns, sys.executable, str(CHILD), "rx0",
                              str(count), str(out), "65535"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        subprocess.run(["ip", "netns", "exec", veth_ns, "tcpreplay", "-q", "--topspeed", "-i",
                        "tx0", str(path)], check=True, capture_output=True, timeout=60)
        assert child.wait(60) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    live = np.load(out)
    assert int(live["kernel_drops"][0]) == 0
    assert len(live["l3"]) == count
    for col in SAME:
        assert np.array_equal(live[col], expected[col]), col
    # Event time: the kernel's receive timestamps, in order, during the replay.
    assert bool(np.all(np.diff(live["ts_ns"]) >= 0))


def test_snaplen_keeps_headers_and_first_payload_bytes(corpus: Path, veth_ns: str,
                                                       tmp_path: Path) -> None:
    path = corpus / "ndpi/pcap/mining.pcapng"
    with open_capture(str(path)) as reader:
        offline = list(reader)
    payload_lens = np.concatenate([b.payload_len for b in offline])
    out = tmp_path / "live.npz"
    child = subprocess.Popen(["ip", "netns", "exec", veth_ns, sys.executable, str(CHILD), "rx0",
                              str(len(payload_lens)), str(out), "96"], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        subprocess.run(["ip", "netns", "exec", veth_ns, "tcpreplay", "-q", "--topspeed", "-i",
                        "tx0", str(path)], check=True, capture_output=True, timeout=60)
        assert child.wait(60) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    live = np.load(out)
    assert int(live["cap_len"].max()) <= 96
    assert np.array_equal(live["payload_len"], payload_lens)
    assert bool(np.all(live["payload_cap"] <= live["payload_len"]))


def test_missing_interface_is_one_clear_line() -> None:
    with pytest.raises(RingError, match=r"'hr-gw-none0' does not exist \(see `ip link`\)"):
        LiveCapture("hr-gw-none0")
