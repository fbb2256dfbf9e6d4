"""The reader on real corpus captures: packet counts and formats agree with capinfos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hedgerow.capture import L3, DecodeStatus, open_capture

# (path under the corpus, format, link types, packets) as reported by capinfos.
CASES = [
    ("ndpi/pcap/synscan.pcap", "pcap", [1], 2011),
    ("ndpi/pcap/alexa-app.pcapng", "pcapng", [1], 3103),
    ("ndpi/pcap/rtsp.pcap", "pcapng", [113], 568),
    ("ndpi/pcap/dns2tcp_tunnel.pcap", "pcap", [113], 50),
    ("zeek-conn/scripts.base.protocols.syslog.tcp-framing/tcp-syslog.pcap", "pcap", [228], 10),
    ("zeek-conn/core.pcapng-pktsrc/pcapng-multi-interface.pcapng", "pcapng", [1], 6),
    ("zeek-conn/core.q-in-q/q-in-q.pcap", "pcap", [1], 5),
    ("stopddos/pkt.TCP.synflood.spoofed.pcap", "pcap", [1], 37841),
]


@pytest.mark.parametrize(("rel", "fmt", "links", "packets"), CASES)
def test_counts_match_capinfos(
    corpus: Path, rel: str, fmt: str, links: list[int], packets: int
) -> None:
    with open_capture(corpus / rel, batch_size=1000) as reader:
        total = sum(len(batch) for batch in reader)
    assert reader.format == fmt
    assert reader.link_types == links
    assert total == packets == reader.stats.packets
    assert reader.warnings == []


def test_columns_of_a_syn_scan(corpus: Path) -> None:
    batches = list(open_capture(corpus / "ndpi/pcap/synscan.pcap"))
    batch = batches[0]
    assert (batch.status == DecodeStatus.OK).all()
    assert (batch.l3 == L3.IPV4).all()
    assert (batch.src_hi == 0).all()
    assert ((batch.src_lo >> np.uint64(32)) == 0xFFFF).all()
    assert (np.diff(batch.ts_ns) >= 0).all()
