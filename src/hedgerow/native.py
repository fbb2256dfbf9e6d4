"""The compiled packet/flow engine: which extension modules it is, and what to do without them.

The record walkers, header decoder, flow meter, conn.log formatter, service classifier, text
builders and the live ring walk are Cython extensions built at install time (``setup.py``). The
build is optional, so a device without a C compiler still installs the agent; the sensor
commands then fail with :func:`missing_engine`'s one line instead of a traceback.

Example:
    >>> missing_engine(ModuleNotFoundError(name="hedgerow.flows._meter")).split(":")[0]
    'the compiled packet/flow engine is not built (no module hedgerow.flows._meter)'
    >>> missing_engine(ModuleNotFoundError(name="yaml")) is None
    True
"""

from __future__ import annotations

import os

MODULES = (
    "hedgerow.capture._walk",
    "hedgerow.capture._decode",
    "hedgerow.flows._meter",
    "hedgerow.flows._derive",
    "hedgerow.flows._conn_tsv",
    "hedgerow.flows._service",
    "hedgerow.flows._text",
    "hedgerow.sense._ring",
)
"""The extension modules (as ``setup.py`` declares them)."""


def missing_engine(exc: ModuleNotFoundError) -> str | None:
    """One line saying what is missing and how to fix it, if ``exc`` is about the engine."""
    if exc.name not in MODULES:
        return None
    return (
        f"the compiled packet/flow engine is not built (no module {exc.name}): install a C "
        "compiler and the Python headers (Debian: apt-get install gcc python3-dev), then "
        "reinstall hedgerow (pip install --force-reinstall --no-deps hedgerow)"
    )


def without_blas_threads() -> None:
    """Keep numpy's OpenBLAS from starting a thread pool: the engine does no linear algebra.

    Call it before numpy is first imported (the variable is read when OpenBLAS loads): the pool
    costs about 0.05 s of CPU at every start on a 2-core machine. An explicit setting wins.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
