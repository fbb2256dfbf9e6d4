"""Chunked byte source: a capture file (plain or gzip-compressed) read into numpy buffers.

A record may straddle two chunks: :meth:`ChunkSource.refill` keeps the unread tail of the
current buffer at the start of a fresh one, so the kernels always see whole records. Every
refill allocates a new buffer, so batches that hold views of the previous one stay valid.

Example:
    >>> import io
    >>> src = ChunkSource(io.BytesIO(b"abcdef"), "mem", chunk_size=4)
    >>> src.refill(0)
    >>> bytes(src.buf[: src.valid])
    b'abcd'
"""

from __future__ import annotations

import gzip
import io
import zlib

import numpy as np
import numpy.typing as npt

GZIP_MAGIC = b"\x1f\x8b"


def open_stream(path: str) -> tuple[io.BufferedIOBase, bool]:
    """Open ``path`` for reading; decompress on the fly when it starts with the gzip magic."""
    with open(path, "rb") as probe:
        head = probe.read(2)
    if head == GZIP_MAGIC:
        return gzip.open(path, "rb"), True
    return open(path, "rb"), False


class ChunkSource:
    """Reads a stream in large chunks into ``buf``; ``base`` is the stream offset of ``buf[0]``.

    ``error`` holds the message of a read failure (truncated or corrupt gzip, I/O error) that
    ended the stream early; ``eof`` is set once the stream is exhausted.
    """

    def __init__(
        self, stream: io.BufferedIOBase, path: str, chunk_size: int = 16 * 1024 * 1024
    ) -> None:
        self.stream = stream
        self.path = path
        self.chunk_size = chunk_size
        self.buf: npt.NDArray[np.uint8] = np.zeros(0, dtype=np.uint8)
        self.valid = 0
        self.base = 0
        self.eof = False
        self.error: str | None = None

    def refill(self, keep_from: int, need: int = 0) -> None:
        """Drop ``buf[:keep_from]``, keep the rest, and read until the buffer is full or EOF.

        ``need`` asks for a buffer of at least that many bytes (a block larger than a chunk).
        """
        tail = self.valid - keep_from
        size = max(self.chunk_size, need, tail + 1)
        fresh = np.empty(size, dtype=np.uint8)
        fresh[:tail] = self.buf[keep_from : self.valid]
        self.base += keep_from
        self.buf = fresh
        self.valid = tail
        view = fresh.data
        while self.valid < size and not self.eof:
            try:
                got = self.stream.readinto(view[self.valid :])
            except (EOFError, OSError, zlib.error) as exc:
                self.error = str(exc) or type(exc).__name__
                self.eof = True
                break
            if not got:
                self.eof = True
                break
            self.valid += got

    def close(self) -> None:
        self.stream.close()
