"""The detector contract, the context detectors share, and the registry of detector types.

A detector is built from one rule (data). It receives whole FlowBatches in event-time order
(``process``), keeps bounded windowed state across batches, and flushes what is left at the
end (``finish``). A detector that reads packets too (``reads_packets``) also gets every packet
batch (``observe``), possibly from the reading thread, before the flows those packets end. It
never reads the wall clock.

Example:
    >>> from hedgerow.detect.ruleload import builtin_rules_dir, load_rules
    >>> rules = load_rules([builtin_rules_dir()])
    >>> rule = next(r for r in rules if r.id == "scan.horizontal.telnet")
    >>> detector = build_detector(rule)
    >>> detector.name, detector.finish(DetectContext())
    ('scan.horizontal.telnet', [])
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hedgerow.flows.schema import FlowBatch
from hedgerow.model import Alert, LocalNetworks

if TYPE_CHECKING:
    from hedgerow.capture.batch import PacketBatch
    from hedgerow.detect.masks import BatchMasks
    from hedgerow.intel.indicators import IndicatorSet


@dataclass
class DetectContext:
    """What every detector may consult: the local networks and the loaded indicators."""

    networks: LocalNetworks = field(default_factory=LocalNetworks.default)
    indicators: IndicatorSet | None = None
    lateness: float = 300.0
    """How far (event-time seconds) a flow's start may lag the newest flow seen: flows are
    reported when they end, so windows stay open this long (Zeek's TCP inactivity timeout)."""
    defer_rows: int = 0
    """Windowed detectors judge closed windows once this many of their rows are buffered (0:
    at every batch, as a live sensor must); an offline scan defers for fewer, larger
    judgements with the same alerts."""
    masks: BatchMasks | None = None
    """The current batch's filter masks, shared by the rules (set by the engine per batch)."""


class Detector(ABC):
    """One detector instance, configured by one rule."""

    name: str
    version: str
    reads_packets: bool = False
    """Whether :meth:`observe` wants the packet batches (ARP, for one)."""

    def __init__(self, rule: Any) -> None:
        self.rule = rule
        self.name = rule.id
        self.version = str(rule.version)

    def observe(self, packets: PacketBatch) -> None:  # noqa: B027 - most detectors read none
        """Read one packet batch (called only when ``reads_packets``)."""

    @abstractmethod
    def process(self, flows: FlowBatch, ctx: DetectContext) -> list[Alert]:
        """Consume one batch; return alerts whose window closed."""

    @abstractmethod
    def finish(self, ctx: DetectContext) -> list[Alert]:
        """Flush open windows at the end of input."""

    def open_since(self) -> float:
        """Earliest event time an alert not returned yet may start at (``inf``: none open).

        The engine keeps suppressing alerts only while they may overlap one still to come;
        a detector that cannot tell keeps them all (``-inf``).
        """
        return -math.inf

    def reach(self) -> float:
        """How far (event-time seconds) before the watermark minus the lateness an alert
        on flows not seen yet may start."""
        return 0.0


DetectorFactory = Callable[[Any], Detector]
_REGISTRY: dict[str, DetectorFactory] = {}


def register(rule_type: str) -> Callable[[DetectorFactory], DetectorFactory]:
    """Class decorator: the detector class that serves rules of ``type: rule_type``."""

    def deco(factory: DetectorFactory) -> DetectorFactory:
        _REGISTRY[rule_type] = factory
        return factory

    return deco


def registered_types() -> dict[str, DetectorFactory]:
    """Rule type -> detector class, for every registered detector."""
    _load_builtin_detectors()
    return dict(_REGISTRY)


def build_detector(rule: Any) -> Detector:
    """The detector for one validated rule."""
    factories = registered_types()
    try:
        return factories[rule.type](rule)
    except KeyError:
        raise ValueError(f"rule {rule.id}: no detector for type {rule.type!r}") from None


def _load_builtin_detectors() -> None:
    from hedgerow.detect import (  # noqa: F401
        arpspoof,
        beacon,
        dnsspoof,
        intelmatch,
        p2p,
        threshold,
    )
