"""Reports: terminal (rich), ``report.json`` with pluggable sections, ``alerts.jsonl``."""

from hedgerow.report.jsonreport import SCHEMA_VERSION, build_report, register_section
from hedgerow.report.result import InputOutcome, ScanResult

__all__ = ["SCHEMA_VERSION", "InputOutcome", "ScanResult", "build_report", "register_section"]
