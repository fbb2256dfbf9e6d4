"""Flow meter on real captures: specific conversations, scans, floods, ICMP pairing, Mirai SYNs,
batch-size independence and bounded memory."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.containers import Record, pcap_bytes, records
from hedgerow.capture import open_capture
from hedgerow.flows.meter import FlowMeter, MeterConfig
from hedgerow.flows.source import iter_flows


def flows_of(
    path: Path, batch_size: int = 65536, config: MeterConfig | None = None
) -> pl.DataFrame:
    return pl.concat(list(iter_flows(path, config=config, batch_size=batch_size)))


def test_telnet_session(corpus: Path) -> None:
    flows = flows_of(corpus / "ndpi/pcap/telnet.pcap")
    row = flows.row(0, named=True)
    assert flows.height == 1
    assert (row["id.orig_h"], row["id.orig_p"], row["id.resp_h"], row["id.resp_p"]) == (
        "192.168.0.2",
        1550,
        "192.168.0.1",
        23,
    )
    assert row["service"] == "telnet" and row["conn_state"] == "SF"
    assert row["history"] == "ShADdaTfF"
    assert row["orig_payload"][:1] == b"\xff"  # telnet option negotiation (IAC)
    assert row["orig_syn"] == 1 and row["orig_fin"] == 1 and row["resp_rst"] == 0


def test_nmap_syn_scan(corpus: Path) -> None:
    flows = flows_of(corpus / "ndpi/pcap/synscan.pcap")
    assert flows["id.orig_h"].n_unique() == 1  # the scanner originates every flow
    states = dict(flows.group_by("conn_state").len().iter_rows())
    assert flows.filter(pl.col("conn_state") == "S0")["history"].unique().to_list() == ["S"]
    assert flows.filter(pl.col("conn_state") == "REJ")["history"].unique().to_list() == ["Sr"]
    assert sum(states.values()) == flows.height and flows["id.resp_p"].n_unique() > 900
    assert flows.filter(pl.col("conn_state") == "S0").height > 0.95 * flows.height


def test_spoofed_syn_flood_and_synack_reflection(corpus: Path) -> None:
    flood = flows_of(corpus / "stopddos/pkt.TCP.synflood.spoofed.pcap")
    assert flood["conn_state"].unique().to_list() == ["S0"]
    assert flood["history"].unique().to_list() == ["S"]
    assert (flood["orig_syn"] == flood["orig_pkts"]).all() and (flood["resp_pkts"] == 0).all()
    assert flood["id.resp_h"].n_unique() == 1 and flood["id.orig_h"].n_unique() > 1000
    # SYN-ACKs reflected at the victim: Zeek flips them, the victim becomes the originator.
    backscatter = flows_of(corpus / "stopddos/amp.TCP.reflection.SYNACK.pcap").filter(
        pl.col("history") == "^h"
    )
    assert backscatter.height > 1000
    assert backscatter["id.orig_h"].unique().to_list() == ["10.10.10.10"]
    assert (backscatter["orig_pkts"] == 0).all() and (backscatter["conn_state"] == "OTH").all()


def test_services_from_payload(corpus: Path) -> None:
    def services(name: str) -> set[str]:
        return set(flows_of(corpus / "ndpi/pcap" / name)["service"].drop_nulls().to_list())

    assert "stratum" in services("mining.pcapng")
    assert "mqtt" in services("mqtt.pcap")
    assert "ssh" in services("ssh.pcap")
    assert "rtsp" in services("rtsp.pcap")
    assert services("ssdp-m-search.pcap") == {"ssdp"}


def test_icmp_echo_request_and_reply_pair(corpus: Path) -> None:
    flows = flows_of(corpus / "ndpi/pcap/icmp-tunnel.pcap").filter(pl.col("proto") == "icmp")
    assert set(zip(flows["id.orig_p"], flows["id.resp_p"], strict=True)) == {(8, 0)}
    assert flows["id.orig_h"].unique().to_list() == ["192.168.154.131"]
    assert flows["orig_pkts"].sum() == 448 and flows["resp_pkts"].sum() == 415  # tshark's counts


def test_mirai_syn_fingerprint(corpus: Path, tmp_path: Path) -> None:
    """Rewrite one real flood SYN's sequence number to its destination address (Mirai)."""
    data = bytearray((corpus / "stopddos/pkt.TCP.synflood.spoofed.pcap").read_bytes())
    offset = 24 + 16  # first record's frame
    ip = offset + 14
    assert data[offset + 12 : offset + 14] == b"\x08\x00"
    ihl = (data[ip] & 15) * 4
    dst = data[ip + 16 : ip + 20]
    data[ip + ihl + 4 : ip + ihl + 8] = dst
    path = tmp_path / "mirai.pcap"
    path.write_bytes(bytes(data))
    flows = flows_of(path)
    marked = flows.filter(pl.col("mirai_syn"))
    assert marked.height == 1
    assert marked["id.resp_h"][0] == ".".join(str(b) for b in dst)
    assert struct.unpack(">I", dst)[0] != 0


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch_size=st.integers(min_value=1, max_value=5000))
def test_batch_size_does_not_change_flows(corpus: Path, batch_size: int) -> None:
    path = corpus / "slips/dataset/test7-malicious.pcap"
    reference = flows_of(path).sort("uid")
    other = flows_of(path, batch_size=batch_size).sort("uid")
    assert other.equals(reference)


