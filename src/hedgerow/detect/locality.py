"""Vectorised "is this address local?" for whole columns of addresses.

Distinct IPv4 addresses are parsed into integers by polars and tested against each IPv4 network with
one mask-and-compare; the (few) IPv6 addresses fall back to :meth:`LocalNetworks.is_local`.

Example:
    >>> import polars as pl
    >>> from hedgerow.model import LocalNetworks
    >>> s = pl.Series(["192.168.1.5", "8.8.8.8", "fe80::1", None, "bogus"])
    >>> local_mask(s, LocalNetworks.default()).to_list()
    [True, False, True, False, False]
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import polars as pl

from hedgerow.model import LocalNetworks


def local_mask(addresses: pl.Series, networks: LocalNetworks) -> pl.Series:
    """Boolean Series: which addresses fall inside the local networks (nulls are not local).

    Each distinct address is parsed once (a batch repeats its hosts many times over), then the
    column is matched against the local ones.
    """
    text = addresses.cast(pl.String)
    distinct = text.unique()
    local = distinct.filter(_distinct_mask(distinct, networks))
    return text.is_in(local.implode()).fill_null(False).alias(addresses.name)


def _distinct_mask(addresses: pl.Series, networks: LocalNetworks) -> pl.Series:
    """``local_mask`` of a String column, address by address."""
    frame = pl.DataFrame({"a": addresses})
    octets = pl.col("a").str.split_exact(".", 3)
    parsed = frame.with_columns(
        pl.col("a")
        .str.contains(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
        .fill_null(False)
        .alias("v4"),
        pl.col("a").str.contains(":").fill_null(False).alias("v6"),
    ).with_columns(
        pl.when(pl.col("v4"))
        .then(
            pl.sum_horizontal(
                octets.struct.field(f"field_{i}").cast(pl.Int64, strict=False) * (1 << (24 - 8 * i))
                for i in range(4)
            )
        )
        .alias("ip")
    )
    v4_nets = [n for n in networks.networks if isinstance(n, ipaddress.IPv4Network)]
    hit = pl.lit(False)
    for net in v4_nets:
        mask = int(net.netmask)
        hit = hit | ((pl.col("ip").cast(pl.Int64) & mask) == int(net.network_address))
    result = parsed.with_columns(hit.fill_null(False).alias("local"))
    if result["v6"].any():
        v6 = result.filter(pl.col("v6"))["a"].unique().to_list()
        v6_local = [a for a in v6 if networks.is_local(a)]
        result = result.with_columns(pl.col("local") | (pl.col("v6") & pl.col("a").is_in(v6_local)))
    return result["local"]


ORIG_LOCAL = "_orig_local"
RESP_LOCAL = "_resp_local"


def with_locality(flows: pl.DataFrame, networks: LocalNetworks) -> pl.DataFrame:
    """The batch with ``_orig_local``/``_resp_local`` columns (added once, reused after)."""
    if ORIG_LOCAL in flows.columns or flows.height == 0:
        return (
            flows
            if ORIG_LOCAL in flows.columns
            else flows.with_columns(
                pl.lit(False).alias(ORIG_LOCAL), pl.lit(False).alias(RESP_LOCAL)
            )
        )
    return flows.with_columns(
        local_mask(flows["id.orig_h"], networks).alias(ORIG_LOCAL),
        local_mask(flows["id.resp_h"], networks).alias(RESP_LOCAL),
    )


def direction_terms(directions: Sequence[str], actor: str, target: str) -> list[tuple[str, bool]]:
    """Per-flow locality tests implied by a rule's allowed directions: (column, wanted value).

    Outbound/internal-only rules need a local actor; inbound/internal-only rules a local
    target; inbound-only an outside actor too. Flows failing them can never end up in an
    allowed alert, so they are dropped before any grouping.
    """
    local = {"id.orig_h": ORIG_LOCAL, "id.resp_h": RESP_LOCAL}
    allowed = set(directions)
    terms = []
    if allowed <= {"outbound", "internal"}:
        terms.append((local[actor], True))
    if allowed <= {"inbound", "internal"}:
        terms.append((local[target], True))
    if allowed <= {"inbound"}:
        terms.append((local[actor], False))
    return terms


def direction_prefilter(directions: Sequence[str], actor: str, target: str) -> pl.Expr:
    """:func:`direction_terms` as one condition (true when unrestricted)."""
    expr = pl.lit(True)
    for column, wanted in direction_terms(directions, actor, target):
        expr = expr & (pl.col(column) if wanted else ~pl.col(column))
    return expr
