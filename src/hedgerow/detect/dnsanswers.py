"""Listed names and addresses in a DNS response, and the addresses it gave for listed names.

A response answers its question with a chain: the question's name, CNAME targets, and the
A/AAAA records at the end of the chain. Each name on it is looked up among the listed domains,
each address among the listed addresses and networks. An address record whose chain passes a
listed name is a *resolution*: the device that asked was told where the listed name lives, so
a later connection from it to that address is contact with the listed name, whatever the
connection carries (see :class:`hedgerow.detect.resolutions.ResolutionMap`).

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

from dataclasses import dataclass

from hedgerow.intel.indicators import Indicator, IndicatorSet
from hedgerow.wire.dns import TYPE_CNAME, DnsAnswers


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
