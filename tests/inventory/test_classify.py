"""Vendor and kind rules: data files validated, evidence combined, maker-only rules scoped."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgerow.inventory import Classifier, RuleError

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "hedgerow" / "inventory" / "rules"


def test_typo_in_a_rule_file_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "kinds.yaml"
    bad.write_text("min_confidence: 0.3\nrules:\n"
                   "  - {id: x, field: name, pattern: 'cam', kind: camera, weigth: 0.5}\n")
    with pytest.raises(RuleError) as err:
        Classifier.load(kinds_path=bad)
    text = str(err.value)
    assert str(bad) in text and "rules.0" in text and "\n" not in text


def test_bad_regular_expression_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "vendors.yaml"
    bad.write_text("module_makers: []\nbrands:\n  - {name: X, oui: ['(unclosed']}\n")
    with pytest.raises(RuleError, match="bad regular expression"):
        Classifier.load(vendors_path=bad)


def test_module_maker_oui_yields_to_the_brand_in_traffic() -> None:
    c = Classifier.load()
    verdict = c.vendor({"oui": ["Espressif Inc."], "domain": ["api.tplinkcloud.com"]})
    assert verdict.name == "TP-Link"
    assert c.vendor({"oui": ["Espressif Inc."]}).name == "Espressif Inc."
    assert c.vendor({"oui": ["Belkin International Inc."],
                     "domain": ["www.fitbit.com"]}).name == "Belkin"


def test_product_line_rules_apply_to_their_maker_only() -> None:
    c = Classifier.load()
    assert c.kind({"vendor": ["D-Link"], "name": ["DCS-930LB"]}).kind == "camera"
    assert c.kind({"vendor": ["Acme"], "name": ["DCS-930LB"]}).kind is None


def test_weak_evidence_stays_unknown_and_votes_combine() -> None:
    c = Classifier.load()
    weak = c.kind({"mdns_service": ["_hap._tcp"]})
    assert weak.kind is None and weak.scores == {"hub": 0.2}
    strong = c.kind({"service": ["tcp/554"], "name": ["garage-cam"]})
    assert strong.kind == "camera" and strong.confidence == pytest.approx(0.91)
    assert len(strong.evidence) == 2


def test_shipped_rule_files_load() -> None:
    c = Classifier.load(SHIPPED / "kinds.yaml", SHIPPED / "vendors.yaml")
    assert len(c.kinds.rules) > 80 and len(c.vendors.brands) > 30
