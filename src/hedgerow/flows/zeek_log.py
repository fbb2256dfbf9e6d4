"""Read Zeek conn.logs (TSV, JSON lines, IoT-23 ``conn.log.labeled``) as FlowBatches.

The file is read in blocks of lines; each block is split, typed and conformed to
:data:`hedgerow.flows.schema.FLOW_SCHEMA` by polars, never one Python object per row.
Recognised layouts:

- Zeek TSV: ``#separator``, ``#set_separator``, ``#empty_field``, ``#unset_field``, ``#fields``,
  ``#types`` header lines; ``-`` is null, ``(empty)`` an empty value; a second ``#fields`` line
  (concatenated logs) starts a new header.
- IoT-23 / Stratosphere labelled logs: extra ``label`` and ``detailed-label`` columns, either
  tab-separated or space-separated inside the last tab field
  (``tunnel_parents   label   detailed-label``).
- Zeek JSON logs (``LogAscii::use_json``): one object per line; ``ts`` as epoch seconds or
  ISO 8601 string.
- Any of these gzip-compressed.

Lines that cannot be parsed (wrong number of fields, unparsable values, invalid JSON) are
skipped and counted; one warning per file names the file and the first bad line.
Columns outside the flow schema (``tunnel_parents``, ``ip_proto``...) are dropped so that
logs of different vintages give the same table.

Example:
    >>> from pathlib import Path
    >>> log = Path("/work/shared/corpus/slips/dataset/port-scans/horizontal/conn.log")
    >>> reader = read_conn_log(log)
    >>> sum(batch.height for batch in reader) > 0
    True
"""

from __future__ import annotations

import gzip
import io
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import polars as pl

from hedgerow.flows.errors import ConnLogError as ConnLogError
from hedgerow.flows.errors import ConnLogWarning as ConnLogWarning
from hedgerow.flows.schema import FLOW_SCHEMA, FlowBatch, conform

GZIP_MAGIC = b"\x1f\x8b"

ZEEK_TYPES: dict[str, str] = {
    "ts": "time",
    "uid": "string",
    "id.orig_h": "addr",
    "id.orig_p": "port",
    "id.resp_h": "addr",
    "id.resp_p": "port",
    "proto": "enum",
    "service": "string",
    "duration": "interval",
    "orig_bytes": "count",
    "resp_bytes": "count",
    "conn_state": "string",
    "local_orig": "bool",
    "local_resp": "bool",
    "missed_bytes": "count",
    "history": "string",
    "orig_pkts": "count",
    "orig_ip_bytes": "count",
    "resp_pkts": "count",
    "resp_ip_bytes": "count",
    "orig_l2_addr": "string",
    "resp_l2_addr": "string",
    "vlan": "int",
    "orig_payload": "string",
    "resp_payload": "string",
    "orig_syn": "count",
    "orig_ack_only": "count",
    "orig_rst": "count",
    "orig_fin": "count",
    "resp_rst": "count",
    "mirai_syn": "bool",
    "label": "string",
    "detailed_label": "string",
}
"""Zeek log type of every flow column (``#types`` line), for reading and writing."""

_ALIASES = {
    "detailedlabel": "detailed_label",
    "detailed-label": "detailed_label",
    "detailed_label": "detailed_label",
    "Label": "label",
}

_BLOCK_BYTES = 8 << 20


@dataclass
class _Header:
    separator: str = "\t"
    set_separator: str = ","
    empty: str = "(empty)"
    unset: str = "-"
    fields: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    spaced_tail: int = 0
    """How many trailing fields are space-separated inside the last tab field (IoT-23)."""


