"""The household assessment of a ``hedgerow scan``: report.json sections and terminal table.

:func:`register_sections` adds ``devices``, ``findings`` and ``risk`` to report.json through
the report's section hook (:func:`hedgerow.report.jsonreport.register_section`). The inventory
comes from the packets the scan itself read (a :class:`HouseholdCollector` attached with
:func:`attach_collector`); a result without one has its inputs read again. The
scan's alerts join the risk scores, and with a probe rate the home devices are also probed
(opt-in). The assessment is made once per scan result and shared by the sections and the
terminal table.

Example:
    >>> register_sections()
    >>> from hedgerow.report.jsonreport import _SECTIONS
    >>> sorted(n for n in _SECTIONS if n in ("devices", "findings", "risk"))
    ['devices', 'findings', 'risk']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hedgerow.assess.household import HouseholdAssessment, HouseholdCollector, assess_inputs
from hedgerow.model import LocalNetworks

_CACHE: dict[tuple[int, float | None], tuple[object, HouseholdAssessment]] = {}
_COLLECTED: dict[int, tuple[object, HouseholdCollector]] = {}


def attach_collector(result: Any, collector: HouseholdCollector) -> None:
    """Assess ``result`` from what ``collector`` gathered during the scan (no second read)."""
    _COLLECTED.clear()
    _COLLECTED[id(result)] = (result, collector)


def assessment_for(result: Any, probe_rate: float | None = None) -> HouseholdAssessment:
    """The assessment of a :class:`hedgerow.report.result.ScanResult` (computed once)."""
    key = (id(result), probe_rate)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] is result:
        return cached[1]
    owner, collector = _COLLECTED.get(id(result), (None, None))
    if collector is not None and id(owner) == id(result):
        assessment = collector.assess(result.alerts, probe_rate=probe_rate)
    else:
        assessment = assess_inputs(
            [i.path for i in result.inputs if i.status != "error"],
            LocalNetworks.parse(result.home_networks) if result.home_networks else None,
            alerts=result.alerts,
            probe_rate=probe_rate,
        )
    _CACHE.clear()
    _CACHE[key] = (result, assessment)
    return assessment


def household_sections(result: Any, probe_rate: float | None = None) -> dict[str, Any]:
    """The report sections of a scan result."""
    return assessment_for(result, probe_rate).to_dict()


def register_sections(probe_rate: float | None = None) -> None:
    """Register the sections with the scan report (re-registering replaces them)."""
    from hedgerow.report.jsonreport import register_section

    for name in ("devices", "findings", "risk"):
        register_section(name, _provider(name, probe_rate))


def _provider(name: str, probe_rate: float | None) -> Callable[[Any], Any]:
    def provide(result: Any) -> Any:
        return household_sections(result, probe_rate)[name]

    return provide
