"""The live flow meter's look at open flows, and early checks that look only at what changed,
on real corpus captures."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from hedgerow.capture import open_capture
from hedgerow.flows.live import LiveFlowMeter
from hedgerow.model import Alert
from hedgerow.sense.analyze import StreamAnalyzer

HIDE_AND_SEEK = "slips/dataset/test7-malicious.pcap"  # telnet scanning from 192.168.2.16
_KEY = ["ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto"]


def _rows(flows: pl.DataFrame) -> list[tuple[object, ...]]:
    return sorted(flows.select(_KEY).iter_rows())


@pytest.mark.parametrize("name", [HIDE_AND_SEEK, "stopddos/amp.TCP.reflection.SYNACK.pcap"])
def test_peek_since_gives_every_open_flow_of_the_hosts_that_began_one(corpus: Path,
                                                                      name: str) -> None:
    meter = LiveFlowMeter()
    with open_capture(str(corpus / name), batch_size=4096) as cap:
        for i, batch in enumerate(cap):
            meter.add(batch)
            if i == 3:
                break
    everything = meter.peek()
    starts = everything["ts"].sort()
    assert everything.height > 20
    since_s = float(starts[int(starts.len() * 0.8)])
    since_ns = int(since_s * 1e9) + 500  # just after one flow's start, before the next's
    began = everything.filter(pl.col("ts") * 1e9 >= since_ns)
    hosts = pl.concat([began["id.orig_h"], began["id.resp_h"]]).unique().implode()
    touching = pl.col("id.orig_h").is_in(hosts) | pl.col("id.resp_h").is_in(hosts)
    expected = everything.filter(touching)
    got = meter.peek(hosts_since_ns=since_ns)
    assert 0 < got.height < everything.height
    assert _rows(got) == _rows(expected)
    assert meter.peek(hosts_since_ns=int(float(starts[-1]) * 1e9) + 10**9).height == 0


def test_incremental_early_checks_flag_the_scan_in_its_first_minute(corpus: Path) -> None:
    """Only the first check looks at every open flow; later ones only at hosts that began a
    flow since the check before. Hide and Seek's scan is still flagged early."""
    analyzer = StreamAnalyzer.from_rules(early_every_s=1.0)
    analyzer.early_full_every_s = 1e9
    first: tuple[float, Alert] | None = None
    finals: list[Alert] = []
    with open_capture(str(corpus / HIDE_AND_SEEK), batch_size=50) as cap:
        for batch in cap:
            finals += analyzer.feed(batch)
            now = float(batch.ts_ns.max()) / 1e9
            scans = [a for a in analyzer.early(now) if a.kind.value == "scan"]
            if scans and first is None:
                first = (now, scans[0])
    finals += analyzer.finish()
    assert first is not None
    raised_at, alert = first
    assert (alert.device, alert.evidence["stage"]) == ("192.168.2.16", "early")
    final = next(a for a in finals if a.kind.value == "scan" and a.device == "192.168.2.16")
    assert raised_at - final.start < 60
    assert final.end - raised_at > 100
