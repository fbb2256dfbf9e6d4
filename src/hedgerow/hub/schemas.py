"""API schemas (pydantic): what goes over HTTP, validated at the boundary.

Telemetry payloads mirror ``Alert.to_dict()``, ``Finding.to_dict()``, ``Device.to_dict()`` and
``Decision.to_dict()`` from :mod:`hedgerow.model`, and the agent's action-log records; unknown
payload keys are ignored so newer agents can talk to an older hub.

Example:
    >>> batch = TelemetryBatch.model_validate({"events": [{"id": "e1", "kind": "device",
    ...     "payload": {"mac": "00:17:88:01:02:03", "ips": ["192.168.1.5"]}}]})
    >>> batch.events[0].payload.ips
    ['192.168.1.5']
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hedgerow.model import AlertKind, DecisionAction, Direction, Severity

EventId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
Short = Annotated[str, Field(max_length=200)]
Address = Annotated[str, Field(max_length=100)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AlertPayload(_Payload):
    kind: AlertKind
    detector: Short
    detector_version: Short = ""
    direction: Direction
    device: Address
    peers: list[Address] = Field(default_factory=list, max_length=256)
    severity: Severity
    confidence: float = Field(ge=0.0, le=1.0)
    start: float
    end: float
    summary: Annotated[str, Field(max_length=4000)] = ""
    evidence: dict[str, Any] = Field(default_factory=dict)
    mitre: list[Short] = Field(default_factory=list, max_length=32)
    window_key: int | None = None


class FindingPayload(_Payload):
    check_id: Short
    device: Address
    severity: Severity
    title: Annotated[str, Field(max_length=1000)]
    evidence: dict[str, Any] = Field(default_factory=dict)
    fix_household: Annotated[str, Field(max_length=4000)] = ""
    fix_manufacturer: Annotated[str, Field(max_length=4000)] = ""
    standards: dict[Short, list[Short]] = Field(default_factory=dict)


class DevicePayload(_Payload):
    mac: Annotated[str, Field(max_length=32)] | None
    ips: list[Address] = Field(default_factory=list, max_length=64)
    vendor: Short | None = None
    name: Short | None = None
    kind: Short | None = None
    model: Short | None = None
    first_seen: float = 0.0
    last_seen: float = 0.0
    evidence: dict[str, Any] = Field(default_factory=dict)


class DecisionPayload(_Payload):
    action: DecisionAction
    scope: Annotated[str, Field(max_length=20)]
    value: Short
    duration_s: float = Field(ge=0.0)
    reason: Annotated[str, Field(max_length=2000)] = ""
    alert_id: Annotated[str, Field(max_length=128)] = ""
    created: float


class ActionPayload(_Payload):
    """A protection action an agent carried out (its action-log record)."""

    ts: float
    action: Annotated[str, Field(max_length=20)]
    target: Short
    ok: bool = True
    alert_id: Annotated[str, Field(max_length=128)] = ""
    alert_kind: Annotated[str, Field(max_length=40)] | None = None
    dry_run: bool = False
    duration_s: float = Field(default=0.0, ge=0.0)


class AlertEvent(BaseModel):
    id: EventId
    kind: Literal["alert"]
    payload: AlertPayload


class FindingEvent(BaseModel):
    id: EventId
    kind: Literal["finding"]
    payload: FindingPayload


class DeviceEvent(BaseModel):
    id: EventId
    kind: Literal["device"]
    payload: DevicePayload


class DecisionEvent(BaseModel):
    id: EventId
    kind: Literal["decision"]
    payload: DecisionPayload


class ActionEvent(BaseModel):
    id: EventId
    kind: Literal["action"]
    payload: ActionPayload


Event = Annotated[AlertEvent | FindingEvent | DeviceEvent | DecisionEvent | ActionEvent,
                  Field(discriminator="kind")]


class TelemetryBatch(BaseModel):
    """A batch of events from one agent or gateway."""

    model_config = ConfigDict(extra="forbid")
    events: list[Event]


class IngestResult(BaseModel):
    accepted: int = Field(description="events stored or updated")
    duplicates: int = Field(description="events already stored (same id), ignored")
    sightings: int = Field(description="attacker addresses recorded for the blocklist")


class TenantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Literal["household", "organisation", "manufacturer", "regulator", "admin"]
    vendors: list[Short] = Field(default_factory=list, max_length=100,
                                 description="manufacturer only: vendor names of its devices")


class TenantOut(BaseModel):
    id: int
    name: str
    role: str
    vendors: list[str]


class EnrolmentTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ttl_s: float = Field(default=7 * 86400.0, gt=0, le=365 * 86400.0)


class EnrolmentTokenOut(BaseModel):
    token: str
    tenant_id: int
    expires: float


class EnrolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["agent", "gateway", "user"] = "agent"


class EnrolOut(BaseModel):
    tenant_id: int
    credential_id: int
    token: str


class AllowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    network: Annotated[str, Field(max_length=64)]
    reason: Annotated[str, Field(max_length=1000)] = ""


class AllowOut(BaseModel):
    id: int
    network: str
    reason: str


class BundleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: dict[str, Any]


class DeviceOut(BaseModel):
    device_key: str
    mac: str | None
    ips: list[str]
    vendor: str | None
    model: str | None
    firmware: str | None
    kind: str | None
    name: str | None
    first_seen: float
    last_seen: float


class AlertOut(BaseModel):
    id: str
    kind: str
    direction: str
    device: str
    peers: list[str]
    severity: str
    confidence: float
    start: float
    end: float
    detector: str
    summary: str
    mitre: list[str]


class BlocklistItem(BaseModel):
    address: str
    first_listed: float
    last_confirmed: float
    expires: float
    reporters: int
    tenants: int
    kinds: list[str]


class Blocklist(BaseModel):
    generated: float
    min_reporters: int
    min_tenants: int
    window_s: float
    entries: list[BlocklistItem]


NULL_IS_WITHHELD = ("null: withheld, the count comes from fewer than the report's "
                    "min_participants participants or would reveal one that does")


class Suppression(BaseModel):
    min_participants: int = Field(description="published counts come from at least this many "
                                  "distinct participants (households, organisations), or none")


class ModelRow(BaseModel):
    """One (vendor, model, firmware) row; null names: rows pooled because each came from too
    few participants (firmware null: one model's rare firmware versions; model null: one
    vendor's rare models; all null: the rest)."""

    vendor: str | None
    model: str | None
    firmware: str | None
    seen: int
    compromised: int | None = Field(description=NULL_IS_WITHHELD)
    findings: dict[str, int | None] = Field(description="finding rows per check; "
                                            + NULL_IS_WITHHELD)
    failing_etsi: dict[str, int | None] = Field(description="devices per ETSI EN 303 645 "
                                                "provision; " + NULL_IS_WITHHELD)
    failing_psti: dict[str, int | None] = Field(description="devices per UK PSTI requirement; "
                                                + NULL_IS_WITHHELD)


class ManufacturerReport(BaseModel):
    vendors: list[str]
    devices: int | None = Field(description=NULL_IS_WITHHELD)
    models: list[ModelRow]
    suppression: Suppression


class Population(BaseModel):
    participants: int
    devices: int | None = Field(description="assessed devices; " + NULL_IS_WITHHELD)


class ProvisionRow(BaseModel):
    provision: str
    category: str
    failing_devices: int | None = Field(description=NULL_IS_WITHHELD)
    compliance: float | None = Field(description="1 - failing / assessed devices; null with "
                                     "failing_devices or when nothing was assessed")


class RequirementRow(BaseModel):
    requirement: str
    title: str
    etsi_provisions: list[str]
    failing_devices: int | None = Field(description=NULL_IS_WITHHELD)
    compliance: float | None


class Attacks(BaseModel):
    inbound: int | None = Field(description=NULL_IS_WITHHELD)
    outbound: int | None = Field(description=NULL_IS_WITHHELD)
    outbound_to_inbound: float | None
    compromised_devices: int | None = Field(description=NULL_IS_WITHHELD)


class TrendRow(BaseModel):
    day: str
    inbound_alerts: int | None = Field(description=NULL_IS_WITHHELD)
    outbound_alerts: int | None = Field(description=NULL_IS_WITHHELD)
    newly_blocklisted: int


class RegulatorReport(BaseModel):
    population: Population
    etsi_en_303_645: list[ProvisionRow]
    uk_psti: list[RequirementRow]
    attacks: Attacks
    trends: list[TrendRow]
    suppression: Suppression