def test_small_table_grows_and_memory_follows_live_flows(corpus: Path) -> None:
    path = corpus / "stopddos/pkt.TCP.synflood.spoofed.pcap"
    config = MeterConfig(initial_capacity=16, tcp_inactivity=1.0)
    meter = FlowMeter(config)
    seen = 0
    peak = 0
    with open_capture(path, batch_size=2048) as capture:
        for batch in capture:
            seen += meter.add(batch).height
            peak = max(peak, meter.live_flows)
    seen += meter.flush().height
    assert seen == flows_of(path, config=config).height
    assert meter.live_flows == 0
    assert peak < seen  # flows idle for 1 s were emitted and dropped on the way
    assert meter._table.capacity <= max(16, 4 * peak)


def test_timeouts_split_flows(corpus: Path) -> None:
    path = corpus / "ndpi/pcap/icmp-tunnel.pcap"
    icmp = pl.col("proto") == "icmp"
    default = flows_of(path).filter(icmp)
    short = flows_of(path, config=MeterConfig(icmp_inactivity=5.0)).filter(icmp)
    active = flows_of(path, config=MeterConfig(active_timeout=60.0)).filter(icmp)
    assert short.height > default.height and active.height > default.height
    for frame in (short, active):
        assert frame["orig_pkts"].sum() == default["orig_pkts"].sum()
    assert np.all(active["duration"].drop_nulls().to_numpy() <= 60.0)


@pytest.mark.parametrize("name", ["ndpi/pcap/alexa-app.pcapng", "ndpi/pcap/coap_mqtt.pcap"])
def test_uids_deterministic_and_unique(corpus: Path, name: str) -> None:
    a = flows_of(corpus / name)
    b = flows_of(corpus / name, batch_size=333)
    assert a["uid"].n_unique() == a.height
    assert sorted(a["uid"].to_list()) == sorted(b["uid"].to_list())
    assert a["uid"].str.contains(r"^C[0-9A-Za-z]{17}$").all()


def test_arp_sweep_as_arp_flows(corpus: Path) -> None:
    """slips test8: one host ARPs the whole /24; unanswered requests are S0 'flows'."""
    flows = flows_of(corpus / "slips/dataset/test8-malicious.pcap")
    arp = flows.filter(pl.col("proto") == "arp")
    sweeper = arp.filter(pl.col("id.orig_h") == "192.168.1.247")
    assert sweeper["id.resp_h"].n_unique() == 255
    assert (sweeper["conn_state"] == "S0").sum() > 250
    answered = sweeper.filter(pl.col("conn_state") == "SF")
    assert answered.height > 0 and (answered["resp_pkts"] > 0).all()
    assert (arp["orig_ip_bytes"] == 28 * arp["orig_pkts"]).all()


def _tiny_fragments(rec: Record, size: int = 16) -> list[Record]:
    """An Ethernet/IPv4 TCP frame cut into fragments of ``size`` transport bytes (hping3 -f),
    so that the first fragment holds only part of the TCP header."""
    frame = rec.frame
    if frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return [rec]
    ihl = (frame[14] & 0x0F) * 4
    total = struct.unpack("!H", frame[16:18])[0]
    l4 = frame[14 + ihl : 14 + total]
    out = []
    for off in range(0, len(l4), size):
        part = l4[off : off + size]
        header = bytearray(frame[14 : 14 + ihl])
        header[2:4] = struct.pack("!H", ihl + len(part))
        more = 0x2000 if off + size < len(l4) else 0
        header[6:8] = struct.pack("!H", more | off // 8)
        piece = frame[:14] + bytes(header) + part
        out.append(Record(rec.ts_ns, piece, len(piece)))
    return out


def test_tiny_first_fragments_meter_as_whole_datagrams(corpus: Path, tmp_path: Path) -> None:
    """Every SYN of a real flood split into 16-byte fragments (the TCP header spans two): each
    first fragment is metered from the header part it holds and the rest join its flow, so the
    flows are those of the unfragmented capture, field for field."""
    source = corpus / "stopddos/pkt.TCP.synflood.spoofed.pcap"
    pieces = [piece for rec in records(source) for piece in _tiny_fragments(rec)]
    fragmented = tmp_path / "tiny-fragments.pcap"
    fragmented.write_bytes(pcap_bytes(pieces, 1))
    whole = flows_of(source).drop("uid")
    cut = flows_of(fragmented).drop("uid")
    assert len(pieces) > 1.9 * whole["orig_pkts"].sum()
    assert cut.equals(whole)


def test_ip_fragments_count_as_one_reassembled_datagram(corpus: Path) -> None:
    """A 1638-byte SNMP reply in two IPv4 fragments (tshark: MF=1 at 0, then offset 179*8):
    Zeek counts one packet of the reassembled length, and the reply's sender (port 161, a
    likely server port) as responder."""
    flows = flows_of(corpus / "stopddos/amp.TCP.reflection.SYNACK.pcap")
    snmp = flows.filter(
        (pl.col("id.resp_h") == "113.9.163.216") & (pl.col("id.orig_p") == 51767)
    ).row(0, named=True)
    assert (snmp["id.resp_p"], snmp["service"], snmp["history"]) == (161, "snmp", "^d")
    assert (snmp["resp_pkts"], snmp["resp_ip_bytes"], snmp["resp_bytes"]) == (1, 1658, 1630)
    assert snmp["orig_pkts"] == 0
