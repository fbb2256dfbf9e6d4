"""Write FlowBatches as Zeek TSV conn.log, Zeek-style JSON lines, or Parquet, streaming.

A writer takes batches one at a time (memory stays bounded) and is closed at the end:

- ``zeek``: Zeek's ASCII log format (``#separator``, ``#fields``, ``#types``, ``#open`` /
  ``#close``; ``-`` for null, ``(empty)`` for an empty string, ``T``/``F`` booleans,
  6-decimal times), readable by ``zeek-cut`` and by :func:`hedgerow.flows.zeek_log.read_conn_log`.
- ``jsonl``: one JSON object per flow with Zeek's JSON field names (``id.orig_h``...); null
  columns that are null throughout a batch are left out (Zeek omits unset fields).
- ``parquet``: the FlowBatch schema as is.

Payload columns (``orig_payload``/``resp_payload``) are written only with ``payload=True``
(base64 in TSV and JSON, raw bytes in Parquet).

Example:
    >>> import io
    >>> from hedgerow.flows.schema import empty_flows
    >>> out = io.StringIO()
    >>> writer = ZeekWriter(out, opened=0.0)
    >>> writer.write(empty_flows())
    >>> writer.close(closed=0.0)
    >>> out.getvalue().splitlines()[0]
    '#separator \\\\x09'
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from hedgerow.flows.fields import FIELD_TYPES, PAYLOAD_COLUMNS, columns

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import polars as pl

    from hedgerow.flows.conn_tsv import ConnTsvFormatter
    from hedgerow.flows.kernels import FlowTable
    from hedgerow.flows.rows import FlowRows
    from hedgerow.flows.schema import FlowBatch

FORMATS = ("zeek", "jsonl", "parquet")


class FlowWriter(Protocol):
    """What every writer does."""

    def write(self, batch: FlowBatch) -> None: ...

    def close(self) -> None: ...


def format_for(path: str) -> str:
    """The output format implied by a file name (``zeek`` unless .parquet/.jsonl/.json)."""
    name = path.lower().removesuffix(".gz")
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    return "zeek"


def _stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(epoch))


class ZeekWriter:
    """Zeek TSV conn.log writer.

    :meth:`write` takes FlowBatches (any source); :meth:`write_rows` and :meth:`write_table`
    take the meter's ended flow-table rows and format them in compiled code (same bytes, no
    dataframe library).
    """

    def __init__(
        self, out: IO[str], payload: bool = False, opened: float | None = None, owns: bool = False
    ) -> None:
        self.out = out
        self.owns = owns
        self.columns = columns(payload)
        header = [
            "#separator \\x09",
            "#set_separator\t,",
            "#empty_field\t(empty)",
            "#unset_field\t-",
            "#path\tconn",
            f"#open\t{_stamp(time.time() if opened is None else opened)}",
            "#fields\t" + "\t".join(self.columns),
            "#types\t" + "\t".join(FIELD_TYPES[c] for c in self.columns),
        ]
        out.write("\n".join(header) + "\n")
        self._formatter: ConnTsvFormatter | None = None

    def write_rows(self, rows: FlowRows) -> None:
        """Write an emitted chunk of ended flow-table rows (see :mod:`hedgerow.flows.conn_tsv`)."""
        self._write_text(self._tsv().format(rows))

    def write_table(
        self, table: FlowTable, rows: npt.NDArray[np.int64], pool: npt.NDArray[np.uint8]
    ) -> None:
        """Write rows ``rows`` of a flow table: a :data:`~hedgerow.flows.rows.RowSink`, so the
        meter's ended flows are formatted where they are, without copying them out."""
        self._write_text(self._tsv().format_table(table, rows, pool))

    def _tsv(self) -> ConnTsvFormatter:
        if self._formatter is None:
            from hedgerow.flows.conn_tsv import ConnTsvFormatter

            self._formatter = ConnTsvFormatter(payload=len(self.columns) == len(FIELD_TYPES))
        return self._formatter

    def _write_text(self, text: memoryview) -> None:
        binary = getattr(self.out, "buffer", None)
        if binary is None:
            self.out.write(bytes(text).decode("ascii"))
        else:
            self.out.flush()
            binary.write(text)

    def write(self, batch: FlowBatch) -> None:
        import polars as pl

        from hedgerow.flows.schema import FLOW_SCHEMA

        if batch.height == 0:
            return
        exprs = []
        for name in self.columns:
            col = pl.col(name)
            dtype = FLOW_SCHEMA[name]
            if isinstance(dtype, pl.Boolean):
                col = pl.when(col).then(pl.lit("T")).when(~col).then(pl.lit("F"))
            elif isinstance(dtype, pl.Binary):
                encoded = col.bin.encode("base64")
                col = pl.when(encoded == "").then(pl.lit("(empty)")).otherwise(encoded)
            elif isinstance(dtype, pl.Float64):
                col = _six_decimals(col)
            elif isinstance(dtype, pl.String):
                col = pl.when(col == "").then(pl.lit("(empty)")).otherwise(col)
            exprs.append(col.alias(name))
        # Integers are printed by the CSV writer itself; nulls (kept null by the expressions
        # above) become Zeek's unset field.
        text = batch.select(exprs).write_csv(
            include_header=False, separator="\t", null_value="-", quote_style="never"
        )
        self.out.write(text)

    def close(self, closed: float | None = None) -> None:
        self.out.write(f"#close\t{_stamp(time.time() if closed is None else closed)}\n")
        self.out.flush()
        if self.owns:
            self.out.close()


