"""Which local devices the scanned traffic shows: addresses, flow counts, first and last seen.

Counting is columnar (one group-by per batch, merged into the running tally); the number of
hosts kept is bounded.

Example:
    >>> import polars as pl
    >>> from hedgerow.model import LocalNetworks
    >>> tally = HostTally(LocalNetworks.default())
    >>> tally.update(pl.DataFrame({"ts": [1.0, 2.0], "id.orig_h": ["192.168.1.5", "8.8.8.8"],
    ...     "id.resp_h": ["8.8.8.8", "192.168.1.5"], "orig_l2_addr": [None, None]}))
    >>> [(h.address, h.flows) for h in tally.hosts()]
    [('192.168.1.5', 2)]
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from hedgerow.detect.locality import ORIG_LOCAL, RESP_LOCAL, with_locality
from hedgerow.model import LocalNetworks

HOST_LIMIT = 65_536


@dataclass(frozen=True)
class SeenHost:
    """One local address seen in the traffic."""

    address: str
    mac: str | None
    flows: int
    first_seen: float
    last_seen: float


class HostTally:
    """Accumulates local hosts over FlowBatches."""

    def __init__(self, networks: LocalNetworks) -> None:
        self.networks = networks
        self._frame: pl.DataFrame | None = None
        self.first_ts: float | None = None
        self.last_ts: float | None = None

    def update(self, flows: pl.DataFrame) -> None:
        if flows.height == 0:
            return
        lo, hi = flows["ts"].min(), flows["ts"].max()
        if lo is not None and hi is not None:
            self.first_ts = float(lo) if self.first_ts is None else min(self.first_ts, float(lo))  # type: ignore[arg-type]
            self.last_ts = float(hi) if self.last_ts is None else max(self.last_ts, float(hi))  # type: ignore[arg-type]
        mac_o = "orig_l2_addr" if "orig_l2_addr" in flows.columns else None
        mac_r = "resp_l2_addr" if "resp_l2_addr" in flows.columns else None
        # the local side of each flow, from the locality columns the detection engine added
        # (computed here when absent); order kept, so the first MAC seen stays the first
        flows = with_locality(flows, self.networks)
        sides = []
        for host, mac, side_local in (
            ("id.orig_h", mac_o, ORIG_LOCAL),
            ("id.resp_h", mac_r, RESP_LOCAL),
        ):
            sides.append(
                flows.lazy()
                .filter(pl.col(side_local))
                .select(
                    pl.col(host).alias("address"),
                    (pl.col(mac) if mac else pl.lit(None, dtype=pl.String))
                    .cast(pl.String)
                    .alias("mac"),
                    pl.col("ts"),
                )
            )
        # one plan: both sides, grouped by address; broadcast and multicast addresses are
        # dropped from the (few) groups rather than from every row
        part = (
            pl.concat(sides)
            .drop_nulls("address")
            .group_by("address")
            .agg(
                pl.col("mac").drop_nulls().first(),
                pl.len().alias("flows"),
                pl.col("ts").min().alias("first_seen"),
                pl.col("ts").max().alias("last_seen"),
            )
            .collect()
        )
        part = part.filter(~_group_mask(part["address"]))
        frame = (
            part if self._frame is None else pl.concat([self._frame, part], how="vertical_relaxed")
        )
        self._frame = (
            frame.group_by("address")
            .agg(
                pl.col("mac").drop_nulls().first(),
                pl.col("flows").sum(),
                pl.col("first_seen").min(),
                pl.col("last_seen").max(),
            )
            .sort("flows", descending=True)
            .head(HOST_LIMIT)
        )

    def hosts(self) -> list[SeenHost]:
        if self._frame is None:
            return []
        return [
            SeenHost(**row)
            for row in self._frame.sort(["flows", "address"], descending=[True, False]).iter_rows(
                named=True
            )
        ]


def _group_mask(addresses: pl.Series) -> pl.Series:
    """Broadcast and multicast addresses (not devices)."""
    return (
        addresses.str.ends_with(".255")
        | addresses.str.starts_with("ff")
        | addresses.str.starts_with("224.")
        | addresses.str.starts_with("239.")
        | addresses.is_in(["0.0.0.0", "255.255.255.255"])
    ).fill_null(True)
