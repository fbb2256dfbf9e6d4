"""``hedgerow info`` on real captures: totals agree with capinfos/tshark; exit codes; errors."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import require_tool
from hedgerow.cli.main import main

SYNSCAN = "ndpi/pcap/synscan.pcap"
ALEXA = "ndpi/pcap/alexa-app.pcapng"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["info", *args])
    return result.exit_code, result.stdout, result.stderr


def tshark_hosts(path: Path) -> set[str]:
    fields = ["ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "arp.src.proto_ipv4"]
    fields.append("arp.dst.proto_ipv4")
    command = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "occurrence=f"]
    for name in fields:
        command += ["-e", name]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return {v for line in out.splitlines() for v in line.split("\t") if v}


def test_text_summary(corpus: Path) -> None:
    code, out, _ = run(str(corpus / SYNSCAN))
    assert code == 0
    assert "(pcap)" in out and "Ethernet (1)" in out
    assert "packets     2,011 (116,672 bytes on the wire)" in out
    assert "protocols   IPv4/TCP 2,011 (100.0%)" in out
    assert "decoding    OK 2,011" in out


def test_json_agrees_with_tshark(corpus: Path) -> None:
    require_tool("tshark", "capinfos")
    path = corpus / ALEXA
    code, out, _ = run("--json", str(path), str(corpus / SYNSCAN))
    assert code == 0
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["format"] == "pcapng" and second["format"] == "pcap"
    assert first["packets"] == 3103
    assert first["hosts"] == len(tshark_hosts(path))
    assert second["hosts"] == len(tshark_hosts(corpus / SYNSCAN))
    caps = subprocess.run(
        ["capinfos", "-T", "-r", "-a", "-e", "-S", "-d", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout.split("\t")  # fmt: skip
    data_bytes, start, end = int(caps[1]), float(caps[2]), float(caps[3])
    assert first["bytes"] == data_bytes
    assert abs(first["duration_s"] - (end - start)) < 1e-5
    assert sum(first["protocols"].values()) == 3103
    assert first["status"]["OK"] == 3103 and first["warnings"] == []


def test_truncated_file_warns_with_offset_and_exit_1(tmp_path: Path, corpus: Path) -> None:
    raw = (corpus / SYNSCAN).read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(raw[:-10])
    code, out, _ = run(str(cut))
    assert code == 1
    assert "packets     2,010" in out
    last = len(raw) - 16 - 60  # the last record: 16-byte header, 60-byte frame
    assert f"warning     truncated record (66 bytes left at end of file) at offset {last}" in out


def test_unreadable_files(tmp_path: Path, corpus: Path) -> None:
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"\x00" * 100)
    code, out, err = run(str(junk))
    assert code == 2
    assert err.strip() == f"{junk}: not a pcap/pcapng capture (magic 0x00000000) at offset 0"
    assert "Traceback" not in out + err
    code, out, err = run(str(junk), str(tmp_path / "missing.pcap"), str(corpus / SYNSCAN))
    assert code == 1
    assert len(err.strip().splitlines()) == 2
    assert "2,011" in out


def test_reads_a_pipe(corpus: Path) -> None:
    """Not seekable input (a pipe on stdin), gzip-compressed: magic sniffed without seeking."""
    packed = gzip.compress((corpus / ALEXA).read_bytes())
    command = [sys.executable, "-c", "from hedgerow.cli.main import main; main()"]
    result = subprocess.run(
        [*command, "info", "--json", "/dev/stdin"], input=packed, capture_output=True, timeout=300
    )
    assert result.returncode == 0, result.stderr.decode()[-500:]
    summary = json.loads(result.stdout)
    assert summary["compressed"] and summary["packets"] == 3103


def test_registering_the_command_loads_no_capture_stack() -> None:
    code = "import sys, hedgerow.cli.info; print('numpy' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch, corpus: Path) -> None:
    """On a terminal a progress bar follows the bytes read; the summary is the same."""
    from hedgerow.cli import info as info_module

    monkeypatch.setattr(info_module, "PROGRESS_MIN_BYTES", 0)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with info_module._progress(1000, "x") as update:
        assert update is not None
        update(500)
    summary = info_module._summarize(str(corpus / SYNSCAN))  # with a bar: stderr is a "tty"
    assert summary.packets == 2011 and summary.warnings == []
