"""The ``devices``, ``findings`` and ``risk`` sections of ``hedgerow scan``'s report.json.

:func:`register_sections` adds them through the report's section hook
(:func:`hedgerow.report.jsonreport.register_section`): the scan's captures are read again as
packets for the inventory (conn.logs for services and peers), and the scan's alerts join the
risk scores. The assessment is computed once per scan result and shared by the sections.

Example:
    >>> register_sections()
    >>> from hedgerow.report.jsonreport import _SECTIONS
    >>> sorted(n for n in _SECTIONS if n in ("devices", "findings", "risk"))
    ['devices', 'findings', 'risk']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hedgerow.assess.household import HouseholdAssessment, assess_inputs
from hedgerow.model import LocalNetworks

_CACHE: dict[int, tuple[object, dict[str, Any]]] = {}


def household_sections(result: Any) -> dict[str, Any]:
    """The assessment of a :class:`hedgerow.report.result.ScanResult` as report sections."""
    cached = _CACHE.get(id(result))
    if cached is not None and cached[0] is result:
        return cached[1]
    assessment: HouseholdAssessment = assess_inputs(
        [i.path for i in result.inputs if i.status != "error"],
        LocalNetworks.parse(result.home_networks) if result.home_networks else None,
        alerts=result.alerts,
    )
    doc = assessment.to_dict()
    _CACHE.clear()
    _CACHE[id(result)] = (result, doc)
    return doc


def register_sections() -> None:
    """Register the sections with the scan report (idempotent)."""
    from hedgerow.report.jsonreport import register_section

    for name in ("devices", "findings", "risk"):
        register_section(name, _provider(name))


def _provider(name: str) -> Callable[[Any], Any]:
    def provide(result: Any) -> Any:
        return household_sections(result)[name]

    return provide
