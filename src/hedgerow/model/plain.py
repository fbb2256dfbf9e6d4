"""``dataclasses.asdict`` without its cost: the same nested copy, fast on plain JSON-like data.

``asdict`` deep-copies every leaf value through :func:`copy.deepcopy`; alert, device and finding
evidence is strings, numbers, lists and dicts, which are copied here directly (anything else
still goes through ``asdict``/``deepcopy``, so the result is the same).

Example:
    >>> from dataclasses import asdict, dataclass, field
    >>> @dataclass
    ... class Thing:
    ...     name: str
    ...     tags: tuple[str, ...] = ()
    ...     evidence: dict[str, object] = field(default_factory=dict)
    >>> thing = Thing("cam", ("a", "b"), {"ports": [23, 2323], "group": {"k": (1, None)}})
    >>> fields_dict(thing) == asdict(thing), fields_dict(thing)["evidence"] is thing.evidence
    (True, False)
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

_ATOMS = frozenset({str, int, float, bool, type(None)})


def plain_copy(value: Any) -> Any:
    """A copy of ``value`` as ``asdict`` makes of a field's value."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is dict:
        return {plain_copy(k): plain_copy(v) for k, v in value.items()}
    if kind is list:
        return [plain_copy(v) for v in value]
    if kind is tuple:
        return tuple(plain_copy(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return copy.deepcopy(value)


def fields_dict(obj: Any) -> dict[str, Any]:
    """``dataclasses.asdict(obj)`` for a dataclass instance: its fields in order, copied."""
    return {f.name: plain_copy(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