def _six_decimals(col: pl.Expr) -> pl.Expr:
    """Zeek prints times and intervals with exactly 6 decimals."""
    import polars as pl

    micros = (col * 1e6).round(0).cast(pl.Int64)
    return pl.format(
        "{}.{}", micros // 1_000_000, (micros % 1_000_000).cast(pl.String).str.zfill(6)
    )


class JsonWriter:
    """Zeek-style JSON lines writer (columns null throughout a batch are left out)."""

    def __init__(self, out: IO[str], payload: bool = False, owns: bool = False) -> None:
        self.out = out
        self.owns = owns
        self.columns = columns(payload)

    def write(self, batch: FlowBatch) -> None:
        if batch.height == 0:
            return
        import polars as pl

        present = [c for c in self.columns if batch[c].null_count() < batch.height]
        frame = batch.select(
            [pl.col(c).bin.encode("base64") if c in PAYLOAD_COLUMNS else pl.col(c) for c in present]
        )
        self.out.write(frame.write_ndjson())

    def close(self) -> None:
        self.out.flush()
        if self.owns:
            self.out.close()


class ParquetWriter:
    """Parquet writer (one row group per batch)."""

    def __init__(self, path: str | Path, payload: bool = False) -> None:
        import polars as pl
        import pyarrow.parquet as pq

        from hedgerow.flows.schema import FLOW_SCHEMA

        self.columns = columns(payload)
        schema = pl.DataFrame(schema={c: FLOW_SCHEMA[c] for c in self.columns}).to_arrow().schema
        # Flow tables are mostly unique values (uids, ports, counters): dictionary encoding
        # costs more than it saves; statistics only where readers filter (time).
        self._writer = pq.ParquetWriter(
            str(path),
            schema,
            compression="snappy",
            use_dictionary=False,
            write_statistics=["ts"],
        )

    def write(self, batch: FlowBatch) -> None:
        if batch.height:
            self._writer.write_table(batch.select(self.columns).to_arrow())

    def close(self) -> None:
        self._writer.close()


def open_writer(path: str, fmt: str | None = None, payload: bool = False) -> FlowWriter:
    """A writer for ``path`` (``-`` is standard output, for ``zeek`` and ``jsonl``)."""
    fmt = fmt or format_for(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown flow format {fmt!r} (one of {', '.join(FORMATS)})")
    if fmt == "parquet":
        if path == "-":
            raise ValueError("parquet output needs a file name, not standard output")
        return ParquetWriter(path, payload)
    owns = path != "-"
    out: IO[str] = open(path, "w", encoding="utf-8") if owns else sys.stdout  # noqa: SIM115
    if fmt == "zeek":
        return ZeekWriter(out, payload, owns=owns)
    return JsonWriter(out, payload, owns=owns)
