"""Publishing signed rule and baseline bundles (the hub holds the private key).

Example:
    >>> from hedgerow.hub.db import make_engine, session_factory
    >>> from hedgerow.hub.models import Base
    >>> from hedgerow.signing import SigningKey, verify_bundle
    >>> engine = make_engine("sqlite://"); Base.metadata.create_all(engine)
    >>> key = SigningKey.generate()
    >>> with session_factory(engine)() as s:
    ...     doc = publish(s, key, "rules", {"rules": [{"id": "telnet-bruteforce"}]}, now=1.0)
    ...     verify_bundle(latest(s, "rules"), [key.public_pem()])["rules"][0]["id"]
    'telnet-bruteforce'
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hedgerow.hub.models import BundleRow
from hedgerow.signing import SigningKey, sign_bundle

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def publish(session: Session, key: SigningKey, kind: str, content: dict[str, Any],
            now: float) -> dict[str, Any]:
    """Sign ``content`` as the next version of ``kind`` and store it; returns the document."""
    if not KIND_PATTERN.match(kind):
        raise ValueError(f"bundle kind {kind!r}: lower-case letters, digits, '-' or '_'")
    version = (session.scalar(select(func.max(BundleRow.version))
                              .where(BundleRow.kind == kind)) or 0) + 1
    document = sign_bundle(key, kind=kind, version=version, content=content, created=now)
    session.add(BundleRow(kind=kind, version=version, created=now, document=document))
    session.commit()
    return document


def latest(session: Session, kind: str) -> dict[str, Any] | None:
    """The newest published document of ``kind``, exactly as signed."""
    row = session.scalars(select(BundleRow).where(BundleRow.kind == kind)
                          .order_by(BundleRow.version.desc()).limit(1)).first()
    return dict(row.document) if row is not None else None
