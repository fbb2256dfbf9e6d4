"""``hedgerow scan`` builds the inventory from its own read: same devices as a separate read."""

from __future__ import annotations

from pathlib import Path

from hedgerow.assess.household import HouseholdAssessment, assess_inputs
from hedgerow.assess.sections import assessment_for
from hedgerow.cli.scan import run_scan
from hedgerow.model import LocalNetworks
from hedgerow.model.networks import DEFAULT_LOCAL_NETWORKS


def _summary(assessment: HouseholdAssessment) -> dict[str, object]:
    doc = assessment.to_dict()
    return {
        "devices": sorted((d["key"], d["vendor"], d["kind"], tuple(d["services"]),
                           tuple(sorted(d["ips"]))) for d in doc["devices"]),
        "findings": sorted((f["check_id"], f["device"]) for f in doc["findings"]),
        "household": doc["risk"]["household"]["score"],
        "inputs": doc["assessed_inputs"],
        "stats": doc["inventory_stats"],
    }


def test_scan_inventory_matches_a_separate_read(corpus: Path) -> None:
    paths = [corpus / "slips/dataset/test7-malicious.pcap",
             corpus / "slips/dataset/port-scans/horizontal/conn.log"]
    result = run_scan(paths, household=True)
    shared = assessment_for(result)
    separate = assess_inputs([str(p) for p in paths],
                             LocalNetworks.parse(DEFAULT_LOCAL_NETWORKS), alerts=result.alerts)
    assert shared.inventory.devices
    assert [i.status for i in shared.inputs] == ["ok", "ok"]
    assert shared.inputs[0].packets > 0 and shared.inputs[1].message.startswith("conn.log")
    assert _summary(shared) == _summary(separate)
