"""Per-conversation packet and byte counts against tshark's conversation statistics."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import polars as pl
import pytest

from conftest import require_tool
from hedgerow.capture import DecodeStatus, open_capture
from hedgerow.flows.build import addr_strings
from hedgerow.flows.source import iter_flows

CAPTURES = [
    "ndpi/pcap/telnet.pcap",
    "ndpi/pcap/mqtt.pcap",
    "ndpi/pcap/mining.pcapng",
    "ndpi/pcap/coap_mqtt.pcap",
    "ndpi/pcap/ssh.pcap",
    "ndpi/pcap/synscan.pcap",
    "ndpi/pcap/alexa-app.pcapng",
    "ndpi/pcap/tuya_lp.pcap",
    "slips/dataset/test19-malicious-ssh/malicious-ssh-bruteforce.pcap",
    "slips/dataset/test7-malicious.pcap",
    "slips/dataset/test8-malicious.pcap",
    "stopddos/pkt.TCP.synflood.spoofed.pcap",
    "stopddos/amp.TCP.reflection.SYNACK.pcap",
    "stopddos/amp.UDP.bacnet.IOT.37810.pcapng",
]
_ROW = re.compile(
    r"^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+"
    r"(\d+)\s+([\d,]+) (bytes|kB|MB)\s+(\d+)\s+([\d,]+) (bytes|kB|MB)"
)
_UNIT = {"bytes": 1, "kB": 1000, "MB": 1_000_000}


def tshark_conversations(pcap: Path) -> pl.DataFrame:
    """tshark -z conv,tcp -z conv,udp: frames and bytes each way per address/port pair."""
    out = subprocess.run(
        ["tshark", "-n", "-q", "-r", str(pcap), "-z", "conv,tcp", "-z", "conv,udp"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    rows = []
    proto = None
    for line in out.splitlines():
        if line.startswith(("TCP Conversations", "UDP Conversations")):
            proto = line[:3].lower()
        m = _ROW.match(line)
        if m and proto:
            a, ap, b, bp = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
            rows.append(
                {
                    "proto": proto,
                    "a": a.strip("[]"),
                    "a_p": ap,
                    "b": b.strip("[]"),
                    "b_p": bp,
                    "frames_ba": int(m.group(5)),
                    "bytes_ba": int(m.group(6).replace(",", "")) * _UNIT[m.group(7)],
                    "frames_ab": int(m.group(8)),
                    "bytes_ab": int(m.group(9).replace(",", "")) * _UNIT[m.group(10)],
                    "exact": m.group(7) == "bytes" and m.group(10) == "bytes",
                }
            )
    return pl.DataFrame(rows)


def _endpoints(frame: pl.DataFrame, h1: str, p1: str, h2: str, p2: str) -> pl.DataFrame:
    """Unordered conversation key, and whether (h1, p1) is its first endpoint."""
    first = pl.concat_str([pl.col(h1), pl.col(p1).cast(pl.String)], separator="|")
    second = pl.concat_str([pl.col(h2), pl.col(p2).cast(pl.String)], separator="|")
    return frame.with_columns(
        pl.min_horizontal(first, second).alias("e1"),
        pl.max_horizontal(first, second).alias("e2"),
        (first <= second).alias("h1_first"),
    )


def malformed_ip_packets(pcap: Path) -> pl.DataFrame:
    """TCP/UDP packets whose IP header claims more bytes than the frame holds.

    Zeek drops them (``truncated_IP`` weird) and so does our meter; tshark still counts them
    in its conversations.
    """
    parts = []
    with open_capture(pcap) as capture:
        for batch in capture:
            bad = (batch.status == DecodeStatus.MALFORMED) & (batch.sport > 0)
            bad &= (batch.proto == 6) | (batch.proto == 17)
            if not bad.any():
                continue
            b = batch.take(bad)
            parts.append(
                pl.DataFrame(
                    {
                        "proto": ["tcp" if p == 6 else "udp" for p in b.proto.tolist()],
                        "src": addr_strings(b.src_hi, b.src_lo),
                        "sport": b.sport.astype("int64"),
                        "dst": addr_strings(b.dst_hi, b.dst_lo),
                        "dport": b.dport.astype("int64"),
                    }
                )
            )
    if not parts:
        return pl.DataFrame(
            schema={
                "proto": pl.String,
                "e1": pl.String,
                "e2": pl.String,
                "bad_1": pl.Int64,
                "bad_2": pl.Int64,
            }
        )
    frame = _endpoints(pl.concat(parts), "src", "sport", "dst", "dport")
    return frame.group_by("proto", "e1", "e2").agg(
        pl.col("h1_first").cast(pl.Int64).sum().alias("bad_1"),
        (~pl.col("h1_first")).cast(pl.Int64).sum().alias("bad_2"),
    )


@pytest.mark.parametrize("name", CAPTURES)
def test_packets_and_bytes_match_tshark(corpus: Path, name: str) -> None:
    require_tool("tshark")
    pcap = corpus / name
    theirs = _endpoints(tshark_conversations(pcap), "a", "a_p", "b", "b_p")
    theirs = theirs.group_by("proto", "e1", "e2").agg(
        pl.when(pl.col("h1_first"))
        .then(pl.col("frames_ab"))
        .otherwise(pl.col("frames_ba"))
        .sum()
        .alias("t_pkts_1"),
        pl.when(pl.col("h1_first"))
        .then(pl.col("frames_ba"))
        .otherwise(pl.col("frames_ab"))
        .sum()
        .alias("t_pkts_2"),
        pl.when(pl.col("h1_first"))
        .then(pl.col("bytes_ab"))
        .otherwise(pl.col("bytes_ba"))
        .sum()
        .alias("t_bytes_1"),
        pl.when(pl.col("h1_first"))
        .then(pl.col("bytes_ba"))
        .otherwise(pl.col("bytes_ab"))
        .sum()
        .alias("t_bytes_2"),
        pl.col("exact").all(),
    )
    flows = pl.concat(list(iter_flows(pcap))).filter(pl.col("proto").is_in(["tcp", "udp"]))
    ours = _endpoints(flows, "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p")
    ours = ours.group_by("proto", "e1", "e2").agg(
        pl.when(pl.col("h1_first")).then("orig_pkts").otherwise("resp_pkts").sum().alias("pkts_1"),
        pl.when(pl.col("h1_first")).then("resp_pkts").otherwise("orig_pkts").sum().alias("pkts_2"),
        pl.when(pl.col("h1_first"))
        .then("orig_ip_bytes")
        .otherwise("resp_ip_bytes")
        .sum()
        .alias("ip_1"),
        pl.when(pl.col("h1_first"))
        .then("resp_ip_bytes")
        .otherwise("orig_ip_bytes")
        .sum()
        .alias("ip_2"),
    )
    joined = theirs.join(ours, on=["proto", "e1", "e2"], how="full", coalesce=True)
    assert joined.height == theirs.height == ours.height, joined.filter(
        pl.col("pkts_1").is_null() | pl.col("t_pkts_1").is_null()
    )
    joined = joined.join(malformed_ip_packets(pcap), on=["proto", "e1", "e2"], how="left")
    joined = joined.with_columns(pl.col("bad_1", "bad_2").fill_null(0))
    assert (joined["pkts_1"] + joined["bad_1"] == joined["t_pkts_1"]).all()
    assert (joined["pkts_2"] + joined["bad_2"] == joined["t_pkts_2"]).all()
    assert joined.height > 0
    # tshark counts frame bytes: our IP bytes plus a link header per packet and the padding of
    # short Ethernet frames. (For datagrams reassembled from IP fragments it counts only the
    # last fragment's frame, so conversations with packets above the MTU are left out.)
    comparable = joined.filter(
        pl.col("exact")
        & (pl.col("bad_1") + pl.col("bad_2") == 0)
        & (pl.col("ip_1") <= 1500 * pl.col("pkts_1"))
        & (pl.col("ip_2") <= 1500 * pl.col("pkts_2"))
    )
    for side in ("1", "2"):
        link = comparable[f"t_bytes_{side}"] - comparable[f"ip_{side}"]
        assert (link >= 14 * comparable[f"pkts_{side}"]).all()
        assert (link <= 64 * comparable[f"pkts_{side}"]).all()
