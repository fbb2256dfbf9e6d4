"""Hub settings: database, limits, consensus thresholds and the signing key.

Every field can be set from the environment as ``HEDGEROW_HUB_<FIELD>`` (upper case).

Example:
    >>> s = HubSettings(database_url="sqlite:///hub.db", min_reporters=3, min_tenants=2)
    >>> s.consensus_window_s
    86400.0
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class HubSettings:
    """Configuration of one hub process (immutable; build a new one to change it).

    ``threads`` bounds the worker threads that run database handlers in one process (more
    only queue on the connection pool and the interpreter lock). ``consensus_interval_s`` is
    how often a background thread turns sightings into blocklist
    entries; 0 recomputes consensus inside each ingest request instead.
    ``report_min_participants`` is the smallest number of distinct participants (households
    or organisations) a count in the manufacturer and regulator reports may be built from;
    smaller cells are withheld (see :mod:`hedgerow.hub.suppression`; 1 publishes every count).
    """

    database_url: str = "sqlite:///hedgerow-hub.db"
    signing_key_path: str = "hedgerow-hub-signing.pem"
    max_body_bytes: int = 1_048_576
    max_batch_events: int = 2000
    rate_events_per_s: float = 500.0
    rate_burst_events: float = 5000.0
    min_reporters: int = 3
    min_tenants: int = 2
    consensus_window_s: float = 86400.0
    blocklist_ttl_s: float = 7 * 86400.0
    consensus_interval_s: float = 1.0
    auth_cache_s: float = 30.0
    enrolment_token_ttl_s: float = 7 * 86400.0
    db_pool_size: int = 10
    threads: int = 16
    report_min_participants: int = 5

    def __post_init__(self) -> None:
        if self.report_min_participants < 1:
            raise ValueError(f"report_min_participants={self.report_min_participants}: must be "
                             "at least 1 (1 publishes every count)")

    @classmethod
    def from_env(cls, **overrides: object) -> HubSettings:
        """Defaults, then ``HEDGEROW_HUB_*`` variables, then explicit ``overrides``."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f"HEDGEROW_HUB_{f.name.upper()}")
            if raw is None:
                continue
            kind = type(getattr(cls(), f.name))
            try:
                values[f.name] = kind(raw)
            except ValueError:
                raise ValueError(f"HEDGEROW_HUB_{f.name.upper()}={raw!r}: expected "
                                 f"{kind.__name__}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)  # type: ignore[arg-type]
