"""Database models (SQLAlchemy 2). These are storage, not API schemas (see ``schemas``).

Times are epoch seconds (float). Event rows are unique per tenant and event id, which makes
ingest idempotent; findings and devices are state, upserted by their natural key.

Example:
    >>> sorted(Base.metadata.tables)[:3]
    ['alerts', 'allowlist', 'blocklist']
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JSONType = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")

ROLES = ("household", "organisation", "manufacturer", "regulator", "admin")
CREDENTIAL_KINDS = ("agent", "gateway", "user")


class Base(DeclarativeBase):
    """The declarative base of every hub table."""


class Tenant(Base):
    """A household/organisation, manufacturer, regulator or the hub's administrators."""

    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    created: Mapped[float] = mapped_column(Float)


class TenantVendor(Base):
    """Vendor names (lower case) whose devices a manufacturer tenant may see aggregates of."""

    __tablename__ = "tenant_vendors"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           primary_key=True)
    vendor: Mapped[str] = mapped_column(String(200), primary_key=True)


class Credential(Base):
    """A secret bearer token (only its SHA-256 is stored) belonging to one tenant."""

    __tablename__ = "credentials"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[float] = mapped_column(Float)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class RateBucket(Base):
    """A credential's ingest token bucket (see ``ratelimit``), shared by every worker."""

    __tablename__ = "rate_buckets"
    credential_id: Mapped[int] = mapped_column(
        ForeignKey("credentials.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[float] = mapped_column(Float)
    updated: Mapped[float] = mapped_column(Float)


class EnrolmentToken(Base):
    """A one-time token an agent/gateway/user exchanges for its own credential."""

    __tablename__ = "enrolment_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[float] = mapped_column(Float)
    expires: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("credentials.id"), nullable=True)


class DeviceRow(Base):
    """Latest known state of one device of one tenant."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("tenant_id", "device_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    device_key: Mapped[str] = mapped_column(String(100))
    mac: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ips: Mapped[list[str]] = mapped_column(JSONType)
    vendor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    vendor_norm: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    firmware: Mapped[str | None] = mapped_column(String(100), nullable=True)
    kind: Mapped[str | None] = mapped_column(String(100), nullable=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    received: Mapped[float] = mapped_column(Float)


class AlertRow(Base):
    """One alert as a participant reported it (outbound ones indexed by device, for the
    compromised devices the reports count)."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "event_id"),
        Index("ix_alerts_tenant_start", "tenant_id", "start"),
        Index("ix_alerts_outbound_device", "tenant_id", "device", "kind",
              postgresql_where=text("direction = 'outbound'"),
              sqlite_where=text("direction = 'outbound'")),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(128))
    credential_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(20))
    device: Mapped[str] = mapped_column(String(100))
    peers: Mapped[list[str]] = mapped_column(JSONType)
    severity: Mapped[str] = mapped_column(String(10))
    confidence: Mapped[float] = mapped_column(Float)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    detector: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    mitre: Mapped[list[str]] = mapped_column(JSONType)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received: Mapped[float] = mapped_column(Float)


class FindingRow(Base):
    """Latest result of one check on one device of one tenant."""

    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("tenant_id", "device", "check_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    device: Mapped[str] = mapped_column(String(100))
    check_id: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(Text)
    fix_household: Mapped[str] = mapped_column(Text)
    fix_manufacturer: Mapped[str] = mapped_column(Text)
    standards: Mapped[dict[str, list[str]]] = mapped_column(JSONType)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType)
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)


class DecisionRow(Base):
    """An action an agent or gateway took (block, quarantine...)."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("tenant_id", "event_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(200))
    duration_s: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    alert_id: Mapped[str] = mapped_column(String(128))
    created: Mapped[float] = mapped_column(Float)


class Sighting(Base):
    """Latest time one credential reported one attacker address (input to consensus)."""

    __tablename__ = "sightings"
    __table_args__ = (Index("ix_sightings_address_seen", "address", "seen_at"),)
    address: Mapped[str] = mapped_column(String(45), primary_key=True)
    credential_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    seen_at: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(20))


class BlocklistEntry(Base):
    """An address that reached consensus; listed while ``expires`` is in the future."""

    __tablename__ = "blocklist"
    address: Mapped[str] = mapped_column(String(45), primary_key=True)
    first_listed: Mapped[float] = mapped_column(Float)
    last_confirmed: Mapped[float] = mapped_column(Float)
    expires: Mapped[float] = mapped_column(Float, index=True)
    reporters: Mapped[int] = mapped_column(Integer)
    tenants: Mapped[int] = mapped_column(Integer)
    kinds: Mapped[list[str]] = mapped_column(JSONType)


class AllowEntry(Base):
    """A network that must never be listed (the hub's own, partners', resolvers...)."""

    __tablename__ = "allowlist"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    created: Mapped[float] = mapped_column(Float)


class BundleRow(Base):
    """A signed rule or baseline bundle as published (the full signed JSON document)."""

    __tablename__ = "bundles"
    __table_args__ = (UniqueConstraint("kind", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    created: Mapped[float] = mapped_column(Float)
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
