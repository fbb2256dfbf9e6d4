"""The decision engine: policy → guarded, deduplicated, logged decisions → nftables commands."""

from __future__ import annotations

from pathlib import Path

from hedgerow.model import Alert, AlertKind, Severity
from hedgerow.respond.decisions import DecisionEngine
from hedgerow.respond.enforce import NftEnforcer
from hedgerow.respond.guard import Guard
from hedgerow.respond.nftables import NftTable
from hedgerow.respond.policy import load_policy
from hedgerow.respond.store import DecisionStore


def _alert(kind: AlertKind, direction: str, device: str, peers: tuple[str, ...],
           severity: Severity = Severity.HIGH, start: float = 100.0) -> Alert:
    return Alert(kind=kind, detector=f"{kind.value}.test", detector_version="1",
                 direction=direction, device=device, peers=peers, severity=severity,
                 confidence=0.9, start=start, end=start + 10, summary=f"{kind.value} {device}")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _engine(tmp_path: Path, management: tuple[str, ...] = ("192.168.1.1",),
            nft: str = "nft") -> tuple[DecisionEngine, NftTable, Clock]:
    table = NftTable("hedgerow-test", dry_run=nft == "nft", nft=nft)
    clock = Clock()
    engine = DecisionEngine(load_policy(), DecisionStore(tmp_path / "decisions.jsonl"),
                            Guard.from_entries(management, own=False), NftEnforcer(table),
                            clock=clock)
    return engine, table, clock


def _sent_elements(table: NftTable) -> list[tuple[str, str]]:
    out = []
    for doc in table.sent:
        for cmd in doc["nftables"]:
            element = cmd.get("add", {}).get("element")
            if element:
                out += [(element["name"], e["elem"]["val"]) for e in element["elem"]]
    return out


def test_outbound_scanner_is_quarantined_once(tmp_path: Path) -> None:
    engine, table, _ = _engine(tmp_path)
    alert = _alert(AlertKind.SCAN, "outbound", "192.168.2.16", ("203.0.113.1", "203.0.113.2"))
    outcomes = engine.handle(alert)
    assert [(o.status, o.decision.action.value, o.decision.value) for o in outcomes] == [
        ("applied", "quarantine", "192.168.2.16")]
    assert _sent_elements(table) == [("quarantine4", "192.168.2.16")]
    again = _alert(AlertKind.SCAN, "outbound", "192.168.2.16", ("203.0.113.3",), start=200.0)
    assert engine.handle(again) == []
    assert len(table.sent) == 1
    [entry] = engine.store.active(engine.clock())
    assert entry.rule == "quarantine-attacking-device"
    assert entry.decision.alert_id == alert.id


def test_inbound_attackers_are_blocked_but_not_networks_or_protected_hosts(
        tmp_path: Path) -> None:
    engine, table, _ = _engine(tmp_path, management=("198.51.100.0/24",))
    alert = _alert(AlertKind.BRUTEFORCE, "inbound", "192.168.1.30",
                   ("203.0.113.9", "203.0.113.0/24", "198.51.100.7", "camera.example"))
    outcomes = engine.handle(alert)
    assert [(o.status, o.decision.value) for o in outcomes] == [
        ("applied", "203.0.113.9"), ("refused", "198.51.100.7")]
    assert _sent_elements(table) == [("block4", "203.0.113.9")]
    assert "protected" in outcomes[1].detail


def test_never_quarantines_the_gateway_itself(tmp_path: Path) -> None:
    engine, table, _ = _engine(tmp_path)
    alert = _alert(AlertKind.SCAN, "outbound", "192.168.1.1", ("203.0.113.1",))
    [outcome] = engine.handle(alert)
    assert outcome.status == "refused"
    assert table.sent == []


def test_peer_count_is_bounded(tmp_path: Path) -> None:
    engine, table, _ = _engine(tmp_path)
    peers = tuple(f"203.0.113.{i}" for i in range(1, 60))
    outcomes = engine.handle(_alert(AlertKind.SCAN, "inbound", "192.168.1.30", peers))
    assert len(outcomes) == engine.policy.max_peers_per_alert
    assert len(_sent_elements(table)) == engine.policy.max_peers_per_alert
    assert len(table.sent) == 1, "one nftables transaction per alert"


