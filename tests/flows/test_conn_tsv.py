"""The compiled conn.log formatter writes the same bytes as the FlowBatch-based Zeek writer."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from hedgerow.cli.flows import flows as flows_command
from hedgerow.flows.fields import FIELD_TYPES
from hedgerow.flows.schema import FLOW_SCHEMA
from hedgerow.flows.source import iter_flows
from hedgerow.flows.writers import ZeekWriter
from hedgerow.flows.zeek_log import ZEEK_TYPES

# IPv4 and IPv6, VLAN and QinQ, pcapng, ARP, ICMP, payload services, a SYN flood and
# SYN-ACK backscatter (many short flows, zero-duration flows), flipped histories.
CAPTURES = [
    "zeek-conn/core.q-in-q/q-in-q.pcap",
    "zeek-conn/core.history-flip/*",
    "zeek-conn/core.pcapng-pktsrc/*",
    "zeek-conn/scripts.base.protocols.ftp.ftp-ipv6/ipv6.pcap",
    "zeek-conn/scripts.base.protocols.pop3.basic/pop3.pcap",
    "zeek-conn/scripts.base.protocols.dhcp.dhcp-all-msg-types/*",
    "ndpi/pcap/mqtt.pcap",
    "ndpi/pcap/mining.pcapng",
    "ndpi/pcap/alexa-app.pcapng",
    "slips/dataset/test7-malicious.pcap",
    "stopddos/pkt.TCP.synflood.spoofed.pcap",
    "stopddos/amp.TCP.reflection.SYNACK.pcap",
    "stopddos/amp.UDP.bacnet.IOT.37810.pcapng",
]


def _capture(corpus: Path, pattern: str) -> Path:
    found = sorted(p for p in corpus.glob(pattern) if p.suffix in (".pcap", ".pcapng", ".gz"))
    assert found, pattern
    return found[0]


def _body(text: str) -> list[str]:
    """The lines that are not #open/#close stamps (those carry the wall-clock time)."""
    return [ln for ln in text.splitlines() if not ln.startswith(("#open", "#close"))]


@pytest.mark.parametrize("payload", [False, True], ids=["plain", "payload"])
@pytest.mark.parametrize("pattern", CAPTURES)
def test_fast_zeek_output_is_byte_identical(
    corpus: Path, tmp_path: Path, pattern: str, payload: bool
) -> None:
    capture = _capture(corpus, pattern)
    fast = tmp_path / "fast.log"
    args = [str(capture), "-o", str(fast), "-q"] + (["--payload"] if payload else [])
    result = CliRunner().invoke(flows_command, args)
    assert result.exit_code in (0, 1), result.output
    reference = tmp_path / "frame.log"
    with reference.open("w") as out:
        writer = ZeekWriter(out, payload)
        for batch in iter_flows(capture):
            writer.write(batch)
        writer.close()
    fast_lines = _body(fast.read_text())
    assert len(fast_lines) > 6  # header lines and at least one flow
    assert fast_lines == _body(reference.read_text())


def test_fast_path_mixes_captures_and_conn_logs(corpus: Path, tmp_path: Path) -> None:
    log = corpus / "slips/dataset/port-scans/horizontal/conn.log"
    capture = corpus / CAPTURES[0]
    out = tmp_path / "conn.log"
    result = CliRunner().invoke(flows_command, [str(capture), str(log), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    written = pl.concat(list(iter_flows(out)), how="vertical")  # the combined log reads back whole
    expected = pl.concat(list(iter_flows([capture, log])))
    assert written.height == expected.height
    assert written["uid"].to_list() == expected["uid"].to_list()


def test_field_types_match_the_schema() -> None:
    assert list(FIELD_TYPES) == list(FLOW_SCHEMA)
    assert {c: ZEEK_TYPES.get(c, "string") for c in FLOW_SCHEMA} == FIELD_TYPES


def test_capture_to_tsv_loads_no_dataframe_library(corpus: Path, tmp_path: Path) -> None:
    import subprocess

    code = (
        "import sys\n"
        "from hedgerow.cli.flows import flows\n"
        "try:\n"
        f"    flows([{str(corpus / CAPTURES[0])!r}, '-o', {str(tmp_path / 'c.log')!r}, '-q'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('polars', 'pyarrow') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "c.log").read_text().count("\tS0\t") == 3
