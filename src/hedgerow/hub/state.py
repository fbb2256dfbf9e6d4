"""What every request handler shares: settings, database, authenticator, limiter, clock, key."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hedgerow.hub.auth import Authenticator
from hedgerow.hub.config import HubSettings
from hedgerow.hub.consensus import (
    AllowCache,
    ConsensusPolicy,
    ConsensusWorker,
    RecentSightings,
)
from hedgerow.hub.ratelimit import BucketLimit
from hedgerow.signing import SigningKey


@dataclass
class HubState:
    """One per app; ``clock`` (epoch seconds) stamps receipt times and drives consensus."""

    settings: HubSettings
    engine: Engine
    sessions: sessionmaker[Session]
    auth: Authenticator
    limiter: BucketLimit
    policy: ConsensusPolicy
    signing_key: SigningKey
    clock: Callable[[], float] = field(default=time.time)
    allow: AllowCache = field(default_factory=AllowCache)
    consensus: ConsensusWorker | None = None
    recent: RecentSightings | None = None
