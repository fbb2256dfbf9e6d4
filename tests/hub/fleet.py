"""Build small fleets straight into the hub's tables, for report tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from hedgerow.hub.db import make_engine, session_factory
from hedgerow.hub.models import AlertRow, BlocklistEntry, DeviceRow, FindingRow, Tenant

DAY = 20833  # 2027-01-15 (days since 1970-01-01)


def at(day: int, hour: int = 12) -> float:
    """Epoch seconds of ``hour`` o'clock on day ``DAY + day``."""
    return (DAY + day) * 86400.0 + hour * 3600.0


class Fleet:
    """Households, their devices, findings and alerts, added row by row."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._ids = count(1)

    def home(self, name: str | None = None) -> int:
        tenant = Tenant(name=name or f"home-{next(self._ids)}", role="household", created=0.0)
        self.session.add(tenant)
        self.session.flush()
        return tenant.id

    def device(self, home: int, key: str, ips: list[str], vendor: str | None = "Acme",
               model: str | None = "cam", firmware: str | None = "1.0") -> int:
        row = DeviceRow(tenant_id=home, device_key=key, mac=None, ips=ips, vendor=vendor,
                        vendor_norm=vendor.strip().lower() if vendor else None, model=model,
                        firmware=firmware, kind="iot", name=None, first_seen=0.0,
                        last_seen=1.0, received=1.0)
        self.session.add(row)
        self.session.flush()
        return row.id

    def finding(self, home: int, device: str, check: str, **standards: list[str]) -> None:
        self.session.add(FindingRow(
            tenant_id=home, device=device, check_id=check, event_id=f"f{next(self._ids)}",
            severity="high", title=check, fix_household="", fix_manufacturer="",
            standards=standards, evidence={}, first_seen=0.0, last_seen=0.0))

    def alert(self, home: int, device: str, kind: str, direction: str, start: float) -> None:
        self.session.add(AlertRow(
            tenant_id=home, event_id=f"a{next(self._ids)}", credential_id=1, kind=kind,
            direction=direction, device=device, peers=["45.0.0.1"], severity="high",
            confidence=0.9, start=start, end=start + 60.0, detector="test", summary="",
            mitre=[], evidence={}, received=start))

    def listed(self, address: str, first_listed: float) -> None:
        self.session.add(BlocklistEntry(address=address, first_listed=first_listed,
                                        last_confirmed=first_listed, expires=first_listed,
                                        reporters=3, tenants=2, kinds=["scan"]))

    def homes_with(self, n: int, **device: Any) -> list[tuple[int, str]]:
        """``n`` new households with one device each; returns (household, device key)."""
        out = []
        for _ in range(n):
            home = self.home()
            key = f"02:00:00:00:{home // 256:02x}:{home % 256:02x}"
            self.device(home, key, [], **device)
            out.append((home, key))
        return out


@contextmanager
def fleet_session(url: str) -> Iterator[tuple[Session, Fleet]]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            yield session, Fleet(session)
    finally:
        engine.dispose()
