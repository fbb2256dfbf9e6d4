"""Types of the compiled header decoder (``_decode.pyx``): PacketBatch columns in order."""

import numpy as np
import numpy.typing as npt

def decode_packets(
    buf: npt.NDArray[np.uint8], n: int, *columns: npt.NDArray[np.generic]
) -> None: ...
