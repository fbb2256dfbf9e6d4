"""Writers (Zeek TSV, JSONL, Parquet) round-trip, and the `hedgerow flows` command."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from hedgerow.cli.flows import flows as flows_command
from hedgerow.flows.source import iter_flows
from hedgerow.flows.writers import format_for, open_writer
from hedgerow.flows.zeek_log import read_conn_log

POP3 = "zeek-conn/scripts.base.protocols.pop3.basic/pop3.pcap"
FTP6 = "zeek-conn/scripts.base.protocols.ftp.ftp-ipv6/ipv6.pcap"


def _flows(corpus: Path, name: str) -> pl.DataFrame:
    return pl.concat(list(iter_flows(corpus / name)))


@pytest.mark.parametrize("suffix", ["log", "jsonl"])
def test_text_round_trip(corpus: Path, tmp_path: Path, suffix: str) -> None:
    flows = pl.concat([_flows(corpus, POP3), _flows(corpus, FTP6)])
    out = tmp_path / f"conn.{suffix}"
    writer = open_writer(str(out), payload=True)
    writer.write(flows)
    writer.close()
    back = pl.concat(list(read_conn_log(out)))
    assert back.height == flows.height
    assert back["ts"].to_list() == pytest.approx(flows["ts"].to_list(), abs=1e-6)
    rest = [c for c in flows.columns if c != "ts"]
    if suffix == "log":  # Zeek prints intervals with 6 decimals
        assert back["duration"].to_list() == pytest.approx(flows["duration"].to_list(), abs=1e-6)
        rest.remove("duration")
    assert back.select(rest).equals(flows.select(rest))


def test_zeek_tsv_looks_like_zeek(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "conn.log"
    writer = open_writer(str(out))
    writer.write(_flows(corpus, POP3))
    writer.close()
    lines = out.read_text().splitlines()
    assert lines[0] == "#separator \\x09"
    assert lines[5].startswith("#open\t") and lines[-1].startswith("#close\t")
    fields = lines[6].split("\t")[1:]
    types = lines[7].split("\t")[1:]
    assert fields[:3] == ["ts", "uid", "id.orig_h"] and "orig_payload" not in fields
    assert dict(zip(fields, types, strict=True))["id.orig_p"] == "port"
    rej = next(ln.split("\t") for ln in lines[8:-1] if "\tREJ\t" in ln)
    assert rej[fields.index("history")] == "Sr" and rej[fields.index("service")] == "-"


def test_parquet_and_format_from_extension(corpus: Path, tmp_path: Path) -> None:
    assert format_for("x.parquet") == "parquet" and format_for("x.json") == "jsonl"
    assert format_for("conn.log.gz") == "zeek"
    flows = _flows(corpus, POP3)
    out = tmp_path / "f.parquet"
    writer = open_writer(str(out), payload=True)
    writer.write(flows)
    writer.close()
    assert pl.read_parquet(out).equals(flows)


def test_cli_formats_and_exit_codes(corpus: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "flows.jsonl"
    ok = runner.invoke(flows_command, [str(corpus / POP3), "-o", str(out)])
    assert ok.exit_code == 0, ok.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 11 and {r["conn_state"] for r in rows} == {"REJ", "SF"}
    assert "orig_payload" not in rows[0]

    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(b"\x00" * 100)
    mixed = runner.invoke(flows_command, [str(garbage), str(corpus / POP3), "-o", str(out)])
    assert mixed.exit_code == 1
    assert "garbage.pcap" in mixed.output and "Traceback" not in mixed.output

    none = runner.invoke(flows_command, [str(garbage), "-o", str(tmp_path / "x.log")])
    assert none.exit_code == 2
    assert len([ln for ln in none.output.splitlines() if ln.strip()]) == 1


def test_cli_truncated_capture_keeps_packets(corpus: Path, tmp_path: Path) -> None:
    data = (corpus / POP3).read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) // 2 + 7])
    out = tmp_path / "conn.log"
    result = CliRunner().invoke(flows_command, [str(cut), "-o", str(out), "--payload"])
    assert result.exit_code == 1
    assert "cut.pcap" in result.output and "offset" in result.output
    assert pl.concat(list(read_conn_log(out))).height > 0
