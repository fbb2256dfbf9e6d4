"""FlowBatches built from joined row chunks equal the chunks built one by one, then joined;
scan's batches carry the detectors' locality."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hedgerow.cli.scaninput import FileRead, read_flows, rebatch
from hedgerow.detect.locality import ORIG_LOCAL, RESP_LOCAL, with_locality
from hedgerow.flows.build import build_flows, flow_arrays, flows_frame, join_arrays
from hedgerow.flows.meter import frame_of
from hedgerow.flows.rows import FlowRows
from hedgerow.flows.source import FlowSource
from hedgerow.model import LocalNetworks
from hedgerow.model.networks import DEFAULT_LOCAL_NETWORKS

FLOOD = Path("stopddos") / "pkt.TCP.synflood.spoofed.pcap"
MIXED = Path("slips") / "dataset" / "test7-malicious.pcap"


def _chunks(path: Path) -> list[FlowRows]:
    return [r for r in FlowSource([path], batch_size=4096).iter_rows() if isinstance(r, FlowRows)]


def test_joined_chunks_build_the_same_frame(corpus: Path) -> None:
    chunks = _chunks(corpus / FLOOD) + _chunks(corpus / MIXED)
    assert len(chunks) > 3
    one_by_one = pl.concat([build_flows(c.table, c.pool) for c in chunks])
    joined = flows_frame(join_arrays([flow_arrays(c.table, c.pool) for c in chunks]))
    assert joined.equals(one_by_one)
    assert (joined["orig_payload"].bin.size() > 0).sum() > 100
    assert joined["service"].drop_nulls().n_unique() > 2
    assert frame_of(chunks).equals(one_by_one)


def test_iter_chunks_keeps_packet_batches_and_counts(corpus: Path) -> None:
    source = FlowSource([corpus / FLOOD], batch_size=4096)
    pieces = list(source.iter_chunks())
    assert all(isinstance(p, list) for p in pieces) and len(pieces) > 2
    frames = [frame_of(p) for p in pieces if isinstance(p, list)]
    assert sum(f.height for f in frames) == source.flows
    assert pl.concat(frames).equals(pl.concat(list(FlowSource([corpus / FLOOD], batch_size=4096))))


def test_rebatch_joins_pieces_in_order_at_packet_batch_bounds(corpus: Path) -> None:
    path = corpus / MIXED
    per_batch = [f.height for f in FlowSource([path], batch_size=256) if f.height]
    assert len(per_batch) > 4
    batches = list(rebatch(FlowSource([path], batch_size=256).iter_chunks(), min_rows=50))
    assert per_batch == [38, 15, 13, 3, 19, 4, 50, 41, 198]
    # each batch ends with the packet batch whose flows bring it to 50 or more
    assert [b.height for b in batches] == [38 + 15, 13 + 3 + 19 + 4 + 50, 41 + 198]
    assert all(b.n_chunks() == 1 for b in batches)
    assert pl.concat(batches).equals(pl.concat(list(FlowSource([path], batch_size=256))))


def test_read_flows_counts_what_it_yields(corpus: Path) -> None:
    path = corpus / FLOOD
    outcome = FileRead(path)
    batches = list(rebatch(read_flows(path, outcome)))
    assert outcome.flows == sum(b.height for b in batches) > 0 and outcome.status == "ok"


def test_rebatch_of_a_conn_log(corpus: Path) -> None:
    path = corpus / "slips/dataset/port-scans/horizontal/conn.log"
    seen: list[int] = []
    outcome = FileRead(path)
    batches = list(rebatch(read_flows(path, outcome, on_batch=lambda b: seen.append(b.height))))
    assert sum(b.height for b in batches) == sum(seen) == outcome.flows > 0


LOCALITY_CASES = [
    Path("slips") / "dataset" / "test7-malicious.pcap",
    Path("ndpi") / "pcap" / "coap_mqtt.pcap",
    Path("zeek-conn") / "scripts.base.protocols.ftp.ftp-ipv6" / "ipv6.pcap",
    Path("iot-sentinel") / "D-LinkHomeHub" / "Setup-A-1-STA.pcap",
    Path("slips") / "dataset" / "test8-malicious.pcap",  # an ARP sweep
    FLOOD,
]


@pytest.mark.parametrize("nets", [
    DEFAULT_LOCAL_NETWORKS,
    ("192.168.1.0/24", "2001:db8::/32", "fe80::/64"),
    ("0.0.0.0/8", "::/0"),
    ("0.0.0.0/0",),
])
def test_rebatch_locality_is_the_detectors(corpus: Path, nets: tuple[str, ...]) -> None:
    """The locality a capture's batches carry equals what the detectors compute from texts."""
    networks = LocalNetworks.parse(nets)
    columns = [ORIG_LOCAL, RESP_LOCAL]
    local = 0
    for case in LOCALITY_CASES:
        for batch in rebatch(FlowSource([corpus / case]).iter_chunks(), networks=networks):
            again = with_locality(batch.drop(columns), networks)
            assert batch.equals(again), case
            local += batch[ORIG_LOCAL].sum()
    assert local > 0
