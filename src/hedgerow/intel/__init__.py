"""Threat intelligence: indicator lists (plain, CSV, STIX 2.1) and lookups."""

from hedgerow.intel.indicators import Indicator, IndicatorSet
from hedgerow.intel.loaders import IntelError, builtin_intel_files, load_indicators

__all__ = ["Indicator", "IndicatorSet", "IntelError", "builtin_intel_files", "load_indicators"]