def test_revoke_and_expiry(tmp_path: Path) -> None:
    engine, _, clock = _engine(tmp_path)
    alert = _alert(AlertKind.BRUTEFORCE, "inbound", "192.168.1.30", ("203.0.113.9",))
    [outcome] = engine.handle(alert)
    entry = engine.store.find(outcome.id[:6], now=clock())
    assert entry is not None
    assert engine.revoke(entry).status == "revoked"
    assert engine.store.active(clock()) == []
    # The same alert raised again (e.g. final after early) does not undo the revocation...
    assert engine.handle(alert) == []
    # ...but the attacker coming back (a new alert) is blocked again, until it expires.
    later = _alert(AlertKind.BRUTEFORCE, "inbound", "192.168.1.30", ("203.0.113.9",),
                   start=5000.0)
    [again] = engine.handle(later)
    assert again.status == "applied"
    clock.now += again.decision.duration_s + 1
    assert engine.store.active(clock()) == []
    third = _alert(AlertKind.BRUTEFORCE, "inbound", "192.168.1.30", ("203.0.113.9",),
                   start=9000.0)
    assert [o.status for o in engine.handle(third)] == ["applied"]
    statuses = [e.status for e in engine.store.entries()]
    assert statuses == ["applied", "revoked", "applied", "applied"]


def test_dry_run_and_notify(tmp_path: Path) -> None:
    engine = DecisionEngine(load_policy(), DecisionStore(tmp_path / "d.jsonl"),
                            Guard.from_entries([], own=False), enforcer=None)
    [dry] = engine.handle(_alert(AlertKind.SCAN, "outbound", "192.168.2.16", ("203.0.113.1",)))
    assert dry.status == "dry-run"
    [note] = engine.handle(_alert(AlertKind.ANOMALY, "outbound", "192.168.2.17", (),
                                  severity=Severity.LOW))
    assert (note.status, note.decision.action.value) == ("notified", "notify")


def test_enforcer_failure_is_logged_not_raised(tmp_path: Path) -> None:
    engine, _, _ = _engine(tmp_path, nft="nft-not-installed")
    [outcome] = engine.handle(_alert(AlertKind.SCAN, "outbound", "192.168.2.16", ()))
    assert outcome.status == "failed"
    assert "nftables" in outcome.detail
    assert engine.store.active() == []


def test_a_second_process_sees_revocations(tmp_path: Path) -> None:
    engine, _, clock = _engine(tmp_path)
    [outcome] = engine.handle(_alert(AlertKind.SCAN, "outbound", "192.168.2.16", ()))
    other = DecisionStore(tmp_path / "decisions.jsonl")
    entry = other.find(outcome.id, now=clock())
    assert entry is not None
    other.record(entry.decision, "revoked", entry.rule, id=entry.id)
    assert engine.store.active(clock()) == []
    with (tmp_path / "decisions.jsonl").open("a") as handle:
        handle.write("{not json\n")
    assert engine.store.active(clock()) == []
    assert engine.store.skipped_lines == 1


def test_final_alert_after_early_one_keeps_a_revocation(tmp_path: Path) -> None:
    """The final alert of an attack names peers differently (more of them) but links to the
    early alert; what was revoked after the early alert stays revoked."""
    engine, _, clock = _engine(tmp_path)
    early = _alert(AlertKind.SCAN, "outbound", "192.168.2.16", ("203.0.113.1",))
    [outcome] = engine.handle(early)
    entry = engine.store.find(outcome.id, now=clock())
    assert entry is not None
    engine.revoke(entry)
    final = _alert(AlertKind.SCAN, "outbound", "192.168.2.16", ("203.0.113.0", "203.0.113.1"))
    assert final.id != early.id
    linked = Alert(**{**final.__dict__, "evidence": {"early_id": early.id}})
    assert engine.handle(linked) == []
    assert [o.status for o in engine.handle(final)] == ["applied"]
