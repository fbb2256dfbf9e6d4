"""The household HTML report: self-contained, rendered by headless Chromium at phone size."""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from conftest import require_tool
from hedgerow.assess.household import assess_inputs
from hedgerow.cli.inventory import document
from hedgerow.model import Alert, AlertKind, Severity
from hedgerow.report.html import render_html

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def page(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = corpus / "iot-sentinel"
    pcaps = [
        sorted((root / d).glob("*.pcap"))[0]
        for d in ("D-LinkWaterSensor", "HueSwitch", "TP-LinkPlugHS100", "Aria")
    ]
    attack = Alert(
        kind=AlertKind.SCAN,
        detector="scan.horizontal",
        detector_version="1",
        direction="outbound",
        device="10.10.10.11",
        peers=("203.0.113.0/24",),
        severity=Severity.HIGH,
        confidence=0.9,
        start=1.47e9,
        end=1.47e9 + 60,
        summary="scanned 81 hosts on telnet (23/tcp)",
    )
    assessment = assess_inputs(pcaps, alerts=[attack])
    out = tmp_path_factory.mktemp("html") / "report.html"
    out.write_text(render_html(document(assessment)), encoding="utf-8")
    return out


def test_page_is_self_contained(page: Path) -> None:
    text = page.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<script" not in text and "<link" not in text and "@import" not in text
    assert '<meta name="viewport"' in text


def _chromium(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    require_tool("chromium")
    return subprocess.run(
        [
            "chromium",
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=390,844",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )


def test_dom_in_chromium_shows_devices_problems_and_attacks(page: Path, tmp_path: Path) -> None:
    dom = _chromium(page, tmp_path, "--dump-dom").stdout.decode()
    assert "Your home network" in dom and "What to do first" in dom
    assert "Disconnect D-Link sensor (DCH-S160) now." in dom
    assert "attacking →" in dom and "scanned 81 hosts on telnet" in dom
    assert "outdated TLS version" in dom
    for name in ("Philips hub", "TP-Link plug", "Fitbit scale"):
        assert name in dom
    assert re.search(r"Your network's risk is \d+/100", dom)


def _png_rows(png: bytes) -> tuple[int, int, list[bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, width, height = 8, b"", 0, 0
    while pos < len(png):
        length, kind = struct.unpack("!I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack("!IIBB", body[:10])
            assert depth == 8 and color in (2, 6)
        elif kind == b"IDAT":
            chunks += body
        pos += 12 + length
    raw = zlib.decompress(chunks)
    stride = 1 + width * (4 if color == 6 else 3)
    return width, height, [raw[i * stride : (i + 1) * stride] for i in range(height)]


def test_screenshot_is_a_phone_sized_non_blank_png(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    _chromium(page, tmp_path, f"--screenshot={shot}")
    width, height, rows = _png_rows(shot.read_bytes())
    assert (width, height) == (390, 844)
    # Filter bytes differ per row; distinct row contents show text and colour, not a blank page.
    distinct = {row[1:] for row in rows}
    assert len(distinct) > height // 4
