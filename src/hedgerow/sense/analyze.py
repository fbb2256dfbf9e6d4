"""Streaming analysis for the live sensor: packets → flows → detectors → alerts, early and final.

*Final* alerts are exactly what the offline path concludes (``hedgerow scan`` on a capture of the
same traffic): the flow meter emits flows as they end and the detectors judge windows as event
time passes. An attack that is still going on has neither ended flows nor a closed window, so
every ``early_every_s`` seconds the analyzer also asks "what would the detectors conclude if the
input ended now?": it runs *copies* of the detectors over the flows still open (those of the
hosts that began a flow since the previous check; now and then all of them) and finishes the
copies. What they conclude is raised at once as an *early* alert (``evidence["stage"]``);
the real detectors are untouched, so final alerts stay those of the offline path.

A final alert is raised once per dedup key; an early one once per (detector, device, direction,
window), and not at all when the final alert came first.

Example:
    >>> from hedgerow.capture import open_capture
    >>> analyzer = StreamAnalyzer.from_rules()
    >>> path = "/work/shared/corpus/slips/dataset/test7-malicious.pcap"
    >>> with open_capture(path) as cap:
    ...     alerts = [a for batch in cap for a in analyzer.feed(batch)]
    >>> alerts += analyzer.finish()
    >>> "192.168.2.16" in {a.device for a in alerts if a.kind.value == "scan"}
    True
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from hedgerow.capture.batch import PacketBatch
from hedgerow.detect.engine import DetectionEngine
from hedgerow.flows.live import LiveFlowMeter
from hedgerow.flows.meter import MeterConfig
from hedgerow.flows.resolved import ResolutionRecord
from hedgerow.flows.schema import FlowBatch
from hedgerow.model import Alert, LocalNetworks
from hedgerow.sense.devices import DeviceKinds

_NS = 1_000_000_000
_FORGET_S = 3600.0


def _trial_copy(engine: DetectionEngine) -> DetectionEngine:
    """A throw-away copy of the engine's state, sharing what no detector changes: the context
    (networks, intel) and the rules (copying the validated rule models was a third of it)."""
    shared: list[object] = [engine.ctx, *engine.rules, *(det.rule for det in engine.detectors)]
    return copy.deepcopy(engine, memo={id(obj): obj for obj in shared})


def alert_key(alert: Alert) -> tuple[str, str, str, int]:
    """What makes two alerts the same conclusion (peers may grow while an attack goes on)."""
    window = alert.window_key if alert.window_key is not None else int(alert.start)
    return (alert.detector, alert.device, alert.direction, window)


class StreamAnalyzer:
    """Flow meter and detection engine over a stream of packet batches (live or a capture).

    Packets are metered batch by batch; ended flows are handed to the detection engine once
    event time has moved ``detect_every_s`` (or ``max_pending`` flows are waiting), because the
    engine's cost is mostly per call. Early checks run every ``early_every_s`` at most and look
    only at the hosts that began a flow since the previous check; while they are cheap they take
    no more than about a fifth of the sensor's CPU (a check that used 0.2 CPU-seconds waits
    0.8 s for the next; CPU, not wall time, so other programs' load does not slow the checks),
    but never wait more than ``early_max_gap_s``. Every ``early_full_every_s`` (at most a ninth
    of the CPU) a check looks at every open flow. Every batch's DNS answers give the flows
    ``_resp_resolved``, as in ``hedgerow scan`` (:mod:`hedgerow.flows.resolved`). With
    ``devices`` every batch also feeds the running inventory the decision engine asks for
    device kinds.
    """

    def __init__(self, engine: DetectionEngine, meter_config: MeterConfig | None = None,
                 early_every_s: float = 1.0, detect_every_s: float = 1.0,
                 max_pending: int = 200_000, settle_s: float = 0.5,
                 early_max_gap_s: float = 2.0, early_full_every_s: float = 10.0,
                 devices: DeviceKinds | None = None) -> None:
        self.engine = engine
        self.devices = devices
        self.resolved = ResolutionRecord()
        self._packet_observers = engine.packet_observers
        self.meter = LiveFlowMeter(meter_config)
        self.early_every_s = early_every_s
        self.early_max_gap_s = early_max_gap_s
        self.early_full_every_s = early_full_every_s
        self.detect_every_s = detect_every_s
        self.max_pending = max_pending
        self.settle_s = settle_s
        self.flows_completed = 0
        self.last_early_cost_s = 0.0
        self._last_ns = 0
        self._last_detect_ns = 0
        self._next_early_s = 0.0
        self._next_full_s = 0.0
        self._early_ns = 0
        self._pending: list[FlowBatch] = []
        self._pending_rows = 0
        self._raised: dict[tuple[str, object], float] = {}
        self._early_ids: dict[tuple[str, str, str, int], str] = {}

    @classmethod
    def from_rules(cls, extra_rule_dirs: Iterable[Path] = (),
                   networks: LocalNetworks | None = None, intel_files: Iterable[Path] = (),
                   early_every_s: float = 1.0, detect_every_s: float = 1.0,
                   devices: DeviceKinds | None = None) -> StreamAnalyzer:
        """The shipped rules and indicators plus the user's, as ``hedgerow scan`` loads them."""
        engine = DetectionEngine.from_rule_dirs(extra_rule_dirs, networks=networks,
                                                intel_files=intel_files)
        return cls(engine, early_every_s=early_every_s, detect_every_s=detect_every_s,
                   devices=devices)

    @property
    def detectors(self) -> int:
        return len(self.engine.detectors)

    def feed(self, batch: PacketBatch) -> list[Alert]:
        """Meter one batch; return the alerts concluded when detection ran."""
        if len(batch):
            self._last_ns = max(self._last_ns, int(batch.ts_ns.max()))
        if self.devices is not None:
            self.devices.observe(batch)
        self.resolved.observe(batch)
        for observe in self._packet_observers:
            observe(batch)
        self._hold(self.meter.add(batch))
        due = self._last_ns - self._last_detect_ns >= self.detect_every_s * _NS
        return self._detect() if due or self._pending_rows >= self.max_pending else []

    def advance(self, now_s: float) -> list[Alert]:
        """Advance event time on a quiet link; return alerts that concluded.

        Call it only when every captured packet has been fed. Event time moves to ``now_s``
        minus ``settle_s`` (frames may still sit in a kernel ring block not yet handed over).
        """
        horizon_ns = int((now_s - self.settle_s) * _NS)
        if horizon_ns <= self._last_ns:
            return []
        self._last_ns = horizon_ns
        self._hold(self.meter.advance(horizon_ns))
        return self._detect()

    def early(self, now_s: float) -> list[Alert]:
        """What the detectors would conclude if the input ended now (rate- and cost-limited).

        Most checks look only at the hosts that began a flow since the previous check: all
        their open flows, and every ended flow not yet detected on (a host that began
        nothing new was judged on the same flows before). Every ``early_full_every_s`` a
        check looks at every open flow, so flows that only grew are judged again too.
        """
        if now_s < self._next_early_s:
            return []
        started = time.process_time()
        full = now_s >= self._next_full_s
        since = None if full else self._early_ns - int(self.settle_s * _NS)
        self._early_ns = self._last_ns
        flows = [*self._pending, self.meter.peek(since)]
        candidates = pl.concat(flows) if len(flows) > 1 else flows[0]
        alerts: list[Alert] = []
        if candidates.height:
            trial = _trial_copy(self.engine)
            trial.process(self.resolved.judge(candidates).sort("ts"))
            alerts = self._raise(trial.finish(), "early")
        cost = time.process_time() - started
        self.last_early_cost_s = cost
        if full:
            self._next_full_s = now_s + max(self.early_full_every_s, 8 * cost)
            pause = self.early_every_s
        else:
            pause = min(max(self.early_every_s, 4 * cost), self.early_max_gap_s)
        self._next_early_s = now_s + pause
        self._forget(now_s)
        return alerts

    def finish(self) -> list[Alert]:
        """End of input: the remaining flows and windows."""
        self._hold(self.meter.flush())
        alerts = self._detect()
        return alerts + self._raise(self.engine.drain(final=True), "final")

    def _hold(self, flows: FlowBatch) -> None:
        if flows.height:
            self._pending.append(flows)
            self._pending_rows += flows.height
            self.flows_completed += flows.height

    def _detect(self) -> list[Alert]:
        self._last_detect_ns = self._last_ns
        if not self._pending:
            return []
        flows = pl.concat(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending, self._pending_rows = [], 0
        self.engine.process(self.resolved.judge(flows).sort("ts"))
        return self._raise(self.engine.drain(), "final")

    def _raise(self, alerts: list[Alert], stage: str) -> list[Alert]:
        """Alerts not raised before: finals once per dedup key; earlies once per
        :func:`alert_key` and never after the final one. A final alert that follows an early one
        names it (``evidence["early_id"]``), so decisions already taken are not taken again."""
        fresh: list[Alert] = []
        for alert in alerts:
            coarse = ("coarse", alert_key(alert))
            exact = ("final", alert.dedup_key)
            evidence = {**alert.evidence, "stage": stage}
            if stage == "final":
                if exact in self._raised:
                    continue
                self._raised[exact] = alert.end
                early_id = self._early_ids.get(alert_key(alert))
                if early_id is not None:
                    evidence["early_id"] = early_id
            elif coarse in self._raised:
                continue
            else:
                self._early_ids[alert_key(alert)] = alert.id
            self._raised[coarse] = alert.end
            fresh.append(dataclasses.replace(alert, evidence=evidence))
        return fresh

    def _forget(self, now_s: float) -> None:
        if len(self._raised) > 4096:
            self._raised = {k: end for k, end in self._raised.items() if end > now_s - _FORGET_S}
            live = {k[1] for k in self._raised if k[0] == "coarse"}
            self._early_ids = {k: v for k, v in self._early_ids.items() if k in live}
