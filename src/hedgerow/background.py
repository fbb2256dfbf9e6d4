"""Overlap the stages of a read on a second core: an iterator run ahead in a background
thread (:func:`prefetched`), and calls run behind in one (:class:`BackgroundCalls`).

The capture reader, the packet decoder and the flow meter release the GIL in their compiled
loops, and polars releases it while it computes, so reading and metering the next packet
batch, building the frame of the next flow batch and running the rules on this one can proceed
together. Order is kept in both: items arrive in order, calls run one after another in the
order submitted, and an error is raised to the caller at its place in that order.

Example:
    >>> list(prefetched(x * x for x in range(5)))
    [0, 1, 4, 9, 16]
    >>> seen: list[int] = []
    >>> with BackgroundCalls() as calls:
    ...     for i in range(3):
    ...         calls.submit(seen.append, i)
    >>> seen
    [0, 1, 2]
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

_POLL_S = 0.1
"""How often a producer blocked on a full queue checks whether the consumer has gone."""


class _End:
    """The last message: the iterator is exhausted, or ``error`` ended it."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def prefetched(items: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """Yield ``items`` produced in a background thread, at most ``depth`` ahead. When the
    consumer stops early, the thread stops after the item it is producing and closes
    ``items``."""
    channel: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
    gone = threading.Event()

    def send(message: T | _End) -> bool:
        while not gone.is_set():
            try:
                channel.put(message, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not send(item):
                    return
            send(_End())
        except BaseException as exc:  # handed to the consumer, raised there
            send(_End(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="hedgerow-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            message = channel.get()
            if isinstance(message, _End):
                if message.error is not None:
                    raise message.error
                return
            yield message
    finally:
        gone.set()
        worker.join()


class BackgroundCalls:
    """Calls run one after another in one background thread; :meth:`submit` waits while
    ``depth`` calls are already queued or running (so at most that many arguments, such as
    flow batches, are held for it). An exception raised by a call is raised by the
    :meth:`submit` or :meth:`wait` that collects it."""

    def __init__(self, depth: int = 1) -> None:
        self.depth = depth
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hedgerow-calls")
        self._pending: deque[Future[Any]] = deque()

    def submit(self, call: Callable[..., Any], *args: Any) -> None:
        """Queue ``call(*args)`` after the calls submitted before it."""
        while len(self._pending) >= self.depth:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(call, *args))

    def wait(self) -> None:
        """Return once every submitted call has run."""
        while self._pending:
            self._pending.popleft().result()

    def __enter__(self) -> BackgroundCalls:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                self.wait()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
