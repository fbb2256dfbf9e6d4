"""Types of the compiled conn.log line printer (``_conn_tsv.pyx``)."""

import numpy as np
import numpy.typing as npt

def format_rows(
    out: npt.NDArray[np.uint8], rows: npt.NDArray[np.int64], *columns: object
) -> int: ...
