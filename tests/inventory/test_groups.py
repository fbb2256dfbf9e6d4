"""The numpy group-bys of the inventory agree with polars' on real packet columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from hedgerow.capture import open_capture
from hedgerow.capture.batch import PacketBatch
from hedgerow.inventory.groups import Groups, top_per


def _batch(corpus: Path) -> PacketBatch:
    """A few thousand packets of a capture with many peers (a spoofed SYN flood)."""
    with open_capture(corpus / "stopddos" / "pkt.TCP.synflood.spoofed.pcap",
                      batch_size=8192) as reader:
        return next(iter(reader))


def _frame(batch: PacketBatch) -> pl.DataFrame:
    return pl.DataFrame({"dport": batch.dport, "src_lo": batch.src_lo,
                         "dst_lo": batch.dst_lo, "ts": batch.ts_ns, "row": np.arange(len(batch))})


def test_sizes_min_max_match_polars(corpus: Path) -> None:
    batch = _batch(corpus)
    groups = Groups(batch.dport, batch.src_lo)
    expected = (_frame(batch).group_by("dport", "src_lo")
                .agg(pl.len(), pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi"))
                .sort("dport", "src_lo"))
    assert len(groups) == expected.height > 100
    assert groups.key(0).tolist() == expected["dport"].to_list()
    assert groups.key(1).tolist() == expected["src_lo"].to_list()
    assert groups.sizes.tolist() == expected["len"].to_list()
    assert groups.min(batch.ts_ns).tolist() == expected["lo"].to_list()
    assert groups.max(batch.ts_ns).tolist() == expected["hi"].to_list()
    assert groups.ids()[groups.first_rows].tolist() == list(range(len(groups)))


def test_distinct_firsts_match_polars_unique_in_order(corpus: Path) -> None:
    batch = _batch(corpus)
    groups = Groups(batch.dport)
    firsts = groups.distinct_firsts(batch.src_lo, limit=10)
    expected = (_frame(batch).group_by("dport")
                .agg(pl.col("src_lo").unique(maintain_order=True).head(10))
                .sort("dport"))
    rows = batch.src_lo.tolist()
    assert [[rows[r] for r in group] for group in firsts] == expected["src_lo"].to_list()
    assert max(len(group) for group in firsts) == 10


def test_top_per_matches_polars_head_per_group(corpus: Path) -> None:
    batch = _batch(corpus)
    groups = Groups(batch.src_lo, batch.dport)
    order = np.argsort(-groups.sizes, kind="stable")
    kept = top_per(groups.prefix_ids(1), order, keep=2)
    frame = pl.DataFrame({"src": groups.key(0), "dport": groups.key(1), "n": groups.sizes})
    expected = (frame.sort(["n", "src", "dport"], descending=[True, False, False])
                .group_by("src", maintain_order=True).head(2))
    got = frame[kept]
    assert sorted(got.rows()) == sorted(expected.select("src", "dport", "n").rows())
    assert got["n"].to_list() == sorted(got["n"].to_list(), reverse=True)


def test_empty_rows() -> None:
    empty = np.zeros(0, np.uint64)
    groups = Groups(empty, empty)
    assert len(groups) == 0 and groups.min(empty).size == 0
    assert groups.distinct_firsts(empty, limit=3) == []