def open_maybe_gzip(path: Path) -> BinaryIO:
    """Open ``path`` for binary reading, transparently gunzipping it."""
    raw = path.open("rb")
    head = raw.read(2)
    raw.seek(0)
    if head == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def sniff_conn_log(head: bytes) -> str | None:
    """``"tsv"`` or ``"json"`` when ``head`` (first bytes, decompressed) looks like a conn.log."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    lines = text.split(b"\n")
    for line in lines:
        if line.startswith((b"#separator", b"#fields")):
            return "tsv"
        if not line.startswith(b"#"):
            break
    # JSON lines: damaged first lines must not hide the records after them (any record in
    # the head counts).
    if any(line.lstrip().startswith(b'{"') for line in lines) or text.startswith(b"{"):
        return "json"
    return None


class ConnLogReader(Iterator[FlowBatch]):
    """Iterator of FlowBatches read from one conn.log; see :func:`read_conn_log`.

    After iteration, ``bad_lines`` counts skipped lines and ``warnings`` holds the messages.
    """

    def __init__(self, path: str | Path, block_bytes: int = _BLOCK_BYTES) -> None:
        self.path = Path(path)
        self.block_bytes = block_bytes
        self.bad_lines = 0
        self.rows = 0
        self.warnings: list[str] = []
        self._first_bad: int | None = None
        self.kind = self._sniff()
        self._iter = self._read()

    def __iter__(self) -> ConnLogReader:
        return self

    def __next__(self) -> FlowBatch:
        return next(self._iter)

    def _sniff(self) -> str:
        try:
            with open_maybe_gzip(self.path) as handle:
                head = handle.read(4096)
        except (OSError, EOFError) as exc:
            raise ConnLogError(f"{self.path}: cannot read: {exc}") from None
        kind = sniff_conn_log(head)
        if kind is None:
            raise ConnLogError(f"{self.path}: not a Zeek conn.log (no #fields header, no JSON)")
        return kind

    def _read(self) -> Iterator[FlowBatch]:
        with open_maybe_gzip(self.path) as handle:
            blocks = self._blocks(handle)
            if self.kind == "tsv":
                yield from self._read_tsv(blocks)
            else:
                yield from self._read_json(blocks)
        if self.bad_lines:
            message = (
                f"{self.path}: line {self._first_bad}: skipped {self.bad_lines} unparsable "
                f"line{'s' if self.bad_lines != 1 else ''}"
            )
            self.warnings.append(message)
            warnings.warn(message, ConnLogWarning, stacklevel=2)

    def _blocks(self, handle: BinaryIO) -> Iterator[tuple[int, pl.Series]]:
        """Yield (number of the first line, lines) for blocks of whole lines."""
        carry = b""
        line_no = 1
        eof = False
        while not eof:
            try:
                chunk = handle.read(self.block_bytes)
            except (OSError, EOFError) as exc:
                self.warnings.append(f"{self.path}: truncated after line {line_no}: {exc}")
                chunk = b""
            if not chunk:
                eof = True
                data, carry = carry, b""
            else:
                data = carry + chunk
                cut = data.rfind(b"\n")
                if cut < 0:
                    carry = data
                    continue
                data, carry = data[: cut + 1], data[cut + 1 :]
            if not data:
                continue
            text = data.decode("utf-8", errors="replace")
            lines = pl.Series("line", [text]).str.split("\n").explode()
            if text.endswith("\n"):
                lines = lines.head(lines.len() - 1)
            lines = lines.str.strip_suffix("\r")
            yield line_no, lines
            line_no += lines.len()

    def _note_bad(self, bad_numbers: pl.Series) -> None:
        if bad_numbers.len() == 0:
            return
        self.bad_lines += bad_numbers.len()
        first = int(bad_numbers.min())  # type: ignore[arg-type]
        if self._first_bad is None or first < self._first_bad:
            self._first_bad = first

    # --- TSV -----------------------------------------------------------------------------

    def _read_tsv(self, blocks: Iterator[tuple[int, pl.Series]]) -> Iterator[FlowBatch]:
        header = _Header()
        for first_no, lines in blocks:
            numbers = pl.int_range(first_no, first_no + lines.len(), eager=True, dtype=pl.Int64)
            frame = pl.DataFrame({"line": lines, "no": numbers})
            is_meta = frame["line"].str.starts_with("#")
            meta_rows = frame.filter(is_meta)
            if meta_rows.height == 0:
                out = self._tsv_rows(frame, header)
                if out is not None:
                    yield out
                continue
            # Process data between header lines with the header in force at that point.
            start = 0
            meta_index = is_meta.arg_true().to_list()
            for index in [*meta_index, frame.height]:
                if index > start:
                    out = self._tsv_rows(frame.slice(start, index - start), header)
                    if out is not None:
                        yield out
                if index < frame.height:
                    header = self._header_line(frame["line"][index], header)
                start = index + 1

    def _header_line(self, line: str, header: _Header) -> _Header:
        key, _, value = (
            line.partition(" ")
            if line.startswith("#separator")
            else (line.partition(header.separator))
        )
        if key == "#separator":
            sep = value.strip()
            if sep.startswith("\\x"):
                try:
                    sep = chr(int(sep[2:4], 16))
                except ValueError:
                    raise ConnLogError(
                        f"{self.path}: unreadable #separator {value.strip()!r}"
                    ) from None
            return _Header(separator=sep or "\t")
        if key == "#set_separator":
            header.set_separator = value
        elif key == "#empty_field":
            header.empty = value
        elif key == "#unset_field":
            header.unset = value
        elif key == "#fields":
            names = value.split(header.separator)
            header.spaced_tail = 0
            tail = names[-1].split()
            if len(tail) > 1:
                header.spaced_tail = len(tail)
                names = names[:-1] + tail
            header.fields = [_ALIASES.get(n, n) for n in names]
            header.types = []
        elif key == "#types":
            types = value.split(header.separator)
            if header.spaced_tail:
                types = types[:-1] + types[-1].split()
            header.types = types
        return header

    def _tsv_rows(self, frame: pl.DataFrame, header: _Header) -> FlowBatch | None:
        frame = frame.filter(pl.col("line").str.len_bytes() > 0)
        if frame.height == 0:
            return None
        if not header.fields:
            raise ConnLogError(f"{self.path}: line {frame['no'][0]}: data before the #fields line")
        sep = header.separator
        line = pl.col("line")
        if header.spaced_tail:
            # IoT-23: "(empty)   Malicious   PartOfAHorizontalPortScan" in the last tab field.
            line = line.str.replace_all(r" +", sep)
        names = header.fields
        parts = frame.select(line.str.split(sep).alias("parts"), pl.col("no"))
        ok = parts["parts"].list.len() == len(names)
        self._note_bad(parts.filter(~ok)["no"])
        parts = parts.filter(ok)
        if parts.height == 0:
            return None
        types = dict(zip(names, header.types, strict=False)) if header.types else {}
        raw = parts.select(
            pl.col("no"),
            *[
                pl.col("parts").list.get(i).alias(name)
                for i, name in enumerate(names)
                if name in FLOW_SCHEMA
            ],
        )
        return self._typed(raw, header.unset, header.empty, types)

    # --- JSON ----------------------------------------------------------------------------

    def _read_json(self, blocks: Iterator[tuple[int, pl.Series]]) -> Iterator[FlowBatch]:
        schema: dict[str, pl.DataType] = {name: pl.String() for name in [*ZEEK_TYPES, *_ALIASES]}
        for first_no, lines in blocks:
            numbers = pl.int_range(first_no, first_no + lines.len(), eager=True, dtype=pl.Int64)
            frame = pl.DataFrame({"line": lines, "no": numbers}).filter(
                pl.col("line").str.strip_chars().str.len_bytes() > 0
            )
            if frame.height == 0:
                continue
            try:
                raw = self._ndjson(frame["line"], schema)
            except pl.exceptions.PolarsError:
                good = self._valid_json_rows(frame)
                frame = frame.filter(good)
                if frame.height == 0:
                    continue
                raw = self._ndjson(frame["line"], schema)
            raw = raw.with_columns(frame["no"])
            for alias, name in _ALIASES.items():
                if alias != name and alias in raw.columns:
                    raw = raw.with_columns(pl.coalesce(name, alias).alias(name)).drop(alias)
            raw = raw.select([c for c in raw.columns if c in FLOW_SCHEMA or c == "no"])
            out = self._typed(raw, None, None, {})
            if out is not None:
                yield out

    @staticmethod
    def _ndjson(lines: pl.Series, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
        payload = ("\n".join(lines.to_list()) + "\n").encode()
        return pl.read_ndjson(io.BytesIO(payload), schema=schema)

    def _valid_json_rows(self, frame: pl.DataFrame) -> pl.Series:
        """Slow path, only for blocks polars rejected: find the lines that are JSON objects."""
        import json

        flags = []
        for text in frame["line"].to_list():
            try:
                flags.append(isinstance(json.loads(text), dict))
            except ValueError:
                flags.append(False)
        good = pl.Series(flags, dtype=pl.Boolean)
        self._note_bad(frame.filter(~good)["no"])
        return good

    # --- typing --------------------------------------------------------------------------

    def _typed(
        self, raw: pl.DataFrame, unset: str | None, empty: str | None, types: dict[str, str]
    ) -> FlowBatch | None:
        exprs = []
        failed = pl.lit(False)
        for name in raw.columns:
            if name == "no":
                continue
            col = pl.col(name)
            if unset is not None:
                col = pl.when(col == unset).then(None).otherwise(col)
            if empty is not None:
                col = pl.when(col == empty).then(pl.lit("")).otherwise(col)
            target = FLOW_SCHEMA[name]
            zeek_type = types.get(name, ZEEK_TYPES.get(name, "string"))
            typed = _convert(col, target, zeek_type, name)
            failed = failed | (typed.is_null() & col.is_not_null() & (col != ""))
            exprs.append(typed.alias(name))
        typed_frame = raw.select(*exprs, pl.col("no"), failed.alias("_failed"))
        if "ts" in typed_frame.columns:
            typed_frame = typed_frame.with_columns(
                (pl.col("_failed") | pl.col("ts").is_null()).alias("_failed")
            )
        self._note_bad(typed_frame.filter(pl.col("_failed"))["no"])
        good = typed_frame.filter(~pl.col("_failed")).drop("_failed", "no")
        if good.height == 0:
            return None
        self.rows += good.height
        return conform(good)


def _convert(col: pl.Expr, target: pl.DataType, zeek_type: str, name: str) -> pl.Expr:
    if name == "ts" or zeek_type == "time":
        as_float = col.cast(pl.Float64, strict=False)
        as_iso = col.str.to_datetime(time_zone="UTC", strict=False).dt.epoch("us") / 1e6
        return pl.coalesce(as_float, as_iso)
    if isinstance(target, pl.Boolean):
        mapping = {"T": True, "F": False, "true": True, "false": False}
        return col.replace_strict(mapping, default=None, return_dtype=pl.Boolean)
    if isinstance(target, pl.Binary):
        return col.str.decode("base64", strict=False)
    if isinstance(target, pl.String):
        return col
    return col.cast(target, strict=False)


def read_conn_log(path: str | Path, block_bytes: int = _BLOCK_BYTES) -> ConnLogReader:
    """Stream a Zeek conn.log (TSV, JSON, labelled, gzip) as conformed FlowBatches.

    Raises :class:`ConnLogError` (one line naming the file) when the file cannot be opened or
    is not a conn.log; skipped lines are counted in the returned reader's ``bad_lines``.
    """
    return ConnLogReader(path, block_bytes=block_bytes)
