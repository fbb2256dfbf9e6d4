"""Listed names and addresses in a DNS response, and the addresses it gave for listed names.

A response answers its question with a chain: the question's name, CNAME targets, and the
A/AAAA records at the end of the chain. Each name on it is looked up among the listed domains,
each address among the listed addresses and networks. An address record whose chain passes a
listed name is a *resolution*: the device that asked was told where the listed name lives, so
a later connection from it to that address is contact with the listed name, whatever the
connection carries (see :class:`hedgerow.detect.resolutions.ResolutionMap`).
:func:`batch_answers` does this for a FlowBatch: each distinct response payload among the flows
that can carry one (UDP 53/5353/5355, TCP 53) is read once.

Example:
    >>> from hedgerow.intel import IndicatorSet
    >>> from hedgerow.wire.dns import DnsAnswer, DnsAnswers
    >>> intel = IndicatorSet(); intel.add("evil.example", category="c2", source="demo")
    >>> answers = DnsAnswers("cdn.shop.example", (
    ...     DnsAnswer("cdn.shop.example", 5, "x.evil.example", 60),
    ...     DnsAnswer("x.evil.example", 1, "203.0.113.5", 60)))
    >>> found = match_answers(answers, intel)
    >>> [(ind.value, via) for ind, via in found.hits]
    [('evil.example', 'dns-answer x.evil.example')]
    >>> [(r.address, r.name, r.ttl) for r in found.resolutions]
    [('203.0.113.5', 'x.evil.example', 60)]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from hedgerow.detect.names import DNS_PORTS
from hedgerow.detect.resolutions import RECENT_COLUMNS
from hedgerow.intel.indicators import Indicator, IndicatorSet
from hedgerow.wire.dns import TYPE_CNAME, DnsAnswers, dns_answers

_ON = ["resp_payload", "proto"]
_TAGS = {"_ind": pl.String(), "_cat": pl.String(), "_src": pl.String()}


@dataclass(frozen=True, slots=True)
class ListedResolution:
    """An address a response gave for a listed name (the nearest listed name on its chain)."""

    address: str
    name: str
    ttl: int
    indicator: Indicator


@dataclass(frozen=True, slots=True)
class AnswerMatches:
    """Indicators a response names (with how: ``dns-answer NAME_OR_ADDRESS``), resolutions."""

    hits: tuple[tuple[Indicator, str], ...]
    resolutions: tuple[ListedResolution, ...]


def match_answers(answers: DnsAnswers, intel: IndicatorSet) -> AnswerMatches:
    """Look the response's names and addresses up in ``intel``."""
    if not answers.records:
        return AnswerMatches((), ())
    listed: dict[str, Indicator | None] = {}
    alias_of: dict[str, str] = {}
    names = [answers.question] if answers.question else []
    for rec in answers.records:
        names.append(rec.name)
        if rec.rtype == TYPE_CNAME:
            names.append(rec.value)
            alias_of.setdefault(rec.value, rec.name)
    if intel.has_domains:
        for name in names:
            if name not in listed:
                listed[name] = intel.lookup_domain(name)
    hits: dict[tuple[str, str], tuple[Indicator, str]] = {}
    for name, ind in listed.items():
        if ind is not None:
            hits.setdefault((ind.value, name), (ind, f"dns-answer {name}"))
    resolutions: list[ListedResolution] = []
    for rec in answers.records:
        if rec.rtype == TYPE_CNAME:
            continue
        ind = intel.lookup_ip(rec.value) if intel.has_addresses else None
        if ind is not None:
            hits.setdefault((ind.value, rec.value), (ind, f"dns-answer {rec.value}"))
        found = _listed_on_chain(rec.name, alias_of, listed, len(answers.records))
        if found is not None:
            resolutions.append(ListedResolution(rec.value, found[0], rec.ttl, found[1]))
    return AnswerMatches(tuple(hits.values()), tuple(resolutions))


def _listed_on_chain(
    name: str, alias_of: dict[str, str], listed: dict[str, Indicator | None], steps: int
) -> tuple[str, Indicator] | None:
    """The first listed name from ``name`` back along the CNAME chain (bounded walk)."""
    for _ in range(steps + 1):
        ind = listed.get(name)
        if ind is not None:
            return name, ind
        if name not in alias_of:
            return None
        name = alias_of[name]
    return None


def batch_answers(
    flows: pl.DataFrame, intel: IndicatorSet, lifetime: Callable[[int], float]
) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """The batch's DNS responses matched: (hits, resolutions), either None when empty.

    Hits are the response flows (``RECENT_COLUMNS``) with ``_ind``, ``_cat``, ``_src`` and
    ``_via``. Resolutions are rows of ``id.orig_h`` (the device that asked), ``id.resp_h`` (the
    address it was given), ``_since``/``_until`` (the flow's start, plus ``lifetime(ttl)``),
    the indicator's ``_ind``, ``_cat``, ``_src``, ``_via`` and the listed name ``_n``, in
    event-time order.
    """
    proto, port = pl.col("proto"), pl.col("id.resp_p")
    dns = ((proto == "udp") & port.is_in(DNS_PORTS)) | ((proto == "tcp") & (port == 53))
    cand = flows.select(*RECENT_COLUMNS, *_ON).filter(
        pl.col("resp_payload").is_not_null() & dns.fill_null(False)
    )
    if cand.height == 0:
        return None, None
    hits, resolved = [], []
    for payload, proto_name in cand.select(_ON).unique().iter_rows():
        found = match_answers(dns_answers(payload, length_prefixed=proto_name == "tcp"), intel)
        for ind, via in found.hits:
            hits.append((payload, proto_name, ind.value, ind.category, ind.source, via))
        for r in found.resolutions:
            ind = r.indicator
            resolved.append((payload, proto_name, ind.value, ind.category, ind.source,
                             r.address, r.ttl, r.name))
    schema = cand.select(_ON).schema
    hit_rows = None
    if hits:
        lut = pl.DataFrame(hits, orient="row", schema={**schema, **_TAGS, "_via": pl.String()})
        hit_rows = cand.join(lut, on=_ON, how="inner").drop(_ON)
    if not resolved:
        return hit_rows, None
    lut = pl.DataFrame(resolved, orient="row", schema={
        **schema, **_TAGS, "_a": pl.String(), "_ttl": pl.Int64(), "_n": pl.String()})
    new = (cand.select("ts", "uid", "id.orig_h", *_ON).join(lut, on=_ON, how="inner")
           .filter(pl.col("ts").is_not_null() & pl.col("id.orig_h").is_not_null())
           .sort("ts", "uid", "_a"))
    life = pl.Series([lifetime(t) for t in new["_ttl"].to_list()], dtype=pl.Float64)
    return hit_rows, new.select(
        "id.orig_h", pl.col("_a").alias("id.resp_h"), pl.col("ts").alias("_since"),
        (pl.col("ts") + life).alias("_until"), *_TAGS,
        pl.format("resolved {}", pl.col("_n")).alias("_via"), "_n",
    )
