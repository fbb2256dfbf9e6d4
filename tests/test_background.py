"""Stages overlapped in background threads keep their order, their errors and their bounds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from hedgerow.background import BackgroundCalls, prefetched


def test_prefetched_keeps_order_and_raises_an_error_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield from range(100)
        raise ValueError("corrupt record at offset 4096")

    seen: list[int] = []
    with pytest.raises(ValueError, match="offset 4096"):
        for item in prefetched(items(), depth=1):
            seen.append(item)
    assert seen == list(range(100))


def test_prefetched_runs_at_most_depth_ahead_and_closes_the_iterator_when_left_early() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            for i in range(1000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    stream = prefetched(items(), depth=2)
    assert next(stream) == 0
    deadline = time.monotonic() + 5
    while len(produced) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    # one taken, two queued, one made and waiting for room
    assert len(produced) == 4
    stream.close()
    assert closed.wait(5)
    assert not any(t.name == "hedgerow-prefetch" for t in threading.enumerate())


def test_background_calls_run_in_order_in_one_other_thread_and_hold_at_most_depth() -> None:
    order: list[int] = []
    threads: set[str] = set()
    running = 0
    most = 0
    lock = threading.Lock()

    def call(i: int) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        threads.add(threading.current_thread().name)
        time.sleep(0.005)
        order.append(i)
        with lock:
            running -= 1

    with BackgroundCalls(depth=1) as calls:
        for i in range(20):
            calls.submit(call, i)
            # submit returns only once the call before this one has finished
            assert len(order) >= i
    assert order == list(range(20)) and most == 1
    assert threads and threading.current_thread().name not in threads


def test_background_calls_raise_the_error_of_a_call_at_the_next_submit_or_wait() -> None:
    def fail(text: str) -> None:
        raise RuntimeError(text)

    with pytest.raises(RuntimeError, match="rule engine broke"), BackgroundCalls() as calls:
        calls.submit(fail, "rule engine broke")
        calls.submit(print, "never run: the error comes first")
    with pytest.raises(RuntimeError, match="second"), BackgroundCalls() as more:
        more.submit(fail, "second")
        more.wait()
