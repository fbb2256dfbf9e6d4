"""The live sensor loop: capture thread → bounded queue → analysis → alerts → decisions.

The capture thread only drains the kernel ring (compiled, GIL released while copying) and
queues raw frame batches; the analysis thread decodes them, meters flows, runs the detectors
and writes alerts; the decision thread hands them to the decision engine, so nftables calls
never hold up analysis. When analysis falls behind by more than
``queue_batches`` batches the newest batch is dropped and counted (``our_drops``) so the ring
keeps moving and latency stays bounded; the kernel's own drops are counted separately.

On a quiet link the analysis thread still ticks every ``tick_s`` seconds so that flows and
detector windows advance (the kernel timestamps packets with the same clock). Early alerts are
asked for after every batch and tick, so a check runs as soon as the analyzer's rate and cost
limits allow while an attack is still under way; but while batches wait in the queue they are
analysed first (an early check on stale flows would only delay them), for at most
``early_defer_s`` seconds.

Example (needs root; see ``hedgerow sense``):
    >>> sensor = Sensor(LiveCapture("eth0"), analyzer, SenseStats())   # doctest: +SKIP
    >>> sensor.run(threading.Event(), duration_s=10)                   # doctest: +SKIP
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from hedgerow.capture.batch import PacketBatch
from hedgerow.model import Alert
from hedgerow.respond.decisions import DecisionEngine, Outcome
from hedgerow.sense.alertlog import AlertLog
from hedgerow.sense.live import LiveCapture
from hedgerow.sense.ring import Frames
from hedgerow.sense.stats import SenseStats, Snapshot


class Analyzer(Protocol):
    """Detection over packet batches, as :class:`hedgerow.sense.analyze.StreamAnalyzer` does it."""

    def feed(self, batch: PacketBatch) -> list[Alert]:
        """Analyse one batch; return alerts concluded by it."""

    def advance(self, now_s: float) -> list[Alert]:
        """Advance event time to ``now_s`` on a quiet link; return concluded alerts."""

    def early(self, now_s: float) -> list[Alert]:
        """Alerts about attacks still under way (rate-limited by the analyzer)."""

    def finish(self) -> list[Alert]:
        """End of input: every remaining alert."""

    @property
    def flows_completed(self) -> int:
        """Flows completed so far."""

    @property
    def detectors(self) -> int:
        """How many detectors run."""


class Sensor:
    """Runs capture and analysis until stopped; reports alerts, decisions and stats by callback."""

    def __init__(
        self,
        capture: LiveCapture,
        analyzer: Analyzer,
        stats: SenseStats,
        engine: DecisionEngine | None = None,
        alert_log: AlertLog | None = None,
        on_alert: Callable[[Alert, list[Outcome]], None] | None = None,
        on_report: Callable[[Snapshot, float], None] | None = None,
        queue_batches: int = 16,
        tick_s: float = 0.25,
        report_every_s: float = 10.0,
        early_defer_s: float = 1.0,
    ) -> None:
        self.capture = capture
        self.analyzer = analyzer
        self.stats = stats
        self.engine = engine
        self.alert_log = alert_log
        self.on_alert = on_alert
        self.on_report = on_report
        self.tick_s = tick_s
        self.report_every_s = report_every_s
        self.early_defer_s = early_defer_s
        self._queue: queue.Queue[Frames] = queue.Queue(maxsize=queue_batches)
        self._decide: queue.Queue[Alert | None] = queue.Queue()
        self._capturing = threading.Event()
        self.error: BaseException | None = None

    def run(self, stop: threading.Event, duration_s: float | None = None) -> None:
        """Capture and analyse until ``stop`` is set (or ``duration_s`` passed), then finish."""
        self._capturing.set()
        reader = threading.Thread(target=self._capture_loop, name="capture", daemon=True)
        reader.start()
        decider = threading.Thread(target=self._decision_loop, name="decide", daemon=True)
        decider.start()
        deadline = time.monotonic() + duration_s if duration_s is not None else None
        last_tick = last_report = asked = time.monotonic()
        before = self.stats.snapshot()
        try:
            while True:
                now = time.monotonic()
                if stop.is_set() or (deadline is not None and now >= deadline):
                    break
                try:
                    frames = self._queue.get(timeout=self.tick_s)
                except queue.Empty:
                    frames = None
                if frames is not None:
                    self._analyse(frames)
                if time.monotonic() - last_tick >= self.tick_s:
                    if self._queue.empty():
                        self._emit(self.analyzer.advance(time.time()))
                    last_tick = time.monotonic()
                # The analyzer says when an early check is due (a cheap no-op until then);
                # while batches wait, they go first (for at most ``early_defer_s``).
                if self._queue.empty() or time.monotonic() - asked >= self.early_defer_s:
                    self._emit(self.analyzer.early(time.time()))
                    asked = time.monotonic()
                if self.on_report is not None and time.monotonic() - last_report >= \
                        self.report_every_s:
                    snap = self.stats.snapshot()
                    self.on_report(snap, snap.rate(before))
                    before, last_report = snap, time.monotonic()
        finally:
            self._capturing.clear()
            reader.join(timeout=5)
            while not self._queue.empty():
                self._analyse(self._queue.get_nowait())
            self._emit(self.analyzer.finish())
            self._poll_kernel()
            self._decide.put(None)
            decider.join()
        if self.error is not None:
            raise self.error

    def _capture_loop(self) -> None:
        try:
            while self._capturing.is_set():
                frames = self.capture.next_frames()
                self._poll_kernel()
                if frames.count == 0:
                    continue
                try:
                    self._queue.put_nowait(frames)
                except queue.Full:
                    self.stats.add(our_drops=frames.count)
                self.stats.set(queue=self._queue.qsize())
        except Exception as exc:  # the analysis thread re-raises it after shutting down
            self.error = exc

    def _poll_kernel(self) -> None:
        ring = self.capture.stats()
        self.stats.set(kernel_drops=ring.kernel_drops)

    def _analyse(self, frames: Frames) -> None:
        started = time.monotonic()
        batch = self.capture.decode(frames)
        alerts = self.analyzer.feed(batch)
        newest = float(batch.ts_ns.max()) / 1e9 if len(batch) else time.time()
        self.stats.add(packets=len(batch), bytes=int(batch.wire_len.sum(dtype="uint64")),
                       batches=1)
        self.stats.set(flows=self.analyzer.flows_completed, queue=self._queue.qsize(),
                       last_batch_s=time.monotonic() - started, lag_s=time.time() - newest)
        self._emit(alerts)

    def _emit(self, alerts: list[Alert]) -> None:
        """Log alerts at once; decisions (nftables calls) happen in the decision thread."""
        for alert in alerts:
            self.stats.count_alert(alert.kind.value, alert.severity.value)
            if self.alert_log is not None:
                self.alert_log.write(alert, stage=alert.evidence.get("stage", "final"),
                                     extra={"raised_at": time.time()})
            self._decide.put(alert)

    def _decision_loop(self) -> None:
        while (alert := self._decide.get()) is not None:
            outcomes = self.engine.handle(alert) if self.engine is not None else []
            for outcome in outcomes:
                self.stats.count_decision(outcome.decision.action.value, outcome.status)
            if self.on_alert is not None:
                self.on_alert(alert, outcomes)
