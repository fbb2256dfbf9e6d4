"""Errors and warnings of the conn.log reader (importable without loading a dataframe library).

Example:
    >>> str(ConnLogError("conn.log: no #fields line"))
    'conn.log: no #fields line'
"""

from __future__ import annotations


class ConnLogError(ValueError):
    """The file is not a Zeek conn.log we can read (message names the file)."""


class ConnLogWarning(UserWarning):
    """Some lines of a conn.log were skipped."""
