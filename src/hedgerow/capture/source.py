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

import io
import zlib
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

GZIP_MAGIC = b"\x1f\x8b"


def open_stream(path: str) -> tuple[io.RawIOBase | io.BufferedIOBase, bool]:
    """Open ``path`` for reading; decompress on the fly when it starts with the gzip magic."""
    raw = open(path, "rb")  # noqa: SIM115 - the reader owns and closes the stream
    if raw.peek(2)[:2] == GZIP_MAGIC:  # peek, not seek: pipes and /dev/stdin work too
        return GunzipStream(raw), True
    return raw, False


class GunzipStream(io.RawIOBase):
    """Streaming gzip decompression that keeps every byte decodable before a damaged end.

    Unlike :class:`gzip.GzipFile`, a truncated or corrupt stream first yields all the data
    decompressed so far, then raises :class:`EOFError` / :class:`zlib.error`. Concatenated
    gzip members are read one after the other.
    """

    def __init__(self, raw: io.BufferedReader, read_size: int = 64 * 1024) -> None:
        self._raw = raw
        self._read_size = read_size
        self._inflate = zlib.decompressobj(wbits=31)
        self._pending = b""
        self._done = False
        self._truncated = False
        self._consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._pending and not self._done:
            self._fill()
        view = memoryview(buffer).cast("B")
        size = min(len(view), len(self._pending))
        view[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        if not size and self._truncated:
            raise EOFError("compressed file ended before the end-of-stream marker")
        return size

    def _fill(self) -> None:
        data = self._raw.read(self._read_size)
        self._consumed += len(data)
        if not data:
            self._done = True
            self._truncated = not self._inflate.eof
            return
        out = self._inflate.decompress(data)
        while self._inflate.eof and self._inflate.unused_data:
            rest = self._inflate.unused_data
            self._inflate = zlib.decompressobj(wbits=31)
            out += self._inflate.decompress(rest)
        self._pending = out

    @property
    def compressed_position(self) -> int:
        """Compressed bytes consumed from the file so far."""
        return self._consumed

    def close(self) -> None:
        self._raw.close()
        super().close()


class ChunkSource:
    """Reads a stream in large chunks into ``buf``; ``base`` is the stream offset of ``buf[0]``.

    ``error`` holds the message of a read failure (truncated or corrupt gzip, I/O error) that
    ended the stream early; ``eof`` is set once the stream is exhausted.
    """

    def __init__(
        self,
        stream: io.RawIOBase | io.BufferedIOBase,
        path: str,
        chunk_size: int = 16 * 1024 * 1024,
    ) -> None:
        self.stream = stream
        self.path = path
        self.chunk_size = chunk_size
        self.buf: npt.NDArray[np.uint8] = np.zeros(0, dtype=np.uint8)
        self.valid = 0
        self.base = 0
        self.eof = False
        self.error: str | None = None
        self.file_bytes = 0  # bytes of the file (compressed, if it is) read so far

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
        if isinstance(self.stream, GunzipStream):
            self.file_bytes = self.stream.compressed_position
        else:
            self.file_bytes = self.base + self.valid

    def close(self) -> None:
        self.stream.close()
